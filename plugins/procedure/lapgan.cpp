// Procedure `lapgan` (Denton et al. 2015, Deep Generative Image Models using a Laplacian Pyramid
// of Adversarial Networks): a pyramid of generators, coarse to fine, each with its own critic.
// The real image I_0 is reduced to a Gaussian pyramid I_0 → I_1 → … → I_K (kant/
// laplacian_pyramid.hpp: f×f average pooling down, nearest-neighbour up), level k's band-pass
// h_k = I_k − l_k with l_k = up(I_{k+1}). Each level trains on the real pyramid, independently:
//   coarsest  G_K: z → I_K,                     critic D_K(I_K)              (a GAN at size S_K)
//   finer     G_k: [z_k, l_k] → ĥ_k (z_k noise planes beside l_k as channels),
//             critic D_k([h_k, l_k]) against D_k([ĥ_k, l_k])
// with the cell's objective: critic L_D(D(real), D(fake)) + penalty, generator L_G(D(fake)),
// n_critic critic steps and n_generator generator steps per level and iteration. Sampling runs
// the pyramid coarse to fine, Ĩ_K = G_K(z_K), Ĩ_k = up(Ĩ_{k+1}) + G_k(z_k, up(Ĩ_{k+1})): metrics,
// the stored samples and those during training see Ĩ_0 (Procedure::sample_batch), and the
// report shows every level (arrays/lapgan/levels). CC-LAPGAN (the paper's class-conditional
// model): networks with `condition` take the one-hot class y as well — the critics of a real
// batch's level with its labels, the generators with the labels of the real images whose l_k
// they refine, the coarsest generator's step with labels drawn as generator.labels says.
// Config blocks: generator and critic (the coarsest level), generator_<S> and critic_<S> for
// every finer size S. The cell's Lipschitz penalty and step hooks act on every level's critic;
// a method that reparameterises weights (spectral_norm) acts on `critic` alone, and the finer
// critics take their own through critic_<S>_lipschitz. Likewise `critic.pack` packs the coarsest
// critic alone (PacGAN at that level).
#include <fmt/format.h>

#include "kant/gan_steps.hpp"
#include "kant/laplacian_pyramid.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

// The four losses each level records, in this order, suffixed with the level's size.
const std::vector<std::pair<std::string, std::string>> kLevelLosses{
    {"loss_critic", "L_D of the level's last critic step, without penalty"},
    {"penalty", "the Lipschitz penalty of that step (0 without one)"},
    {"divergence_estimate", "the objective's divergence estimate at that step"},
    {"loss_generator", "L_G of the level's last generator step"}};

class Lapgan : public Procedure {
 public:
  struct Options {
    std::vector<int64_t> sizes;
    int64_t noise_channels, level_samples;
    procedures::Alternation alternation;
    static void declare(Declare<Options>& d) {
      d(&Options::sizes,
        param::integers("sizes", {7, 14, 28},
                        "the pyramid's image sizes, coarse to fine; the last is the data's, each "
                        "divides the next (the coarsest level is `generator`/`critic`, a finer "
                        "size S is `generator_S`/`critic_S`)")
            .at_least(1));
      d(&Options::noise_channels,
        param::integer("noise_channels", 1,
                       "noise planes z_k ~ N(0, I) [channels, S, S] beside l_k in a finer "
                       "level's generator input")
            .at_least(1));
      d(&Options::level_samples,
        param::integer("level_samples", 16,
                       "samples stored at every level of the pyramid for the report "
                       "(arrays/lapgan/levels; 0: none)")
            .at_least(0));
      d.nested(&Options::alternation);
      d.check([](const Options& o) -> std::string {
        if (o.sizes.size() < 2) return "a pyramid takes at least two sizes";
        for (size_t i = 1; i < o.sizes.size(); ++i)
          if (o.sizes[i] <= o.sizes[i - 1] || o.sizes[i] % o.sizes[i - 1] != 0)
            return fmt::format("sizes ascend, each dividing the next: {} then {}", o.sizes[i - 1],
                               o.sizes[i]);
        return "";
      });
    }
  };
  explicit Lapgan(const Options& o) : o_(o), latest_(o.sizes.size() * kLevelLosses.size(), 0.0) {}

  static std::vector<StoredValue> stored() {
    std::vector<StoredValue> out;
    for (const auto& [name, doc] : kLevelLosses)
      out.push_back(stored::series(name + "_<size>", doc + ", at the pyramid level of that size"));
    out.push_back(stored::array("levels",
                                "[L, n, C, S, S]: level_samples samples at every level Ĩ_K … Ĩ_0 "
                                "of the pyramid (coarse to fine), each resized to the data's S "
                                "(nearest neighbour)"));
    out.push_back(stored::array("sizes", "[L]: the levels' sizes"));
    out.push_back(stored::array("labels", "[n]: the class each column was asked for (CC-LAPGAN)"));
    return out;
  }

