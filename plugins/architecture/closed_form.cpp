// Generators whose output distribution is known in closed form, for the course's theory
// experiments (experiments/theory/):
//   `segment`   G(z) = (θ, (z₁ + 1)/2): one parameter θ; with uniform noise z₁ ~ U[−1, 1] its
//               samples are P_θ = (θ, Z), Z ~ U[0, 1] (WGAN Example 1, Arjovsky et al. 2017)
//   `gaussian`  G(z) = μ + σ·z₁ in one dimension: N(μ, σ²) under normal noise (parameters μ, σ)
//   `normal`    G(z) = μ + A·z in d dimensions (noise_dim = d): N(μ, AAᵀ) under normal noise
//   `gaussian_mixture`  K diagonal Gaussians Σ_k w_k N(μ_k, diag σ_k²), w = softmax(logits): z₀
//               picks the component (u = Φ(z₀) against the cumulative weights), z₁…z_d its
//               noise: G(z) = μ_k + σ_k ⊙ z₁…d, noise_dim = d + 1 under normal noise. Fitted
//               by maximum likelihood with the `em_mixture` procedure
#include <fmt/format.h>

#include <cmath>

#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class SegmentGenerator : public Network {
 public:
  struct Options {
    float theta;
    static void declare(Declare<Options>& d) {
      d(&Options::theta, param::real("theta", 1.0, "initial θ, the segment's abscissa"));
    }
  };
  SegmentGenerator(const Options& o, const NetworkSpec& spec) {
    if (spec.output_shape != Shape{2})
      throw Error(fmt::format("segment generator: the data must be 2-D points, not {}",
                              shape_str(spec.output_shape)));
    theta_ = register_parameter("theta", Tensor::full({1, 1}, o.theta));
  }
  Tensor forward(const Tensor& z) override {
    const Tensor column = broadcast_to(use(theta_), {z.size(0), 1});
    return concat({column, affine(slice(z, 1, 0, 1), 0.5f, 0.5f)}, 1);
  }

 private:
  size_t theta_;
};

class GaussianGenerator : public Network {
 public:
  struct Options {
    float mu, sigma;
    static void declare(Declare<Options>& d) {
      d(&Options::mu, param::real("mu", 0.0, "initial μ"));
      d(&Options::sigma, param::real("sigma", 1.0, "initial σ"));
    }
  };
  GaussianGenerator(const Options& o, const NetworkSpec& spec) {
    if (spec.output_shape != Shape{1})
      throw Error(fmt::format("gaussian generator: the data must be 1-D, not {}",
                              shape_str(spec.output_shape)));
    sigma_ = register_parameter("sigma", Tensor::full({1, 1}, o.sigma));
    mu_ = register_parameter("mu", Tensor::full({1}, o.mu));
  }
  Tensor forward(const Tensor& z) override {
    return linear(slice(z, 1, 0, 1), use(sigma_), use(mu_));
  }

 private:
  size_t sigma_, mu_;
};

class NormalGenerator : public Network {
 public:
  struct Options {
    std::vector<double> mu, scale;
    static void declare(Declare<Options>& d) {
      d(&Options::mu, param::reals("mu", {}, "initial μ (d values; empty: 0)"));
      d(&Options::scale, param::reals("scale", {}, "initial A, d × d row by row (empty: I)"));
    }
  };
  NormalGenerator(const Options& o, const NetworkSpec& spec) {
    const int64_t d = shape_numel(spec.output_shape);
    if (spec.output_shape.size() != 1 || spec.input_shape != Shape{d})
      throw Error(
          fmt::format("normal generator: needs vector data and noise_dim equal to its "
                      "dimension, got data {} and noise {}",
                      shape_str(spec.output_shape), shape_str(spec.input_shape)));
    std::vector<float> mu(size_t(d), 0.0f), a(size_t(d * d), 0.0f);
    for (int64_t i = 0; i < d; ++i) a[size_t(i * (d + 1))] = 1.0f;
    if (!o.mu.empty() && int64_t(o.mu.size()) != d)
      throw Error(fmt::format("normal generator: `mu` must have {} values", d));
    if (!o.scale.empty() && int64_t(o.scale.size()) != d * d)
      throw Error(fmt::format("normal generator: `scale` must have {} values", d * d));
    if (!o.mu.empty()) mu.assign(o.mu.begin(), o.mu.end());
    if (!o.scale.empty()) a.assign(o.scale.begin(), o.scale.end());
    scale_ = register_parameter("scale", Tensor::from({d, d}, a));
    mu_ = register_parameter("mu", Tensor::from({d}, mu));
  }
  // linear computes z Aᵀ + μ: each row is μ + A z
  Tensor forward(const Tensor& z) override { return linear(z, use(scale_), use(mu_)); }

