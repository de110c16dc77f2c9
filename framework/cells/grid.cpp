// Experiments: a YAML file's name, base, grid (named variants, dotted keys, zip groups),
// seeds and --set overrides expanded into validated cells, first axis slowest, seeds fastest.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "cells/experiment.hpp"
#include "cells/validate.hpp"
#include "config/limits.hpp"
#include "kant/components.hpp"

namespace kant {
namespace {

const std::vector<std::string> kExperimentKeys{"name",   "description", "base",     "grid", "seeds",
                                               "report", "reference",   "profiles", "slurm"};

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

/// Points every position inside a value parsed from a command-line argument (relative to the
/// value's own text) at the whole argument instead.
void point_at(ConfigNode& n, const Mark& mark) {
  n.mark = mark;
  for (ConfigNode& i : n.items) point_at(i, mark);
  for (ConfigEntry& e : n.entries) {
    e.key_mark = mark;
    point_at(e.value, mark);
  }
}

AxisPoints expand_axis(const std::string& key, const Mark& key_mark, const ConfigNode& value) {
  AxisPoints points;
  if (value.is_map()) {
    if (value.entries.empty())
      throw ConfigError(value.mark, fmt::format("grid axis '{}' is empty", key));
    for (const ConfigEntry& e : value.entries) {
      if (!e.value.is_map() && e.value.type != ConfigNode::Type::null)
        throw ConfigError(e.value.mark,
                          fmt::format("variant '{}' of grid axis '{}' must be a map of config "
                                      "keys merged into base",
                                      e.key, key));
      points.push_back({{key, e.key, "", e.value, e.key_mark}});
    }
  } else if (value.is_sequence()) {
    if (value.items.empty())
      throw ConfigError(value.mark, fmt::format("grid axis '{}' is empty", key));
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
    throw ConfigError(group.mark,
                      "a zip group must be a map of two or more axes that move together");
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
  point_at(v, mark);
  o.value = v;
  o.mark = mark;
  return o;
}

// "key=v1,v2,…" (--sweep): its values split at commas outside brackets, braces and quotes,
// each parsed as YAML; an axis of dotted settings like a list in the grid.
std::pair<std::string, AxisPoints> parse_sweep(const std::string& arg) {
  auto source = std::make_shared<const std::string>("--sweep " + arg);
  Mark mark{source, 0, 0};
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
    throw ConfigError(mark, "expected key=value1,value2,…, e.g. --sweep optimizer.lr=1e-4,1e-3");
  const std::string key = arg.substr(0, eq);
  if (key == "seeds" || key == "seed" || key == "name")
    throw ConfigError(
        mark, fmt::format("--sweep cannot change '{}'{}", key,
                          key == "name" ? "" : "; give the seeds with --set seeds=[0,1,2]"));
  if (key == "report" || key.rfind("report.", 0) == 0 || key == "reference" ||
      key.rfind("reference.", 0) == 0)
    throw ConfigError(
        mark, fmt::format(
                  "--sweep makes grid axes of config keys; '{}' is the report's (use --set)", key));
  std::vector<std::string> texts;
  std::string current;
  int depth = 0;
  char quote = 0;
  for (const char c : arg.substr(eq + 1)) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      texts.push_back(current);
      current.clear();
      continue;
    }
    current += c;
  }
  texts.push_back(current);
  AxisPoints points;
  std::set<std::string> labels;
  for (const std::string& text : texts) {
    if (text.find_first_not_of(" \t") == std::string::npos)
      throw ConfigError(
          mark, fmt::format("--sweep {}: an empty value (two commas, or one at an end)", key));
    ConfigNode v = parse_yaml(text, *source);
    point_at(v, mark);
    const std::string label = flow_text(v);
    if (!labels.insert(label).second)
      throw ConfigError(mark, fmt::format("--sweep {}: the value {} is listed twice", key, label));
    points.push_back({{key, label, key, v, mark}});
  }
  return {key, points};
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
    if (seeds->items.size() > limits::seeds.value())
      throw ConfigError(seeds->mark, limits::seeds.exceeded(std::to_string(seeds->items.size())));
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
      const std::string& metric = m.name;
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
      throw ConfigError(item.mark,
                        fmt::format("report value '{}' is not computed by any cell{}; the "
                                    "metrics give: {}",
                                    name, did_you_mean(name, known), fmt::join(known, ", ")));
  }
}

