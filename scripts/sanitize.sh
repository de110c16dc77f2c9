#!/usr/bin/env bash
# Address and undefined-behaviour sanitizer build in its own build folder (build-asan), then
# the whole ctest suite and the seeded fuzz corpus against it. Any sanitizer report fails.
#   KANT_SANITIZE_BUILD_DIR  build folder (default: build-asan)
#   KANT_FUZZ_MUTATIONS      mutations of the fuzz corpus (default: 200, seed 1)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${KANT_SANITIZE_BUILD_DIR:-$here/build-asan}

KANT_BUILD_DIR=$build_dir KANT_CMAKE_ARGS="-DKANT_SANITIZE=ON ${KANT_CMAKE_ARGS:-}" bash "$here/scripts/setup.sh"

# halt on the first report, in every process the tests start (kant, its cells, the plugins);
# allocator_may_return_null: a huge allocation is a bad_alloc (which the fuzzer counts), not
# an abort
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:allocator_may_return_null=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# what Open MPI keeps after MPI_Finalize is its own (the file names only its libraries)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/scripts/lsan_openmpi.supp}

status=0
start=$(date +%s)
ctest --test-dir "$build_dir" -j 2 --output-on-failure --timeout 1800 -E '^mpi: ' || status=1
# the MPI check with the slow unwinder: Open MPI is built without frame pointers, so the fast
# one stops inside it and its leaks would show no frame the suppressions can name
ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0 \
  ctest --test-dir "$build_dir" --output-on-failure --timeout 1800 -R '^mpi: ' || status=1
echo "sanitize: ctest finished in $(( $(date +%s) - start )) s" >&2
# ASan reserves terabytes of address space: no RLIMIT_AS; the build is 3–10x slower (the largest
# grid the limits admit, 10,000 cells, validates in ~3 s normally): 60 s time-out
python3 "$here/scripts/fuzz.py" --kant "$build_dir/kant" --mutations "${KANT_FUZZ_MUTATIONS:-200}" --seed 1 \
  --memory-mb 0 --timeout 60 --jobs 2 || status=1
exit $status
