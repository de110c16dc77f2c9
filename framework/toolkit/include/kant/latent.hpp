// The latent space of a trained generator: paths between codes (linear, and spherical as
// White 2016 recommends for Gaussian codes), the truncation trick (Brock et al. 2019) and the
// inversion of given samples by optimising the code (Metz et al. 2017's measure of mode
// coverage: a sample the generator cannot reconstruct lies outside what it covers).
#pragma once
#include <cstdint>
#include <functional>

#include "kant/module.hpp"
#include "kant/tensor.hpp"

namespace kant {
class Rng;
}

namespace kant::latent {

/// Codes on the paths from each row of `from` to the same row of `to` ([P, D] each): [P, K, D]
/// at t = k/(K − 1), k = 0…K−1 (K ≥ 2). Linear: (1 − t)·a + t·b. Spherical (slerp):
/// sin((1 − t)Ω)/sin Ω·a + sin(tΩ)/sin Ω·b with cos Ω = ⟨a, b⟩/(‖a‖‖b‖), linear where Ω ≈ 0.
Tensor interpolate(const Tensor& from, const Tensor& to, int64_t steps, bool spherical);

/// n standard normal codes [n, dim] whose entries beyond ±threshold are drawn again until they
/// fall inside (the truncation trick; Brock et al. 2019, §3.1): N(0, 1) conditioned on |z_j| ≤ ψ.
Tensor truncated_normal(int64_t n, int64_t dim, double threshold, Rng& rng);

struct SearchOptions {
  int64_t iterations = 200;
  double lr = 0.05;    ///< Adam's step size on z
  double prior = 0.1;  ///< λ of the prior penalty λ‖z‖²/D subtracted from the score
  int64_t points = 8;  ///< codes kept along each path, the start and the end included
  std::function<bool()> stop = {};  ///< as InversionOptions::stop
};

struct Search {
  Tensor codes;   ///< [n, points, D], each path of z
  Tensor scores;  ///< [n, points], the score at each kept code
};

/// Maximises score(G(z)) − λ‖z‖²/D over each row of `start` [n, D] by Adam ("optimize with
/// GAN", Kang et al. 2017): `score` maps a batch of samples to one differentiable value per row
/// [n]; `labels` (one-hot, or undefined) condition a conditional generator. Keeps `points` codes
/// evenly spaced along each path. The networks' weights are not changed.
Search search(Network& generator, const std::function<Tensor(const Tensor&)>& score,
              const Tensor& start, const Tensor& labels, const SearchOptions& options);

struct InversionOptions {
  int64_t iterations = 500;
  double lr = 0.05;  ///< Adam's step size on z
  double prior = 0;  ///< λ of the prior penalty λ‖z‖²/D added to each sample's loss
  /// Asked before each step; true ends the optimisation there (a signal, for a caller that
  /// then discards the result).
  std::function<bool()> stop = {};
};

struct Inversion {
  Tensor codes;            ///< [n, D], the codes found
  Tensor reconstructions;  ///< G(codes)
  Tensor mse;              ///< [n], ‖G(z_i) − x_i‖²/numel(x_i)
};

/// Recovers each target x_i [n, …] as G(z_i) by minimising ‖G(z_i) − x_i‖²/numel(x_i) +
/// λ‖z_i‖²/D with Adam from `start` [n, D] (each sample's loss is its own, so one batch does
/// them all at once). `labels` (one-hot [n, K], or undefined) condition a conditional generator.
/// Keeps each sample's best code over the iterations. The generator's weights are not changed.
Inversion invert(Network& generator, const Tensor& targets, const Tensor& start,
                 const Tensor& labels, const InversionOptions& options);

}  // namespace kant::latent