// Every axis the report block names (rows, columns, figures' and plots' splits, plot lines)
// must be one of the grid's, "seed" included.
void check_report_axes(const ConfigNode& report, const std::vector<std::string>& axes) {
  if (!report.is_map()) return;
  auto check = [&](const ConfigNode* n, const std::string& what) {
    if (!n) return;
    std::vector<const ConfigNode*> names;
    if (n->is_scalar()) names.push_back(n);
    for (const ConfigNode& i : n->items)
      if (i.is_scalar()) names.push_back(&i);
    for (const ConfigNode* name : names)
      if (std::find(axes.begin(), axes.end(), name->scalar) == axes.end())
        throw ConfigError(
            name->mark,
            fmt::format("{} '{}' is not an axis of the grid{}; its axes: {}", what, name->scalar,
                        did_you_mean(name->scalar, axes), fmt::join(axes, ", ")));
  };
  check(report.find("rows"), "report.rows");
  check(report.find("columns"), "report.columns");
  if (const ConfigNode* f = report.find("figures"); f && f->is_map()) {
    check(f->find("rows"), "report.figures.rows");
    check(f->find("columns"), "report.figures.columns");
  }
  if (const ConfigNode* plots = report.find("plots"); plots && plots->is_sequence())
    for (const ConfigNode& p : plots->items)
      if (p.is_map())
        for (const char* key : {"panels", "lines", "rows", "columns", "over"})
          check(p.find(key), std::string("plot ") + key);
}

// The name is a folder of the results root: plain ASCII letters, digits, '_', '-', '.', not
// starting with '.', and short enough for the file system once the store's suffixes are added.
void check_name(const std::string& name, const Mark& mark) {
  const size_t bad =
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
  if (name.size() > kMaxExperimentNameBytes)
    throw ConfigError(
        mark,
        fmt::format("name is {} bytes long, at most {} are allowed (it names the results folder: "
                    "{} bytes per file name, less {} for the suffixes the store adds)",
                    name.size(), kMaxExperimentNameBytes, kFileNameBytes, kNameSuffixBytes));
  if (name.empty() || bad != std::string::npos || name[0] == '.')
    throw ConfigError(
        mark,
        fmt::format("name '{}' must use only letters, digits, '_', '-' and '.', and not start "
                    "with '.' (it names the results folder)",
                    name.empty() || bad == std::string::npos ? name : name.substr(0, bad) + "…"));
}

// Nodes of a config tree (keys included).
uint64_t count_nodes(const ConfigNode& n) {
  uint64_t total = 1;
  for (const ConfigNode& i : n.items) total += count_nodes(i);
  for (const ConfigEntry& e : n.entries) total += 1 + count_nodes(e.value);
  return total;
}

// Before anything is expanded: the number of cells (axis sizes × seeds, without overflow),
// and an upper bound on the config nodes all cells together hold.
void check_grid_size(const std::vector<AxisPoints>& axes, size_t seeds, uint64_t base_nodes,
                     uint64_t override_nodes, const Mark& mark) {
  const uint64_t max_cells = limits::cells.value();
  // the product saturates at 2^64: past that it is only ever "more than"
  constexpr unsigned __int128 kSaturated = static_cast<unsigned __int128>(1) << 64;
  unsigned __int128 cells = seeds;
  uint64_t per_cell = base_nodes + override_nodes;
  std::vector<std::string> sizes;
  for (const AxisPoints& a : axes) {
    sizes.push_back(std::to_string(a.size()));
    cells = std::min(kSaturated, cells * a.size());
    uint64_t largest = 0;
    for (const auto& point : a) {
      uint64_t n = 0;
      for (const Setting& setting : point) n += count_nodes(setting.value);
      largest = std::max(largest, n);
    }
    per_cell += largest;
  }
  sizes.push_back(std::to_string(seeds) + (seeds == 1 ? " seed" : " seeds"));
  if (cells > max_cells) {
    const std::string total =
        cells == kSaturated ? "more than 2^64" : std::to_string(static_cast<uint64_t>(cells));
    throw ConfigError(
        mark, limits::cells.exceeded(fmt::format("{} = {}", fmt::join(sizes, " × "), total)));
  }
  const uint64_t n_cells = static_cast<uint64_t>(cells), max_nodes = limits::grid_nodes.value();
  if (n_cells > 0 && per_cell > max_nodes / n_cells)
    throw ConfigError(mark, limits::grid_nodes.exceeded(
                                fmt::format("{} cells × up to {} nodes each", n_cells, per_cell)));
}

}  // namespace

std::string Cell::label_str() const {
  std::vector<std::string> parts;
  for (const auto& [axis, value] : labels) parts.push_back(axis + "=" + value);
  return fmt::format("{}", fmt::join(parts, " "));
}

