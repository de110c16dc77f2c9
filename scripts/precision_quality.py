#!/usr/bin/env python3
"""Reads the tables scripts/precision_quality.sh wrote (kant report --format csv, one section per
experiment, columns per train.precision) and prints each criterion of the bf16 path, fp32 beside
bf16, and whether it holds.

usage: precision_quality.py TABLES.csv
"""
import csv
import io
import sys

FGAN_KEYS = {"KL": "kl", "reverse KL": "reverse_kl", "JS": "jensen_shannon", "Jeffrey": "jeffrey",
             "Pearson": "pearson"}


def sections(path):
    """{name: [row dict]} with each row's label and {(precision, value): mean}."""
    out, name, lines = {}, None, []
    for line in open(path).read().splitlines() + ["== end"]:
        if line.startswith("== "):
            if name:
                out[name] = parse(lines)
            name, lines = line[3:], []
        else:
            lines.append(line)
    return out


def parse(lines):
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header, body = rows[0], rows[1:]
    first = next(i for i, h in enumerate(header) if h.startswith("train.precision="))
    parsed = []
    for r in body:
        values = {}
        for h, v in zip(header[first:], r[first:]):
            if not h.startswith("train.precision=") or not h.endswith(" mean") or v == "":
                continue
            precision, value = h[len("train.precision="):-len(" mean")].split(" ", 1)
            values[(precision, value)] = float(v)
        parsed.append({"label": " / ".join(r[:first]), "values": values})
    return parsed


def main():
    tables = sections(sys.argv[1])
    results = []  # (experiment, row, criterion, fp32, bf16, holds)

    for row in tables["quickstart"]:
        if row["label"] == "WGAN-GP":
            v = row["values"]
            m32, m16 = v[("fp32", "mode_coverage.modes")], v[("bf16", "mode_coverage.modes")]
            results.append(("quickstart", "WGAN-GP", "modes = 8 (mean of 2 seeds)", m32, m16, m16 == 8))
    for row in tables["dcgan_digits"]:
        v = row["values"]
        f32, f16 = v[("fp32", "classifier_scores.fid")], v[("bf16", "classifier_scores.fid")]
        results.append(("dcgan_digits", row["label"], "classifier FD within 10% of fp32 (3 seeds)",
                        f32, f16, abs(f16 - f32) <= 0.1 * f32))
    for row in tables["dirac_gan"]:
        if "R1" in row["label"]:
            v = row["values"]
            n32, n16 = v[("fp32", "parameter_trace.norm")], v[("bf16", "parameter_trace.norm")]
            results.append(("dirac_gan", row["label"], "‖(θ, ψ)‖ ≤ 0.01 after 500 steps", n32, n16, n16 <= 0.01))
    for row in tables["fgan_mixture"]:
        key = "fd.exact_" + FGAN_KEYS[row["label"]]
        v = row["values"]
        d32, d16 = v[("fp32", key)], v[("bf16", key)]
        results.append(("fgan_mixture", row["label"], f"exact {key[9:]} of the learned Q within 2% of fp32",
                        d32, d16, abs(d16 - d32) <= 0.02 * abs(d32)))

    print(f"{'experiment':13} {'row':28} {'fp32':>10} {'bf16':>10}  criterion")
    for exp, row, crit, a, b, ok in results:
        print(f"{exp:13} {row:28} {a:10.4g} {b:10.4g}  {crit}: {'holds' if ok else 'MISSES'}")
    held = sum(r[5] for r in results)
    print(f"{held} of {len(results)} criteria hold")


main()
