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

void normalize(std::vector<double>& x, double eps) {
  double n = 0;
  for (double v : x) n += v * v;
  n = std::sqrt(n) + eps;
  for (double& v : x) v /= n;
}

class SpectralNorm : public LipschitzMethod {
 public:
  explicit SpectralNorm(const Params& p)
      : iterations_(p.integer("n_power_iterations")), eps_(p.real("eps")), rng_(p.integer("seed")) {}

  bool transforms_weights() const override { return true; }

  Tensor transform_weight(const std::string& name, const Tensor& w) override {
    if (!is_weight(name, w)) return w;
    const int64_t rows = w.size(0), cols = w.numel() / rows;
    std::vector<double>& u = state(name, rows);
    std::vector<double> v(static_cast<size_t>(cols));
    power_iteration(w.data(), rows, cols, u, v, iterations_);
    Tensor u_t = Tensor::empty({1, rows}), v_t = Tensor::empty({1, cols});
    for (int64_t i = 0; i < rows; ++i) u_t.data()[i] = static_cast<float>(u[i]);
    for (int64_t j = 0; j < cols; ++j) v_t.data()[j] = static_cast<float>(v[j]);
    Tensor sigma = sum(mul(matmul(u_t, reshape(w, {rows, cols})), v_t));  // uᵀ W v
    return div(w, sigma);
  }

  std::optional<double> lipschitz_bound(const Network& critic) override {
    double bound = 1;
    for (const auto& [name, w] : critic.named_parameters()) {
      if (!is_weight(name, w)) continue;
      const int64_t rows = w.size(0), cols = w.numel() / rows;
      std::vector<double> u = state(name, rows), v(static_cast<size_t>(cols));
      // the current estimate, and a converged one from the same start
      double sigma_hat = power_iteration(w.data(), rows, cols, u, v, 0);
      double sigma = power_iteration(w.data(), rows, cols, u, v, 100);
      bound *= sigma / sigma_hat;
    }
    return bound;
  }

 private:
  std::vector<double>& state(const std::string& name, int64_t rows) {
    auto it = u_.find(name);
    if (it == u_.end() || static_cast<int64_t>(it->second.size()) != rows) {
      std::vector<double> u(static_cast<size_t>(rows));
      for (double& x : u) x = rng_.normal();
      normalize(u, eps_);
      it = u_.insert_or_assign(name, std::move(u)).first;
    }
    return it->second;
  }

  // n steps of v ← Wᵀu/‖·‖, u ← Wv/‖·‖ on W [rows, cols] (as torch.nn.utils.spectral_norm);
  // returns uᵀWv. With n = 0, v is computed from u once.
  double power_iteration(const float* w, int64_t rows, int64_t cols, std::vector<double>& u,
                         std::vector<double>& v, int64_t n) const {
    auto wt_u = [&] {
      std::fill(v.begin(), v.end(), 0.0);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) v[j] += w[i * cols + j] * u[i];
      normalize(v, eps_);
    };
    for (int64_t k = 0; k < n; ++k) {
      wt_u();
      for (int64_t i = 0; i < rows; ++i) {
        double s = 0;
        for (int64_t j = 0; j < cols; ++j) s += w[i * cols + j] * v[j];
        u[i] = s;
      }
      normalize(u, eps_);
    }
    if (n == 0) wt_u();
    double sigma = 0;
    for (int64_t i = 0; i < rows; ++i) {
      double s = 0;
      for (int64_t j = 0; j < cols; ++j) s += w[i * cols + j] * v[j];
      sigma += u[i] * s;
    }
    return sigma;
  }

  int64_t iterations_;
  double eps_;
  Rng rng_;
  std::map<std::string, std::vector<double>> u_;
};

}  // namespace

KANT_PLUGIN("spectral_norm", "1.0.0") {
  registrar.add(
      {"spectral_norm", "1.0.0",
       "spectral normalisation W/σ(W), σ by power iteration on a persistent u, no gradient "
       "through u, v (Miyato et al. 2018)",
       {param::integer("n_power_iterations", 1, "power iterations per forward pass").at_least(1),
        param::real("eps", 1e-12, "added to norms in the power iteration").at_least(0),
        param::integer("seed", 0, "seed of the initial u vectors").at_least(0)},
       LipschitzFactory([](const Params& p) { return std::make_unique<SpectralNorm>(p); })});
}
