#!/usr/bin/env bash
# Sets up (our build + the PyTorch peer's Debian packages) and runs the side-by-side benchmark.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/setup.sh"
peer_packages=(python3-torch python3-numpy libopenblas0-openmp libgoogle-perftools4)
missing=()
for p in "${peer_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
exec /usr/bin/python3 "$here/bench/side_by_side.py" --kant "${KANT_BUILD_DIR:-$here/build}/kant_bench" "$@"
