// The framework's training loop for one cell (see trainer.hpp), in named stages: set up the
// session, run the GAN steps of each generator iteration, record the losses and evaluate
// metrics, finish with final metrics, arrays and samples. Divergence ends the loop early.
//
// A new training scheme or a generator-side hook belongs beside GanSteps (gan_steps.hpp), not
// in this loop: the loop only asks for one iteration at a time.
#include "experiment/trainer.hpp"

#include <chrono>

#include <fmt/format.h>

#include "experiment/gan_steps.hpp"
#include "experiment/session.hpp"
#include "kant/autodiff.hpp"

namespace kant {
namespace {

class Trainer {
 public:
  Trainer(const CellConfig& config, const Registry& registry, const ProgressFn& progress)
      : session_(config, registry),
        steps_(session_),
        progress_(progress),
        metric_ctx_(metric_context()) {}

  CellResult run();

 private:
  using clock = std::chrono::steady_clock;

  /// n generated samples for metrics and storage: from the sampler and the metric noise
  /// stream, so that evaluating a metric never changes the training run.
  Tensor generate(int64_t n);
  MetricContext metric_context();
  /// Metrics due at `step` (periodic ones; all of them with final values at the end).
  void evaluate_metrics(int64_t step, bool final_values);
  /// After a completed iteration: the weight average, the losses, metrics, progress.
  void record_step(int64_t step);
  /// Final metrics at the last step trained, metrics' arrays, stored samples.
  void finish(int64_t last_step);

  const clock::time_point start_ = clock::now();  // set-up included
  Session session_;
  GanSteps steps_;
  const ProgressFn& progress_;
  MetricContext metric_ctx_;
  CellResult result_;
};

CellResult Trainer::run() {
  const int64_t steps = session_.train.steps;
  evaluate_metrics(0, false);
  int64_t step = 1;
  for (; step <= steps; ++step) {
    if (!steps_.step(step)) {
      result_.status = "diverged";
      result_.diverged_step = step;
      result_.detail = fmt::format("{} at generator step {}", steps_.diverged(), step);
      break;
    }
    record_step(step);
  }
  finish(std::min(step, steps));
  return std::move(result_);
}

Tensor Trainer::generate(int64_t n) {
  NoGradGuard no_grad;
  return session_.sampler().forward(session_.noise(session_.metric_noise_rng, n));
}

MetricContext Trainer::metric_context() {
  return MetricContext{*session_.dataset,
                       session_.sampler(),
                       *session_.critic,
                       [this](int64_t n) { return generate(n); },
                       session_.metric_rng,
                       [this](int64_t n) { return session_.noise(session_.metric_noise_rng, n); },
                       session_.config.noise,
                       session_.objective.get()};
}

void Trainer::evaluate_metrics(int64_t step, bool final_values) {
  for (size_t i = 0; i < session_.metrics.size(); ++i) {
    const MetricChoice& m = session_.config.metrics[i];
    const bool periodic = m.every > 0 && step % m.every == 0;
    if (!periodic && !final_values) continue;
    std::map<std::string, double> values = session_.metrics[i]->compute(metric_ctx_);
    const std::string& name = m.choice.component->name();
    Series& series = result_.metrics[name];
    if (series.step.empty() || series.step.back() != step) series.add(step, values);
    if (final_values)
      for (const auto& [k, v] : values) result_.final_metrics[name + "." + k] = v;
  }
}

void Trainer::record_step(int64_t step) {
  const int64_t steps = session_.train.steps;
  if (session_.average)
    update_average(*session_.average, *session_.generator, static_cast<float>(session_.train.ema));
  const StepLosses& l = steps_.losses();
  result_.losses.add(step, {{"loss_critic", l.critic},
                            {"penalty", l.penalty},
                            {"divergence_estimate", l.divergence_estimate},
                            {"loss_generator", l.generator}});
  if (step < steps) evaluate_metrics(step, false);
  const int64_t log_every =
      session_.train.log_every > 0 ? session_.train.log_every : std::max<int64_t>(1, steps / 10);
  if (progress_ && (step % log_every == 0 || step == steps))
    progress_(step, steps, l.critic, l.generator,
              std::chrono::duration<double>(clock::now() - start_).count());
}

void Trainer::finish(int64_t last_step) {
  evaluate_metrics(last_step, true);
  for (size_t i = 0; i < session_.metrics.size(); ++i) {
    auto arrays = session_.metrics[i]->final_arrays(metric_ctx_);
    if (!arrays.empty())
      result_.arrays[session_.config.metrics[i].choice.component->name()] = std::move(arrays);
  }
  if (session_.train.samples > 0) {
    result_.generated = generate(session_.train.samples);
    result_.real = session_.dataset->sample(session_.train.samples, session_.metric_rng);
  }
  result_.wall_time_s = std::chrono::duration<double>(clock::now() - start_).count();
}

}  // namespace

CellResult train_cell(const CellConfig& config, const Registry& registry, const ProgressFn& progress) {
  return Trainer(config, registry, progress).run();
}

}  // namespace kant
