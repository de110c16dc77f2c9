// The f-divergences of f-GAN (Nowozin, Cseke & Tomioka 2016, Tables 1 and 2):
//   D_f(P‖Q) = ∫ q(x) f(p(x)/q(x)) dx ≥ sup_T E_P[T(x)] − E_Q[f*(T(x))]
// with the critic's raw output v mapped into dom f* by the output activation T = g_f(v).
// Each entry gives f, its convex conjugate f*(t) = sup_u (u·t − f(u)), g_f, dom f*, and the
// composition f*(g_f(v)) in a numerically stable closed form. Shared by the `f_gan` objective
// and its conformance tests.
//
// Jensen–Shannon convention: the paper's f(u) = u log u − (u+1) log((u+1)/2) gives
// D_f = 2·JSD (JSD with the ½ weights, in nats); the estimate reported is that D_f.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "kant/ops.hpp"

namespace kant::fgan {

struct Divergence {
  const char* name;
  double (*f)(double u);
  double (*conjugate)(double t);
  double (*activation)(double v);
  bool (*in_domain)(double t);
  Tensor (*activation_t)(const Tensor& v);          ///< g_f(v)
  Tensor (*conjugate_of_activation)(const Tensor& v);  ///< f*(g_f(v))
};

inline double lambert_w0(double x) {  // principal branch, x ≥ 0 here
  double w = x < 3 ? std::log1p(x) : std::log(x) - std::log(std::log(x));
  for (int k = 0; k < 60; ++k) {
    double e = std::exp(w), f = w * e - x;
    double step = f / (e * (w + 1) - (w + 2) * f / (2 * w + 2));
    w -= step;
    if (std::abs(step) < 1e-15 * (1 + std::abs(w))) break;
  }
  return w;
}

inline const std::vector<Divergence>& divergences() {
  static const std::vector<Divergence> table{
      {"kl",  // f(u) = u log u;  f*(t) = exp(t − 1);  g(v) = v
       [](double u) { return u * std::log(u); }, [](double t) { return std::exp(t - 1); },
       [](double v) { return v; }, [](double) { return true; }, [](const Tensor& v) { return v; },
       [](const Tensor& v) { return kant::exp(v - 1.0f); }},
      {"reverse_kl",  // f(u) = −log u;  f*(t) = −1 − log(−t);  g(v) = −exp(−v)
       [](double u) { return -std::log(u); }, [](double t) { return -1 - std::log(-t); },
       [](double v) { return -std::exp(-v); }, [](double t) { return t < 0; },
       [](const Tensor& v) { return neg(kant::exp(neg(v))); },
       [](const Tensor& v) { return v - 1.0f; }},  // −1 − log(exp(−v))
      {"pearson",  // f(u) = (u − 1)²;  f*(t) = t²/4 + t;  g(v) = v
       [](double u) { return (u - 1) * (u - 1); }, [](double t) { return t * t / 4 + t; },
       [](double v) { return v; }, [](double) { return true; }, [](const Tensor& v) { return v; },
       [](const Tensor& v) { return add(square(v) * 0.25f, v); }},
      {"neyman",  // f(u) = (1 − u)²/u;  f*(t) = 2 − 2√(1 − t);  g(v) = 1 − exp(−v)
       [](double u) { return (1 - u) * (1 - u) / u; },
       [](double t) { return 2 - 2 * std::sqrt(1 - t); }, [](double v) { return 1 - std::exp(-v); },
       [](double t) { return t < 1; }, [](const Tensor& v) { return 1.0f - kant::exp(neg(v)); },
       [](const Tensor& v) { return 2.0f - 2.0f * kant::exp(v * -0.5f); }},  // 2 − 2e^{−v/2}
      {"hellinger",  // f(u) = (√u − 1)²;  f*(t) = t/(1 − t);  g(v) = 1 − exp(−v)
       [](double u) { return (std::sqrt(u) - 1) * (std::sqrt(u) - 1); },
       [](double t) { return t / (1 - t); }, [](double v) { return 1 - std::exp(-v); },
       [](double t) { return t < 1; }, [](const Tensor& v) { return 1.0f - kant::exp(neg(v)); },
       [](const Tensor& v) { return kant::exp(v) - 1.0f; }},  // (1 − e^{−v})/e^{−v}
      {"jeffrey",  // f(u) = (u − 1) log u;  f*(t) = W(e^{1−t}) + 1/W(e^{1−t}) + t − 2;  g(v) = v
       [](double u) { return (u - 1) * std::log(u); },
       [](double t) {
         double w = lambert_w0(std::exp(1 - t));
         return w + 1 / w + t - 2;
       },
       [](double v) { return v; }, [](double) { return true; }, [](const Tensor& v) { return v; },
       [](const Tensor& v) {
         Tensor w = lambert_w(kant::exp(1.0f - v));
         return add(add(w, div(Tensor::ones(w.shape()), w)), v - 2.0f);
       }},
      {"jensen_shannon",  // f(u) = u log u − (u+1) log((u+1)/2);  f*(t) = −log(2 − eᵗ);
                          // g(v) = log 2 − log(1 + e^{−v})
       [](double u) { return u * std::log(u) - (u + 1) * std::log((u + 1) / 2); },
       [](double t) { return -std::log(2 - std::exp(t)); },
       [](double v) { return std::log(2.0) - std::log1p(std::exp(-v)); },
       [](double t) { return t < std::log(2.0); },
       [](const Tensor& v) { return std::log(2.0f) - softplus(neg(v)); },
       [](const Tensor& v) { return softplus(v) - std::log(2.0f); }},  // −log(2(1 − σ(v)))
      {"gan",  // f(u) = u log u − (u+1) log(u+1);  f*(t) = −log(1 − eᵗ);  g(v) = −log(1 + e^{−v})
       [](double u) { return u * std::log(u) - (u + 1) * std::log(u + 1); },
       [](double t) { return -std::log(1 - std::exp(t)); },
       [](double v) { return -std::log1p(std::exp(-v)); }, [](double t) { return t < 0; },
       [](const Tensor& v) { return neg(softplus(neg(v))); },
       [](const Tensor& v) { return softplus(v); }},  // −log(1 − σ(v))
      {"total_variation",  // f(u) = ½|u − 1|;  f*(t) = t on |t| ≤ ½;  g(v) = ½ tanh(v)
       [](double u) { return 0.5 * std::abs(u - 1); }, [](double t) { return t; },
       [](double v) { return 0.5 * std::tanh(v); }, [](double t) { return std::abs(t) <= 0.5; },
       [](const Tensor& v) { return kant::tanh(v) * 0.5f; },
       [](const Tensor& v) { return kant::tanh(v) * 0.5f; }},
  };
  return table;
}

inline const Divergence* find(const std::string& name) {
  for (const Divergence& d : divergences())
    if (name == d.name) return &d;
  return nullptr;
}

}  // namespace kant::fgan
