// Generators whose output distribution is known in closed form, for the course's theory
// experiments (experiments/theory/):
//   `segment`   G(z) = (θ, (z₁ + 1)/2): one parameter θ; with uniform noise z₁ ~ U[−1, 1] its
//               samples are P_θ = (θ, Z), Z ~ U[0, 1] (WGAN Example 1, Arjovsky et al. 2017)
//   `gaussian`  G(z) = μ + σ·z₁ in one dimension: N(μ, σ²) under normal noise (parameters μ, σ)
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

}  // namespace

KANT_PLUGIN("closed_form", "1.0.0") {
  registrar.add(kant::component<SegmentGenerator>(
      "segment", "1.0.0",
      "G(z) = (θ, (z₁ + 1)/2): the segment (θ, U[0, 1]) under uniform noise (WGAN Example 1)"));
  registrar.add(kant::component<GaussianGenerator>(
      "gaussian", "1.0.0", "G(z) = μ + σ·z₁: N(μ, σ²) in one dimension under normal noise"));
}
