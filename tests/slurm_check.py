#!/usr/bin/python3
"""kant slurm against a real one-node SLURM cluster (scripts/slurm_cluster.sh: munged,
slurmctld, slurmd in a folder of their own): the array runs, one task is cancelled with scancel
midway through its cell (the grid's longest, lengthened to train for LONG_SECONDS here), the
report job (afterany) still reports, the resubmission trains only the missing cell, its report
job reports the whole grid, and every cell is bit-identical to a plain kant run of the same grid.
The daemons are stopped at the end, whatever happened, and no process is left.

usage: slurm_check.py --kant BUILD/kant --work DIR
Exit 0 passed, 1 failed, 77 skipped (not root, or SLURM/munge not installed), with the reason.
"""
import argparse
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

from cluster_check_support import GRID, ROOT, compare_results, skip, stray_processes

CLUSTER = ROOT / "scripts" / "slurm_cluster.sh"
CELLS = 12
LONG_TASK = 0  # cell 1/12: the longest (train.steps=400 in GRID, lengthened by long_grid)
LONG_SECONDS = 10  # the cancelled cell trains about this long here: scancel must land mid-cell


def long_grid(kant, work):
    """GRID with its longest cell (train.steps 400) lengthened to train for about LONG_SECONDS on
    this machine, timed by a run of that cell: on a fast host its 400 steps end in a fraction of a
    second, before a scancel issued on its first progress line reaches the task. Returns the grid
    file, written into `work`, and the cell's steps."""
    listing = subprocess.run([kant, "validate", str(GRID)], capture_output=True, text=True, check=True).stdout
    first = re.search(r"^\s*1\s+([0-9a-f]{16})\s+train\.steps=400 seed=0$", listing, re.M)
    if not first:
        raise RuntimeError("kant validate does not list cell 1 as train.steps=400 seed=0:\n" + listing)
    t0 = time.monotonic()
    subprocess.run([kant, "run", str(GRID), "--results", str(work / "probe"), "--cells", first.group(1),
                    "--jobs", "1", "--threads", "1", "--quiet"], capture_output=True, check=True)
    seconds = time.monotonic() - t0
    shutil.rmtree(work / "probe")
    steps = 400 * max(1, math.ceil(LONG_SECONDS / seconds))
    text = GRID.read_text()
    if "train.steps: [400, " not in text:
        raise RuntimeError(f"{GRID} has no train.steps: [400, ...] axis to lengthen")
    grid = work / GRID.name
    grid.write_text(text.replace("train.steps: [400, ", f"train.steps: [{steps}, "))
    print(f"the cancelled cell: {steps} steps (its 400 steps took {seconds:.2f} s here)")
    return grid, steps


