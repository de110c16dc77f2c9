// The metric stage of a cell, shared by training (trainer.cpp) and `kant evaluate`
// (evaluate.cpp): what metrics see of a session, each metric evaluated at its steps apart from
// the others and from the cell's fate (a metric that throws, or returns a non-finite value it
// does not declare while the cell has not diverged, is recorded as failed at that step and
// never evaluated again; training and the other metrics go on), and the final state that lets
// a metric be computed later as if it had been the last of the cell's list.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/cell_file.hpp"
#include "training/session.hpp"

namespace kant {

/// n generated samples for metrics and storage: from the sampler (the average when there is
/// one) and the metric noise stream, so that evaluating a metric never shifts a training draw.
Tensor generate_samples(Session& session, int64_t n);
/// What metrics see of the session: data, sampler, scoring critic, metric streams.
MetricContext metric_context(Session& session);

/// The networks (copies), random streams and components' state of the session as they are
/// now, for the cell file (train.store_networks).
FinalState capture_final_state(Session& session, int64_t step);
/// Sets the session's random streams and components' state to `state` (the networks are
/// assigned by load_final_state, which checks them first).
void restore_final_state(Session& session, const FinalState& state);

/// Called when a metric fails: its name, the step, the reason.
using MetricFailed =
    std::function<void(const std::string& metric, int64_t step, const std::string& error)>;

class MetricStage {
 public:
  struct Entry {
    const MetricChoice* choice;
    std::shared_ptr<Metric> metric;
  };

  /// `fatal` (train.metric_errors: fail): an exception propagates and fails the cell, and
  /// non-finite values are stored as numbers. `source` is recorded with each metric
  /// ("training" or "evaluate").
  MetricStage(std::vector<Entry> metrics, MetricContext& ctx, bool fatal, std::string source,
              MetricFailed on_failure = {});

  /// The metrics due at `step` (periodic ones; every one with its final values when
  /// `final_values`), into result.metrics, final_metrics and metric_records. Metrics whose
  /// record says failed (this run, or before a resume) are skipped.
  void evaluate(int64_t step, bool final_values, CellResult& result);
  /// The arrays of every metric still standing, into result.arrays (a failure here drops
  /// that metric's final values).
  void final_arrays(int64_t step, CellResult& result);

 private:
  MetricRecord& record(size_t i, CellResult& result) const;
  void fail(size_t i, int64_t step, const std::string& error, CellResult& result) const;

  std::vector<Entry> metrics_;
  MetricContext& ctx_;
  bool fatal_;
  std::string source_;
  MetricFailed on_failure_;
};

/// The session's metrics (in config order) as stage entries.
std::vector<MetricStage::Entry> session_metrics(const Session& session);

}  // namespace kant
