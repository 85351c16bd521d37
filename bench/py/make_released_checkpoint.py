#!/usr/bin/env python3
"""A random checkpoint in the released RadDiag layout, for timing the released model configuration.

The layout (names, shapes, aliased entries) comes from the parity fixture's official-keys-default.tsv
(ResNet-50 Bottleneck [3,4,6,3], hidden 2048, 5569 classes, depth 32, early fusion). The weights are
random but of realistic scale (He-scaled convolutions, 1/sqrt(fan_in) matrices, unit BatchNorm and
LayerNorm), so activations stay finite and timings are not distorted by denormals or NaNs. Writes
OUT/pytorch_model.bin (torch.save zip, as HF Trainer does) and OUT/label_dict.json (synthetic class
names), ready for `raddiag import-official OUT/pytorch_model.bin --labels OUT/label_dict.json`.

  make_released_checkpoint.py --keys ../shared/data/official-parity/official-keys-default.tsv --out DIR
"""
import argparse
import collections
import json
import math
import os

import torch


def init(name, shape, gen):
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return torch.tensor(100, dtype=torch.int64)
    if leaf in ("running_var", "a") or (leaf == "weight" and len(shape) == 1):
        return torch.ones(shape)
    if leaf in ("running_mean", "b", "bias"):
        return torch.zeros(shape)
    if len(shape) == 4:  # convolution: He init over fan_in
        fan_in = shape[1] * shape[2] * shape[3]
        return torch.randn(shape, generator=gen) * math.sqrt(2.0 / fan_in)
    if len(shape) == 2 and leaf == "weight":  # linear
        return torch.randn(shape, generator=gen) / math.sqrt(shape[1])
    return torch.randn(shape, generator=gen) * 0.02  # tokens, positions, modality embeddings


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", required=True, help="official-keys-default.tsv")
    ap.add_argument("--out", required=True)
    ap.add_argument("--classes", type=int, default=5569)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    gen = torch.Generator().manual_seed(a.seed)
    state = collections.OrderedDict()
    with open(a.keys) as f:
        header = f.readline().rstrip("\n").split("\t")
        assert header[:3] == ["name", "shape", "alias_of"], header
        for line in f:
            name, shape, alias, _ = line.rstrip("\n").split("\t")
            state[name] = state[alias] if alias else init(name, json.loads(shape), gen)
    os.makedirs(a.out, exist_ok=True)
    torch.save(state, os.path.join(a.out, "pytorch_model.bin"))
    with open(os.path.join(a.out, "label_dict.json"), "w") as f:
        json.dump({f"disorder {i:05d}": i for i in range(a.classes)}, f)
    print(f"{len(state)} entries -> {a.out}/pytorch_model.bin")


if __name__ == "__main__":
    main()
