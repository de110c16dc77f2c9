#!/usr/bin/env bash
# Idempotent set-up: installs the Debian packages Kantorovich needs, then configures and builds.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${KANT_BUILD_DIR:-$here/build}

packages=(
  build-essential cmake git pkg-config clang-format-14
  libdnnl-dev libboost-dev libyaml-cpp-dev libhdf5-dev libfmt-dev libcli11-dev catch2 zlib1g-dev liblemon-dev
  python3 python3-h5py python3-numpy python3-yaml python3-sklearn python3-mpmath python3-pandas python3-matplotlib
  dataset-fashion-mnist                      # Zalando's Fashion-MNIST (IDX files), the fashion_mnist data set
  chromium chromium-driver tmux               # the report test in a browser; kant watch as a person sees it (tests/test_live.cpp)
  libopenmpi-dev openmpi-bin                 # MPI: mpirun -n N kant run (optional at build time)
  slurmctld slurmd slurm-client munge        # a one-node SLURM cluster for the tests (scripts/slurm_cluster.sh)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE="${KANT_BUILD_TYPE:-Release}" ${KANT_CMAKE_ARGS:-} >&2
cmake --build "$build_dir" -j "$(nproc)" >&2
