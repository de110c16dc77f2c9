#!/usr/bin/env python3
"""Recomputes `kant report`'s table from the HDF5 files with h5py alone (and the manifest
cells.yaml), following results/README.md, and compares it with kant's CSV output.

usage: report_check.py RESULTS_DIR KANT_CSV_FILE ROW_AXIS VALUE [VALUE ...]
Mean and std are over the finite values of a row's complete cells; the "finite" column says
how many of them were finite ("k/n"). Prints the rows it computed; exits 1 on any difference.
"""
import csv
import math
import os
import sys

import h5py
import yaml

folder, kant_csv, row_axis, values = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
manifest = yaml.safe_load(open(os.path.join(folder, "cells.yaml")))
rows = {}
for cell in manifest["cells"]:
    path = os.path.join(folder, "cells", cell["id"] + ".h5")
    with h5py.File(path, "r") as f:
        labels = yaml.safe_load(f.attrs["labels"])
        if f.attrs["status"] != "complete":
            continue
        final = dict(f["final"].attrs)
    rows.setdefault(str(labels[row_axis]), []).append([float(final[v]) for v in values])

ours, finite = {}, {}
for row, samples in rows.items():
    out, counts = [], []
    for j in range(len(values)):
        xs = [s[j] for s in samples if math.isfinite(s[j])]
        counts.append(f"{len(xs)}/{len(samples)}")
        if not xs:
            out += [math.nan, math.nan]
            continue
        mean = sum(xs) / len(xs)
        std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
        out += [mean, std]
    ours[row], finite[row] = out, counts
    print(row, out, counts)

theirs, theirs_finite = {}, {}
with open(kant_csv) as f:
    reader = csv.DictReader(f)
    for r in reader:
        row = r[reader.fieldnames[0]]
        theirs[row] = [float(r[f"{v} {k}"] or "nan") for v in values for k in ("mean", "std")]
        theirs_finite[row] = [r[f"{v} finite"] for v in values]

bad = False
for row in ours:
    if finite[row] != theirs_finite.get(row):
        print(f"row {row}: h5py finite {finite[row]} vs kant {theirs_finite.get(row)}")
        bad = True
    for a, b in zip(ours[row], theirs[row]):
        if math.isnan(a) and math.isnan(b):
            continue
        if not math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12):
            print(f"row {row}: h5py {a} vs kant {b}")
            bad = True
if set(ours) != set(theirs):
    print(f"rows differ: {sorted(ours)} vs {sorted(theirs)}")
    bad = True
sys.exit(1 if bad else 0)
