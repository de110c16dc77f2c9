#!/usr/bin/env bash
# The paper suite: runs every reproduction (experiments/papers/*.yaml and the Dirac-GAN) under one
# profile, writes each report, and prints a summary: paper, k of n published numbers within the
# experiment's tolerance, cells, wall time. `--only theory` runs the course's claims instead
# (experiments/theory/*.yaml, docs/theory.md) except the architecture study, its own command
# `--only architectures` (56 Fashion-MNIST cells); `--only NAME` one experiment of either set. Usage:
#   scripts/reproduce.sh [--profile quick|full] [--results DIR] [--only NAME|theory] [kant run options…]
# Defaults: --profile quick, --results results/papers-<profile> (theory-<profile> for the claims
# and for any one of them). Reruns skip finished cells.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kant=${KANT:-$here/build/kant}
profile=quick
results=
only=
extra=()
while (($#)); do
  case $1 in
    --profile) profile=${2:?--profile needs a name}; shift 2 ;;
    --results) results=${2:?--results needs a folder}; shift 2 ;;
    --only) only=${2:?--only needs an experiment name}; shift 2 ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) extra+=("$1"); shift ;;
  esac
done
suite=papers
[[ $only == theory ]] && { suite=theory; only=; }
folder=$suite  # one theory experiment's results go beside the other claims
[[ -n $only && -f $here/experiments/theory/$only.yaml ]] && folder=theory
results=${results:-$here/results/$folder-$profile}
[[ -x $kant ]] || { echo "reproduce.sh: no kant at $kant (build first: bash scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$results"

if [[ $suite == theory ]]; then
  # claim 9 (architectures) takes its own budget: bash scripts/reproduce.sh --only architectures
  experiments=()
  for yaml in "$here"/experiments/theory/*.yaml; do
    [[ $(basename "$yaml") == architectures.yaml ]] || experiments+=("$yaml")
  done
elif [[ -n $only ]]; then
  experiments=("$here"/experiments/papers/*.yaml "$here/experiments/dirac_gan.yaml" "$here"/experiments/theory/*.yaml)
else
  experiments=("$here"/experiments/papers/*.yaml "$here/experiments/dirac_gan.yaml")
fi
summary=()
start_all=$SECONDS
for yaml in "${experiments[@]}"; do
  name=$(basename "$yaml" .yaml)
  [[ -n $only && $only != "$name" ]] && continue
  # dirac_gan has no profiles: it runs whole under every profile
  prof=(--profile "$profile")
  grep -q '^profiles:' "$yaml" || prof=()
  echo "== $name (${prof[*]:-no profiles})"
  t0=$SECONDS
  status=ok
  "$kant" run "$yaml" "${prof[@]}" --results "$results" "${extra[@]}" || status="run exit $?"
  wall=$((SECONDS - t0))
  line=$("$kant" report "$yaml" "${prof[@]}" --results "$results" 2>&1 | tee "$results/$name.report.txt" |
         grep -E 'published numbers reproduced' | head -1 || true)
  k_of_n=$(sed -nE 's/^([0-9]+ of [0-9]+) published.*/\1/p' <<< "$line")
  summary+=("$(printf '%-18s %-12s %-9s %s' "$name" "${k_of_n:-no numbers}" "$(printf '%dm%02ds' $((wall / 60)) $((wall % 60)))" "$status")")
done
echo
echo "$([[ $suite == theory ]] && echo "course claims" || echo "paper suite"), profile $profile, results in $results"
printf '%-18s %-12s %-9s %s\n' paper "k of n" wall status
printf '%s\n' "${summary[@]}"
total=$((SECONDS - start_all))
printf 'total wall time %dm%02ds\n' $((total / 60)) $((total % 60))
