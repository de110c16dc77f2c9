// The "set up" stage: components, networks and random streams of one cell (see session.hpp).
#include "training/session.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/layers.hpp"
#include "kant/packing.hpp"
#include "training/combined_lipschitz.hpp"

namespace kant {
namespace {

// The random streams of a cell: one id each, fixed forever (results depend on them).
enum Stream : uint64_t {
  kInit = 1,
  kData = 2,
  kNoise = 3,
  kPenalty = 4,
  kMetric = 5,
  kEmaInit = 6,
  kMetricNoise = 7,
  kSnapshot = 8,          // the fixed inputs of samples during training (train.sample_every)
  kTargets = 9,           // the objective's noisy labels (Objective::noisy_critic_loss)
  kInstanceNoise = 10,    // noise added to the critic's inputs (procedure.instance_noise)
  kProcedureArrays = 11,  // the procedure's arrays stored at the end (Procedure::final_arrays)
  kReinit = 1000          // + k: the k-th re-initialised network
};

template <typename T, typename F, typename... Args>
std::shared_ptr<T> make(const Registry& r, const ComponentChoice& c, Args&&... args) {
  return r.create<T, F>(*c.component, c.params, std::forward<Args>(args)...);
}

// Copies tensor by tensor, in place (`to` and `from` have the same architecture).
void copy_tensors(const std::vector<Module::NamedTensor>& to,
                  const std::vector<Module::NamedTensor>& from) {
  for (size_t i = 0; i < to.size(); ++i) {
    Tensor t = to[i].second;
    std::copy(from[i].second.data(), from[i].second.data() + t.numel(), t.data());
  }
}

void copy_parameters(Network& to, const Network& from) {
  copy_tensors(to.named_parameters(), from.named_parameters());
}

}  // namespace

Session::Session(const CellConfig& cfg, const Registry& registry)
    : config(cfg),
      train(cfg.train),
      init_rng(cfg.seed, kInit),
      data_rng(cfg.seed, kData),
      noise_rng(cfg.seed, kNoise),
      penalty_rng(cfg.seed, kPenalty),
      metric_rng(cfg.seed, kMetric),
      ema_rng(cfg.seed, kEmaInit),
      metric_noise_rng(cfg.seed, kMetricNoise),
      snapshot_rng(cfg.seed, kSnapshot),
      targets_rng(cfg.seed, kTargets),
      instance_noise_rng(cfg.seed, kInstanceNoise) {
  dataset = make<Dataset, DatasetFactory>(registry, cfg.dataset, cfg.seed);
  procedure = make<Procedure, ProcedureFactory>(registry, cfg.procedure);
  requests_ = procedure->networks(dataset->sample_shape(), cfg.noise_dim);
  const std::vector<NetworkRequest>& requests = requests_;
  for (const NetworkRequest& r : requests) {
    const NetworkChoice* choice = cfg.network(r.name);
    if (!choice)
      throw Error(fmt::format("procedure '{}' asks for a network '{}' it did not declare",
                              cfg.procedure.component->name(), r.name));
    const bool packed = r.name == "critic" && cfg.pack > 1;
    NetworkSpec spec{r.role, packed ? packed_shape(r.input_shape, cfg.pack) : r.input_shape,
                     r.output_shape, &init_rng, dataset->classes()};
    std::shared_ptr<Network> net =
        make<Network, ArchitectureFactory>(registry, choice->architecture, spec);
    if (packed) net = std::make_shared<PackedCritic>(std::move(net), cfg.pack);
    networks.emplace_back(r.name, net);
    if (r.name == "generator") generator = net.get();
    if (r.name == "critic") critic = net.get();
  }
  if (!generator)
    throw Error(fmt::format("procedure '{}' built no generator", cfg.procedure.component->name()));
  if (cfg.objective.component)
    objective = make<Objective, ObjectiveFactory>(registry, cfg.objective);
  std::vector<std::shared_ptr<LipschitzMethod>> methods;
  for (const ComponentChoice& c : cfg.lipschitz)
    methods.push_back(make<LipschitzMethod, LipschitzFactory>(registry, c));
  lipschitz = methods.size() == 1 ? methods.front() : std::make_shared<CombinedLipschitz>(methods);
  for (const NetworkChoice& net : cfg.networks) {
    if (net.lipschitz.empty()) continue;
    std::vector<std::shared_ptr<LipschitzMethod>> own;
    for (const ComponentChoice& c : net.lipschitz)
      own.push_back(make<LipschitzMethod, LipschitzFactory>(registry, c));
    auto method = own.size() == 1 ? own.front() : std::make_shared<CombinedLipschitz>(own);
    for (auto& [name, network] : networks)
      if (name == net.name)
        network->set_parameter_transform([method](const std::string& w, const Tensor& value) {
          return method->transform_weight(w, value);
        });
    network_lipschitz.emplace_back(net.name, method);
  }
  for (const MetricChoice& m : cfg.metrics)
    metrics.push_back(make<Metric, MetricFactory>(registry, m.choice));
  if (train.averages()) {
    const NetworkRequest& g = requests.front();
    NetworkSpec spec{g.role, g.input_shape, g.output_shape, &ema_rng, dataset->classes()};
    average = make<Network, ArchitectureFactory>(registry, cfg.networks.front().architecture, spec);
    copy_parameters(*average, *generator);
  }
  Module::ParameterTransform transform;
  if (critic && lipschitz->transforms_weights()) {
    transform = [method = lipschitz](const std::string& name, const Tensor& w) {
      return method->transform_weight(name, w);
    };
    critic->set_parameter_transform(transform);
  }
  std::map<std::string, Network*> by_name;
  for (const auto& [name, net] : networks) by_name[name] = net.get();
  context.reset(new TrainingContext{
      *dataset, by_name, objective.get(), *lipschitz, transform, train, data_rng, noise_rng,
      penalty_rng, [this](Rng& rng, int64_t n) { return noise(rng, n); },
      [this, &registry](const std::string& network) -> Optimizer& {
        return make_optimizer(registry, network);
      },
      [this, &registry](const std::string& network) { reinitialize(registry, network); }});
  context->labels = [this](Rng& rng, int64_t n) { return generated_labels(rng, n); };
  context->targets_rng = &targets_rng;
  context->instance_noise_rng = &instance_noise_rng;
  procedure->set_up(*context);
  scoring_critic = procedure->scoring_critic(*context);
  context->optimizer = [](const std::string& network) -> Optimizer& {
    throw Error(fmt::format("optimizer for '{}' asked for after set-up", network));
  };
}

Optimizer& Session::make_optimizer(const Registry& registry, const std::string& network) {
  const NetworkChoice* choice = config.network(network);
  if (!choice)
    throw Error(fmt::format("procedure '{}' asks for an optimizer of '{}', which it does not train",
                            config.procedure.component->name(), network));
  std::string name = network + "_optimizer";
  for (int k = 2; std::any_of(optimizers.begin(), optimizers.end(),
                              [&](const auto& o) { return o.first == name; });
       ++k)
    name = fmt::format("{}_optimizer_{}", network, k);
  optimizers.emplace_back(name, make<Optimizer, OptimizerFactory>(registry, choice->optimizer));
  return *optimizers.back().second;
}

void Session::reinitialize(const Registry& registry, const std::string& network) {
  for (const NetworkRequest& r : requests_) {
    if (r.name != network) continue;
    auto it = std::find_if(networks.begin(), networks.end(),
                           [&](const auto& n) { return n.first == network; });
    Rng rng(config.seed, kReinit + reinitialized_++);
    const bool packed = r.name == "critic" && config.pack > 1;
    NetworkSpec spec{r.role, packed ? packed_shape(r.input_shape, config.pack) : r.input_shape,
                     r.output_shape, &rng, dataset->classes()};
    std::shared_ptr<Network> fresh =
        make<Network, ArchitectureFactory>(registry, config.network(network)->architecture, spec);
    copy_parameters(*it->second, *fresh);
    copy_tensors(it->second->named_buffers(), fresh->named_buffers());
    return;
  }
  throw Error(fmt::format("procedure '{}' re-initialises '{}', which it does not train",
                          config.procedure.component->name(), network));
}

Batch Session::generate_labelled(Rng& rng, int64_t n, std::optional<int64_t> label) {
  if (std::optional<Batch> pyramid = procedure->sample_batch(*context, rng, n, label))
    return std::move(*pyramid);
  if (std::optional<Tensor> own = procedure->samples(*context, *dataset, rng, n)) return {*own, {}};
  NoGradGuard no_grad;
  Tensor input = generator_input(rng, n);
  Network& g = sampler();
  if (g.label_classes() == 0) return {g.forward(input), {}};
  // the labels after the inputs, from the same stream
  std::vector<int64_t> labels =
      label ? std::vector<int64_t>(static_cast<size_t>(n), *label) : generated_labels(rng, n);
  return {g.forward_conditional(input, one_hot(labels, g.label_classes())), std::move(labels)};
}

std::map<std::string, Tensor> Session::procedure_arrays() {
  NoGradGuard no_grad;
  Rng rng(config.seed, kProcedureArrays);
  return procedure->final_arrays(*context, rng);
}

std::vector<int64_t> Session::generated_labels(Rng& rng, int64_t n) const {
  const std::vector<double> shares = dataset->class_frequencies();
  if (shares.empty()) throw Error("generated labels asked for, and the data set has no labels");
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t& l : labels) {
    if (config.generated_labels == "uniform") {
      l = static_cast<int64_t>(rng.below(shares.size()));
      continue;
    }
    // inverse of the cumulative class frequencies at u ~ U[0, 1)
    const double u = rng.uniform();
    double cumulative = 0;
    l = static_cast<int64_t>(shares.size()) - 1;
    for (size_t c = 0; c < shares.size(); ++c)
      if (u < (cumulative += shares[c])) {
        l = static_cast<int64_t>(c);
        break;
      }
  }
  return labels;
}

