// Lipschitz method `dragan` (Kodali et al. 2017, "On convergence and stability of GANs"):
// a gradient penalty around the data, at points perturbed as in the authors' code:
//   x_p = x + c · std(x) · u,  u ~ U[0, 1) per element, std over the whole real batch
//   x̂_i = x_i + α_i (x_p,i − x_i),  α_i ~ U[0, 1) per sample
//   P = λ · mean_i (‖∇D(x̂_i)‖₂ − K)²   (penalties::gradient_norm_penalty)
#include <cmath>

#include "kant/input_gradient.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

struct Options {
  Real lambda, c, target;  // read at the step trained: each may follow a schedule
  float eps;
  static void declare(Declare<Options>& d) {
    d(&Options::lambda, param::real("lambda", 10.0, "penalty weight λ").at_least(0));
    d(&Options::c,
      param::real("c", 0.5, "perturbation scale, in units of the batch's std").at_least(0));
    d(&Options::target, param::real("target", 1.0, "target gradient norm K").at_least(0));
    d(&Options::eps,
      param::real("eps", 1e-12, "added under the square root of the norm").at_least(0));
  }
};

// population std (ddof = 0) of all values, as numpy's x.std() in the authors' code
float population_std(const Tensor& x) {
  const float* d = x.data();
  const auto n = static_cast<double>(x.numel());
  double avg = 0, ss = 0;
  for (int64_t i = 0; i < x.numel(); ++i) avg += d[i];
  avg /= n;
  for (int64_t i = 0; i < x.numel(); ++i) ss += (d[i] - avg) * (d[i] - avg);
  return static_cast<float>(std::sqrt(ss / n));
}

Tensor dragan(const Options& o, const CriticBatch& b) {
  const Tensor& x = b.real;
  Tensor perturbed =
      add(x, b.rng.uniform_tensor(x.shape()) * (static_cast<float>(o.c()) * population_std(x)));
  Tensor alpha = b.rng.uniform_tensor(penalties::per_sample_shape(x.shape()));
  Tensor points = add(x, mul(alpha, sub(perturbed, x)));
  return penalties::gradient_norm_penalty(b.critic, points, static_cast<float>(o.lambda()),
                                          static_cast<float>(o.target()), o.eps);
}

}  // namespace

KANT_COMPONENT_FN(dragan, "dragan", "1.0.0",
                  "DRAGAN: λ·E[(‖∇D(x̂)‖₂ − K)²] at x̂ = x + α·c·std(x)·u near the data (Kodali "
                  "et al. 2017)")
