#!/usr/bin/env python3
"""Whole-process, official-style prediction: what the official demo/evaluation does per case, for timing.

Loads an official state dict (`pytorch_model.bin`), builds the early-fusion RadNet of official_reference.py
(every slice of every slot through the ResNet), seeds Python's `random` with 42 as the official scripts do,
then for each case of an RP3D JSON in JSON order: the official early loader, collation to batch 1 and the
forward in eval mode under torch.no_grad() (with the loss, as the official forward computes it). Writes the
unclamped logits [cases x classes] float32 .npy and prints, as the last stdout line, one JSON object with the
per-case seconds (loader + forward) and the model-load seconds.

  official_predict.py --model DIR/pytorch_model.bin --labels DIR/label_dict.json \
      --manifest cases.json [--data-root DIR] --out logits.npy --threads 2
"""
import argparse
import json
import os
import random
import sys
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from official_reference import build_model, load_early_case  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="official state dict (pytorch_model.bin)")
    ap.add_argument("--labels", required=True, help="label dict JSON (name -> index)")
    ap.add_argument("--manifest", required=True, help="RP3D case JSON")
    ap.add_argument("--data-root", help="root of relative image paths (default: the JSON's folder)")
    ap.add_argument("--out", required=True, help="logits .npy")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=256, help="image size (the state dict does not say)")
    ap.add_argument("--n-image", type=int, default=4)
    ap.add_argument("--level", default="articles")
    ap.add_argument("--seed", type=int, default=42, help="Python random seed (official: 42)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    t0 = time.perf_counter()
    model, arch, _ = build_model(a.model)
    load_s = time.perf_counter() - t0
    label_dict = json.load(open(a.labels))
    cases = json.load(open(a.manifest))
    root = a.data_root or os.path.dirname(os.path.abspath(a.manifest))

    logits, per_case = [], []
    with torch.no_grad():
        for link in cases:
            t0 = time.perf_counter()
            arrays = load_early_case(cases[link], label_dict, arch["classes"], a.level, a.size, arch["depth"],
                                     a.n_image, root)
            batch = [torch.from_numpy(x).unsqueeze(0) for x in arrays]  # collate to batch 1
            out = model(*batch)
            logits.append(out["logits"][0].numpy())
            per_case.append(time.perf_counter() - t0)
            print(f"{link}: {per_case[-1]:.2f} s", file=sys.stderr)
    np.save(a.out, np.stack(logits).astype(np.float32))
    print(json.dumps({"cases": len(per_case), "threads": a.threads, "model_load_s": round(load_s, 3),
                      "per_case_s": [round(s, 3) for s in per_case],
                      "mean_case_s": round(sum(per_case) / max(1, len(per_case)), 3),
                      "process_s": round(time.perf_counter() - T_START, 3)}))


if __name__ == "__main__":
    main()