Experiment load_experiment(const std::filesystem::path& file,
                           const std::vector<std::string>& override_args, const Registry& registry,
                           const std::string& profile) {
  return load_experiment(file, ExperimentOverrides{override_args, {}, profile}, registry);
}

void apply_report_overrides(Manifest& manifest, const std::vector<std::string>& sets) {
  ConfigNode root = ConfigNode::make_map();
  if (manifest.report.type != ConfigNode::Type::null) root.set("report", manifest.report);
  if (manifest.reference.type != ConfigNode::Type::null) root.set("reference", manifest.reference);
  for (const std::string& arg : sets) {
    Override o = parse_override(arg);
    if (o.key != "report" && o.key.rfind("report.", 0) != 0 && o.key != "reference" &&
        o.key.rfind("reference.", 0) != 0)
      throw InputError(
          fmt::format("--set {}: a results folder's cells are stored; only report.… and "
                      "reference.… can change here (give the experiment file to change cells)",
                      o.key));
    set_path(root, o.key, o.value, o.mark);
  }
  if (const ConfigNode* r = root.find("report")) manifest.report = *r;
  if (const ConfigNode* r = root.find("reference")) manifest.reference = *r;
  // the changed block names axes of the stored grid (an unchanged one was checked when it ran)
  if (!sets.empty()) check_report_axes(manifest.report, manifest.axes);
}

Manifest manifest_of(const Experiment& ex) {
  Manifest m;
  m.name = ex.name;
  m.axes = ex.axes;
  m.report = ex.report;
  m.reference = ex.reference;
  for (const Cell& c : ex.cells) {
    m.cell_ids.push_back(c.id);
    m.cell_labels.push_back(c.labels);
  }
  m.run.file = ex.file.string();
  m.run.sets = ex.sets;
  m.run.sweeps = ex.sweeps;
  m.run.profile = ex.profile;
  return m;
}

