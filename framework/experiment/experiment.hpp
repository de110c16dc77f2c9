// Experiments: a YAML file with name, base, grid, seeds, report, reference → validated cells,
// each a fully resolved config with a content hash as its id.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "plugin/registry.hpp"

namespace kant {

/// A component chosen in a config, with its validated parameters.
struct ComponentChoice {
  const Component* component = nullptr;
  Params params;
};

struct MetricChoice {
  ComponentChoice choice;
  int64_t every = 0;  ///< evaluate every `every` generator steps (0: at the end only)
};

/// Training loop settings (the `train` block).
struct TrainSettings {
  int64_t steps = 0;       ///< generator iterations
  int64_t batch_size = 0;
  int64_t n_critic = 0;    ///< critic steps per generator step
  bool simultaneous = false;  ///< one joint step from the same point instead of alternating
  bool wgan_critic_schedule = false;  ///< 100 critic steps for the first 25 and every 500th
  double ema = 0;          ///< decay of the generator's weight average (0: none)
  int64_t unrolled_steps = 0;  ///< critic steps the generator differentiates through
  double unrolled_lr = 0;  ///< SGD step size of the unrolled critic steps
  int64_t log_every = 0;   ///< progress line period in generator steps
  int64_t samples = 0;     ///< generated samples stored at the end
  int64_t checkpoint_every = 0;  ///< resume checkpoint period in generator steps (0: none)
};

/// One fully resolved, validated cell config. `canonical` holds every parameter (defaults
/// filled in), in a fixed order: its YAML text is what the cell id hashes.
struct CellConfig {
  ComponentChoice dataset, generator, critic, objective;
  std::vector<ComponentChoice> lipschitz;  ///< one or more methods, combined
  ComponentChoice generator_optimizer, critic_optimizer;
  std::vector<MetricChoice> metrics;
  int64_t noise_dim = 0;
  std::string noise;
  int64_t pack = 1;  ///< samples per critic input (PacGAN)
  TrainSettings train;
  uint64_t seed = 0;
  ConfigNode canonical;

  std::string yaml() const { return emit_yaml(canonical, true); }
  /// 16 hex digits: FNV-1a 64 of the canonical YAML without the keys that cannot change a
  /// result (train.checkpoint_every), so that setting them keeps a cell the same cell.
  std::string id() const;
};

/// Validates a cell config tree against the framework's and the plugins' schemas.
CellConfig resolve_cell(const ConfigNode& config, const Registry& registry);

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
  ConfigNode report;     ///< the `report` block (null if absent)
  ConfigNode reference;  ///< published numbers (null if absent)
};

/// Reads, expands and validates an experiment. `overrides` are "key=value" (from --set):
/// "seeds=[0]" and "name=x" change the experiment, any other key every cell's config.
Experiment load_experiment(const std::filesystem::path& file,
                           const std::vector<std::string>& overrides, const Registry& registry);

}  // namespace kant
