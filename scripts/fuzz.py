#!/usr/bin/env python3
"""Seeded fuzzing of `kant` with hostile inputs: mutations of the shipped experiments
(experiments/*.yaml, tests/data/*.yaml) and of --set values (alias bombs, huge grids, huge
integers, long and unsafe names, deep nesting, NaN-producing settings such as lr 1e30).

Each mutation runs `kant validate` (and every RUN_EVERY-th, or any NaN-producing one, a short
`kant run` on a small experiment followed by `kant report`) with a time-out and a memory limit
(RLIMIT_AS, as `ulimit -v`), and is classified by its outcome:

  crash      a signal, or an exit code other than 0, 1, 2
  hang       still running after the time-out (10 s)
  bad_alloc  "bad_alloc" in the output: an allocation failed without a message of ours
  rejected   exit 2, bad input (expected for most mutations); its message should be one line
  failed     exit 1 (a cell or command failed)
  valid      exit 0

The same seed gives the same mutations (the corpus). Failures are saved with the command that
reproduces them. Exit code 1 if there was any crash, hang or bad_alloc.

usage: fuzz.py [--kant PATH] [--mutations N] [--seed S] [--jobs J] [--timeout SECONDS]
               [--memory-mb MB] [--run-every K] [--out DIR]
"""
import argparse
import concurrent.futures
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = sorted([os.path.join(ROOT, "experiments", f) for f in os.listdir(os.path.join(ROOT, "experiments"))
                if f.endswith(".yaml")] +
               [os.path.join(ROOT, "tests", "data", f) for f in os.listdir(os.path.join(ROOT, "tests", "data"))
                if f.endswith(".yaml")])
# small experiments a short `kant run` can afford (a few generator steps, a few cells)
RUNNABLE = [os.path.join(ROOT, "tests", "data", f) for f in
            ("tiny.yaml", "diverging.yaml", "dirac_one_step.yaml", "zip.yaml", "reported.yaml")]
RUN_OVERRIDES = ["train.steps=3", "train.samples=50", "train.log_every=1000"]

HOSTILE_SCALARS = [
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551616", "99999999999999999999999999", "1e308", "1e309", "-1e309", "1e-400", "4.9e-324",
    "nan", ".nan", ".inf", "-.inf", "inf", "0", "-0", "-1", "1e30", "-1e30", "1e-30", "0x7fffffff", "0o777",
    "1_000", "+5", "+-5", "3.5", "1e5", "1e19", '""', "''", "~", "null", "true", "no", "[]", "{}", "[[]]",
    "[1, [2, [3]]]", "{a: {b: {c: 1}}}", "'\\u0000'", '"\\0"', "\"\\uffff\"", "!!binary AAAA", "!!str 1", "!custom x",
    "*undefined", "&anchor 1", "? complex", "a: b", "- x", "|", ">", "'", '"', "{", "[", "]", "}", "%TAG", "@", "`",
    "é", "名前", "\U0001F600", "\t", "a\tb", "x" * 300, "x" * 70000,
]
NAN_SETTINGS = ["optimizer.lr=1e30", "optimizer.lr=1e9", "optimizer.lr=1e38", "optimizer.lr=1e-45",
                "lipschitz={plugin: gradient_penalty, lambda: 1e30}", "lipschitz={plugin: weight_clipping, c: 1e30}",
                "train.ema=0.999999", "objective=minimax", "objective={plugin: least_squares, a: -1e30}"] + [
                f"objective={{plugin: f_gan, divergence: {d}}}" for d in
                ("kl", "reverse_kl", "pearson", "neyman", "hellinger", "jeffrey", "jensen_shannon", "gan",
                 "total_variation")]
SET_KEYS = ["train.steps", "train.batch_size", "train.n_critic", "train.samples", "train.log_every", "train.ema",
            "train.unrolled_steps", "optimizer.lr", "optimizer.beta1", "generator.noise_dim", "generator.hidden",
            "critic.hidden", "critic.pack", "seeds", "name", "dataset.plugin", "objective", "lipschitz.lambda",
            "metrics", "seed", "grid"]


# ---- mutations ---------------------------------------------------------------------------

