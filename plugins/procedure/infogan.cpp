// Procedure `infogan` (Chen et al. 2016, InfoGAN): the generator's input is [z, c] with a
// categorical code c_cat (one-hot of K classes, uniform) and continuous codes c_cont ~ U[−1, 1];
// the critic has 1 + K + C outputs: the score D(x) and a Q head sharing its body, Q_cat logits
// and Q_cont means. Both players also minimise the information loss, a variational lower bound
// on the mutual information I(c; G(z, c)) (eq. 4; kant/procedure_losses.hpp):
//   critic    L_D + λ·L_I(Q(G(z, c)), c) + penalty      (Q learns with the critic's body)
//   generator L_G + λ·L_I(Q(G(z, c)), c)
// with L_D, L_G the cell's objective. Penalties and metrics see the score D alone.
#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"
#include "kant/procedure_losses.hpp"
#include "kant/procedure_steps.hpp"

namespace {
using namespace kant;
using procedures::finite;

// The critic's first output alone (what penalties, Lipschitz hooks' bounds and metrics read),
// sharing its parameters.
class ScoreHead : public Network {
 public:
  explicit ScoreHead(Network& critic) : critic_(critic) {}
  Tensor forward(const Tensor& x) override { return slice(critic_.forward(x), 1, 0, 1); }
  bool batch_independent() const override { return critic_.batch_independent(); }
  int64_t pack() const override { return critic_.pack(); }
  void set_recording(bool on) override { critic_.set_recording(on); }
  std::vector<NamedTensor> recorded() const override { return critic_.recorded(); }

 private:
  Network& critic_;
};

struct InfoGanLosses {
  double loss_critic = 0, penalty = 0, divergence_estimate = 0, loss_generator = 0, information = 0;
  static void declare(DeclareLosses<InfoGanLosses>& d) {
    d(&InfoGanLosses::loss_critic, "loss_critic",
      "the critic loss of the last critic step, without penalty or information term");
    d(&InfoGanLosses::penalty, "penalty", "the Lipschitz penalty of that step (0 without one)");
    d(&InfoGanLosses::divergence_estimate, "divergence_estimate",
      "the objective's divergence estimate at that step");
    d(&InfoGanLosses::loss_generator, "loss_generator",
      "the generator loss, without the information term");
    d(&InfoGanLosses::information, "information",
      "L_I = λ_cat CE(Q_cat, c) + λ_cont ½‖Q_cont − c_cont‖², the mutual-information term");
  }
};

class InfoGan : public procedures::WithLosses<InfoGanLosses> {
 public:
  struct Options {
    int64_t categories, continuous;
    Real lambda_categorical, lambda_continuous;  // each may follow a schedule
    procedures::Alternation alternation;
    static void declare(Declare<Options>& d) {
      d(&Options::categories,
        param::integer("categories", 10, "classes K of the categorical code (0: none)")
            .at_least(0));
      d(&Options::continuous,
        param::integer("continuous", 2, "continuous codes (0: none)").at_least(0));
      d(&Options::lambda_categorical,
        param::real("lambda_categorical", 1.0, "λ of the categorical code's term").at_least(0));
      d(&Options::lambda_continuous,
        param::real("lambda_continuous", 0.1, "λ of the continuous codes' term").at_least(0));
      d.nested(&Options::alternation);
      d.check([](const Options& o) {
        return o.categories + o.continuous == 0
                   ? "infogan needs a code: categories or continuous > 0"
                   : "";
      });
    }
  };

  explicit InfoGan(const Options& o)
      : categories_(o.categories),
        continuous_(o.continuous),
        lambda_cat_(o.lambda_categorical),
        lambda_cont_(o.lambda_continuous),
        alternation_(o.alternation) {}

  std::vector<std::string> network_names() const override { return {"generator", "critic"}; }

  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    return {{"generator", Role::generator, {noise_dim + categories_ + continuous_}, data},
            {"critic", Role::critic, data, {1 + categories_ + continuous_}}};
  }

  Tensor generator_input(TrainingContext& ctx, Rng& rng, int64_t n) override {
    return input(ctx, rng, n, -1);
  }
  int64_t categories() const override { return categories_; }
  Tensor generator_input_for_category(TrainingContext& ctx, Rng& rng, int64_t n,
                                      int64_t category) override {
    return input(ctx, rng, n, category);
  }
  Network* scoring_critic(TrainingContext&) override { return head_.get(); }

  void set_up(TrainingContext& ctx) override {
    generator_ = &procedures::network(ctx, "generator");
    critic_ = &procedures::network(ctx, "critic");
    head_ = std::make_unique<ScoreHead>(*critic_);
    generator_optimizer_ = &ctx.optimizer("generator");
    critic_optimizer_ = &ctx.optimizer("critic");
    generator_params_ = generator_->parameters();
    critic_params_ = critic_->parameters();
  }