  static MetricRequirements requirements() {
    return {{{"square image data [C, S, S] whose S is the last of `sizes`",
              [](const Params& p, CellView& cell) -> std::string {
                const Shape s = cell.dataset().sample_shape();
                const int64_t last = p.integers("sizes").back();
                if (s.size() == 3 && s[1] == last && s[2] == last) return "";
                return fmt::format("the data set's samples have shape {} and sizes end at {}",
                                   shape_str(s), last);
              }},
             {"no weight average of the generator (train.ema: 0; the pyramid has several)",
              [](const Params&, CellView& cell) -> std::string {
                return cell.train().averages() ? "train.ema is set" : "";
              }}}};
  }

  std::vector<std::string> network_names() const override {
    std::vector<std::string> names;
    for (size_t i = 0; i < o_.sizes.size(); ++i) {
      names.push_back(generator_name(i));
      names.push_back(critic_name(i));
    }
    return names;
  }

  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    if (data.size() != 3)
      throw Error(
          fmt::format("lapgan needs image data [C, S, S]; the samples are {}", shape_str(data)));
    const int64_t c = data[0];
    std::vector<NetworkRequest> out;
    for (size_t i = 0; i < o_.sizes.size(); ++i) {
      const int64_t s = o_.sizes[i];
      if (i == 0) {
        out.push_back({generator_name(i), Role::generator, {noise_dim}, {c, s, s}});
        out.push_back({critic_name(i), Role::critic, {c, s, s}, {1}});
      } else {
        out.push_back(
            {generator_name(i), Role::generator, {o_.noise_channels + c, s, s}, {c, s, s}});
        out.push_back({critic_name(i), Role::critic, {2 * c, s, s}, {1}});
      }
    }
    return out;
  }

  // the finer critics judge [h, l], not a sample: metrics see none
  bool shows_critic() const override { return false; }

  void set_up(TrainingContext& ctx) override {
    levels_.clear();
    for (size_t i = 0; i < o_.sizes.size(); ++i) {
      Level l;
      l.size = o_.sizes[i];
      l.generator = &procedures::network(ctx, generator_name(i));
      l.critic = &procedures::network(ctx, critic_name(i));
      l.generator_optimizer = &ctx.optimizer(generator_name(i));
      l.critic_optimizer = &ctx.optimizer(critic_name(i));
      l.generator_params = l.generator->parameters();
      l.critic_params = l.critic->parameters();
      if (l.critic->auxiliary_classes() > 0)
        throw Error("lapgan: the critics take the class by concat or projection, not auxiliary");
      conditional_ =
          conditional_ || l.generator->label_classes() > 0 || l.critic->label_classes() > 0;
      levels_.push_back(l);
    }
    classes_ = ctx.dataset.classes();
  }

  std::vector<std::string> loss_names() const override {
    std::vector<std::string> names;
    for (int64_t s : o_.sizes)
      for (const auto& [name, doc] : kLevelLosses) names.push_back(fmt::format("{}_{}", name, s));
    return names;
  }

  StepOutcome step(TrainingContext& ctx, int64_t) override {
    StepOutcome out;
    for (size_t k = 0; k < levels_.size(); ++k) {
      const bool ok = procedures::alternate(
          o_.alternation.generator_first(), o_.alternation.n_critic, o_.alternation.n_generator,
          [&] { return critic_step(ctx, k, out); }, [&] { return generator_step(ctx, k, out); });
      if (!ok) return out;
    }
    const std::vector<std::string> names = loss_names();
    for (size_t i = 0; i < names.size(); ++i) out.losses.emplace_back(names[i], latest_[i]);
    return out;
  }

  std::optional<Batch> sample_batch(TrainingContext& ctx, Rng& rng, int64_t n,
                                    std::optional<int64_t> label) override {
    std::vector<int64_t> labels;
    std::vector<Tensor> levels = run_pyramid(ctx, rng, n, label, labels);
    return Batch{levels.back(), std::move(labels)};
  }

  std::map<std::string, Tensor> final_arrays(TrainingContext& ctx, Rng& rng) override {
    const int64_t n = o_.level_samples;
    if (n == 0) return {};
    std::vector<int64_t> labels;
    if (conditional_)  // the classes in turn, one per column
      for (int64_t i = 0; i < n; ++i) labels.push_back(i % classes_);
    std::vector<Tensor> levels = run_pyramid(ctx, rng, n, std::nullopt, labels);
    const int64_t size = o_.sizes.back();
    std::vector<Tensor> shown;
    for (const Tensor& l : levels)
      shown.push_back(reshape(pyramid::up(l, size), {1, n, l.size(1), size, size}));
    std::vector<float> sizes, as_float;
    for (int64_t s : o_.sizes) sizes.push_back(static_cast<float>(s));
    std::map<std::string, Tensor> out{
        {"levels", concat(shown, 0)},
        {"sizes", Tensor::from({static_cast<int64_t>(sizes.size())}, sizes)}};
    if (!labels.empty()) {
      for (int64_t l : labels) as_float.push_back(static_cast<float>(l));
      out["labels"] = Tensor::from({n}, as_float);
    }
    return out;
  }

  ComponentState state() const override {
    ComponentState s;
    const std::vector<std::string> names = loss_names();
    for (size_t i = 0; i < names.size(); ++i)
      s.words[names[i]] = {std::bit_cast<uint64_t>(latest_[i])};
    return s;
  }
  void load_state(const ComponentState& s) override {
    const std::vector<std::string> names = loss_names();
    for (size_t i = 0; i < names.size(); ++i) {
      auto it = s.words.find(names[i]);
      latest_[i] =
          it == s.words.end() || it->second.empty() ? 0.0 : std::bit_cast<double>(it->second[0]);
    }
  }

 private:
  struct Level {
    int64_t size = 0;
    Network* generator = nullptr;
    Network* critic = nullptr;
    Optimizer* generator_optimizer = nullptr;
    Optimizer* critic_optimizer = nullptr;
    std::vector<Tensor> generator_params, critic_params;
  };

  std::string generator_name(size_t i) const {
    return i == 0 ? "generator" : fmt::format("generator_{}", o_.sizes[i]);
  }
  std::string critic_name(size_t i) const {
    return i == 0 ? "critic" : fmt::format("critic_{}", o_.sizes[i]);
  }
  double& latest(size_t level, size_t loss) { return latest_[level * kLevelLosses.size() + loss]; }

  // net(x) or net(x, y) where the network takes the class
  static Tensor apply(Network& net, const Tensor& x, const Tensor& y) {
    return net.label_classes() > 0 ? net.forward_conditional(x, y) : net.forward(x);
  }

  // Level k's generator: G_K(z, y) at the coarsest level, else G_k([z_k, low], y) with fresh
  // noise planes z_k from `rng`.
  Tensor generate(size_t k, Rng& rng, const Tensor& z, const Tensor& low, const Tensor& y) {
    const Level& l = levels_[k];
    if (k == 0) return apply(*l.generator, z, y);
    const Tensor planes = rng.normal_tensor({low.size(0), o_.noise_channels, l.size, l.size});
    return apply(*l.generator, concat({planes, low}, 1), y);
  }

  // The pyramid coarse to fine: Ĩ_K = G_K(z, y), Ĩ_k = up(Ĩ_{k+1}) + G_k(z_k, up(Ĩ_{k+1}), y);
  // every level's image. The labels (conditional networks): `labels` where given, else `label`
  // for every sample, else drawn as in training after z, from the same stream.
  std::vector<Tensor> run_pyramid(TrainingContext& ctx, Rng& rng, int64_t n,
                                  std::optional<int64_t> label, std::vector<int64_t>& labels) {
    NoGradGuard no_grad;
    const Tensor z = ctx.noise(rng, n);
    Tensor y;
    if (conditional_) {
      if (labels.empty())
        labels = label ? std::vector<int64_t>(static_cast<size_t>(n), *label) : ctx.labels(rng, n);
      y = one_hot(labels, classes_);
    }
    std::vector<Tensor> images{generate(0, rng, z, Tensor(), y)};
    for (size_t k = 1; k < levels_.size(); ++k) {
      const Tensor low = pyramid::up(images.back(), levels_[k].size);
      images.push_back(add(low, generate(k, rng, Tensor(), low, y)));
    }
    return images;
  }

  // A real batch at level k: what the level's critic judges (I_K, or [h_k, l_k]), the low-pass
  // image l_k (undefined at the coarsest level) and the one-hot labels (conditional networks).
  struct Real {
    Tensor judged, low, y;
  };
  Real draw_real(TrainingContext& ctx, size_t k, int64_t n) {
    const Batch b = conditional_ ? ctx.dataset.sample_batch(n, ctx.data_rng)
                                 : Batch{ctx.dataset.sample(n, ctx.data_rng), {}};
    Real r;
    if (conditional_) r.y = one_hot(b.labels, classes_);
    const Tensor fine = pyramid::down(b.x, levels_[k].size);
    if (k == 0) {
      r.judged = fine;
      return r;
    }
    const pyramid::Band band = pyramid::band(fine, pyramid::down(fine, levels_[k - 1].size));
    r.low = band.low;
    r.judged = concat({band.high, band.low}, 1);
    return r;
  }

  // What level k's critic judges for a generated band ĥ (or image) given l.
  static Tensor judged(const Tensor& made, const Tensor& low) {
    return low.defined() ? concat({made, low}, 1) : made;
  }

  // Level k's critic step: L_D(D(real), D(fake)) + penalty, the labels held fixed in the penalty.
  bool critic_step(TrainingContext& ctx, size_t k, StepOutcome& out) {
    Level& l = levels_[k];
    ctx.lipschitz.before_critic_step(*l.critic);
    const int64_t n = ctx.train.batch_size;
    const Real real = draw_real(ctx, k, n);
    Tensor fake;
    {
      NoGradGuard no_grad;
      const Tensor z = k == 0 ? ctx.noise(ctx.noise_rng, n) : Tensor();
      fake = judged(generate(k, ctx.noise_rng, z, real.low, real.y), real.low);
    }
    const Tensor d_real = apply(*l.critic, real.judged, real.y);
    const Tensor d_fake = apply(*l.critic, fake, real.y);
    const Tensor loss = ctx.targets_rng
                            ? ctx.objective->noisy_critic_loss(d_real, d_fake, *ctx.targets_rng)
                            : ctx.objective->critic_loss(d_real, d_fake);
    Tensor penalty;
    if (l.critic->label_classes() > 0) {
      procedures::WithLabels labelled(*l.critic, real.y);
      penalty = ctx.lipschitz.penalty(CriticBatch{labelled, real.judged, fake, ctx.penalty_rng});
    } else {
      penalty = ctx.lipschitz.penalty(CriticBatch{*l.critic, real.judged, fake, ctx.penalty_rng});
    }
    const std::vector<Tensor> grads =
        grad({penalty.defined() ? add(loss, penalty) : loss}, l.critic_params);
    latest(k, 0) = loss.item();
    latest(k, 1) = penalty.defined() ? penalty.item() : 0.0;
    latest(k, 2) = ctx.objective->divergence_estimate(d_real, d_fake);
    const std::string level = fmt::format(" of level {}", l.size);
    if (!procedures::finite(out, "the critic loss" + level, latest(k, 0)) ||
        !procedures::finite(out, "the Lipschitz penalty" + level, latest(k, 1)))
      return false;
    l.critic_optimizer->step(l.critic_params, grads);
    ctx.lipschitz.after_critic_step(*l.critic);
    return true;
  }

  // Level k's generator step: L_G(D(fake)); the coarsest level's labels drawn as in training,
  // a finer level's those of the real images whose l_k it refines.
  bool generator_step(TrainingContext& ctx, size_t k, StepOutcome& out) {
    Level& l = levels_[k];
    const int64_t n = ctx.train.batch_size;
    Real real;
    Tensor z;
    if (k == 0) {
      z = ctx.noise(ctx.noise_rng, n);
      if (conditional_) real.y = one_hot(ctx.labels(ctx.noise_rng, n), classes_);
    } else {
      real = draw_real(ctx, k, n);
    }
    const Tensor fake = judged(generate(k, ctx.noise_rng, z, real.low, real.y), real.low);
    Tensor d_real;
    if (ctx.objective->generator_needs_real()) {
      if (k == 0) {
        const Real drawn = draw_real(ctx, k, n);
        d_real = apply(*l.critic, drawn.judged, drawn.y);
      } else {
        d_real = apply(*l.critic, real.judged, real.y);
      }
    }
    const Tensor loss = ctx.objective->generator_loss(d_real, apply(*l.critic, fake, real.y));
    const std::vector<Tensor> grads = grad({loss}, l.generator_params);
    latest(k, 3) = loss.item();
    if (!procedures::finite(out, fmt::format("the generator loss of level {}", l.size),
                            latest(k, 3)))
      return false;
    l.generator_optimizer->step(l.generator_params, grads);
    return true;
  }

  Options o_;
  std::vector<double> latest_;  // kLevelLosses per level, coarse to fine
  std::vector<Level> levels_;
  bool conditional_ = false;
  int64_t classes_ = 0;
};

}  // namespace

KANT_COMPONENT(Lapgan, "lapgan", "1.0.0",
               "LAPGAN (Denton et al. 2015): a Laplacian pyramid of generators, each level's "
               "G_k(z_k, l_k) making the band-pass h_k = I_k − up(I_{k+1}) from the upsampled "
               "coarser image l_k, with its own critic D_k([h_k, l_k]); CC-LAPGAN with "
               "conditional networks; sampling Ĩ_k = up(Ĩ_{k+1}) + G_k(z_k, up(Ĩ_{k+1}))")
