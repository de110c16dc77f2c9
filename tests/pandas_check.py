#!/usr/bin/env python3
"""Runs the Python blocks of docs/pandas.md, as they stand, in a folder holding tiny.csv and
tiny_series.csv (kant export of tests/data/tiny.yaml's results), then checks what they made.

Usage: pandas_check.py DOCS_PANDAS_MD FOLDER. Exit code 1 with the reason on failure.
"""
import os
import re
import sys

doc, folder = sys.argv[1], sys.argv[2]
blocks = re.findall(r"```python\n(.*?)```", open(doc, encoding="utf-8").read(), re.S)
assert len(blocks) == 2, f"{doc}: expected 2 python blocks, found {len(blocks)}"
os.chdir(folder)
scope = {}
for b in blocks:
    exec(compile(b, doc, "exec"), scope)

df, table, series = scope["df"], scope["table"], scope["series"]
# one row per (cell, final value): 4 cells × 2 values of mode_coverage (+ reverse_kl)
assert list(df.columns[:3]) == ["experiment", "cell_id", "status"], list(df.columns)
assert {"method", "seed", "metric", "value"} <= set(df.columns), list(df.columns)
assert df.cell_id.nunique() == 4, df.cell_id.unique()
assert df.groupby("cell_id").size().eq(3).all(), df.groupby("cell_id").size()
assert set(df.method) == {"GP", "clip"}, set(df.method)
assert sorted(df.seed.unique()) == [0, 1], df.seed.unique()
assert set(table.index) == {"GP", "clip"}, table.index
modes = table[("mean", "mode_coverage.modes")]
assert ((modes >= 0) & (modes <= 8)).all(), modes
# every step of every series: steps 1..20 of the losses, 0, 10, 20 of the metric
counts = series.groupby(["cell_id", "series"]).size()
assert counts.xs("loss_critic", level="series").eq(20).all(), counts
assert counts.xs("mode_coverage.modes", level="series").eq(3).all(), counts
assert sorted(series[series.series == "mode_coverage.modes"].step.unique()) == [0, 10, 20]
# the export's final value is the metric's last stored one, to full precision
last = series[(series.series == "mode_coverage.high_quality") & (series.step == 20)].set_index("cell_id").value
final = df[df.metric == "mode_coverage.high_quality"].set_index("cell_id").value
assert (last.sort_index() == final.sort_index()).all(), (last, final)
assert os.path.getsize("modes.png") > 1000, "modes.png was not drawn"
print(f"pandas_check: {len(df)} rows of final values, {len(series)} of series, modes.png drawn; ok")
