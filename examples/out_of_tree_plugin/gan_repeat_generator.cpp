// Procedure `gan_repeat_generator`, written outside the tree from the public building blocks
// alone (kant/gan_steps.hpp): the GAN's iteration with `generator_steps` generator updates after
// the critic's, each on a fresh batch, as DCGAN's TensorFlow code (carpedm20/DCGAN-tensorflow)
// runs two so that the discriminator does not win too fast:
//   n_critic × ψ ← ψ − η∇ψ[L_D + penalty],  then generator_steps × θ ← θ − η∇θ L_G
// Losses, Lipschitz hooks, divergence checks and checkpoints are the GAN's.
#include "kant/gan_steps.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class RepeatGenerator : public procedures::Gan {
 public:
  struct Options {
    procedures::GanSettings gan;
    int64_t generator_steps;
    static void declare(Declare<Options>& d) {
      d.nested(&Options::gan);
      d(&Options::generator_steps,
        param::integer("generator_steps", 2, "generator updates per iteration").at_least(1));
      d.check([](const Options& o) {
        return o.gan.simultaneous() || o.gan.wgan_critic_schedule || o.gan.n_generator != 1
                   ? "gan_repeat_generator alternates n_critic steps (no simultaneous updates, "
                     "no WGAN schedule) with generator_steps generator steps (n_generator: 1)"
                   : "";
      });
    }
  };
  explicit RepeatGenerator(const Options& o) : Gan(o.gan), generator_steps_(o.generator_steps) {}

  StepOutcome step(TrainingContext& ctx, int64_t) override {
    StepOutcome out;
    auto generator_steps = [&] {
      for (int64_t k = 0; k < generator_steps_; ++k)
        if (!generator_step(ctx, out)) return false;
      return true;
    };
    if (procedures::alternate(
            settings_.generator_first(), settings_.n_critic, 1,
            [&] { return critic_step(ctx, out); }, generator_steps))
      out.losses = loss_values(latest_);
    return out;
  }

 private:
  int64_t generator_steps_;
};

}  // namespace

KANT_COMPONENT(RepeatGenerator, "gan_repeat_generator", "1.0.0",
               "the GAN with generator_steps generator updates per iteration after the critic's "
               "(DCGAN's TensorFlow code: 2)")
