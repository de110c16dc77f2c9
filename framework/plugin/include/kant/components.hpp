// The interfaces of the seven plugin kinds: architecture, dataset, objective, lipschitz,
// optimizer, metric, procedure. A plugin implements one and registers a factory for it
// (plugin.hpp).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kant/error.hpp"
#include "kant/module.hpp"
#include "kant/params.hpp"
#include "kant/rng.hpp"
#include "kant/tensor.hpp"

namespace kant {

/// What a component remembers between training steps (a power iteration's vectors, a data
/// set's position in its fixed sample), for checkpoints that resume training bit for bit:
/// named tensors and named 64-bit words (random streams, counters), restored exactly.
struct ComponentState {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::vector<uint64_t>> words;
  bool empty() const { return tensors.empty() && words.empty(); }
};

// ---- architecture ----------------------------------------------------------------------
/// What a network maps: noise to data (generator), data to a score (critic), data to a code
/// (encoder: a critic-shaped network with a vector output).
enum class Role { generator, critic, encoder };

/// What the framework asks of a network: its role and per-sample input/output shapes.
struct NetworkSpec {
  Role role;
  Shape input_shape;    ///< per sample (noise shape for a generator, data shape for a critic)
  Shape output_shape;   ///< per sample (data shape for a generator, {1} for a critic)
  Rng* init_rng;        ///< for weight initialisation
  int64_t classes = 0;  ///< the data set's label classes (0: it has no labels)
};
using ArchitectureFactory =
    std::function<std::unique_ptr<Network>(const Params&, const NetworkSpec&)>;

// ---- dataset ---------------------------------------------------------------------------
/// Known mixture structure of a data set: mode centres and the per-dimension std of each.
struct Modes {
  std::vector<std::vector<double>> centers;
  double std = 0.0;
};

/// A finite labelled data set (all of it), for metrics that train a classifier on it.
struct LabelledSet {
  Tensor data;                  ///< [n, sample_shape…]
  std::vector<int64_t> labels;  ///< n class indices in [0, classes)
  int64_t classes = 0;
  /// The data set's own held-out samples and labels where it has a test split (Fashion-MNIST's
  /// train split holds out its test split); undefined otherwise, and then a classifier holds
  /// out every fifth row of `data` instead.
  Tensor held_out;
  std::vector<int64_t> held_out_labels;
};

/// A batch of data: the samples and, where the data set has labels, each one's class.
struct Batch {
  Tensor x;                     ///< [n, sample_shape…]
  std::vector<int64_t> labels;  ///< n class indices in [0, classes()); empty without labels
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Shape of one sample (e.g. {2} for 2-D toys, {1, 28, 28} for images).
  virtual Shape sample_shape() const = 0;
  /// A batch [n, sample_shape…] drawn with `rng`.
  virtual Tensor sample(int64_t n, Rng& rng) = 0;
  /// The same batch with its labels, where the data set has them: a labelled data set draws
  /// here exactly the random numbers sample() draws, in the same order (sample() is this
  /// batch's x), so that reading labels changes no unconditional run.
  virtual Batch sample_batch(int64_t n, Rng& rng) { return {sample(n, rng), {}}; }
  /// Each class's share of the data (1/K each for a mixture of K equal-weight modes: the mode
  /// is the label); its size is the number of classes labels range over. Empty: no labels.
  virtual std::vector<double> class_frequencies() const { return {}; }
  /// Classes the labels of sample_batch() range over (0: the data set has no labels).
  int64_t classes() const { return static_cast<int64_t>(class_frequencies().size()); }
  /// Mode centres and spread, where the data set is a known mixture.
  virtual std::optional<Modes> modes() const { return std::nullopt; }
  /// Log probability density at one point x (sample_shape's numel values), where the data
  /// set defines one in closed form. Logarithmic so that far tails stay finite.
  virtual std::optional<double> log_density(const double* /*x*/) const { return std::nullopt; }
  /// Every sample with its class label, for labelled finite data sets (digits, idx).
  virtual std::optional<LabelledSet> labelled() const { return std::nullopt; }
  /// What sample() remembers between calls (none for fresh draws), for checkpoints.
  virtual ComponentState state() const { return {}; }
  virtual void load_state(const ComponentState& /*state*/) {}
};
/// `seed` fixes any finite sample the data set draws once at construction.
using DatasetFactory = std::function<std::unique_ptr<Dataset>(const Params&, uint64_t seed)>;

// ---- objective -------------------------------------------------------------------------
/// A GAN objective: losses of critic and generator from critic outputs D(x) of shape [N, 1].
class Objective {
 public:
  virtual ~Objective() = default;
  /// Loss the critic minimises (without any Lipschitz penalty).
  virtual Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) = 0;
  /// Loss the generator minimises. d_real is defined only when generator_needs_real().
  virtual Tensor generator_loss(const Tensor& d_real, const Tensor& d_fake) = 0;
  /// The critic's loss in a training step, where an objective draws random numbers (noisy
  /// labels: a sample's target flipped at random) from `rng`, the cell's `targets` stream;
  /// critic_loss (no draws) by default. Procedures call it in their critic steps; metrics and
  /// estimates call critic_loss, so that they draw nothing.
  virtual Tensor noisy_critic_loss(const Tensor& d_real, const Tensor& d_fake, Rng& /*rng*/) {
    return critic_loss(d_real, d_fake);
  }
  /// Whether generator_loss reads D(x) on real data (relativistic objectives).
  virtual bool generator_needs_real() const { return false; }
  /// The divergence (or distance) estimate the current critic implies, for logging.
  virtual double divergence_estimate(const Tensor& d_real, const Tensor& d_fake) = 0;
};
using ObjectiveFactory = std::function<std::unique_ptr<Objective>(const Params&)>;

