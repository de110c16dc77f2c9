#!/usr/bin/env bash
# The same experiments in fp32 and bf16 (train.precision swept), and the comparison the bf16
# path is held to (docs/performance.md, "bf16"): the quickstart's WGAN-GP still finds all 8 modes;
# dcgan_digits' classifier Fréchet distance within 10% of fp32's (mean of 3 seeds); Dirac-GAN's
# R1 cells still converge (‖(θ, ψ)‖ ≤ 0.01); the f-GAN quick profile's exact divergences of the
# learned Gaussian within 2% of fp32's. Needs a CPU with avx512_bf16 or amx_bf16.
#   bash scripts/precision_quality.sh [RESULTS_DIR]     (about 40 min on 2 cores)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$here/results/precision}
kant=${KANT:-$here/build/kant}
cd "$here"
sweep=(--sweep train.precision=fp32,bf16)
run() { "$kant" run "$@" "${sweep[@]}" --results "$out" --quiet > /dev/null; }
table() { "$kant" report "$@" "${sweep[@]}" --results "$out" --format csv; }
run experiments/quickstart.yaml
run experiments/dcgan_digits.yaml --set 'seeds=[0,1,2]'
run experiments/dirac_gan.yaml
run experiments/papers/fgan_mixture.yaml --profile quick
{
  echo "== quickstart"
  table experiments/quickstart.yaml --set report.columns=train.precision
  echo "== dcgan_digits"
  table experiments/dcgan_digits.yaml --set 'seeds=[0,1,2]' --set report.columns=train.precision \
    --set 'report.values=[classifier_scores.fid]'
  echo "== dirac_gan"
  table experiments/dirac_gan.yaml --set report.columns=train.precision \
    --set 'report.values=[parameter_trace.norm]'
  echo "== fgan_mixture"
  table experiments/papers/fgan_mixture.yaml --profile quick --set report.columns=train.precision \
    --set 'report.values=[fd.mu, fd.sigma, fd.exact_kl, fd.exact_reverse_kl, fd.exact_jensen_shannon, fd.exact_jeffrey, fd.exact_pearson]'
} > "$out/tables.csv"
/usr/bin/python3 "$here/scripts/precision_quality.py" "$out/tables.csv"