  StepOutcome step(TrainingContext& ctx, int64_t) override {
    StepOutcome out;
    if (procedures::alternate(
            alternation_.generator_first(), alternation_.n_critic, alternation_.n_generator,
            [&] { return critic_step(ctx, out); }, [&] { return generator_step(ctx, out); }))
      out.losses = loss_values(latest_);
    return out;
  }

 private:
  // [z, one-hot(c_cat), c_cont]; c_cat uniform, or `category` when it is ≥ 0
  Tensor input(TrainingContext& ctx, Rng& rng, int64_t n, int64_t category) {
    Tensor z = ctx.noise(rng, n);
    Tensor one_hot = Tensor::zeros({n, categories_});
    for (int64_t i = 0; i < n && categories_ > 0; ++i) {
      const int64_t c = category >= 0
                            ? category
                            : static_cast<int64_t>(rng.below(static_cast<uint64_t>(categories_)));
      one_hot.data()[i * categories_ + c] = 1;
    }
    Tensor cont = rng.uniform_tensor({n, continuous_}, -1.0f, 1.0f);
    return concat({z, one_hot, cont}, 1);
  }

  // L_I of the critic's Q outputs on generated samples against the codes they were made from
  Tensor information_loss(const Tensor& out, const Tensor& codes, int64_t noise_dim) {
    const int64_t k = categories_, c = continuous_;
    return losses::infogan_information_loss(
        slice(out, 1, 1, 1 + k), slice(codes, 1, noise_dim, noise_dim + k),
        slice(out, 1, 1 + k, 1 + k + c), slice(codes, 1, noise_dim + k, noise_dim + k + c),
        static_cast<float>(lambda_cat_()), static_cast<float>(lambda_cont_()));
  }

  bool critic_step(TrainingContext& ctx, StepOutcome& out) {
    ctx.lipschitz.before_critic_step(*critic_);
    Tensor real = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    Tensor codes = generator_input(ctx, ctx.noise_rng, ctx.train.batch_size);
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = generator_->forward(codes);
    }
    const int64_t noise_dim = codes.size(1) - categories_ - continuous_;
    Tensor out_fake = critic_->forward(fake);
    Tensor d_real = head_->forward(real), d_fake = slice(out_fake, 1, 0, 1);
    Tensor loss = ctx.targets_rng
                      ? ctx.objective->noisy_critic_loss(d_real, d_fake, *ctx.targets_rng)
                      : ctx.objective->critic_loss(d_real, d_fake);
    Tensor info = information_loss(out_fake, codes, noise_dim);
    Tensor penalty = ctx.lipschitz.penalty(CriticBatch{*head_, real, fake, ctx.penalty_rng});
    Tensor total = add(loss, info);
    std::vector<Tensor> grads =
        grad({penalty.defined() ? add(total, penalty) : total}, critic_params_);
    latest_.loss_critic = loss.item();
    latest_.penalty = penalty.defined() ? penalty.item() : 0.0;
    latest_.divergence_estimate = ctx.objective->divergence_estimate(d_real, d_fake);
    if (!finite(out, "the critic loss", latest_.loss_critic) ||
        !finite(out, "the Lipschitz penalty", latest_.penalty) ||
        !finite(out, "the information loss", info.item()))
      return false;
    critic_optimizer_->step(critic_params_, grads);
    ctx.lipschitz.after_critic_step(*critic_);
    return true;
  }

  bool generator_step(TrainingContext& ctx, StepOutcome& out) {
    Tensor codes = generator_input(ctx, ctx.noise_rng, ctx.train.batch_size);
    const int64_t noise_dim = codes.size(1) - categories_ - continuous_;
    Tensor out_fake = critic_->forward(generator_->forward(codes));
    Tensor real = ctx.objective->generator_needs_real()
                      ? head_->forward(ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng))
                      : Tensor();
    Tensor loss = ctx.objective->generator_loss(real, slice(out_fake, 1, 0, 1));
    Tensor info = information_loss(out_fake, codes, noise_dim);
    std::vector<Tensor> grads = grad({add(loss, info)}, generator_params_);
    latest_.loss_generator = loss.item();
    latest_.information = info.item();
    if (!finite(out, "the generator loss", latest_.loss_generator) ||
        !finite(out, "the information loss", latest_.information))
      return false;
    generator_optimizer_->step(generator_params_, grads);
    return true;
  }

  int64_t categories_, continuous_;
  Real lambda_cat_, lambda_cont_;
  procedures::Alternation alternation_;
  Network *generator_ = nullptr, *critic_ = nullptr;
  std::unique_ptr<ScoreHead> head_;
  Optimizer *generator_optimizer_ = nullptr, *critic_optimizer_ = nullptr;
  std::vector<Tensor> generator_params_, critic_params_;
};

}  // namespace

KANT_COMPONENT(
    InfoGan, "infogan", "1.0.0",
    "InfoGAN (Chen et al. 2016): codes c = (one-hot categorical, U[−1,1] continuous) in the "
    "generator's input, a Q head on the critic's body, both players minimise "
    "λ_cat·CE(Q_cat, c_cat) + λ_cont·½‖Q_cont − c_cont‖², a bound on −I(c; G(z, c))")
