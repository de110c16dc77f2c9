// Experiments: a YAML file with name, base, grid, seeds, report, reference → validated cells,
// each a fully resolved config with a content hash as its id.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "plugin/registry.hpp"
#include "store/manifest.hpp"

namespace kant {

/// A component chosen in a config, with its validated parameters.
struct ComponentChoice {
  const Component* component = nullptr;
  Params params;
  Mark mark;  ///< its block in the YAML, for errors
};

struct MetricChoice {
  ComponentChoice choice;
  std::string name;   ///< what its values are stored under: `name:` in the YAML, else the plugin's
  int64_t every = 0;  ///< evaluate every `every` generator steps (0: at the end only)
  Mark mark;          ///< its block in the YAML, for errors
  ConfigNode
      canonical;  ///< its canonical block (plugin, parameters, `every`, `name` unless default)
  /// The canonical YAML of the plugin and its parameters alone (no `every`, no `name`): two
  /// metrics with the same key compute the same values.
  std::string key() const;
};

/// A `metrics[]` block validated against its plugin's schema and
/// the framework's `every` and `name`; `steps` (train.steps) for a schedule, where one is taken.
MetricChoice resolve_metric(const ConfigNode& block, const Registry& registry, int64_t steps = 0);

/// A network the procedure trains: its config block (generator, critic, encoder, …), the
/// architecture chosen there and the optimizer of its parameters.
struct NetworkChoice {
  std::string name;
  ComponentChoice architecture;
  ComponentChoice optimizer;  ///< from `<name>_optimizer`, else the shared `optimizer` block
  /// From `<name>_lipschitz` (any network but the critic, whose methods are `lipschitz`):
  /// methods that reparameterise its weights (spectral_norm, bjorck), combined; none: empty.
  std::vector<ComponentChoice> lipschitz;
  /// Its `condition` (how it takes a class label; "none" also for architectures without one)
  /// and `classes` (0: the data set's), with where the block says so, for errors.
  std::string condition = "none";
  int64_t classes = 0;
  Mark condition_mark, classes_mark;
};

/// One fully resolved, validated cell config. `canonical` holds every parameter (defaults
/// filled in), in a fixed order: its YAML text is what the cell id hashes.
struct CellConfig {
  ComponentChoice dataset;
  ComponentChoice procedure;               ///< `gan` unless the config says otherwise
  std::vector<NetworkChoice> networks;     ///< in the procedure's order, the generator first
  ComponentChoice objective;               ///< component null when the procedure uses none
  std::vector<ComponentChoice> lipschitz;  ///< one or more methods, combined
  std::vector<MetricChoice> metrics;
  int64_t noise_dim = 0;
  std::string noise;
  /// generator.labels: a conditional generator's labels drawn `uniform`ly over the classes or
  /// as the `data`'s class frequencies.
  std::string generated_labels = "uniform";
  int64_t pack = 1;  ///< samples per critic input (PacGAN)
  TrainSettings train;
  /// train.metric_errors: `fail` (true) fails the cell when a metric throws, and stores
  /// non-finite values as numbers (the behaviour before metrics had a stage of their own);
  /// `record` (false, the default) fails only the metric.
  bool metric_errors_fatal = false;
  /// train.store_networks: the final networks and metric state go into the cell file.
  bool store_networks = true;
  uint64_t seed = 0;
  ConfigNode canonical;
  /// What resolving it read otherwise than written (an old file's train.n_critic read into the
  /// procedure's block), for the command to say once.
  std::vector<std::string> notes;

  /// The network of that config block, or nullptr.
  const NetworkChoice* network(const std::string& name) const;
  /// Every component the cell uses, each once (for provenance).
  std::vector<const ComponentChoice*> components() const;
  /// Every parameter that follows a schedule, named "<block>.<parameter>" as the canonical
  /// config places it (lipschitz.lambda, critic_optimizer.lr, train.ema; lipschitz[1].gamma in
  /// a list of methods), with its schedule: the values stored as series/schedule.<name>.
  std::vector<std::pair<std::string, Schedule>> schedules() const;

  std::string yaml() const { return emit_yaml(canonical, true); }
  /// 16 hex digits: FNV-1a 64 of the canonical YAML without the keys that cannot change a
  /// result (train.checkpoint_every, metric_errors, store_networks), so that setting them
  /// keeps a cell the same cell.
  std::string id() const;
};

/// Validates a cell config tree against the framework's and the plugins' schemas, for training
/// it on this machine.
CellConfig resolve_cell(const ConfigNode& config, const Registry& registry);
/// The same for a stored cell that is read, not trained (kant evaluate, kant latent): a bf16
/// cell does not need this CPU to multiply bf16, since what runs then runs fp32.
CellConfig resolve_stored_cell(const ConfigNode& config, const Registry& registry);

/// One point of the grid for one seed.
struct Cell {
  std::vector<std::pair<std::string, std::string>> labels;  ///< axis → value label
  CellConfig config;
  std::string id;
  /// "method=WGAN-GP seed=0".
  std::string label_str() const;
};

struct Experiment {
  std::string name;
  std::filesystem::path file;
  std::vector<std::string> axes;  ///< grid axis names in file order, then "seed"
  std::vector<Cell> cells;
  ConfigNode report;                      ///< the `report` block (null if absent)
  ConfigNode reference;                   ///< published numbers (null if absent)
  std::vector<std::string> sets, sweeps;  ///< the command line's --set and --sweep arguments
  std::string profile;                    ///< and its --profile
  ConfigNode slurm;  ///< how `kant slurm` submits it (null if absent; no cell depends on it)
  /// The cells' notes, each once (CellConfig::notes).
  std::vector<std::string> notes;
};

/// What the command line changes in an experiment.
struct ExperimentOverrides {
  /// "key=value" (--set): "seeds=[0]" and "name=x" change the experiment, "report.…" and
  /// "reference.…" its report, any other key every cell's config.
  std::vector<std::string> sets;
  /// "key=v1,v2,…" (--sweep): a grid axis over those values, after the file's axes (the
  /// cartesian product, as Hydra's multirun); a key that is already a dotted axis of the grid
  /// gets these values instead. Commas inside [ ], { } or quotes do not split values.
  std::vector<std::string> sweeps;
  /// --profile NAME: the settings of that entry of the experiment's `profiles` block (e.g.
  /// quick: {train.steps: 2000, seeds: [0, 1]}), applied first so that --set wins over them.
  std::string profile;
};

/// Reads, expands and validates an experiment with the command line's changes.
Experiment load_experiment(const std::filesystem::path& file, const ExperimentOverrides& overrides,
                           const Registry& registry);
/// The same with --set overrides (and a profile) only.
Experiment load_experiment(const std::filesystem::path& file,
                           const std::vector<std::string>& overrides, const Registry& registry,
                           const std::string& profile = "");

/// Applies --set overrides of the report ("report.…", "reference.…") to a stored manifest's
/// blocks; any other key is an InputError (it would change cells: give the experiment file).
void apply_report_overrides(Manifest& manifest, const std::vector<std::string>& sets);

/// The manifest of an expansion (store/manifest.hpp): what kant run writes as cells.yaml, and
/// what kant report FILE.yaml reads the stored cells through.
Manifest manifest_of(const Experiment& ex);

}  // namespace kant
