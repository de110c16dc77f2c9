// Running an experiment: each pending cell claimed (store/claim.hpp) and trained in its own
// child process (`kant _cell`, crash isolation), --jobs at once; complete cells are verified
// and skipped, damaged ones kept aside and trained again; cells another run holds are waited
// for. A signal stops every child and leaves nothing half-written. Where the cells come from
// is a CellSource: this process's own queue, or (MPI, cluster/mpi_run.cpp) a coordinator.
#pragma once
#include <chrono>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cells/experiment.hpp"
#include "runs/progress.hpp"
#include "store/cell_status.hpp"

namespace kant {

struct RunOptions {
  int jobs = 0;     ///< cells in parallel (0: min(pending cells, cores))
  int threads = 0;  ///< threads per cell (0: cores / jobs, at least 1)
  std::filesystem::path results_root = "results";
  int shard_index = 0, shard_count = 1;  ///< run only cells with index % count == index
  std::vector<std::string> cell_ids;     ///< run only these cells (empty: every cell)
  bool quiet = false;                    ///< no summary line before the run, no status line
  /// Another host's claim counts as abandoned once its heartbeat is this old.
  std::chrono::seconds claim_timeout{120};
  /// Status line period when it is printed as plain lines (not a terminal).
  std::chrono::seconds status_every{60};
  /// Cells stopped by the user (kant stop) are trained again, from the start.
  bool retry_stopped = false;
  /// How often a running cell writes out its live series (0: it keeps none).
  std::chrono::milliseconds live_every{2000};
};

/// Outcome counts of a run.
struct RunSummary {
  int skipped = 0, complete = 0, diverged = 0, failed = 0;
  int elsewhere = 0;    ///< cells another run (process, namespace or host) trained meanwhile
  int interrupted = 0;  ///< cells whose process a signal stopped (not recorded; rerun resumes them)
  int stopped = 0;      ///< cells the user stopped (kant stop): recorded, at the step they reached
  int signal = 0;       ///< the signal that stopped the run (0: none); exit with 128 + signal
};

/// What a cell's file says, without training anything.
struct CellState {
  size_t index = 0;                  ///< in the experiment's cells
  std::optional<CellStatus> status;  ///< the file's; none: missing, damaged or not a file
  std::string state;     ///< complete | diverged | failed | missing | damaged | not_a_file
  std::string detail;    ///< why it failed or is damaged
  double seconds = -1;   ///< how long it trained (complete, diverged), < 0 unknown
  bool claimed = false;  ///< a claim file is beside it (a run may be training it)
  bool done() const { return status && is_done(*status); }
};

/// The experiment's results folder: <results_root>/<name>.
std::filesystem::path experiment_dir(const Experiment& ex, const RunOptions& opt);

/// Indices of the cells a run with these options covers (--cells, then --shard); throws
/// InputError naming a cell id that is not in the grid.
std::vector<size_t> selected_cells(const Experiment& ex, const RunOptions& opt);

/// The state of each selected cell, read from its file (checked against its seal).
std::vector<CellState> inspect_cells(const Experiment& ex, const RunOptions& opt);

/// Writes <dir>/cells.yaml (the manifest reports read) for the whole grid.
void write_experiment_manifest(const Experiment& ex, const RunOptions& opt);

/// Where a runner's cells come from and where their outcomes go. The default is the queue of
/// pending cells the runner found itself; MPI rank 0 shares that queue with the other ranks,
/// which ask it for one cell at a time (cluster/mpi_run.cpp).
class CellSource {
 public:
  virtual ~CellSource() = default;
  /// True where this process inspects the cells, writes the manifest, fills the queue and
  /// shows the status line (a local run, MPI rank 0); false where cells come from elsewhere.
  virtual bool owns_queue() const = 0;
  /// The queue the runner filled and its status line, before the loop starts (owns_queue).
  virtual void attach(std::deque<size_t>& queue, GridProgress& progress) = 0;
  /// A cell to train now (a slot is free); nullopt: none at the moment.
  virtual std::optional<size_t> next() = 0;
  /// next() will never give a cell again.
  virtual bool exhausted() const = 0;
  /// The results folder takes no more: gives up the cells not handed out; how many (counted
  /// failed by this process).
  virtual size_t abandon() = 0;
  /// A cell this process took is over: complete, diverged, failed, elsewhere or interrupted.
  virtual void ended(size_t cell, CellStatus status, double seconds) = 0;
  /// Each turn of the runner's loop (messages in and out).
  virtual void poll() = 0;
  /// Whether the run may end once this process has nothing left to do (rank 0: every other
  /// rank has finished).
  virtual bool may_end() const = 0;
  /// Parallel slots of the whole run, for the time left (local: this process's jobs).
  virtual int slots(int jobs) const = 0;
  /// Appended to each cell's progress tag (", rank 2"), and to the run's first line.
  virtual std::string tag_suffix() const = 0;
  virtual std::string describe_workers(int jobs, int threads) const = 0;
};

/// Runs every pending cell of the experiment (this shard's, these --cells), printing progress
/// to stderr. `source` is null for a local run.
RunSummary run_experiment(const Experiment& ex, const Registry& registry, const RunOptions& opt,
                          CellSource* source = nullptr);

/// Number of cores this process may use.
int available_cores();

}  // namespace kant
