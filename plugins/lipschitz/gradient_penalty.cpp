// Lipschitz method `gradient_penalty`:
//   two-sided (WGAN-GP, Gulrajani et al. 2017):   P = λ · mean_i (‖∇D(x̂_i)‖₂ − K)²
//   one-sided (Lipschitz penalty, Petzka et al. 2018): P = λ · mean_i max(0, ‖∇D(x̂_i)‖₂ − K)²
// at points x̂ chosen by `sample`:
//   interpolate: x̂_i = ε_i x_i + (1 − ε_i) x̃_i, ε_i ~ U[0, 1) drawn per sample
//   real: x̂ = x;  fake: x̂ = x̃
// The norm is per sample over all non-batch dimensions, as √(Σg² + eps) so that its
// derivative exists at zero gradient.
#include <fmt/format.h>

#include "kant/error.hpp"
#include "kant/input_gradient.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class GradientPenalty : public LipschitzMethod {
 public:
  explicit GradientPenalty(const Params& p)
      : lambda_(static_cast<float>(p.real("lambda"))),
        target_(static_cast<float>(p.real("target"))),
        eps_(static_cast<float>(p.real("eps"))),
        one_sided_(p.string("side") == "one"),
        sample_(p.string("sample")) {}

  Tensor penalty(const CriticBatch& b) override {
    const Shape& shape = b.real.shape();
    if (b.fake.shape() != shape)
      throw TensorError(fmt::format("gradient_penalty: real {} and fake {} batches differ",
                                    shape_str(shape), shape_str(b.fake.shape())));
    Tensor points;
    if (sample_ == "interpolate") {
      points = penalties::random_interpolates(b.real, b.fake, b.rng);
    } else {
      points = sample_ == "real" ? b.real : b.fake;
    }
    Tensor norm = kant::sqrt(penalties::squared_grad_norms(b.critic, points) + eps_);
    Tensor excess = norm - target_;
    if (one_sided_) excess = relu(excess);
    return mean(square(excess)) * lambda_;
  }

 private:
  float lambda_, target_, eps_;
  bool one_sided_;
  std::string sample_;
};

}  // namespace

KANT_PLUGIN("gradient_penalty", "1.1.0") {
  registrar.add(
      {"gradient_penalty",
       "1.1.0",
       "λ·E[(‖∇D(x̂)‖₂ − K)²] (two-sided, WGAN-GP, Gulrajani et al. 2017) or λ·E[max(0, "
       "‖∇D(x̂)‖₂ − K)²] (one-sided, Petzka et al. 2018), x̂ = εx + (1−ε)x̃ with ε per sample",
       {param::real("lambda", 10.0, "penalty weight λ").at_least(0),
        param::real("target", 1.0, "target gradient norm K (1: the 1-Lipschitz constraint)")
            .at_least(0),
        param::choice("side", "two", {"two", "one"},
                      "two: penalise any deviation from K; one: only norms above K"),
        param::choice("sample", "interpolate", {"interpolate", "real", "fake"},
                      "where the gradient is taken: on random interpolates of real and "
                      "generated samples, on real samples, or on generated samples"),
        param::real("eps", 1e-12,
                    "added under the square root of the norm so that its "
                    "derivative exists at zero gradient")
            .at_least(0)},
       LipschitzFactory([](const Params& p) { return std::make_unique<GradientPenalty>(p); })});
}
