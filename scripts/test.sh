#!/usr/bin/env bash
# Sets up (packages + build) and runs the whole test suite with ctest.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/setup.sh"
ctest --test-dir "${KANT_BUILD_DIR:-$here/build}" --output-on-failure -j "$(nproc)" "$@"
