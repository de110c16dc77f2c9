// The GAN's iteration (see plugins/procedure/gan.cpp for its formulas) and its settings, for
// the procedures built on it: `gan` itself, `critic_only` (a critic trained against a frozen or
// fixed generator), and procedures outside the tree.
#pragma once
#include <cmath>
#include <tuple>

#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/layers.hpp"
#include "kant/ops.hpp"
#include "kant/procedure_steps.hpp"

namespace kant::procedures {

/// How the GAN steps its two networks; the names and defaults of the `train` keys that held
/// them before procedures owned their settings.
struct GanSettings {
  int64_t n_critic, n_generator;
  std::string updates, order;
  bool wgan_critic_schedule;
  int64_t unrolled_steps;
  Real unrolled_lr;           // may follow a schedule
  Real auxiliary_weight;      // may follow a schedule
  Real instance_noise;        // may follow a schedule
  Real historical_averaging;  // may follow a schedule
  std::string historical_networks;
  std::string feature_matching, feature_block;
  Real feature_weight;  // may follow a schedule
  std::string generator_batch;

  /// Whether a weight acts at some step: a schedule, or a constant other than 0.
  static bool acts(const Real& r) { return r.schedule() != nullptr || r.at(0) != 0; }
  bool historical_on(const char* network) const {
    return acts(historical_averaging) &&
           (historical_networks == "both" || historical_networks == network);
  }

  bool simultaneous() const { return updates == "simultaneous" || order == "simultaneous"; }
  bool generator_first() const { return order == "generator_first"; }

