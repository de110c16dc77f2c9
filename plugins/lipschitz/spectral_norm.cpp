// Lipschitz method `spectral_norm` (Miyato et al. 2018): every critic weight W (name ending in
// "weight", rank ≥ 2; conv kernels viewed as out × (in·kh·kw)) is used as W/σ(W), with σ
// estimated by power iteration on a persistent vector u:
//   v ← Wᵀu/‖Wᵀu‖,  u ← Wv/‖Wv‖   (n times per forward, no gradient through u, v)
//   σ = uᵀ W v                      (differentiable in W)
// Bound (1-Lipschitz activations): Π_layers σ(W/σ̂) — 1 once the iteration has converged.
#include <cmath>
#include <map>

#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

bool is_weight(const std::string& name, const Tensor& w) {
  return w.dim() >= 2 && name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
}

// x / (‖x‖ + eps), no graph.
Tensor normalized(const Tensor& x, float eps) { return div(x, kant::sqrt(sum(square(x))) + eps); }

class SpectralNorm : public LipschitzMethod {
 public:
  struct Options {
    int64_t n_power_iterations;
    float eps;
    uint64_t seed;
    static void declare(Declare<Options>& d) {
      d(&Options::n_power_iterations,
        param::integer("n_power_iterations", 1, "power iterations per forward pass").at_least(1));
      d(&Options::eps,
        param::real("eps", 1e-12, "added to norms in the power iteration").at_least(0));
      d(&Options::seed, param::integer("seed", 0, "seed of the initial u vectors").at_least(0));
    }
  };
  explicit SpectralNorm(const Options& o)
      : iterations_(o.n_power_iterations), eps_(o.eps), rng_(o.seed) {}

  bool transforms_weights() const override { return true; }

  Tensor transform_weight(const std::string& name, const Tensor& w) override {
    if (!is_weight(name, w)) return w;
    const int64_t rows = w.size(0), cols = w.numel() / rows;
    Tensor w2 = reshape(w, {rows, cols});
    Tensor& u = state(name, rows);
    Tensor v;
    {
      NoGradGuard no_grad;  // u and v are constants of the forward pass
      Tensor wd = w2.detach();
      v = power_iteration(wd, u, iterations_);
    }
    Tensor sigma = sum(mul(matmul(u, w2), v));  // uᵀ W v, differentiable in W
    return div(w, sigma);
  }

  std::optional<double> lipschitz_bound(const Network& critic) override {
    NoGradGuard no_grad;
    double bound = 1;
    for (const auto& [name, w] : critic.named_parameters()) {
      if (!is_weight(name, w)) continue;
      const int64_t rows = w.size(0);
      Tensor w2 = reshape(w.detach(), {rows, w.numel() / rows});
      Tensor u = state(name, rows).clone();
      // the current estimate, and a converged one from the same start
      const double sigma_hat = sum(mul(matmul(u, w2), power_iteration(w2, u, 0))).item();
      Tensor v = power_iteration(w2, u, 100);
      bound *= sum(mul(matmul(u, w2), v)).item() / sigma_hat;
    }
    return bound;
  }

  // the power iteration's vectors u and the stream that starts new ones
  ComponentState state() const override {
    ComponentState s;
    for (const auto& [name, u] : u_) s.tensors["u." + name] = u.clone();
    s.words["rng"] = rng_.state();
    return s;
  }
  void load_state(const ComponentState& s) override {
    u_.clear();
    for (const auto& [key, u] : s.tensors)
      if (key.rfind("u.", 0) == 0) u_.insert_or_assign(key.substr(2), u.clone());
    if (auto it = s.words.find("rng"); it != s.words.end()) rng_.set_state(it->second);
  }

 private:
  Tensor& state(const std::string& name, int64_t rows) {
    auto it = u_.find(name);
    if (it == u_.end() || it->second.size(1) != rows) {
      NoGradGuard no_grad;
      it = u_.insert_or_assign(name, normalized(rng_.normal_tensor({1, rows}), eps_)).first;
    }
    return it->second;
  }

  // n steps of v ← Wᵀu/‖·‖, u ← Wv/‖·‖ on W [rows, cols] (as torch.nn.utils.spectral_norm),
  // updating u [1, rows] in place; returns v [1, cols]. With n = 0, v is computed from u once.
  Tensor power_iteration(const Tensor& w, Tensor& u, int64_t n) const {
    Tensor v;
    for (int64_t k = 0; k < n; ++k) {
      v = normalized(matmul(u, w), eps_);               // (Wᵀu)ᵀ = uᵀW
      u = normalized(matmul(v, w, false, true), eps_);  // (Wv)ᵀ = vᵀWᵀ
    }
    if (n == 0) v = normalized(matmul(u, w), eps_);
    return v;
  }

  int64_t iterations_;
  float eps_;
  Rng rng_;
  std::map<std::string, Tensor> u_;
};

}  // namespace

KANT_COMPONENT(SpectralNorm, "spectral_norm", "1.0.0",
               "spectral normalisation W/σ(W), σ by power iteration on a persistent u, no gradient "
               "through u, v (Miyato et al. 2018)")