 private:
  size_t scale_, mu_;
};

class MixtureGenerator : public Network {
 public:
  struct Options {
    int64_t components;
    double init_spread;
    static void declare(Declare<Options>& d) {
      d(&Options::components, param::integer("components", 3, "K, the components").at_least(1));
      d(&Options::init_spread,
        param::real("init_spread", 1.0, "initial means ~ N(0, s²) per coordinate").at_least(0));
    }
  };
  MixtureGenerator(const Options& o, const NetworkSpec& spec)
      : k_(o.components), d_(shape_numel(spec.output_shape)) {
    if (spec.output_shape.size() != 1 || spec.input_shape != Shape{d_ + 1})
      throw Error(
          fmt::format("gaussian_mixture generator: needs vector data and noise_dim = its "
                      "dimension + 1 (z₀ picks the component), got data {} and noise {}",
                      shape_str(spec.output_shape), shape_str(spec.input_shape)));
    logits_ = register_parameter("logits", Tensor::zeros({k_}));
    means_ = register_parameter(
        "means", spec.init_rng->normal_tensor({k_, d_}, 0.0f, static_cast<float>(o.init_spread)));
    log_stds_ = register_parameter("log_stds", Tensor::zeros({k_, d_}));
  }
  // rows of a one-hot [n, K] pick each sample's μ_k and σ_k: differentiable in μ and log σ
  Tensor forward(const Tensor& z) override {
    const int64_t n = z.size(0);
    const Tensor logits = use(logits_);
    std::vector<double> cumulative(static_cast<size_t>(k_));
    double top = -1e300, total = 0;
    for (int64_t k = 0; k < k_; ++k) top = std::max<double>(top, logits.data()[k]);
    for (int64_t k = 0; k < k_; ++k)
      cumulative[static_cast<size_t>(k)] = total += std::exp(logits.data()[k] - top);
    Tensor pick = Tensor::zeros({n, k_});
    for (int64_t i = 0; i < n; ++i) {
      const double u = 0.5 * std::erfc(-z.data()[i * (d_ + 1)] / std::sqrt(2.0)) * total;
      int64_t k = 0;
      while (k + 1 < k_ && u >= cumulative[static_cast<size_t>(k)]) ++k;
      pick.data()[i * k_ + k] = 1.0f;
    }
    const Tensor eps = slice(z, 1, 1, d_ + 1);
    return add(matmul(pick, use(means_)), mul(matmul(pick, exp(use(log_stds_))), eps));
  }

 private:
  int64_t k_, d_;
  size_t logits_, means_, log_stds_;
};

}  // namespace

KANT_PLUGIN("closed_form", "1.0.0") {
  registrar.add(kant::component<SegmentGenerator>(
      "segment", "1.0.0",
      "G(z) = (θ, (z₁ + 1)/2): the segment (θ, U[0, 1]) under uniform noise (WGAN Example 1)"));
  registrar.add(kant::component<GaussianGenerator>(
      "gaussian", "1.0.0", "G(z) = μ + σ·z₁: N(μ, σ²) in one dimension under normal noise"));
  registrar.add(kant::component<NormalGenerator>(
      "normal", "1.0.0", "G(z) = μ + A·z: N(μ, AAᵀ) in d dimensions under normal noise"));
  registrar.add(kant::component<MixtureGenerator>("gaussian_mixture", "1.0.0",
                                                  "K diagonal Gaussians Σ w_k N(μ_k, diag σ_k²) "
                                                  "sampled from z = (z₀ picks k, z₁…d its noise)"));
}
