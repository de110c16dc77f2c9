// The GAN training loop for one cell (see trainer.hpp).
#include "kant/trainer.hpp"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"

namespace kant {

void Series::add(int64_t s, const std::map<std::string, double>& row) {
  step.push_back(s);
  for (const auto& [name, v] : row) values[name].push_back(v);
}

namespace {

// Independent random streams of one cell, derived from its seed.
enum Stream : uint64_t { kInit = 1, kData = 2, kNoise = 3, kPenalty = 4, kMetric = 5 };

struct Networks {
  std::shared_ptr<Network> generator, critic;
};

template <typename T, typename F, typename... Args>
std::shared_ptr<T> make(const Registry& r, const ComponentChoice& c, Args&&... args) {
  return r.create<T, F>(*c.component, c.params, std::forward<Args>(args)...);
}

}  // namespace

CellResult train_cell(const CellConfig& cfg, const Registry& registry, const ProgressFn& progress) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const uint64_t seed = cfg.seed;
  Rng init_rng(seed, kInit), data_rng(seed, kData), noise_rng(seed, kNoise),
      penalty_rng(seed, kPenalty), metric_rng(seed, kMetric);

  auto dataset = make<Dataset, DatasetFactory>(registry, cfg.dataset, seed);
  const Shape data_shape = dataset->sample_shape();
  NetworkSpec gen_spec{Role::generator, {cfg.noise_dim}, data_shape, &init_rng};
  NetworkSpec critic_spec{Role::critic, data_shape, {1}, &init_rng};
  auto generator = make<Network, ArchitectureFactory>(registry, cfg.generator, gen_spec);
  auto critic = make<Network, ArchitectureFactory>(registry, cfg.critic, critic_spec);
  auto objective = make<Objective, ObjectiveFactory>(registry, cfg.objective);
  auto lipschitz = make<LipschitzMethod, LipschitzFactory>(registry, cfg.lipschitz);
  auto opt_g = make<Optimizer, OptimizerFactory>(registry, cfg.optimizer);
  auto opt_c = make<Optimizer, OptimizerFactory>(registry, cfg.optimizer);
  std::vector<std::shared_ptr<Metric>> metrics;
  for (const MetricChoice& m : cfg.metrics)
    metrics.push_back(make<Metric, MetricFactory>(registry, m.choice));

  const int64_t batch = cfg.train.batch_size;
  auto noise = [&](int64_t n) {
    return cfg.noise == "uniform" ? noise_rng.uniform_tensor({n, cfg.noise_dim}, -1.0f, 1.0f)
                                  : noise_rng.normal_tensor({n, cfg.noise_dim});
  };
  auto generate = [&](int64_t n) {
    NoGradGuard no_grad;
    return generator->forward(noise(n));
  };
  const std::vector<Tensor> g_params = generator->parameters();
  const std::vector<Tensor> c_params = critic->parameters();

  CellResult result;
  auto diverged = [&](int64_t step, const char* what, double value) {
    result.status = "diverged";
    result.diverged_step = step;
    result.detail = fmt::format("{} became {} at generator step {}", what, value, step);
  };
  MetricContext metric_ctx{*dataset, *generator, *critic, generate, metric_rng};
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

  const int64_t steps = cfg.train.steps;
  const int64_t log_every =
      cfg.train.log_every > 0 ? cfg.train.log_every : std::max<int64_t>(1, steps / 10);
  int64_t step = 0;
  for (step = 1; step <= steps; ++step) {
    double loss_c = 0, pen = 0, estimate = 0;
    for (int64_t k = 0; k < cfg.train.n_critic; ++k) {
      Tensor real = dataset->sample(batch, data_rng);
      Tensor fake = generate(batch);
      Tensor d_real = critic->forward(real);
      Tensor d_fake = critic->forward(fake);
      Tensor loss = objective->critic_loss(d_real, d_fake);
      Tensor penalty = lipschitz->penalty(CriticBatch{*critic, real, fake, penalty_rng});
      Tensor total = penalty.defined() ? add(loss, penalty) : loss;
      std::vector<Tensor> grads = grad({total}, c_params);
      loss_c = loss.item();
      pen = penalty.defined() ? penalty.item() : 0.0;
      estimate = objective->divergence_estimate(d_real, d_fake);
      if (!std::isfinite(loss_c) || !std::isfinite(pen)) break;
      opt_c->step(c_params, grads);
      lipschitz->after_critic_step(*critic);
    }
    if (!std::isfinite(loss_c)) {
      diverged(step, "the critic loss", loss_c);
      break;
    }
    if (!std::isfinite(pen)) {
      diverged(step, "the Lipschitz penalty", pen);
      break;
    }
    Tensor fake = generator->forward(noise(batch));
    Tensor loss_g = objective->generator_loss(critic->forward(fake));
    std::vector<Tensor> grads = grad({loss_g}, g_params);
    const double lg = loss_g.item();
    if (!std::isfinite(lg)) {
      diverged(step, "the generator loss", lg);
      break;
    }
    opt_g->step(g_params, grads);
    result.losses.add(step, {{"loss_critic", loss_c},
                             {"penalty", pen},
                             {"divergence_estimate", estimate},
                             {"loss_generator", lg}});
    if (step < steps) evaluate_metrics(step, false);
    if (progress && (step % log_every == 0 || step == steps))
      progress(step, steps, loss_c, lg,
               std::chrono::duration<double>(clock::now() - t0).count());
  }
  const int64_t last = std::min(step, steps);
  evaluate_metrics(last, true);
  if (cfg.train.samples > 0) {
    result.generated = generate(cfg.train.samples);
    result.real = dataset->sample(cfg.train.samples, metric_rng);
  }
  result.wall_time_s = std::chrono::duration<double>(clock::now() - t0).count();
  return result;
}

}  // namespace kant
