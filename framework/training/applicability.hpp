// Whether a cell's metrics can apply to it, decided before anything trains: each metric's
// declared rules (kant/components.hpp: MetricRequirements) checked against a view of the cell
// whose data set and networks are built only when a rule asks for them, and shared by the
// cells that have the same ones.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cells/experiment.hpp"

namespace kant {

/// The data sets and networks built for the checks of one experiment (or one evaluate).
class ApplicabilityCache {
 public:
  explicit ApplicabilityCache(const Registry& registry);
  ~ApplicabilityCache();
  ApplicabilityCache(const ApplicabilityCache&) = delete;
  ApplicabilityCache& operator=(const ApplicabilityCache&) = delete;
  struct Impl;

 private:
  friend void check_metrics_apply(const CellConfig&, const std::vector<const MetricChoice*>&,
                                  const std::string&, ApplicabilityCache&);
  friend void check_procedure_applies(const CellConfig&, const std::string&, ApplicabilityCache&);
  std::unique_ptr<Impl> impl_;
};

/// Checks every metric of `metrics` against its rules for the cell; the first rule broken is
/// a ConfigError at the metric's block naming the metric, the rule, the value that breaks it
/// and the cell (`label`, e.g. "divergence=kl seed=0"). A rule whose view cannot be built
/// (a data set that fails to load) is not checked here: check_experiment_datasets reports such
/// a data set before a run; otherwise the cell fails when it runs.
void check_metrics_apply(const CellConfig& cell, const std::vector<const MetricChoice*>& metrics,
                         const std::string& label, ApplicabilityCache& cache);

/// The rules the cell's procedure declares (e.g. gan's feature matching: a critic that records
/// the block it reads), checked as a metric's are; a ConfigError at the procedure's block.
void check_procedure_applies(const CellConfig& cell, const std::string& label,
                             ApplicabilityCache& cache);
/// check_metrics_apply on every cell of the experiment with all its metrics, and
/// check_procedure_applies.
void check_experiment_metrics(const Experiment& ex, const Registry& registry);

/// Builds the data set of each of `cells` (indices in ex.cells), every distinct dataset block
/// once, as the metrics' rules build them. One that cannot be built (a data file missing or
/// malformed, any error of its plugin) is a ConfigError at that cell's dataset block with the
/// reason: kant validate, run and slurm call it before anything runs or is written.
void check_experiment_datasets(const Experiment& ex, const Registry& registry,
                               const std::vector<size_t>& cells);
/// The same for every cell of the experiment.
void check_experiment_datasets(const Experiment& ex, const Registry& registry);
/// A ConfigError at the network's `condition` (or `classes`) when a conditional network meets
/// a data set without labels, or a label count other than the data set's `classes`.
void check_labels_fit(const CellConfig& c, int64_t classes);

}  // namespace kant
