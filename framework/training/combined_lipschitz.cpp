// Several Lipschitz methods as one (see combined_lipschitz.hpp).
#include "training/combined_lipschitz.hpp"

#include <algorithm>

#include "kant/ops.hpp"

namespace kant {

bool CombinedLipschitz::transforms_weights() const {
  return std::any_of(methods_.begin(), methods_.end(),
                     [](const auto& m) { return m->transforms_weights(); });
}

Tensor CombinedLipschitz::transform_weight(const std::string& name, const Tensor& value) {
  Tensor w = value;
  for (const auto& m : methods_)
    if (m->transforms_weights()) w = m->transform_weight(name, w);
  return w;
}

Tensor CombinedLipschitz::penalty(const CriticBatch& b) {
  Tensor total;
  for (const auto& m : methods_) {
    Tensor p = m->penalty(b);
    if (p.defined()) total = total.defined() ? add(total, p) : p;
  }
  return total;
}

void CombinedLipschitz::before_critic_step(Network& critic) {
  for (const auto& m : methods_) m->before_critic_step(critic);
}

void CombinedLipschitz::after_critic_step(Network& critic) {
  for (const auto& m : methods_) m->after_critic_step(critic);
}

std::optional<double> CombinedLipschitz::lipschitz_bound(const Network& critic) {
  std::optional<double> best;
  for (const auto& m : methods_)
    if (auto b = m->lipschitz_bound(critic)) best = best ? std::min(*best, *b) : *b;
  return best;
}

ComponentState CombinedLipschitz::state() const {
  ComponentState all;
  for (size_t i = 0; i < methods_.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    ComponentState s = methods_[i]->state();
    for (auto& [k, t] : s.tensors) all.tensors[prefix + k] = t;
    for (auto& [k, w] : s.words) all.words[prefix + k] = w;
  }
  return all;
}

void CombinedLipschitz::load_state(const ComponentState& all) {
  for (size_t i = 0; i < methods_.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    ComponentState s;
    for (const auto& [k, t] : all.tensors)
      if (k.rfind(prefix, 0) == 0) s.tensors[k.substr(prefix.size())] = t;
    for (const auto& [k, w] : all.words)
      if (k.rfind(prefix, 0) == 0) s.words[k.substr(prefix.size())] = w;
    methods_[i]->load_state(s);
  }
}

}  // namespace kant
