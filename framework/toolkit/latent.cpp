// Paths between codes, truncated codes and inversion by code optimisation (see latent.hpp).
#include "kant/latent.hpp"

#include <fmt/format.h>

#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/fit.hpp"
#include "kant/ops.hpp"
#include "kant/rng.hpp"

namespace kant::latent {

Tensor interpolate(const Tensor& from, const Tensor& to, int64_t steps, bool spherical) {
  if (from.dim() != 2 || from.shape() != to.shape())
    throw Error(fmt::format("latent::interpolate: codes {} and {} must both be [P, D]",
                            shape_str(from.shape()), shape_str(to.shape())));
  if (steps < 2) throw Error("latent::interpolate: a path needs at least 2 steps");
  const int64_t pairs = from.size(0), dim = from.size(1);
  Tensor out = Tensor::empty({pairs, steps, dim});
  for (int64_t p = 0; p < pairs; ++p) {
    const float* a = from.data() + p * dim;
    const float* b = to.data() + p * dim;
    double dot = 0, na = 0, nb = 0;
    for (int64_t j = 0; j < dim; ++j) {
      dot += double(a[j]) * b[j];
      na += double(a[j]) * a[j];
      nb += double(b[j]) * b[j];
    }
    const double cos_omega = na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 1.0;
    const double omega = std::acos(std::max(-1.0, std::min(1.0, cos_omega)));
    const bool arc = spherical && std::sin(omega) > 1e-6;
    for (int64_t k = 0; k < steps; ++k) {
      const double t = double(k) / double(steps - 1);
      const double wa = arc ? std::sin((1 - t) * omega) / std::sin(omega) : 1 - t;
      const double wb = arc ? std::sin(t * omega) / std::sin(omega) : t;
      float* o = out.data() + (p * steps + k) * dim;
      for (int64_t j = 0; j < dim; ++j) o[j] = static_cast<float>(wa * a[j] + wb * b[j]);
    }
  }
  return out;
}

Tensor truncated_normal(int64_t n, int64_t dim, double threshold, Rng& rng) {
  if (!(threshold > 0)) throw Error("latent::truncated_normal: the threshold must be > 0");
  Tensor z = Tensor::empty({n, dim});
  float* d = z.data();
  for (int64_t i = 0; i < n * dim; ++i) {
    float v = rng.normal();
    while (std::abs(v) > threshold) v = rng.normal();
    d[i] = v;
  }
  return z;
}

Search search(Network& generator, const std::function<Tensor(const Tensor&)>& score,
              const Tensor& start, const Tensor& labels, const SearchOptions& o) {
  if (start.dim() != 2) throw Error("latent::search: start codes must be [n, D]");
  if (o.points < 2) throw Error("latent::search: a path keeps at least its 2 ends");
  const int64_t n = start.size(0), dim = start.size(1);
  Tensor z = start.clone().set_requires_grad(true);
  fit::Adam adam({z}, static_cast<float>(o.lr));
  Search out{Tensor::empty({n, o.points, dim}), Tensor::empty({n, o.points})};
  int64_t kept = 0;
  for (int64_t it = 0; it <= o.iterations; ++it) {
    const Tensor x =
        labels.defined() ? generator.forward_conditional(z, labels) : generator.forward(z);
    const Tensor s = score(x);
    // keep the codes at iterations round(j·T/(points − 1)), j = 0…points−1
    if (kept < o.points && it == (kept * o.iterations + (o.points - 1) / 2) / (o.points - 1)) {
      for (int64_t i = 0; i < n; ++i) {
        std::copy(z.data() + i * dim, z.data() + (i + 1) * dim,
                  out.codes.data() + (i * o.points + kept) * dim);
        out.scores.data()[i * o.points + kept] = s.data()[i];
      }
      ++kept;
    }
    if (it == o.iterations || (o.stop && o.stop())) break;
    Tensor objective = s;
    if (o.prior > 0) objective = objective - mean(square(z), {1}) * static_cast<float>(o.prior);
    adam.step(grad({-sum(objective)}, {z}));
  }
  if (kept < o.points)  // stopped early: the rest of the path is where it stopped
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = kept; j < o.points; ++j) {
        std::copy(z.data() + i * dim, z.data() + (i + 1) * dim,
                  out.codes.data() + (i * o.points + j) * dim);
        out.scores.data()[i * o.points + j] = out.scores.data()[i * o.points + kept - 1];
      }
  return out;
}

Inversion invert(Network& generator, const Tensor& targets, const Tensor& start,
                 const Tensor& labels, const InversionOptions& o) {
  const int64_t n = targets.size(0);
  if (start.dim() != 2 || start.size(0) != n)
    throw Error(
        fmt::format("latent::invert: start codes {} for {} targets", shape_str(start.shape()), n));
  const int64_t dim = start.size(1);
  const int64_t per_sample = targets.numel() / n;
  Tensor z = start.clone().set_requires_grad(true);
  fit::Adam adam({z}, static_cast<float>(o.lr));
  auto run = [&](const Tensor& codes) {
    return labels.defined() ? generator.forward_conditional(codes, labels)
                            : generator.forward(codes);
  };
  // per-sample loss [n]: mean squared error over the sample's values, plus the prior
  auto losses = [&](const Tensor& codes, const Tensor& images) {
    Tensor err = mean(reshape(square(images - targets), {n, per_sample}), {1});
    if (o.prior > 0) err = err + mean(square(codes), {1}) * static_cast<float>(o.prior);
    return err;
  };
  Tensor best_codes = start.clone(), best = Tensor::full({n}, INFINITY);
  for (int64_t it = 0; it <= o.iterations; ++it) {
    Tensor loss = losses(z, run(z));
    const float* l = loss.data();
    for (int64_t i = 0; i < n; ++i)
      if (l[i] < best.data()[i]) {
        best.data()[i] = l[i];
        std::copy(z.data() + i * dim, z.data() + (i + 1) * dim, best_codes.data() + i * dim);
      }
    if (it == o.iterations || (o.stop && o.stop())) break;
    adam.step(grad({sum(loss)}, {z}));
  }
  Inversion out;
  NoGradGuard no_grad;
  out.codes = best_codes;
  out.reconstructions = run(best_codes).detach();
  out.mse = mean(reshape(square(out.reconstructions - targets), {n, per_sample}), {1});
  return out;
}

}  // namespace kant::latent
