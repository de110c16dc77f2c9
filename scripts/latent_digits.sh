#!/usr/bin/env bash
# Plain vs unrolled GAN on the digits judged by inversion (experiments/latent_digits.yaml):
# trains the grid (profile quick unless given: bash scripts/latent_digits.sh full), inverts every
# finished cell's generator on the same 200 training images, and prints the table.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kant=${KANT:-$here/build/kant}
results=${KANT_RESULTS:-$here/results}
profile=${1:-quick}
"$kant" run "$here/experiments/latent_digits.yaml" --profile "$profile" --results "$results" --quiet
for cell in "$results"/latent_digits/cells/*.h5; do
  "$kant" latent invert "$cell" --count 200 --iterations 300 --seed 0
done
"$kant" report "$results/latent_digits" --set 'report.values=[classifier_scores.fid, classifier_scores.classes, latent_invert.mse_mean, latent_invert.mse_median, latent_invert.mse_p90]'
