#!/usr/bin/python3
"""The figures of docs/scaling.md, measured: grid throughput of kant run --jobs J and of
mpirun -n R kant run (1, 2 and 4 workers, one thread each, on this machine's cores), the fixed
cost of a cell (process, plugins, HDF5 file; a grid of one-step cells), and the cluster
simulator's static-vs-dynamic efficiencies at 64 and 1,024 workers. Prints Markdown.

usage: scaling.py [--build build] [--work DIR] [--workers 1,2,4] [--no-mpi] [--draws 20]
Every run's cells are compared bit for bit with the first run's (scripts/compare_results.py):
a scheduling figure from runs that trained something else would be worthless.
"""
import argparse
import os
import pathlib
import platform
import re
import resource
import shutil
import subprocess
import sys
import time

import h5py

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
GRID = ROOT / "bench" / "scaling.yaml"


def cell_seconds(folder):
    """Sum of the cells' own training times (wall_time_s) and their count."""
    total, n = 0.0, 0
    for f in sorted((folder / "cells").glob("*.h5")):
        with h5py.File(f, "r") as h:
            total += float(h.attrs["wall_time_s"])
            n += 1
    return total, n


def timed(cmd, env):
    """Runs cmd; wall seconds, CPU seconds of its process tree, load average before."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return wall, cpu, load, p.stdout + p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--work", default="/tmp/kant-scaling")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--no-mpi", action="store_true")
    ap.add_argument("--draws", type=int, default=20)
    a = ap.parse_args()
    build = pathlib.Path(a.build).resolve()
    kant = str(build / "kant")
    work = pathlib.Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_MCA_btl_vader_single_copy_mechanism="none")
    cores = os.cpu_count()
    mpirun = None if a.no_mpi else shutil.which("mpirun")
    if mpirun and "not built in" in subprocess.run([kant, "--version"], capture_output=True, text=True).stdout:
        mpirun = None
    workers = [int(w) for w in a.workers.split(",")]

    print(f"machine: {platform.node()}, {cores} cores ({platform.processor() or platform.machine()}), "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    print()
    print(f"### Throughput: {GRID.relative_to(ROOT)} (16 cells, 75 to 600 steps), one thread per worker\n")
    print("| how | workers | on 2 cores | wall (s) | cells/hour | CPU (s) | cells' own time (s) | "
          "idle + overhead per cell (worker-s) | load before |")
    print("|---|---|---|---|---|---|---|---|---|")
    reference = None
    for kind in ["jobs", "mpi"]:
        if kind == "mpi" and not mpirun:
            continue
        for w in workers:
            out = work / f"{kind}{w}"
            if kind == "jobs":
                cmd = [kant, "run", str(GRID), "--results", str(out), "--jobs", str(w), "--threads", "1", "--quiet"]
                how = f"kant run --jobs {w}"
            else:
                cmd = [mpirun, "--allow-run-as-root", "--oversubscribe", "-n", str(w), kant, "run", str(GRID),
                       "--results", str(out), "--threads", "1", "--quiet"]
                how = f"mpirun -n {w} kant run"
            wall, cpu, load, _ = timed(cmd, env)
            own, n = cell_seconds(out / "scaling")
            # what the workers spent beyond training: processes, claims, files, messages, idle tail
            overhead = (wall * w - own) / n
            over = f"{w / cores:.0f}× oversubscribed" if w > cores else f"{w} of {cores} cores"
            print(f"| {how} | {w} | {over} | {wall:.1f} | {n / wall * 3600:,.0f} | {cpu:.1f} | {own:.1f} | "
                  f"{overhead:.2f} | {load:.1f} |")
            if reference is None:
                reference = out / "scaling"
            else:
                cmp = subprocess.run([sys.executable, str(HERE / "compare_results.py"), str(reference),
                                      str(out / "scaling")], capture_output=True, text=True)
                if cmp.returncode != 0:
                    sys.exit(f"{how}: cells differ from the first run:\n{cmp.stdout}")

    tiny = work / "tiny.yaml"
    tiny.write_text(GRID.read_text().replace("train.steps: [600, 75, 300, 150]", "train.steps: [1, 2, 3, 4]")
                    .replace("log_every: 75", "log_every: 1"))
    print("\n### Fixed cost of a cell: the same 16 cells of 1 to 4 steps\n")
    print("| how | wall (s) | per cell (s) | cells' own time per cell (s) | load before |")
    print("|---|---|---|---|---|")
    runs = [("kant run --jobs 1", [kant, "run", str(tiny), "--jobs", "1"]),
            ("kant run --jobs 2", [kant, "run", str(tiny), "--jobs", "2"])]
    if mpirun:
        runs.append(("mpirun -n 2 kant run", [mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2", kant, "run",
                                              str(tiny)]))
    for how, cmd in runs:
        out = work / ("tiny-" + re.sub(r"\W+", "-", how))
        wall, cpu, load, _ = timed(cmd + ["--results", str(out), "--threads", "1", "--quiet"], env)
        own, n = cell_seconds(out / "scaling")
        print(f"| {how} | {wall:.1f} | {wall / n:.2f} | {own / n:.3f} | {load:.1f} |")
    # starting kant under mpirun on a grid already done: the launch and inspection alone
    if mpirun:
        done = work / "mpi2"
        wall, _, load, _ = timed([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2", kant, "run", str(GRID),
                                  "--results", str(done), "--quiet"], env)
        wall1, _, _, _ = timed([kant, "run", str(GRID), "--results", str(done), "--quiet"], env)
        print(f"\nA run of the finished grid (launch, inspection of 16 cell files, report): "
              f"mpirun -n 2 {wall:.2f} s, kant run {wall1:.2f} s (load {load:.1f}).")

    sim = build / "kant_cluster_sim"
    if sim.exists():
        for settings, note in [(50, "1,000 cells: 50 settings × 20 seeds"), (500, "10,000 cells: 500 settings × 20 seeds")]:
            print(f"\n### Simulated cluster, {note}; each setting 0.5–8 h (log-uniform), seeds ±15 %, "
                  f"15 % of cells diverge early; 1 s overhead per cell; {a.draws} draws\n")
            p = subprocess.run([str(sim), "--workers", "64,1024", "--settings", str(settings), "--draws", str(a.draws)],
                               capture_output=True, text=True, check=True)
            print(p.stdout.rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
