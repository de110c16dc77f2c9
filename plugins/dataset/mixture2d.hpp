// Shared by the 2-D Gaussian-mixture toys: sampling a mixture, optionally from a fixed
// finite sample drawn once, divided by a normalisation constant as in the WGAN-GP toy code.
#pragma once
#include <vector>

#include "kant/components.hpp"

namespace kant::toys {

/// Equal-weight mixture of isotropic Gaussians N(c_k, std² I), every point divided by
/// `divisor`. With fixed_size > 0, a sample of that size is drawn once (seeded), shuffled,
/// and served in consecutive batches, cycling — as gan_toy.py does for 25 Gaussians.
class Mixture2d : public Dataset {
 public:
  Mixture2d(std::vector<std::vector<double>> centers, double std, double divisor,
            int64_t fixed_size, uint64_t seed)
      : centers_(std::move(centers)), std_(std), divisor_(divisor) {
    if (fixed_size > 0) {
      Rng rng(seed, 101);
      fixed_ = draw(fixed_size, rng);
    }
  }

  Shape sample_shape() const override { return {2}; }

  Tensor sample(int64_t n, Rng& rng) override {
    if (!fixed_.defined()) return draw(n, rng);
    const int64_t size = fixed_.size(0);
    if (n > size) return draw(n, rng);
    if (cursor_ + n > size) cursor_ = 0;
    Tensor out = Tensor::from({n, 2}, std::vector<float>(fixed_.data() + 2 * cursor_,
                                                         fixed_.data() + 2 * (cursor_ + n)));
    cursor_ += n;
    return out;
  }

  std::optional<Modes> modes() const override {
    Modes m;
    for (const auto& c : centers_) m.centers.push_back({c[0] / divisor_, c[1] / divisor_});
    m.std = std_ / divisor_;
    return m;
  }

 private:
  Tensor draw(int64_t n, Rng& rng) const {
    Tensor t = Tensor::empty({n, 2});
    float* p = t.data();
    for (int64_t i = 0; i < n; ++i) {
      const auto& c = centers_[rng.below(centers_.size())];
      p[2 * i] = static_cast<float>((c[0] + std_ * rng.normal()) / divisor_);
      p[2 * i + 1] = static_cast<float>((c[1] + std_ * rng.normal()) / divisor_);
    }
    return t;
  }

  std::vector<std::vector<double>> centers_;
  double std_, divisor_;
  Tensor fixed_;
  int64_t cursor_ = 0;
};

}  // namespace kant::toys
