"""Seed corpora for the fuzz targets, from files PyTorch and the independent safetensors writer
produce (tests/py), plus the official state dict's data.pkl. Usage: make_seeds.py OUT_DIR
(writes OUT_DIR/torch and OUT_DIR/safetensors). Needs Debian's python3 with torch."""
import glob
import json
import os
import subprocess
import sys
import tempfile
import zipfile

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1]
torch_dir, st_dir = os.path.join(out, "torch"), os.path.join(out, "safetensors")
os.makedirs(torch_dir, exist_ok=True)
os.makedirs(st_dir, exist_ok=True)
py = os.path.join(here, "..", "tests", "py")
with tempfile.TemporaryDirectory() as tmp:
    subprocess.check_call([sys.executable, os.path.join(py, "torch_checkpoint_reference.py"), "write", tmp])
    subprocess.check_call([sys.executable, os.path.join(py, "safetensors_reference.py"), "write", tmp])
    for path in glob.glob(os.path.join(tmp, "*.pt")):
        data = open(path, "rb").read()
        if len(data) > 200_000:
            continue
        name = os.path.basename(path)[:-3]
        open(os.path.join(torch_dir, name + ".zip"), "wb").write(data)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                for n in z.namelist():
                    if n.endswith("/data.pkl"):
                        open(os.path.join(torch_dir, name + ".pkl"), "wb").write(z.read(n))
    st = open(os.path.join(tmp, "py.safetensors"), "rb").read()
    open(os.path.join(st_dir, "py.safetensors"), "wb").write(st)
def st_file(header, data=b""):
    import struct
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


small = {
    "empty": st_file({}),
    "meta_only": st_file({"__metadata__": {"config": json.dumps({"a": 1}), "k": "v"}}),
    "one": st_file({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)),
    "two": st_file({"b": {"dtype": "BOOL", "shape": [1, 2], "data_offsets": [8, 10]},
                    "a": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]}}, bytes(10)),
    "zero": st_file({"z": {"dtype": "BF16", "shape": [0, 5], "data_offsets": [0, 0]}}),
}
for name, data in small.items():
    open(os.path.join(st_dir, name + ".safetensors"), "wb").write(data)
official = os.path.join(here, "..", "..", "shared", "data", "official-parity", "state_dict.bin")
if os.path.exists(official):
    with zipfile.ZipFile(official) as z:
        open(os.path.join(torch_dir, "official.pkl"), "wb").write(z.read("pytorch_model/data.pkl"))
print(len(os.listdir(torch_dir)), "torch seeds,", len(os.listdir(st_dir)), "safetensors seeds")
