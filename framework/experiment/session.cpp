// The "set up" stage: components, networks and random streams of one cell (see session.hpp).
#include "experiment/session.hpp"

#include <algorithm>

#include "experiment/combined_lipschitz.hpp"
#include "kant/packing.hpp"

namespace kant {
namespace {

// The random streams of a cell: one id each, fixed forever (results depend on them).
enum Stream : uint64_t {
  kInit = 1, kData = 2, kNoise = 3, kPenalty = 4, kMetric = 5, kEmaInit = 6, kMetricNoise = 7
};

template <typename T, typename F, typename... Args>
std::shared_ptr<T> make(const Registry& r, const ComponentChoice& c, Args&&... args) {
  return r.create<T, F>(*c.component, c.params, std::forward<Args>(args)...);
}

void copy_parameters(Network& to, const Network& from) {
  const auto& a = to.named_parameters();
  const auto& p = from.named_parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    Tensor t = a[i].second;
    std::copy(p[i].second.data(), p[i].second.data() + t.numel(), t.data());
  }
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
      metric_noise_rng(cfg.seed, kMetricNoise) {
  dataset = make<Dataset, DatasetFactory>(registry, cfg.dataset, cfg.seed);
  const Shape data_shape = dataset->sample_shape();
  NetworkSpec gen_spec{Role::generator, {cfg.noise_dim}, data_shape, &init_rng};
  NetworkSpec critic_spec{Role::critic, packed_shape(data_shape, cfg.pack), {1}, &init_rng};
  generator = make<Network, ArchitectureFactory>(registry, cfg.generator, gen_spec);
  critic = make<Network, ArchitectureFactory>(registry, cfg.critic, critic_spec);
  if (cfg.pack > 1) critic = std::make_shared<PackedCritic>(std::move(critic), cfg.pack);
  objective = make<Objective, ObjectiveFactory>(registry, cfg.objective);
  std::vector<std::shared_ptr<LipschitzMethod>> methods;
  for (const ComponentChoice& c : cfg.lipschitz)
    methods.push_back(make<LipschitzMethod, LipschitzFactory>(registry, c));
  lipschitz = methods.size() == 1 ? methods.front() : std::make_shared<CombinedLipschitz>(methods);
  generator_optimizer = make<Optimizer, OptimizerFactory>(registry, cfg.generator_optimizer);
  critic_optimizer = make<Optimizer, OptimizerFactory>(registry, cfg.critic_optimizer);
  for (const MetricChoice& m : cfg.metrics)
    metrics.push_back(make<Metric, MetricFactory>(registry, m.choice));
  if (train.ema > 0) {
    NetworkSpec spec = gen_spec;
    spec.init_rng = &ema_rng;
    average = make<Network, ArchitectureFactory>(registry, cfg.generator, spec);
    copy_parameters(*average, *generator);
  }
  if (lipschitz->transforms_weights()) {
    lipschitz_transform = [method = lipschitz](const std::string& name, const Tensor& w) {
      return method->transform_weight(name, w);
    };
    critic->set_parameter_transform(lipschitz_transform);
  }
  generator_params = generator->parameters();
  critic_params = critic->parameters();
}

Tensor Session::noise(Rng& rng, int64_t n) const {
  return config.noise == "uniform" ? rng.uniform_tensor({n, config.noise_dim}, -1.0f, 1.0f)
                                   : rng.normal_tensor({n, config.noise_dim});
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
}

}  // namespace kant