def alias_bomb(levels=9, width=9):
    lines = ["  a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * width) + "]")
    return "description:\n" + "\n".join(lines) + "\n"


def deep(depth, flow=True):
    return "[" * depth + "]" * depth if flow else "".join("  " * i + "- \n" for i in range(depth))


def set_path(tree, path, value):
    node = tree
    for key in path[:-1]:
        if not isinstance(node, dict):
            return
        node = node.setdefault(key, {})
    if isinstance(node, dict):
        node[path[-1]] = value


def random_path(rng, tree, depth=0):
    """A path to some node of a YAML tree (dicts and lists)."""
    if isinstance(tree, dict) and tree and (depth == 0 or rng.random() < 0.7):
        key = rng.choice(list(tree))
        return [key] + random_path(rng, tree[key], depth + 1)
    if isinstance(tree, list) and tree and rng.random() < 0.7:
        i = rng.randrange(len(tree))
        return [i] + random_path(rng, tree[i], depth + 1)
    return []


def replace_at(tree, path, value):
    if not path:
        return value
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


def hostile_value(rng):
    choice = rng.random()
    if choice < 0.5:
        return yaml.safe_load(rng.choice(HOSTILE_SCALARS[:40])) if rng.random() < 0.5 else rng.choice(HOSTILE_SCALARS)
    if choice < 0.7:
        return [rng.choice([0, 1, -1, 2 ** 63, 1e308, "x"]) for _ in range(rng.choice([0, 1, 3, 1000, 20000]))]
    if choice < 0.85:
        return {rng.choice(["plugin", "lr", "steps", "x", ""]): rng.choice([1, "mlp", None, [], {}])}
    return rng.choice([None, True, False, 0.5, -3, "", {}, []])


class Mutation:
    """One input: the YAML text, extra --set arguments, and whether to also run it."""

    def __init__(self, index, operator, source, text, sets=(), run=False, pad=0):
        self.index, self.operator, self.source, self.text = index, operator, source, text
        self.sets, self.run = list(sets), run
        self.pad = pad  # bytes of a comment appended when the file is written (huge files)


def mutate_text(rng, text):
    lines = text.split("\n")
    op = rng.choice(["delete_line", "duplicate_line", "swap_lines", "truncate", "byte_flip", "insert_garbage",
                     "indent", "scalar_swap"])
    if op == "delete_line" and lines:
        del lines[rng.randrange(len(lines))]
    elif op == "duplicate_line" and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif op == "swap_lines" and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "truncate":
        return op, text[:rng.randrange(len(text) + 1)]
    elif op == "byte_flip":
        chars = list(text)
        for _ in range(rng.randint(1, 8)):
            if chars:
                chars[rng.randrange(len(chars))] = chr(rng.choice([0, 9, 10, 13, 34, 35, 38, 42, 58, 91, 93, 123, 125,
                                                                    rng.randrange(32, 127), 0xe9, 0x202e]))
        return op, "".join(chars)
    elif op == "insert_garbage":
        at = rng.randrange(len(text) + 1)
        garbage = "".join(rng.choice(":{}[]&*!|>'\"#%@`-? \t\n\\é名\x7f") for _ in range(rng.randint(1, 20)))
        return op, text[:at] + garbage + text[at:]
    elif op == "indent" and lines:
        i = rng.randrange(len(lines))
        lines[i] = " " * rng.choice([1, 2, 3, 8]) + lines[i] if rng.random() < 0.5 else lines[i].lstrip()
    elif op == "scalar_swap":
        tokens = list(re.finditer(r"(?<=[:\[,{ ])\s*([-+\w.]+)(?=[,\]}\s]|$)", text))
        if tokens:
            m = rng.choice(tokens)
            return op, text[:m.start(1)] + rng.choice(HOSTILE_SCALARS) + text[m.end(1):]
    return op, "\n".join(lines)


