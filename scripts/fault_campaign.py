#!/usr/bin/python3
"""Fault campaign: real faults against the built `kant`, measured.

Run on purpose (not by ctest), as root (scenario disk_full mounts a tmpfs), from anywhere:

    /usr/bin/python3 scripts/fault_campaign.py [--seed 15] [--out DIR] [options]

Scenarios (each can be skipped with --skip NAME):

  kill9       kill -9 at random moments: a grid run with --jobs 2 and train.checkpoint_every,
              SIGKILL to the runner, one `kant _cell` child, the whole process group, or a child
              while it writes its cell file or checkpoint; then a rerun to completion.
              Measured: corrupt cell files, lost cells, orphan processes (alive 5 s after the
              kill), cells trained twice at once (/proc sampled every ~20 ms), leaked
              temporaries and stale claims after the rerun, bit-identity to a reference run.
  concurrent  two `kant run` on one results folder plus `kant report` in a loop.
  bitflip     single-bit flips in finished cell files: silent value changes, crashes,
              damaged cells not named by `kant verify`; `kant run` keeps the damaged file
              aside and retrains the cell.
  seal_sweep  every single-bit flip (4096) of one cell file's 512-byte seal block, the part
              the SHA-256 does not cover: flips `kant verify` does not name.
  disk_full   a small tmpfs, filled so that a run cannot fit: a clear error, no crash, no
              truncated file, no temporary left; the rerun after freeing space completes.
  long_cell   one long cell SIGKILLed 5 times at random moments between checkpoints, then
              completed: bit-identical to an uninterrupted run, `resumes` = number of resumes.

Writes OUT/summary.json and OUT/summary.md (default OUT: build/fault-campaign/) and prints
progress. Every subprocess has a timeout; --time-limit bounds the whole campaign (trials not
started in time are reported as such).
"""
import argparse
import datetime
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
PY = "/usr/bin/python3"  # has h5py
CAMPAIGN_START = time.monotonic()

# --------------------------------------------------------------------------------------------
# helpers


def log(msg):
    elapsed = time.monotonic() - CAMPAIGN_START
    print(f"[{elapsed:7.1f}s] {msg}", flush=True)


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()

    def passed(self):
        return self.left() <= 0


def run(cmd, timeout=300, **kw):
    """Runs cmd; returns (returncode, combined output). A timeout kills its process group."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                         start_new_session=True, **kw)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return "timeout", out
    return p.returncode, out


def by_signal(rc):
    """True when a returncode says the process was ended by a signal (or hung)."""
    return rc == "timeout" or (isinstance(rc, int) and rc < 0)


def files_matching(root, pattern):
    rx = re.compile(pattern)
    out = []
    for dirpath, _, names in os.walk(root):
        out += [os.path.join(dirpath, n) for n in names if rx.search(n)]
    return sorted(out)


def temporaries(root):
    return files_matching(root, r"\.tmp\.")


def claims(root):
    return files_matching(root, r"\.claim$")


def read_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return None


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        fields = s[s.rfind(")") + 2:].split()
        return fields[0], int(fields[19])  # state, start time (clock ticks)
    except (OSError, IndexError, ValueError):
        return None, None


def cell_args(cmd):
    """(OUT, --parent) of a `kant _cell - OUT ...` command line, or None."""
    args = [a.decode(errors="replace") for a in cmd]
    if "_cell" not in args:
        return None
    i = args.index("_cell")
    if i + 2 >= len(args):
        return None
    parent = None
    if "--parent" in args:
        j = args.index("--parent")
        if j + 1 < len(args):
            try:
                parent = int(args[j + 1])
            except ValueError:
                pass
    return args[i + 2], parent


def pid_alive(pid):
    state, _ = proc_state(pid)
    return state is not None and state != "Z"


class ProcWatch(threading.Thread):
    """Samples /proc every `interval` s for `kant _cell` processes writing under `root`:
    each process (pid, start ticks) with its cell file, its runner, first and last sighting;
    and every sighting of two live processes for one cell file at once (an overlap)."""

    def __init__(self, interval=0.02):
        super().__init__(daemon=True)
        self.interval = interval
        self.lock = threading.Lock()
        self.root = None
        self.procs = {}      # (pid, ticks) -> {cell, parent, first, last}
        self.overlaps = []   # (time, cell, [pids])
        self.other = set()   # pids known not to be kant processes
        self.stop_flag = False
        self.scans = 0

    def watch(self, root):
        with self.lock:
            self.root = str(root) + os.sep
            self.procs, self.overlaps = {}, []

    def release(self):
        with self.lock:
            self.root = None
            procs, overlaps = self.procs, self.overlaps
            self.procs, self.overlaps = {}, []
        return procs, overlaps

    def snapshot(self):
        """Live `_cell` processes under the watched root: [(pid, cell, parent)]."""
        live = []
        with self.lock:
            root = self.root
        if root is None:
            return live
        try:
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        except OSError:
            return live
        present = set(pids)
        self.other &= present
        for pid in pids:
            if pid in self.other:
                continue
            cmd = read_cmdline(pid)
            if not cmd or not cmd[0]:
                continue  # gone, a zombie or a kernel thread: not cached (a zombie's pid is reused later)
            if not cmd[0].endswith(b"/kant"):
                self.other.add(pid)
                continue
            ca = cell_args(cmd)
            if not ca or not ca[0].startswith(root):
                continue
            state, ticks = proc_state(pid)
            if state is None or state == "Z":
                continue
            live.append((pid, ticks, ca[0], ca[1]))
        return live

    def run(self):
        while not self.stop_flag:
            live = self.snapshot()
            now = time.monotonic()
            with self.lock:
                if self.root is not None:
                    self.scans += 1
                    by_cell = {}
                    for pid, ticks, cell, parent in live:
                        rec = self.procs.setdefault((pid, ticks), {"cell": cell, "parent": parent, "first": now})
                        rec["last"] = now
                        by_cell.setdefault(cell, []).append(pid)
                    for cell, pids in by_cell.items():
                        if len(pids) > 1:
                            self.overlaps.append((now, cell, sorted(pids)))
            time.sleep(self.interval)


WATCH = ProcWatch()


def live_cells(root):
    """[(pid, cell file, parent pid)] of live `_cell` processes under root (a fresh scan)."""
    w = ProcWatch()
    w.watch(root)
    return [(pid, cell, parent) for pid, _, cell, parent in w.snapshot()]


def orphans(root):
    """`_cell` processes under root whose runner (--parent) is no longer alive."""
    return [(pid, cell, parent) for pid, cell, parent in live_cells(root)
            if parent is None or not pid_alive(parent) or not parent_is(pid, parent)]


def parent_is(pid, parent):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("PPid:"):
                    return int(line.split()[1]) == parent
    except OSError:
        return True
    return True


# --------------------------------------------------------------------------------------------
# the grids


def grid_yaml(name, steps, methods=("GP", "SN"), seeds=(0,), hidden=64, n_critic=3, metrics_every=100):
    method_blocks = {
        "GP": "{lipschitz: {plugin: gradient_penalty, lambda: 0.1}}",
        "SN": "{lipschitz: {plugin: spectral_norm}}",
    }
    lines = [
        f"# Written by scripts/fault_campaign.py: {len(methods) * len(steps) * len(seeds)} cells.",
        f"name: {name}",
        "base:",
        "  dataset:   {plugin: eight_gaussians}",
        f"  generator: {{plugin: mlp, hidden: [{hidden}, {hidden}], noise_dim: 2}}",
        f"  critic:    {{plugin: mlp, hidden: [{hidden}, {hidden}]}}",
        "  objective: wasserstein",
        "  optimizer: {plugin: adam, lr: 1.0e-4, beta1: 0.5, beta2: 0.9}",
        f"  train:     {{steps: {steps[0]}, batch_size: 128, n_critic: {n_critic}, ema: 0.99, samples: 200}}",
        f"  metrics:   [{{plugin: mode_coverage, every: {metrics_every}, samples: 300}}]",
        "grid:",
    ]
    if len(methods) > 1:
        lines.append("  method:")
        lines += [f"    {m}: {method_blocks[m]}" for m in methods]
    else:
        lines.append(f"  method: {{{methods[0]}: {method_blocks[methods[0]]}}}")
    if len(steps) > 1:
        lines.append(f"  train.steps: [{', '.join(str(s) for s in steps)}]")
    lines.append(f"seeds: [{', '.join(str(s) for s in seeds)}]")
    lines.append("report: {rows: method, values: [mode_coverage.modes]}")
    return "\n".join(lines) + "\n"


class Kant:
    def __init__(self, exe):
        self.exe = str(exe)

    def run_cmd(self, grid, results, sets=(), jobs=2, threads=1):
        cmd = [self.exe, "run", str(grid), "--jobs", str(jobs), "--threads", str(threads), "--results", str(results)]
        for s in sets:
            cmd += ["--set", s]
        return cmd

    def start(self, grid, results, logfile, sets=(), jobs=2, threads=1):
        """A `kant run` in its own process group, output to logfile."""
        f = open(logfile, "w")
        p = subprocess.Popen(self.run_cmd(grid, results, sets, jobs, threads), stdout=f, stderr=subprocess.STDOUT,
                             start_new_session=True)
        f.close()
        return p

    def verify(self, d, timeout=120):
        """(rc, problem lines naming a cell file, summary line) of `kant verify d`; a problem
        with cells.yaml itself (absent: the run could not write it) is not a cell file's."""
        rc, out = run([self.exe, "verify", str(d)], timeout=timeout)
        problems, summary = [], ""
        for line in out.splitlines():
            if re.search(r": \d+ cell files: ", line):
                summary = line
            elif ".h5" in line:
                problems.append(line)
        return rc, problems, summary


