// The CPU backend the ops run on, for provenance and the runner: oneDNN's version, the
// instruction set it dispatches to, the number of threads its kernels use, and the precision
// of its products.
#pragma once
#include <string>

namespace kant::backend {

/// "2.6.3".
std::string version();
/// The instruction set oneDNN dispatches to on this machine (e.g. "avx2", "avx512_core").
std::string isa();
/// Threads every following kernel uses (OpenMP).
void set_threads(int threads);

/// Whether this CPU multiplies bf16 natively (oneDNN dispatches avx512_core_bf16 or AMX).
bool native_bf16();

/// While it lives, every product on this thread — matmul and convolution, forward, backward,
/// and the products of second-order gradients — takes bf16 operands (rounded to nearest even)
/// and accumulates and returns fp32, when `bf16`; sums, element-wise ops, normalisation
/// statistics and everything the caller keeps (weights, optimiser state, losses) stay fp32.
class Bf16Products {
 public:
  explicit Bf16Products(bool bf16);
  ~Bf16Products();
  Bf16Products(const Bf16Products&) = delete;
  Bf16Products& operator=(const Bf16Products&) = delete;

 private:
  bool before_;
};

}  // namespace kant::backend
