// Cell resolution (schema validation with file:line:column errors) and grid expansion.
#include "kant/experiment.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "kant/components.hpp"
#include "kant/hash.hpp"

namespace kant {
namespace {

// ---- scalar conversion against a ParamSpec ---------------------------------------------

std::string describe(const std::string& component, const std::string& param) {
  return component.empty() ? fmt::format("'{}'", param)
                           : fmt::format("parameter '{}' of {}", param, component);
}

bool parse_int(const std::string& s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec == std::errc() && p == s.data() + s.size()) return true;
  double d;  // 1e5 is a fine way to write 100000
  auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec2 == std::errc() && q == s.data() + s.size() && std::isfinite(d) && d == std::floor(d) &&
      std::abs(d) < 9.0e15) {
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

bool parse_real(const std::string& s, double& out) {
  std::string t = s;
  if (!t.empty() && t[0] == '+') t.erase(0, 1);
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  return ec == std::errc() && p == t.data() + t.size() && std::isfinite(out);
}

void check_range(const ParamSpec& spec, double v, const ConfigNode& node, const std::string& what) {
  bool low = spec.min && (spec.min_exclusive ? v <= *spec.min : v < *spec.min);
  bool high = spec.max && v > *spec.max;
  if (low || high)
    throw ConfigError(node.mark, fmt::format("{} must be {}, got {}", what, spec.constraint_str(),
                                             node.scalar));
}

double scalar_number(const ParamSpec& spec, const ConfigNode& node, const std::string& what,
                     bool integer) {
  if (!node.is_scalar() || node.quoted)
    throw ConfigError(node.mark, fmt::format("{} must be {}, got {}", what,
                                             integer ? "an int" : "a float", flow_text(node)));
  double v;
  if (integer) {
    int64_t i;
    if (!parse_int(node.scalar, i))
      throw ConfigError(node.mark, fmt::format("{} must be an int, got '{}'", what, node.scalar));
    v = static_cast<double>(i);
  } else if (!parse_real(node.scalar, v)) {
    throw ConfigError(node.mark, fmt::format("{} must be a float, got '{}'", what, node.scalar));
  }
  check_range(spec, v, node, what);
  return v;
}

Value convert_value(const ParamSpec& spec, const ConfigNode& node, const std::string& what) {
  switch (spec.type) {
    case ParamType::boolean: {
      if (node.is_scalar() && !node.quoted) {
        if (node.scalar == "true" || node.scalar == "True" || node.scalar == "TRUE") return true;
        if (node.scalar == "false" || node.scalar == "False" || node.scalar == "FALSE") return false;
      }
      throw ConfigError(node.mark, fmt::format("{} must be true or false, got '{}'", what,
                                               flow_text(node)));
    }
    case ParamType::integer:
      return static_cast<int64_t>(scalar_number(spec, node, what, true));
    case ParamType::real:
      return scalar_number(spec, node, what, false);
    case ParamType::string: {
      if (!node.is_scalar())
        throw ConfigError(node.mark, fmt::format("{} must be a string, got {}", what,
                                                 flow_text(node)));
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), node.scalar) == spec.choices.end())
        throw ConfigError(node.mark, fmt::format("{} must be one of {}, got '{}'{}", what,
                                                 fmt::join(spec.choices, ", "), node.scalar,
                                                 did_you_mean(node.scalar, spec.choices)));
      return node.scalar;
    }
    case ParamType::integer_list:
    case ParamType::real_list: {
      if (!node.is_sequence())
        throw ConfigError(node.mark, fmt::format("{} must be a {}, got {}", what,
                                                 param_type_name(spec.type), flow_text(node)));
      const bool ints = spec.type == ParamType::integer_list;
      std::vector<int64_t> is;
      std::vector<double> ds;
      for (const ConfigNode& item : node.items) {
        double v = scalar_number(spec, item, what + " (element)", ints);
        if (ints) is.push_back(static_cast<int64_t>(v));
        else ds.push_back(v);
      }
      if (ints) return is;
      return ds;
    }
  }
  throw ConfigError(node.mark, "unsupported parameter type");
}

// The canonical config text of a value.
ConfigNode canonical_node(const Value& v) {
  if (const auto* l = std::get_if<std::vector<int64_t>>(&v)) {
    ConfigNode seq = ConfigNode::make_sequence();
    for (int64_t i : *l) seq.items.push_back(ConfigNode::make_scalar(std::to_string(i)));
    return seq;
  }
  if (const auto* l = std::get_if<std::vector<double>>(&v)) {
    ConfigNode seq = ConfigNode::make_sequence();
    for (double d : *l) seq.items.push_back(ConfigNode::make_scalar(value_str(Value(d))));
    return seq;
  }
  ConfigNode n = ConfigNode::make_scalar(value_str(v));
  n.quoted = std::holds_alternative<std::string>(v);
  return n;
}

