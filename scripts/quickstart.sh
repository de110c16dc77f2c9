#!/usr/bin/env bash
# Sets up (packages + build) and runs the quickstart experiment, printing its table.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/setup.sh"
cd "$here"
exec "${KANT_BUILD_DIR:-$here/build}/kant" run experiments/quickstart.yaml "$@"
