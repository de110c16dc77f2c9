// Distances against answers known by hand: brute force over permutations, shifted samples,
// closed forms for Gaussians.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <numeric>

#include "kant/distances.hpp"

using namespace kant;

namespace {
Tensor points(const std::vector<std::vector<double>>& rows) {
  std::vector<float> v;
  for (const auto& r : rows)
    for (double x : r) v.push_back(static_cast<float>(x));
  return Tensor::from({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, v);
}
}  // namespace

TEST_CASE("exact W1 equals the best assignment over all permutations", "[distance]") {
  Rng rng(11);
  for (int trial = 0; trial < 5; ++trial) {
    const int64_t n = 6;
    Tensor a = rng.normal_tensor({n, 3}), b = rng.uniform_tensor({n, 3}, -1, 2);
    std::vector<int> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    double best = 1e300;
    do {
      double cost = 0;
      for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t j = 0; j < 3; ++j)
          s += std::pow(double(a.data()[i * 3 + j]) - b.data()[perm[size_t(i)] * 3 + j], 2);
        cost += std::sqrt(s);
      }
      best = std::min(best, cost / n);
    } while (std::next_permutation(perm.begin(), perm.end()));
    CHECK(wasserstein1_exact(a, b) == Approx(best).epsilon(1e-9));
  }
  // unequal sizes: {0} against {−1, 1} moves half the mass 1 each way
  CHECK(wasserstein1_exact(points({{0}}), points({{-1}, {1}})) == Approx(1.0));
  CHECK(wasserstein1_exact(points({{0, 0}, {3, 4}}), points({{0, 0}})) == Approx(2.5));
}

TEST_CASE("W1 of a shifted 1-D sample is the shift", "[distance]") {
  Rng rng(12);
  Tensor a = rng.normal_tensor({300, 1});
  Tensor b = Tensor::from({300, 1}, [&] {
    auto v = a.to_vector();
    for (float& x : v) x += 0.75f;
    return v;
  }());
  CHECK(wasserstein1_exact(a, b) == Approx(0.75).epsilon(1e-5));
  // sliced W on one dimension is the 1-D distance, for p = 1 and 2
  CHECK(sliced_wasserstein(a, b, 10, 1, rng) == Approx(0.75).epsilon(1e-5));
  CHECK(sliced_wasserstein(a, b, 10, 2, rng) == Approx(0.75).epsilon(1e-5));
  CHECK(wasserstein_1d({0, 1}, {0, 0.5, 1, 1.5}, 1) ==
        Approx(0.25));  // quantiles 0,0|1,1 vs 0,.5|1,1.5
}

TEST_CASE("sliced W of a shifted d-dimensional sample: |δ|·E|θ₁|", "[distance]") {
  // shifting by δ e₁ moves every projection by δθ₁, so SW_2² = δ² E[θ₁²] = δ²/d
  Rng rng(13);
  Tensor a = rng.normal_tensor({400, 4});
  auto v = a.to_vector();
  for (size_t i = 0; i < v.size(); i += 4) v[i] += 2.0f;
  Tensor b = Tensor::from({400, 4}, v);
  CHECK(sliced_wasserstein(a, b, 4000, 2, rng) == Approx(2.0 / std::sqrt(4.0)).epsilon(0.03));
}

TEST_CASE("exact W1 on 2,000 × 2,000 points", "[distance][timing]") {
  Rng rng(14);
  Tensor a = rng.normal_tensor({2000, 2}), b = rng.normal_tensor({2000, 2}, 0.5f);
  auto start = std::chrono::steady_clock::now();
  const double w = wasserstein1_exact(a, b);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("exact W1 2000×2000: " << seconds << " s, W1 = " << w);
  // two samples of N(0, I) and N(0.5·1, I): W1 of the distributions is ‖δ‖ = 0.707, plus
  // finite-sample noise of order n^{-1/2}
  CHECK(w == Approx(std::sqrt(0.5)).margin(0.1));
}

TEST_CASE("unbiased MMD: a hand-computed case and zero mean for equal distributions",
          "[distance]") {
  // a = {0, 1}, b = {3, 3}, σ = 1: k(0,1) = e^{−½}, k(3,3) = 1, cross k(0,3) = e^{−4.5}, k(1,3) =
  // e^{−2}
  const double expected = std::exp(-0.5) + 1 - 2 * (2 * std::exp(-4.5) + 2 * std::exp(-2)) / 4;
  CHECK(mmd2_unbiased(points({{0}, {1}}), points({{3}, {3}}), {1.0}) == Approx(expected));
  // a bandwidth list sums the kernels
  CHECK(mmd2_unbiased(points({{0}, {1}}), points({{3}, {3}}), {1.0, 1.0}) == Approx(2 * expected));
  Rng rng(15);
  double sum = 0, sum_sq = 0;
  const int trials = 200;
  for (int t = 0; t < trials; ++t) {
    const double m =
        mmd2_unbiased(rng.normal_tensor({30, 2}), rng.normal_tensor({30, 2}), {0.5, 1, 2});
    sum += m;
    sum_sq += m * m;
  }
  const double mean = sum / trials, se = std::sqrt((sum_sq / trials - mean * mean) / trials);
  CHECK(std::abs(mean) < 4 * se);  // unbiased: E = 0
  CHECK(mmd2_unbiased(rng.normal_tensor({30, 2}), rng.normal_tensor({30, 2}, 2.0f), {1.0}) >
        10 * se);
}

TEST_CASE("Fréchet distance: 0 for identical features, closed form for Gaussians", "[distance]") {
  Rng rng(16);
  Tensor x = rng.normal_tensor({500, 5});
  CHECK(frechet_distance(fit_gaussian(x), fit_gaussian(x)) == Approx(0.0).margin(1e-9));
  // diagonal covariances: ‖μ1−μ2‖² + Σ (√a_i − √b_i)²
  Gaussian p{{1, 2, 0}, {4, 0, 0, 0, 1, 0, 0, 0, 9}}, q{{0, 0, 0}, {1, 0, 0, 0, 1, 0, 0, 0, 4}};
  CHECK(frechet_distance(p, q) == Approx(5 + 1 + 0 + 1));
  // a rotated (non-diagonal) case: Σ1 = R diag(4, 1) Rᵀ, Σ2 = I → tr Σ1 + 2 − 2 tr Σ1^{½} = 5 + 2 −
  // 6
  const double c = std::cos(0.3), s = std::sin(0.3);
  Gaussian r{{0, 0}, {4 * c * c + s * s, 3 * c * s, 3 * c * s, 4 * s * s + c * c}},
      id{{0, 0}, {1, 0, 0, 1}};
  CHECK(frechet_distance(r, id) == Approx(1.0).epsilon(1e-9));
  CHECK(frechet_distance(id, r) == Approx(1.0).epsilon(1e-9));
  std::vector<double> values, vectors;
  symmetric_eigen(r.cov, 2, values, vectors);
  std::sort(values.begin(), values.end());
  CHECK(values[0] == Approx(1.0));
  CHECK(values[1] == Approx(4.0));
}
