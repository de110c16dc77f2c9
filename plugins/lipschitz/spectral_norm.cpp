// Lipschitz method `spectral_norm` (Miyato et al. 2018): every critic weight W (name ending in
// "weight", rank ≥ 2; conv kernels viewed as out × (in·kh·kw)) is used as W/σ(W), with σ
// estimated by power iteration on a persistent vector u (kant/spectral_estimates.hpp).
// Bound (1-Lipschitz activations): Π_layers σ(W/σ̂) — 1 once the iteration has converged.
#include "kant/ops.hpp"
#include "kant/plugin.hpp"
#include "kant/spectral_estimates.hpp"

namespace {
using namespace kant;

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
  explicit SpectralNorm(const Options& o) : sigma_(o.n_power_iterations, o.eps, o.seed) {}

  bool transforms_weights() const override { return true; }
  Tensor transform_weight(const std::string& name, const Tensor& w) override {
    return is_weight_matrix(name, w) ? div(w, sigma_.sigma(name, as_matrix(w))) : w;
  }
  std::optional<double> lipschitz_bound(const Network& critic) override {
    double bound = 1;
    for (const auto& [name, w] : critic.named_parameters())
      if (is_weight_matrix(name, w)) bound *= sigma_.converged_ratio(name, as_matrix(w.detach()));
    return bound;
  }
  ComponentState state() const override { return sigma_.state(); }
  void load_state(const ComponentState& s) override { sigma_.load_state(s); }

 private:
  SpectralEstimates sigma_;
};

}  // namespace

KANT_COMPONENT(SpectralNorm, "spectral_norm", "1.0.0",
               "spectral normalisation W/σ(W), σ by power iteration on a persistent u, no gradient "
               "through u, v (Miyato et al. 2018)")
