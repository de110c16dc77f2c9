// Lipschitz method `gradient_penalty` (WGAN-GP, Gulrajani et al. 2017, Algorithm 1):
//   x̂_i = ε_i x_i + (1 − ε_i) x̃_i,  ε_i ~ U[0, 1) drawn per sample
//   P = λ · mean_i (‖∇_x D(x̂_i)‖₂ − target)²
// The norm is per sample over all non-batch dimensions; the gradient is taken with
// create_graph so that P is differentiated with respect to the critic's weights.
// ‖g‖ is computed as √(Σg² + eps): at g = 0 the plain norm has no derivative.
#include <fmt/format.h>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class GradientPenalty : public LipschitzMethod {
 public:
  explicit GradientPenalty(const Params& p)
      : lambda_(static_cast<float>(p.real("lambda"))),
        target_(static_cast<float>(p.real("target"))),
        eps_(static_cast<float>(p.real("eps"))) {}

  Tensor penalty(const CriticBatch& b) override {
    const Shape& shape = b.real.shape();
    if (b.fake.shape() != shape)
      throw TensorError(fmt::format("gradient_penalty: real {} and fake {} batches differ",
                                    shape_str(shape), shape_str(b.fake.shape())));
    Shape eps_shape(shape.size(), 1);
    eps_shape[0] = shape[0];
    Tensor eps = b.rng.uniform_tensor(eps_shape);
    Tensor x_hat = add(mul(eps, b.real), mul(1.0f - eps, b.fake)).detach().set_requires_grad();
    Tensor d = b.critic.forward(x_hat);
    Tensor g = grad({sum(d)}, {x_hat}, {}, /*create_graph=*/true)[0];
    std::vector<int64_t> axes;
    for (int64_t a = 1; a < g.dim(); ++a) axes.push_back(a);
    Tensor norm = kant::sqrt(sum(square(g), axes) + eps_);
    return mean(square(norm - target_)) * lambda_;
  }

 private:
  float lambda_, target_, eps_;
};

}  // namespace

KANT_PLUGIN("gradient_penalty", "1.0.0") {
  registrar.add(
      {"gradient_penalty", "1.0.0",
       "WGAN-GP: λ·E[(‖∇D(x̂)‖₂ − target)²] on x̂ = εx + (1−ε)x̃, ε ~ U[0,1) per sample "
       "(Gulrajani et al. 2017)",
       {param::real("lambda", 10.0, "penalty weight λ").at_least(0),
        param::real("target", 1.0, "target gradient norm (1: the 1-Lipschitz constraint)")
            .at_least(0),
        param::real("eps", 1e-12, "added under the square root of the norm so that its "
                                  "derivative exists at zero gradient")
            .at_least(0)},
       LipschitzFactory([](const Params& p) { return std::make_unique<GradientPenalty>(p); })});
}
