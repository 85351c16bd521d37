"""Independent reference for the torch.save checkpoint reader (tests/model/test_torch_checkpoint.cpp),
using Debian's PyTorch.

  torch_checkpoint_reference.py dump CKPT OUT_DIR [DICT_PATH]
      torch.load(CKPT) and write, for every entry of its dict of tensors, the values (float64 for
      floating dtypes, int64 otherwise) as OUT_DIR/<i>.npy, plus OUT_DIR/manifest.json with name,
      dtype, shape, stride, storage offset, storage group and alias relation.
  torch_checkpoint_reference.py write OUT_DIR
      write checkpoints with torch.save (and hand-made hostile or broken ones) to OUT_DIR, dump the
      expected contents of the valid ones to OUT_DIR/<case>/ and list every case in OUT_DIR/cases.json
      as {"file", "dict_path", "error"} (error: substring of the expected error message, "" = valid).
"""
import collections
import io
import json
import os
import pickle
import shutil
import sys
import zipfile

import numpy as np
import torch


def find_dict(obj, dict_path):
    if dict_path:
        for k in dict_path.split("/"):
            obj = obj[k]
        return obj
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    for k in ("state_dict", "model"):
        if k in obj:
            return obj[k]
    raise SystemExit("no tensor dict")


def dump(ckpt, out, dict_path=""):
    os.makedirs(out, exist_ok=True)
    sd = find_dict(torch.load(ckpt, map_location="cpu"), dict_path)
    entries, first, storages = [], {}, {}
    for i, (name, t) in enumerate(sd.items()):
        t = t.detach()
        ptr = t.storage().data_ptr()
        group = storages.setdefault(ptr, len(storages))
        key = (ptr, t.storage_offset(), tuple(t.shape), tuple(t.stride()))
        alias = first.get(key, "")
        first.setdefault(key, name)
        floating = t.is_floating_point()
        native = t.dtype in (torch.float32, torch.float64)
        values = (t if native else t.to(torch.float64 if floating else torch.int64)).contiguous().numpy()
        np.save(os.path.join(out, f"{i}.npy"), values)
        entries.append({"name": name, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                        "stride": list(t.stride()), "offset": t.storage_offset(), "storage": group,
                        "alias_of": alias, "npy": f"{i}.npy", "floating": floating})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"entries": entries}, f)


def all_dtypes(seed):
    g = torch.Generator().manual_seed(seed)
    d = collections.OrderedDict()
    d["f32"] = torch.randn(3, 4, generator=g)
    d["f64"] = torch.randn(5, generator=g, dtype=torch.float64)
    d["f16"] = torch.randn(2, 3, generator=g).half()
    d["bf16"] = torch.randn(4, generator=g).bfloat16()
    d["i64"] = torch.randint(-2**40, 2**40, (3,), generator=g)
    d["i32"] = torch.randint(-2**30, 2**30, (2, 2), generator=g, dtype=torch.int32)
    d["i16"] = torch.randint(-30000, 30000, (5,), generator=g, dtype=torch.int16)
    d["i8"] = torch.randint(-128, 128, (6,), generator=g, dtype=torch.int8)
    d["u8"] = torch.randint(0, 256, (2, 3), generator=g, dtype=torch.uint8)
    d["bool"] = torch.rand(7, generator=g) > 0.5
    d["scalar"] = torch.tensor(3.25)
    d["empty"] = torch.zeros(0, 3)
    d["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    d["special"] = torch.tensor([float("inf"), float("-inf"), -0.0, 1e-45, 3.4e38])
    return d


def views():
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10)
    ints = torch.arange(24, dtype=torch.int64).reshape(2, 3, 4)
    d = collections.OrderedDict()
    d["base"] = base
    d["transposed"] = base.t()
    d["slice"] = base[1:4, 2:7]
    d["step"] = base[:, ::3]
    d["row"] = base[2]
    d["flat_window"] = base.view(-1)[5:17]
    d["same_as_base"] = base
    d["expanded"] = base[0, :3].expand(4, 3)
    d["ints_permuted"] = ints.permute(2, 0, 1)
    d["ints_tail"] = ints[1, 1:, ::2]
    d["empty_view"] = base[3:3]
    return d


class TiedModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(5, 4)
        self.proj = torch.nn.Linear(4, 5)
        self.proj.weight = self.emb.weight  # tied, like the official template/encoder_layer pairs
        self.bn = torch.nn.BatchNorm1d(4)


class FakeStorage:
    def __init__(self, cls, key, numel):
        self.cls, self.key, self.numel = cls, key, numel