// ---- lipschitz -------------------------------------------------------------------------
/// The batch a critic step sees, for penalties that sample points around it.
struct CriticBatch {
  Network& critic;
  const Tensor& real;
  const Tensor& fake;
  Rng& rng;
};

/// A way of keeping the critic Lipschitz. Each hook is optional; a method may combine them.
class LipschitzMethod {
 public:
  virtual ~LipschitzMethod() = default;
  /// Whether transform_weight is used (then the critic reads its weights through it).
  virtual bool transforms_weights() const { return false; }
  /// The weight the critic's forward pass uses instead of `value` (e.g. W/σ(W)).
  virtual Tensor transform_weight(const std::string& /*name*/, const Tensor& value) {
    return value;
  }
  /// A term added to the critic loss (undefined Tensor: none).
  virtual Tensor penalty(const CriticBatch&) { return {}; }
  /// Called before each critic step computes its loss (e.g. clipping as the WGAN code does).
  virtual void before_critic_step(Network&) {}
  /// Called after each critic optimizer step (e.g. clipping as the WGAN paper does).
  virtual void after_critic_step(Network&) {}
  /// An upper bound on the critic's Lipschitz constant, where the method guarantees one
  /// (assuming 1-Lipschitz activations).
  virtual std::optional<double> lipschitz_bound(const Network&) { return std::nullopt; }
  /// What the method remembers between steps (e.g. spectral norm's vectors), for checkpoints.
  virtual ComponentState state() const { return {}; }
  virtual void load_state(const ComponentState& /*state*/) {}
};
using LipschitzFactory = std::function<std::unique_ptr<LipschitzMethod>(const Params&)>;

// ---- optimizer -------------------------------------------------------------------------
/// Updates parameters in place from their gradients; keeps its own state per parameter.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads) = 0;
  /// Everything step() remembers (moment buffers, step count), as named tensors for
  /// checkpoints; load_state restores it exactly. Stateless optimizers keep the defaults.
  virtual std::vector<Module::NamedTensor> state() const { return {}; }
  virtual void load_state(const std::vector<Module::NamedTensor>& /*state*/) {}
};
using OptimizerFactory = std::function<std::unique_ptr<Optimizer>(const Params&)>;

struct TrainSettings;
struct NetworkRequest;

/// The two collections a translating procedure maps between (CycleGAN): classes of the data
/// set's labels; its generator maps images of `a` to images of `b`, its `inverse` network back.
/// Both empty when the procedure does not translate.
struct Domains {
  std::vector<int64_t> a, b;
  bool empty() const { return a.empty() && b.empty(); }
};

