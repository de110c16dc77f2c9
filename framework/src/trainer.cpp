// The GAN training loop for one cell (see trainer.hpp): alternating or simultaneous updates,
// n_critic and WGAN's critic schedule, Lipschitz hooks, unrolled critic steps, a generator
// weight average, metrics every k steps, divergence detection.
#include "kant/trainer.hpp"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kant/packing.hpp"

namespace kant {

void Series::add(int64_t s, const std::map<std::string, double>& row) {
  step.push_back(s);
  for (const auto& [name, v] : row) values[name].push_back(v);
}

namespace {

// Independent random streams of one cell, derived from its seed.
enum Stream : uint64_t {
  kInit = 1, kData = 2, kNoise = 3, kPenalty = 4, kMetric = 5, kEmaInit = 6, kMetricNoise = 7
};

template <typename T, typename F, typename... Args>
std::shared_ptr<T> make(const Registry& r, const ComponentChoice& c, Args&&... args) {
  return r.create<T, F>(*c.component, c.params, std::forward<Args>(args)...);
}

// Several Lipschitz methods as one: weight transforms compose in list order, penalties add,
// step hooks run in order, and the tightest bound wins.
class CombinedLipschitz : public LipschitzMethod {
 public:
  explicit CombinedLipschitz(std::vector<std::shared_ptr<LipschitzMethod>> methods) : methods_(std::move(methods)) {}
  bool transforms_weights() const override {
    return std::any_of(methods_.begin(), methods_.end(), [](const auto& m) { return m->transforms_weights(); });
  }
  Tensor transform_weight(const std::string& name, const Tensor& value) override {
    Tensor w = value;
    for (const auto& m : methods_)
      if (m->transforms_weights()) w = m->transform_weight(name, w);
    return w;
  }
  Tensor penalty(const CriticBatch& b) override {
    Tensor total;
    for (const auto& m : methods_) {
      Tensor p = m->penalty(b);
      if (p.defined()) total = total.defined() ? add(total, p) : p;
    }
    return total;
  }
  void before_critic_step(Network& critic) override {
    for (const auto& m : methods_) m->before_critic_step(critic);
  }
  void after_critic_step(Network& critic) override {
    for (const auto& m : methods_) m->after_critic_step(critic);
  }
  std::optional<double> lipschitz_bound(const Network& critic) override {
    std::optional<double> best;
    for (const auto& m : methods_)
      if (auto b = m->lipschitz_bound(critic)) best = best ? std::min(*best, *b) : *b;
    return best;
  }

 private:
  std::vector<std::shared_ptr<LipschitzMethod>> methods_;
};

// Critic steps before generator step `step` (1-based).
int64_t critic_steps(const TrainSettings& t, int64_t step) {
  if (t.wgan_critic_schedule && (step <= 25 || step % 500 == 0)) return 100;
  return t.n_critic;
}

// ema ← β·ema + (1 − β)·p for every parameter.
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

void copy_parameters(Network& to, const Network& from) {
  const auto& a = to.named_parameters();
  const auto& p = from.named_parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    Tensor t = a[i].second;
    std::copy(p[i].second.data(), p[i].second.data() + t.numel(), t.data());
  }
}

}  // namespace

