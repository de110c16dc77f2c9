// Experiments: a YAML file's name, base, grid (named variants, dotted keys, zip groups),
// seeds and --set overrides expanded into validated cells, first axis slowest, seeds fastest.
#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "experiment/experiment.hpp"
#include "experiment/validate.hpp"
#include "kant/components.hpp"

namespace kant {
namespace {

const std::vector<std::string> kExperimentKeys{"name",  "description", "base",     "grid",
                                               "seeds", "report",      "reference"};

/// One way to change a cell config: a named variant (merged at the root) or a dotted value.
struct Setting {
  std::string axis;
  std::string label;
  std::string dotted;  ///< empty for a named variant
  ConfigNode value;
  Mark mark;
};

/// An axis (or a zip group of axes): its points, each a list of settings applied together.
using AxisPoints = std::vector<std::vector<Setting>>;

AxisPoints expand_axis(const std::string& key, const Mark& key_mark, const ConfigNode& value) {
  AxisPoints points;
  if (value.is_map()) {
    if (value.entries.empty()) throw ConfigError(value.mark, fmt::format("grid axis '{}' is empty", key));
    for (const ConfigEntry& e : value.entries) {
      if (!e.value.is_map() && e.value.type != ConfigNode::Type::null)
        throw ConfigError(e.value.mark,
                          fmt::format("variant '{}' of grid axis '{}' must be a map of config "
                                      "keys merged into base",
                                      e.key, key));
      points.push_back({{key, e.key, "", e.value, e.key_mark}});
    }
  } else if (value.is_sequence()) {
    if (value.items.empty()) throw ConfigError(value.mark, fmt::format("grid axis '{}' is empty", key));
    for (const ConfigNode& item : value.items)
      points.push_back({{key, flow_text(item), key, item, item.mark}});
  } else {
    throw ConfigError(key_mark, fmt::format("grid axis '{}' must be a list of values (for a dotted "
                                            "key) or a map of named variants",
                                            key));
  }
  return points;
}

AxisPoints expand_zip(const ConfigNode& group, std::vector<std::string>& axes) {
  if (!group.is_map() || group.entries.size() < 2)
    throw ConfigError(group.mark, "a zip group must be a map of two or more axes that move together");
  AxisPoints zipped;
  for (const ConfigEntry& e : group.entries) {
    AxisPoints p = expand_axis(e.key, e.key_mark, e.value);
    axes.push_back(e.key);
    if (zipped.empty()) {
      zipped = p;
      continue;
    }
    if (p.size() != zipped.size())
      throw ConfigError(e.key_mark, fmt::format("zip axis '{}' has {} values, the group's first "
                                                "axis {}",
                                                e.key, p.size(), zipped.size()));
    for (size_t i = 0; i < p.size(); ++i) zipped[i].push_back(p[i][0]);
  }
  return zipped;
}

void apply(ConfigNode& config, const Setting& s) {
  if (s.dotted.empty()) {
    if (s.value.is_map()) merge_into(config, s.value);
  } else {
    set_path(config, s.dotted, s.value, s.mark);
  }
}

struct Override {
  std::string key;
  ConfigNode value;
  Mark mark;
};

Override parse_override(const std::string& arg) {
  auto source = std::make_shared<const std::string>("--set " + arg);
  Mark mark{source, 0, 0};
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(mark, "expected key=value, e.g. --set train.steps=100");
  Override o;
  o.key = arg.substr(0, eq);
  ConfigNode v = parse_yaml(arg.substr(eq + 1), *source);
  // positions inside the value are relative to it: point at the whole argument instead
  std::function<void(ConfigNode&)> remark = [&](ConfigNode& n) {
    n.mark = mark;
    for (ConfigNode& i : n.items) remark(i);
    for (ConfigEntry& e : n.entries) {
      e.key_mark = mark;
      remark(e.value);
    }
  };
  remark(v);
  o.value = v;
  o.mark = mark;
  return o;
}

std::string scalar_or_throw(const ConfigNode& n, const char* what) {
  if (!n.is_scalar()) throw ConfigError(n.mark, fmt::format("'{}' must be a string", what));
  return n.scalar;
}

std::vector<uint64_t> parse_seeds(const ConfigNode* seeds) {
  if (!seeds) return {0};
  ParamSpec spec = param::integer("seed", 0, "").at_least(0);
  std::vector<uint64_t> out;
  if (seeds->is_sequence()) {
    for (const ConfigNode& s : seeds->items)
      out.push_back(static_cast<uint64_t>(std::get<int64_t>(convert_value(spec, s, "a seed"))));
  } else {
    throw ConfigError(seeds->mark, "'seeds' must be a list of non-negative integers, e.g. [0, 1]");
  }
  if (out.empty()) throw ConfigError(seeds->mark, "'seeds' is empty");
  std::set<uint64_t> unique(out.begin(), out.end());
  if (unique.size() != out.size()) throw ConfigError(seeds->mark, "'seeds' lists a seed twice");
  return out;
}

// Every `report.values` entry must name a value of a metric the cells compute
// ("<metric>.<value>"); a value name "prefix<…>" in a metric's value_names stands for any
// name with that prefix (per-layer values).
void check_report_values(const Experiment& ex, const Registry& registry) {
  const ConfigNode* values = ex.report.is_map() ? ex.report.find("values") : nullptr;
  if (!values || !values->is_sequence()) return;
  std::vector<std::string> known;
  std::set<std::string> seen;
  for (const Cell& cell : ex.cells)
    for (const MetricChoice& m : cell.config.metrics) {
      const std::string& metric = m.choice.component->name();
      if (!seen.insert(metric).second) continue;
      auto instance = registry.create<Metric, MetricFactory>(*m.choice.component, m.choice.params);
      for (const std::string& v : instance->value_names()) known.push_back(metric + "." + v);
    }
  for (const ConfigNode& item : values->items) {
    if (!item.is_scalar()) continue;  // parse_report_spec reports the type
    const std::string& name = item.scalar;
    const bool found = std::any_of(known.begin(), known.end(), [&](const std::string& k) {
      const size_t open = k.find('<');
      return open == std::string::npos ? k == name : name.compare(0, open, k, 0, open) == 0;
    });
    if (!found)
      throw ConfigError(item.mark, fmt::format("report value '{}' is not computed by any cell{}; the "
                                               "metrics give: {}",
                                               name, did_you_mean(name, known), fmt::join(known, ", ")));
  }
}

}  // namespace

std::string Cell::label_str() const {
  std::vector<std::string> parts;
  for (const auto& [axis, value] : labels) parts.push_back(axis + "=" + value);
  return fmt::format("{}", fmt::join(parts, " "));
}

Experiment load_experiment(const std::filesystem::path& file,
                           const std::vector<std::string>& override_args, const Registry& registry) {
  ConfigNode root = load_yaml_file(file);
  if (!root.is_map()) throw ConfigError(root.mark, "an experiment file must be a map (name, base, grid, seeds, ...)");
  for (const ConfigEntry& e : root.entries)
    if (std::find(kExperimentKeys.begin(), kExperimentKeys.end(), e.key) == kExperimentKeys.end())
      throw ConfigError(e.key_mark, fmt::format("unknown experiment key '{}'{}; expected one of: {}",
                                                e.key, did_you_mean(e.key, kExperimentKeys),
                                                fmt::join(kExperimentKeys, ", ")));
  std::vector<Override> cell_overrides;
  for (const std::string& arg : override_args) {
    Override o = parse_override(arg);
    if (o.key == "seeds" || o.key == "name") {
      root.set(o.key, o.value, o.mark);
    } else {
      cell_overrides.push_back(o);
    }
  }

  Experiment ex;
  ex.file = file;
  const ConfigNode* name = root.find("name");
  if (!name) throw ConfigError(root.mark, "the experiment needs a 'name'");
  ex.name = scalar_or_throw(*name, "name");
  if (ex.name.empty() || ex.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != std::string::npos || ex.name[0] == '.')
    throw ConfigError(name->mark, fmt::format("name '{}' must use only letters, digits, '_', '-' and '.' (it names the results folder)", ex.name));
  const ConfigNode* base = root.find("base");
  ConfigNode base_config = base ? *base : ConfigNode::make_map(root.mark);
  if (!base_config.is_map()) throw ConfigError(base_config.mark, "'base' must be a map");
  if (base_config.find("seed"))
    throw ConfigError(base_config.mark, "set seeds with the experiment's 'seeds' list, not base.seed");
  if (const ConfigNode* r = root.find("report")) ex.report = *r;
  if (const ConfigNode* r = root.find("reference")) ex.reference = *r;

  std::vector<AxisPoints> axes;
  if (const ConfigNode* grid = root.find("grid")) {
    if (!grid->is_map() && grid->type != ConfigNode::Type::null)
      throw ConfigError(grid->mark, "'grid' must be a map of axes");
    for (const ConfigEntry& e : grid->entries) {
      if (e.key == "zip") {
        if (e.value.is_sequence()) {
          for (const ConfigNode& g : e.value.items) axes.push_back(expand_zip(g, ex.axes));
        } else {
          axes.push_back(expand_zip(e.value, ex.axes));
        }
      } else {
        axes.push_back(expand_axis(e.key, e.key_mark, e.value));
        ex.axes.push_back(e.key);
      }
    }
  }
  std::vector<uint64_t> seeds = parse_seeds(root.find("seeds"));
  ex.axes.push_back("seed");

  // cartesian product, first axis slowest, seeds fastest
  std::vector<size_t> index(axes.size(), 0);
  std::set<std::string> ids;
  while (true) {
    ConfigNode config = base_config;
    std::vector<std::pair<std::string, std::string>> labels;
    for (size_t a = 0; a < axes.size(); ++a)
      for (const Setting& s : axes[a][index[a]]) {
        apply(config, s);
        labels.emplace_back(s.axis, s.label);
      }
    for (const Override& o : cell_overrides) set_path(config, o.key, o.value, o.mark);
    for (uint64_t seed : seeds) {
      ConfigNode seeded = config;
      seeded.set("seed", ConfigNode::make_scalar(std::to_string(seed)));
      Cell cell;
      cell.config = resolve_cell(seeded, registry);
      cell.id = cell.config.id();
      cell.labels = labels;
      cell.labels.emplace_back("seed", std::to_string(seed));
      if (!ids.insert(cell.id).second)
        throw ConfigError(root.mark, fmt::format("two grid points resolve to the same config ({}): "
                                                 "an axis does not change anything",
                                                 cell.label_str()));
      ex.cells.push_back(std::move(cell));
    }
    size_t a = axes.size();
    while (a > 0) {
      if (++index[a - 1] < axes[a - 1].size()) break;
      index[a - 1] = 0;
      --a;
    }
    if (a == 0) break;
  }
  check_report_values(ex, registry);
  return ex;
}

}  // namespace kant
