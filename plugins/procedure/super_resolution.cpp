// Procedure `super_resolution` (Ledig et al. 2017, SRGAN; Lotter et al. 2016): the generator takes
// a low-resolution image x_lr = avgpool_f(x) of a data image x [C, H, W] (f × f blocks averaged:
// 28×28 → 14×14 for f = 2, 7×7 for f = 4) and returns an image of the data's size,
//   mse          θ ← θ − η ∇θ MSE,  MSE = 1/(N·C·H·W) Σ (G(x_lr) − x)²     (no critic)
//   adversarial  θ ← θ − η ∇θ L_G(D(G(x_lr)))                               (a GAN whose noise
//                is the low-resolution image)
//   both         θ ← θ − η ∇θ [MSE + λ·L_G(D(G(x_lr)))]    (SRGAN's weighting, λ = 10⁻³, with
//                the pixel MSE in place of its VGG content loss: its "SRResNet-MSE"/"SRGAN-MSE")
// and, with a critic, ψ ← ψ − η ∇ψ [L_D(D(x), D(G(x_lr))) + penalty] on a real batch x and the
// generator's output from that batch's pooled images (n_critic critic steps per generator step,
// in `order`); L_D, L_G the cell's objective, the penalty and hooks the cell's Lipschitz method
// on the critic. MSE alone trains no critic: the cell then has no critic, objective or
// Lipschitz block (they would have no effect). Lotter et al. 2016 and Ledig et al. 2017 show MSE
// alone gives blurry images (the mean of the plausible high-resolution images), the adversarial
// term sharp ones; the metric `super_resolution` measures both. generator_input() draws data
// images from the stream it is given and pools them, so that stored samples, snapshots and every
// metric see G(x_lr).
#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"
#include "kant/procedure_steps.hpp"

namespace {
using namespace kant;
using procedures::finite;

constexpr double kSrganWeight = 1e-3;  // Ledig et al. 2017, eq. 3

struct SuperResolutionLosses {
  double loss_critic = 0, penalty = 0, divergence_estimate = 0, loss_generator = 0, mse = 0,
         adversarial = 0;
  static void declare(DeclareLosses<SuperResolutionLosses>& d) {
    d(&SuperResolutionLosses::loss_critic, "loss_critic",
      "the critic loss L_D(D(x), D(G(x_lr))) of the last critic step, without penalty "
      "(loss: adversarial or both)");
    d(&SuperResolutionLosses::penalty, "penalty",
      "the Lipschitz penalty of that step (0 without one; loss: adversarial or both)");
    d(&SuperResolutionLosses::divergence_estimate, "divergence_estimate",
      "the objective's divergence estimate at that step (loss: adversarial or both)");
    d(&SuperResolutionLosses::loss_generator, "loss_generator",
      "the generator's loss: MSE + λ·L_G (both) or L_G (adversarial)");
    d(&SuperResolutionLosses::mse, "mse",
      "MSE = mean (G(x_lr) − x)² per pixel on the generator step's batch (minimised by loss: mse "
      "and both, recorded with adversarial)");
    d(&SuperResolutionLosses::adversarial, "adversarial",
      "L_G(D(G(x_lr))), the adversarial term before its weight λ (loss: adversarial or both)");
  }
};

class SuperResolution : public procedures::WithLosses<SuperResolutionLosses> {
 public:
  struct Options {
    int64_t factor;
    std::string loss;
    Real adversarial_weight;  // may follow a schedule
    procedures::Alternation alternation;
    static void declare(Declare<Options>& d) {
      d(&Options::factor,
        param::integer("factor", 4,
                       "f: the generator's input is the data image averaged over f × f blocks "
                       "(28×28 → 7×7 for 4, 14×14 for 2); f divides the image's height and width")
            .range(2, 8));
      d(&Options::loss, param::choice("loss", "both", {"mse", "adversarial", "both"},
                                      "the generator's loss: the pixel MSE to the true image "
                                      "(no critic), the objective's L_G alone, or MSE + λ·L_G"));
      d(&Options::adversarial_weight,
        param::real("adversarial_weight", kSrganWeight,
                    "λ, the adversarial term's weight with loss: both (SRGAN: 10⁻³)")
            .at_least(0));
      d.nested(&Options::alternation);
      d.check([](const Options& o) -> std::string {
        if (o.factor != 2 && o.factor != 4 && o.factor != 8) return "factor must be 2, 4 or 8";
        const bool weighted =
            o.adversarial_weight.schedule() || o.adversarial_weight.at(0) != kSrganWeight;
        if (weighted && o.loss != "both") return "adversarial_weight acts only with loss: both";
        if (o.loss == "mse" && (o.alternation.n_critic != 1 || o.alternation.generator_first()))
          return "n_critic and order act only on a critic, and loss: mse trains none";
        return "";
      });
    }
  };

