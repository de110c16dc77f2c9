#!/usr/bin/env bash
# Grid throughput (docs/performance.md): cells per hour of the quickstart grid (6 cells, at
# STEPS generator steps) and of 16 tiny cells (bench/tiny16.yaml: 16-unit MLPs, 500 steps) with `--jobs 1 --threads 2` against `--jobs 2 --threads 1` (kant run's default on 2
# cores), interleaved over ROUNDS rounds so that a busy machine slows both alike; whole runs
# from an empty results folder (start-up, metrics, storage and the report included).
# Usage: bash bench/grid_throughput.sh [ROUNDS] [STEPS]   (from the repository root, after a build)
set -euo pipefail
rounds=${1:-2}
steps=${2:-1000}
kant=${KANT:-build/kant}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() {  # grid jobs threads extra… → seconds
  local grid=$1 jobs=$2 threads=$3
  shift 3
  rm -rf "$work/results"
  local t0 t1
  t0=$(date +%s.%N)
  "$kant" run "$grid" --results "$work/results" --jobs "$jobs" --threads "$threads" --quiet "$@" > /dev/null
  t1=$(date +%s.%N)
  /usr/bin/python3 -c "print(f'{$t1 - $t0:.2f}')"
}
for r in $(seq 1 "$rounds"); do
  for setting in "1 2" "2 1"; do
    set -- $setting
    q=$(run experiments/quickstart.yaml "$1" "$2" --set train.steps="$steps")
    t=$(run bench/tiny16.yaml "$1" "$2")
    echo "round $r jobs $1 threads $2 quickstart_s $q tiny16_s $t load $(cut -d' ' -f1 /proc/loadavg)"
  done
done | tee "$work/log"
/usr/bin/python3 - "$work/log" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for jobs, threads in (("1", "2"), ("2", "1")):
    sel = [r for r in rows if r[3] == jobs and r[5] == threads]
    q = statistics.median(float(r[7]) for r in sel)
    t = statistics.median(float(r[9]) for r in sel)
    print(f"--jobs {jobs} --threads {threads}: quickstart {q:.1f} s ({6 * 3600 / q:.0f} cells/h), "
          f"16 tiny cells {t:.1f} s ({16 * 3600 / t:.0f} cells/h)")
PY
