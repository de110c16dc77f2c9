// The f-divergences of f-GAN (Nowozin, Cseke & Tomioka 2016, Tables 1 and 2):
//   D_f(P‖Q) = ∫ q(x) f(p(x)/q(x)) dx ≥ sup_T E_P[T(x)] − E_Q[f*(T(x))]
// with the critic's raw output v mapped into dom f* by the output activation T = g_f(v).
// Each entry gives f, its convex conjugate f*(t) = sup_u (u·t − f(u)), g_f, dom f*, and the
// composition f*(g_f(v)) in closed forms that are stable for every v: in double (scalars) and
// in float (tensor ops, differentiable to second order). "Stable" means a relative error of a
// few ulps wherever the value is representable, ±Inf only where the true value overflows,
// never NaN; tests/conjugates_check.py checks this against mpmath over v ∈ [−1000, 1000].
// Shared by the `f_gan` objective, the `f_divergence_1d` metric and their tests.
//
// The forms avoid the three ways the textbook formulas fail: exp of a large argument (e.g.
// Jeffrey's W(e^{1−v}) for v < −87.7 in float), cancellation near a zero (1 − e^{−v} near
// v = 0: −expm1(−v) instead), and log(1 + eᵛ) losing eᵛ for v ≪ 0 (log1p(e^{−|v|}) instead).
//
// Jensen–Shannon convention: the paper's f(u) = u log u − (u+1) log((u+1)/2) gives
// D_f = 2·JSD (JSD with the ½ weights, in nats); the estimate reported is that D_f.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kant/ops.hpp"
#include "kant/special_functions.hpp"

namespace kant::fgan {

struct Divergence {
  const char* name;
  double (*f)(double u);
  double (*conjugate)(double t);                  ///< f*(t) on dom f*
  double (*activation)(double v);                 ///< g_f(v), stable for every double v
  double (*conjugate_of_activation_d)(double v);  ///< f*(g_f(v)), stable for every double v
  bool (*in_domain)(double t);
  Tensor (*activation_t)(const Tensor& v);             ///< g_f(v)
  Tensor (*conjugate_of_activation)(const Tensor& v);  ///< f*(g_f(v))
};

// ---- double-precision helpers ---------------------------------------------------------

/// Lambert W₀(x) for x ≥ 0 (through ω: W(x) = ω(log x)).
inline double lambert_w0(double x) { return x == 0 ? 0.0 : kant::wright_omega(std::log(x)); }

/// log(1 + eᵛ) with full relative accuracy for every v (eᵛ for v ≪ 0, v for v ≫ 0).
inline double softplus(double v) { return std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v))); }

/// Jeffrey's conjugate in parametric form. With ω = W(e^{1−t}) (so ω + log ω = 1 − t) and
/// u = −log ω, the table's f*(t) = ω + 1/ω + t − 2 becomes f*(t) = eᵘ − 1 + u, where u solves
/// u − expm1(−u) = t (increasing and concave in u). For t ≤ 2, u starts from ω (−log ω for
/// 1 − t ≥ 1, else ω − (1 − t), either without cancellation) and Newton steps on
/// u − expm1(−u) = t make it accurate relative to t itself, also near t = 0 where f* ≈ t.
/// For t > 2, u = t − 1 + ω and f* = e^{t−1}·e^ω + (t − 2 + ω), every term positive, so e^u
/// is not computed from a rounded u (whose error e^u would multiply by u); for t > 40,
/// ω < e^{−39} is below double precision relative to f* and f* = e^{t−1} + t − 2.
inline constexpr double kJeffreyLarge = 2, kJeffreyHuge = 40;
inline double jeffrey_u(double t) {
  const double x = 1 - t, w = kant::wright_omega(x);
  double u = x >= 1 ? -std::log(w) : w - x;
  for (int k = 0; k < 2; ++k) u -= (u - std::expm1(-u) - t) / (1 + std::exp(-u));
  return u;
}
inline double jeffrey_conjugate(double t) {
  if (t > kJeffreyHuge) return std::exp(t - 1) + (t - 2);
  if (t > kJeffreyLarge) {
    const double w = kant::wright_omega(1 - t);
    return std::exp(t - 1) * std::exp(w) + (t - 2 + w);
  }
  const double u = jeffrey_u(t);
  return std::expm1(u) + u;
}

/// Jensen–Shannon's g(v) = log 2 − log(1 + e^{−v}) = −log1p(expm1(−v)/2): that form for
/// v ≥ −1 (no overflow, no cancellation at the zero v = 0), v + log 2 − log1p(eᵛ) below.
inline double js_activation(double v) {
  return v >= -1 ? -std::log1p(std::expm1(-v) / 2) : v + std::log(2.0) - std::log1p(std::exp(v));
}