  static void declare(Declare<GanSettings>& d) {
    d(&GanSettings::n_critic, n_critic_param());
    d(&GanSettings::n_generator, n_generator_param());
    d(&GanSettings::updates,
      param::choice("updates", "alternating", {"alternating", "simultaneous"},
                    "alternating: n_critic critic steps, then a generator step on the updated "
                    "critic; simultaneous: both gradients at the same point, applied together"));
    d(&GanSettings::order, order_param(true));
    d(&GanSettings::wgan_critic_schedule,
      param::boolean("wgan_critic_schedule", false,
                     "WGAN's schedule: 100 critic steps for the first 25 generator steps and "
                     "every 500th (Arjovsky et al. 2017, reference code)"));
    d(&GanSettings::unrolled_steps,
      param::integer("unrolled_steps", 0,
                     "critic SGD steps the generator loss is "
                     "differentiated through (Metz et al. 2017; 0: none)")
          .at_least(0));
    d(&GanSettings::unrolled_lr,
      param::real("unrolled_lr", 1e-4, "step size of the unrolled critic steps").at_least(0));
    d(&GanSettings::auxiliary_weight,
      param::real("auxiliary_weight", 1.0,
                  "AC-GAN (Odena et al. 2017), with a critic whose condition is auxiliary: weight "
                  "w of the auxiliary classifier's cross-entropy, L_D + w·(CE(x, y) + CE(G(z, "
                  "y), y)) and L_G + w·CE(G(z, y), y)")
          .at_least(0)
          .added_later());
    d(&GanSettings::instance_noise,
      param::real("instance_noise", 0.0,
                  "instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017): std σ of the "
                  "Gaussian noise added to every input of the critic, real and generated, in "
                  "the critic and the generator steps, D(x + σε) and D(G(z) + σε'), ε, ε' ~ "
                  "N(0, I) from the cell's `instance_noise` stream (0: none, nothing drawn)")
          .at_least(0)
          .added_later());
    d(&GanSettings::historical_averaging,
      param::real("historical_averaging", 0.0,
                  "historical averaging (Salimans et al. 2016, §3.3): weight λ of the term "
                  "λ‖θ − θ̄‖² added to a network's loss, θ̄ = (1/t)Σ_{i<t} θ_i the mean of its "
                  "parameters before each of its t previous updates (no term before the first); "
                  "θ̄ is checkpointed (0: none)")
          .at_least(0)
          .added_later());
    d(&GanSettings::historical_networks,
      param::choice("historical_networks", "both", {"generator", "critic", "both"},
                    "the networks whose loss takes the historical-averaging term")
          .added_later()
          .only_beside("historical_averaging"));
    d(&GanSettings::feature_matching,
      param::choice("feature_matching", "none", {"none", "add", "replace"},
                    "feature matching (Salimans et al. 2016, §3.1): the generator's loss "
                    "L_FM = ‖mean_i f(x_i) − mean_j f(G(z_j))‖² on the critic's block f "
                    "(feature_block), the real features held fixed; add: L_G + w·L_FM, "
                    "replace: w·L_FM alone (w = feature_weight); none: L_G")
          .added_later());
    d(&GanSettings::feature_block,
      param::string("feature_block", "",
                    "the critic block feature matching reads, as the critic records it "
                    "(mlp: hidden<i>, dcgan and resnet: down<i>); empty: its last")
          .added_later()
          .only_beside("feature_matching"));
    d(&GanSettings::feature_weight,
      param::real("feature_weight", 1.0, "weight w of the feature-matching loss")
          .at_least(0)
          .added_later()
          .only_beside("feature_matching"));
    d(&GanSettings::generator_batch,
      param::choice("generator_batch", "fresh", {"fresh", "reuse"},
                    "the generator step's samples: fresh: G(z') of new noise z'; reuse: the "
                    "critic step's G(z), its forward pass kept with its graph, so that an "
                    "iteration runs the generator forward once (as PyTorch's DCGAN example; the "
                    "generator has not changed in between). reuse takes n_critic 1, n_generator "
                    "1, the critic first, no wgan_critic_schedule and unconditional networks")
          .added_later());
    d.check([](const GanSettings& s) -> std::string {
      if (s.generator_batch == "reuse" &&
          (s.simultaneous() || s.generator_first() || s.n_critic != 1 || s.n_generator != 1 ||
           s.wgan_critic_schedule))
        return "generator_batch: reuse reuses the one critic step's samples in the generator step "
               "that follows it: it takes alternating updates, the critic first, n_critic 1, "
               "n_generator 1 and no wgan_critic_schedule";
      if (s.feature_matching == "none" &&
          (!s.feature_block.empty() || s.feature_weight.schedule() || s.feature_weight.at(0) != 1))
        return "feature_block and feature_weight act only with feature_matching: add or replace";
      if (s.feature_matching != "none" && (s.simultaneous() || s.unrolled_steps > 0))
        return "feature_matching takes alternating updates without unrolled_steps";
      if (!acts(s.historical_averaging) && s.historical_networks != "both")
        return "historical_networks acts only with historical_averaging > 0";
      if (acts(s.instance_noise) && s.unrolled_steps > 0)
        return "instance_noise does not apply to unrolled critic steps: use one or the other";
      if (s.order == "generator_first" && s.updates == "simultaneous")
        return "order: generator_first contradicts updates: simultaneous";
      if (s.simultaneous() &&
          (s.n_critic != 1 || s.n_generator != 1 || s.wgan_critic_schedule || s.unrolled_steps > 0))
        return "simultaneous updates take one critic and one generator step at a time: "
               "n_critic and n_generator must be 1, without wgan_critic_schedule or "
               "unrolled_steps";
      return "";
    });
  }
};

/// What a GAN step records, each loss declared once.
struct GanLosses {
  double loss_critic = 0, penalty = 0, divergence_estimate = 0, loss_generator = 0;
  static void declare(DeclareLosses<GanLosses>& d) {
    d(&GanLosses::loss_critic, "loss_critic",
      "the critic loss L_D(D(x), D(G(z))) of the last critic step of each generator step, "
      "without penalty");
    d(&GanLosses::penalty, "penalty", "the Lipschitz penalty of that step (0 without one)");
    d(&GanLosses::divergence_estimate, "divergence_estimate",
      "the objective's divergence estimate at that step (W₁ for wasserstein, JSD for the GAN "
      "losses)");
    d(&GanLosses::loss_generator, "loss_generator", "the generator loss L_G(D(G(z)))");
  }
};

/// Historical averaging's terms (recorded only when historical_averaging > 0).
struct HistoricalLosses {
  double historical_critic = 0, historical_generator = 0;
  static void declare(DeclareLosses<HistoricalLosses>& d) {
    d(&HistoricalLosses::historical_critic, "historical_critic",
      "historical averaging: λ‖ψ − ψ̄‖² of the critic at its last step (0 when the critic takes "
      "no such term, or before its first update)");
    d(&HistoricalLosses::historical_generator, "historical_generator",
      "historical averaging: λ‖θ − θ̄‖² of the generator at its step (0 when it takes no such "
      "term, or before its first update)");
  }
};

/// Feature matching's term (recorded only with feature_matching: add or replace).
struct FeatureMatchingLosses {
  double feature_matching = 0;
  static void declare(DeclareLosses<FeatureMatchingLosses>& d) {
    d(&FeatureMatchingLosses::feature_matching, "feature_matching",
      "feature matching: ‖mean f(x) − mean f(G(z))‖² on the critic's feature_block at the "
      "generator step, before its weight");
  }
};

/// Feature matching's distance (Salimans et al. 2016, §3.1): ‖mean_i a_i − mean_j b_j‖² between
/// the row means of two feature batches [N, …] and [M, …] (each row flattened).
inline Tensor mean_feature_distance(const Tensor& a, const Tensor& b) {
  return sum(
      square(sub(mean(reshape(a, {a.size(0), -1}), {0}), mean(reshape(b, {b.size(0), -1}), {0}))));
}

/// The critic's recorded block `name` (its last when empty) after a forward pass with recording
/// on; an Error naming the blocks it records when it has no such one.
inline Tensor recorded_block(const Network& critic, const std::string& name) {
  const std::vector<Module::NamedTensor> blocks = critic.recorded();
  if (name.empty() && !blocks.empty()) return blocks.back().second;
  std::string names;
  for (const auto& [n, t] : blocks) {
    if (n == name) return t;
    names += (names.empty() ? "" : ", ") + n;
  }
  throw Error(name.empty() ? "the critic records no block (feature matching reads one)"
                           : "the critic records no block '" + name + "' (it records " +
                                 (names.empty() ? std::string("none") : names) + ")");
}

/// The running mean θ̄ of a network's parameters over the values they had before each of its
/// updates so far (Salimans et al. 2016, §3.3), and the term λ‖θ − θ̄‖² (summed over every
/// parameter's entries) it adds to the network's loss.
class HistoricalAverage {
 public:
  /// λ‖θ − θ̄‖², differentiable in θ; undefined before the first update (no past yet).
  Tensor penalty(const std::vector<Tensor>& params, double lambda) const {
    if (count_ == 0) return Tensor();
    Tensor total;
    for (size_t k = 0; k < params.size(); ++k) {
      Tensor d = sum(square(sub(params[k], mean_[k])));
      total = total.defined() ? add(total, d) : d;
    }
    return total * static_cast<float>(lambda);
  }
  /// Adds θ (as it is before the update about to be applied): θ̄ ← θ̄ + (θ − θ̄)/(t + 1).
  void record(const std::vector<Tensor>& params) {
    if (mean_.empty())
      for (const Tensor& p : params) mean_.push_back(Tensor::zeros(p.shape()));
    const float w = 1.0f / static_cast<float>(count_ + 1);
    for (size_t k = 0; k < params.size(); ++k) {
      float* m = mean_[k].data();
      const float* x = params[k].data();
      for (int64_t i = 0; i < params[k].numel(); ++i) m[i] += (x[i] - m[i]) * w;
    }
    ++count_;
  }
  int64_t count() const { return static_cast<int64_t>(count_); }
  const std::vector<Tensor>& mean() const { return mean_; }
  /// Into a component state under `prefix`: the mean of each parameter and the count.
  void save(ComponentState& s, const std::string& prefix) const {
    s.words[prefix + ".count"] = {count_};
    for (size_t k = 0; k < mean_.size(); ++k)
      s.tensors[prefix + "." + std::to_string(k)] = mean_[k].clone();
  }
  void load(const ComponentState& s, const std::string& prefix) {
    auto it = s.words.find(prefix + ".count");
    if (it == s.words.end() || it->second.empty()) return;
    count_ = it->second[0];
    mean_.clear();
    for (size_t k = 0;; ++k) {
      auto t = s.tensors.find(prefix + "." + std::to_string(k));
      if (t == s.tensors.end()) break;
      mean_.push_back(t->second.clone());
    }
  }

