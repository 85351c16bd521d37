"""Operator self time of one training step, raddiag against PyTorch, from bench_train --trace DIR.

usage: compare_step_traces.py DIR [--top N]

For every SIZE-PRECISION pair of Chrome traces in DIR (SIZE-PRECISION-raddiag.json from libtorch's
RecordProfile, SIZE-PRECISION-pytorch.json from torch.autograd.profiler), prints each operator's self time
(its duration minus its direct children's, per thread) in both, sorted by the difference: where one side
spends time that the other does not. Both sides call the same ATen/oneDNN kernels, so a large difference
points at a different choice of operators (copies, layouts, casts), not at faster code.
"""
import argparse
import collections
import glob
import json
import os


def events_of(path):
    with open(path) as f:
        data = json.load(f)
    evs = data["traceEvents"] if isinstance(data, dict) else data
    spans, open_ = [], collections.defaultdict(list)
    for e in evs:
        ph = e.get("ph")
        key = (e.get("pid"), e.get("tid"))
        if ph == "X" and "dur" in e:
            spans.append((key, float(e["ts"]), float(e["dur"]), e.get("name", "?")))
        elif ph == "B":
            open_[key].append(e)
        elif ph == "E" and open_[key]:
            b = open_[key].pop()
            spans.append((key, float(b["ts"]), float(e["ts"]) - float(b["ts"]), b.get("name", "?")))
    return spans


def self_times(path):
    """Self time in ms per operator name, and the span of the trace in ms."""
    per_thread = collections.defaultdict(list)
    for key, ts, dur, name in events_of(path):
        per_thread[key].append((ts, -dur, name))
    out = collections.defaultdict(float)
    lo, hi = float("inf"), 0.0
    for spans in per_thread.values():
        spans.sort()
        stack = []  # [end, name, child time]
        def close(entry):
            end, name, dur, child = entry
            out[name] += (dur - child) / 1000.0
            if stack:
                stack[-1][3] += dur
        for ts, neg, name in spans:
            dur = -neg
            lo, hi = min(lo, ts), max(hi, ts + dur)
            while stack and stack[-1][0] <= ts:
                close(stack.pop())
            stack.append([ts + dur, name, dur, 0.0])
        while stack:
            close(stack.pop())
    return out, (hi - lo) / 1000.0 if hi > lo else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    for r in sorted(glob.glob(os.path.join(a.dir, "*-raddiag.json"))):
        p = r[: -len("-raddiag.json")] + "-pytorch.json"
        if not os.path.exists(p):
            continue
        rs, rspan = self_times(r)
        ps, pspan = self_times(p)
        case = os.path.basename(r)[: -len("-raddiag.json")]
        print(f"\n{case}: traced step span raddiag {rspan:.1f} ms, pytorch {pspan:.1f} ms; "
              f"operator self time raddiag {sum(rs.values()):.1f} ms, pytorch {sum(ps.values()):.1f} ms")
        print(f"  {'operator':44s} {'raddiag ms':>11s} {'pytorch ms':>11s} {'raddiag - pytorch':>18s}")
        names = sorted(set(rs) | set(ps), key=lambda n: -abs(rs.get(n, 0) - ps.get(n, 0)))
        for n in names[: a.top]:
            print(f"  {n[:44]:44s} {rs.get(n, 0):11.1f} {ps.get(n, 0):11.1f} {rs.get(n, 0) - ps.get(n, 0):+18.1f}")


if __name__ == "__main__":
    main()
