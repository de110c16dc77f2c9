// Building blocks of training procedures, public so that a procedure outside the tree copies
// nothing: the check that ends a cell as diverged before an update is applied, the alternation
// of critic and generator updates (`n_critic`, `order`) with its options, the networks a
// procedure asked for, and declared losses kept exactly in checkpoints. The GAN's iteration is
// kant/gan_steps.hpp, the joint-critic iteration of ALI/VEEGAN kant/joint_steps.hpp.
#pragma once
#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <string>
#include <string_view>

#include "kant/components.hpp"
#include "kant/options.hpp"
#include "kant/plugin.hpp"

namespace kant::procedures {

/// False, with `out.diverged` saying which value went bad, when `value` is not finite.
inline bool finite(StepOutcome& out, std::string_view what, double value) {
  if (std::isfinite(value)) return true;
  out.diverged = fmt::format("{} became {}", what, value);
  return false;
}

/// The network of that config block the procedure asked for.
inline Network& network(TrainingContext& ctx, const std::string& name) {
  auto it = ctx.networks.find(name);
  if (it == ctx.networks.end() || !it->second)
    throw Error("the procedure has no network '" + name + "'");
  return *it->second;
}

/// The schema entries of alternating updates, shared by every procedure that alternates (their
/// names and defaults are those of the `train` block that held them before procedures owned
/// them, so that old experiment files and cell ids stay valid).
inline ParamSpec n_critic_param() {
  return param::integer("n_critic", 1, "critic steps per generator step").at_least(1);
}
/// Added after cells were stored: at its default 1 it is not part of a cell's id.
inline ParamSpec n_generator_param() {
  return param::integer("n_generator", 1,
                        "generator steps per iteration, each on a fresh batch (StudioGAN's "
                        "g_updates_per_step); scheduled values are read at the iteration's step")
      .at_least(1)
      .added_later();
}
inline ParamSpec order_param(bool simultaneous) {
  std::vector<std::string> orders{"critic_first", "generator_first"};
  if (simultaneous) orders.push_back("simultaneous");
  return param::choice(
      "order", "critic_first", orders,
      simultaneous
          ? "the order of one iteration's updates: n_critic critic steps then the generator "
            "step (critic_first), the generator step then the critic steps "
            "(generator_first), or both from the same point (simultaneous: the same as "
            "updates: simultaneous)"
          : "the order of one iteration's updates: n_critic critic steps then the "
            "generator step (critic_first), or the generator step then the critic steps "
            "(generator_first)");
}

/// n_critic critic steps and n_generator generator steps per iteration, in either order.
struct Alternation {
  int64_t n_critic = 1;
  int64_t n_generator = 1;
  std::string order = "critic_first";
  bool generator_first() const { return order == "generator_first"; }
  static void declare(Declare<Alternation>& d) {
    d(&Alternation::n_critic, n_critic_param());
    d(&Alternation::n_generator, n_generator_param());
    d(&Alternation::order, order_param(false));
  }
};

/// One iteration of alternating updates: `n_critic` critic steps then `n_generator` generator
/// steps, or the generator steps first (`generator_first`). False as soon as a step returns
/// false (it diverged).
template <typename CriticStep, typename GeneratorStep>
bool alternate(bool generator_first, int64_t n_critic, int64_t n_generator, CriticStep critic_step,
               GeneratorStep generator_step) {
  auto generator_steps = [&] {
    for (int64_t k = 0; k < n_generator; ++k)
      if (!generator_step()) return false;
    return true;
  };
  if (generator_first && !generator_steps()) return false;
  for (int64_t k = 0; k < n_critic; ++k)
    if (!critic_step()) return false;
  return generator_first || generator_steps();
}

/// A procedure's declared losses (DeclareLosses) as component state, exactly: the latest values
/// carry over into the record of an iteration that follows a restored checkpoint.
template <typename L>
ComponentState losses_state(const L& l) {
  ComponentState s;
  for (const auto& [name, value] : loss_values(l)) s.words[name] = {std::bit_cast<uint64_t>(value)};
  return s;
}
template <typename L>
void load_losses(const ComponentState& s, L& l) {
  const auto& d = losses_of<L>();
  for (size_t i = 0; i < d.members().size(); ++i) {
    auto it = s.words.find(d.stores()[i].name);
    l.*(d.members()[i]) =
        it == s.words.end() || it->second.empty() ? 0.0 : std::bit_cast<double>(it->second[0]);
  }
}

/// A procedure whose losses are declared in L (DeclareLosses): its loss names, and the latest
/// values, `latest_`, kept in checkpoints so that they carry over into the next record.
template <typename L>
class WithLosses : public Procedure {
 public:
  using Losses = L;
  std::vector<std::string> loss_names() const override { return loss_names_of<L>(); }
  ComponentState state() const override { return losses_state(latest_); }
  void load_state(const ComponentState& s) override { load_losses(s, latest_); }

 protected:
  L latest_;
};

}  // namespace kant::procedures