 private:
  std::vector<Tensor> mean_;
  uint64_t count_ = 0;
};

/// AC-GAN's auxiliary losses (recorded only when the critic has an auxiliary head).
struct AuxiliaryLosses {
  double loss_auxiliary_real = 0, loss_auxiliary_fake = 0;
  static void declare(DeclareLosses<AuxiliaryLosses>& d) {
    d(&AuxiliaryLosses::loss_auxiliary_real, "loss_auxiliary_real",
      "AC-GAN: the auxiliary classifier's cross-entropy on real samples against their labels, "
      "at the last critic step");
    d(&AuxiliaryLosses::loss_auxiliary_fake, "loss_auxiliary_fake",
      "AC-GAN: its cross-entropy on generated samples against the labels they were generated "
      "for, at the generator step");
  }
};

/// x + σε with ε ~ N(0, I) of x's shape from `rng` (instance noise); x itself, nothing drawn,
/// when σ = 0.
inline Tensor with_instance_noise(const Tensor& x, double sigma, Rng& rng) {
  if (sigma <= 0) return x;
  return add(x, rng.normal_tensor(x.shape(), 0.0f, static_cast<float>(sigma)));
}

/// A conditional network with its labels held fixed: forward(x) = net.forward_conditional(x, y)
/// on the same parameters, so that a Lipschitz penalty differentiates with respect to x only,
/// the label held fixed (the WGAN-GP paper's conditional CIFAR-10 code does the same).
class WithLabels : public Network {
 public:
  WithLabels(Network& net, Tensor y) : net_(net), y_(std::move(y)) {
    for (const auto& [name, p] : net.named_parameters()) register_parameter(name, p);
  }
  Tensor forward(const Tensor& x) override { return net_.forward_conditional(x, y_); }
  bool batch_independent() const override { return net_.batch_independent(); }
  int64_t pack() const override { return net_.pack(); }

