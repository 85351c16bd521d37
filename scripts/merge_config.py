"""Writes one run config of a variants file: `base` with one entry of SECTION applied as a JSON merge
patch (RFC 7386: objects merge, null deletes, anything else replaces), optionally with text replaced.
Usage: merge_config.py SPEC.json SECTION NAME OUT.json [--replace FROM=TO ...]
       merge_config.py SPEC.json SECTION --list        (the entry names, one per line)"""
import argparse
import json


def merge(a, b):
    if not isinstance(b, dict):
        return b
    out = dict(a) if isinstance(a, dict) else {}
    for k, v in b.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge(out.get(k), v)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("spec")
    p.add_argument("section")
    p.add_argument("name", nargs="?")
    p.add_argument("out", nargs="?")
    p.add_argument("--list", action="store_true")
    p.add_argument("--replace", nargs="*", default=[])
    a = p.parse_args()
    spec = json.load(open(a.spec))
    if a.list:
        print("\n".join(spec[a.section]))
        return
    text = json.dumps(merge(spec["base"], spec[a.section][a.name]))
    for r in a.replace:
        old, new = r.split("=", 1)
        text = text.replace(old, new)
    json.dump(json.loads(text), open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
