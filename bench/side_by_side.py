#!/usr/bin/env python3
"""Kantorovich vs tuned PyTorch on the same machine, interleaved.

Each round runs, for each thread count, our benchmark (build/kant_bench) and the peer
(shared/bench/torch_reference.py with --blas openblas-skx --alloc tcmalloc) one after the
other, so that both see the same machine state; the medians of the rounds are compared.
Records how busy the machine was (other processes' cores during each timing, and the load
average) and the instruction set oneDNN dispatches to, and prints, per workload and thread
count: ms per generator iteration, the ratio peer/ours (> 1: we are faster), our GFLOP/s and %
of the sgemm peak; with --gemm, the MLP workloads' GEMMs per shape and mode against OpenBLAS
(bench/gemm_openblas.py), interleaved the same way. --precision fp32,bf16 runs both sides in
each precision (ours: train.precision; the peer: torch.autocast with bf16), one table per
precision, and our bf16 against our fp32. JSON goes to --out.

usage: side_by_side.py [--rounds 3] [--threads 1,2] [--workloads a,b,c,d,e,e_gp,a_tiny] [--gemm]
                       [--precision fp32] [--kant build/kant_bench]
                       [--peer ../shared/bench/torch_reference.py]
                       [--out results/bench/side_by_side.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--threads", default="1,2")
ap.add_argument("--workloads", default="a,b,c,d,e,e_gp,a_tiny")
ap.add_argument("--gemm", action="store_true", help="also the GEMM table against OpenBLAS")
ap.add_argument("--precision", default="fp32", help="fp32, bf16 or both (bf16 needs avx512_bf16 or amx_bf16)")
ap.add_argument("--kant", default=os.path.join(root, "build", "kant_bench"))
ap.add_argument("--peer", default=os.path.join(os.path.dirname(root), "shared", "bench", "torch_reference.py"))
ap.add_argument("--out", default=os.path.join(root, "results", "bench", "side_by_side.json"))
args = ap.parse_args()


def run(cmd, env):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}")
    return json.loads(p.stdout)


records = []  # one per (round, threads, side, workload)
gemms = []  # one per (round, threads, side, shape and mode)
isa = None
for rnd in range(args.rounds):
    for t in [int(x) for x in args.threads.split(",")]:
        env = dict(os.environ, OMP_NUM_THREADS=str(t))
        if args.gemm:
            for side, cmd in (("kant", [args.kant, "--threads", str(t), "--workloads", "gemm"]),
                              ("openblas", ["/usr/bin/python3", os.path.join(here, "gemm_openblas.py"),
                                            "--threads", str(t)])):
                for r in run(cmd, env)["results"]:
                    gemms.append(dict(r, round=rnd, threads=t, side=side))
        ours = run([args.kant, "--threads", str(t), "--workloads", args.workloads,
                    "--precision", args.precision], env)
        isa = ours.get("isa", isa)
        for r in ours["results"]:
            if r.get("available", True):
                records.append({"round": rnd, "threads": t, "side": "kant", "workload": r["workload"],
                                "precision": r.get("precision", "fp32"),
                                "median_ms": r["median_ms"], "gflops": r["gflops_at_median"],
                                "pct_peak": r["pct_sgemm_peak"], "foreign_cores": r["foreign_cores"],
                                "sgemm_gflops": ours["sgemm_gflops"]})
        peer = run(["/usr/bin/python3", args.peer, "--threads", str(t), "--blas", "openblas-skx",
                    "--alloc", "tcmalloc", "--workloads", args.workloads,
                    "--precision", args.precision], env)
        for run_ in peer["runs"]:
            for r in run_["results"]:
                records.append({"round": rnd, "threads": t, "side": "torch", "workload": r["workload"],
                                "precision": r.get("precision", run_.get("precision", "fp32")),
                                "median_ms": r["median_ms"], "gflops": r.get("gflop_per_iter", 0) / (r["median_ms"] / 1e3),
                                "foreign_cores": r["foreign_cores"]})
        records[-1]["loadavg"] = open("/proc/loadavg").read().split()[:3]

rows = []
precisions = args.precision.split(",")
for prec in precisions:
    print(f"\n{prec}:")
    print(f"{'workload':8} {'thr':>3} {'kant ms':>9} {'torch ms':>9} {'ratio':>6} {'kant GFLOP/s':>12} {'% peak':>7} {'foreign':>8}")
    for t in sorted({r["threads"] for r in records}):
        for w in args.workloads.split(","):
            pick = [r for r in records if r["threads"] == t and r["workload"] == w and r["precision"] == prec]
            mine = [r for r in pick if r["side"] == "kant"]
            theirs = [r for r in pick if r["side"] == "torch"]
            if not mine or not theirs:
                continue
            k = statistics.median(r["median_ms"] for r in mine)
            p = statistics.median(r["median_ms"] for r in theirs)
            foreign = max(r["foreign_cores"] for r in mine + theirs)
            row = {"precision": prec, "workload": w, "threads": t, "kant_ms": k, "torch_ms": p, "ratio": p / k,
                   "kant_gflops": statistics.median(r["gflops"] for r in mine),
                   "pct_sgemm_peak": statistics.median(r["pct_peak"] for r in mine),
                   "max_foreign_cores": foreign, "rounds": len(mine)}
            rows.append(row)
            flag = "  (busy machine: discard)" if t > 1 and foreign > 0.1 else ""
            print(f"{w:8} {t:>3} {k:9.1f} {p:9.1f} {p / k:6.2f} {row['kant_gflops']:12.1f} {row['pct_sgemm_peak']:7.1f} {foreign:8.2f}{flag}")
if "fp32" in precisions and "bf16" in precisions:
    print(f"\nour bf16 against our fp32 (> 1: bf16 faster):")
    for r16 in [r for r in rows if r["precision"] == "bf16"]:
        r32 = next(r for r in rows if r["precision"] == "fp32" and r["threads"] == r16["threads"]
                   and r["workload"] == r16["workload"])
        r16["kant_fp32_over_bf16"] = r32["kant_ms"] / r16["kant_ms"]
        print(f"{r16['workload']:8} {r16['threads']:>3} {r32['kant_ms']:9.1f} {r16['kant_ms']:9.1f} {r16['kant_fp32_over_bf16']:6.2f}")

gemm_rows = []
if gemms:
    print(f"\n{'gemm':4} {'m':>4} {'k':>4} {'n':>4} {'thr':>3} {'kant GFLOP/s':>12} {'OpenBLAS':>9} {'ratio':>6}")
    for t in sorted({g["threads"] for g in gemms}):
        for key in dict.fromkeys((g["gemm"], g["m"], g["k"], g["n"]) for g in gemms):
            pick = [g for g in gemms if g["threads"] == t and (g["gemm"], g["m"], g["k"], g["n"]) == key]
            k = statistics.median(g["gflops"] for g in pick if g["side"] == "kant")
            o = statistics.median(g["gflops"] for g in pick if g["side"] == "openblas")
            gemm_rows.append({"mode": key[0], "m": key[1], "k": key[2], "n": key[3], "threads": t,
                              "kant_gflops": k, "openblas_gflops": o, "ratio": k / o})
            print(f"{key[0]:4} {key[1]:4} {key[2]:4} {key[3]:4} {t:3} {k:12.1f} {o:9.1f} {k / o:6.2f}")
print(f"oneDNN dispatches to {isa}; load average at the end {open('/proc/loadavg').read().split()[:3]}")

os.makedirs(os.path.dirname(args.out), exist_ok=True)
with open(args.out, "w") as f:
    json.dump({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "isa": isa, "rows": rows, "records": records,
               "gemm_rows": gemm_rows, "gemms": gemms}, f, indent=1)
print(f"written {args.out}", file=sys.stderr)
