#!/usr/bin/env bash
# Screenshot of a report's image grids with headless Chromium (as tests/test_report.cpp renders
# the page): the generated samples, a LAPGAN's pyramid levels, a conditional generator's
# samples by class, a super-resolution generator's inputs, outputs and true images, a translating
# cell's rows x, G(x), F(G(x)), the samples over time and the closest training images that
# `kant report` drew under RESULTS/NAME/report/, gathered on one page (grids.html beside them).
# usage: scripts/screenshot_grids.sh RESULTS/NAME OUT.png [WIDTH HEIGHT [KINDS]]
# KINDS (the 5th argument or the environment, comma- or space-separated) keeps only those kinds
# (default: all seven); IMAGE_WIDTH=330 sets each grid's width in px (default 440), e.g. four
# grids a line for a table of rows × methods.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 RESULTS/NAME OUT.png [WIDTH HEIGHT [KINDS]]" >&2
  exit 2
fi
report=$(cd "$1/report" && pwd)
out=$(realpath -m "$2")
width=${3:-1400}
height=${4:-2000}
kinds=${5:-${KINDS:-samples,pyramid,class_grid,super_resolution,translation,closest,over_time}}
page="$report/grids.html"
{
  echo '<!doctype html><html><head><meta charset="utf-8"><style>'
  echo 'body{font-family:sans-serif;margin:12px} h2{font-size:16px;margin:10px 0 4px}'
  echo ".row{display:flex;flex-wrap:wrap;gap:8px} .row img{width:${IMAGE_WIDTH:-440}px}"
  echo '.wide img{width:1360px}</style></head><body>'
  echo "<h1 style=\"font-size:18px\">$(basename "$1"): image grids of kant report</h1>"
  for kind in ${kinds//,/ }; do
    shopt -s nullglob
    files=("$report/${kind}"_*.svg)
    shopt -u nullglob
    [ ${#files[@]} -eq 0 ] && continue
    case $kind in
      samples) echo '<h2>generated samples at the end (first seed of each row)</h2><div class="row">' ;;
      pyramid) echo '<h2>LAPGAN pyramid levels: one row per level, coarse to fine, the same samples in each column</h2><div class="row">' ;;
      class_grid) echo '<h2>samples by class: one row per requested label (first seed of each row)</h2><div class="row">' ;;
      super_resolution) echo '<h2>super-resolution: low-resolution input (pixels repeated), output, true image (first seed of each row)</h2><div class="row">' ;;
      translation) echo '<h2>translations: rows a, G(a), F(G(a)), b, F(b), G(F(b)) (first seed of each row)</h2><div class="row">' ;;
      closest) echo '<h2>memorisation: generated images closest to a training image (top), that image (bottom)</h2><div class="row">' ;;
      over_time) echo '<h2>samples over time</h2><div class="wide">' ;;
    esac
    for f in "${files[@]}"; do echo "<img src=\"$(basename "$f")\">"; done
    echo '</div>'
  done
  echo '</body></html>'
} > "$page"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --virtual-time-budget=10000 --user-data-dir="$profile" --hide-scrollbars \
  --window-size="$width,$height" --screenshot="$out" "file://$page" 2>/dev/null
echo "$out"
