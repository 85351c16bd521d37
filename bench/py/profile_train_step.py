"""Where one PyTorch training step of bench_train.py spends its time, by operator kind.

usage: profile_train_step.py [--size tiny|released] [--batch B] [--threads T] [--classes C] [--steps K]

Runs the same model, batch and step as bench_train.py (warm-up 2 steps), then K steps under the autograd
profiler, and prints one JSON line: the step's wall time and the self CPU time of each operator kind
(convolution forward/backward, batch norm forward/backward, matrix products, optimiser, the rest) as a
share of the wall time. The kernels (oneDNN convolutions, OpenBLAS GEMMs, ATen batch norm) are the same
library calls in raddiag's C++ step, so their share bounds what any framework-side saving can give:
a step that spends a fraction k in them can be at most 1 / k times faster without faster kernels.
"""
import argparse
import json
import time
from collections import defaultdict

import torch

import bench_train as bt

# Operator name fragments -> kind; the first match wins (self time, so nested calls are not double-counted).
KINDS = [
    ("convolution", ("conv", "mkldnn_convolution")),
    ("batch_norm", ("batch_norm",)),
    ("matmul", ("addmm", "mm", "bmm", "matmul", "linear", "baddbmm")),
    ("optimizer", ("_foreach", "addcdiv", "addcmul", "lerp", "sqrt", "clip")),
]


def kind_of(name):
    n = name.lower()
    for kind, frags in KINDS:
        if any(f in n for f in frags):
            return kind
    return "other"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=sorted(bt.SIZES), default="released")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=5569)
    ap.add_argument("--steps", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    step, _, _ = bt.make_step(a.size, a.batch, a.classes, False)

    for _ in range(2):
        step()
    with torch.autograd.profiler.profile() as prof:
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        wall = time.perf_counter() - t0
    self_us = defaultdict(float)
    top = defaultdict(float)
    for e in prof.key_averages():
        self_us[kind_of(e.key)] += e.self_cpu_time_total
        top[e.key] += e.self_cpu_time_total
    total_wall_us = wall * 1e6
    shares = {k: v / total_wall_us for k, v in sorted(self_us.items())}
    print(json.dumps({"size": a.size, "batch": a.batch, "threads": a.threads, "steps": a.steps,
                      "wall_s_per_step": wall / a.steps, "self_time_share_of_wall": shares,
                      "kernels_share": sum(v for k, v in shares.items() if k != "other"),
                      "top_ops": {k: round(v / total_wall_us, 4) for k, v in sorted(top.items(), key=lambda kv: -kv[1])[:12]}}))


if __name__ == "__main__":
    main()
