// Generators whose output distribution is known in closed form, for the course's theory
// experiments (experiments/theory/):
//   `segment`   G(z) = (θ, (z₁ + 1)/2): one parameter θ; with uniform noise z₁ ~ U[−1, 1] its
//               samples are P_θ = (θ, Z), Z ~ U[0, 1] (WGAN Example 1, Arjovsky et al. 2017)
//   `gaussian`  G(z) = μ + σ·z₁ in one dimension: N(μ, σ²) under normal noise (parameters μ, σ)
//   `normal`    G(z) = μ + A·z in d dimensions (noise_dim = d): N(μ, AAᵀ) under normal noise
#include <fmt/format.h>

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

}  // namespace

KANT_PLUGIN("closed_form", "1.0.0") {
  registrar.add(kant::component<SegmentGenerator>(
      "segment", "1.0.0",
      "G(z) = (θ, (z₁ + 1)/2): the segment (θ, U[0, 1]) under uniform noise (WGAN Example 1)"));
  registrar.add(kant::component<GaussianGenerator>(
      "gaussian", "1.0.0", "G(z) = μ + σ·z₁: N(μ, σ²) in one dimension under normal noise"));
  registrar.add(kant::component<NormalGenerator>(
      "normal", "1.0.0", "G(z) = μ + A·z: N(μ, AAᵀ) in d dimensions under normal noise"));
}
