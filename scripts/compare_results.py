#!/usr/bin/python3
"""Compares two results folders cell file by cell file, for refactors that must not change
any result: every dataset must be bit-identical and every attribute equal, except those that
record when, where and by which build a cell ran (times, host, commit, plugin file paths).

usage: compare_results.py BEFORE_DIR AFTER_DIR [--ignore-attr NAME]... [--allow-additions]
With --allow-additions, groups, datasets and attributes present only in AFTER (a format that
stores more, e.g. the final networks) are counted and listed by kind, not failures; every value
BEFORE has must still be in AFTER, bit for bit.
Exit 0 when identical; 1 listing every difference; 2 on bad usage.
"""
import argparse
import pathlib
import sys

import h5py
import numpy as np

# Attributes that legitimately differ between two runs of the same config.
VOLATILE = {"start_time", "end_time", "wall_time_s", "hostname", "git_commit", "plugins",
            "framework_version", "resumes", "pid", "boot_id"}


def walk(group, prefix=""):
    """Yields (path, object) for every group and dataset below `group`."""
    for name in sorted(group.keys()):
        obj = group[name]
        path = f"{prefix}/{name}"
        yield path, obj
        if isinstance(obj, h5py.Group):
            yield from walk(obj, path)


def attrs_of(obj, ignore):
    return {k: obj.attrs[k] for k in obj.attrs.keys() if k not in ignore}


def same_value(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
        return False
    if a.dtype.kind == "f":  # bit-identical, NaN included
        return a.tobytes() == b.tobytes()
    return np.array_equal(a, b)


def generic(path):
    """A path with its cell-specific parts (network and metric names) kept: the kind of addition."""
    parts = path.strip("/").split("/")
    return "/".join(parts[:2]) + ("/…" if len(parts) > 2 else "")


def compare_files(fa, fb, ignore, additions=None):
    problems = []

    def added(what):
        if additions is None:
            return False
        additions[what] = additions.get(what, 0) + 1
        return True

    with h5py.File(fa, "r") as a, h5py.File(fb, "r") as b:
        ia, ib = attrs_of(a, ignore), attrs_of(b, ignore)
        for k in sorted(set(ia) | set(ib)):
            if k in ib and k not in ia and added(f"root attribute {k}"):
                continue
            if k not in ia or k not in ib or not same_value(ia[k], ib[k]):
                problems.append(f"root attribute {k}: {ia.get(k)!r} vs {ib.get(k)!r}")
        pa, pb = dict(walk(a)), dict(walk(b))
        for path in sorted(set(pa) | set(pb)):
            if path in pb and path not in pa and added(generic(path)):
                continue
            if path not in pa or path not in pb:
                problems.append(f"{path}: only in {'before' if path in pa else 'after'}")
                continue
            oa, ob = pa[path], pb[path]
            if isinstance(oa, h5py.Dataset) != isinstance(ob, h5py.Dataset):
                problems.append(f"{path}: group in one, dataset in the other")
                continue
            if isinstance(oa, h5py.Dataset) and not same_value(oa[()], ob[()]):
                problems.append(f"{path}: values differ")
            xa, xb = attrs_of(oa, ignore), attrs_of(ob, ignore)
            for k in sorted(set(xa) | set(xb)):
                if k in xb and k not in xa and added(f"attribute {k} of {generic(path)}"):
                    continue
                if k not in xa or k not in xb or not same_value(xa[k], xb[k]):
                    problems.append(f"{path} attribute {k} differs")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("before", type=pathlib.Path)
    ap.add_argument("after", type=pathlib.Path)
    ap.add_argument("--ignore-attr", action="append", default=[])
    ap.add_argument("--allow-additions", action="store_true",
                    help="accept groups, datasets and attributes present only in AFTER (listed)")
    args = ap.parse_args()
    ignore = VOLATILE | set(args.ignore_attr)
    before = {p.relative_to(args.before): p for p in args.before.rglob("*.h5")}
    after = {p.relative_to(args.after): p for p in args.after.rglob("*.h5")}
    if not before:
        print(f"no cell files under {args.before}", file=sys.stderr)
        return 2
    failures = 0
    additions = {} if args.allow_additions else None
    for rel in sorted(set(before) | set(after)):
        if rel not in before or rel not in after:
            print(f"{rel}: only {'before' if rel in before else 'after'}")
            failures += 1
            continue
        problems = compare_files(before[rel], after[rel], ignore, additions)
        for p in problems:
            print(f"{rel}: {p}")
        failures += bool(problems)
    datasets = sum(sum(isinstance(o, h5py.Dataset) for _, o in walk(h5py.File(p, "r")))
                   for p in before.values())
    if additions:
        print("present only in AFTER (additions, allowed):")
        for what, n in sorted(additions.items()):
            print(f"  {what}: {n}")
    print(f"{len(before)} cell files, {datasets} datasets compared: "
          f"{'identical' if not failures else f'{failures} files differ'}"
          f"{' (every value of BEFORE bit-identical in AFTER; additions above)' if additions and not failures else ''}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