namespace {

// The command line's settings: a profile's first, so that --set wins over them; those of the
// experiment itself (seeds, name) and of its report go into `root`, the others are returned,
// to be set in every cell.
std::vector<Override> apply_overrides(ConfigNode& root, const ExperimentOverrides& command_line) {
  const std::string& profile = command_line.profile;
  std::vector<Override> overrides;
  if (!profile.empty()) {
    const ConfigNode* profiles = root.find("profiles");
    std::vector<std::string> names =
        profiles && profiles->is_map() ? profiles->keys() : std::vector<std::string>{};
    const ConfigNode* chosen = profiles && profiles->is_map() ? profiles->find(profile) : nullptr;
    if (!chosen)
      throw ConfigError(
          profiles ? profiles->mark : root.mark,
          fmt::format("no profile '{}' in this experiment{}; profiles: {}", profile,
                      did_you_mean(profile, names),
                      names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
    if (!chosen->is_map() && chosen->type != ConfigNode::Type::null)
      throw ConfigError(chosen->mark,
                        fmt::format("profile '{}' must map dotted keys to values", profile));
    for (const ConfigEntry& e : chosen->entries) overrides.push_back({e.key, e.value, e.key_mark});
  }
  for (const std::string& arg : command_line.sets) overrides.push_back(parse_override(arg));
  std::vector<Override> cell_overrides;
  for (const Override& o : overrides) {
    if (o.key == "seeds" || o.key == "name") {
      root.set(o.key, o.value, o.mark);
    } else if (o.key == "report" || o.key.rfind("report.", 0) == 0 || o.key == "reference" ||
               o.key.rfind("reference.", 0) == 0) {
      set_path(root, o.key, o.value, o.mark);  // the report block, not the cells
    } else {
      cell_overrides.push_back(o);
    }
  }
  return cell_overrides;
}

// The experiment's own keys (name, report, reference, slurm) into `ex`; returns `base`.
ConfigNode read_header(const ConfigNode& root, Experiment& ex) {
  const ConfigNode* name = root.find("name");
  if (!name) throw ConfigError(root.mark, "the experiment needs a 'name'");
  ex.name = scalar_or_throw(*name, "name");
  check_name(ex.name, name->mark);
  const ConfigNode* base = root.find("base");
  ConfigNode base_config = base ? *base : ConfigNode::make_map(root.mark);
  if (!base_config.is_map()) throw ConfigError(base_config.mark, "'base' must be a map");
  if (base_config.find("seed"))
    throw ConfigError(base_config.mark,
                      "set seeds with the experiment's 'seeds' list, not base.seed");
  if (const ConfigNode* r = root.find("report")) ex.report = *r;
  if (const ConfigNode* r = root.find("reference")) ex.reference = *r;
  if (const ConfigNode* r = root.find("slurm")) ex.slurm = *r;  // read by kant slurm
  return base_config;
}

// The `grid` block's axes (named variants, dotted keys, zip groups), their names into `ex`.
std::vector<AxisPoints> read_axes(const ConfigNode& root, Experiment& ex) {
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
  return axes;
}

// --sweep: new axes after the file's, or new values for one of its dotted axes.
void apply_sweeps(const std::vector<std::string>& sweeps,
                  const std::vector<Override>& cell_overrides, std::vector<AxisPoints>& axes,
                  Experiment& ex) {
  std::set<std::string> swept;
  for (const std::string& arg : sweeps) {
    auto [key, points] = parse_sweep(arg);
    const Mark& mark = points.front().front().mark;
    if (!swept.insert(key).second)
      throw ConfigError(mark, fmt::format("--sweep {} is given twice", key));
    for (const Override& o : cell_overrides)
      if (o.key == key)
        throw ConfigError(mark, fmt::format("{} is both swept and set (--set)", key));
    auto axis = std::find(ex.axes.begin(), ex.axes.end(), key);
    if (axis == ex.axes.end()) {
      axes.push_back(std::move(points));
      ex.axes.push_back(key);
      continue;
    }
    // the grid's own axis of that name: a lone dotted axis takes the new values in its place
    auto own = std::find_if(axes.begin(), axes.end(), [&](const AxisPoints& a) {
      return std::any_of(a.front().begin(), a.front().end(),
                         [&](const Setting& s) { return s.axis == key; });
    });
    if (own == axes.end() || own->front().size() != 1 || own->front().front().dotted.empty())
      throw ConfigError(
          mark,
          fmt::format("--sweep {}: the grid's axis '{}' is {}; change it in the file", key, key,
                      own != axes.end() && own->front().size() > 1 ? "part of a zip group"
                                                                   : "an axis of named variants"));
    *own = std::move(points);
  }
}

// The cells: the cartesian product of the axes (first axis slowest), seeds fastest, each
// resolved; two grid points with one config are an error (an axis that changes nothing).
void expand_cells(const ConfigNode& root, const ConfigNode& base_config,
                  const std::vector<AxisPoints>& axes, const std::vector<uint64_t>& seeds,
                  const std::vector<Override>& cell_overrides, const Registry& registry,
                  Experiment& ex) {
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
      for (const std::string& note : cell.config.notes)
        if (std::find(ex.notes.begin(), ex.notes.end(), note) == ex.notes.end())
          ex.notes.push_back(note);
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
}

}  // namespace

Experiment load_experiment(const std::filesystem::path& file,
                           const ExperimentOverrides& command_line, const Registry& registry) {
  ConfigNode root = load_yaml_file(file);
  if (!root.is_map())
    throw ConfigError(root.mark, "an experiment file must be a map (name, base, grid, seeds, ...)");
  for (const ConfigEntry& e : root.entries)
    if (std::find(kExperimentKeys.begin(), kExperimentKeys.end(), e.key) == kExperimentKeys.end())
      throw ConfigError(
          e.key_mark,
          fmt::format("unknown experiment key '{}'{}; expected one of: {}", e.key,
                      did_you_mean(e.key, kExperimentKeys), fmt::join(kExperimentKeys, ", ")));
  const std::vector<Override> cell_overrides = apply_overrides(root, command_line);
  Experiment ex;
  ex.file = file;
  ex.sets = command_line.sets;
  ex.sweeps = command_line.sweeps;
  ex.profile = command_line.profile;
  const ConfigNode base_config = read_header(root, ex);
  std::vector<AxisPoints> axes = read_axes(root, ex);
  apply_sweeps(command_line.sweeps, cell_overrides, axes, ex);
  const std::vector<uint64_t> seeds = parse_seeds(root.find("seeds"));
  ex.axes.push_back("seed");
  uint64_t override_nodes = 0;
  for (const Override& o : cell_overrides) override_nodes += count_nodes(o.value);
  Mark grid_mark = root.mark;  // the `grid:` key, where the sizes multiply
  for (const ConfigEntry& e : root.entries)
    if (e.key == "grid") grid_mark = e.key_mark;
  check_grid_size(axes, seeds.size(), count_nodes(base_config), override_nodes, grid_mark);
  expand_cells(root, base_config, axes, seeds, cell_overrides, registry, ex);
  check_report_values(ex, registry);
  check_report_axes(ex.report, ex.axes);
  return ex;
}

}  // namespace kant
