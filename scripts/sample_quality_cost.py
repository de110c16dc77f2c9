#!/usr/bin/python3
"""Measures what sample_quality costs per evaluation beside a training step, with the real
machinery: one cell of an experiment (default: fashion_dcgan's NS-GAN seed 0 at its quick
profile) trained three times for STEPS steps in a scratch folder —
  A  without metrics                                   → seconds per training step
  B  sample_quality at the end only (every: 0)
  C  sample_quality every STEPS/4 steps as well (5 evaluations + the final one)
and the cost of one evaluation is (wall C − wall B) / (extra evaluations of C), so the one-time
costs (data set, feature network, training images' features) cancel. Walls are the cells' own
wall_time_s. The feature network must be cached already (run the experiment once) or B pays
its training, which also cancels.

usage: sample_quality_cost.py [--kant build/kant] [--experiment experiments/fashion_dcgan.yaml]
                              [--profile quick] [--method NS-GAN] [--steps 200] [--samples 10000]
                              [--threads 1] [--out DIR]
"""
import argparse
import glob
import pathlib
import subprocess
import sys
import tempfile

import h5py


def run_cell(args, folder, metrics):
    cmd = [args.kant, "run", args.experiment, "--profile", args.profile, "--results", folder,
           "--jobs", "1", "--threads", str(args.threads), "--quiet",
           "--set", f"train.steps={args.steps}", "--set", "seeds=[0]",
           "--set", "train.sample_every=0", "--set", f"metrics={metrics}",
           "--sweep", f"method={args.method}"]
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
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="kant_sq_cost_"))
    every = max(1, args.steps // 4)
    metric = f"{{plugin: sample_quality, samples: {args.samples}"
    wall_a, _, _ = run_cell(args, str(out / "a"), "[]")
    wall_b, n_b, _ = run_cell(args, str(out / "b"), f"[{metric}, every: 0}}]")
    wall_c, n_c, _ = run_cell(args, str(out / "c"), f"[{metric}, every: {every}}}]")
    per_eval = (wall_c - wall_b) / (n_c - n_b)
    print(f"{args.method}, {args.steps} steps, {args.threads} thread(s), {args.samples} samples:")
    print(f"  training step        {wall_a / args.steps:8.3f} s  (wall {wall_a:.1f} s without metrics)")
    print(f"  one evaluation       {per_eval:8.2f} s  ({n_c} − {n_b} evaluations: "
          f"{wall_c:.1f} s − {wall_b:.1f} s)")
    print(f"  one-time set-up      {wall_b - wall_a - per_eval:8.2f} s  (data, feature network, "
          "training images' features)")
    print(f"  an evaluation costs {per_eval / (wall_a / args.steps):.0f} training steps")


if __name__ == "__main__":
    main()