  explicit SuperResolution(const Options& o)
      : factor_(o.factor),
        loss_(o.loss),
        weight_(o.adversarial_weight),
        alternation_(o.alternation) {}

  bool adversarial() const { return loss_ != "mse"; }
  std::vector<std::string> network_names() const override {
    if (!adversarial()) return {"generator"};
    return {"generator", "critic"};
  }
  bool uses_objective() const override { return adversarial(); }
  bool uses_lipschitz() const override { return adversarial(); }

  std::vector<NetworkRequest> networks(const Shape& data, int64_t) const override {
    const std::string why = image_divisible(data, factor_);
    if (!why.empty()) throw Error("super_resolution: " + why);
    std::vector<NetworkRequest> out{
        {"generator", Role::generator, {data[0], data[1] / factor_, data[2] / factor_}, data}};
    if (adversarial()) out.push_back({"critic", Role::critic, data, {1}});
    return out;
  }

  /// "" when `data` is an image [C, H, W] whose height and width f divides; else why not.
  static std::string image_divisible(const Shape& data, int64_t f) {
    if (data.size() != 3)
      return fmt::format("the data set's samples have shape {}, not an image [C, H, W]",
                         shape_str(data));
    if (data[1] % f != 0 || data[2] % f != 0)
      return fmt::format("factor {} does not divide the data's {}×{} images", f, data[1], data[2]);
    return "";
  }

  // the low-resolution images of n data images drawn from `rng`
  Tensor generator_input(TrainingContext& ctx, Rng& rng, int64_t n) override {
    return low_resolution(ctx.dataset.sample(n, rng));
  }

  void set_up(TrainingContext& ctx) override {
    generator_ = &procedures::network(ctx, "generator");
    generator_optimizer_ = &ctx.optimizer("generator");
    generator_params_ = generator_->parameters();
    if (!adversarial()) return;
    critic_ = &procedures::network(ctx, "critic");
    critic_optimizer_ = &ctx.optimizer("critic");
    critic_params_ = critic_->parameters();
  }

  std::vector<std::string> loss_names() const override {
    if (!adversarial()) return {"mse"};
    return loss_names_of<SuperResolutionLosses>();
  }

  StepOutcome step(TrainingContext& ctx, int64_t) override {
    StepOutcome out;
    const bool ok =
        adversarial()
            ? procedures::alternate(
                  alternation_.generator_first(), alternation_.n_critic, alternation_.n_generator,
                  [&] { return critic_step(ctx, out); }, [&] { return generator_step(ctx, out); })
            : procedures::alternate(
                  false, 0, alternation_.n_generator, [] { return true; },
                  [&] { return generator_step(ctx, out); });
    if (!ok) return out;
    if (adversarial()) {
      out.losses = loss_values(latest_);
    } else {
      out.losses = {{"mse", latest_.mse}};
    }
    return out;
  }

 private:
  Tensor low_resolution(const Tensor& x) const {
    NoGradGuard no_grad;
    return avg_pool2d(x, Pool2dOptions::square(factor_, factor_));
  }

