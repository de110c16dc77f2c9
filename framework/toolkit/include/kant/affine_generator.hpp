// The Gaussian an affine 1-D generator G(z) = μ + w·z, z ~ N(0, I), produces: μ = G(0) and
// σ = ‖w‖ = ‖∇_z G‖, with the check that G is affine (shared by the metrics that need the
// generator's density in closed form: f_divergence_1d, critic_curve).
#pragma once
#include <fmt/format.h>

#include <cmath>
#include <string>
#include <utility>

#include "kant/autodiff.hpp"
#include "kant/components.hpp"
#include "kant/distances.hpp"
#include "kant/ops.hpp"

namespace kant::affine_fit {

/// Relative tolerance of the affine check (float arithmetic of one layer).
inline constexpr double kTolerance = 1e-3;
/// Random z the rule compares at.
inline constexpr int64_t kProbes = 64;

/// μ = G(0) and w = ∇_z G(0) of a generator with one output value.
struct Fit {
  double mu = 0;
  Tensor w;
  double sigma() const { return std::sqrt(squared_norm(w)); }
};

inline Fit at_zero(Network& generator, int64_t noise_dim) {
  Tensor zero = Tensor::zeros({1, noise_dim}).set_requires_grad();
  Tensor g0 = generator.forward(zero);
  Fit f;
  f.w = grad({sum(g0)}, {zero})[0];
  f.mu = g0.data()[0];
  return f;
}

/// "" when G(z_i) = μ + w·z_i at every row of z, else the first mismatch, described.
inline std::string mismatch(Network& generator, const Fit& f, const Tensor& z) {
  NoGradGuard no_grad;
  Tensor x = generator.forward(z);
  for (int64_t i = 0; i < z.size(0); ++i) {
    double affine = f.mu;
    for (int64_t j = 0; j < z.size(1); ++j)
      affine += double(f.w.data()[j]) * z.data()[i * z.size(1) + j];
    if (std::abs(x.data()[i] - affine) > kTolerance * (1 + std::abs(affine)))
      return fmt::format("G(z) = {} but μ + w·z = {}", x.data()[i], affine);
  }
  return "";
}

/// (μ, σ) of an affine generator checked at the rows of z; an Error naming `metric` otherwise.
inline std::pair<double, double> gaussian(Network& generator, const Tensor& z,
                                          const std::string& metric) {
  const Fit f = at_zero(generator, z.size(1));
  if (const std::string m = mismatch(generator, f, z); !m.empty())
    throw Error(
        fmt::format("{} needs an affine generator G(z) = μ + w·z (a Gaussian); {} (use "
                    "mlp with hidden: [] and output_activation: none, or gaussian)",
                    metric, m));
  return {f.mu, f.sigma()};
}

}  // namespace kant::affine_fit
