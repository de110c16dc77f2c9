// Training one cell: n_critic critic steps per generator step, Lipschitz hooks, metrics every
// k steps, divergence detection; returns everything the results file stores.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kant/experiment.hpp"

namespace kant {

/// A time series: steps and one column of values per name.
struct Series {
  std::vector<int64_t> step;
  std::map<std::string, std::vector<double>> values;
  void add(int64_t s, const std::map<std::string, double>& row);
};

/// The outcome of one cell.
struct CellResult {
  std::string status = "complete";  ///< complete | diverged | failed
  std::string detail;               ///< why it diverged or failed
  int64_t diverged_step = -1;
  Series losses;  ///< loss_critic, penalty, divergence_estimate, loss_generator per step
  std::map<std::string, Series> metrics;          ///< per metric: its values over steps
  std::map<std::string, double> final_metrics;    ///< "metric.value" at the end
  std::map<std::string, std::map<std::string, Tensor>> arrays;  ///< per metric, at the end
  Tensor generated;                               ///< generated samples at the end
  Tensor real;                                    ///< as many data samples, for plots
  double wall_time_s = 0;
};

/// Called every log period: step, total steps, latest losses.
using ProgressFn = std::function<void(int64_t step, int64_t steps, double loss_critic,
                                      double loss_generator, double elapsed_s)>;

/// Trains the cell. NaN/Inf in a loss ends training with status "diverged"; an exception
/// propagates (the caller stores it as "failed").
CellResult train_cell(const CellConfig& config, const Registry& registry, const ProgressFn& progress);

}  // namespace kant
