// Cell configs: each block resolved against its plugin's schema (and the framework's keys:
// train, noise, packing, metric periods), in a fixed canonical order whose text the cell id
// hashes. Errors point at the YAML with file:line:column and a did-you-mean.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "experiment/experiment.hpp"
#include "experiment/validate.hpp"
#include "kant/components.hpp"
#include "kant/hash.hpp"

namespace kant {
namespace {

// A component block: "name" (shorthand) or {plugin: name, param: value, ...}.
ComponentChoice resolve_component(const ConfigNode* node, const Mark& parent_mark,
                                  const std::string& section, Kind kind, const Registry& registry,
                                  const Schema& reserved, ConfigNode& canonical,
                                  Params* reserved_out = nullptr) {
  if (!node || node->type == ConfigNode::Type::null)
    throw ConfigError(parent_mark, fmt::format("the config needs a '{}' block ({} plugin)", section,
                                               kind_name(kind)));
  ConfigNode block = *node;
  if (block.is_scalar()) {
    ConfigNode shorthand = block;
    block = ConfigNode::make_map(shorthand.mark);
    block.set("plugin", shorthand, shorthand.mark);
  }
  if (!block.is_map())
    throw ConfigError(block.mark,
                      fmt::format("'{}' must be a plugin name or a map with 'plugin'", section));
  const ConfigNode* plugin = block.find("plugin");
  if (!plugin)
    throw ConfigError(block.mark, fmt::format("'{}' needs a 'plugin' key naming a {} plugin",
                                              section, kind_name(kind)));
  if (!plugin->is_scalar())
    throw ConfigError(plugin->mark, fmt::format("'{}.plugin' must be a name", section));
  const Component* c = registry.find(kind, plugin->scalar);
  if (!c) {
    std::vector<std::string> names = registry.names(kind);
    throw ConfigError(
        plugin->mark,
        fmt::format("unknown {} plugin '{}'{}; available: {}", kind_name(kind), plugin->scalar,
                    did_you_mean(plugin->scalar, names),
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
    *reserved_out =
        validate_params(block, reserved, plugin_keys, "'" + section + "'", reserved_canonical);
    for (ConfigEntry& e : reserved_canonical.entries) canonical.set(e.key, e.value);
  }
  ComponentChoice choice;
  choice.mark = block.mark;
  choice.component = c;
  choice.params = validate_params(block, c->schema(), skip, what, canonical);
  return choice;
}

const Schema& train_schema() {
  static const Schema s{
      param::integer("steps", 1000, "generator iterations").at_least(1),
      param::integer("batch_size", 256, "samples per batch, for real and generated data")
          .at_least(1),
      param::integer("n_critic", 1, "critic steps per generator step").at_least(1),
      param::choice("updates", "alternating", {"alternating", "simultaneous"},
                    "alternating: n_critic critic steps, then a generator step on the updated "
                    "critic; simultaneous: both gradients at the same point, applied together"),
      param::choice(
          "order", "critic_first", {"critic_first", "generator_first", "simultaneous"},
          "the order of one iteration's updates: n_critic critic steps then the generator "
          "step (critic_first), the generator step then the critic steps "
          "(generator_first), or both from the same point (simultaneous: the same as "
          "updates: simultaneous)"),
      param::boolean("wgan_critic_schedule", false,
                     "WGAN's schedule: 100 critic steps for the first 25 generator steps and "
                     "every 500th (Arjovsky et al. 2017, reference code)"),
      param::real("ema", 0.0,
                  "decay β of an exponential moving average of the generator's "
                  "weights used for metrics and samples (0: none)")
          .range(0, 0.999999),
      param::integer("unrolled_steps", 0,
                     "critic SGD steps the generator loss is "
                     "differentiated through (Metz et al. 2017; 0: none)")
          .at_least(0),
      param::real("unrolled_lr", 1e-4, "step size of the unrolled critic steps").at_least(0),
      param::integer("log_every", 0, "progress line every k generator steps (0: 10 lines a run)")
          .at_least(0),
      param::integer("samples", 2500, "generated samples stored with the results").at_least(0),
      param::integer("checkpoint_every", 0,
                     "write a resume checkpoint every k generator steps; a "
                     "cell killed and run again continues from it bit for "
                     "bit (0: none). Not part of the cell's identity")
          .at_least(0),
      param::choice(
          "metric_errors", "record", {"record", "fail"},
          "record: a metric that throws or returns a non-finite value it does not declare "
          "is stored as failed at that step and training goes on; fail: the cell fails "
          "(non-finite values are stored as numbers). Not part of the cell's identity"),
      param::boolean(
          "store_networks", true,
          "store the final networks (EMA included) and the metric state in the cell file, "
          "so that `kant evaluate` can compute metrics later (see results/README.md for "
          "the size). Not part of the cell's identity"),
      param::integer("sample_every", 0,
                     "store generated samples (and, for 2-D data, the critic's "
                     "value surface) at step 0, every k generator steps and at "
                     "the end, from one fixed batch of inputs (0: only the final "
                     "samples)")
          .at_least(0),
      param::integer("sample_size", 500, "generated samples stored at each of those steps")
          .at_least(1),
      param::integer("surface_resolution", 32,
                     "grid points per axis of the critic surfaces stored "
                     "with them (2-D data)")
          .range(2, 1024),
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
      param::integer("pack", 1,
                     "samples the critic judges together (PacGAN, Lin et al. 2018; "
                     "1: no packing); batch_size must be a multiple")
          .at_least(1),
  };
  return s;
}

const Schema& metric_reserved() {
  static const Schema s{
      param::integer("every", 0, "evaluate every k generator steps (0: only at the end)")
          .at_least(0),
      param::string("name", "",
                    "what the values are stored and reported under (default: the "
                    "plugin's name); lets one metric be listed twice"),
  };
  return s;
}

// train keys that cannot change a result: left out of the cell id, and of the stored config
// when at their default (so that older cells keep their ids and configs)
const std::vector<std::string> kNeutralTrainKeys{"checkpoint_every", "metric_errors",
                                                 "store_networks"};
// train keys added later: left out of the stored config (and so of the id) at their default,
// so that cells from before them keep their ids and configs; set, they make a new cell
const std::vector<std::string> kSamplingTrainKeys{"sample_every", "sample_size",
                                                  "surface_resolution"};

// keys of every cell; each network of the procedure adds `<network>` and `<network>_optimizer`
const std::vector<std::string> kCellKeys{"dataset",   "procedure", "objective", "lipschitz",
                                         "optimizer", "train",     "metrics",   "seed"};
constexpr const char* kDefaultProcedure = "gan";

}  // namespace

std::string CellConfig::id() const {
  ConfigNode identity = canonical;
  if (ConfigNode* train = identity.find("train"))
    for (const std::string& k : kNeutralTrainKeys) train->erase(k);
  const std::string text = emit_yaml(identity, true);
  return fmt::format("{:016x}", fnv1a64(text.data(), text.size()));
}

const NetworkChoice* CellConfig::network(const std::string& name) const {
  for (const NetworkChoice& n : networks)
    if (n.name == name) return &n;
  return nullptr;
}

std::vector<const ComponentChoice*> CellConfig::components() const {
  std::vector<const ComponentChoice*> out{&dataset, &procedure};
  for (const NetworkChoice& n : networks) out.push_back(&n.architecture);
  if (objective.component) out.push_back(&objective);
  for (const ComponentChoice& l : lipschitz) out.push_back(&l);
  for (const NetworkChoice& n : networks) out.push_back(&n.optimizer);
  for (const MetricChoice& m : metrics) out.push_back(&m.choice);
  return out;
}

MetricChoice resolve_metric(const ConfigNode& m, const Registry& registry) {
  ConfigNode c;
  Params reserved;
  MetricChoice mc;
  mc.choice = resolve_component(&m, m.mark, "metrics[]", Kind::metric, registry, metric_reserved(),
                                c, &reserved);
  mc.every = reserved.integer("every");
  mc.name = reserved.string("name");
  mc.mark = m.mark;
  if (mc.name.empty()) {
    mc.name = mc.choice.component->name();
    c.erase("name");  // the default: not part of the canonical text (ids stay as they were)
  } else if (mc.name.find_first_of("./ ") != std::string::npos) {
    throw ConfigError(m.mark,
                      fmt::format("metric name '{}' may not hold '.', '/' or spaces", mc.name));
  }
  mc.canonical = c;
  return mc;
}

std::string MetricChoice::key() const {
  ConfigNode k = canonical;
  k.erase("every");
  k.erase("name");
  return emit_yaml(k, true);
}

CellConfig resolve_cell(const ConfigNode& config, const Registry& registry) {
  if (!config.is_map()) throw ConfigError(config.mark, "a cell config must be a map");
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

  // the procedure decides which networks (config blocks) the cell has; `gan` at its defaults
  // is left out of the canonical text, so that cells from before procedures keep their ids
  const ConfigNode default_procedure = ConfigNode::make_scalar(kDefaultProcedure, config.mark);
  const ConfigNode* procedure_node = config.find("procedure");
  ConfigNode procedure_canon;
  cell.procedure =
      resolve_component(procedure_node ? procedure_node : &default_procedure, config.mark,
                        "procedure", Kind::procedure, registry, {}, procedure_canon);
  {
    ConfigNode defaults;
    resolve_component(&default_procedure, config.mark, "procedure", Kind::procedure, registry, {},
                      defaults);
    if (emit_yaml(procedure_canon, true) != emit_yaml(defaults, true))
      canon.set("procedure", procedure_canon);
  }
  auto procedure = registry.create<Procedure, ProcedureFactory>(*cell.procedure.component,
                                                                cell.procedure.params);
  const std::string procedure_name = cell.procedure.component->name();

  std::vector<std::string> keys = kCellKeys;
  for (const std::string& name : procedure->network_names())
    keys.insert(keys.end(), {name, name + "_optimizer"});
  for (const ConfigEntry& e : config.entries)
    if (std::find(keys.begin(), keys.end(), e.key) == keys.end())
      throw ConfigError(
          e.key_mark, fmt::format("unknown config key '{}'{}; expected one of: {} (procedure '{}' "
                                  "trains: {})",
                                  e.key, did_you_mean(e.key, keys), fmt::join(keys, ", "),
                                  procedure_name, fmt::join(procedure->network_names(), ", ")));

  for (const std::string& name : procedure->network_names()) {
    NetworkChoice net;
    net.name = name;
    Params reserved;
    if (name == "generator") {
      net.architecture = section("generator", Kind::architecture, generator_reserved(), &reserved);
      cell.noise_dim = reserved.integer("noise_dim");
      cell.noise = reserved.string("noise");
    } else if (name == "critic") {
      net.architecture = section("critic", Kind::architecture, critic_reserved(), &reserved);
      cell.pack = reserved.integer("pack");
    } else {
      net.architecture = section(name.c_str(), Kind::architecture);
    }
    cell.networks.push_back(std::move(net));
  }
  if (cell.networks.empty() || cell.networks.front().name != "generator")
    throw ConfigError(config.mark, fmt::format("procedure '{}' does not train a generator first",
                                               procedure_name));

  auto unused = [&](const char* key, const char* what) {
    if (const ConfigNode* n = config.find(key))
      throw ConfigError(n->mark, fmt::format("procedure '{}' uses no {}: remove '{}'",
                                             procedure_name, what, key));
  };
  if (procedure->uses_objective())
    cell.objective = section("objective", Kind::objective);
  else
    unused("objective", "adversarial objective");
  // one Lipschitz method, or a list of methods whose hooks combine
  const ConfigNode* lip = config.find("lipschitz");
  const ConfigNode none = ConfigNode::make_scalar("none", config.mark);
  if (!procedure->uses_lipschitz()) {
    unused("lipschitz", "critic, so no Lipschitz method");
    ConfigNode c;
    cell.lipschitz.push_back(
        resolve_component(&none, config.mark, "lipschitz", Kind::lipschitz, registry, {}, c));
  } else if (lip && lip->is_sequence()) {
    if (lip->items.empty()) throw ConfigError(lip->mark, "'lipschitz' lists no method");
    ConfigNode list = ConfigNode::make_sequence();
    for (const ConfigNode& item : lip->items) {
      ConfigNode c;
      cell.lipschitz.push_back(
          resolve_component(&item, item.mark, "lipschitz[]", Kind::lipschitz, registry, {}, c));
      list.items.push_back(c);
    }
    canon.set("lipschitz", list);
  } else {
    ConfigNode c;
    cell.lipschitz.push_back(resolve_component(lip ? lip : &none, config.mark, "lipschitz",
                                               Kind::lipschitz, registry, {}, c));
    canon.set("lipschitz", c);
  }
  // one optimizer block for every network, or one per network (which wins over the shared one)
  const bool shared = config.find("optimizer") != nullptr;
  for (NetworkChoice& net : cell.networks) {
    const std::string key = net.name + "_optimizer";
    if (config.find(key) || !shared) {
      net.optimizer = section(key.c_str(), Kind::optimizer);
    } else {
      net.optimizer = section("optimizer", Kind::optimizer);
      canon.set(key, *canon.find("optimizer"));
      canon.erase("optimizer");
    }
  }

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
  cell.train.checkpoint_every = t.integer("checkpoint_every");
  if (cell.train.checkpoint_every == 0) train_canon.erase("checkpoint_every");
  cell.metric_errors_fatal = t.string("metric_errors") == "fail";
  if (!cell.metric_errors_fatal) train_canon.erase("metric_errors");
  cell.store_networks = t.boolean("store_networks");
  if (cell.store_networks) train_canon.erase("store_networks");
  // order: simultaneous is updates: simultaneous (one spelling in the canonical text, one id);
  // critic_first, today's order, is left out
  const std::string order = t.string("order");
  if (order == "simultaneous") {
    cell.train.simultaneous = true;
    ConfigNode updates = ConfigNode::make_scalar("simultaneous");
    updates.quoted = true;  // as a resolved string parameter is written
    train_canon.set("updates", updates);
  } else if (order == "generator_first") {
    if (cell.train.simultaneous)
      throw ConfigError(train ? train->mark : config.mark,
                        "train.order: generator_first contradicts train.updates: simultaneous");
    cell.train.generator_first = true;
  }
  if (order != "generator_first") train_canon.erase("order");
  cell.train.sample_every = t.integer("sample_every");
  cell.train.sample_size = t.integer("sample_size");
  cell.train.surface_resolution = t.integer("surface_resolution");
  if (cell.train.sample_every == 0)
    for (const std::string& k : kSamplingTrainKeys) train_canon.erase(k);
  if (cell.train.simultaneous && (cell.train.n_critic != 1 || cell.train.wgan_critic_schedule ||
                                  cell.train.unrolled_steps > 0))
    throw ConfigError(train ? train->mark : config.mark,
                      "simultaneous updates take one critic and one generator step at a time: "
                      "n_critic must be 1, without wgan_critic_schedule or unrolled_steps");
  if (cell.pack > 1 && cell.train.batch_size % cell.pack != 0) {
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
      MetricChoice mc = resolve_metric(m, registry);
      if (!seen.insert(mc.name).second)
        throw ConfigError(
            m.mark, fmt::format("two metrics are stored as '{}': give one a `name:`", mc.name));
      metrics_canon.items.push_back(mc.canonical);
      cell.metrics.push_back(std::move(mc));
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

}  // namespace kant
