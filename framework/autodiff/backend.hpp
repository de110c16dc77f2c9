// The CPU backend the ops run on, for provenance and the runner: oneDNN's version, the
// instruction set it dispatches to, and the number of threads its kernels use.
#pragma once
#include <string>

namespace kant::backend {

/// "2.6.3".
std::string version();
/// The instruction set oneDNN dispatches to on this machine (e.g. "avx2", "avx512_core").
std::string isa();
/// Threads every following kernel uses (OpenMP).
void set_threads(int threads);

}  // namespace kant::backend