// Validates the entries of `block` (a map) against `schema`, skipping keys in `skip`.
// Fills `canonical` with every schema entry (defaults included).
Params validate_params(const ConfigNode& block, const Schema& schema,
                       const std::set<std::string>& skip, const std::string& component,
                       ConfigNode& canonical) {
  std::vector<std::string> known(skip.begin(), skip.end());
  for (const ParamSpec& s : schema) known.push_back(s.name);
  for (const ConfigEntry& e : block.entries) {
    if (skip.count(e.key)) continue;
    bool found = std::any_of(schema.begin(), schema.end(),
                             [&](const ParamSpec& s) { return s.name == e.key; });
    if (!found) {
      std::string hint = did_you_mean(e.key, known);
      throw ConfigError(e.key_mark,
                        fmt::format("unknown parameter '{}' for {}{}{}", e.key, component, hint,
                                    hint.empty() && !schema.empty()
                                        ? fmt::format("; it accepts: {}", fmt::join(known, ", "))
                                        : ""));
    }
  }
  std::map<std::string, Value> values;
  for (const ParamSpec& spec : schema) {
    const ConfigNode* node = block.find(spec.name);
    Value v;
    if (node && node->type != ConfigNode::Type::null) {
      v = convert_value(spec, *node, describe(component, spec.name));
    } else if (spec.default_value) {
      v = *spec.default_value;
    } else {
      throw ConfigError(block.mark, fmt::format("{} needs parameter '{}' ({}), which has no default",
                                                component, spec.name, spec.doc));
    }
    canonical.set(spec.name, canonical_node(v));
    values.emplace(spec.name, std::move(v));
  }
  return Params(std::move(values));
}

