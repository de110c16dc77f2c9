// The framework's training loop for one cell (see trainer.hpp), in named stages: set up the
// session, ask the procedure for one iteration at a time, record its losses and evaluate
// metrics (the metric stage, metric_stage.hpp: a metric's failure is the metric's), write
// resume checkpoints, finish with final metrics, the final state (networks, streams), arrays
// and samples. A non-finite loss ends the loop early: the cell is diverged at that step.
// Scheduled parameters (kant/schedule.hpp) are read at the step being trained: the loop sets
// the thread's ScheduleClock around each iteration and what follows it (the metric stage sets
// it for metrics), and records each one's value beside the losses (series/schedule.<name>).
//
// A new training scheme is a procedure plugin (plugins/procedure/), not a change to this loop.
#include "training/trainer.hpp"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <memory>

#include "autodiff/backend.hpp"
#include "kant/autodiff.hpp"
#include "training/metric_stage.hpp"
#include "training/resume.hpp"
#include "training/session.hpp"
#include "training/snapshots.hpp"

namespace kant {
namespace {

class Trainer {
 public:
  Trainer(const CellConfig& config, const Registry& registry, const TrainOptions& options)
      : session_(config, registry),
        options_(options),
        metric_ctx_(metric_context(session_)),
        stage_(session_metrics(session_), metric_ctx_, config.metric_errors_fatal, "training",
               options.metric_failed),
        schedules_(config.schedules()) {
    if (session_.train.sample_every > 0)
      snapshots_ = std::make_unique<SnapshotTaker>(session_, registry);
  }

  CellResult run();

 private:
  using clock = std::chrono::steady_clock;

  /// Metrics due at `step` (periodic ones; all of them with final values at the end).
  void evaluate_metrics(int64_t step, bool final_values) {
    NetworkLipschitzGuard keep(session_);
    stage_.evaluate(step, final_values, result_);
  }
  /// After a completed iteration: the weight average, the losses, metrics, progress.
  void record_step(int64_t step, const StepOutcome& outcome);
  /// Continues from the checkpoint when there is one for this config; returns the last step
  /// it completed (0: start afresh, with the step-0 metrics).
  int64_t resume();
  void write_checkpoint(int64_t step);
  double elapsed() const;
  /// Final metrics at the last step trained, the final state (train.store_networks),
  /// metrics' arrays, stored samples.
  void finish(int64_t last_step);
  /// Samples during training at `step` when train.sample_every asks for them.
  void snapshot(int64_t step, bool last = false);
  /// Hands the live series (options.live) what it has not seen yet of the losses, metric
  /// values and samples.
  void publish_live();