class FakeTensor:
    """Pickles like a tensor, with any storage/offset/size/stride (also invalid ones)."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class FakeTensorWithState(FakeTensor):
    """How PyTorch 2.x pickles a tensor that carries Python attributes."""

    def __reduce__(self):
        return (torch._tensor._rebuild_from_type_v2,
                (torch._utils._rebuild_tensor_v2, torch.Tensor, self.args, {"note": "has state"}))


class Tagged(torch.Tensor):
    pass


class FakePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def fake_pickle(obj):
    buf = io.BytesIO()
    FakePickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def write_zip(path, records, prefix="archive", method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=method) as z:
        for name, data in records.items():
            z.writestr(f"{prefix}/{name}", data)


def zip_records(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        prefix = names[0].split("/")[0]
        return prefix, {n[len(prefix) + 1:]: z.read(n) for n in names}


class Evil:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


class EvalEvil:
    def __reduce__(self):
        return (eval, ("1+1",))


def write(out):
    os.makedirs(out, exist_ok=True)
    cases = []

    def ok(name, obj, dict_path="", ref_path="", **save_kw):
        # dict_path is given to the reader under test; ref_path (default: dict_path) says where the
        # tensors are for the reference dump, for cases where the reader must find them itself.
        path = os.path.join(out, name + ".pt")
        torch.save(obj, path, **save_kw)
        dump(path, os.path.join(out, name), ref_path or dict_path)
        cases.append({"file": name + ".pt", "dict_path": dict_path, "error": ""})
        return path

    def bad(name, error, records=None, raw=None, dict_path=""):
        path = os.path.join(out, name + ".pt")
        if raw is not None:
            with open(path, "wb") as f:
                f.write(raw)
        else:
            write_zip(path, records)
        cases.append({"file": name + ".pt", "dict_path": dict_path, "error": error})

    ordered = ok("ordered", all_dtypes(1))
    ok("plain", dict(all_dtypes(2)))
    nested = {"epoch": 3, "state_dict": all_dtypes(3), "optimizer": {"lr": 0.1, "betas": (0.9, 0.999),
              "state": {0: {"step": 3}}}, "name": "run", "flag": True, "nothing": None, "big": 2**70,
              "negbig": -2**40, "neg": -5, "floats": [1.5, -2.0], "raw": b"x\xffy", "no_bytes": b"", "tags": {"a", "b"}}
    ok("nested", nested)
    ok("nested_preferred", {"model": views(), "ema": all_dtypes(4), "step": 10})
    ok("nested_path", {"a": all_dtypes(5), "b": views()}, dict_path="b")
    ok("nested_deep", {"ckpt": {"inner": {"weights": views()}}, "meta": {"x": 1}}, ref_path="ckpt/inner/weights")
    ok("views", views())
    model = TiedModel()
    with torch.no_grad():
        model.bn.running_mean.add_(0.5)
    ok("module_state_dict", model.state_dict())
    ok("protocol4", all_dtypes(6), pickle_protocol=4)
    ok("empty", collections.OrderedDict())

    # Valid content, different container details.
    prefix, recs = zip_records(ordered)
    write_zip(os.path.join(out, "deflated.pt"), recs, prefix=prefix, method=zipfile.ZIP_DEFLATED)
    dump(os.path.join(out, "deflated.pt"), os.path.join(out, "deflated"))
    cases.append({"file": "deflated.pt", "dict_path": "", "error": ""})
    recs2 = dict(recs)
    recs2["byteorder"] = b"little"
    recs2[".data/serialization_id"] = b"1234567890"
    write_zip(os.path.join(out, "torch2_records.pt"), recs2, prefix=prefix)
    dump(os.path.join(out, "torch2_records.pt"), os.path.join(out, "torch2_records"))
    cases.append({"file": "torch2_records.pt", "dict_path": "", "error": ""})

    # Broken or hostile files.
    bad("ambiguous", "several dicts", raw=open(ok("tmp_ambiguous", {"a": views(), "b": views()}, ref_path="a"), "rb").read())
    cases.pop(-2)  # tmp_ambiguous itself is only the source of the bytes
    os.remove(os.path.join(out, "tmp_ambiguous.pt"))
    shutil.rmtree(os.path.join(out, "tmp_ambiguous"))
    legacy = os.path.join(out, "legacy.pt")
    torch.save(all_dtypes(7), legacy, _use_new_zipfile_serialization=False)
    cases.append({"file": "legacy.pt", "dict_path": "", "error": "legacy"})
    bad("not_a_checkpoint", "not a PyTorch checkpoint", raw=b"hello world, this is not a checkpoint\n")
    bad("empty_file", "not a PyTorch checkpoint", raw=b"")
    script = os.path.join(out, "torchscript.pt")
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), script)
    cases.append({"file": "torchscript.pt", "dict_path": "", "error": "TorchScript"})

    r = dict(recs)
    r["data.pkl"] = pickle.dumps(Evil(), protocol=2)
    bad("os_system", "is not allowed", r)
    r = dict(recs)
    r["data.pkl"] = pickle.dumps(EvalEvil(), protocol=2)
    bad("builtins_eval", "eval' is not allowed", r)
    r = dict(recs)
    r["data.pkl"] = recs["data.pkl"][: len(recs["data.pkl"]) // 2]
    bad("truncated_pickle", "truncated", r)
    r = dict(recs)
    del r["data/0"]
    bad("missing_storage", "missing", r)
    r = dict(recs)
    r["data/0"] = recs["data/0"][:-4]
    bad("short_storage", "holds", r)
    r = dict(recs)
    r["byteorder"] = b"big"
    bad("big_endian", "byte order", r)
    r = {k: v for k, v in recs.items() if k != "data.pkl"}
    bad("no_pickle", "data.pkl", r)

    fs = FakeStorage(torch.FloatStorage, "0", 6)
    floats = np.arange(6, dtype="<f4").tobytes()
    bad("view_outside_storage", "reaches element",
        {"data.pkl": fake_pickle({"w": FakeTensor(fs, 2, (2, 3), (3, 1))}), "data/0": floats})
    bad("offset_outside_storage", "reaches element",
        {"data.pkl": fake_pickle({"w": FakeTensor(fs, 6, (1,), (1,))}), "data/0": floats})
    bad("negative_stride", "negative tensor stride",
        {"data.pkl": fake_pickle({"w": FakeTensor(fs, 5, (6,), (-1,))}), "data/0": floats})
    bad("size_stride_mismatch", "different lengths",
        {"data.pkl": fake_pickle({"w": FakeTensor(fs, 0, (2, 3), (3,))}), "data/0": floats})
    bad("huge_view", "reaches element",
        {"data.pkl": fake_pickle({"w": FakeTensor(fs, 0, (2**62, 2**62), (1, 1))}), "data/0": floats})
    bad("overflowing_view", "overflows",
        {"data.pkl": fake_pickle({"w": FakeTensor(fs, 0, (2**62,), (4,))}), "data/0": floats})
    bad("bool_not_01", "bool value",
        {"data.pkl": fake_pickle({"w": FakeTensor(FakeStorage(torch.BoolStorage, "0", 3), 0, (3,), (1,))}),
         "data/0": bytes([0, 1, 2])})
    bad("storage_type_mismatch", "different types",
        {"data.pkl": fake_pickle({"a": FakeTensor(fs, 0, (1,), (1,)),
                                  "b": FakeTensor(FakeStorage(torch.LongStorage, "0", 6), 0, (1,), (1,))}),
         "data/0": floats})
    bad("single_tensor", "single tensor", {"data.pkl": fake_pickle(FakeTensor(fs, 0, (6,), (1,))), "data/0": floats})
    # A valid fake one, to show the hand-made pickles differ from the bad ones only where intended.
    good = os.path.join(out, "fake_ok.pt")
    write_zip(good, {"data.pkl": fake_pickle({"w": FakeTensor(fs, 1, (2, 2), (1, 2))}), "data/0": floats, "version": b"3\n"})
    dump(good, os.path.join(out, "fake_ok"))
    cases.append({"file": "fake_ok.pt", "dict_path": "", "error": ""})
    good = os.path.join(out, "from_type.pt")
    write_zip(good, {"data.pkl": fake_pickle(collections.OrderedDict(
        [("w", FakeTensorWithState(fs, 1, (2, 2), (2, 1))), ("v", FakeTensor(fs, 0, (6,), (1,)))])), "data/0": floats, "version": b"3\n"})
    dump(good, os.path.join(out, "from_type"))
    cases.append({"file": "from_type.pt", "dict_path": "", "error": ""})
    tagged = os.path.join(out, "tensor_subclass.pt")
    torch.save({"w": torch.ones(2).as_subclass(Tagged)}, tagged)
    cases.append({"file": "tensor_subclass.pt", "dict_path": "", "error": "Tagged' is not allowed"})

    # A corrupted storage byte: the stored CRC-32 no longer matches.
    raw = bytearray(open(ordered, "rb").read())
    with zipfile.ZipFile(ordered) as z:
        info = z.getinfo(f"{prefix}/data/0")
    hdr = info.header_offset
    data_at = hdr + 30 + int.from_bytes(raw[hdr + 26:hdr + 28], "little") + int.from_bytes(raw[hdr + 28:hdr + 30], "little")
    raw[data_at] ^= 0x40
    bad("crc_mismatch", "CRC-32", raw=bytes(raw))

    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")
    elif sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        raise SystemExit(__doc__)