def wait_proc(p, timeout):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return "timeout"


def cell_statuses(exp_dir):
    """{cell id: status} of every cell listed in cells.yaml (None: missing or unreadable)."""
    import h5py
    import yaml
    manifest = yaml.safe_load(open(os.path.join(exp_dir, "cells.yaml")))
    out = {}
    for c in manifest["cells"]:
        f = os.path.join(exp_dir, "cells", c["id"] + ".h5")
        try:
            with h5py.File(f, "r") as h:
                s = h.attrs["status"]
                out[c["id"]] = s.decode() if isinstance(s, bytes) else str(s)
        except (OSError, KeyError):
            out[c["id"]] = None
    return out


def strip_neutral(config):
    """A stored config without train.checkpoint_every (not part of a cell's identity)."""
    return "\n".join(l for l in config.splitlines() if not re.match(r"\s*checkpoint_every:", l))


def compare_to_reference(ref_root, root):
    """Bit-identity of two results roots: scripts/compare_results.py with the stored `config`
    attribute left out, then `config` compared here with train.checkpoint_every removed (the
    reference runs without checkpoints, so that attribute differs by that key alone).
    Returns (identical, detail lines)."""
    rc, out = run([PY, str(REPO / "scripts" / "compare_results.py"), str(ref_root), str(root),
                   "--ignore-attr", "config"], timeout=300)
    detail = [l for l in out.splitlines() if l.strip()]
    ok = rc == 0
    import h5py
    for f in sorted(pathlib.Path(ref_root).rglob("*.h5")):
        g = pathlib.Path(root) / f.relative_to(ref_root)
        try:
            with h5py.File(f, "r") as a, h5py.File(g, "r") as b:
                ca, cb = a.attrs["config"], b.attrs["config"]
                ca = ca.decode() if isinstance(ca, bytes) else ca
                cb = cb.decode() if isinstance(cb, bytes) else cb
                if strip_neutral(ca) != strip_neutral(cb):
                    ok = False
                    detail.append(f"{f.relative_to(ref_root)}: config differs beyond train.checkpoint_every")
        except OSError as e:
            ok = False
            detail.append(f"{g}: {e}")
    return ok, detail


COMPLETE_RX = re.compile(r"^\[(\d+)/(\d+) [^\]]*\] complete in ")


def completions(logtext):
    """{cell index: number of 'complete in' lines}."""
    out = {}
    for line in logtext.splitlines():
        m = COMPLETE_RX.match(line)
        if m:
            out[int(m.group(1))] = out.get(int(m.group(1)), 0) + 1
    return out


# --------------------------------------------------------------------------------------------
# scenario 1: kill -9


TARGETS = ("runner", "child", "group", "writing")


