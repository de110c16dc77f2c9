// Power-iteration estimates of σ(W) with persistent vectors (see spectral_estimates.hpp).
#include "kant/spectral_estimates.hpp"

#include "kant/autodiff.hpp"
#include "kant/ops.hpp"

namespace kant {
namespace {
// x / (‖x‖ + eps), no graph.
Tensor normalized(const Tensor& x, float eps) { return div(x, kant::sqrt(sum(square(x))) + eps); }
}  // namespace

bool is_weight_matrix(const std::string& name, const Tensor& w) {
  return w.dim() >= 2 && name.ends_with("weight");
}

Tensor as_matrix(const Tensor& w) { return reshape(w, {w.size(0), w.numel() / w.size(0)}); }

SpectralEstimates::SpectralEstimates(int64_t iterations, float eps, uint64_t seed)
    : iterations_(iterations), eps_(eps), rng_(seed) {}

Tensor SpectralEstimates::sigma(const std::string& name, const Tensor& w) {
  Tensor& u = u_of(name, w.size(0));
  Tensor v;
  {
    NoGradGuard no_grad;  // u and v are constants of the forward pass
    Tensor wd = w.detach();
    v = power_iteration(wd, u, iterations_);
  }
  return sum(mul(matmul(u, w), v));  // uᵀ W v, differentiable in W
}

double SpectralEstimates::converged_ratio(const std::string& name, const Tensor& w) {
  NoGradGuard no_grad;
  Tensor u = u_of(name, w.size(0)).clone();
  // the current estimate, and a converged one from the same start
  const double sigma_hat = sum(mul(matmul(u, w), power_iteration(w, u, 0))).item();
  Tensor v = power_iteration(w, u, 100);
  return sum(mul(matmul(u, w), v)).item() / sigma_hat;
}

ComponentState SpectralEstimates::state() const {
  ComponentState s;
  for (const auto& [name, u] : u_) s.tensors["u." + name] = u.clone();
  s.words["rng"] = rng_.state();
  return s;
}

void SpectralEstimates::load_state(const ComponentState& s) {
  u_.clear();
  for (const auto& [key, u] : s.tensors)
    if (key.rfind("u.", 0) == 0) u_.insert_or_assign(key.substr(2), u.clone());
  if (auto it = s.words.find("rng"); it != s.words.end()) rng_.set_state(it->second);
}

Tensor& SpectralEstimates::u_of(const std::string& name, int64_t rows) {
  auto it = u_.find(name);
  if (it == u_.end() || it->second.size(1) != rows) {
    NoGradGuard no_grad;
    it = u_.insert_or_assign(name, normalized(rng_.normal_tensor({1, rows}), eps_)).first;
  }
  return it->second;
}

// n steps of v ← Wᵀu/‖·‖, u ← Wv/‖·‖ on W [rows, cols], updating u [1, rows] in place; returns
// v [1, cols]. With n = 0, v is computed from u once.
Tensor SpectralEstimates::power_iteration(const Tensor& w, Tensor& u, int64_t n) const {
  Tensor v;
  for (int64_t k = 0; k < n; ++k) {
    v = normalized(matmul(u, w), eps_);               // (Wᵀu)ᵀ = uᵀW
    u = normalized(matmul(v, w, false, true), eps_);  // (Wv)ᵀ = vᵀWᵀ
  }
  if (n == 0) v = normalized(matmul(u, w), eps_);
  return v;
}

}  // namespace kant
