// Deterministic random numbers: xoshiro256** seeded by SplitMix64, Box–Muller normals.
// Same seed, same sequence, on every platform (no std:: distributions, which vary by library).
#pragma once
#include <cstdint>
#include <vector>

#include "kant/tensor.hpp"

namespace kant {

/// A reproducible stream of random numbers. Independent streams of one run come from one
/// seed and distinct stream ids (e.g. weights, data, noise, penalty), so adding draws to one
/// stream never shifts another.
class Rng {
 public:
  explicit Rng(uint64_t seed, uint64_t stream = 0);

  uint64_t next_u64();
  /// Uniform in [0, 1) with 24 random bits.
  float uniform();
  /// Uniform integer in [0, n).
  uint64_t below(uint64_t n);
  /// Standard normal (Box–Muller, caching the second value).
  float normal();

  /// Tensor of i.i.d. U[lo, hi).
  Tensor uniform_tensor(const Shape& shape, float lo = 0.0f, float hi = 1.0f);
  /// Tensor of i.i.d. N(mean, std²).
  Tensor normal_tensor(const Shape& shape, float mean = 0.0f, float std = 1.0f);

  /// The stream's exact position (5 words: the generator state and the cached normal), for
  /// checkpoints; set_state continues the stream exactly where state() was taken.
  std::vector<uint64_t> state() const;
  void set_state(const std::vector<uint64_t>& words);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  float spare_ = 0.0f;
};

}  // namespace kant