// ---- metric ----------------------------------------------------------------------------
/// What a metric may look at: the data, the networks, and a way to draw generated samples.
struct MetricContext {
  Dataset& dataset;
  Network& generator;
  Network* critic;                            ///< null when the procedure trains none (a VAE)
  std::function<Tensor(int64_t n)> generate;  ///< n generated samples, no graph
  Rng& rng;
  /// n inputs z for the generator, drawn as in training (for metrics that differentiate
  /// through the generator or need its noise distribution).
  std::function<Tensor(int64_t n)> noise = {};
  std::string noise_kind = "normal";  ///< the distribution noise() draws: normal or uniform
  Objective* objective = nullptr;  ///< the cell's objective (critic loss for per-layer statistics)
  /// Categories of the procedure's categorical latent code (InfoGAN), 0 when it has none, and
  /// n generated samples whose code is `category`.
  int64_t categories = 0;
  std::function<Tensor(int64_t n, int64_t category)> generate_category = {};
  int64_t step = 0;  ///< the generator step being evaluated (the last one for final values)
  /// The networks other than the critic that have Lipschitz methods of their own
  /// (`<network>_lipschitz`), by config block, read through those methods.
  std::vector<std::pair<std::string, Network*>> constrained = {};
  /// Label classes of a conditional generator (0: it takes no label), and n generated samples
  /// with the labels they were asked for: `label` for every one, or drawn as in training.
  int64_t label_classes = 0;
  std::function<Batch(int64_t n, std::optional<int64_t> label)> generate_labelled = {};
  /// Every network the procedure trains, by config block, the generator first (as trained: not
  /// its weight average, which `generator` is when the cell keeps one); e.g. CycleGAN's inverse.
  std::vector<std::pair<std::string, Network*>> networks = {};
  /// The collections of a translating procedure (Procedure::domains), empty otherwise.
  Domains domains = {};
};

/// The context's critic, or an Error saying that `metric` needs one (a VAE trains none).
inline Network& critic_of(const MetricContext& ctx, const char* metric) {
  if (!ctx.critic)
    throw Error(std::string(metric) + " needs a critic, and this cell's procedure trains none");
  return *ctx.critic;
}

class Metric {
 public:
  virtual ~Metric() = default;
  /// Names of the values compute() returns, e.g. {"modes", "high_quality"}.
  virtual std::vector<std::string> value_names() const = 0;
  virtual std::map<std::string, double> compute(MetricContext& ctx) = 0;
  /// Arrays computed once at the end and stored as arrays/<metric>/<name> (e.g. a grid of
  /// critic values). None by default.
  virtual std::map<std::string, Tensor> final_arrays(MetricContext&) { return {}; }
  /// What a metric remembers between evaluations (e.g. a baseline), saved in checkpoints.
  virtual ComponentState state() const { return {}; }
  virtual void load_state(const ComponentState& /*state*/) {}
};
using MetricFactory = std::function<std::unique_ptr<Metric>(const Params&)>;

/// A cell as `kant validate` sees it before anything trains, for metrics' rules: its data set
/// and its networks as the cell builds them (freshly initialised), built only when a rule
/// asks for them. What a rule reads here is structure (shapes, sizes, layers, whether the
/// generator is affine), never trained values.
class CellView {
 public:
  virtual ~CellView() = default;
  /// The data set, built from the cell's `dataset` block.
  virtual Dataset& dataset() = 0;
  /// The generator as metrics see it (its weight average has the same architecture).
  virtual Network& generator() = 0;
  /// The critic metrics see (one score per sample; packed as configured), or null when the
  /// procedure trains none (a VAE).
  virtual Network* critic() = 0;
  /// Every network the procedure trains, by config block, the generator first.
  virtual std::vector<std::pair<std::string, Network*>> networks() = 0;
  /// Whether the procedure trains a critic metrics can see (cheap: no network is built).
  virtual bool has_critic() const = 0;
  /// Config blocks of the networks the procedure trains, the generator first (cheap: none is
  /// built), e.g. to ask whether it trains an `inverse`.
  virtual std::vector<std::string> network_names() const = 0;
  /// The generator's noise: "normal" or "uniform", and its dimension.
  virtual const std::string& noise_kind() const = 0;
  virtual int64_t noise_dim() const = 0;
  /// Categories of the procedure's categorical latent code (InfoGAN), 0 when it has none.
  virtual int64_t categories() = 0;
  virtual const TrainSettings& train() const = 0;
  /// What the procedure asks of its generator (its input and output shapes; cheap: no network
  /// is built).
  virtual NetworkRequest generator_request() = 0;
};

