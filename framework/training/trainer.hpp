// Training one cell: the framework's loop (set up, steps, metrics, checkpoints, finish) around
// the iterations of the cell's procedure; returns everything the cell file stores.
#pragma once
#include <filesystem>
#include <functional>

#include "cells/experiment.hpp"
#include "kant/error.hpp"
#include "store/cell_file.hpp"
#include "store/live_series.hpp"

namespace kant {

/// Called every log period: step, total steps, the latest losses by name, seconds so far.
using ProgressFn = std::function<void(int64_t step, int64_t steps,
                                      const std::vector<std::pair<std::string, double>>& losses,
                                      double elapsed_s)>;

/// What a caller asks of training besides the config.
struct TrainOptions {
  ProgressFn progress;
  /// Asked before every generator step; true stops training with TrainingInterrupted.
  std::function<bool()> interrupted;
  /// Resume checkpoint: continued from when it holds this config, written every
  /// train.checkpoint_every steps, removed by the caller once the cell file is written.
  std::filesystem::path checkpoint;
  /// Called when a metric fails (train.metric_errors: record): its name, the step, the reason.
  std::function<void(const std::string& metric, int64_t step, const std::string& error)>
      metric_failed;
  /// Where losses, metric values and samples go as they are computed (null: nowhere); what a
  /// resumed cell had already is written first, then the file is put in place.
  LiveSeriesWriter* live = nullptr;
  /// Asked before every generator step; true ends training at the last step trained with
  /// status "stopped" (kant stop), its series kept and its final metrics computed there.
  std::function<bool()> stop_requested;
};

/// Training stopped by a signal; nothing of the cell is stored (its checkpoint stays).
class TrainingInterrupted : public Error {
 public:
  using Error::Error;
};

/// Trains the cell. NaN/Inf in a loss ends training with status "diverged"; an exception
/// propagates (the caller stores it as "failed"); a metric's exception or undeclared
/// non-finite value fails only that metric, unless train.metric_errors is `fail`.
CellResult train_cell(const CellConfig& config, const Registry& registry,
                      const TrainOptions& options);

}  // namespace kant
