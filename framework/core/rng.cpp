// xoshiro256** (Blackman & Vigna 2018) with SplitMix64 seeding; Box–Muller normals.
#include "kant/rng.hpp"

#include <cmath>
#include <cstring>

#include "kant/error.hpp"

namespace kant {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
  for (uint64_t& s : s_) s = splitmix64(x);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

float Rng::uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }

uint64_t Rng::below(uint64_t n) {
  // Lemire's multiply-shift; the bias for n ≪ 2⁶⁴ is below 2⁻³².
  return static_cast<uint64_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
}

float Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // u1 in (0, 1] so that log(u1) is finite.
  const double u1 = (static_cast<double>(next_u64() >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * M_PI * u2;
  spare_ = static_cast<float>(r * std::sin(theta));
  has_spare_ = true;
  return static_cast<float>(r * std::cos(theta));
}

Tensor Rng::uniform_tensor(const Shape& shape, float lo, float hi) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + (hi - lo) * uniform();
  return t;
}

Tensor Rng::normal_tensor(const Shape& shape, float mean, float std) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = mean + std * normal();
  return t;
}

std::vector<uint64_t> Rng::state() const {
  uint32_t spare_bits;
  std::memcpy(&spare_bits, &spare_, sizeof spare_bits);
  return {s_[0], s_[1], s_[2], s_[3], (uint64_t{has_spare_} << 32) | spare_bits};
}

void Rng::set_state(const std::vector<uint64_t>& words) {
  if (words.size() != 5) throw Error("Rng::set_state: a random stream's state is 5 words");
  for (int i = 0; i < 4; ++i) s_[i] = words[static_cast<size_t>(i)];
  has_spare_ = (words[4] >> 32) != 0;
  const auto spare_bits = static_cast<uint32_t>(words[4]);
  std::memcpy(&spare_, &spare_bits, sizeof spare_);
}

}  // namespace kant
