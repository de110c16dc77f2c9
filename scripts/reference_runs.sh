#!/usr/bin/env bash
# Runs the shipped experiments and test grids into RESULTS_DIR at fixed jobs and threads, so
# that a refactor can be checked bit for bit: run before and after, then
# scripts/compare_results.py BEFORE AFTER.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: reference_runs.sh RESULTS_DIR}
kant=${KANT:-$here/build/kant}
cd "$here"
run() { "$kant" run "$@" --jobs 2 --threads 1 --results "$out" --quiet > /dev/null; }
run experiments/quickstart.yaml
run experiments/dirac_gan.yaml
run experiments/dcgan_digits.yaml --set train.steps=60
run experiments/zoo.yaml --set train.steps=20
for f in tests/data/tiny.yaml tests/data/tiny_dcgan.yaml tests/data/zip.yaml \
         tests/data/dirac_alternating.yaml tests/data/dirac_one_step.yaml \
         tests/data/diverging.yaml tests/data/reported.yaml; do
  run "$f"
done
echo "reference runs in $out: $(find "$out" -name '*.h5' | wc -l) cell files"
