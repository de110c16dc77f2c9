// Lipschitz method `gradient_penalty`: P = λ · mean_i (‖∇D(x̂_i)‖₂ − K)² (two-sided, WGAN-GP,
// Gulrajani et al. 2017) or λ · mean_i max(0, ‖∇D(x̂_i)‖₂ − K)² (one-sided, Lipschitz penalty,
// Petzka et al. 2018), penalties::gradient_norm_penalty, at points x̂ chosen by `sample`:
//   interpolate: x̂_i = ε_i x_i + (1 − ε_i) x̃_i, ε_i ~ U[0, 1) drawn per sample
//   real: x̂ = x;  fake: x̂ = x̃
#include "kant/input_gradient.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

struct Options {
  Real lambda, target;  // read at the step trained: either may follow a schedule
  std::string side, sample;
  float eps;
  static void declare(Declare<Options>& d) {
    d(&Options::lambda, param::real("lambda", 10.0, "penalty weight λ").at_least(0));
    d(&Options::target,
      param::real("target", 1.0, "target gradient norm K (1: the 1-Lipschitz constraint)")
          .at_least(0));
    d(&Options::side, param::choice("side", "two", {"two", "one"},
                                    "two: penalise any deviation from K; one: only norms above K"));
    d(&Options::sample,
      param::choice("sample", "interpolate", {"interpolate", "real", "fake"},
                    "where the gradient is taken: on random interpolates of real and generated "
                    "samples, on real samples, or on generated samples"));
    d(&Options::eps, param::real("eps", 1e-12,
                                 "added under the square root of the norm so that its derivative "
                                 "exists at zero gradient")
                         .at_least(0));
  }
};

Tensor gradient_penalty(const Options& o, const CriticBatch& b) {
  Tensor points = o.sample == "interpolate" ? penalties::random_interpolates(b.real, b.fake, b.rng)
                  : o.sample == "real"      ? b.real
                                            : b.fake;
  return penalties::gradient_norm_penalty(b.critic, points, static_cast<float>(o.lambda()),
                                          static_cast<float>(o.target()), o.eps, o.side == "one");
}

}  // namespace

KANT_COMPONENT_FN(gradient_penalty, "gradient_penalty", "1.1.0",
                  "λ·E[(‖∇D(x̂)‖₂ − K)²] (two-sided, WGAN-GP, Gulrajani et al. 2017) or "
                  "λ·E[max(0, ‖∇D(x̂)‖₂ − K)²] (one-sided, Petzka et al. 2018), x̂ = εx + (1−ε)x̃ "
                  "with ε per sample")
