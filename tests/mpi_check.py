#!/usr/bin/python3
"""mpirun -n 3 kant run on a grid of cells of very different lengths (tests/data/cluster.yaml),
against the real Open MPI: every cell complete, none trained twice, rank 0's status line and
per-rank counts, results bit-identical to a single-process kant run of the same grid. Then
mpirun -n 2 stopped by SIGUSR1 midway: no process or claim left, and a second mpirun trains
only the missing cells, bit-identical again.

usage: mpi_check.py --kant BUILD/kant --work DIR [--ranks 3]
Exit 0 passed, 1 failed, 77 skipped (no mpirun, or a kant built without MPI), with the reason.
"""
import argparse
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

from cluster_check_support import GRID, compare_results, skip, stray_processes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kant", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ranks", type=int, default=3)
    a = ap.parse_args()
    kant = str(pathlib.Path(a.kant).resolve())
    mpirun = shutil.which("mpirun")
    if not mpirun:
        skip("mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev; scripts/setup.sh does)")
    version = subprocess.run([kant, "--version"], capture_output=True, text=True).stdout
    if "not built in" in version or "MPI:" not in version:
        skip(f"this kant was built without MPI ({version.strip().splitlines()[-1]}); install libopenmpi-dev and rebuild")

    work = pathlib.Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    problems = []

    # single process: the reference
    t0 = time.monotonic()
    ref = subprocess.run([kant, "run", str(GRID), "--results", str(work / "single"), "--jobs", "2", "--threads", "1",
                          "--quiet"], capture_output=True, text=True)
    t_single = time.monotonic() - t0
    if ref.returncode != 0:
        print(ref.stderr)
        problems.append(f"single-process kant run exited {ref.returncode}")

    env = dict(os.environ)
    # shared-memory transport without process_vm_readv, which containers and Yama may forbid
    env.setdefault("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
    cmd = [mpirun, "--allow-run-as-root", "--oversubscribe", "-n", str(a.ranks), kant, "run", str(GRID),
           "--results", str(work / "mpi")]
    print("$ " + " ".join(cmd[:5]) + " kant run tests/data/cluster.yaml --results …/mpi")
    t0 = time.monotonic()
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    t_mpi = time.monotonic() - t0
    out = run.stdout + run.stderr
    (work / "mpirun.log").write_text(out)
    if run.returncode != 0:
        print(out)
        problems.append(f"mpirun exited {run.returncode}")

    cells = 12
    # each cell trained once: one "complete in" line per cell, with the rank that trained it
    done = re.findall(r"^\[(\d+)/(\d+) [^\]]*, rank (\d+)\] complete in ", out, re.M)
    per_cell = {}
    per_rank = {}
    for index, total, rank in done:
        per_cell[int(index)] = per_cell.get(int(index), 0) + 1
        per_rank[int(rank)] = per_rank.get(int(rank), 0) + 1
    twice = sorted(i for i, n in per_cell.items() if n > 1)
    missing = sorted(set(range(1, cells + 1)) - set(per_cell))
    if twice:
        problems.append(f"cells trained more than once: {twice}")
    if missing:
        problems.append(f"cells no rank trained: {missing}")
    m = re.search(r"^kant: cells trained per rank \((\d+) ranks\): (.*)$", out, re.M)
    if not m:
        problems.append("rank 0 printed no per-rank counts")
    else:
        counts = {int(r): int(n) for r, n in re.findall(r"rank (\d+): (\d+)", m.group(2))}
        print(f"per-rank cells (rank 0's line): {m.group(2)}")
        if sum(counts.values()) != cells:
            problems.append(f"per-rank counts sum to {sum(counts.values())}, not {cells}")
        if counts != {r: per_rank.get(r, 0) for r in range(a.ranks)}:
            problems.append(f"per-rank counts {counts} differ from the cells' own lines {per_rank}")
        if sum(1 for n in counts.values() if n > 0) < 2:
            problems.append(f"cells were not spread over the ranks: {counts}")
    if not re.search(rf"^kant: cluster: {cells}/{cells} done, 0 running, 0 failed, 0 to do", out, re.M):
        problems.append("rank 0's status line of the whole grid is missing")
    if f"kant: cluster — {cells} cells, 0 done already, {cells} to run ({a.ranks} ranks" not in out:
        problems.append("rank 0's first line is missing")
    if out.count("kant: cluster — ") != 1:
        problems.append("more than one rank printed the run's first line")
    if out.count("| train.steps") != 1:
        problems.append("the report was not printed exactly once (by rank 0)")
    leftovers = [p.name for p in (work / "mpi" / "cluster" / "cells").iterdir() if not p.name.endswith(".h5")]
    if leftovers:
        problems.append(f"files left beside the cells: {leftovers}")

    verify = subprocess.run([kant, "verify", str(work / "mpi" / "cluster")], capture_output=True, text=True)
    if verify.returncode != 0:
        problems.append(f"kant verify: {verify.stdout}{verify.stderr}")
    cmp = compare_results(work / "single" / "cluster", work / "mpi" / "cluster")
    print(cmp.stdout.strip())
    if cmp.returncode != 0:
        problems.append("results differ from the single-process run:\n" + cmp.stdout + cmp.stderr)
    stray = stray_processes(work)
    if stray:
        problems.append(f"processes left running: {stray}")

    # interrupted: SIGUSR1 to mpirun (which forwards it to every rank and its cells; a SIGTERM it
    # follows with SIGKILL within milliseconds) once a cell is done; every rank and cell process
    # ends, rank 0 reports, no claim or temporary is left, a second mpirun trains only what is missing
    stopped_dir = work / "stopped"
    log = work / "stopped.log"
    cmd2 = [mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2", kant, "run", str(GRID),
            "--results", str(stopped_dir)]
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd2, stdout=f, stderr=subprocess.STDOUT, env=env)
        end = time.monotonic() + 120
        while time.monotonic() < end and proc.poll() is None:
            if re.search(r"\] complete in ", log.read_text()):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGUSR1)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
            problems.append("mpirun did not end within 60 s of SIGUSR1")
    text = log.read_text()
    (work / "stopped.log").write_text(text)
    first = len(list((stopped_dir / "cluster" / "cells").glob("*.h5")))
    print(f"SIGUSR1 to mpirun -n 2: exit {rc}, {first} of {cells} cells stored; "
          f"{text.count('User defined signal 1 received')} rank(s) said they stopped")
    if rc != 128 + signal.SIGUSR1:
        problems.append(f"mpirun stopped by SIGUSR1 exited {rc}, not {128 + signal.SIGUSR1}")
    if first >= cells:
        problems.append("SIGUSR1 came too late: every cell was already done")
    if "kant: stopped by User defined signal 1; run again to continue" not in text:
        problems.append("rank 0 did not report the stop")
    time.sleep(0.5)
    stray = stray_processes(stopped_dir)
    if stray:
        problems.append(f"processes left running after SIGUSR1: {stray}")
    leftovers = [p.name for p in (stopped_dir / "cluster" / "cells").iterdir() if not p.name.endswith(".h5")
                 and not p.name.endswith(".ckpt")]
    if leftovers:
        problems.append(f"files left beside the cells after SIGUSR1: {leftovers}")
    again = subprocess.run(cmd2, capture_output=True, text=True, env=env, timeout=600)
    out2 = again.stdout + again.stderr
    if again.returncode != 0:
        print(out2)
        problems.append(f"the second mpirun exited {again.returncode}")
    trained2 = len(re.findall(r"^\[\d+/\d+ [^\]]*, rank \d+\] complete in ", out2, re.M))
    print(f"the second mpirun -n 2 trained {trained2} cells")
    if trained2 != cells - first:
        problems.append(f"the second mpirun trained {trained2} cells, not the {cells - first} missing")
    if f"{cells} cells, {first} done already, {cells - first} to run" not in out2:
        problems.append("the second mpirun did not see the stored cells as done")
    cmp2 = compare_results(work / "single" / "cluster", stopped_dir / "cluster")
    print(cmp2.stdout.strip())
    if cmp2.returncode != 0:
        problems.append("results after SIGUSR1 and a second mpirun differ:\n" + cmp2.stdout + cmp2.stderr)

    print(f"single process (2 jobs): {t_single:.1f} s; mpirun -n {a.ranks}: {t_mpi:.1f} s")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print(f"passed: {cells} cells, each trained once, bit-identical to the single-process run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
