// Shared by the procedures: the finite check that ends a cell as diverged before an update is
// applied, doubles kept exactly in a component's state (the latest losses), and the order of
// alternating updates.
#pragma once
#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <string>
#include <string_view>

#include "kant/components.hpp"

namespace kant::procedures {

/// False, with `out.diverged` saying which value went bad, when `value` is not finite.
inline bool finite(StepOutcome& out, std::string_view what, double value) {
  if (std::isfinite(value)) return true;
  out.diverged = fmt::format("{} became {}", what, value);
  return false;
}

inline void put(ComponentState& s, const std::string& name, double v) {
  s.words[name] = {std::bit_cast<uint64_t>(v)};
}
inline double get(const ComponentState& s, const std::string& name, double fallback = 0) {
  auto it = s.words.find(name);
  return it == s.words.end() || it->second.empty() ? fallback
                                                   : std::bit_cast<double>(it->second[0]);
}

/// One iteration of alternating updates in the order `train.order` asks: `n_critic` critic
/// steps then the generator step (critic_first), or the generator step first
/// (generator_first). False as soon as a step returns false (it diverged).
template <typename CriticStep, typename GeneratorStep>
bool alternate(const TrainSettings& train, int64_t n_critic, CriticStep critic_step,
               GeneratorStep generator_step) {
  if (train.generator_first && !generator_step()) return false;
  for (int64_t k = 0; k < n_critic; ++k)
    if (!critic_step()) return false;
  return train.generator_first || generator_step();
}

/// The parameters of a network the procedure asked for, by name.
inline Network& network(TrainingContext& ctx, const std::string& name) {
  auto it = ctx.networks.find(name);
  if (it == ctx.networks.end() || !it->second)
    throw Error("the procedure has no network '" + name + "'");
  return *it->second;
}

}  // namespace kant::procedures
