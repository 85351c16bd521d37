"""Runs bench_ingest (C++) and bench_ingest.py (Python) in one go and prints ms per item and the ratio.

usage: compare_ingest.py BUILD_DIR/bench/bench_ingest [BENCH_DATA] [SHARED_DATA]
Both sides read the same files from disk (page cache warm after the first round) and produce the same
tensors on one thread. Median of 5 rounds for Python; Google Benchmark's mean for C++."""
import json
import os
import tempfile
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import bench_ingest  # noqa: E402

exe = sys.argv[1]
data = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("RADDIAG_BENCH_DATA", os.path.join(tempfile.gettempdir(), "raddiag_bench_io"))
shared = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "../../../shared/data")

env = dict(os.environ, RADDIAG_BENCH_DATA=data, RADDIAG_SHARED_DATA=shared, OMP_NUM_THREADS="1")
out = subprocess.run([exe, "--benchmark_format=json", "--benchmark_min_time=1"], env=env, check=True,
                     capture_output=True, text=True).stdout
cpp = {}
for b in json.loads(out)["benchmarks"]:
    if "error_message" in b:
        continue
    items = b.get("items_per_second")
    cpp[b["name"].split("/")[0]] = 1e3 / items if items else None

print(f"{'task':26s} {'raddiag ms/item':>16s} {'python ms/item':>15s} {'speed-up':>9s}")
for name, (fn, bm) in bench_ingest.tasks(data, shared).items():
    fn()
    rounds = []
    for _ in range(5):
        t = time.perf_counter()
        n = fn()
        rounds.append((time.perf_counter() - t) * 1e3 / n)
    py = sorted(rounds)[2]
    c = cpp.get(bm)
    print(f"{name:26s} {c if c else float('nan'):16.2f} {py:15.2f} {py / c if c else float('nan'):8.2f}x")