  // L_D(D(x), D(G(x_lr))) + penalty on a real batch x and its own pooled images
  bool critic_step(TrainingContext& ctx, StepOutcome& out) {
    ctx.lipschitz.before_critic_step(*critic_);
    const Tensor real = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = generator_->forward(low_resolution(real));
    }
    const Tensor d_real = critic_->forward(real), d_fake = critic_->forward(fake);
    const Tensor loss = ctx.targets_rng
                            ? ctx.objective->noisy_critic_loss(d_real, d_fake, *ctx.targets_rng)
                            : ctx.objective->critic_loss(d_real, d_fake);
    const Tensor penalty =
        ctx.lipschitz.penalty(CriticBatch{*critic_, real, fake, ctx.penalty_rng});
    std::vector<Tensor> grads =
        grad({penalty.defined() ? add(loss, penalty) : loss}, critic_params_);
    latest_.loss_critic = loss.item();
    latest_.penalty = penalty.defined() ? penalty.item() : 0.0;
    latest_.divergence_estimate = ctx.objective->divergence_estimate(d_real, d_fake);
    if (!finite(out, "the critic loss", latest_.loss_critic) ||
        !finite(out, "the Lipschitz penalty", latest_.penalty))
      return false;
    critic_optimizer_->step(critic_params_, grads);
    ctx.lipschitz.after_critic_step(*critic_);
    return true;
  }

  // MSE, L_G or MSE + λ·L_G on a fresh batch x and G(x_lr)
  bool generator_step(TrainingContext& ctx, StepOutcome& out) {
    const Tensor x = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    const Tensor sr = generator_->forward(low_resolution(x));
    const Tensor mse = mean(square(sub(sr, x)));
    Tensor total = mse;
    if (adversarial()) {
      const Tensor d_real = ctx.objective->generator_needs_real() ? critic_->forward(x) : Tensor();
      const Tensor adv = ctx.objective->generator_loss(d_real, critic_->forward(sr));
      latest_.adversarial = adv.item();
      total = loss_ == "both" ? add(mse, adv * static_cast<float>(weight_())) : adv;
      if (!finite(out, "the adversarial loss", latest_.adversarial)) return false;
    }
    std::vector<Tensor> grads = grad({total}, generator_params_);
    latest_.mse = mse.item();
    latest_.loss_generator = total.item();
    if (!finite(out, "the generator loss", latest_.loss_generator) ||
        !finite(out, "the MSE", latest_.mse))
      return false;
    generator_optimizer_->step(generator_params_, grads);
    return true;
  }

  int64_t factor_;
  std::string loss_;
  Real weight_;
  procedures::Alternation alternation_;
  Network *generator_ = nullptr, *critic_ = nullptr;
  Optimizer *generator_optimizer_ = nullptr, *critic_optimizer_ = nullptr;
  std::vector<Tensor> generator_params_, critic_params_;
};

}  // namespace

KANT_PLUGIN("super_resolution", "1.0.0") {
  kant::Registration r = kant::component<SuperResolution>(
      "super_resolution", "1.0.0",
      "super-resolution (Ledig et al. 2017, SRGAN; Lotter et al. 2016): G maps the data image "
      "average-pooled by f back to full size, trained on the pixel MSE, the adversarial loss, or "
      "MSE + λ·L_G (λ = 10⁻³); the critic judges full-size images");
  r.requirements.rules.push_back({"image data [C, H, W] whose height and width the factor divides",
                                  [](const kant::Params& p, kant::CellView& cell) -> std::string {
                                    return SuperResolution::image_divisible(
                                        cell.dataset().sample_shape(), p.integer("factor"));
                                  }});
  r.requirements.rules.push_back(
      {"a generator block without noise settings (its input is the low-resolution image)",
       [](const kant::Params&, kant::CellView& cell) -> std::string {
         if (cell.noise_dim() != 2 || cell.noise_kind() != "normal")
           return "the generator block sets noise_dim or noise, which this procedure never draws";
         return "";
       }});
  registrar.add(std::move(r));
}
