// Shared by the toy data sets: fresh samples every batch, or a fixed finite sample drawn once
// (seeded) and served in consecutive batches, cycling (the WGAN-GP toy code's 25 Gaussians, 100k
// points), or resampled point by point (PacGAN's code, where each packed slot is an independent
// resample of the 100k points); and equal-weight isotropic Gaussian mixtures.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kant/components.hpp"
#include "kant/options.hpp"
#include "kant/params.hpp"

namespace kant::toys {

/// log Σ exp(t_k), without overflow or underflow.
inline double log_sum_exp(const std::vector<double>& t) {
  double top = -std::numeric_limits<double>::infinity();
  for (double v : t) top = std::max(top, v);
  if (!std::isfinite(top)) return top;
  double s = 0;
  for (double v : t) s += std::exp(v - top);
  return top + std::log(s);
}

/// Schema entry every toy offers.
inline ParamSpec fixed_size_param(int64_t def) {
  return param::integer("fixed_size", def,
                        "draw a fixed sample of this size once and serve it in consecutive "
                        "batches, cycling (0: fresh samples every batch)")
      .at_least(0);
}

/// With a fixed sample: every point of a batch an independent uniform draw from it.
inline ParamSpec resample_param() {
  return param::boolean("resample", false,
                        "with fixed_size: draw every point of a batch uniformly, with replacement, "
                        "from the fixed sample (PacGAN: each packed slot an independent resample) "
                        "instead of serving it in order")
      .added_later();
}

/// fixed_size and resample, as a toy's constructor takes them.
struct FixedSample {
  int64_t size = 0;
  bool resample = false;
};
/// Declares fixed_size (default `def`) and resample, read into `member` of a toy's options.
template <typename O>
void declare_fixed_sample(Declare<O>& d, FixedSample O::*member, int64_t def) {
  d.custom(fixed_size_param(def),
           [member](O& o, const Params& p) { (o.*member).size = p.integer("fixed_size"); });
  d.custom(resample_param(),
           [member](O& o, const Params& p) { (o.*member).resample = p.boolean("resample"); });
}

/// A toy defined by a sampler draw(n, rng). With fixed_size > 0 the first batch request
/// draws the fixed sample with a generator seeded by the data seed.
class Toy : public Dataset {
 public:
  Toy(FixedSample fixed, uint64_t seed)
      : fixed_size_(fixed.size), resample_(fixed.resample), seed_(seed) {}

  Tensor sample(int64_t n, Rng& rng) override { return sample_batch(n, rng).x; }

  /// The fixed sample keeps each point's label beside it, so a batch's labels are its points'.
  Batch sample_batch(int64_t n, Rng& rng) override {
    if (fixed_size_ == 0 || (n > fixed_size_ && !resample_)) return draw_labelled(n, rng);
    if (!fixed_.x.defined()) {
      Rng fixed_rng(seed_, 101);
      fixed_ = draw_labelled(fixed_size_, fixed_rng);
    }
    const int64_t per = fixed_.x.numel() / fixed_size_;
    const bool labelled = !fixed_.labels.empty();
    Shape shape = fixed_.x.shape();
    shape[0] = n;
    Batch out;
    if (resample_) {  // n indices uniform on [0, fixed_size), from the batch's stream
      out.x = Tensor::empty(shape);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = static_cast<int64_t>(rng.below(static_cast<uint64_t>(fixed_size_)));
        std::copy(fixed_.x.data() + per * k, fixed_.x.data() + per * (k + 1),
                  out.x.data() + per * i);
        if (labelled) out.labels.push_back(fixed_.labels[static_cast<size_t>(k)]);
      }
      return out;
    }
    if (cursor_ + n > fixed_size_) cursor_ = 0;
    out.x = Tensor::from(shape, std::vector<float>(fixed_.x.data() + per * cursor_,
                                                   fixed_.x.data() + per * (cursor_ + n)));
    if (labelled)
      out.labels.assign(fixed_.labels.begin() + cursor_, fixed_.labels.begin() + cursor_ + n);
    cursor_ += n;
    return out;
  }

  // the position in the fixed sample (which is redrawn from the seed)
  ComponentState state() const override {
    ComponentState s;
    if (fixed_size_ > 0) s.words["cursor"] = {static_cast<uint64_t>(cursor_)};
    return s;
  }
  void load_state(const ComponentState& s) override {
    if (auto it = s.words.find("cursor"); it != s.words.end() && !it->second.empty())
      cursor_ = static_cast<int64_t>(it->second[0]);
  }

 protected:
  virtual Tensor draw(int64_t n, Rng& rng) const = 0;
  /// draw() with each point's label, for toys that have labels (drawing the same numbers).
  virtual Batch draw_labelled(int64_t n, Rng& rng) const { return {draw(n, rng), {}}; }

 private:
  int64_t fixed_size_;
  bool resample_;
  uint64_t seed_;
  Batch fixed_;
  int64_t cursor_ = 0;
};

/// Equal-weight mixture of isotropic Gaussians N(c_k, std² I), every point divided by
/// `divisor` (the WGAN-GP toys' normalisation). A point's label is the index k of its mode.
class GaussianMixture : public Toy {
 public:
  GaussianMixture(std::vector<std::vector<double>> centers, double std, double divisor,
                  FixedSample fixed_size, uint64_t seed)
      : Toy(fixed_size, seed), centers_(std::move(centers)), std_(std), divisor_(divisor) {}

  Shape sample_shape() const override { return {static_cast<int64_t>(centers_[0].size())}; }

  std::optional<Modes> modes() const override {
    Modes m;
    for (const auto& c : centers_) {
      m.centers.push_back(c);
      for (double& v : m.centers.back()) v /= divisor_;
    }
    m.std = std_ / divisor_;
    return m;
  }

  std::vector<double> class_frequencies() const override {
    return std::vector<double>(centers_.size(), 1.0 / static_cast<double>(centers_.size()));
  }

  /// log p(x), p(x) = (1/K) Σ_k N(x; c_k/divisor, (std/divisor)² I).
  std::optional<double> log_density(const double* x) const override {
    if (std_ == 0) return std::nullopt;
    const double s = std_ / divisor_;
    const size_t d = centers_[0].size();
    std::vector<double> terms;
    for (const auto& c : centers_) {
      double r2 = 0;
      for (size_t j = 0; j < d; ++j) r2 += (x[j] - c[j] / divisor_) * (x[j] - c[j] / divisor_);
      terms.push_back(-0.5 * r2 / (s * s));
    }
    return log_sum_exp(terms) - std::log(static_cast<double>(centers_.size())) -
           0.5 * static_cast<double>(d) * std::log(2 * M_PI * s * s);
  }

 protected:
  Tensor draw(int64_t n, Rng& rng) const override { return draw_labelled(n, rng).x; }

  // per point: its mode k (one draw), then its d coordinates
  Batch draw_labelled(int64_t n, Rng& rng) const override {
    const int64_t d = static_cast<int64_t>(centers_[0].size());
    Batch b{Tensor::empty({n, d}), std::vector<int64_t>(static_cast<size_t>(n))};
    float* p = b.x.data();
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t k = rng.below(centers_.size());
      b.labels[static_cast<size_t>(i)] = static_cast<int64_t>(k);
      const auto& c = centers_[k];
      for (int64_t j = 0; j < d; ++j)
        p[d * i + j] =
            static_cast<float>((c[static_cast<size_t>(j)] + std_ * rng.normal()) / divisor_);
    }
    return b;
  }

 private:
  std::vector<std::vector<double>> centers_;
  double std_, divisor_;
};

}  // namespace kant::toys