 private:
  Network& net_;
  Tensor y_;
};

/// A generator against a critic, stepped as GanSettings say. Subclasses may replace step()
/// and reuse the critic and generator steps.
class Gan : public WithLosses<GanLosses> {
 public:
  struct Options {
    GanSettings settings;
    static void declare(Declare<Options>& d) { d.nested(&Options::settings); }
  };
  explicit Gan(const GanSettings& settings) : settings_(settings) {}
  explicit Gan(const Options& o) : Gan(o.settings) {}

  std::vector<std::string> network_names() const override { return {"generator", "critic"}; }

  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    return {{"generator", Role::generator, {noise_dim}, data}, {"critic", Role::critic, data, {1}}};
  }

  void set_up(TrainingContext& ctx) override {
    generator_ = &network(ctx, "generator");
    critic_ = &network(ctx, "critic");
    generator_optimizer_ = &ctx.optimizer("generator");
    critic_optimizer_ = &ctx.optimizer("critic");
    generator_params_ = generator_->parameters();
    critic_params_ = critic_->parameters();
    auxiliary_ = critic_->auxiliary_classes() > 0;
    conditional_ = generator_->label_classes() > 0 || critic_->label_classes() > 0 || auxiliary_;
    classes_ = ctx.dataset.classes();
    if (conditional_ && (settings_.simultaneous() || settings_.unrolled_steps > 0))
      throw Error(
          "conditional networks train with alternating updates without unrolled_steps (the "
          "simultaneous and unrolled steps take no labels)");
    if (conditional_ && settings_.generator_batch == "reuse")
      throw Error(
          "generator_batch: reuse takes unconditional networks (the critic step's samples carry "
          "the real batch's labels, the generator step draws its own)");
  }

  StepOutcome step(TrainingContext& ctx, int64_t step) override {
    StepOutcome out;
    bool ok =
        settings_.simultaneous() ? simultaneous_step(ctx, out) : alternating_step(ctx, step, out);
    if (ok) out.losses = all_losses();
    return out;
  }