// ---- float tensor helpers (ops only, so that gradients of gradients work) --------------

/// where(v ≥ c, a(max(v, c)), b(min(v, c))): each branch sees only inputs on its side of c,
/// so the branch not taken stays finite and its zero weight never meets an Inf (0·Inf = NaN
/// in values and gradients). At v = c both count half (they agree there).
template <typename A, typename B>
Tensor split_at(const Tensor& v, float c, A a, B b) {
  constexpr float kBig = std::numeric_limits<float>::max();
  Tensor above = a(clamp(v, c, kBig)), below = b(clamp(v, -kBig, c));
  return where(step(v - c), above, below);
}

/// log(1 + eᵛ): log1p(eᵛ) for v ≤ 0 (relative accuracy where it is eᵛ ≪ 1), v + log1p(e^{−v})
/// above; the derivative σ(v) keeps its relative accuracy too (σ(v) ≈ eᵛ for v ≪ 0).
inline Tensor stable_softplus(const Tensor& v) {
  return split_at(
      v, 0.0f, [](const Tensor& x) { return add(x, log1p(kant::exp(neg(x)))); },
      [](const Tensor& x) { return log1p(kant::exp(x)); });
}

/// tanh(v) = (1 − e^{−2v})/(1 + e^{−2v}) for v ≥ 0 and its mirror, with expm1: the values as
/// accurate as tanh's, and the derivative 4e^{−2|v|}/(1 + e^{−2|v|})² without the cancellation
/// of 1 − tanh², which is 0 in float for |v| > 9.
inline Tensor stable_tanh(const Tensor& v) {
  auto positive = [](const Tensor& x) {
    Tensor e = kant::exp(x * -2.0f);
    return div(neg(expm1(x * -2.0f)), e + 1.0f);
  };
  return split_at(v, 0.0f, positive, [&](const Tensor& x) { return neg(positive(neg(x))); });
}

inline Tensor js_activation_t(const Tensor& v) {
  return split_at(
      v, -1.0f, [](const Tensor& x) { return neg(log1p(expm1(neg(x)) * 0.5f)); },
      [](const Tensor& x) { return sub(x + std::log(2.0f), log1p(kant::exp(x))); });
}

/// Jeffrey's f*(v) in float ops, in the three pieces of jeffrey_conjugate: u from Wright's ω
/// of 1 − v (−log ω as −log1p(ω − 1): oneDNN's log is off by ~1e−6 near 1) and one Newton
/// step for v ≤ 2; e^{v−1}·e^ω + (v − 2 + ω) up to 40; e^{v−1} + v − 2
/// beyond (where ω(1 − v) would underflow and its derivative meet an Inf).
inline Tensor jeffrey_conjugate_t(const Tensor& v) {
  auto huge = [](const Tensor& t) { return add(kant::exp(t - 1.0f), t - 2.0f); };
  auto large = [](const Tensor& t) {
    Tensor w = wright_omega(1.0f - t);
    return add(kant::exp(add(t - 1.0f, w)), add(t - 2.0f, w));
  };
  auto small = [](const Tensor& t) {
    Tensor x = 1.0f - t;
    Tensor u0 = split_at(
        x, 1.0f,
        [](const Tensor& y) { return neg(log1p(wright_omega(y) - 1.0f)); },  // ω − 1 is exact
        [](const Tensor& y) { return sub(wright_omega(y), y); });
    Tensor residual = sub(sub(u0, expm1(neg(u0))), t);
    Tensor u = sub(u0, div(residual, kant::exp(neg(u0)) + 1.0f));
    return add(expm1(u), u);
  };
  return split_at(v, static_cast<float>(kJeffreyHuge), huge, [&](const Tensor& t) {
    return split_at(t, static_cast<float>(kJeffreyLarge), large, small);
  });
}

// ---- the table -------------------------------------------------------------------------

