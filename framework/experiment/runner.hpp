// Running an experiment: each pending cell in its own child process (crash isolation),
// --jobs of them at once, complete cells skipped, results written atomically.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "experiment/experiment.hpp"

namespace kant {

struct RunOptions {
  int jobs = 0;     ///< cells in parallel (0: min(pending cells, cores))
  int threads = 0;  ///< threads per cell (0: cores / jobs, at least 1)
  std::filesystem::path results_root = "results";
  int shard_index = 0, shard_count = 1;  ///< run only cells with index % count == index
  bool quiet = false;
};

/// Outcome counts of a run.
struct RunSummary {
  int skipped = 0, complete = 0, diverged = 0, failed = 0;
};

/// The experiment's results folder: <results_root>/<name>.
std::filesystem::path experiment_dir(const Experiment& ex, const RunOptions& opt);

/// Runs every pending cell of the experiment (this shard's), printing progress to stderr.
RunSummary run_experiment(const Experiment& ex, const Registry& registry, const RunOptions& opt);

/// The child side: trains the cell described by `spec_path` and writes `out_path`.
/// Returns the process exit code (0 complete or diverged, 1 failed).
int run_cell_process(const std::filesystem::path& spec_path, const std::filesystem::path& out_path,
                     int threads, const std::string& tag, const Registry& registry);

/// Number of cores this process may use.
int available_cores();

}  // namespace kant