  std::vector<std::string> loss_names() const override {
    std::vector<std::string> names = loss_names_of<GanLosses>();
    if (auxiliary_)
      for (const std::string& n : loss_names_of<AuxiliaryLosses>()) names.push_back(n);
    if (historical())
      for (const std::string& n : loss_names_of<HistoricalLosses>()) names.push_back(n);
    if (feature_matching())
      for (const std::string& n : loss_names_of<FeatureMatchingLosses>()) names.push_back(n);
    return names;
  }
  ComponentState state() const override {
    ComponentState s = losses_state(latest_);
    if (auxiliary_)
      for (auto& [name, words] : losses_state(auxiliary_latest_).words) s.words[name] = words;
    if (historical()) {
      for (auto& [name, words] : losses_state(historical_latest_).words) s.words[name] = words;
      critic_history_.save(s, "historical.critic");
      generator_history_.save(s, "historical.generator");
    }
    if (feature_matching())
      for (auto& [name, words] : losses_state(feature_latest_).words) s.words[name] = words;
    return s;
  }
  void load_state(const ComponentState& s) override {
    load_losses(s, latest_);
    if (auxiliary_) load_losses(s, auxiliary_latest_);
    if (historical()) {
      load_losses(s, historical_latest_);
      critic_history_.load(s, "historical.critic");
      generator_history_.load(s, "historical.generator");
    }
    if (feature_matching()) load_losses(s, feature_latest_);
  }

 protected:
  bool alternating_step(TrainingContext& ctx, int64_t step, StepOutcome& out) {
    const bool schedule = settings_.wgan_critic_schedule && (step <= 25 || step % 500 == 0);
    const int64_t n_critic = schedule ? 100 : settings_.n_critic;
    const bool reuse = settings_.generator_batch == "reuse";
    return alternate(
        settings_.generator_first(), n_critic, settings_.n_generator,
        [&] { return critic_step(ctx, out, reuse); }, [&] { return generator_step(ctx, out); });
  }

  // D(real) and D(fake); one forward pass over both when the critic treats rows independently
  // (one GEMM per layer, forward and backward).
  std::pair<Tensor, Tensor> critic_on(const Tensor& real, const Tensor& fake) {
    if (!critic_->batch_independent() || real.shape() != fake.shape())
      return {critic_->forward(real), critic_->forward(fake)};
    const int64_t n = real.size(0);
    Tensor d = critic_->forward(concat({real, fake}, 0));
    return {slice(d, 0, 0, n), slice(d, 0, n, 2 * n)};
  }

  // The critic's loss and penalty at (real, fake), plus `extra` (AC-GAN's cross-entropy) where
  // defined, and their gradient in its parameters; false on a non-finite value (nothing is
  // applied then). With labels y, the penalty differentiates D(·, y) in x, y held fixed.
  bool critic_gradient(TrainingContext& ctx, const Tensor& real, const Tensor& fake,
                       const Tensor& d_real, const Tensor& d_fake, std::vector<Tensor>& grads,
                       StepOutcome& out, const Tensor& y = Tensor(),
                       const Tensor& extra = Tensor()) {
    Tensor loss = ctx.targets_rng
                      ? ctx.objective->noisy_critic_loss(d_real, d_fake, *ctx.targets_rng)
                      : ctx.objective->critic_loss(d_real, d_fake);
    Tensor total = extra.defined() ? add(loss, extra) : loss;
    Tensor history;
    if (settings_.historical_on("critic")) {
      history = critic_history_.penalty(critic_params_, settings_.historical_averaging());
      if (history.defined()) total = add(total, history);
    }
    Tensor penalty;
    if (y.defined() && critic_->label_classes() > 0) {
      WithLabels labelled(*critic_, y);
      penalty = ctx.lipschitz.penalty(CriticBatch{labelled, real, fake, ctx.penalty_rng});
    } else {
      penalty = ctx.lipschitz.penalty(CriticBatch{*critic_, real, fake, ctx.penalty_rng});
    }
    std::vector<Tensor> g = grad({penalty.defined() ? add(total, penalty) : total}, critic_params_);
    latest_.loss_critic = loss.item();
    latest_.penalty = penalty.defined() ? penalty.item() : 0.0;
    latest_.divergence_estimate = ctx.objective->divergence_estimate(d_real, d_fake);
    historical_latest_.historical_critic = history.defined() ? history.item() : 0.0;
    if (!finite(out, "the critic loss", latest_.loss_critic) ||
        !finite(out, "the Lipschitz penalty", latest_.penalty) ||
        !finite(out, "the auxiliary cross-entropy", auxiliary_latest_.loss_auxiliary_real) ||
        !finite(out, "the critic's historical-averaging term",
                historical_latest_.historical_critic))
      return false;
    if (settings_.historical_on("critic")) critic_history_.record(critic_params_);
    grads = std::move(g);
    return true;
  }