/// One condition a metric needs of a cell, checked by `kant validate` (and `kant run`,
/// `kant evaluate`) before anything trains, and printed by `kant plugins metric NAME`.
struct MetricRule {
  std::string rule;  ///< what it needs, e.g. "1-D data with a closed-form density"
  /// "" when the cell meets the rule; otherwise the value that breaks it, e.g. "the data
  /// set's samples have shape [2]" (the message names the metric, the rule and the cell).
  std::function<std::string(const Params&, CellView&)> check;
};

/// What a metric declares with its registration: the rules a cell must meet, and the values
/// that may legitimately be NaN (each with when). Any other non-finite value, like an
/// exception, fails the metric at that step (the cell goes on, see README "Metrics").
struct MetricRequirements {
  std::vector<MetricRule> rules = {};
  std::map<std::string, std::string> may_be_nan = {};  ///< value name → when it is NaN
  bool empty() const { return rules.empty() && may_be_nan.empty(); }
};

// ---- procedure -------------------------------------------------------------------------
/// Training loop settings (the `train` block), as every procedure sees them. How a procedure
/// steps its networks (n_critic, update order, …) is its own options' business.
struct TrainSettings {
  int64_t steps = 0;  ///< generator iterations
  int64_t batch_size = 0;
  Real ema = 0;           ///< decay of the generator's weight average (0: none), maybe scheduled
  int64_t log_every = 0;  ///< progress line period in generator steps
  int64_t samples = 0;    ///< generated samples stored at the end
  int64_t checkpoint_every = 0;    ///< resume checkpoint period in generator steps (0: none)
  int64_t sample_every = 0;        ///< samples stored during training every k steps (0: none)
  int64_t sample_size = 0;         ///< generated samples stored at each of those steps
  int64_t surface_resolution = 0;  ///< grid points per axis of the critic surfaces stored then
  bool bf16 = false;               ///< the training steps' products in bf16 (train.precision: bf16)
  /// Whether the generator has a weight average: ema > 0, or a schedule.
  bool averages() const { return ema.schedule() || ema.at(0) > 0; }
};

/// A network a procedure trains: the config block it is built from (its role name, e.g.
/// "generator", "critic", "encoder") and its per-sample shapes.
struct NetworkRequest {
  std::string name;
  Role role;
  Shape input_shape, output_shape;
};

/// What a procedure trains with, built by the framework from the cell's config. The
/// references stay valid for the whole run.
struct TrainingContext {
  Dataset& dataset;
  std::map<std::string, Network*> networks;  ///< by name, as requested (critics packed)
  Objective* objective;                      ///< null when the procedure uses none
  LipschitzMethod& lipschitz;                ///< hooks on the critic ("none": they do nothing)
  /// The critic's weight transform of the Lipschitz method (null when it has none).
  Module::ParameterTransform lipschitz_transform;
  const TrainSettings& train;
  /// Independent random streams: data batches, generator inputs, penalty sample points.
  Rng& data_rng;
  Rng& noise_rng;
  Rng& penalty_rng;
  /// n noise vectors z [n, noise_dim] as the generator block says (normal or uniform).
  std::function<Tensor(Rng& rng, int64_t n)> noise;
  /// A new optimizer for the named network's parameters, from its `<name>_optimizer` block
  /// (or the shared `optimizer` block); the framework checkpoints every optimizer made here.
  /// Only during set_up.
  std::function<Optimizer&(const std::string& network)> optimizer;
  /// Re-initialises the named network's parameters and buffers as a fresh network of its
  /// architecture would have them (from a stream of its own; e.g. a fresh critic against a
  /// frozen generator).
  std::function<void(const std::string& network)> reinitialize;
  /// n labels for generated samples (conditional generators), drawn from `rng` as the
  /// generator block's `labels` says: uniform over the data set's classes or with its class
  /// frequencies.
  std::function<std::vector<int64_t>(Rng& rng, int64_t n)> labels = {};
  /// Streams of their own for what only some cells draw, checkpointed with the others and never
  /// drawn from by default: the objective's noisy labels (Objective::noisy_critic_loss) and the
  /// instance noise added to the critic's inputs.
  Rng* targets_rng = nullptr;
  Rng* instance_noise_rng = nullptr;
};

/// What one iteration produced: each loss by name, in the procedure's loss_names() order.
/// `diverged` names the value that became non-finite ("the critic loss became nan"): the step
/// then stopped before applying any update that depends on it.
struct StepOutcome {
  std::vector<std::pair<std::string, double>> losses;
  std::string diverged;
};