class Check:
    def __init__(self, env):
        self.env = env
        self.problems = []

    def run(self, args, show=False, **kw):
        p = subprocess.run(args, capture_output=True, text=True, env=self.env, timeout=300, **kw)
        if show:
            print("$ " + " ".join(str(a) for a in args).replace(str(ROOT) + "/", ""))
            print((p.stdout + p.stderr).rstrip())
        return p

    def fail(self, what):
        print(f"problem: {what}")
        self.problems.append(what)

    def job_state(self, job):
        p = self.run(["scontrol", "show", "job", str(job)])
        states = re.findall(r"JobState=(\S+)", p.stdout)
        return states

    def wait_gone(self, jobs, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            q = self.run(["squeue", "-h", "-j", ",".join(map(str, jobs)), "-o", "%i %T"])
            if q.returncode == 0 and not q.stdout.strip():
                return True
            time.sleep(0.5)
        return False

    def submit(self, kant, grid, results):
        p = self.run([kant, "slurm", str(grid), "--results", str(results), "--cpus-per-task", "1", "--time", "10:00"],
                     show=True)
        if p.returncode != 0:
            self.fail(f"kant slurm exited {p.returncode}")
            return None, None, p
        array = re.search(r"^array job (\d+): (\d+) tasks?", p.stdout, re.M)
        report = re.search(r"^report job (\d+): after job (\d+) ends", p.stdout, re.M)
        if not array or not report or report.group(2) != array.group(1):
            self.fail("kant slurm printed no job ids")
            return None, None, p
        return array.group(1), report.group(1), p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kant", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    kant = str(pathlib.Path(a.kant).resolve())
    if os.geteuid() != 0:
        skip("needs root: the test cluster runs SlurmUser=root (as CI does)")
    missing = [t for t in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo")
               if not shutil.which(t)]
    if missing:
        skip(f"{', '.join(missing)} not found (Debian: apt-get install slurmctld slurmd slurm-client munge; "
             "scripts/setup.sh does)")

    work = pathlib.Path(a.work).resolve()
    if work.exists():
        subprocess.run(["bash", str(CLUSTER), "stop", str(work / "cluster")], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    grid, long_steps = long_grid(kant, work)
    results = work / "results"
    env = dict(os.environ)
    env["SLURM_CONF"] = str(work / "cluster" / "slurm.conf")
    c = Check(env)
    t_start = time.monotonic()
    up = subprocess.run(["bash", str(CLUSTER), "start", str(work / "cluster")], capture_output=True, text=True)
    if up.returncode != 0:
        print(up.stdout + up.stderr)
        print("FAILED: the SLURM cluster did not start")
        return 1
    try:
        print(f"cluster up in {time.monotonic() - t_start:.1f} s ({env['SLURM_CONF']})")
        c.run(["sinfo"], show=True)

        # 1. the whole grid as an array, one task per cell
        array, report, sub = c.submit(kant, grid, results)
        if array is None:
            return 1
        logs = results / "cluster" / "slurm" / "logs"
        # 2. cancel the task of the longest cell once it is training
        long_log = logs / f"array-{array}_{LONG_TASK}.out"
        end = time.monotonic() + 120
        while time.monotonic() < end:
            text = long_log.read_text() if long_log.exists() else ""
            if re.search(rf"\] step \d+/{long_steps}", text):
                break
            time.sleep(0.1)
        else:
            c.fail("the long cell's task never started training")
        c.run(["scancel", f"{array}_{LONG_TASK}"], show=True)
        c.run(["squeue", "-j", f"{array},{report}"], show=True)
        if not c.wait_gone([array, report], 300):
            c.fail("the array and its report job did not end within 300 s")
        states = {}
        for t in range(CELLS):
            s = c.job_state(f"{array}_{t}")
            states[t] = s[0] if s else "?"
        print(f"array {array} task states: {states}")
        if states[LONG_TASK] != "CANCELLED":
            c.fail(f"task {LONG_TASK} is {states[LONG_TASK]}, not CANCELLED")
        if any(states[t] != "COMPLETED" for t in range(CELLS) if t != LONG_TASK):
            c.fail("a task other than the cancelled one did not complete")
        rstate = c.job_state(report)
        print(f"report job {report}: {rstate}")
        if rstate != ["COMPLETED"]:
            c.fail(f"the report job is {rstate}, not COMPLETED after a cancelled task (afterany)")
        long_text = long_log.read_text() if long_log.exists() else ""
        if "SIGTERM" not in long_text and "Terminated" not in long_text:
            c.fail("the cancelled task's log does not show kant stopping on SIGTERM")
        rlog = logs / f"report-{report}.out"
        rtext = rlog.read_text() if rlog.exists() else ""
        if "| train.steps" not in rtext or "missing" not in rtext:
            c.fail("the first report job's log lacks the table or the missing cell")
        cells_dir = results / "cluster" / "cells"
        h5 = sorted(p.name for p in cells_dir.glob("*.h5"))
        if len(h5) != CELLS - 1:
            c.fail(f"{len(h5)} cell files after the first array, expected {CELLS - 1}")
        left = [p.name for p in cells_dir.iterdir() if ".claim" in p.name or ".tmp." in p.name]
        if left:
            c.fail(f"claims or temporaries left by the cancelled task: {left}")

        # 3. submitted again: only the missing cell
        array2, report2, sub2 = c.submit(kant, grid, results)
        if array2 is None:
            return 1
        if "12 cells, 11 complete, 1 to run: 1 array task of 1 cell" not in sub2.stderr:
            c.fail("the resubmission does not cover exactly the one missing cell")
        c.run(["squeue", "-j", f"{array2},{report2}"], show=True)
        if not c.wait_gone([array2, report2], 300):
            c.fail("the resubmitted array and report job did not end within 300 s")
        print(f"array {array2}: {c.job_state(array2)}; report job {report2}: {c.job_state(report2)}")
        if c.job_state(report2) != ["COMPLETED"] or c.job_state(array2) != ["COMPLETED"]:
            c.fail("the resubmission's jobs did not complete")
        t2 = (logs / f"array-{array2}_0.out").read_text() if (logs / f"array-{array2}_0.out").exists() else ""
        if t2.count("complete in") != 1 or f"[1/12 train.steps={long_steps} seed=0] complete in" not in t2:
            c.fail("the resubmitted task did not train exactly the cancelled cell")
        r2 = (logs / f"report-{report2}.out").read_text() if (logs / f"report-{report2}.out").exists() else ""
        print("report job's log:\n" + "\n".join(l for l in r2.splitlines() if l.startswith("|")))
        if "| train.steps" not in r2 or "missing" in r2:
            c.fail("the second report lacks the table or still misses a cell")
        if not (results / "cluster" / "report" / "index.html").exists():
            c.fail("no report page")
        history = (results / "cluster" / "slurm" / "submissions.txt").read_text()
        if history.count("array job") != 2:
            c.fail("submissions.txt does not list both submissions")

        # 4. bit for bit what a plain kant run gives
        ref = c.run([kant, "run", str(grid), "--results", str(work / "plain"), "--jobs", "2", "--threads", "1",
                     "--quiet"])
        if ref.returncode != 0:
            c.fail(f"plain kant run exited {ref.returncode}")
        v = c.run([kant, "verify", str(results / "cluster")])
        if v.returncode != 0:
            c.fail("kant verify: " + v.stdout + v.stderr)
        cmp = compare_results(work / "plain" / "cluster", results / "cluster", env=c.env, timeout=300)
        print(cmp.stdout.strip())
        if cmp.returncode != 0:
            c.fail("cells differ from a plain kant run:\n" + cmp.stdout + cmp.stderr)
    finally:
        down = subprocess.run(["bash", str(CLUSTER), "stop", str(work / "cluster")], capture_output=True, text=True)
        if down.returncode != 0:
            c.fail("stopping the cluster: " + down.stdout + down.stderr)
        stray = stray_processes(work)
        if stray:
            c.fail(f"processes left running: {stray}")
    print(f"total {time.monotonic() - t_start:.1f} s")
    if c.problems:
        print("FAILED:\n  " + "\n  ".join(c.problems))
        return 1
    print("passed: array, scancel, afterany report, resubmission of the missing cell only, bit-identical cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
