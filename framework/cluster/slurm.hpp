// `kant slurm`: an experiment's pending cells as a SLURM array job (one task per cell or per
// chunk of cells, each `kant run --cells …` with the task's CPUs as threads) and a report job
// that depends on it (afterany) and builds the report when the array ends. The scripts are
// written, readable, into <results>/<name>/slurm/ and submitted with sbatch; a dry run prints
// them. Submitting again covers only the cells that are not complete. Settings come from the
// command line, then the experiment's `slurm:` block:
//
//   slurm:
//     partition: cpu            # --partition
//     time: "04:00:00"          # --time, per array task
//     cpus_per_task: 4          # --cpus-per-task, the cells' threads
//     array_parallel: 16        # --array-parallel: at most K tasks at once (--array=…%K)
//     cells_per_task: 1         # --cells-per-task (default 1, more when the array would be too
//     long) max_array_tasks: 1000     # SLURM's MaxArraySize (1001 unless the cluster sets it) less
//     one sbatch: [--mem=8G, --account=abc]          # extra #SBATCH lines (--sbatch) prologue: |
//     # shell lines before kant runs (--prologue)
//       module load openmpi
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runs/runner.hpp"

namespace kant::cluster {

/// What the command line asked; unset values come from the experiment's `slurm:` block.
struct SlurmRequest {
  std::filesystem::path experiment_file;
  std::vector<std::string> sets;
  std::filesystem::path results_root = "results";
  std::optional<std::string> partition, time;
  std::optional<int> cpus_per_task, array_parallel, cells_per_task;
  std::vector<std::string> sbatch_lines;    ///< appended to the block's
  std::vector<std::string> prologue_lines;  ///< appended to the block's
};

/// Settings after merging the command line over the `slurm:` block (validated).
struct SlurmSettings {
  std::string partition, time;
  int cpus_per_task = 1;
  int array_parallel = 0;  ///< 0: no limit
  int cells_per_task = 0;  ///< 0: 1, or more when the array would exceed max_array_tasks
  int max_array_tasks = 1000;
  std::vector<std::string> sbatch;  ///< "--mem=8G"
  std::vector<std::string> prologue;
};

/// Reads and checks an experiment's `slurm:` block (file:line:column errors).
SlurmSettings read_slurm_block(const ConfigNode& block);

/// The array job and the report job for an experiment's pending cells.
struct SlurmPlan {
  std::string name;
  std::filesystem::path experiment_file, results_root, experiment_dir, slurm_dir, logs_dir,
      work_dir;
  std::string kant;  ///< this kant's absolute path
  std::vector<std::string> sets;
  SlurmSettings settings;
  size_t cells = 0;                         ///< in the grid
  std::vector<size_t> pending;              ///< not complete (grid indices)
  std::vector<std::string> pending_states;  ///< their states: missing, failed, damaged, …
  size_t claimed = 0;                       ///< pending cells with a claim beside them
  std::vector<std::vector<size_t>> tasks;   ///< cells of each array task
  std::string resubmit;                     ///< the command that submits what is left again
};

SlurmPlan plan_slurm(const Experiment& ex, const SlurmRequest& request);

/// The array job's script.
std::string array_script(const Experiment& ex, const SlurmPlan& plan);
/// The report job's script, depending on `array_job` ("<array job id>" in a dry run).
std::string report_script(const SlurmPlan& plan, const std::string& array_job);

struct SlurmSubmission {
  std::string array_job, report_job;
  std::filesystem::path array_file, report_file;
};

/// Writes the manifest and the scripts, submits the array then the report job with sbatch
/// (from PATH); throws Error with sbatch's own message when it refuses.
SlurmSubmission submit_slurm(const Experiment& ex, const SlurmPlan& plan);

/// "word" or 'quoted' for a POSIX shell.
std::string shell_quote(const std::string& word);

}  // namespace kant::cluster
