// Dataset `gaussian_mixture_1d`: p(x) = Σ_k w_k N(x; μ_k, σ_k²) in one dimension, with its
// density in closed form — the setting of the f-GAN paper's experiment (Nowozin et al. 2016,
// §4: a Gaussian generator fitted to a mixture under different f-divergences), which the
// `f_divergence_1d` metric evaluates exactly by quadrature.
#include <fmt/format.h>

#include <cmath>

#include "kant/error.hpp"
#include "kant/plugin.hpp"
#include "toy.hpp"

namespace {
using namespace kant;

class GaussianMixture1d : public toys::Toy {
 public:
  struct Options {
    std::vector<double> weights, means, stds;
    toys::FixedSample fixed;
    static void declare(Declare<Options>& d) {
      d(&Options::weights,
        param::reals("weights", {0.5, 0.5}, "mixture weights (normalised to sum 1)"));
      d(&Options::means, param::reals("means", {-1.0, 1.0}, "component means"));
      d(&Options::stds, param::reals("stds", {0.5, 0.5}, "component standard deviations"));
      toys::declare_fixed_sample(d, &Options::fixed, 0);
    }
  };
  GaussianMixture1d(const Options& o, uint64_t seed)
      : Toy(o.fixed, seed), weights_(o.weights), means_(o.means), stds_(o.stds) {
    if (weights_.size() != means_.size() || stds_.size() != means_.size())
      throw Error(
          fmt::format("gaussian_mixture_1d: weights, means and stds must have the same "
                      "length (got {}, {}, {})",
                      weights_.size(), means_.size(), stds_.size()));
    double total = 0;
    for (size_t k = 0; k < weights_.size(); ++k) {
      if (weights_[k] < 0) throw Error("gaussian_mixture_1d: weights must be ≥ 0");
      if (stds_[k] <= 0) throw Error("gaussian_mixture_1d: stds must be > 0");
      total += weights_[k];
    }
    if (total <= 0) throw Error("gaussian_mixture_1d: the weights sum to 0");
    for (double& w : weights_) w /= total;  // normalised, so any positive weights will do
  }

  Shape sample_shape() const override { return {1}; }

  std::optional<Modes> modes() const override {
    for (double s : stds_)
      if (s != stds_[0]) return std::nullopt;  // Modes carries one std for all
    Modes m;
    for (double mu : means_) m.centers.push_back({mu});
    m.std = stds_[0];
    return m;
  }

  /// log Σ_k w_k N(x; μ_k, σ_k²)
  std::optional<double> log_density(const double* x) const override {
    std::vector<double> terms;
    for (size_t k = 0; k < means_.size(); ++k) {
      const double z = (x[0] - means_[k]) / stds_[k];
      terms.push_back(std::log(weights_[k]) - 0.5 * z * z -
                      std::log(stds_[k] * std::sqrt(2 * M_PI)));
    }
    return toys::log_sum_exp(terms);
  }

 protected:
  Tensor draw(int64_t n, Rng& rng) const override {
    Tensor out = Tensor::empty({n, 1});
    for (int64_t i = 0; i < n; ++i) {
      double u = rng.uniform();
      size_t k = 0;
      while (k + 1 < weights_.size() && u >= weights_[k]) u -= weights_[k++];
      out.data()[i] = static_cast<float>(means_[k] + stds_[k] * rng.normal());
    }
    return out;
  }

 private:
  std::vector<double> weights_, means_, stds_;
};

}  // namespace

KANT_COMPONENT(GaussianMixture1d, "gaussian_mixture_1d", "1.0.0",
               "1-D mixture of Gaussians Σ w_k N(μ_k, σ_k²) with a closed-form density")