  // Critic step. Unconditional: L_D(D(x), D(G(z))) + penalty. With labels: a real batch (x, y)
  // and generated samples G(z, y) for the same labels (as the WGAN-GP paper's conditional
  // code), so that every penalty point x̂ has the label y:
  //   L = L_D(D(x, y), D(G(z, y), y)) + penalty(D(·, y)) [+ w·(CE(C(x), y) + CE(C(G(z, y)), y))]
  // (C: the auxiliary head of an AC-GAN critic, whose D then takes no label.)
  // keep: G(z) is kept with its graph for the generator step (generator_batch: reuse).
  bool critic_step(TrainingContext& ctx, StepOutcome& out, bool keep = false) {
    ctx.lipschitz.before_critic_step(*critic_);
    const int64_t n = ctx.train.batch_size;
    const Batch real = draw_real(ctx, n);
    const Tensor y = labels_of(real.labels);
    Tensor fake;
    if (keep) {
      kept_fake_ = generate(ctx.noise(ctx.noise_rng, n), y);
      fake = kept_fake_.detach();
    } else {
      NoGradGuard no_grad;
      fake = generate(ctx.noise(ctx.noise_rng, n), y);
    }
    const Tensor x = noisy(ctx, real.x);
    fake = noisy(ctx, fake);
    Tensor d_real, d_fake, extra;
    if (!conditional_) {
      std::tie(d_real, d_fake) = critic_on(x, fake);
    } else {
      Tensor logits_real, logits_fake;
      std::tie(d_real, logits_real) = judge(x, y);
      std::tie(d_fake, logits_fake) = judge(fake, y);
      if (auxiliary_) {
        Tensor ce_real = cross_entropy(logits_real, y);
        extra = add(ce_real, cross_entropy(logits_fake, y)) *
                static_cast<float>(settings_.auxiliary_weight());
        auxiliary_latest_.loss_auxiliary_real = ce_real.item();
      }
    }
    std::vector<Tensor> grads;
    if (!critic_gradient(ctx, x, fake, d_real, d_fake, grads, out, y, extra)) return false;
    critic_optimizer_->step(critic_params_, grads);
    ctx.lipschitz.after_critic_step(*critic_);
    return true;
  }

  // Generator step: L_G(D(G(z))), unrolled where asked. With labels y' drawn as
  // generator.labels says (ctx.labels, after z): L_G(D(G(z, y'), y')) [+ w·CE(C(G(z, y')), y')].
  // With generator_batch: reuse, G(z) is the critic step's, with its graph (unconditional).
  bool generator_step(TrainingContext& ctx, StepOutcome& out) {
    const int64_t n = ctx.train.batch_size;
    Tensor fake, y;
    if (kept_fake_.defined()) {
      fake = std::move(kept_fake_);
      kept_fake_ = Tensor();
    } else {
      const Tensor z = ctx.noise(ctx.noise_rng, n);
      if (conditional_) y = one_hot(ctx.labels(ctx.noise_rng, n), classes_);
      fake = generate(z, y);
    }
    Batch real = ctx.objective->generator_needs_real() ? draw_real(ctx, n) : Batch{Tensor(), {}};
    fake = noisy(ctx, fake);
    if (real.x.defined()) real.x = noisy(ctx, real.x);
    Tensor loss, total;
    if (!conditional_) {
      loss = total = unrolled_generator_loss(ctx, fake, real.x);
    } else {
      auto [d_fake, logits_fake] = judge(fake, y);
      const Tensor d_real =
          real.x.defined() ? judge(real.x, labels_of(real.labels)).first : Tensor();
      loss = total = ctx.objective->generator_loss(d_real, d_fake);
      if (auxiliary_) {
        Tensor ce_fake = cross_entropy(logits_fake, y);
        total = add(loss, ce_fake * static_cast<float>(settings_.auxiliary_weight()));
        auxiliary_latest_.loss_auxiliary_fake = ce_fake.item();
      }
    }
    if (feature_matching()) {
      if (!real.x.defined()) {  // a real batch of its own, drawn only for feature matching
        real = draw_real(ctx, n);
        real.x = noisy(ctx, real.x);
      }
      const Tensor fm = feature_matching_loss(real.x, labels_of(real.labels), fake, y);
      feature_latest_.feature_matching = fm.item();
      const Tensor term = fm * static_cast<float>(settings_.feature_weight());
      total = settings_.feature_matching == "replace" ? term : add(total, term);
      if (!finite(out, "the feature-matching loss", feature_latest_.feature_matching)) return false;
    }
    const Tensor history = generator_history(total);
    std::vector<Tensor> grads = grad({total}, generator_params_);
    latest_.loss_generator = loss.item();
    if (!finite(out, "the generator loss", latest_.loss_generator) ||
        !finite(out, "the auxiliary cross-entropy", auxiliary_latest_.loss_auxiliary_fake) ||
        !generator_history_finite(out, history))
      return false;
    generator_optimizer_->step(generator_params_, grads);
    return true;
  }