def mutate_tree(rng, text):
    tree = yaml.safe_load(text)
    if not isinstance(tree, dict):
        return "tree_unparsed", text
    op = rng.choice(["hostile_value", "hostile_value", "big_list", "grid_axes", "seeds", "name", "deep",
                     "unknown_key", "alias_bomb", "big_file"])
    if op == "hostile_value":
        tree = replace_at(tree, random_path(rng, tree), hostile_value(rng))
    elif op == "big_list":
        size = rng.choice([1000, 10000, 90000])
        set_path(tree, rng.choice([["base", "critic", "hidden"], ["base", "generator", "hidden"], ["seeds"],
                                   ["base", "metrics"]]), [rng.choice([1, 8, 0]) for _ in range(size)])
    elif op == "grid_axes":  # products from 2 to 10^32 cells
        grid = tree.get("grid") if isinstance(tree.get("grid"), dict) else {}
        keys = ["train.steps", "train.log_every", "train.samples", "train.batch_size", "optimizer.lr",
                "train.n_critic", "generator.noise_dim", "train.unrolled_steps"]
        for key in rng.sample(keys, rng.randint(1, len(keys))):
            grid[key] = list(range(1, rng.choice([2, 10, 100, 1000, 10000]) + 1))
        tree["grid"] = grid
    elif op == "seeds":
        tree["seeds"] = rng.choice([[], [0, 0], [-1], [2 ** 64], list(range(rng.choice([1001, 5000, 100000]))),
                                    list(range(10)), "0", {"a": 1}])
    elif op == "name":
        tree["name"] = rng.choice(["n" * rng.choice([175, 176, 255, 256, 5000]), "../escape", "a/b", "/abs", ".hidden",
                                   "", "with space", "é", "x\x00y", "con", "-dash", "a" * 60000])
    elif op == "deep":
        d = rng.choice([30, 65, 200, 3000])
        value = 1
        for _ in range(d):
            value = [value] if rng.random() < 0.5 else {"k": value}
        tree["description"] = value
    elif op == "unknown_key":
        parent = random_path(rng, tree)[:-1]
        node = tree
        for key in parent:
            node = node[key]
        if isinstance(node, dict):
            node["x" * rng.choice([1, 70])] = 1
    elif op == "alias_bomb":
        return op, text + "\n" + alias_bomb(rng.choice([4, 9, 12]), rng.choice([4, 9]))
    elif op == "big_file":  # the padding is streamed into the file (see Mutation.pad)
        return op, text
    try:
        return op, yaml.safe_dump(tree, width=1 << 30, allow_unicode=True)
    except Exception:
        return op, text


def hostile_sets(rng):
    sets = []
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(SET_KEYS)
        r = rng.random()
        if r < 0.15:
            value = "[" + ", ".join(["&a [1,1,1,1,1,1,1,1]"] + ["*a"] * 8) + "]"
        elif r < 0.25:
            value = deep(rng.choice([10, 70, 5000]))
        elif r < 0.35:
            key = ".".join(["a"] * rng.choice([3, 70, 3000]))
            value = "1"
        elif r < 0.45 and key == "seeds":
            value = "[" + ", ".join(str(i) for i in range(rng.choice([5, 2000]))) + "]"
        else:
            value = rng.choice(HOSTILE_SCALARS)
        sets.append(f"{key}={value}")
    return sets


BIG_FILE_BYTES = 17 << 20  # beyond the 16 MiB limit


def make_mutations(seed, n, run_every):
    """The seed's mutations, one at a time (the fuzzer keeps only a few in memory, so that
    its own size does not count in the max RSS of the processes it forks)."""
    rng = random.Random(seed)
    texts = {p: open(p).read() for p in SEEDS}
    for i in range(n):
        kind = rng.random()
        if i % run_every == run_every - 1:  # a short run, often with a NaN-producing setting
            source = rng.choice(RUNNABLE)
            sets = RUN_OVERRIDES + (rng.sample(NAN_SETTINGS, rng.randint(1, 2)) if rng.random() < 0.8 else hostile_sets(rng))
            yield Mutation(i, "run", source, texts[source], sets, run=True)
        elif kind < 0.4:
            source = rng.choice(SEEDS)
            op, text = mutate_text(rng, texts[source])
            yield Mutation(i, op, source, text)
        elif kind < 0.8:
            source = rng.choice(SEEDS)
            op, text = mutate_tree(rng, texts[source])
            yield Mutation(i, op, source, text, pad=BIG_FILE_BYTES if op == "big_file" else 0)
        else:
            source = rng.choice(SEEDS)
            yield Mutation(i, "set_hostile", source, texts[source], hostile_sets(rng))


