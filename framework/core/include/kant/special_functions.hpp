// Special functions in double precision shared by kernels and plugins: Wright's ω function
// (Lambert W of an exponential, without forming the exponential).
#pragma once
#include <cmath>
#include <limits>

namespace kant {

/// Wright's ω(x) = W₀(eˣ), the solution of ω + log ω = x, for every double x (Corless &
/// Jeffrey, "The Wright ω function", 2002). Newton on r(w) = w + log w − x, which is concave
/// and increasing, from a start below the root, so the iterates rise monotonically and stay
/// positive: x − log x ≤ ω for x ≥ 1 (as ω ≤ x there), e^{x−1} < ω for x < 1 (as ω < 1).
/// Below x = −40, ω = eˣ(1 − eˣ + …) is eˣ to double precision.
inline double wright_omega(double x) {
  constexpr double kTiny = -40;
  constexpr int kMaxIterations = 100;  // from the starts above it takes at most ~8
  if (std::isnan(x) || x == std::numeric_limits<double>::infinity()) return x;
  if (x < kTiny) return std::exp(x);
  double w = x >= 1 ? x - std::log(x) : std::exp(x - 1);
  for (int k = 0; k < kMaxIterations; ++k) {
    const double step = (w + std::log(w) - x) * w / (1 + w);  // r(w) / r'(w)
    w -= step;
    if (!(std::abs(step) > 1e-17 * w)) break;
  }
  return w;
}

}  // namespace kant
