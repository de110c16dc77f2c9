// `kant evaluate`: metrics computed on finished cells from their stored networks and final
// state, without retraining. Everything is checked first (each metric's rules against each
// cell, names that would clash); then each cell with work is claimed (store/claim.hpp) and
// evaluated in a `kant _evaluate` child, --jobs at once, which rewrites the cell file through
// a sealed temporary renamed over it: a kill at any moment leaves every file old or new,
// whole. A metric already stored with the same parameters is skipped.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "cells/experiment.hpp"

namespace kant {

struct EvaluateOptions {
  int jobs = 0;     ///< cells in parallel (0: min(cells with work, cores))
  int threads = 0;  ///< threads per cell (0: the threads each cell trained with)
  bool quiet = false;
  std::chrono::seconds claim_timeout{120};
};

struct EvaluateSummary {
  int evaluated = 0;      ///< cells that gained metrics
  int up_to_date = 0;     ///< cells that store every metric asked for already
  int not_evaluable = 0;  ///< failed cells, cells without networks, missing or damaged files
  int failed = 0;         ///< cells whose evaluation stopped with an error (the file is as it was)
  int metric_failures = 0;  ///< metrics stored as failed
  int interrupted = 0;
  int signal = 0;  ///< the signal that stopped the run (0: none)
};

/// The metrics to compute: each `--metric` value a metric block (`{plugin: NAME, …}` or a
/// name; `name:` chooses what it is stored under), then those listed under `metrics:` in
/// `from_file` ("" for none), at the top level or under `base:` (an experiment file).
/// Errors point at the text; `every` is refused (only final values can be computed).
std::vector<MetricChoice> evaluate_metrics_from(const std::vector<std::string>& blocks,
                                                const std::string& from_file,
                                                const Registry& registry);

/// Evaluates `metrics` on every finished cell of the results folder `dir`; an InputError
/// (nothing written) when a metric cannot apply to a cell or its name is taken by another.
EvaluateSummary evaluate_results(const std::filesystem::path& dir,
                                 const std::vector<MetricChoice>& metrics, const Registry& registry,
                                 const EvaluateOptions& options);

/// The child, `kant _evaluate SPEC CELL.h5`: computes the spec's metrics on the cell and
/// rewrites its file. Returns 0 (evaluated; a metric may be recorded as failed), 1 (an
/// error: the file is as it was), 3 (every metric of the spec stored meanwhile, by another
/// kant evaluate: nothing written), 128 + signal when stopped (nothing written).
int run_evaluate_process(const std::string& spec_path, const std::filesystem::path& cell_file,
                         int threads, const std::string& tag, long parent,
                         const Registry& registry);

}  // namespace kant