  bool simultaneous_step(TrainingContext& ctx, StepOutcome& out) {
    // both gradients at the same (θ, ψ), then both updates
    ctx.lipschitz.before_critic_step(*critic_);
    Tensor real = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    Tensor fake = generator_->forward(ctx.noise(ctx.noise_rng, ctx.train.batch_size));
    real = noisy(ctx, real);
    fake = noisy(ctx, fake);
    Tensor d_real = critic_->forward(real);
    Tensor d_fake = critic_->forward(fake);
    // d_fake serves both losses: the critic's gradient stops at the critic's parameters
    std::vector<Tensor> critic_grads;
    if (!critic_gradient(ctx, real, fake.detach(), d_real, d_fake, critic_grads, out)) return false;
    Tensor loss = ctx.objective->generator_loss(
        ctx.objective->generator_needs_real() ? d_real : Tensor(), d_fake);
    Tensor total = loss;
    const Tensor history = generator_history(total);
    std::vector<Tensor> generator_grads = grad({total}, generator_params_);
    latest_.loss_generator = loss.item();
    if (!finite(out, "the generator loss", latest_.loss_generator) ||
        !generator_history_finite(out, history))
      return false;
    critic_optimizer_->step(critic_params_, critic_grads);
    ctx.lipschitz.after_critic_step(*critic_);
    generator_optimizer_->step(generator_params_, generator_grads);
    return true;
  }

