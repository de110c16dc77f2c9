// The framework's training loop for one cell (see trainer.hpp), in named stages: set up the
// session, ask the procedure for one iteration at a time, record its losses and evaluate
// metrics, write resume checkpoints, finish with final metrics, arrays and samples. A
// non-finite loss ends the loop early: the cell is diverged at that step.
//
// A new training scheme is a procedure plugin (plugins/procedure/), not a change to this loop.
#include "experiment/trainer.hpp"

#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "experiment/resume.hpp"
#include "experiment/session.hpp"
#include "experiment/snapshots.hpp"
#include "kant/autodiff.hpp"

namespace kant {
namespace {

class Trainer {
 public:
  Trainer(const CellConfig& config, const Registry& registry, const TrainOptions& options)
      : session_(config, registry), options_(options), metric_ctx_(metric_context()) {
    if (session_.train.sample_every > 0) snapshots_ = std::make_unique<SnapshotTaker>(session_, registry);
  }

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
  void record_step(int64_t step, const StepOutcome& outcome);
  /// Continues from the checkpoint when there is one for this config; returns the last step
  /// it completed (0: start afresh, with the step-0 metrics).
  int64_t resume();
  void write_checkpoint(int64_t step);
  double elapsed() const;
  /// Final metrics at the last step trained, metrics' arrays, stored samples.
  void finish(int64_t last_step);
  /// Samples during training at `step` when train.sample_every asks for them.
  void snapshot(int64_t step, bool last = false);

  const clock::time_point start_ = clock::now();  // set-up included
  Session session_;
  const TrainOptions& options_;
  MetricContext metric_ctx_;
  std::unique_ptr<SnapshotTaker> snapshots_;  // train.sample_every > 0
  CellResult result_;
  double elapsed_before_ = 0;           // training time of earlier runs of a resumed cell
  std::string start_time_ = utc_now();  // when the cell first started
};

CellResult Trainer::run() {
  const int64_t steps = session_.train.steps;
  const int64_t every = session_.train.checkpoint_every;
  int64_t step = resume() + 1;
  for (; step <= steps; ++step) {
    if (options_.interrupted && options_.interrupted())
      throw TrainingInterrupted(fmt::format("interrupted at generator step {}", step));
    StepOutcome outcome = session_.procedure->step(*session_.context, step);
    if (!outcome.diverged.empty()) {
      result_.status = "diverged";
      result_.diverged_step = step;
      result_.detail = fmt::format("{} at generator step {}", outcome.diverged, step);
      break;
    }
    record_step(step, outcome);
    if (every > 0 && step % every == 0 && step < steps && !options_.checkpoint.empty()) write_checkpoint(step);
  }
  finish(std::min(step, steps));
  return std::move(result_);
}

int64_t Trainer::resume() {
  std::error_code ec;
  if (options_.checkpoint.empty() || !std::filesystem::exists(options_.checkpoint, ec)) {
    evaluate_metrics(0, false);
    snapshot(0);
    return 0;
  }
  TrainingProgress p = load_training_checkpoint(options_.checkpoint, session_);
  result_.losses = std::move(p.loss_series);
  result_.metrics = std::move(p.metric_series);
  result_.snapshots = std::move(p.snapshots);
  result_.resumes = p.resumes + 1;
  start_time_ = p.start_time;
  elapsed_before_ = p.elapsed_s;
  return p.step;
}

void Trainer::write_checkpoint(int64_t step) {
  TrainingProgress p;
  p.step = step;
  p.resumes = result_.resumes;
  p.elapsed_s = elapsed();
  p.start_time = start_time_;
  p.loss_series = result_.losses;
  p.metric_series = result_.metrics;
  p.snapshots = result_.snapshots;
  save_training_checkpoint(options_.checkpoint, session_, p);
}

double Trainer::elapsed() const {
  return elapsed_before_ + std::chrono::duration<double>(clock::now() - start_).count();
}

Tensor Trainer::generate(int64_t n) {
  NoGradGuard no_grad;
  return session_.sampler().forward(session_.generator_input(session_.metric_noise_rng, n));
}

MetricContext Trainer::metric_context() {
  return MetricContext{*session_.dataset,
                       session_.sampler(),
                       session_.scoring_critic,
                       [this](int64_t n) { return generate(n); },
                       session_.metric_rng,
                       [this](int64_t n) { return session_.generator_input(session_.metric_noise_rng, n); },
                       session_.config.noise,
                       session_.objective.get(),
                       session_.procedure->categories(),
                       [this](int64_t n, int64_t category) {
                         NoGradGuard no_grad;
                         return session_.sampler().forward(
                             session_.generator_input_for_category(session_.metric_noise_rng, n, category));
                       }};
}

void Trainer::evaluate_metrics(int64_t step, bool final_values) {
  for (size_t i = 0; i < session_.metrics.size(); ++i) {
    const MetricChoice& m = session_.config.metrics[i];
    const bool periodic = m.every > 0 && step % m.every == 0;
    if (!periodic && !final_values) continue;
    std::map<std::string, double> values = session_.metrics[i]->compute(metric_ctx_);
    Series& series = result_.metrics[m.name];
    if (series.step.empty() || series.step.back() != step) series.add(step, values);
    if (final_values)
      for (const auto& [k, v] : values) result_.final_metrics[m.name + "." + k] = v;
  }
}

void Trainer::record_step(int64_t step, const StepOutcome& outcome) {
  const int64_t steps = session_.train.steps;
  if (session_.average)
    update_average(*session_.average, *session_.generator, static_cast<float>(session_.train.ema));
  result_.losses.add(step, std::map<std::string, double>(outcome.losses.begin(), outcome.losses.end()));
  if (step < steps) evaluate_metrics(step, false);
  if (step < steps) snapshot(step);
  const int64_t log_every =
      session_.train.log_every > 0 ? session_.train.log_every : std::max<int64_t>(1, steps / 10);
  if (options_.progress && (step % log_every == 0 || step == steps))
    options_.progress(step, steps, outcome.losses, elapsed());
}

void Trainer::snapshot(int64_t step, bool last) {
  if (snapshots_ && (last || step % session_.train.sample_every == 0)) snapshots_->take(step, result_.snapshots);
}

void Trainer::finish(int64_t last_step) {
  evaluate_metrics(last_step, true);
  snapshot(last_step, true);
  for (size_t i = 0; i < session_.metrics.size(); ++i) {
    auto arrays = session_.metrics[i]->final_arrays(metric_ctx_);
    if (!arrays.empty()) result_.arrays[session_.config.metrics[i].name] = std::move(arrays);
  }
  if (session_.train.samples > 0) {
    result_.generated = generate(session_.train.samples);
    result_.real = session_.dataset->sample(session_.train.samples, session_.metric_rng);
  }
  result_.wall_time_s = elapsed();
  result_.first_start_time = start_time_;
}

}  // namespace

CellResult train_cell(const CellConfig& config, const Registry& registry, const TrainOptions& options) {
  return Trainer(config, registry, options).run();
}

}  // namespace kant
