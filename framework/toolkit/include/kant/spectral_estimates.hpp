// σ(W), the largest singular value of each named weight matrix, estimated by power iteration
// on a persistent vector u per matrix (Miyato et al. 2018, as torch.nn.utils.spectral_norm):
//   v ← Wᵀu/‖Wᵀu‖,  u ← Wv/‖Wv‖   (n times per call, no gradient through u, v)
//   σ = uᵀ W v                      (differentiable in W)
// For spectral normalisation and anything else that divides by σ(W).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "kant/components.hpp"

namespace kant {

/// Whether a parameter is a weight σ applies to: a name ending in "weight", rank ≥ 2.
bool is_weight_matrix(const std::string& name, const Tensor& w);
/// w viewed as rows × (the rest): conv kernels as out × (in·kh·kw).
Tensor as_matrix(const Tensor& w);

class SpectralEstimates {
 public:
  /// `iterations` power steps per sigma(); `eps` is added to norms; `seed` starts the u vectors.
  SpectralEstimates(int64_t iterations, float eps, uint64_t seed);
  /// σ = uᵀ W v of the matrix `name` [rows, cols], differentiable in W, after advancing its u.
  Tensor sigma(const std::string& name, const Tensor& w);
  /// σ after 100 more steps from the current u, divided by the current σ̂, without a graph
  /// and leaving u as it is: 1 once the iteration has converged.
  double converged_ratio(const std::string& name, const Tensor& w);
  /// The vectors u and the stream that starts new ones, for checkpoints.
  ComponentState state() const;
  void load_state(const ComponentState& s);

 private:
  Tensor& u_of(const std::string& name, int64_t rows);
  Tensor power_iteration(const Tensor& w, Tensor& u, int64_t n) const;

  int64_t iterations_;
  float eps_;
  Rng rng_;
  std::map<std::string, Tensor> u_;
};

}  // namespace kant
