// Procedure `critic_only`: a critic trained against a generator that does not learn — to study
// the critic itself, as two papers do:
//  - WGAN-GP (Gulrajani et al. 2017, Figure 1a): the critic "trained to optimality" against a
//    fixed generator that is the data plus noise, `fake: data_plus_noise`, G = x + s·ε, ε ~ N(0,
//    I);
//  - Arjovsky & Bottou 2017 (Figure 2): a GAN trained for `pretrain_steps` iterations as `gan`
//    does, then its generator frozen and a fresh critic (re-initialised, new optimizer moments)
//    trained alone, while metrics such as `generator_gradient` follow the generator's gradient.
// Each iteration after pretraining is one critic update (n_critic of them with `n_critic`),
// with the Lipschitz hooks around it; `loss_generator` reports the objective's generator loss on
// the batch, unapplied.
#include "kant/gan_steps.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;
using procedures::finite;

class CriticOnly : public procedures::Gan {
 public:
  struct Options {
    std::string fake;
    Real noise_std;  // may follow a schedule
    int64_t pretrain_steps;
    bool reset_critic;
    procedures::GanSettings gan;  // n_critic after pretraining; all of them during it
    static void declare(Declare<Options>& d) {
      d(&Options::fake,
        param::choice("fake", "data_plus_noise", {"data_plus_noise", "generator"},
                      "the critic's fake samples: x + s·ε from the data, or the generator's"));
      d(&Options::noise_std,
        param::real("noise_std", 1.0, "s, the noise of data_plus_noise").at_least(0));
      d(&Options::pretrain_steps, param::integer("pretrain_steps", 0,
                                                 "GAN iterations (as `gan`) before the generator "
                                                 "is frozen (fake: generator)")
                                      .at_least(0));
      d(&Options::reset_critic,
        param::boolean("reset_critic", true,
                       "re-initialise the critic when the generator freezes"));
      d.nested(&Options::gan);
      d.check([](const Options& o) {
        if (o.fake == "data_plus_noise" && o.pretrain_steps > 0)
          return "critic_only: pretrain_steps needs fake: generator";
        if (o.gan.feature_matching != "none" && o.pretrain_steps == 0)
          return "critic_only: feature_matching acts on the generator steps of pretraining "
                 "only: give pretrain_steps";
        if (o.gan.generator_batch != "fresh" && o.pretrain_steps == 0)
          return "critic_only: generator_batch acts on the generator steps of pretraining "
                 "only: give pretrain_steps";
        return "";
      });
    }
  };
  // the GAN's losses, as this procedure means them
  struct Losses : procedures::GanLosses {
    static void declare(DeclareLosses<Losses>& d) {
      d(&Losses::loss_critic, "loss_critic",
        "the critic loss L_D(D(x), D(fake)) of the iteration's last critic step, without penalty");
      d(&Losses::penalty, "penalty", "the Lipschitz penalty of that step (0 without one)");
      d(&Losses::divergence_estimate, "divergence_estimate",
        "the objective's divergence estimate at that step");
      d(&Losses::loss_generator, "loss_generator",
        "the objective's generator loss on the batch, not applied after pretraining");
    }
  };

  explicit CriticOnly(const Options& o)
      : Gan(o.gan),
        data_plus_noise_(o.fake == "data_plus_noise"),
        noise_std_(o.noise_std),
        pretrain_(o.pretrain_steps),
        reset_(o.reset_critic) {}

  void set_up(TrainingContext& ctx) override {
    Gan::set_up(ctx);
    if (pretrain_ > 0)
      fresh_optimizer_ = &ctx.optimizer("critic");  // new moments for the new critic
  }

  StepOutcome step(TrainingContext& ctx, int64_t step) override {
    if (step <= pretrain_) return Gan::step(ctx, step);
    if (step == pretrain_ + 1 && pretrain_ > 0) {
      if (reset_) ctx.reinitialize("critic");
      critic_optimizer_ = fresh_optimizer_;
    }
    StepOutcome out;
    for (int64_t k = 0; k < settings_.n_critic; ++k)
      if (!critic_update(ctx, out)) return out;
    out.losses = all_losses();
    return out;
  }

  std::optional<Tensor> samples(TrainingContext&, Dataset& data, Rng& rng, int64_t n) override {
    if (!data_plus_noise_) return std::nullopt;
    return fixed_fake(data, rng, n);
  }

  ComponentState state() const override {
    ComponentState s = Gan::state();
    s.words["frozen"] = {
        static_cast<uint64_t>(critic_optimizer_ == fresh_optimizer_ && fresh_optimizer_)};
    return s;
  }
  void load_state(const ComponentState& s) override {
    Gan::load_state(s);
    if (auto it = s.words.find("frozen");
        it != s.words.end() && !it->second.empty() && it->second[0])
      critic_optimizer_ = fresh_optimizer_;
  }

 private:
  Tensor fixed_fake(Dataset& data, Rng& rng, int64_t n) {
    Tensor x = data.sample(n, rng);
    return add(x, rng.normal_tensor(x.shape(), 0.0f, static_cast<float>(noise_std_())));
  }

  bool critic_update(TrainingContext& ctx, StepOutcome& out) {
    ctx.lipschitz.before_critic_step(*critic_);
    Tensor real = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = data_plus_noise_ ? fixed_fake(ctx.dataset, ctx.data_rng, ctx.train.batch_size)
                              : generator_->forward(ctx.noise(ctx.noise_rng, ctx.train.batch_size));
    }
    real = noisy(ctx, real);
    fake = noisy(ctx, fake);
    auto [d_real, d_fake] = critic_on(real, fake);
    std::vector<Tensor> grads;
    if (!critic_gradient(ctx, real, fake, d_real, d_fake, grads, out)) return false;
    {
      NoGradGuard no_grad;
      latest_.loss_generator = ctx.objective->generator_loss(d_real, d_fake).item();
    }
    critic_optimizer_->step(critic_params_, grads);
    ctx.lipschitz.after_critic_step(*critic_);
    return true;
  }

  bool data_plus_noise_;
  Real noise_std_;
  int64_t pretrain_;
  bool reset_;
  Optimizer* fresh_optimizer_ = nullptr;
};

}  // namespace

KANT_COMPONENT(CriticOnly, "critic_only", "1.1.0",
               "a critic trained against a generator that does not learn: the data plus noise "
               "(WGAN-GP, Gulrajani et al. 2017, Fig. 1a), or a GAN's generator frozen after "
               "pretrain_steps with a fresh critic (Arjovsky & Bottou 2017, Fig. 2)")