// A component block: "name" (shorthand) or {plugin: name, param: value, ...}.
ComponentChoice resolve_component(const ConfigNode* node, const Mark& parent_mark,
                                  const std::string& section, Kind kind, const Registry& registry,
                                  const Schema& reserved, ConfigNode& canonical,
                                  Params* reserved_out = nullptr) {
  if (!node || node->type == ConfigNode::Type::null)
    throw ConfigError(parent_mark, fmt::format("the config needs a '{}' block ({} plugin)",
                                               section, kind_name(kind)));
  ConfigNode block = *node;
  if (block.is_scalar()) {
    ConfigNode shorthand = block;
    block = ConfigNode::make_map(shorthand.mark);
    block.set("plugin", shorthand, shorthand.mark);
  }
  if (!block.is_map())
    throw ConfigError(block.mark, fmt::format("'{}' must be a plugin name or a map with 'plugin'",
                                              section));
  const ConfigNode* plugin = block.find("plugin");
  if (!plugin)
    throw ConfigError(block.mark, fmt::format("'{}' needs a 'plugin' key naming a {} plugin",
                                              section, kind_name(kind)));
  if (!plugin->is_scalar())
    throw ConfigError(plugin->mark, fmt::format("'{}.plugin' must be a name", section));
  const Component* c = registry.find(kind, plugin->scalar);
  if (!c) {
    std::vector<std::string> names = registry.names(kind);
    throw ConfigError(plugin->mark,
                      fmt::format("unknown {} plugin '{}'{}; available: {}", kind_name(kind),
                                  plugin->scalar, did_you_mean(plugin->scalar, names),
                                  names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
  }
  canonical = ConfigNode::make_map();
  canonical.set("plugin", ConfigNode::make_scalar(c->name()));
  std::set<std::string> skip{"plugin"};
  for (const ParamSpec& r : reserved) skip.insert(r.name);
  const std::string what = fmt::format("{} '{}'", kind_name(kind), c->name());
  if (reserved_out) {
    std::set<std::string> plugin_keys{"plugin"};
    for (const ParamSpec& s : c->schema()) plugin_keys.insert(s.name);
    ConfigNode reserved_canonical = ConfigNode::make_map();
    *reserved_out = validate_params(block, reserved, plugin_keys, "'" + section + "'",
                                    reserved_canonical);
    for (ConfigEntry& e : reserved_canonical.entries) canonical.set(e.key, e.value);
  }
  ComponentChoice choice;
  choice.component = c;
  choice.params = validate_params(block, c->schema(), skip, what, canonical);
  return choice;
}

const Schema& train_schema() {
  static const Schema s{
      param::integer("steps", 1000, "generator iterations").at_least(1),
      param::integer("batch_size", 256, "samples per batch, for real and generated data").at_least(1),
      param::integer("n_critic", 1, "critic steps per generator step").at_least(1),
      param::choice("updates", "alternating", {"alternating", "simultaneous"},
                    "alternating: n_critic critic steps, then a generator step on the updated "
                    "critic; simultaneous: both gradients at the same point, applied together"),
      param::boolean("wgan_critic_schedule", false,
                     "WGAN's schedule: 100 critic steps for the first 25 generator steps and "
                     "every 500th (Arjovsky et al. 2017, reference code)"),
      param::real("ema", 0.0, "decay β of an exponential moving average of the generator's "
                              "weights used for metrics and samples (0: none)")
          .range(0, 0.999999),
      param::integer("unrolled_steps", 0, "critic SGD steps the generator loss is "
                                          "differentiated through (Metz et al. 2017; 0: none)")
          .at_least(0),
      param::real("unrolled_lr", 1e-4, "step size of the unrolled critic steps").at_least(0),
      param::integer("log_every", 0, "progress line every k generator steps (0: 10 lines a run)")
          .at_least(0),
      param::integer("samples", 2500, "generated samples stored with the results").at_least(0),
  };
  return s;
}

const Schema& generator_reserved() {
  static const Schema s{
      param::integer("noise_dim", 2, "dimension of the generator's input noise z").at_least(1),
      param::choice("noise", "normal", {"normal", "uniform"},
                    "distribution of z: N(0, I) or U[-1, 1]^d"),
  };
  return s;
}

const Schema& critic_reserved() {
  static const Schema s{
      param::integer("pack", 1, "samples the critic judges together (PacGAN, Lin et al. 2018; "
                                "1: no packing); batch_size must be a multiple")
          .at_least(1),
  };
  return s;
}

const Schema& metric_reserved() {
  static const Schema s{
      param::integer("every", 0, "evaluate every k generator steps (0: only at the end)")
          .at_least(0),
  };
  return s;
}

const std::vector<std::string> kCellKeys{
    "dataset",   "generator", "critic",           "objective",       "lipschitz",
    "optimizer", "train",     "generator_optimizer", "critic_optimizer", "metrics", "seed"};
const std::vector<std::string> kExperimentKeys{"name",  "description", "base",     "grid",
                                               "seeds", "report",      "reference"};

}  // namespace

std::string CellConfig::id() const {
  const std::string text = yaml();
  return fmt::format("{:016x}", fnv1a64(text.data(), text.size()));
}

std::string Cell::label_str() const {
  std::vector<std::string> parts;
  for (const auto& [axis, value] : labels) parts.push_back(axis + "=" + value);
  return fmt::format("{}", fmt::join(parts, " "));
}

CellConfig resolve_cell(const ConfigNode& config, const Registry& registry) {
  if (!config.is_map()) throw ConfigError(config.mark, "a cell config must be a map");
  for (const ConfigEntry& e : config.entries)
    if (std::find(kCellKeys.begin(), kCellKeys.end(), e.key) == kCellKeys.end())
      throw ConfigError(e.key_mark, fmt::format("unknown config key '{}'{}; expected one of: {}",
                                                e.key, did_you_mean(e.key, kCellKeys),
                                                fmt::join(kCellKeys, ", ")));
  CellConfig cell;
  ConfigNode& canon = cell.canonical = ConfigNode::make_map();
  auto section = [&](const char* key, Kind kind, const Schema& reserved = {},
                     Params* reserved_out = nullptr) {
    ConfigNode c;
    ComponentChoice choice = resolve_component(config.find(key), config.mark, key, kind, registry,
                                               reserved, c, reserved_out);
    canon.set(key, c);
    return choice;
  };
  cell.dataset = section("dataset", Kind::dataset);
  Params gen_reserved;
  cell.generator = section("generator", Kind::architecture, generator_reserved(), &gen_reserved);
  cell.noise_dim = gen_reserved.integer("noise_dim");
  cell.noise = gen_reserved.string("noise");
  Params critic_params;
  cell.critic = section("critic", Kind::architecture, critic_reserved(), &critic_params);
  cell.pack = critic_params.integer("pack");
  cell.objective = section("objective", Kind::objective);
  // one Lipschitz method, or a list of methods whose hooks combine
  const ConfigNode* lip = config.find("lipschitz");
  const ConfigNode none = ConfigNode::make_scalar("none", config.mark);
  if (lip && lip->is_sequence()) {
    if (lip->items.empty()) throw ConfigError(lip->mark, "'lipschitz' lists no method");
    ConfigNode list = ConfigNode::make_sequence();
    for (const ConfigNode& item : lip->items) {
      ConfigNode c;
      cell.lipschitz.push_back(resolve_component(&item, item.mark, "lipschitz[]", Kind::lipschitz, registry, {}, c));
      list.items.push_back(c);
    }
    canon.set("lipschitz", list);
  } else {
    ConfigNode c;
    cell.lipschitz.push_back(resolve_component(lip ? lip : &none, config.mark, "lipschitz", Kind::lipschitz,
                                               registry, {}, c));
    canon.set("lipschitz", c);
  }
  // one optimizer block for both networks, or one per network (which wins over the shared one)
  const bool shared = config.find("optimizer") != nullptr;
  auto optimizer_for = [&](const char* key) {
    if (config.find(key) || !shared) return section(key, Kind::optimizer);
    ComponentChoice c = section("optimizer", Kind::optimizer);
    canon.set(key, *canon.find("optimizer"));
    canon.erase("optimizer");
    return c;
  };
  cell.generator_optimizer = optimizer_for("generator_optimizer");
  cell.critic_optimizer = optimizer_for("critic_optimizer");

  ConfigNode train_canon = ConfigNode::make_map();
  const ConfigNode* train = config.find("train");
  ConfigNode empty = ConfigNode::make_map(config.mark);
  if (train && !train->is_map() && train->type != ConfigNode::Type::null)
    throw ConfigError(train->mark, "'train' must be a map");
  Params t = validate_params(train && train->is_map() ? *train : empty, train_schema(), {},
                             "'train'", train_canon);
  cell.train.steps = t.integer("steps");
  cell.train.batch_size = t.integer("batch_size");
  cell.train.n_critic = t.integer("n_critic");
  cell.train.simultaneous = t.string("updates") == "simultaneous";
  cell.train.wgan_critic_schedule = t.boolean("wgan_critic_schedule");
  cell.train.ema = t.real("ema");
  cell.train.unrolled_steps = t.integer("unrolled_steps");
  cell.train.unrolled_lr = t.real("unrolled_lr");
  cell.train.log_every = t.integer("log_every");
  cell.train.samples = t.integer("samples");
  if (cell.train.simultaneous && (cell.train.n_critic != 1 || cell.train.wgan_critic_schedule ||
                                  cell.train.unrolled_steps > 0))
    throw ConfigError(train ? train->mark : config.mark,
                      "simultaneous updates take one critic and one generator step at a time: "
                      "n_critic must be 1, without wgan_critic_schedule or unrolled_steps");
  if (cell.train.batch_size % cell.pack != 0) {
    const ConfigNode* critic = config.find("critic");
    throw ConfigError(critic ? critic->mark : config.mark,
                      fmt::format("critic.pack = {} must divide train.batch_size = {}", cell.pack,
                                  cell.train.batch_size));
  }
  canon.set("train", train_canon);

  ConfigNode metrics_canon = ConfigNode::make_sequence();
  if (const ConfigNode* metrics = config.find("metrics")) {
    if (!metrics->is_sequence() && metrics->type != ConfigNode::Type::null)
      throw ConfigError(metrics->mark, "'metrics' must be a list of {plugin: name, ...}");
    std::set<std::string> seen;
    for (const ConfigNode& m : metrics->items) {
      ConfigNode c;
      Params reserved;
      MetricChoice mc;
      mc.choice = resolve_component(&m, m.mark, "metrics[]", Kind::metric, registry,
                                    metric_reserved(), c, &reserved);
      mc.every = reserved.integer("every");
      if (!seen.insert(mc.choice.component->name()).second)
        throw ConfigError(m.mark, fmt::format("metric '{}' is listed twice",
                                              mc.choice.component->name()));
      cell.metrics.push_back(std::move(mc));
      metrics_canon.items.push_back(c);
    }
  }
  canon.set("metrics", metrics_canon);

  if (const ConfigNode* seed = config.find("seed")) {
    ParamSpec spec = param::integer("seed", 0, "random seed").at_least(0);
    cell.seed = static_cast<uint64_t>(std::get<int64_t>(convert_value(spec, *seed, "'seed'")));
  }
  canon.set("seed", ConfigNode::make_scalar(std::to_string(cell.seed)));
  return cell;
}

// ---- grid expansion --------------------------------------------------------------------

namespace {

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

}  // namespace

namespace {

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