# ---- running -----------------------------------------------------------------------------

def limited(memory_mb):
    def apply():
        os.setpgrp()  # the cells' processes too: killed with the group on a time-out
        if memory_mb > 0:
            limit = memory_mb << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def execute(cmd, timeout, memory_mb, env):
    """Runs cmd; returns (returncode or None on time-out, output, seconds, max RSS in MB)."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT, env=env,
                             preexec_fn=limited(memory_mb))
        status, rusage, timed_out = None, None, False
        while True:
            pid, st, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                status, rusage = st, ru
                break
            if time.monotonic() - start > timeout:
                timed_out = True
                os.killpg(p.pid, signal.SIGKILL)
                _, status, rusage = os.wait4(p.pid, 0)
                break
            time.sleep(0.01)
        p.returncode = 0  # reaped by wait4 above: keep Popen from waiting again
        try:
            os.killpg(p.pid, signal.SIGKILL)  # leftover cells of a killed or crashed run
        except ProcessLookupError:
            pass
        seconds = time.monotonic() - start
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    code = None if timed_out else (-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
    return code, text, seconds, rusage.ru_maxrss / 1024.0


def classify(code, output):
    if code is None:
        return "hang"
    if code < 0 or code not in (0, 1, 2):
        return "crash"
    if "bad_alloc" in output:
        return "bad_alloc"
    return {0: "valid", 1: "failed", 2: "rejected"}[code]


def run_mutation(m, args, work):
    path = os.path.join(work, f"m{m.index:05d}.yaml")
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(m.text)
        if m.pad:
            f.write("\n# ")
            chunk = "x" * (1 << 20)
            for _ in range(m.pad >> 20):
                f.write(chunk)
            f.write("\n")
    m.text = None
    env = dict(os.environ, OMP_NUM_THREADS="1")
    set_args = [a for s in m.sets for a in ("--set", s)]
    steps = []
    if m.run:
        results = os.path.join(work, f"r{m.index:05d}")
        steps.append(("run", [args.kant, "run", path, "--results", results, "--jobs", "1", "--threads", "1",
                              "--quiet"] + set_args))
    else:
        steps.append(("validate", [args.kant, "validate", path] + set_args))
    records = []
    for what, cmd in steps:
        code, output, seconds, rss = execute(cmd, args.timeout, args.memory_mb, env)
        outcome = classify(code, output)
        lines = [l for l in output.splitlines() if l.strip()]
        one_line = outcome != "rejected" or (len(lines) == 1 and "error" in lines[0])
        records.append({"what": what, "cmd": cmd, "code": code, "outcome": outcome, "seconds": seconds, "rss_mb": rss,
                        "one_line": one_line, "tail": output[-600:]})
        if what == "run" and outcome == "rejected" and os.path.exists(results):
            records[-1]["outcome"], records[-1]["tail"] = "wrote_on_rejection", "results folder written on exit 2"
        if what == "run" and code in (0, 1):
            name_dirs = [d for d in os.listdir(results)] if os.path.isdir(results) else []
            for d in name_dirs:
                rcode, rout, rsec, rrss = execute([args.kant, "report", os.path.join(results, d)], args.timeout,
                                                  args.memory_mb, env)
                records.append({"what": "report", "cmd": [args.kant, "report", os.path.join(results, d)],
                                "code": rcode, "outcome": classify(rcode, rout), "seconds": rsec, "rss_mb": rrss,
                                "one_line": True, "tail": rout[-600:]})
    if m.run:
        shutil.rmtree(os.path.join(work, f"r{m.index:05d}"), ignore_errors=True)
    return m, path, records


BAD = ("crash", "hang", "bad_alloc", "wrote_on_rejection")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kant", default=os.path.join(ROOT, "build", "kant"))
    ap.add_argument("--mutations", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--memory-mb", type=int, default=4096, help="address-space limit per process (0: none)")
    ap.add_argument("--run-every", type=int, default=20, help="every k-th mutation is a short run + report")
    ap.add_argument("--out", default="", help="folder for the summary and the failing inputs")
    args = ap.parse_args()
    args.kant = os.path.abspath(args.kant)
    work = tempfile.mkdtemp(prefix="kant-fuzz-")
    out_dir = args.out or os.path.join(work, "out")
    os.makedirs(out_dir, exist_ok=True)
    start = time.monotonic()
    counts, by_op, worst_time, worst_rss, failures, not_one_line = {}, {}, (0, ""), (0, ""), [], []
    runs = 0

    def record(m, path, records):
        nonlocal worst_time, worst_rss
        for r in records:
            counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
            op = by_op.setdefault(m.operator, {})
            op[r["outcome"]] = op.get(r["outcome"], 0) + 1
            label = f"#{m.index} {m.operator} {r['what']} {os.path.basename(m.source)}"
            if r["seconds"] > worst_time[0]:
                worst_time = (r["seconds"], label)
            if r["rss_mb"] > worst_rss[0]:
                worst_rss = (r["rss_mb"], label)
            if r["outcome"] in BAD:
                keep = os.path.join(out_dir, f"failure_{m.index:05d}.yaml")
                shutil.copy(path, keep)
                failures.append({"mutation": m.index, "operator": m.operator, "source": m.source,
                                 "outcome": r["outcome"], "code": r["code"], "seconds": round(r["seconds"], 2),
                                 "input": keep, "command": " ".join(a if a != path else keep for a in r["cmd"]),
                                 "output": r["tail"]})
            if not r["one_line"]:
                not_one_line.append(f"{label}: {r['tail'][:300]!r}")
        os.unlink(path)

    # a sliding window of submitted mutations, so that only a few exist at a time
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        pending = []
        for m in make_mutations(args.seed, args.mutations, args.run_every):
            runs += m.run
            pending.append(pool.submit(run_mutation, m, args, work))
            if len(pending) >= 2 * args.jobs:
                record(*pending.pop(0).result())
        for f in pending:
            record(*f.result())
    elapsed = time.monotonic() - start
    bad = {k: counts.get(k, 0) for k in ("crash", "hang", "bad_alloc")}
    summary = {"mutations": args.mutations, "seed": args.seed, "seconds": round(elapsed, 1), "outcomes": counts,
               "crashes": bad["crash"], "hangs": bad["hang"], "bad_alloc": bad["bad_alloc"],
               "rejections": counts.get("rejected", 0), "slowest": [round(worst_time[0], 2), worst_time[1]],
               "max_rss_mb": [round(worst_rss[0], 1), worst_rss[1]], "by_operator": by_op,
               "rejections_not_one_line": len(not_one_line), "failures": failures}
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"fuzz: {args.mutations} mutations (seed {args.seed}, {runs} of them runs + reports) in {elapsed:.1f} s: "
          f"{bad['crash']} crashes, {bad['hang']} hangs, {bad['bad_alloc']} bad_alloc, "
          f"{counts.get('wrote_on_rejection', 0)} rejected runs that wrote results")
    print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"  slowest {worst_time[0]:.2f} s ({worst_time[1]}); max RSS {worst_rss[0]:.0f} MB ({worst_rss[1]}; "
          f"a forked process's count starts from the fuzzer's own, at most {own:.0f} MB)")
    print(f"  rejections whose message is not one 'error' line: {len(not_one_line)}")
    for line in not_one_line[:5]:
        print("    " + line)
    print("  by operator: " + "; ".join(f"{op} " + ",".join(f"{k} {v}" for k, v in sorted(o.items()))
                                        for op, o in sorted(by_op.items())))
    for f in failures[:20]:
        print(f"  FAILURE #{f['mutation']} ({f['operator']}, {f['outcome']}, exit {f['code']}, {f['seconds']} s): "
              f"{f['command']}\n    {f['output'][-300:]!r}")
    if not args.out and not failures:
        shutil.rmtree(work, ignore_errors=True)  # nothing to keep: a clean run leaves no file
    else:
        print(f"  summary: {os.path.join(out_dir, 'summary.json')}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