/// A training procedure (GAN, ALI, VAE, …): which networks it trains and one iteration of
/// updates. The framework owns the loop, logging, metrics, divergence handling,
/// checkpoints and storage; metrics sample from the generator.
class Procedure {
 public:
  virtual ~Procedure() = default;
  /// Config blocks of the networks it trains, the generator first (e.g. generator, critic).
  virtual std::vector<std::string> network_names() const = 0;
  /// Whether the cell's `objective` (an adversarial loss) and Lipschitz method apply.
  virtual bool uses_objective() const { return true; }
  virtual bool uses_lipschitz() const { return true; }
  /// Whether its steps multiply (matmuls, convolutions), so that train.precision: bf16 acts on
  /// them; false for closed-form updates (em_mixture), where bf16 is refused at validate time.
  virtual bool runs_products() const { return true; }
  /// Shapes of its networks for data samples of `data_shape` and noise of `noise_dim`.
  virtual std::vector<NetworkRequest> networks(const Shape& data_shape,
                                               int64_t noise_dim) const = 0;
  /// The generator's inputs for n samples: noise by default (InfoGAN adds its codes; CycleGAN
  /// feeds images of its first collection).
  virtual Tensor generator_input(TrainingContext& ctx, Rng& rng, int64_t n) {
    return ctx.noise(rng, n);
  }
  /// The two collections a translating procedure maps between; none by default.
  virtual Domains domains() const { return {}; }
  /// Categories of a categorical latent code (InfoGAN), 0 when there is none; the generator's
  /// inputs for n samples of one category.
  virtual int64_t categories() const { return 0; }
  virtual Tensor generator_input_for_category(TrainingContext& ctx, Rng& rng, int64_t n,
                                              int64_t /*category*/) {
    return generator_input(ctx, rng, n);
  }
  /// Generated samples drawn some other way than from the generator (e.g. a fixed generator
  /// "data + noise"), from `data` and `rng`; none: the framework runs the generator.
  virtual std::optional<Tensor> samples(TrainingContext& /*ctx*/, Dataset& /*data*/, Rng& /*rng*/,
                                        int64_t /*n*/) {
    return std::nullopt;
  }
  /// Generated samples that come from several networks rather than from the generator alone
  /// (e.g. a LAPGAN's pyramid): n samples drawn with `rng`, each with the label it was asked
  /// for where the networks take one (`label` for every sample, or drawn as in training), no
  /// graph. Metrics, the samples stored at the end and those during training (from a fixed
  /// copy of one stream) then come from here. None (the default): the framework runs the
  /// generator as before, so that no other procedure's results change.
  virtual std::optional<Batch> sample_batch(TrainingContext& /*ctx*/, Rng& /*rng*/, int64_t /*n*/,
                                            std::optional<int64_t> /*label*/) {
    return std::nullopt;
  }
  /// Arrays the procedure stores at the end of training, as arrays/<procedure>/<name> (e.g. a
  /// LAPGAN's samples at every level of its pyramid), drawn from `rng`, a stream of their own.
  /// None by default.
  virtual std::map<std::string, Tensor> final_arrays(TrainingContext& /*ctx*/, Rng& /*rng*/) {
    return {};
  }
  /// Whether metrics see the cell's `critic`, when it trains one: false when the procedure's
  /// critics judge something other than a sample (a LAPGAN's judge [band, low-pass]), so that a
  /// metric that reads a critic is refused at validate time (cheap: no network is built).
  virtual bool shows_critic() const { return true; }
  /// The critic metrics see, one score per sample (InfoGAN: its D head without Q); null when
  /// the procedure trains none or shows none.
  virtual Network* scoring_critic(TrainingContext& ctx) {
    if (!shows_critic()) return nullptr;
    auto it = ctx.networks.find("critic");
    return it == ctx.networks.end() ? nullptr : it->second;
  }
  /// Called once before training (and before a checkpoint is restored): make optimizers.
  virtual void set_up(TrainingContext& ctx) = 0;
  /// Names of the losses step() reports: the cell's series.
  virtual std::vector<std::string> loss_names() const = 0;
  /// Generator iteration `step` (1-based).
  virtual StepOutcome step(TrainingContext& ctx, int64_t step) = 0;
  /// What it remembers between steps besides networks and optimizers, for checkpoints.
  virtual ComponentState state() const { return {}; }
  virtual void load_state(const ComponentState& /*state*/) {}
};
using ProcedureFactory = std::function<std::unique_ptr<Procedure>(const Params&)>;

}  // namespace kant
