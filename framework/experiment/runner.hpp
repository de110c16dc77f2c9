// Running an experiment: each pending cell claimed (store/claim.hpp) and trained in its own
// child process (`kant _cell`, crash isolation), --jobs at once; complete cells are verified
// and skipped, damaged ones kept aside and trained again; cells another run holds are waited
// for. A signal stops every child and leaves nothing half-written.
#pragma once
#include <chrono>
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
  /// Another host's claim counts as abandoned once its heartbeat is this old.
  std::chrono::seconds claim_timeout{120};
};

/// Outcome counts of a run.
struct RunSummary {
  int skipped = 0, complete = 0, diverged = 0, failed = 0;
  int elsewhere = 0;  ///< cells another run (process, namespace or host) trained meanwhile
  int interrupted = 0;  ///< cells whose process a signal stopped (not recorded; rerun resumes them)
  int signal = 0;     ///< the signal that stopped the run (0: none); exit with 128 + signal
};

/// The experiment's results folder: <results_root>/<name>.
std::filesystem::path experiment_dir(const Experiment& ex, const RunOptions& opt);

/// Runs every pending cell of the experiment (this shard's), printing progress to stderr.
RunSummary run_experiment(const Experiment& ex, const Registry& registry, const RunOptions& opt);

/// Number of cores this process may use.
int available_cores();

}  // namespace kant
