"""Seed corpus for fuzz_model_file: small raddiag model files (safetensors with the model-file
metadata) of a minimal ViT config, with and without thresholds, ICD mapping and a knowledge head, in
versions 1 and 3. Usage: make_model_file_seeds.py OUT_DIR. Needs only the Python standard library."""
import json
import os
import struct
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def config(head="mlp", classes=2):
    return {"backbone": {"type": "vit", "vit": {"patch_size": 8, "layers": 1, "heads": 1, "head_dim": 1,
                                                "mlp_dim": 1, "dropout": 0.0}},
            "hidden": 2, "aggregator": {"layers": 1, "heads": 1, "d_ff": 1},
            "fusion": {"mode": "late"}, "head": {"type": head, "num_classes": classes, "text_dim": 2},
            "size": 8, "depth": 1, "n_image": 1}


def model_file(meta, tensors):
    header, data = {"__metadata__": meta}, b""
    for name, shape in tensors:
        count = 1
        for d in shape:
            count *= d
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + 4 * count]}
        data += struct.pack("<%df" % count, *([0.25] * count))
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


classes = ["Normal", "Glioma"]
base = {"format": "raddiag-model", "format_version": "3", "checksum": "0", "preprocess": "{}",
        "classes": json.dumps(classes), "card": json.dumps({"name": "seed"})}
seeds = {
    "plain": dict(base, config=json.dumps(config())),
    "v1": dict(base, format_version="1", config=json.dumps(config())),
    "thresholds": dict(base, config=json.dumps(config()), thresholds="[0.5, 0.25]"),
    "icd": dict(base, config=json.dumps(config()), icd_mapping=json.dumps(
        {"format": "raddiag.icd_mapping.v1", "codes": ["C71.9"], "code_case_counts": [3],
         "disorders": {"Glioma": ["C71.9"]}})),
    "knowledge": dict(base, config=json.dumps(config("knowledge"))),
}
for name, meta in seeds.items():
    tensors = [("w", [256])]
    if name == "knowledge":
        tensors.append(("head.class_embeddings", [2, 2]))
    open(os.path.join(out, name + ".raddiag"), "wb").write(model_file(meta, tensors))
