#!/usr/bin/env bash
# The step time with and without live series (docs/live.md): one quickstart cell (WGAN-GP,
# seed 0, samples every 100 steps) trained ROUNDS times each way, interleaved (off, on, off,
# on, …) so that a busy machine slows both alike; prints each run's seconds per generator step
# (the cell's wall_time_s over its steps) and the ratio of the medians.
# Usage: bash bench/live_overhead.sh [ROUNDS] [STEPS]   (from the repository root, after a build)
set -euo pipefail
rounds=${1:-5}
steps=${2:-3000}
kant=${KANT:-build/kant}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cell=$("$kant" validate experiments/quickstart.yaml --set train.sample_every=100 --set train.steps="$steps" |
       awk '/method=WGAN-GP seed=0/{print $2}')
for r in $(seq 1 "$rounds"); do
  for every in 0 2; do
    rm -rf "$work/results"
    "$kant" run experiments/quickstart.yaml --set train.sample_every=100 --set train.steps="$steps" \
      --cells "$cell" --results "$work/results" --jobs 1 --threads 1 --live-every "$every" \
      --quiet > /dev/null 2>&1 || true
    wall=$(/usr/bin/python3 -c "import h5py,glob; f=h5py.File(glob.glob('$work/results/quickstart/cells/*.h5')[0],'r'); print(f.attrs['wall_time_s'])")
    echo "round $r live_every $every wall_time_s $wall ms_per_step $(/usr/bin/python3 -c "print(f'{1000*$wall/$steps:.3f}')")"
  done
done | tee "$work/log"
/usr/bin/python3 - "$work/log" <<'PY'
import statistics, sys
off, on = [], []
for line in open(sys.argv[1]):
    f = line.split()
    (on if f[3] != "0" else off).append(float(f[7]))
pairs = [b / a for a, b in zip(off, on)]
print(f"median ms/step: without {statistics.median(off):.3f}, with {statistics.median(on):.3f}, "
      f"ratio {statistics.median(on) / statistics.median(off):.4f}; per round ratios "
      + " ".join(f"{p:.3f}" for p in pairs))
PY