std::vector<Session::OptionalStream> Session::optional_streams() {
  return {{"targets", &targets_rng, Rng(config.seed, kTargets).state()},
          {"instance_noise", &instance_noise_rng, Rng(config.seed, kInstanceNoise).state()}};
}

Tensor Session::noise(Rng& rng, int64_t n) const {
  return config.noise == "uniform" ? rng.uniform_tensor({n, config.noise_dim}, -1.0f, 1.0f)
                                   : rng.normal_tensor({n, config.noise_dim});
}

Tensor Session::generator_input(Rng& rng, int64_t n) {
  return procedure->generator_input(*context, rng, n);
}

void update_average(Network& average, const Network& net, float beta) {
  const auto& a = average.named_parameters();
  const auto& p = net.named_parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    Tensor t = a[i].second;
    float* d = t.data();
    const float* s = p[i].second.data();
    for (int64_t j = 0, n = t.numel(); j < n; ++j) d[j] = beta * d[j] + (1.0f - beta) * s[j];
  }
  copy_tensors(average.named_buffers(), net.named_buffers());  // running stats, VBN's reference
}

NetworkLipschitzGuard::NetworkLipschitzGuard(Session& s) : session_(s) {
  for (const auto& [network, method] : s.network_lipschitz) {
    saved_.push_back(method->state());
    for (auto& [name, t] : saved_.back().tensors) t = t.clone();
  }
}

NetworkLipschitzGuard::~NetworkLipschitzGuard() {
  for (size_t k = 0; k < saved_.size(); ++k)
    session_.network_lipschitz[k].second->load_state(saved_[k]);
}

}  // namespace kant