def detector_selftest(kant, work, ref_exp):
    """A positive control for the overlap and orphan detectors: two `kant _cell` processes
    started by hand for one cell (no runner, so no claim and no --parent): the watcher must see
    them overlap, and both count as orphans."""
    import h5py
    root = work / "selftest"
    (root / "cells").mkdir(parents=True)
    src = max((ref_exp / "cells").glob("*.h5"), key=lambda f: f.stat().st_size)
    with h5py.File(src, "r") as h:
        config = h.attrs["config"]
        config = config.decode() if isinstance(config, bytes) else config
    spec = root / "spec.yaml"
    spec.write_text(f"experiment: selftest\ncell_id: {src.stem}\nlabels: {{}}\nconfig:\n" +
                    "".join("  " + l + "\n" for l in config.splitlines()))
    WATCH.watch(root)
    out = str(root / "cells" / src.name)
    ps = [subprocess.Popen([kant.exe, "_cell", str(spec), out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
          for _ in range(2)]
    time.sleep(1.0)
    orph = orphans(root)
    for q in ps:
        q.kill()
        q.wait()
    _, overlaps = WATCH.release()
    shutil.rmtree(root)
    return {"overlap_seen": bool(overlaps), "orphans_seen": len(orph)}


def kill_at_write(cells_dir, kind, runner, deadline):
    """Polls cells_dir for a temporary of `kind` (h5 or ckpt; any when None) and SIGKILLs its
    writer the moment it appears. Returns (pid or None, temporary name or None)."""
    rx = re.compile(r"\.h5\.tmp\." if kind == "h5" else r"\.ckpt\.tmp\." if kind == "ckpt" else r"\.tmp\.")
    while time.monotonic() < deadline and runner.poll() is None:
        try:
            names = [e.name for e in os.scandir(cells_dir)]
        except OSError:
            names = []
        for n in names:
            if rx.search(n):
                try:
                    pid = int(n.rsplit(".", 1)[1])
                except ValueError:
                    continue
                cmd = read_cmdline(pid)
                if cmd and cell_args(cmd):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        continue
                    return pid, n
        time.sleep(0.0002)
    return None, None


def scenario_kill9(a, kant, work, rng, deadline):
    d = work / "kill9"
    d.mkdir(parents=True)
    n = a.cells
    lo, hi = a.cell_steps
    steps = [round(lo + (hi - lo) * i / max(1, n // 2 - 1)) for i in range(n // 2)]
    grid = d / "grid.yaml"
    grid.write_text(grid_yaml("kill9", steps))
    sets = [f"train.checkpoint_every={a.checkpoint_every}"]
    # the uninterrupted reference (no checkpoints: they must not change a result)
    log(f"kill9: reference run of {n} cells (steps {steps} x GP, SN)")
    t0 = time.monotonic()
    rc, out = run(kant.run_cmd(grid, d / "reference"), timeout=600)
    t_ref = time.monotonic() - t0
    (d / "reference.log").write_text(out)
    if rc != 0:
        raise RuntimeError(f"kill9 reference run failed ({rc}):\n{out[-3000:]}")
    log(f"kill9: reference done in {t_ref:.1f}s")
    ids = list(cell_statuses(d / "reference" / "kill9").keys())
    selftest = detector_selftest(kant, work, d / "reference" / "kill9")
    log(f"kill9: detector self-test (two hand-started _cell for one cell): {selftest}")
    trials = []
    if a.kill_targets == "balanced":  # each target equally often, in a random order
        targets = (list(TARGETS) * (a.kill_trials // len(TARGETS) + 1))[:a.kill_trials]
        rng.shuffle(targets)
    else:
        targets = [rng.choice(TARGETS) for _ in range(a.kill_trials)]
    for t in range(a.kill_trials):
        if deadline.passed():
            log(f"kill9: time limit reached, {t} of {a.kill_trials} trials run")
            break
        target = targets[t]
        root = d / f"t{t:02d}"
        root.mkdir()
        cells_dir = root / "kill9" / "cells"
        delay = rng.uniform(0.2, 0.75 * t_ref)
        write_kind = rng.choice(("h5", "ckpt")) if target == "writing" else None
        tr = {"trial": t, "target": target, "delay_s": round(delay, 3)}
        WATCH.watch(root)
        for attempt in range(3):  # a run that ends before its kill (a less loaded machine) is run again, sooner
            p = kant.start(grid, root, root / "run1.log", sets)
            time.sleep(delay)
            if p.poll() is None:
                break
            tr.setdefault("runs_ended_before_the_kill", []).append(round(delay, 3))
            shutil.rmtree(root / "kill9")
            delay *= 0.5
        tr["delay_s"] = round(delay, 3)
        killed_runner = False
        if p.poll() is not None:
            tr["note"] = "the run ended before the kill"
        elif target == "runner":
            os.kill(p.pid, signal.SIGKILL)
            killed_runner = True
        elif target == "group":
            os.killpg(p.pid, signal.SIGKILL)
            killed_runner = True
        elif target == "child":
            end = time.monotonic() + 5
            victim = None
            while victim is None and time.monotonic() < end and p.poll() is None:
                mine = [c for c in live_cells(root) if c[2] == p.pid]
                if mine:
                    victim = rng.choice(mine)
                else:
                    time.sleep(0.01)
            if victim:
                os.kill(victim[0], signal.SIGKILL)
                tr["victim_cell"] = os.path.basename(victim[1])
            else:
                tr["note"] = "no child to kill"
        else:  # writing
            pid, name = kill_at_write(cells_dir, write_kind, p, time.monotonic() + 3 * t_ref)
            if pid is None:
                pid, name = kill_at_write(cells_dir, None, p, time.monotonic() + 3 * t_ref)
            tr["write_kind"] = write_kind
            tr["killed_while_writing"] = name
            if pid is None:
                tr["note"] = "no write seen before the run ended"
        kill_time = time.monotonic()
        if killed_runner:
            tr["run1_exit"] = wait_proc(p, 60)  # reaped at once: -9
            time.sleep(rng.uniform(0, 0.3))
        else:
            tr["run1_exit"] = wait_proc(p, 600)
        rerun = kant.start(grid, root, root / "run2.log", sets)
        # orphans: `_cell` processes of a dead runner 5 s after the kill
        time.sleep(max(0.0, kill_time + 5 - time.monotonic()))
        orph = orphans(root)
        tr["orphans"] = len(orph)
        for pid, _, _ in orph:  # counted; stop them so that the next trial starts clean
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        tr["rerun_exit"] = wait_proc(rerun, 600)
        procs, overlaps = WATCH.release()
        tr["cell_processes_seen"] = len(procs)
        tr["overlaps"] = sorted({os.path.basename(c) for _, c, _ in overlaps})
        exp = root / "kill9"
        vrc, problems, _ = kant.verify(exp)
        tr["corrupt_files"] = len(problems)
        st = cell_statuses(exp)
        tr["lost_cells"] = [i for i in ids if st.get(i) != "complete"]
        tr["leaked_temporaries"] = [os.path.basename(f) for f in temporaries(root)]
        tr["stale_claims"] = [os.path.basename(f) for f in claims(root)]
        tr["leftover_checkpoints"] = [os.path.basename(f) for f in files_matching(root, r"\.ckpt$")]
        tr["damaged_found_by_rerun"] = [os.path.basename(f) for f in files_matching(root, r"\.damaged")]
        logs = (root / "run1.log").read_text(errors="replace") + (root / "run2.log").read_text(errors="replace")
        tr["completed_twice"] = sorted(i for i, k in completions(logs).items() if k > 1)
        same, detail = compare_to_reference(d / "reference", root)
        tr["bit_identical"] = same
        if not same:
            tr["compare"] = detail[:20]
        trials.append(tr)
        flags = [k for k in ("orphans", "corrupt_files") if tr[k]] + \
                [k for k in ("lost_cells", "leaked_temporaries", "stale_claims", "overlaps", "completed_twice") if tr[k]]
        if tr["rerun_exit"] != 0:
            flags.append(f"rerun exit {tr['rerun_exit']}")
        if not same:
            flags.append("not bit-identical")
        log(f"kill9 {t + 1}/{a.kill_trials}: {target:7s} at {delay:5.2f}s"
            f"{' (' + str(tr.get('killed_while_writing')) + ')' if target == 'writing' else ''}"
            f" -> {'ok' if not flags else 'PROBLEM: ' + ', '.join(flags)}")
        if not a.keep and not flags:
            shutil.rmtree(root)
    figures = {
        "trials": len(trials),
        "by_target": {k: sum(t["target"] == k for t in trials) for k in TARGETS},
        "kills_delivered": sum("note" not in t for t in trials),
        "writing_kills_landed": sum(bool(t.get("killed_while_writing")) for t in trials),
        "corrupt_cell_files": sum(t["corrupt_files"] for t in trials),
        "lost_cells": sum(len(t["lost_cells"]) for t in trials),
        "orphan_processes": sum(t["orphans"] for t in trials),
        "cells_trained_twice_at_once": sum(len(t["overlaps"]) for t in trials),
        "leaked_temporaries": sum(len(t["leaked_temporaries"]) for t in trials),
        "stale_claims": sum(len(t["stale_claims"]) for t in trials),
        "trials_with_stale_claims": sum(bool(t["stale_claims"]) for t in trials),
        "leftover_checkpoints": sum(len(t["leftover_checkpoints"]) for t in trials),
        "damaged_files_found_by_rerun": sum(len(t["damaged_found_by_rerun"]) for t in trials),
        "cells_completed_twice": sum(len(t["completed_twice"]) for t in trials),
        "reruns_not_exit_0": sum(t["rerun_exit"] != 0 for t in trials),
        "trials_not_bit_identical": sum(not t["bit_identical"] for t in trials),
        "reference_seconds": round(t_ref, 1),
        "cell_processes_watched": sum(t["cell_processes_seen"] for t in trials),
        "proc_scans": WATCH.scans,
        "detector_selftest": selftest,
    }
    return {"figures": figures, "trials": trials, "grid": str(grid), "steps": steps,
            "checkpoint_every": a.checkpoint_every}


# --------------------------------------------------------------------------------------------
# scenario 2: two runs on one folder, reports in a loop


REPORT_OK = [re.compile(r"^kant report: skipped .*: missing \(not run yet\?\)$"),
             re.compile(r"^kant report: \d+ figures and the page ")]


def scenario_concurrent(a, kant, work, rng, deadline, kill9):
    d = work / "concurrent"
    d.mkdir(parents=True)
    grid = pathlib.Path(kill9["grid"]) if kill9 else None
    if grid is None:
        grid = d / "grid.yaml"
        grid.write_text(grid_yaml("kill9", [a.cell_steps[0], a.cell_steps[1]]))
    trials = []
    for t in range(a.concurrent_trials):
        if deadline.passed():
            break
        root = d / f"t{t}"
        root.mkdir()
        exp = root / "kill9"
        WATCH.watch(root)
        runs = [kant.start(grid, root, root / f"run{k}.log", jobs=1, threads=1) for k in range(a.concurrent_runs)]
        reports = []
        while any(p.poll() is None for p in runs):
            if not (exp / "cells.yaml").exists():
                time.sleep(0.05)
                continue
            rc, out = run([kant.exe, "report", str(exp)], timeout=120)
            odd = [l for l in out.splitlines() if l.startswith("kant") and not any(r.match(l) for r in REPORT_OK)]
            reports.append({"rc": rc, "odd": odd})
        codes = [p.returncode for p in runs]
        procs, overlaps = WATCH.release()
        logs = "".join((root / f"run{k}.log").read_text(errors="replace") for k in range(a.concurrent_runs))
        comp = completions(logs)
        n_cells = len(cell_statuses(exp))
        vrc, problems, _ = kant.verify(exp)
        tr = {
            "trial": t,
            "exit_codes": codes,
            "complete_lines": sum(comp.values()),
            "cells": n_cells,
            "cells_not_exactly_once": [i for i in range(1, n_cells + 1) if comp.get(i, 0) != 1],
            "overlaps": sorted({os.path.basename(c) for _, c, _ in overlaps}),
            "reports": len(reports),
            "report_crashes": sum(by_signal(r["rc"]) or (isinstance(r["rc"], int) and r["rc"] >= 128) for r in reports),
            "report_errors": sum(r["rc"] != 0 or bool(r["odd"]) for r in reports),
            "report_messages": sorted({l for r in reports for l in r["odd"]})[:10],
            "corrupt_files": len(problems),
            "leaked_temporaries": len(temporaries(root)),
            "stale_claims": len(claims(root)),
        }
        if kill9:
            tr["bit_identical"], detail = compare_to_reference(work / "kill9" / "reference", root)
            if not tr["bit_identical"]:
                tr["compare"] = detail[:20]
        trials.append(tr)
        ok = (all(c == 0 for c in codes) and not tr["cells_not_exactly_once"] and not tr["report_errors"]
              and not tr["overlaps"] and not tr["corrupt_files"])
        log(f"concurrent {t + 1}/{a.concurrent_trials}: exits {codes}, {tr['complete_lines']} 'complete in' lines for "
            f"{n_cells} cells, {len(reports)} reports ({tr['report_errors']} errors) -> {'ok' if ok else 'PROBLEM'}")
    figures = {
        "trials": len(trials),
        "runs_not_exit_0": sum(sum(c != 0 for c in t["exit_codes"]) for t in trials),
        "cells_not_trained_exactly_once": sum(len(t["cells_not_exactly_once"]) for t in trials),
        "cells_trained_twice_at_once": sum(len(t["overlaps"]) for t in trials),
        "reports_run": sum(t["reports"] for t in trials),
        "report_crashes": sum(t["report_crashes"] for t in trials),
        "report_errors": sum(t["report_errors"] for t in trials),
        "corrupt_cell_files": sum(t["corrupt_files"] for t in trials),
        "leaked_temporaries": sum(t["leaked_temporaries"] for t in trials),
        "stale_claims": sum(t["stale_claims"] for t in trials),
    }
    if kill9:
        figures["trials_not_bit_identical"] = sum(not t["bit_identical"] for t in trials)
    return {"figures": figures, "trials": trials}


# --------------------------------------------------------------------------------------------
# scenario 3: bit flips


H5DIFF = r'''
import sys, h5py, numpy as np
def walk(g, p=""):
    for k in sorted(g.keys()):
        o = g[k]; q = p + "/" + k
        yield q, o
        if isinstance(o, h5py.Group): yield from walk(o, q)
def same(x, y):
    x, y = np.asarray(x), np.asarray(y)
    return x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()
ignore = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else set()
try:
    with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
        diff = []
        def attrs(x, y, where):
            ka, kb = set(x.attrs.keys()) - ignore, set(y.attrs.keys()) - ignore
            if ka != kb: diff.append(where + " attribute names")
            for k in ka & kb:
                if not same(x.attrs[k], y.attrs[k]): diff.append(where + " attribute " + k)
        attrs(a, b, "/")
        pa, pb = dict(walk(a)), dict(walk(b))
        if set(pa) != set(pb): diff.append("object names")
        for k in set(pa) & set(pb):
            attrs(pa[k], pb[k], k)
            if isinstance(pa[k], h5py.Dataset) and isinstance(pb[k], h5py.Dataset):
                if not same(pa[k][()], pb[k][()]): diff.append(k)
    print("DIFFER " + "; ".join(sorted(diff)[:5]) if diff else "SAME")
except Exception as e:
    print("UNREADABLE " + type(e).__name__ + ": " + str(e).splitlines()[0][:200])
'''


# attributes that differ between two runs of one config (as in scripts/compare_results.py)
VOLATILE = "start_time,end_time,wall_time_s,hostname,git_commit,plugins,framework_version,resumes"


def h5diff(pristine, flipped, ignore=""):
    """'SAME', 'DIFFER …' or 'UNREADABLE …' as h5py reads the two files (in a subprocess: libhdf5
    on a damaged file may crash); 'CRASH' if that process dies by a signal. Every attribute and
    dataset is compared bit for bit, except the attributes listed in `ignore`."""
    rc, out = run([PY, "-c", H5DIFF, str(pristine), str(flipped)] + ([ignore] if ignore else []), timeout=60)
    if by_signal(rc):
        return f"CRASH ({rc})"
    return out.strip().splitlines()[-1] if out.strip() else f"no output ({rc})"


def scenario_bitflip(a, kant, work, rng, deadline, kill9):
    d = work / "bitflip"
    d.mkdir(parents=True)
    if kill9:
        pristine, grid = work / "kill9" / "reference", pathlib.Path(kill9["grid"])
    else:
        grid = d / "grid.yaml"
        grid.write_text(grid_yaml("kill9", [a.cell_steps[0], a.cell_steps[1]]))
        pristine = d / "pristine"
        rc, out = run(kant.run_cmd(grid, pristine), timeout=600)
        if rc != 0:
            raise RuntimeError(f"bitflip: pristine run failed:\n{out[-2000:]}")
    files = sorted((pristine / "kill9" / "cells").glob("*.h5"))
    cur = d / "current"
    trials = []
    for t in range(a.flip_trials):
        if deadline.passed():
            log(f"bitflip: time limit reached, {t} of {a.flip_trials} trials run")
            break
        if cur.exists():
            shutil.rmtree(cur)
        shutil.copytree(pristine, cur)
        src = rng.choice(files)
        f = cur / "kill9" / "cells" / src.name
        data = bytearray(f.read_bytes())
        off = rng.randrange(len(data))
        bit = rng.randrange(8)
        data[off] ^= 1 << bit
        f.write_bytes(bytes(data))
        exp = cur / "kill9"
        tr = {"trial": t, "file": src.name, "offset": off, "bit": bit, "size": len(data),
              "region": "seal" if off < 512 else "hdf5"}
        vrc, vout = run([kant.exe, "verify", str(exp)], timeout=120)
        src_rc, sout = run([kant.exe, "show", str(f)], timeout=120)
        rrc, rout = run([kant.exe, "report", str(exp)], timeout=120)
        tr["verify_rc"], tr["show_rc"], tr["report_rc"] = vrc, src_rc, rrc
        tr["named_by_verify"] = src.name in vout and vrc == 1
        named_lines = [l for l in vout.splitlines() if src.name in l]
        tr["verify_message"] = named_lines[0].split(": ", 1)[-1][:160] if named_lines else ""
        tr["h5py"] = h5diff(src, f) if (a.flip_h5py_all or vrc == 0) else None
        tr["silent_change"] = vrc == 0 and bool(tr["h5py"]) and not tr["h5py"].startswith("SAME")
        crashes = [name for name, rc in (("verify", vrc), ("show", src_rc), ("report", rrc)) if by_signal(rc)]
        if a.flip_run_every and t % a.flip_run_every == 0:
            krc, kout = run(kant.run_cmd(grid, cur), timeout=600)
            tr["run_rc"] = krc
            if by_signal(krc):
                crashes.append("run")
            aside = sorted(x.name for x in (exp / "cells").glob(src.name + ".damaged.*"))
            tr["kept_aside"] = aside
            st = cell_statuses(exp)
            tr["retrained"] = st.get(src.stem) == "complete" and "training the cell again" in kout
            if tr["named_by_verify"]:
                tr["retrain_ok"] = bool(aside) and tr["retrained"] and krc == 0 and \
                    h5diff(src, f, VOLATILE).startswith("SAME")
            else:  # an undetected flip: the run keeps the file as it is
                tr["retrain_ok"] = not aside and krc == 0
        tr["crashes"] = crashes
        trials.append(tr)
        if t % 25 == 0 or crashes or tr["silent_change"] or not tr["named_by_verify"]:
            log(f"bitflip {t + 1}/{a.flip_trials}: {src.name} byte {off} bit {bit} ({tr['region']}): "
                f"verify {vrc} show {src_rc} report {rrc}{' run ' + str(tr['run_rc']) if 'run_rc' in tr else ''}"
                f" h5py {tr['h5py'] and tr['h5py'][:60]}"
                f"{' NOT NAMED' if not tr['named_by_verify'] else ''}{' CRASH ' + str(crashes) if crashes else ''}")
    runs = [t for t in trials if "run_rc" in t]
    figures = {
        "trials": len(trials),
        "flips_in_seal_block": sum(t["region"] == "seal" for t in trials),
        "silent_value_changes": sum(t["silent_change"] for t in trials),
        "crashes": sum(bool(t["crashes"]) for t in trials),
        "damaged_cells_not_named_by_verify": sum(not t["named_by_verify"] for t in trials),
        "runs_after_flip": len(runs),
        "runs_retraining_and_keeping_aside_correctly": sum(bool(t.get("retrain_ok")) for t in runs),
    }
    if a.flip_h5py_all:
        figures["flips_h5py_reads_with_changed_values"] = sum(
            bool(t["h5py"]) and t["h5py"].startswith("DIFFER") for t in trials)
        figures["flips_h5py_reads_unchanged"] = sum(bool(t["h5py"]) and t["h5py"] == "SAME" for t in trials)
        figures["flips_h5py_cannot_read"] = sum(bool(t["h5py"]) and not t["h5py"].startswith(("DIFFER", "SAME"))
                                                for t in trials)
    messages = {}
    for t in trials:
        key = re.sub(r"[0-9a-f]{16}", "<id>", t["verify_message"])
        messages[key] = messages.get(key, 0) + 1
    figures["verify_messages"] = messages
    shutil.rmtree(cur, ignore_errors=True)
    return {"figures": figures, "trials": trials}


def scenario_seal_sweep(a, kant, work, rng, deadline, kill9):
    """Every single-bit flip of the 512-byte seal block of one cell file (4096 flips): the
    one part of a file the SHA-256 does not cover, read by kant's own parser. Each flipped copy
    sits in an experiment folder of its own, so that one `kant verify` of the root checks 512."""
    d = work / "seal_sweep"
    d.mkdir(parents=True)
    if not kill9:
        return {"skipped": "needs the kill9 reference cells"}
    ref = work / "kill9" / "reference" / "kill9"
    src = rng.choice(sorted((ref / "cells").glob("*.h5")))
    data = src.read_bytes()
    manifest = (ref / "cells.yaml").read_bytes()
    positions = [(off, bit) for off in range(512) for bit in range(8)]
    unnamed, crashes, checked = [], 0, 0
    for start in range(0, len(positions), 512):
        if deadline.passed():
            break
        root = d / "batch"
        if root.exists():
            shutil.rmtree(root)
        batch = positions[start:start + 512]
        for k, (off, bit) in enumerate(batch):
            e = root / f"e{k:04d}"
            (e / "cells").mkdir(parents=True)
            (e / "cells.yaml").write_bytes(manifest)
            b = bytearray(data)
            b[off] ^= 1 << bit
            (e / "cells" / src.name).write_bytes(bytes(b))
        rc, out = run([kant.exe, "verify", str(root)], timeout=600)
        crashes += by_signal(rc)
        for k, (off, bit) in enumerate(batch):
            f = root / f"e{k:04d}" / "cells" / src.name
            checked += 1
            if str(f) + ":" not in out:
                unnamed.append({"offset": off, "bit": bit, "byte_before": data[off],
                                "byte_after": data[off] ^ (1 << bit), "h5py": h5diff(src, f)})
        shutil.rmtree(root)
    text_end = data[:512].index(0)
    figures = {
        "flips": checked,
        "seal_text_bytes": text_end,
        "verify_crashes": crashes,
        "flips_not_named_by_verify": len(unnamed),
        "silent_value_changes": sum(not u["h5py"].startswith("SAME") for u in unnamed),
    }
    log(f"seal_sweep: {checked} flips of {src.name}'s seal block: {len(unnamed)} not named by verify "
        f"{[(u['offset'], u['bit']) for u in unnamed]}")
    return {"figures": figures, "unnamed": unnamed, "file": src.name}


# --------------------------------------------------------------------------------------------
# scenario 4: a full disk


def fill(mnt, leave_kib):
    """Fills the file system at mnt, then frees leave_kib KiB of the filler."""
    filler = mnt / "filler"
    chunk = b"\0" * (1 << 16)
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                if f.write(chunk) < len(chunk):
                    break
        except OSError:
            pass
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave_kib * 1024))
    st = os.statvfs(mnt)
    return st.f_bavail * st.f_frsize // 1024


def scenario_disk_full(a, kant, work, rng, deadline, kill9):
    d = work / "disk_full"
    d.mkdir(parents=True)
    if os.geteuid() != 0:
        return {"skipped": "not root: cannot mount a tmpfs"}
    grid = pathlib.Path(kill9["grid"]) if kill9 else None
    if grid is None:
        grid = d / "grid.yaml"
        grid.write_text(grid_yaml("kill9", [a.cell_steps[0], a.cell_steps[1]]))
    ref = work / "kill9" / "reference" if kill9 else None
    small = d / "earlier.yaml"  # an earlier run of the same experiment: one short cell
    small.write_text(grid_yaml("kill9", [50], methods=("GP",), seeds=(7,)))
    mnt = d / "mnt"
    mnt.mkdir()
    sets = [f"train.checkpoint_every={a.checkpoint_every}"]
    rc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={a.tmpfs_mib}m", "tmpfs", str(mnt)]).returncode
    if rc != 0:
        return {"skipped": "mount -t tmpfs failed"}
    trials = []
    try:
        for t, leave in enumerate(a.disk_free_kib):
            if deadline.passed():
                break
            for e in mnt.iterdir():
                shutil.rmtree(e) if e.is_dir() else e.unlink()
            root = mnt / "r"
            exp = root / "kill9"
            existing = t % 2 == 1  # every other trial: a folder with an earlier, smaller run of the grid
            before_manifest = None
            if existing:
                prc, pout = run(kant.run_cmd(small, root, jobs=1), timeout=600)
                if prc != 0:
                    raise RuntimeError(f"disk_full: the earlier run failed:\n{pout[-2000:]}")
                before_manifest = (exp / "cells.yaml").read_bytes()
            free = fill(mnt, leave)
            # started with its output in a file, so that its end is seen even if children outlive it
            p = kant.start(grid, root, d / f"t{t}.full.log", sets)
            frc = wait_proc(p, 600)
            at_exit = live_cells(mnt)
            end = time.monotonic() + 5
            while live_cells(mnt) and time.monotonic() < end:
                time.sleep(0.05)
            after_5s = live_cells(mnt)
            fout = (d / f"t{t}.full.log").read_text(errors="replace")
            nospace = [l for l in fout.splitlines() if "No space left on device" in l]
            named = [l for l in nospace if re.search(r"/\S+: ", l)]
            tr = {"trial": t, "free_kib": free, "existing_folder": existing, "exit": frc,
                  "crash": by_signal(frc) or (isinstance(frc, int) and frc >= 128),
                  "no_space_lines": len(nospace), "clear_error": bool(named),
                  "first_error": (named or nospace or [""])[0][:300],
                  "children_alive_at_runner_exit": len(at_exit), "children_alive_5s_after": len(after_5s)}
            man = exp / "cells.yaml"
            full_manifest = man.read_bytes() if man.exists() else None
            if exp.exists():
                vrc, problems, summary = kant.verify(exp)
                tr["corrupt_files"], tr["verify_summary"] = len(problems), summary
            else:
                tr["corrupt_files"] = 0
            tr["leaked_temporaries"] = [os.path.basename(f) for f in temporaries(mnt)]
            tr["claims_after_full_run"] = [os.path.basename(f) for f in claims(mnt)]
            (mnt / "filler").unlink()
            t0 = time.monotonic()
            rrc, rout = run(kant.run_cmd(grid, root, sets), timeout=600)
            tr["rerun_exit"] = rrc
            tr["rerun_seconds"] = round(time.monotonic() - t0, 1)
            tr["rerun_waits"] = [l for l in rout.splitlines() if "waiting for it" in l]
            st = cell_statuses(exp)
            tr["rerun_incomplete"] = [i for i, s in st.items() if s != "complete"]
            vrc, problems, _ = kant.verify(exp)
            tr["corrupt_after_rerun"] = len(problems)
            tr["temporaries_after_rerun"] = len(temporaries(mnt))
            tr["claims_after_rerun"] = len(claims(mnt))
            # cells.yaml after the full run: absent, the earlier run's, or byte for byte what the
            # same command writes once it fits (the rerun's; it records the command's --set too)
            new_manifest = man.read_bytes() if man.exists() else None
            if full_manifest is None:
                tr["manifest"] = "absent"
            else:
                tr["manifest"] = ("new" if full_manifest == new_manifest else
                                  "old" if before_manifest is not None and full_manifest == before_manifest else "OTHER")
            tr["manifest_whole"] = tr["manifest"] in ("new", "old") or (tr["manifest"] == "absent" and not existing)
            if ref:
                # only the grid's own cells (the 'existing' trials hold an extra seed-7 cell)
                cmp_root = d / f"cmp{t}"
                (cmp_root / "kill9" / "cells").mkdir(parents=True)
                for f in (ref / "kill9" / "cells").glob("*.h5"):
                    g = exp / "cells" / f.name
                    if g.exists():
                        shutil.copy2(g, cmp_root / "kill9" / "cells" / f.name)
                tr["bit_identical"], detail = compare_to_reference(ref, cmp_root)
                if not tr["bit_identical"]:
                    tr["compare"] = detail[:20]
                shutil.rmtree(cmp_root)
            (d / f"t{t}.rerun.log").write_text(rout)
            trials.append(tr)
            ok = (not tr["crash"] and tr["clear_error"] and tr["manifest_whole"] and not tr["corrupt_files"]
                  and not tr["leaked_temporaries"] and rrc == 0 and not tr["rerun_incomplete"])
            log(f"disk_full {t + 1}/{len(a.disk_free_kib)}: {free} KiB free{' (folder with a run)' if existing else ''}: "
                f"exit {frc}, cells.yaml {tr['manifest']}, {tr['corrupt_files']} bad files, "
                f"{len(tr['leaked_temporaries'])} temporaries, {len(tr['claims_after_full_run'])} claims; "
                f"rerun exit {rrc} in {tr['rerun_seconds']}s{' (waited for a claim)' if tr['rerun_waits'] else ''}"
                f" -> {'ok' if ok else 'PROBLEM'}; "
                f"{tr['first_error'][:140]}")
    finally:
        subprocess.run(["umount", str(mnt)])
    figures = {
        "trials": len(trials),
        "runs_that_fit_anyway": sum(t["exit"] == 0 for t in trials),
        "crashes": sum(t["crash"] for t in trials),
        "runs_without_a_clear_error": sum(t["exit"] != 0 and not t["clear_error"] for t in trials),
        "truncated_or_wrong_cells_yaml": sum(not t["manifest_whole"] for t in trials),
        "corrupt_cell_files": sum(t["corrupt_files"] for t in trials),
        "leaked_temporaries": sum(len(t["leaked_temporaries"]) for t in trials),
        "claims_left_by_the_full_run": sum(len(t["claims_after_full_run"]) for t in trials),
        "reruns_not_exit_0": sum(t["rerun_exit"] != 0 for t in trials),
        "cells_incomplete_after_rerun": sum(len(t["rerun_incomplete"]) for t in trials),
        "claims_after_rerun": sum(t["claims_after_rerun"] for t in trials),
        "reruns_that_waited_for_a_claim": sum(bool(t["rerun_waits"]) for t in trials),
        "rerun_seconds_max": max((t["rerun_seconds"] for t in trials), default=None),
        "runner_exits_with_children_alive": sum(t["children_alive_at_runner_exit"] > 0 for t in trials),
        "children_alive_5s_after_runner_exit": sum(t["children_alive_5s_after"] for t in trials),
        "unmounted": not os.path.ismount(mnt),
    }
    if ref:
        figures["reruns_not_bit_identical"] = sum(not t["bit_identical"] for t in trials)
    return {"figures": figures, "trials": trials, "tmpfs_mib": a.tmpfs_mib}


# --------------------------------------------------------------------------------------------
# scenario 5: a long cell killed 5 times


def checkpoint_info(ckpt):
    import h5py
    try:
        with h5py.File(ckpt, "r") as h:
            return int(h.attrs["step"]), int(h.attrs["resumes"])
    except (OSError, KeyError):
        return None, None


def scenario_long_cell(a, kant, work, rng, deadline):
    d = work / "long_cell"
    d.mkdir(parents=True)
    grid = d / "grid.yaml"
    grid.write_text(grid_yaml("long", [a.long_steps], methods=("GP",), hidden=128, n_critic=5, metrics_every=500))
    sets = [f"train.checkpoint_every={a.long_checkpoint_every}"]
    log(f"long_cell: reference run ({a.long_steps} steps)")
    t0 = time.monotonic()
    rc, out = run(kant.run_cmd(grid, d / "reference", jobs=1), timeout=900)
    t_ref = time.monotonic() - t0
    if rc != 0:
        raise RuntimeError(f"long_cell reference failed:\n{out[-2000:]}")
    log(f"long_cell: reference done in {t_ref:.1f}s")
    root = d / "killed"
    cells = root / "long" / "cells"
    period = t_ref * a.long_checkpoint_every / a.long_steps
    kills = []
    for k in range(a.long_kills):
        target = rng.choice(("child", "group"))
        ckpts = list(cells.glob("*.ckpt")) if cells.exists() else []
        before = ckpts[0].stat().st_mtime_ns if ckpts else None
        p = kant.start(grid, root, d / f"run{k}.log", sets, jobs=1)
        # a checkpoint newer than the last one (so each rerun has a new one to resume from),
        # then a random moment up to two checkpoint periods later
        end = time.monotonic() + 120
        while time.monotonic() < end and p.poll() is None:
            c = list(cells.glob("*.ckpt")) if cells.exists() else []
            if c and c[0].stat().st_mtime_ns != before:
                break
            time.sleep(0.02)
        wait = rng.uniform(0, 2 * period)
        time.sleep(wait)
        if p.poll() is not None:
            kills.append({"kill": k, "note": "the run ended before the kill"})
            break
        if target == "group":
            os.killpg(p.pid, signal.SIGKILL)
        else:
            for pid, _, _ in live_cells(root):
                os.kill(pid, signal.SIGKILL)
        code = wait_proc(p, 120)
        c = list(cells.glob("*.ckpt"))
        step, resumes = checkpoint_info(c[0]) if c else (None, None)
        kills.append({"kill": k, "target": target, "after_checkpoint_s": round(wait, 2), "runner_exit": code,
                      "checkpoint_step": step, "checkpoint_resumes": resumes})
        log(f"long_cell: kill {k + 1}/{a.long_kills} ({target}) {wait:.2f}s after a checkpoint: "
            f"checkpoint at step {step}, resumes {resumes}")
    rc, out = run(kant.run_cmd(grid, root, sets, jobs=1), timeout=900)
    (d / "final.log").write_text(out)
    import h5py
    files = list(cells.glob("*.h5"))
    resumes = None
    if files:
        with h5py.File(files[0], "r") as h:
            resumes = int(h.attrs["resumes"])
    same, detail = compare_to_reference(d / "reference", root)
    m = re.search(r"resumed \((\d+) times?\)", out)
    figures = {
        "kills": len(kills),
        "final_exit": rc,
        "resumes_attribute": resumes,
        "resumed_line": int(m.group(1)) if m else None,
        "resumes_equal_kills": resumes == len(kills),
        "bit_identical": same,
        "leftover_checkpoints": len(files_matching(root, r"\.ckpt")),
        "leaked_temporaries": len(temporaries(root)),
        "reference_seconds": round(t_ref, 1),
    }
    log(f"long_cell: final exit {rc}, resumes {resumes} for {len(kills)} kills, bit-identical {same}")
    return {"figures": figures, "kills": kills, "compare": detail[-5:], "steps": a.long_steps,
            "checkpoint_every": a.long_checkpoint_every}


# --------------------------------------------------------------------------------------------


def machine(kant, work):
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    isa = ""
    cells = sorted(work.rglob("*.h5"))
    if cells:
        rc, out = run([kant.exe, "show", str(cells[0])], timeout=60)
        m = re.search(r"onednn_isa: (\S+)", out)
        isa = m.group(1) if m else ""
        m = re.search(r"onednn_version: (\S+)", out)
        isa_version = m.group(1) if m else ""
    else:
        isa_version = ""
    rc, nproc = run(["nproc"], timeout=10)
    return {"nproc": nproc.strip(), "cpu_model": cpu, "onednn_isa": isa, "onednn_version": isa_version,
            "kernel": os.uname().release, "loadavg_at_end": open("/proc/loadavg").read().split()[:3]}


def markdown(summary):
    s = summary["scenarios"]
    rows = []

    def row(scn, name, key, promised, meaning):
        f = s.get(scn, {}).get("figures")
        if f is None:
            return
        v = f.get(key)
        rows.append(f"| {name} | {v} | {promised} | {meaning} |")

    row("kill9", "kill -9: trials", "trials", "50", "runs SIGKILLed at a random moment, then rerun")
    row("kill9", "kill -9: kills delivered", "kills_delivered", "50", "trials whose SIGKILL hit a live run")
    row("kill9", "kill -9: corrupt cell files", "corrupt_cell_files", "0", "cell files `kant verify` rejects after the rerun")
    row("kill9", "kill -9: lost cells", "lost_cells", "0", "cells missing or not complete after the rerun")
    row("kill9", "kill -9: orphan processes", "orphan_processes", "0", "`kant _cell` of a dead runner alive 5 s after the kill")
    row("kill9", "kill -9: cells trained twice at once", "cells_trained_twice_at_once", "0",
        "two live `_cell` processes for one cell in one /proc sample")
    row("kill9", "kill -9: leaked temporaries", "leaked_temporaries", "0", "`*.tmp.*` files after the rerun")
    row("kill9", "kill -9: stale claims", "stale_claims", "0", "`<id>.claim` files after the rerun")
    row("kill9", "kill -9: trials not bit-identical", "trials_not_bit_identical", "0",
        "final results differing from the uninterrupted reference")
    row("concurrent", "two runs: runs not exiting 0", "runs_not_exit_0", "0", "")
    row("concurrent", "two runs: cells not trained exactly once", "cells_not_trained_exactly_once", "0",
        "'complete in' lines per cell across both logs ≠ 1")
    row("concurrent", "two runs: report errors or crashes", "report_errors", "0",
        "`kant report` exit ≠ 0 or a message other than 'skipped … missing'")
    row("bitflip", "bit flips: trials", "trials", "300", "one bit flipped in one cell file per trial")
    row("bitflip", "bit flips: silent value changes", "silent_value_changes", "0",
        "`kant verify` passes and h5py reads a changed value")
    row("bitflip", "bit flips: crashes", "crashes", "0", "verify/show/report/run ended by a signal")
    row("bitflip", "bit flips: damaged cells not named", "damaged_cells_not_named_by_verify", "0",
        "flipped file not named in `kant verify`'s output")
    row("seal_sweep", "seal block: flips not named", "flips_not_named_by_verify", "0",
        "of all 4096 single-bit flips of one file's 512-byte seal block (values unchanged: see silent)")
    row("seal_sweep", "seal block: silent value changes", "silent_value_changes", "0", "")
    row("disk_full", "disk full: crashes", "crashes", "0", "runs on a full tmpfs ended by a signal")
    row("disk_full", "disk full: runs without a clear error", "runs_without_a_clear_error", "0",
        "no line naming a file and 'No space left on device'")
    row("disk_full", "disk full: truncated cells.yaml", "truncated_or_wrong_cells_yaml", "0", "")
    row("disk_full", "disk full: corrupt cell files", "corrupt_cell_files", "0", "")
    row("disk_full", "disk full: leaked temporaries", "leaked_temporaries", "0", "")
    row("disk_full", "disk full: reruns not exiting 0", "reruns_not_exit_0", "0", "after freeing space")
    row("disk_full", "disk full: claim files left by the full run", "claims_left_by_the_full_run", "0",
        "`<id>.claim` files after the run that hit the full disk")
    row("disk_full", "disk full: reruns that waited for a claim", "reruns_that_waited_for_a_claim", "0",
        "reruns that waited for a claim nobody holds")
    row("disk_full", "disk full: slowest rerun (s)", "rerun_seconds_max", "", "")
    row("long_cell", "long cell: resumes attribute", "resumes_attribute", "5", "after 5 SIGKILLs")
    row("long_cell", "long cell: bit-identical", "bit_identical", "True", "to the uninterrupted run")
    head = ["| figure | measured | promised | meaning |", "|---|---|---|---|"]
    return "\n".join(head + rows) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--kant", default=str(REPO / "build" / "kant"))
    ap.add_argument("--out", default=str(REPO / "build" / "fault-campaign"), help="work folder (emptied first)")
    ap.add_argument("--skip", action="append", default=[], choices=["kill9", "concurrent", "bitflip", "seal_sweep", "disk_full", "long_cell"])
    ap.add_argument("--time-limit", type=float, default=40 * 60, help="seconds for the whole campaign")
    ap.add_argument("--keep", action="store_true", help="keep every trial's folder (by default only problem ones)")
    ap.add_argument("--cells", type=int, default=8, help="cells of the kill9 grid (even: 2 methods x cells/2 lengths)")
    ap.add_argument("--cell-steps", type=lambda s: tuple(int(x) for x in s.split(",")), default=(200, 600),
                    help="MIN,MAX generator steps of the grid's cells (~1-3 s each on 2 shared cores)")
    ap.add_argument("--checkpoint-every", type=int, default=40, help="train.checkpoint_every of the kill9 runs")
    ap.add_argument("--kill-trials", type=int, default=50)
    ap.add_argument("--kill-targets", choices=["balanced", "random"], default="balanced",
                    help="balanced: each of runner, child, group, writing equally often in a seeded random "
                         "order; random: a seeded choice per trial")
    ap.add_argument("--concurrent-trials", type=int, default=3)
    ap.add_argument("--concurrent-runs", type=int, default=2)
    ap.add_argument("--flip-trials", type=int, default=300)
    ap.add_argument("--flip-run-every", type=int, default=10, help="kant run after every k-th flip (0: never)")
    ap.add_argument("--flip-h5py-all", type=int, default=1,
                    help="1: read every flipped file with h5py (shows what the seal catches); 0: only those verify passes")
    ap.add_argument("--tmpfs-mib", type=int, default=16)
    ap.add_argument("--disk-free-kib", type=lambda s: [int(x) for x in s.split(",")],
                    default=[0, 0, 8, 24, 64, 96, 160, 256],
                    help="free space left on the tmpfs, per trial (odd trials: a folder holding an earlier run)")
    ap.add_argument("--long-steps", type=int, default=3000)
    ap.add_argument("--long-checkpoint-every", type=int, default=100)
    ap.add_argument("--long-kills", type=int, default=5)
    a = ap.parse_args()
    if a.cells < 2 or a.cells % 2:
        ap.error("--cells must be even and at least 2")
    kant = Kant(a.kant)
    if not os.access(kant.exe, os.X_OK):
        ap.error(f"{kant.exe}: not built (bash scripts/setup.sh)")
    work = pathlib.Path(a.out).resolve()
    stale_mnt = work / "disk_full" / "mnt"
    if os.path.ismount(stale_mnt):
        subprocess.run(["umount", str(stale_mnt)])
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    deadline = Deadline(a.time_limit)
    started = datetime.datetime.now(datetime.timezone.utc)
    WATCH.start()
    summary = {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "command": " ".join([PY] + sys.argv),
               "seed": a.seed, "options": {k: v for k, v in vars(a).items()}, "scenarios": {}}
    log(f"fault campaign, seed {a.seed}, work folder {work}")
    kill9 = None
    order = [("kill9", lambda r: scenario_kill9(a, kant, work, r, deadline)),
             ("concurrent", lambda r: scenario_concurrent(a, kant, work, r, deadline, kill9)),
             ("bitflip", lambda r: scenario_bitflip(a, kant, work, r, deadline, kill9)),
             ("seal_sweep", lambda r: scenario_seal_sweep(a, kant, work, r, deadline, kill9)),
             ("disk_full", lambda r: scenario_disk_full(a, kant, work, r, deadline, kill9)),
             ("long_cell", lambda r: scenario_long_cell(a, kant, work, r, deadline))]
    for i, (name, fn) in enumerate(order):
        if name in a.skip:
            continue
        if deadline.passed():
            summary["scenarios"][name] = {"skipped": "time limit"}
            continue
        t0 = time.monotonic()
        try:
            result = fn(random.Random(a.seed * 100 + i))
        except Exception as e:  # a scenario that cannot run is reported, the others go on
            import traceback
            traceback.print_exc()
            result = {"error": f"{type(e).__name__}: {e}"}
        result["seconds"] = round(time.monotonic() - t0, 1)
        summary["scenarios"][name] = result
        if name == "kill9" and "figures" in result:
            kill9 = result
        log(f"{name}: {json.dumps(result.get('figures', result.get('error', result.get('skipped'))))}")
        (work / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    WATCH.stop_flag = True
    summary["machine"] = machine(kant, work)
    summary["wall_time_s"] = round(time.monotonic() - CAMPAIGN_START, 1)
    (work / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    md = (f"Fault campaign {summary['date']}, seed {a.seed}, {summary['wall_time_s']} s; "
          f"{summary['machine']['nproc']} cores ({summary['machine']['cpu_model']}), oneDNN ISA "
          f"{summary['machine']['onednn_isa']}\n\n" + markdown(summary))
    (work / "summary.md").write_text(md)
    print(md)
    log(f"summary: {work / 'summary.json'}, {work / 'summary.md'}")


if __name__ == "__main__":
    main()