CellResult train_cell(const CellConfig& cfg, const Registry& registry, const ProgressFn& progress) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const uint64_t seed = cfg.seed;
  const TrainSettings& train = cfg.train;
  Rng init_rng(seed, kInit), data_rng(seed, kData), noise_rng(seed, kNoise),
      penalty_rng(seed, kPenalty), metric_rng(seed, kMetric), ema_rng(seed, kEmaInit),
      metric_noise_rng(seed, kMetricNoise);

  auto dataset = make<Dataset, DatasetFactory>(registry, cfg.dataset, seed);
  const Shape data_shape = dataset->sample_shape();
  NetworkSpec gen_spec{Role::generator, {cfg.noise_dim}, data_shape, &init_rng};
  NetworkSpec critic_spec{Role::critic, packed_shape(data_shape, cfg.pack), {1}, &init_rng};
  auto generator = make<Network, ArchitectureFactory>(registry, cfg.generator, gen_spec);
  std::shared_ptr<Network> critic = make<Network, ArchitectureFactory>(registry, cfg.critic, critic_spec);
  if (cfg.pack > 1) critic = std::make_shared<PackedCritic>(std::move(critic), cfg.pack);
  auto objective = make<Objective, ObjectiveFactory>(registry, cfg.objective);
  std::vector<std::shared_ptr<LipschitzMethod>> methods;
  for (const ComponentChoice& c : cfg.lipschitz) methods.push_back(make<LipschitzMethod, LipschitzFactory>(registry, c));
  std::shared_ptr<LipschitzMethod> lipschitz =
      methods.size() == 1 ? methods.front() : std::make_shared<CombinedLipschitz>(methods);
  auto opt_g = make<Optimizer, OptimizerFactory>(registry, cfg.generator_optimizer);
  auto opt_c = make<Optimizer, OptimizerFactory>(registry, cfg.critic_optimizer);
  std::vector<std::shared_ptr<Metric>> metrics;
  for (const MetricChoice& m : cfg.metrics)
    metrics.push_back(make<Metric, MetricFactory>(registry, m.choice));
  std::shared_ptr<Network> average;  // EMA of the generator's weights
  if (train.ema > 0) {
    NetworkSpec spec = gen_spec;
    spec.init_rng = &ema_rng;
    average = make<Network, ArchitectureFactory>(registry, cfg.generator, spec);
    copy_parameters(*average, *generator);
  }
  Module::ParameterTransform lipschitz_transform;
  if (lipschitz->transforms_weights()) {
    lipschitz_transform = [&](const std::string& name, const Tensor& w) {
      return lipschitz->transform_weight(name, w);
    };
    critic->set_parameter_transform(lipschitz_transform);
  }

  const int64_t batch = train.batch_size;
  auto noise_from = [&](Rng& rng, int64_t n) {
    return cfg.noise == "uniform" ? rng.uniform_tensor({n, cfg.noise_dim}, -1.0f, 1.0f)
                                  : rng.normal_tensor({n, cfg.noise_dim});
  };
  auto noise = [&](int64_t n) { return noise_from(noise_rng, n); };
  // Training samples come from the live generator and the training noise stream; metrics and
  // stored samples from the weight average (when there is one) and a stream of their own, so
  // that evaluating a metric never changes the training run.
  Network& sampler = average ? *average : *generator;
  auto generate_for_training = [&](int64_t n) {
    NoGradGuard no_grad;
    return generator->forward(noise(n));
  };
  auto generate = [&](int64_t n) {
    NoGradGuard no_grad;
    return sampler.forward(noise_from(metric_noise_rng, n));
  };
  const std::vector<Tensor> g_params = generator->parameters();
  const std::vector<Tensor> c_params = critic->parameters();

  CellResult result;
  MetricContext metric_ctx{*dataset, sampler, *critic, generate, metric_rng,
                           [&](int64_t n) { return noise_from(metric_noise_rng, n); }, cfg.noise,
                           objective.get()};
  auto evaluate_metrics = [&](int64_t step, bool final_values) {
    for (size_t i = 0; i < metrics.size(); ++i) {
      const MetricChoice& m = cfg.metrics[i];
      const bool periodic = m.every > 0 && step % m.every == 0;
      if (!periodic && !final_values) continue;
      std::map<std::string, double> values = metrics[i]->compute(metric_ctx);
      const std::string& name = m.choice.component->name();
      Series& series = result.metrics[name];
      if (series.step.empty() || series.step.back() != step) series.add(step, values);
      if (final_values)
        for (const auto& [k, v] : values) result.final_metrics[name + "." + k] = v;
    }
  };

  // The generator loss; with unrolling, against the critic after k differentiable SGD steps
  // on the same fake batch (so the loss sees how the critic would react).
  auto generator_loss = [&](const Tensor& fake, const Tensor& real) {
    std::vector<Tensor> theta = c_params;  // the unrolled critic's weights: alive until the loss
    if (train.unrolled_steps > 0) {
      auto substitute = [&](const std::string& name, const Tensor& w) {
        for (size_t i = 0; i < c_params.size(); ++i)
          if (c_params[i].impl() == w.impl())
            return lipschitz_transform ? lipschitz_transform(name, theta[i]) : theta[i];
        return w;
      };
      critic->set_parameter_transform(substitute);
      for (int64_t k = 0; k < train.unrolled_steps; ++k) {
        Tensor loss = objective->critic_loss(critic->forward(dataset->sample(batch, data_rng)),
                                             critic->forward(fake));
        std::vector<Tensor> g = grad({loss}, theta, {}, /*create_graph=*/true);
        for (size_t i = 0; i < theta.size(); ++i)
          theta[i] = sub(theta[i], g[i] * static_cast<float>(train.unrolled_lr));
      }
    }
    Tensor d_real = objective->generator_needs_real() ? critic->forward(real) : Tensor();
    Tensor loss = objective->generator_loss(d_real, critic->forward(fake));
    critic->set_parameter_transform(lipschitz_transform);
    return loss;
  };

  const int64_t steps = train.steps;
  const int64_t log_every = train.log_every > 0 ? train.log_every : std::max<int64_t>(1, steps / 10);
  evaluate_metrics(0, false);
  int64_t step = 0;
  double loss_c = 0, pen = 0, estimate = 0, loss_g = 0;
  auto finite_or_diverge = [&](double value, const char* what) {
    if (std::isfinite(value)) return true;
    result.status = "diverged";
    result.diverged_step = step;
    result.detail = fmt::format("{} became {} at generator step {}", what, value, step);
    return false;
  };
  // D(real) and D(fake); one forward pass over both (one GEMM per layer, forward and
  // backward) when the critic treats rows independently.
  auto critic_on = [&](const Tensor& real, const Tensor& fake) -> std::pair<Tensor, Tensor> {
    if (!critic->batch_independent() || real.shape() != fake.shape())
      return {critic->forward(real), critic->forward(fake)};
    const int64_t n = real.size(0);
    Tensor d = critic->forward(concat({real, fake}, 0));
    return {slice(d, 0, 0, n), slice(d, 0, n, 2 * n)};
  };
  // One critic update from (real, fake); returns false on divergence.
  auto critic_update = [&](const Tensor& real, const Tensor& fake_detached, const Tensor& d_real,
                           const Tensor& d_fake, std::vector<Tensor>* grads_out) {
    Tensor loss = objective->critic_loss(d_real, d_fake);
    Tensor penalty = lipschitz->penalty(CriticBatch{*critic, real, fake_detached, penalty_rng});
    std::vector<Tensor> grads = grad({penalty.defined() ? add(loss, penalty) : loss}, c_params);
    loss_c = loss.item();
    pen = penalty.defined() ? penalty.item() : 0.0;
    estimate = objective->divergence_estimate(d_real, d_fake);
    if (!finite_or_diverge(loss_c, "the critic loss") || !finite_or_diverge(pen, "the Lipschitz penalty"))
      return false;
    *grads_out = std::move(grads);
    return true;
  };

  for (step = 1; step <= steps; ++step) {
    bool ok = true;
    if (train.simultaneous) {
      // both gradients at the same (θ, ψ), then both updates
      lipschitz->before_critic_step(*critic);
      Tensor real = dataset->sample(batch, data_rng);
      Tensor fake = generator->forward(noise(batch));
      Tensor d_real = critic->forward(real);
      Tensor d_fake = critic->forward(fake);
      std::vector<Tensor> grads_c;
      // d_fake serves both losses: the critic's gradient stops at the critic's parameters
      ok = critic_update(real, fake.detach(), d_real, d_fake, &grads_c);
      if (!ok) break;
      Tensor lg = objective->generator_loss(objective->generator_needs_real() ? d_real : Tensor(), d_fake);
      std::vector<Tensor> grads_g = grad({lg}, g_params);
      loss_g = lg.item();
      if (!finite_or_diverge(loss_g, "the generator loss")) break;
      opt_c->step(c_params, grads_c);
      lipschitz->after_critic_step(*critic);
      opt_g->step(g_params, grads_g);
    } else {
      const int64_t n_critic = critic_steps(train, step);
      for (int64_t k = 0; k < n_critic && ok; ++k) {
        lipschitz->before_critic_step(*critic);
        Tensor real = dataset->sample(batch, data_rng);
        Tensor fake = generate_for_training(batch);
        auto [d_real, d_fake] = critic_on(real, fake);
        std::vector<Tensor> grads_c;
        ok = critic_update(real, fake, d_real, d_fake, &grads_c);
        if (!ok) break;
        opt_c->step(c_params, grads_c);
        lipschitz->after_critic_step(*critic);
      }
      if (!ok) break;
      Tensor fake = generator->forward(noise(batch));
      Tensor real = objective->generator_needs_real() ? dataset->sample(batch, data_rng) : Tensor();
      Tensor lg = generator_loss(fake, real);
      std::vector<Tensor> grads_g = grad({lg}, g_params);
      loss_g = lg.item();
      if (!finite_or_diverge(loss_g, "the generator loss")) break;
      opt_g->step(g_params, grads_g);
    }
    if (average) update_average(*average, *generator, static_cast<float>(train.ema));
    result.losses.add(step, {{"loss_critic", loss_c},
                             {"penalty", pen},
                             {"divergence_estimate", estimate},
                             {"loss_generator", loss_g}});
    if (step < steps) evaluate_metrics(step, false);
    if (progress && (step % log_every == 0 || step == steps))
      progress(step, steps, loss_c, loss_g, std::chrono::duration<double>(clock::now() - t0).count());
  }
  const int64_t last = std::min(step, steps);
  evaluate_metrics(last, true);
  for (size_t i = 0; i < metrics.size(); ++i) {
    auto arrays = metrics[i]->final_arrays(metric_ctx);
    if (!arrays.empty()) result.arrays[cfg.metrics[i].choice.component->name()] = std::move(arrays);
  }
  if (train.samples > 0) {
    result.generated = generate(train.samples);
    result.real = dataset->sample(train.samples, metric_rng);
  }
  result.wall_time_s = std::chrono::duration<double>(clock::now() - t0).count();
  return result;
}

}  // namespace kant
