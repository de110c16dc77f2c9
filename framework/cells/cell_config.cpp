// Cell configs: each block resolved against its plugin's schema (and the framework's keys:
// train, noise, packing, metric periods), in a fixed canonical order whose text the cell id
// hashes. Errors point at the YAML with file:line:column and a did-you-mean.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "autodiff/backend.hpp"
#include "cells/experiment.hpp"
#include "cells/validate.hpp"
#include "kant/components.hpp"
#include "kant/hash.hpp"

namespace kant {
namespace {

// A component given a schedule, built outside any training step (the kinds built from their
// parameters alone): one that reads a scheduled value while it is built would keep that value
// for the whole run. Any other failure to build is not this check's to report: the cell meets
// it where it always did.
void check_schedules_read_late(const Component& c, const Params& params, const Mark& mark,
                               const std::string& what) {
  if (std::none_of(params.values().begin(), params.values().end(),
                   [](const auto& v) { return std::holds_alternative<Schedule>(v.second); }))
    return;
  auto build = [&]<typename F>() {
    if (const F* f = std::get_if<F>(&c.registration.factory)) (*f)(params);
  };
  try {
    build.operator()<ObjectiveFactory>();
    build.operator()<LipschitzFactory>();
    build.operator()<OptimizerFactory>();
    build.operator()<MetricFactory>();
    build.operator()<ProcedureFactory>();
  } catch (const ReadOutsideStep&) {
    throw ConfigError(mark, fmt::format("{} reads a scheduled parameter while it is built, so "
                                        "it would keep one value for the whole run: give it a "
                                        "number (the component must read its kant::Real "
                                        "members where it uses them)",
                                        what));
  } catch (const std::exception&) {
  }
}

// A component block: "name" (shorthand) or {plugin: name, param: value, ...}.
// `steps`: the cell's train.steps, for schedules (validate.hpp).
ComponentChoice resolve_component(const ConfigNode* node, const Mark& parent_mark,
                                  const std::string& section, Kind kind, const Registry& registry,
                                  const Schema& reserved, ConfigNode& canonical, int64_t steps,
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
    *reserved_out = validate_params(block, reserved, plugin_keys, "'" + section + "'",
                                    reserved_canonical, steps);
    for (ConfigEntry& e : reserved_canonical.entries) canonical.set(e.key, e.value);
  }
  ComponentChoice choice;
  choice.mark = block.mark;
  choice.component = c;
  choice.params = validate_params(block, c->schema(), skip, what, canonical, steps);
  if (c->registration.check)
    if (std::string why = c->registration.check(choice.params); !why.empty())
      throw ConfigError(block.mark, fmt::format("{}: {}", what, why));
  check_schedules_read_late(*c, choice.params, block.mark, what);
  return choice;
}

constexpr const char* kMoved = "the procedure's setting (see `kant plugins procedure NAME`)";

// Settings of a procedure's updates that the `train` block held before procedures owned them.
// Every cell's canonical text keeps them in `train`, where they stood (a procedure that takes
// one: its value; one that does not: the old default), so that every cell keeps its id; an old
// experiment file's `train.<key>` is read into the procedure's block.
const std::vector<std::string> kProcedureSettings{
    "n_critic", "updates", "order", "wgan_critic_schedule", "unrolled_steps", "unrolled_lr"};
bool is_procedure_setting(const std::string& key) {
  return std::find(kProcedureSettings.begin(), kProcedureSettings.end(), key) !=
         kProcedureSettings.end();
}

// The `train` block: the loop's settings, then the procedure settings' old places (above).
const Schema& train_schema() {
  static const Schema s{
      param::integer("steps", 1000, "generator iterations").at_least(1),
      param::integer("batch_size", 256, "samples per batch, for real and generated data")
          .at_least(1),
      // n_critic … wgan_critic_schedule, and unrolled_* below: the procedure's settings, kept
      // here for where they stand in every cell's canonical text (kProcedureSettings)
      param::integer("n_critic", 1, kMoved).at_least(1),
      param::choice("updates", "alternating", {"alternating", "simultaneous"}, kMoved),
      param::choice("order", "critic_first", {"critic_first", "generator_first", "simultaneous"},
                    kMoved),
      param::boolean("wgan_critic_schedule", false, kMoved),
      param::real("ema", 0.0,
                  "decay β of an exponential moving average of the generator's "
                  "weights used for metrics and samples (0: none)")
          .range(0, 0.999999)
          .may_follow_schedule(),
      param::integer("unrolled_steps", 0, kMoved).at_least(0),
      param::real("unrolled_lr", 1e-4, kMoved).at_least(0).may_follow_schedule(),
      param::integer("log_every", 0, "progress line every k generator steps (0: 10 lines a run)")
          .at_least(0),
      param::integer("samples", 2500, "generated samples stored with the results").at_least(0),
      param::integer("checkpoint_every", 0,
                     "write a resume checkpoint every k generator steps; a "
                     "cell killed and run again continues from it bit for "
                     "bit (0: none). Not part of the cell's identity")
          .at_least(0)
          .not_identity(),
      param::choice(
          "metric_errors", "record", {"record", "fail"},
          "record: a metric that throws or returns a non-finite value it does not declare "
          "is stored as failed at that step and training goes on; fail: the cell fails "
          "(non-finite values are stored as numbers). Not part of the cell's identity")
          .not_identity(),
      param::boolean(
          "store_networks", true,
          "store the final networks (EMA included) and the metric state in the cell file, "
          "so that `kant evaluate` can compute metrics later (see results/README.md for "
          "the size). Not part of the cell's identity")
          .not_identity(),
      param::integer("sample_every", 0,
                     "store generated samples (and, for 2-D data, the critic's "
                     "value surface) at step 0, every k generator steps and at "
                     "the end, from one fixed batch of inputs (0: only the final "
                     "samples)")
          .at_least(0)
          .added_later(),
      param::integer("sample_size", 500, "generated samples stored at each of those steps")
          .at_least(1)
          .only_beside("sample_every"),
      param::integer("surface_resolution", 32,
                     "grid points per axis of the critic surfaces stored "
                     "with them (2-D data)")
          .range(2, 1024)
          .only_beside("sample_every"),
      param::choice("precision", "fp32", {"fp32", "bf16"},
                    "the training steps' matmuls and convolutions (forward, backward and "
                    "second-order): fp32, or bf16 operands with fp32 accumulation (needs a CPU "
                    "with avx512_bf16 or amx_bf16; weights, optimiser state, losses, sums, "
                    "normalisation statistics and metrics stay fp32)")
          .added_later(),
  };
  return s;
}

// train.steps, read before the blocks whose schedules end there by default (the train block
// itself is validated in full after them, where its canonical text stands).
int64_t train_steps(const ConfigNode& config) {
  const ParamSpec& spec = train_schema().front();
  const ConfigNode* train = config.find("train");
  const ConfigNode* steps = train && train->is_map() ? train->find("steps") : nullptr;
  if (!steps || steps->type == ConfigNode::Type::null)
    return std::get<int64_t>(*spec.default_value);
  return std::get<int64_t>(convert_value(spec, *steps, "parameter 'steps' of 'train'"));
}

const Schema& generator_reserved() {
  static const Schema s{
      param::integer("noise_dim", 2, "dimension of the generator's input noise z").at_least(1),
      param::choice("noise", "normal", {"normal", "uniform"},
                    "distribution of z: N(0, I) or U[-1, 1]^d"),
      param::choice("labels", "uniform", {"uniform", "data"},
                    "a conditional generator's labels: uniform over the classes, or drawn with "
                    "the data's class frequencies")
          .added_later(),
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

// keys of every cell; each network of the procedure adds `<network>` and `<network>_optimizer`
const std::vector<std::string> kCellKeys{"dataset",   "procedure", "objective", "lipschitz",
                                         "optimizer", "train",     "metrics",   "seed"};
constexpr const char* kDefaultProcedure = "gan";

// The procedure block ({plugin: gan} when absent), with an old file's `train.<setting>` read
// into it where the procedure takes that setting; where it does not, the old default passes
// silently and any other value is an error naming the procedure. The canonical block goes into
// `canon` unless it is `gan` at its defaults (so that cells from before procedures keep their
// ids); its kProcedureSettings go into `settings` instead, for the train block.
ComponentChoice resolve_procedure(const ConfigNode& config, const Registry& registry, int64_t steps,
                                  ConfigNode& canon, ConfigNode& settings,
                                  std::vector<std::string>& notes) {
  const ConfigNode default_procedure = ConfigNode::make_scalar(kDefaultProcedure, config.mark);
  const ConfigNode* node = config.find("procedure");
  ConfigNode block = node ? *node : default_procedure;
  if (block.is_scalar()) {
    ConfigNode name = block;
    block = ConfigNode::make_map(name.mark);
    block.set("plugin", name, name.mark);
  }
  if (block.is_map() && !block.find("plugin"))  // settings alone: the default procedure's
    block.set("plugin", ConfigNode::make_scalar(kDefaultProcedure, block.mark), block.mark);
  const ConfigNode* plugin = block.is_map() ? block.find("plugin") : nullptr;
  const Component* c =
      plugin && plugin->is_scalar() ? registry.find(Kind::procedure, plugin->scalar) : nullptr;
  const ConfigNode* train = config.find("train");
  if (c && train && train->is_map()) {
    std::vector<std::string> takes;
    for (const ParamSpec& spec : c->schema()) takes.push_back(spec.name);
    for (const ConfigEntry& e : train->entries) {
      if (!is_procedure_setting(e.key)) continue;
      if (std::find(takes.begin(), takes.end(), e.key) != takes.end()) {
        if (block.find(e.key))
          throw ConfigError(e.key_mark,
                            fmt::format("'{}' is given in both 'train' and 'procedure'; "
                                        "it is a setting of procedure '{}': remove train.{}",
                                        e.key, c->name(), e.key));
        block.set(e.key, e.value, e.key_mark);
        notes.push_back(
            fmt::format("train.{} is read as the {} of procedure '{}' (procedures own their "
                        "settings: it belongs in the procedure block)",
                        e.key, e.key, c->name()));
        continue;
      }
      const ParamSpec& spec = *std::find_if(train_schema().begin(), train_schema().end(),
                                            [&](const ParamSpec& p) { return p.name == e.key; });
      if (e.value.is_map() ||
          convert_value(spec, e.value, "'train." + e.key + "'") != *spec.default_value)
        throw ConfigError(
            e.key_mark,
            fmt::format("procedure '{}' takes no '{}': remove train.{} (it would have "
                        "no effect); procedure '{}' takes: {}",
                        c->name(), e.key, e.key, c->name(),
                        takes.empty() ? "no settings" : fmt::format("{}", fmt::join(takes, ", "))));
    }
  }
  ConfigNode procedure_canon, defaults;
  ComponentChoice choice = resolve_component(&block, config.mark, "procedure", Kind::procedure,
                                             registry, {}, procedure_canon, steps);
  resolve_component(&default_procedure, config.mark, "procedure", Kind::procedure, registry, {},
                    defaults, steps);
  settings = ConfigNode::make_map();
  for (const std::string& key : kProcedureSettings) {
    if (const ConfigNode* n = procedure_canon.find(key)) settings.set(key, *n);
    procedure_canon.erase(key);
    defaults.erase(key);
  }
  if (emit_yaml(procedure_canon, true) != emit_yaml(defaults, true))
    canon.set("procedure", procedure_canon);
  return choice;
}

// The `train` block against train_schema(), with the procedure's `settings` (canonical) standing
// where those keys stood before procedures owned them; fills the cell's loop settings.
ConfigNode resolve_train(const ConfigNode& config, const ConfigNode& settings, int64_t steps,
                         bool training, CellConfig& cell) {
  const ConfigNode* train = config.find("train");
  if (train && !train->is_map() && train->type != ConfigNode::Type::null)
    throw ConfigError(train->mark, "'train' must be a map");
  ConfigNode block = train && train->is_map() ? *train : ConfigNode::make_map(config.mark);
  for (const std::string& key : kProcedureSettings) block.erase(key);
  for (const ConfigEntry& e : settings.entries) block.set(e.key, e.value);
  ConfigNode canonical = ConfigNode::make_map();
  Params t = validate_params(block, train_schema(), {}, "'train'", canonical, steps);
  cell.train.steps = t.integer("steps");
  cell.train.batch_size = t.integer("batch_size");
  cell.train.ema = t.real_or_schedule("ema");
  cell.train.log_every = t.integer("log_every");
  cell.train.samples = t.integer("samples");
  cell.train.checkpoint_every = t.integer("checkpoint_every");
  cell.train.sample_every = t.integer("sample_every");
  cell.train.sample_size = t.integer("sample_size");
  cell.train.surface_resolution = t.integer("surface_resolution");
  cell.train.bf16 = t.string("precision") == "bf16";
  if (cell.train.bf16 && training && !backend::native_bf16())
    throw ConfigError(
        block.find("precision")->mark,
        fmt::format("train.precision: bf16 needs a CPU that multiplies bf16 natively "
                    "(avx512_bf16 or amx_bf16 in /proc/cpuinfo); oneDNN dispatches to {} here, "
                    "which has no bf16 kernels (use fp32)",
                    backend::isa()));
  cell.metric_errors_fatal = t.string("metric_errors") == "fail";
  cell.store_networks = t.boolean("store_networks");
  // order: simultaneous is updates: simultaneous (one spelling in the canonical text, one id);
  // critic_first, the order before there was a choice, is left out
  const std::string order = t.string("order");
  if (order == "simultaneous") {
    ConfigNode updates = ConfigNode::make_scalar("simultaneous");
    updates.quoted = true;  // as a resolved string parameter is written
    canonical.set("updates", updates);
  }
  if (order != "generator_first") canonical.erase("order");
  return canonical;
}

}  // namespace

std::string CellConfig::id() const {
  ConfigNode identity = canonical;
  if (ConfigNode* train = identity.find("train"))
    for (const ParamSpec& spec : train_schema())
      if (spec.outside_identity) train->erase(spec.name);
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

std::vector<std::pair<std::string, Schedule>> CellConfig::schedules() const {
  std::vector<std::pair<std::string, Schedule>> out;
  auto add = [&](const std::string& block, const Params& p) {
    for (const auto& [name, v] : p.values())
      if (const auto* s = std::get_if<Schedule>(&v)) out.emplace_back(block + "." + name, *s);
  };
  // a list of methods names each by its place in the list, one method by its block
  auto add_methods = [&](const std::string& block, const std::vector<ComponentChoice>& methods) {
    for (size_t i = 0; i < methods.size(); ++i)
      add(methods.size() == 1 ? block : fmt::format("{}[{}]", block, i), methods[i].params);
  };
  add("dataset", dataset.params);
  add("procedure", procedure.params);
  for (const NetworkChoice& n : networks) add(n.name, n.architecture.params);
  if (objective.component) add("objective", objective.params);
  add_methods("lipschitz", lipschitz);
  for (const NetworkChoice& n : networks) add_methods(n.name + "_lipschitz", n.lipschitz);
  for (const NetworkChoice& n : networks) add(n.name + "_optimizer", n.optimizer.params);
  for (const MetricChoice& m : metrics) add("metrics." + m.name, m.choice.params);
  if (const Schedule* s = train.ema.schedule()) out.emplace_back("train.ema", *s);
  return out;
}

MetricChoice resolve_metric(const ConfigNode& m, const Registry& registry, int64_t steps) {
  ConfigNode c;
  Params reserved;
  MetricChoice mc;
  mc.choice = resolve_component(&m, m.mark, "metrics[]", Kind::metric, registry, metric_reserved(),
                                c, steps, &reserved);
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

namespace {

// Each section of a cell config, resolved into `cell` and its canonical text `canon` (in the
// order that text has always had: it is what the cell id hashes).

// A block `key` of `config` (a component, with the framework's `reserved` keys beside it).
ComponentChoice section(const ConfigNode& config, const Registry& registry, int64_t steps,
                        ConfigNode& canon, const std::string& key, Kind kind,
                        const Schema& reserved = {}, Params* reserved_out = nullptr) {
  ConfigNode c;
  ComponentChoice choice = resolve_component(config.find(key), config.mark, key, kind, registry,
                                             reserved, c, steps, reserved_out);
  canon.set(key, c);
  return choice;
}

// No key but the cell's, and the blocks of the networks the procedure trains.
void check_keys(const ConfigNode& config, const Procedure& procedure, const std::string& name) {
  std::vector<std::string> keys = kCellKeys;
  for (const std::string& network : procedure.network_names()) {
    keys.insert(keys.end(), {network, network + "_optimizer"});
    if (network != "critic") keys.push_back(network + "_lipschitz");
  }
  for (const ConfigEntry& e : config.entries)
    if (std::find(keys.begin(), keys.end(), e.key) == keys.end())
      throw ConfigError(
          e.key_mark, fmt::format("unknown config key '{}'{}; expected one of: {} (procedure '{}' "
                                  "trains: {})",
                                  e.key, did_you_mean(e.key, keys), fmt::join(keys, ", "), name,
                                  fmt::join(procedure.network_names(), ", ")));
}

// The networks' architectures, with the generator's noise and the critic's packing.
void resolve_networks(const ConfigNode& config, const Registry& registry,
                      const Procedure& procedure, const std::string& name, CellConfig& cell,
                      ConfigNode& canon) {
  for (const std::string& network : procedure.network_names()) {
    NetworkChoice net;
    net.name = network;
    Params reserved;
    if (network == "generator") {
      net.architecture = section(config, registry, cell.train.steps, canon, "generator",
                                 Kind::architecture, generator_reserved(), &reserved);
      cell.noise_dim = reserved.integer("noise_dim");
      cell.noise = reserved.string("noise");
      cell.generated_labels = reserved.string("labels");
    } else if (network == "critic") {
      net.architecture = section(config, registry, cell.train.steps, canon, "critic",
                                 Kind::architecture, critic_reserved(), &reserved);
      cell.pack = reserved.integer("pack");
    } else {
      net.architecture =
          section(config, registry, cell.train.steps, canon, network, Kind::architecture);
    }
    cell.networks.push_back(std::move(net));
  }
  if (cell.networks.empty() || cell.networks.front().name != "generator")
    throw ConfigError(config.mark,
                      fmt::format("procedure '{}' does not train a generator first", name));
}

// `lipschitz`: one method or a list whose hooks combine (`none` when the procedure trains no
// critic); then each other network's `<network>_lipschitz`, where only methods that
// reparameterise weights act.
void resolve_lipschitz(const ConfigNode& config, const Registry& registry,
                       const Procedure& procedure, const std::string& name, CellConfig& cell,
                       ConfigNode& canon) {
  const ConfigNode* lip = config.find("lipschitz");
  const ConfigNode none = ConfigNode::make_scalar("none", config.mark);
  if (!procedure.uses_lipschitz()) {
    if (lip)
      throw ConfigError(lip->mark, fmt::format("procedure '{}' uses no critic, so no Lipschitz "
                                               "method: remove 'lipschitz'",
                                               name));
    ConfigNode c;
    cell.lipschitz.push_back(resolve_component(&none, config.mark, "lipschitz", Kind::lipschitz,
                                               registry, {}, c, cell.train.steps));
  } else if (lip && lip->is_sequence()) {
    if (lip->items.empty()) throw ConfigError(lip->mark, "'lipschitz' lists no method");
    ConfigNode list = ConfigNode::make_sequence();
    for (const ConfigNode& item : lip->items) {
      ConfigNode c;
      cell.lipschitz.push_back(resolve_component(&item, item.mark, "lipschitz[]", Kind::lipschitz,
                                                 registry, {}, c, cell.train.steps));
      list.items.push_back(c);
    }
    canon.set("lipschitz", list);
  } else {
    ConfigNode c;
    cell.lipschitz.push_back(resolve_component(lip ? lip : &none, config.mark, "lipschitz",
                                               Kind::lipschitz, registry, {}, c, cell.train.steps));
    canon.set("lipschitz", c);
  }
  for (NetworkChoice& net : cell.networks) {
    const std::string key = net.name + "_lipschitz";
    const ConfigNode* block = config.find(key);
    if (!block) continue;
    ConfigNode list = ConfigNode::make_sequence();
    for (const ConfigNode& item : block->is_sequence() ? block->items : std::vector{*block}) {
      ConfigNode c;
      net.lipschitz.push_back(resolve_component(&item, item.mark, key, Kind::lipschitz, registry,
                                                {}, c, cell.train.steps));
      const ComponentChoice& m = net.lipschitz.back();
      if (!registry.create<LipschitzMethod, LipschitzFactory>(*m.component, m.params)
               ->transforms_weights())
        throw ConfigError(item.mark,
                          fmt::format("lipschitz '{}' cannot act on the {}: outside the critic "
                                      "only methods that reparameterise weights apply (e.g. "
                                      "spectral_norm, bjorck); penalties and step hooks act on "
                                      "the critic's loss and steps",
                                      m.component->name(), net.name));
      list.items.push_back(c);
    }
    if (list.items.empty())
      throw ConfigError(block->mark, fmt::format("'{}' lists no method", key));
    canon.set(key, block->is_sequence() ? list : list.items.front());
  }
}

// One optimizer block for every network, or one per network (which wins over the shared one).
void resolve_optimizers(const ConfigNode& config, const Registry& registry, CellConfig& cell,
                        ConfigNode& canon) {
  const bool shared = config.find("optimizer") != nullptr;
  for (NetworkChoice& net : cell.networks) {
    const std::string key = net.name + "_optimizer";
    if (config.find(key) || !shared) {
      net.optimizer = section(config, registry, cell.train.steps, canon, key, Kind::optimizer);
    } else {
      net.optimizer =
          section(config, registry, cell.train.steps, canon, "optimizer", Kind::optimizer);
      canon.set(key, *canon.find("optimizer"));
      canon.erase("optimizer");
    }
  }
}

// `metrics`: each validated, no two stored under one name.
void resolve_metrics(const ConfigNode& config, const Registry& registry, CellConfig& cell,
                     ConfigNode& canon) {
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
}

// `block.key` as the config gives it (null when it does not), and where an error about it
// points: the key, else its block, else the config.
const ConfigNode* key_node(const ConfigNode& config, const std::string& block, const char* key) {
  const ConfigNode* b = config.find(block);
  return b && b->is_map() ? b->find(key) : nullptr;
}
Mark key_mark(const ConfigNode& config, const std::string& block, const char* key) {
  if (const ConfigNode* k = key_node(config, block, key)) return k->mark;
  const ConfigNode* b = config.find(block);
  return b ? b->mark : config.mark;
}

// Each network's label conditioning (`condition`, `classes` in its block, where its
// architecture declares them), and what it asks of the other sections: a role that takes it, a
// procedure and settings that pass labels (gan, alternating, not unrolled), no packing of a
// conditional critic; generator.labels and procedure.auxiliary_weight only where they act. The
// data set's labels are checked when it is built (check_experiment_datasets).
void check_conditioning(const ConfigNode& config, CellConfig& cell) {
  bool any = false;
  const std::string procedure = cell.procedure.component->name();
  // lapgan's finer levels, generator_<S> and critic_<S>, take labels as its coarsest does
  const bool levels = procedure == "lapgan";
  auto level_of = [&](const std::string& name, const std::string& role) {
    return levels && name.rfind(role + "_", 0) == 0;
  };
  for (NetworkChoice& net : cell.networks) {
    const auto& values = net.architecture.params.values();
    if (!values.count("condition")) continue;
    net.condition = net.architecture.params.string("condition");
    net.classes = net.architecture.params.integer("classes");
    net.condition_mark = key_mark(config, net.name, "condition");
    net.classes_mark = key_mark(config, net.name, "classes");
    if (net.condition == "none") continue;
    any = true;
    const bool generator = net.name == "generator" || level_of(net.name, "generator"),
               critic = net.name == "critic" || level_of(net.name, "critic");
    if (!generator && !critic)
      throw ConfigError(net.condition_mark,
                        fmt::format("{}.condition: {}: only the generator and the critic take "
                                    "labels; write condition: none",
                                    net.name, net.condition));
    if (generator && net.condition != "concat" && net.condition != "batch_norm")
      throw ConfigError(net.condition_mark,
                        fmt::format("{}.condition: {} is a critic's; a generator takes "
                                    "none, concat or batch_norm",
                                    net.name, net.condition));
    if (critic && net.condition == "batch_norm")
      throw ConfigError(net.condition_mark,
                        fmt::format("{}.condition: batch_norm is a generator's; a critic takes "
                                    "none, concat, projection or auxiliary",
                                    net.name));
    if (critic && cell.pack > 1)
      throw ConfigError(net.condition_mark,
                        fmt::format("critic.condition: {} with critic.pack: {}: a packed critic "
                                    "takes no labels; write pack: 1 or condition: none",
                                    net.condition, cell.pack));
  }
  if (any && procedure != "gan" && procedure != "lapgan") {
    const NetworkChoice& net = *std::find_if(cell.networks.begin(), cell.networks.end(),
                                             [](const auto& n) { return n.condition != "none"; });
    throw ConfigError(net.condition_mark,
                      fmt::format("{}.condition: {}: procedure '{}' passes no labels; "
                                  "conditional networks train with procedure gan or lapgan",
                                  net.name, net.condition, procedure));
  }
  if (any && procedure == "gan") {
    const Params& p = cell.procedure.params;
    if (p.string("updates") == "simultaneous" || p.string("order") == "simultaneous" ||
        p.integer("unrolled_steps") > 0)
      throw ConfigError(key_mark(config, "procedure", "updates"),
                        "conditional networks train with alternating updates without "
                        "unrolled_steps: write updates: alternating, order: critic_first or "
                        "generator_first, unrolled_steps: 0");
  }
  const NetworkChoice& g = cell.networks.front();
  if (cell.generated_labels != "uniform" && g.condition == "none")
    throw ConfigError(key_mark(config, "generator", "labels"),
                      fmt::format("generator.labels: {} acts on a conditional generator only; "
                                  "give the generator a condition (concat, batch_norm) or "
                                  "remove labels",
                                  cell.generated_labels));
  if (const ConfigNode* weight = key_node(config, "procedure", "auxiliary_weight")) {
    const NetworkChoice* critic = cell.network("critic");
    if (!critic || critic->condition != "auxiliary")
      throw ConfigError(weight->mark,
                        "procedure.auxiliary_weight acts on an AC-GAN critic only: give the "
                        "critic condition: auxiliary or remove auxiliary_weight");
  }
}

// Layers that belong to one role: minibatch discrimination (`minibatch_kernels`, mlp and dcgan)
// compares a critic's samples within their batch, a critic's layer only; virtual batch
// normalisation (`normalization: virtual_batch`, mlp, dcgan, resnet) fixes its reference batch
// from the generator's first batch of noise: a generator's only, `reference_batch` rows of a
// batch of train.batch_size, and `reference_batch` acts with it only.
void check_network_layers(const ConfigNode& config, const CellConfig& cell) {
  for (const NetworkChoice& net : cell.networks) {
    const Params& p = net.architecture.params;
    auto mark_of = [&](const char* key) { return key_mark(config, net.name, key); };
    if (net.name != "critic" && p.values().count("minibatch_kernels") &&
        p.integer("minibatch_kernels") > 0)
      throw ConfigError(mark_of("minibatch_kernels"),
                        fmt::format("{}.minibatch_kernels: minibatch discrimination is a layer of "
                                    "the critic; remove it from the {}",
                                    net.name, net.name));
    if (!p.values().count("reference_batch")) continue;
    const bool virtual_batch = p.string("normalization") == "virtual_batch";
    if (virtual_batch && net.name != "generator")
      throw ConfigError(mark_of("normalization"),
                        fmt::format("{}.normalization: virtual_batch is the generator's (Salimans "
                                    "et al. 2016: its reference batch is a batch of noise); write "
                                    "batch, layer or none",
                                    net.name));
    const ConfigNode* rows = key_node(config, net.name, "reference_batch");
    if (rows && !virtual_batch)
      throw ConfigError(rows->mark, fmt::format("{}.reference_batch acts with normalization: "
                                                "virtual_batch only; remove it or set that",
                                                net.name));
    if (virtual_batch && p.integer("reference_batch") > cell.train.batch_size)
      throw ConfigError(rows ? rows->mark : mark_of("normalization"),
                        fmt::format("{}.reference_batch = {}{} is more than the first batch's {} "
                                    "rows (train.batch_size), from which it is drawn",
                                    net.name, p.integer("reference_batch"),
                                    rows ? "" : " (its default)", cell.train.batch_size));
  }
}

// What one section asks of another, once both are resolved.
void check_across_sections(const ConfigNode& config, const CellConfig& cell) {
  if (cell.pack > 1 && cell.train.batch_size % cell.pack != 0) {
    const ConfigNode* critic = config.find("critic");
    throw ConfigError(critic ? critic->mark : config.mark,
                      fmt::format("critic.pack = {} must divide train.batch_size = {}", cell.pack,
                                  cell.train.batch_size));
  }
  if (cell.train.averages() && !cell.networks.front().lipschitz.empty())
    throw ConfigError(config.find("generator_lipschitz")->mark,
                      "generator_lipschitz with train.ema > 0: the generator's weight average "
                      "would be read without the method (not supported yet); set ema: 0");
}

}  // namespace

namespace {

// resolve_cell and resolve_stored_cell: `training` on this machine, or reading a stored cell.
CellConfig resolve(const ConfigNode& config, const Registry& registry, bool training) {
  if (!config.is_map()) throw ConfigError(config.mark, "a cell config must be a map");
  CellConfig cell;
  ConfigNode& canon = cell.canonical = ConfigNode::make_map();
  cell.train.steps = train_steps(config);  // before any block: schedules end there by default
  cell.dataset = section(config, registry, cell.train.steps, canon, "dataset", Kind::dataset);
  // the procedure decides which networks (config blocks) the cell has
  ConfigNode procedure_settings;  // its kProcedureSettings, canonical, for the train block
  cell.procedure =
      resolve_procedure(config, registry, cell.train.steps, canon, procedure_settings, cell.notes);
  auto procedure = registry.create<Procedure, ProcedureFactory>(*cell.procedure.component,
                                                                cell.procedure.params);
  const std::string name = cell.procedure.component->name();
  check_keys(config, *procedure, name);
  resolve_networks(config, registry, *procedure, name, cell, canon);
  if (procedure->uses_objective())
    cell.objective =
        section(config, registry, cell.train.steps, canon, "objective", Kind::objective);
  else if (const ConfigNode* n = config.find("objective"))
    throw ConfigError(n->mark, fmt::format("procedure '{}' uses no adversarial objective: remove "
                                           "'objective'",
                                           name));
  resolve_lipschitz(config, registry, *procedure, name, cell, canon);
  resolve_optimizers(config, registry, cell, canon);
  canon.set("train", resolve_train(config, procedure_settings, cell.train.steps, training, cell));
  if (cell.train.bf16 && !procedure->runs_products())
    throw ConfigError(config.find("train")->find("precision")->mark,
                      fmt::format("train.precision: bf16 has nothing to act on: procedure '{}' "
                                  "runs no matmul or convolution (remove it)",
                                  name));
  check_across_sections(config, cell);
  check_conditioning(config, cell);
  check_network_layers(config, cell);
  resolve_metrics(config, registry, cell, canon);
  if (const ConfigNode* seed = config.find("seed")) {
    ParamSpec spec = param::integer("seed", 0, "random seed").at_least(0);
    cell.seed = static_cast<uint64_t>(std::get<int64_t>(convert_value(spec, *seed, "'seed'")));
  }
  canon.set("seed", ConfigNode::make_scalar(std::to_string(cell.seed)));
  return cell;
}

}  // namespace

CellConfig resolve_cell(const ConfigNode& config, const Registry& registry) {
  return resolve(config, registry, true);
}

CellConfig resolve_stored_cell(const ConfigNode& config, const Registry& registry) {
  return resolve(config, registry, false);
}

}  // namespace kant
