#!/usr/bin/env python3
"""The GEMM table of `kant_bench --workloads gemm` through OpenBLAS (numpy on libblas.so.3),
with the peer's tuned OpenBLAS selected as torch_reference.py --blas tuned does it.

usage: gemm_openblas.py [--threads N]        JSON on stdout, as kant_bench's
"""
import argparse
import json
import os
import subprocess
import sys

LIBDIR = "/usr/lib/x86_64-linux-gnu"
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
args = ap.parse_args()

if not args.child:  # re-run with the tuned library in force before numpy loads
    flags = open("/proc/cpuinfo").read()
    env = dict(os.environ, LD_LIBRARY_PATH=f"{LIBDIR}/openblas-openmp", OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads),
               OPENBLAS_CORETYPE="SkylakeX" if "avx512f" in flags else "Haswell")
    sys.exit(subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--child"], env=env).returncode)

import time  # noqa: E402

import numpy as np  # noqa: E402

GEMMS = [("NT", 256, 512, 512), ("NN", 256, 512, 512), ("TN", 512, 256, 512),
         ("NT", 100, 400, 400), ("NN", 100, 400, 400), ("TN", 400, 100, 400)]
rng = np.random.default_rng(3)
out = []
for mode, m, k, n in GEMMS:
    a = rng.random((k, m) if mode[0] == "T" else (m, k), dtype=np.float32)
    b = rng.random((n, k) if mode[1] == "T" else (k, n), dtype=np.float32)
    A = a.T if mode[0] == "T" else a
    B = b.T if mode[1] == "T" else b
    for _ in range(5):
        A @ B
    ts = []
    for _ in range(50):
        t0 = time.perf_counter()
        A @ B
        ts.append(time.perf_counter() - t0)
    med = sorted(ts)[len(ts) // 2]
    out.append({"gemm": mode, "m": m, "k": k, "n": n, "median_ms": 1e3 * med, "gflops": 2 * m * k * n / 1e9 / med})
print(json.dumps({"threads": args.threads, "coretype": os.environ.get("OPENBLAS_CORETYPE"), "results": out}))