inline const std::vector<Divergence>& divergences() {
  static const std::vector<Divergence> table{
      {"kl",  // f(u) = u log u;  f*(t) = exp(t − 1);  g(v) = v
       [](double u) { return u * std::log(u); }, [](double t) { return std::exp(t - 1); },
       [](double v) { return v; }, [](double v) { return std::exp(v - 1); },
       [](double) { return true; }, [](const Tensor& v) { return v; },
       [](const Tensor& v) { return kant::exp(v - 1.0f); }},
      {"reverse_kl",  // f(u) = −log u;  f*(t) = −1 − log(−t);  g(v) = −exp(−v)
       [](double u) { return -std::log(u); }, [](double t) { return -1 - std::log(-t); },
       [](double v) { return -std::exp(-v); }, [](double v) { return v - 1; },  // −1 − log(e^{−v})
       [](double t) { return t < 0; }, [](const Tensor& v) { return neg(kant::exp(neg(v))); },
       [](const Tensor& v) { return v - 1.0f; }},
      {"pearson",  // f(u) = (u − 1)²;  f*(t) = t²/4 + t = t(t/4 + 1);  g(v) = v
       [](double u) { return (u - 1) * (u - 1); }, [](double t) { return t * (t / 4 + 1); },
       [](double v) { return v; }, [](double v) { return v * (v / 4 + 1); },
       [](double) { return true; }, [](const Tensor& v) { return v; },
       [](const Tensor& v) { return mul(v, v * 0.25f + 1.0f); }},  // no cancellation at −4
      {"neyman",  // f(u) = (1 − u)²/u;  f*(t) = 2 − 2√(1 − t);  g(v) = 1 − exp(−v)
       [](double u) { return (1 - u) * (1 - u) / u; },
       [](double t) { return 2 - 2 * std::sqrt(1 - t); }, [](double v) { return -std::expm1(-v); },
       [](double v) { return -2 * std::expm1(-v / 2); },  // 2 − 2e^{−v/2}
       [](double t) { return t < 1; }, [](const Tensor& v) { return neg(expm1(neg(v))); },
       [](const Tensor& v) { return expm1(v * -0.5f) * -2.0f; }},
      {"hellinger",  // f(u) = (√u − 1)²;  f*(t) = t/(1 − t);  g(v) = 1 − exp(−v)
       [](double u) { return (std::sqrt(u) - 1) * (std::sqrt(u) - 1); },
       [](double t) { return t / (1 - t); }, [](double v) { return -std::expm1(-v); },
       [](double v) { return std::expm1(v); },  // (1 − e^{−v})/e^{−v}
       [](double t) { return t < 1; }, [](const Tensor& v) { return neg(expm1(neg(v))); },
       [](const Tensor& v) { return expm1(v); }},
      {"jeffrey",  // f(u) = (u − 1) log u;  f*(t) = W(e^{1−t}) + 1/W(e^{1−t}) + t − 2;  g(v) = v
       [](double u) { return (u - 1) * std::log(u); }, jeffrey_conjugate,
       [](double v) { return v; }, jeffrey_conjugate, [](double) { return true; },
       [](const Tensor& v) { return v; }, jeffrey_conjugate_t},
      {"jensen_shannon",  // f(u) = u log u − (u+1) log((u+1)/2);  f*(t) = −log(2 − eᵗ);
                          // g(v) = log 2 − log(1 + e^{−v}); f*(g(v)) = log((1 + eᵛ)/2) = −g(−v)
       [](double u) { return u * std::log(u) - (u + 1) * std::log((u + 1) / 2); },
       [](double t) { return -std::log(2 - std::exp(t)); }, js_activation,
       [](double v) { return -js_activation(-v); }, [](double t) { return t < std::log(2.0); },
       js_activation_t, [](const Tensor& v) { return neg(js_activation_t(neg(v))); }},
      {"gan",  // f(u) = u log u − (u+1) log(u+1);  f*(t) = −log(1 − eᵗ);  g(v) = −log(1 + e^{−v})
       [](double u) { return u * std::log(u) - (u + 1) * std::log(u + 1); },
       [](double t) { return -std::log(1 - std::exp(t)); }, [](double v) { return -softplus(-v); },
       [](double v) { return softplus(v); },  // −log(1 − σ(v))
       [](double t) { return t < 0; }, [](const Tensor& v) { return neg(stable_softplus(neg(v))); },
       stable_softplus},
      {"total_variation",  // f(u) = ½|u − 1|;  f*(t) = t on |t| ≤ ½;  g(v) = ½ tanh(v)
       [](double u) { return 0.5 * std::abs(u - 1); }, [](double t) { return t; },
       [](double v) { return 0.5 * std::tanh(v); }, [](double v) { return 0.5 * std::tanh(v); },
       [](double t) { return std::abs(t) <= 0.5; },
       [](const Tensor& v) { return stable_tanh(v) * 0.5f; },
       [](const Tensor& v) { return stable_tanh(v) * 0.5f; }},
  };
  return table;
}

inline const Divergence* find(const std::string& name) {
  for (const Divergence& d : divergences())
    if (name == d.name) return &d;
  return nullptr;
}

}  // namespace kant::fgan
