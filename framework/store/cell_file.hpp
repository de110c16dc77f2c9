// Cell files: one HDF5 file per cell (what a cell stores, written under a temporary name and
// renamed when complete) and reading them back for reports. Layout: results/README.md.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kant/checkpoint.hpp"
#include "kant/components.hpp"
#include "kant/tensor.hpp"
#include "store/cell_status.hpp"

namespace kant {

/// <cells>/<id>.ckpt: a cell's resume checkpoint, beside its cell file <cells>/<id>.h5.
std::filesystem::path checkpoint_path(const std::filesystem::path& cell_file);

/// A time series: steps and one column of values per name.
struct Series {
  std::vector<int64_t> step;
  std::map<std::string, std::vector<double>> values;
  void add(int64_t s, const std::map<std::string, double>& row);
};

/// What a cell file records of one metric, as attributes of metrics/<name>.
struct MetricRecord {
  std::string plugin;
  std::string params;  ///< canonical YAML of the plugin and its parameters (no every, no name)
  int64_t every = 0;
  std::string source = "training";  ///< training | evaluate (computed later by kant evaluate)
  std::string status = "ok";        ///< ok | failed
  std::string error;                ///< why it failed
  int64_t failed_step = -1;         ///< the generator step it failed at
  std::string evaluated_at;         ///< UTC time of kant evaluate ("" for training)
};

/// One network's parameters and buffers (copies), as checkpoints store them.
struct NetworkState {
  std::string name;  ///< generator, critic, encoder, …, average (the generator's EMA)
  std::vector<Module::NamedTensor> parameters, buffers;
};

/// Everything a metric computed after training needs to see what it would have seen as the
/// last metric of the cell's list: the networks and the state of the cell's components and
/// random streams right after the final metric values (before final arrays and samples).
struct FinalState {
  int64_t step = 0;  ///< the last generator step trained (the step of the final values)
  std::vector<NetworkState> networks;
  std::vector<std::pair<std::string, std::vector<uint64_t>>> streams;  ///< random streams by name
  std::map<std::string, ComponentState> states;  ///< procedure, dataset, lipschitz
};

/// Samples during training (train.sample_every): generated samples from one fixed batch of
/// inputs and, for 2-D data with a critic, the critic's values on a fixed grid, at each step.
struct Snapshots {
  std::vector<int64_t> step;
  std::vector<Tensor> generated;  ///< [n, sample_shape…] per step
  std::vector<Tensor> surface;    ///< [G, G] per step (row i at surface_y[i]), or none
  Tensor surface_x, surface_y;    ///< [G] the grid, when there are surfaces
  bool empty() const { return step.empty(); }
};

/// The outcome of one cell: what its file stores besides identity and provenance.
struct CellResult {
  CellStatus status = CellStatus::complete;  ///< complete, diverged or failed
  std::string detail;                        ///< why it diverged or failed
  int64_t diverged_step = -1;
  Series losses;  ///< loss_critic, penalty, divergence_estimate, loss_generator per step
  std::map<std::string, Series> metrics;               ///< per metric: its values over steps
  std::map<std::string, MetricRecord> metric_records;  ///< per metric: what it is, ok or failed
  std::map<std::string, double> final_metrics;         ///< "metric.value" at the end
  std::map<std::string, std::map<std::string, Tensor>> arrays;  ///< per metric, at the end
  Tensor generated;                                             ///< generated samples at the end
  std::vector<int64_t> generated_labels;  ///< their requested labels (conditional generators)
  Tensor real;                            ///< as many data samples, for plots
  Snapshots snapshots;                    ///< samples during training (none by default)
  double wall_time_s = 0;                 ///< over every resume
  int64_t resumes = 0;                    ///< times training continued from a checkpoint
  std::string first_start_time;           ///< when training of the cell first began
  std::optional<FinalState> final_state;  ///< unless train.store_networks is false
};

/// A plugin component a cell used, as its provenance records it.
struct PluginUse {
  std::string name;     ///< "kind/name", e.g. "objective/wasserstein"
  std::string version;  ///< the component's version
  std::string library;  ///< path of the plugin library it came from
  std::string sha256;   ///< of that library file
};

/// Identity and provenance of a cell, stored as attributes of the file's root group.
struct CellInfo {
  std::string experiment;
  std::string cell_id;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string config_yaml;
  uint64_t seed = 0;
  std::vector<PluginUse> plugins;
  int threads = 1;
  std::string start_time, end_time;
  std::string backend_version, backend_isa;  ///< oneDNN's version and the ISA it dispatches to
  int64_t resumes = 0;                       ///< times training continued from a checkpoint
};

/// The file of a cell: <dir>/cells/<cell_id>.h5.
std::filesystem::path cell_path(const std::filesystem::path& experiment_dir, const std::string& id);

/// Writes the cell to a temporary file beside `path`, seals it (store/sealed.hpp), then
/// renames it to `path`, so `path` only ever holds a whole file; throws StorageError naming the
/// file on any failure (a full disk), leaving what was at `path` before.
void write_cell_file(const std::filesystem::path& path, const CellInfo& info,
                     const CellResult& result);

/// What `kant evaluate` adds to a stored cell: new metrics (their series, records, final
/// values and arrays), and the networks and state as those metrics leave them.
struct CellAddition {
  std::map<std::string, Series> metrics;
  std::map<std::string, MetricRecord> records;
  std::map<std::string, double> final_metrics;
  std::map<std::string, std::map<std::string, Tensor>> arrays;
  std::optional<FinalState> final_state;  ///< replaces the stored networks and state
  std::set<std::string> replace;          ///< stored metrics (failed ones) the addition replaces
};

/// Rewrites a cell file with `addition`: every other object and attribute is copied as it is
/// (HDF5's object copy: the same bytes), the file is sealed anew and renamed over the old one,
/// so `path` holds the old file or the new one, whole, whatever happens. The caller holds
/// the cell's claim. Throws StorageError naming the file.
void add_to_cell_file(const std::filesystem::path& path, const CellAddition& addition);

/// Reads the stored networks into `parts` (names and shapes checked before anything is
/// assigned) and returns the stored final state (its `networks` left empty). Throws
/// StorageError when the file stores none (train.store_networks: false, or an older kant).
FinalState load_final_state(const std::filesystem::path& path, const CheckpointParts& parts);

/// What a report needs of a stored cell.
struct CellSummary {
  std::filesystem::path path;
  std::string cell_id, experiment, detail, config_yaml;
  CellStatus status = CellStatus::complete;
  int64_t diverged_step = -1;
  int64_t resumes = 0;
  std::vector<std::pair<std::string, std::string>> labels;
  std::map<std::string, double> final_metrics;
  std::map<std::string, std::string> attrs;     ///< every string attribute (provenance)
  std::map<std::string, MetricRecord> metrics;  ///< per stored metric (empty for older files)
  bool has_networks = false;                    ///< the final networks are stored
  int64_t threads = 1;                          ///< OpenMP threads the cell trained with
};

/// Reads a cell file after checking it whole: its seal's checksum, the cell id it stores
/// against its name and its seal, its config against the hash it was sealed with. Throws
/// StorageError naming the file and what does not check (missing, damaged, foreign).
CellSummary read_cell_summary(const std::filesystem::path& path);

/// A dataset of a cell file by its path ("metrics/parameter_trace/critic.psi") as doubles.
std::vector<double> read_cell_dataset(const std::filesystem::path& file, const std::string& path,
                                      Shape* shape = nullptr);

/// One stored series of a cell: a loss ("loss_critic", from series/) or a metric's value
/// ("mode_coverage.modes", from metrics/<metric>/), with the generator steps of its values.
struct StoredSeries {
  std::string name;
  std::vector<int64_t> step;
  std::vector<double> value;
};
/// Every series of a cell file (checked as read_cell_summary does): losses first, then the
/// metrics' values, each in name order.
std::vector<StoredSeries> read_cell_series(const std::filesystem::path& file);

/// Current UTC time, ISO 8601.
std::string utc_now();

}  // namespace kant