  const clock::time_point start_ = clock::now();  // set-up included
  Session session_;
  const TrainOptions& options_;
  MetricContext metric_ctx_;
  MetricStage stage_;
  std::unique_ptr<SnapshotTaker> snapshots_;  // train.sample_every > 0
  CellResult result_;
  const std::vector<std::pair<std::string, Schedule>> schedules_;  // stored beside the losses
  double elapsed_before_ = 0;  // training time of earlier runs of a resumed cell
  // rows of the losses, of each metric's series and snapshots already in the live series
  size_t live_losses_ = 0, live_snapshots_ = 0;
  std::map<std::string, size_t> live_metrics_;
  std::string start_time_ = utc_now();  // when the cell first started
};

CellResult Trainer::run() {
  const int64_t steps = session_.train.steps;
  const int64_t every = session_.train.checkpoint_every;
  int64_t step = resume() + 1;
  publish_live();
  if (options_.live) options_.live->start();
  for (; step <= steps; ++step) {
    if (options_.interrupted && options_.interrupted())
      throw TrainingInterrupted(fmt::format("interrupted at generator step {}", step));
    if (options_.stop_requested && options_.stop_requested()) {
      result_.status = CellStatus::stopped;
      result_.detail = fmt::format("stopped by the user at generator step {}", step - 1);
      finish(step - 1);
      return std::move(result_);
    }
    ScheduleClock at_step(step);
    StepOutcome outcome = [&] {
      backend::Bf16Products products(session_.train.bf16);
      return session_.procedure->step(*session_.context, step);
    }();
    if (!outcome.diverged.empty()) {
      result_.status = CellStatus::diverged;
      result_.diverged_step = step;
      result_.detail = fmt::format("{} at generator step {}", outcome.diverged, step);
      break;
    }
    record_step(step, outcome);
    if (every > 0 && step % every == 0 && step < steps && !options_.checkpoint.empty())
      write_checkpoint(step);
  }
  finish(std::min(step, steps));
  return std::move(result_);
}

int64_t Trainer::resume() {
  std::error_code ec;
  if (options_.checkpoint.empty() || !std::filesystem::exists(options_.checkpoint, ec)) {
    ScheduleClock at_step(0);  // before the first step
    evaluate_metrics(0, false);
    snapshot(0);
    return 0;
  }
  TrainingProgress p = load_training_checkpoint(options_.checkpoint, session_);
  result_.losses = std::move(p.loss_series);
  result_.metrics = std::move(p.metric_series);
  result_.metric_records = std::move(p.metric_records);
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
  p.metric_records = result_.metric_records;
  p.snapshots = result_.snapshots;
  save_training_checkpoint(options_.checkpoint, session_, p);
}

double Trainer::elapsed() const {
  return elapsed_before_ + std::chrono::duration<double>(clock::now() - start_).count();
}

void Trainer::record_step(int64_t step, const StepOutcome& outcome) {
  const int64_t steps = session_.train.steps;
  if (session_.average)
    update_average(*session_.average, *session_.generator,
                   static_cast<float>(session_.train.ema()));
  std::map<std::string, double> row(outcome.losses.begin(), outcome.losses.end());
  for (const auto& [name, schedule] : schedules_) row["schedule." + name] = schedule.at(step);
  result_.losses.add(step, row);
  if (step < steps) evaluate_metrics(step, false);
  if (step < steps) snapshot(step);
  const int64_t log_every =
      session_.train.log_every > 0 ? session_.train.log_every : std::max<int64_t>(1, steps / 10);
  if (options_.progress && (step % log_every == 0 || step == steps))
    options_.progress(step, steps, outcome.losses, elapsed());
  publish_live();
}

void Trainer::publish_live() {
  LiveSeriesWriter* live = options_.live;
  if (!live) return;
  const double seconds = elapsed();
  auto row_at = [](const Series& s, size_t i) {
    std::map<std::string, double> row;
    for (const auto& [name, v] : s.values)
      if (i < v.size()) row[name] = v[i];
    return row;
  };
  for (; live_losses_ < result_.losses.step.size(); ++live_losses_)
    live->losses(result_.losses.step[live_losses_], seconds, row_at(result_.losses, live_losses_));
  for (const auto& [name, series] : result_.metrics)
    for (size_t& i = live_metrics_[name]; i < series.step.size(); ++i)
      live->metric(series.step[i], name, row_at(series, i));
  const Snapshots& shots = result_.snapshots;
  for (; live_snapshots_ < shots.step.size(); ++live_snapshots_)
    if (live_snapshots_ + 1 == shots.step.size())  // only the latest: readers show that one
      live->samples(shots.step[live_snapshots_], shots.generated[live_snapshots_]);
}

void Trainer::snapshot(int64_t step, bool last) {
  if (snapshots_ && (last || step % session_.train.sample_every == 0)) {
    NetworkLipschitzGuard keep(session_);
    snapshots_->take(step, result_.snapshots);
  }
}

void Trainer::finish(int64_t last_step) {
  ScheduleClock at_step(last_step);
  evaluate_metrics(last_step, true);
  // what a metric appended to the list would see (kant evaluate): taken before arrays and samples
  if (session_.config.store_networks)
    result_.final_state = capture_final_state(session_, last_step);
  snapshot(last_step, true);  // changes no stream, network or state (see snapshots.hpp)
  stage_.final_arrays(last_step, result_);
  if (std::map<std::string, Tensor> own = session_.procedure_arrays(); !own.empty())
    result_.arrays[session_.config.procedure.component->name()] = std::move(own);
  if (session_.train.samples > 0) {
    Batch generated = session_.generate_labelled(session_.metric_noise_rng, session_.train.samples);
    result_.generated = generated.x;
    result_.generated_labels = std::move(generated.labels);
    result_.real = session_.dataset->sample(session_.train.samples, session_.metric_rng);
  }
  result_.wall_time_s = elapsed();
  result_.first_start_time = start_time_;
}

}  // namespace

CellResult train_cell(const CellConfig& config, const Registry& registry,
                      const TrainOptions& options) {
  return Trainer(config, registry, options).run();
}

}  // namespace kant
