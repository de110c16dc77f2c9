// Shared by metrics that train a small network of their own (a retrained critic, a digit
// classifier): Adam (Kingma & Ba 2015) over a fixed parameter list, and a plain MLP.
#pragma once
#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "kant/layers.hpp"

namespace kant::fit {

/// θ ← θ − lr · m̂/(√v̂ + ε), m and v the bias-corrected moment estimates (β₁ 0.9, β₂ 0.999).
class Adam {
 public:
  Adam(std::vector<Tensor> params, float lr) : params_(std::move(params)), lr_(lr) {
    for (const Tensor& p : params_) {
      m_.emplace_back(static_cast<size_t>(p.numel()), 0.0f);
      v_.emplace_back(static_cast<size_t>(p.numel()), 0.0f);
    }
  }
  void step(const std::vector<Tensor>& grads) {
    ++t_;
    const float c1 = 1.0f - std::pow(0.9f, static_cast<float>(t_));
    const float c2 = 1.0f - std::pow(0.999f, static_cast<float>(t_));
    for (size_t k = 0; k < params_.size(); ++k) {
      float* w = params_[k].data();
      const float* g = grads[k].data();
      for (size_t j = 0; j < m_[k].size(); ++j) {
        m_[k][j] = 0.9f * m_[k][j] + 0.1f * g[j];
        v_[k][j] = 0.999f * v_[k][j] + 0.001f * g[j] * g[j];
        w[j] -= lr_ * (m_[k][j] / c1) / (std::sqrt(v_[k][j] / c2) + 1e-8f);
      }
    }
  }

 private:
  std::vector<Tensor> params_;
  float lr_;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m_, v_;
};

/// Flattened input → hidden layers (ReLU, or tanh) → linear output; features() is the last
/// hidden layer.
class Mlp : public Network {
 public:
  Mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out, Rng& rng,
      bool tanh_units = false)
      : tanh_(tanh_units) {
    std::vector<int64_t> widths{in};
    widths.insert(widths.end(), hidden.begin(), hidden.end());
    widths.push_back(out);
    for (size_t i = 0; i + 1 < widths.size(); ++i)
      layers_.emplace_back(*this, fmt::format("layers.{}", i), widths[i], widths[i + 1], true,
                           Init{}, rng);
  }
  Tensor features(const Tensor& x) const {
    Tensor h = reshape(x, {x.size(0), -1});
    for (size_t i = 0; i + 1 < layers_.size(); ++i)
      h = tanh_ ? kant::tanh(layers_[i](h)) : relu(layers_[i](h));
    return h;
  }
  Tensor forward(const Tensor& x) override { return layers_.back()(features(x)); }

 private:
  bool tanh_;
  std::vector<Linear> layers_;
};

}  // namespace kant::fit
