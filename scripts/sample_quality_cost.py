#!/usr/bin/python3
"""Measures what sample_quality costs per evaluation beside a training step, with the real
machinery: one cell of an experiment (default: fashion_dcgan's NS-GAN seed 0 at its quick
profile) trained three times in a scratch folder —
  B   STEPS steps, sample_quality at the end only (every: 0)
  B2  2·STEPS steps, likewise                   → a training step: (wall B2 − wall B)/STEPS
  C   STEPS steps, sample_quality every STEPS/4 steps too (4 evaluations more than B)
                                                → an evaluation: (wall C − wall B)/4
so the one-time costs (start, data set, feature network, training images' features) cancel.
Walls are the cells' own wall_time_s. Cache the feature network first (run the experiment
once). On a loaded machine the walls carry its noise: repeat, or read them as rough.

usage: sample_quality_cost.py [--kant build/kant] [--experiment experiments/fashion_dcgan.yaml]
                              [--profile quick] [--method NS-GAN] [--steps 100] [--samples 10000]
                              [--threads 1] [--out DIR]
"""
import argparse
import glob
import pathlib
import subprocess
import sys
import tempfile

import h5py


def run_cell(args, folder, metrics, steps):
    sets = ["--profile", args.profile, "--set", f"train.steps={steps}", "--set", "seeds=[0]",
            "--set", "train.sample_every=0", "--set", f"metrics={metrics}"]
    listing = subprocess.run([args.kant, "validate", args.experiment] + sets, check=True,
                             capture_output=True, text=True).stdout
    ids = [line.split()[1] for line in listing.splitlines()
           if f"method={args.method} " in line + " "]
    if len(ids) != 1:
        sys.exit(f"no single cell method={args.method} in:\n{listing}")
    cmd = [args.kant, "run", args.experiment] + sets + [
        "--results", folder, "--jobs", "1", "--threads", str(args.threads), "--quiet",
        "--cells", ids[0]]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    files = glob.glob(f"{folder}/*/cells/*.h5")
    if len(files) != 1:
        sys.exit(f"expected one cell file in {folder}, found {len(files)}")
    with h5py.File(files[0], "r") as f:
        wall = float(f.attrs["wall_time_s"])
        steps = len(f["metrics/sample_quality/step"]) if "metrics/sample_quality" in f else 0
        final = {k: float(v) for k, v in f["final"].attrs.items()} if "final" in f else {}
    return wall, steps, final


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kant", default="build/kant")
    p.add_argument("--experiment", default="experiments/fashion_dcgan.yaml")
    p.add_argument("--profile", default="quick")
    p.add_argument("--method", default="NS-GAN")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="kant_sq_cost_"))
    every = max(1, args.steps // 4)
    metric = f"{{plugin: sample_quality, samples: {args.samples}"
    wall_b, n_b, _ = run_cell(args, str(out / "b"), f"[{metric}, every: 0}}]", args.steps)
    wall_b2, _, _ = run_cell(args, str(out / "b2"), f"[{metric}, every: 0}}]", 2 * args.steps)
    wall_c, n_c, _ = run_cell(args, str(out / "c"), f"[{metric}, every: {every}}}]", args.steps)
    step = (wall_b2 - wall_b) / args.steps
    per_eval = (wall_c - wall_b) / (n_c - n_b)
    print(f"{args.method}, {args.threads} thread(s), {args.samples} samples per evaluation:")
    print(f"  training step   {step:8.3f} s  ((wall {wall_b2:.1f} s − {wall_b:.1f} s)/{args.steps})")
    print(f"  one evaluation  {per_eval:8.2f} s  ((wall {wall_c:.1f} s − {wall_b:.1f} s)/"
          f"{n_c - n_b})")
    print(f"  one-time set-up {wall_b - args.steps * step - per_eval:8.2f} s  (start, data, feature "
          "network, training images' features)")
    print(f"  an evaluation costs {per_eval / step:.0f} training steps")

if __name__ == "__main__":
    main()