  // The generator's loss on `fake`; with unrolling, against the critic after k differentiable
  // SGD steps on the same fake batch (so that it sees how the critic would react).
  Tensor unrolled_generator_loss(TrainingContext& ctx, const Tensor& fake, const Tensor& real) {
    const std::vector<Tensor>& params = critic_params_;
    std::vector<Tensor> theta = params;  // the unrolled critic's weights: alive until the loss
    if (settings_.unrolled_steps > 0) {
      auto substitute = [&](const std::string& name, const Tensor& w) {
        for (size_t i = 0; i < params.size(); ++i)
          if (params[i].impl() == w.impl())
            return ctx.lipschitz_transform ? ctx.lipschitz_transform(name, theta[i]) : theta[i];
        return w;
      };
      critic_->set_parameter_transform(substitute);
      for (int64_t k = 0; k < settings_.unrolled_steps; ++k) {
        Tensor loss = ctx.objective->critic_loss(
            critic_->forward(ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng)),
            critic_->forward(fake));
        std::vector<Tensor> g = grad({loss}, theta, {}, /*create_graph=*/true);
        const auto lr = static_cast<float>(settings_.unrolled_lr());
        for (size_t i = 0; i < theta.size(); ++i) theta[i] = sub(theta[i], g[i] * lr);
      }
    }
    Tensor d_real = ctx.objective->generator_needs_real() ? critic_->forward(real) : Tensor();
    Tensor loss = ctx.objective->generator_loss(d_real, critic_->forward(fake));
    critic_->set_parameter_transform(ctx.lipschitz_transform);
    return loss;
  }

  // Historical averaging of the generator: its term added to `total` where asked (undefined
  // otherwise, and before the generator's first update).
  Tensor generator_history(Tensor& total) {
    if (!settings_.historical_on("generator")) return Tensor();
    Tensor history =
        generator_history_.penalty(generator_params_, settings_.historical_averaging());
    if (history.defined()) total = add(total, history);
    return history;
  }
  // Records the term and checks it; on success θ (before the update) joins the mean.
  bool generator_history_finite(StepOutcome& out, const Tensor& history) {
    historical_latest_.historical_generator = history.defined() ? history.item() : 0.0;
    if (!finite(out, "the generator's historical-averaging term",
                historical_latest_.historical_generator))
      return false;
    if (settings_.historical_on("generator")) generator_history_.record(generator_params_);
    return true;
  }
  bool historical() const { return GanSettings::acts(settings_.historical_averaging); }

  // The critic's input with instance noise, where the settings ask for it (fresh noise for each
  // call, from the cell's instance_noise stream).
  Tensor noisy(TrainingContext& ctx, const Tensor& x) {
    if (!GanSettings::acts(settings_.instance_noise)) return x;
    if (!ctx.instance_noise_rng)
      throw Error("instance_noise needs the cell's instance_noise stream");
    return with_instance_noise(x, settings_.instance_noise(), *ctx.instance_noise_rng);
  }
  // A real batch, with its labels when a network is conditional (the same draws either way).
  Batch draw_real(TrainingContext& ctx, int64_t n) {
    if (conditional_) return ctx.dataset.sample_batch(n, ctx.data_rng);
    return {ctx.dataset.sample(n, ctx.data_rng), {}};
  }
  // One-hot rows of a batch's labels; undefined when no network is conditional.
  Tensor labels_of(const std::vector<int64_t>& labels) const {
    return conditional_ ? one_hot(labels, classes_) : Tensor();
  }
  // G(z, y) or G(z)
  Tensor generate(const Tensor& z, const Tensor& y) {
    return generator_->label_classes() > 0 ? generator_->forward_conditional(z, y)
                                           : generator_->forward(z);
  }
  // D(x, y) (or D(x)) and, for AC-GAN, the auxiliary head's logits
  std::pair<Tensor, Tensor> judge(const Tensor& x, const Tensor& y) {
    if (auxiliary_) return critic_->forward_auxiliary(x);
    if (critic_->label_classes() > 0) return {critic_->forward_conditional(x, y), Tensor()};
    return {critic_->forward(x), Tensor()};
  }
  bool feature_matching() const { return settings_.feature_matching != "none"; }
  // Feature matching (Salimans et al. 2016, §3.1): ‖mean_i f(x_i) − mean_j f(G(z_j))‖², f the
  // critic's feature_block recorded in a pass over each batch (labels as the critic takes them),
  // the real features without gradient.
  Tensor feature_matching_loss(const Tensor& real, const Tensor& y_real, const Tensor& fake,
                               const Tensor& y) {
    auto features = [&](const Tensor& x, const Tensor& labels) {
      critic_->set_recording(true);
      judge(x, labels);
      const Tensor f = recorded_block(*critic_, settings_.feature_block);
      critic_->set_recording(false);
      return f;
    };
    Tensor f_real;
    {
      NoGradGuard no_grad;
      f_real = features(real, y_real);
    }
    return mean_feature_distance(f_real, features(fake, y));
  }

  // The losses in loss_names() order.
  std::vector<std::pair<std::string, double>> all_losses() const {
    auto values = loss_values(latest_);
    if (auxiliary_)
      for (const auto& v : loss_values(auxiliary_latest_)) values.push_back(v);
    if (historical())
      for (const auto& v : loss_values(historical_latest_)) values.push_back(v);
    if (feature_matching())
      for (const auto& v : loss_values(feature_latest_)) values.push_back(v);
    return values;
  }

  bool conditional_ = false, auxiliary_ = false;
  int64_t classes_ = 0;
  AuxiliaryLosses auxiliary_latest_;
  FeatureMatchingLosses feature_latest_;
  HistoricalLosses historical_latest_;
  HistoricalAverage critic_history_, generator_history_;

  Network* generator_ = nullptr;
  Network* critic_ = nullptr;
  Optimizer* generator_optimizer_ = nullptr;
  Optimizer* critic_optimizer_ = nullptr;
  std::vector<Tensor> generator_params_, critic_params_;
  GanSettings settings_;
  Tensor kept_fake_;  // the critic step's G(z) with its graph (generator_batch: reuse)
};

}  // namespace kant::procedures
