// Metrics' rules against a lazily built view of each cell (see applicability.hpp).
#include "training/applicability.hpp"

#include <fmt/format.h>

#include <map>
#include <numeric>
#include <set>

#include "kant/error.hpp"
#include "training/session.hpp"

namespace kant {
namespace {

/// A view whose data set or networks could not be built: its rules are left to the run.
struct Unavailable {};

// The canonical text of a cell's dataset block: cells with the same one share a data set.
std::string dataset_key(const CellConfig& c) {
  return emit_yaml(*c.canonical.find("dataset"), true);
}

// A cell's data set as the checks build it: seed 0 (rules read structure, never the sample).
std::shared_ptr<Dataset> build_dataset(const CellConfig& c, const Registry& registry) {
  return registry.create<Dataset, DatasetFactory>(*c.dataset.component, c.dataset.params,
                                                  uint64_t{0});
}

// The canonical text of a config without its metrics and seed: cells that differ only there
// have the same data set shape and the same networks' structure.
std::string structure_key(const CellConfig& c) {
  ConfigNode k = c.canonical;
  k.erase("metrics");
  k.erase("seed");
  return emit_yaml(k, true);
}

}  // namespace

struct ApplicabilityCache::Impl {
  explicit Impl(const Registry& r) : registry(r) {}
  const Registry& registry;
  struct Built {
    std::unique_ptr<CellConfig> config;  // the session refers to it
    std::unique_ptr<Session> session;    // null: it could not be built
  };
  std::map<std::string, std::shared_ptr<Dataset>> datasets;  // by dataset block; null: failed
  std::map<std::string, Built> sessions;                     // by structure_key
  struct ProcedureFacts {
    int64_t categories = 0;
    bool shows_critic = true;
  };
  std::map<std::string, ProcedureFacts> procedures;  // by procedure block

  Dataset& dataset(const CellConfig& c) {
    const std::string key = dataset_key(c);
    auto it = datasets.find(key);
    if (it == datasets.end()) {
      std::shared_ptr<Dataset> d;
      try {
        d = build_dataset(c, registry);
      } catch (const Error&) {
      }
      it = datasets.emplace(key, d).first;
    }
    if (!it->second) throw Unavailable{};
    return *it->second;
  }

  Session& session(const CellConfig& c) {
    const std::string key = structure_key(c);
    auto it = sessions.find(key);
    if (it == sessions.end()) {
      Built b;
      b.config = std::make_unique<CellConfig>(c);
      b.config->metrics.clear();
      b.config->seed = 0;
      try {
        b.session = std::make_unique<Session>(*b.config, registry);
      } catch (const Error&) {
      }
      it = sessions.emplace(key, std::move(b)).first;
    }
    if (!it->second.session) throw Unavailable{};
    return *it->second.session;
  }

  // What validation asks of the cell's procedure, from one instance per procedure block.
  const ProcedureFacts& procedure_facts(const CellConfig& c) {
    const ConfigNode* p = c.canonical.find("procedure");
    const std::string key = p ? emit_yaml(*p, true) : "";
    auto it = procedures.find(key);
    if (it == procedures.end()) {
      auto procedure =
          registry.create<Procedure, ProcedureFactory>(*c.procedure.component, c.procedure.params);
      it = procedures
               .emplace(key, ProcedureFacts{procedure->categories(), procedure->shows_critic()})
               .first;
    }
    return it->second;
  }
};

namespace {

class CellProbe : public CellView {
 public:
  CellProbe(const CellConfig& c, ApplicabilityCache::Impl& cache) : c_(c), cache_(cache) {}

  Dataset& dataset() override { return cache_.dataset(c_); }
  Network& generator() override { return *session().generator; }
  Network* critic() override { return session().scoring_critic; }
  std::vector<std::pair<std::string, Network*>> networks() override {
    std::vector<std::pair<std::string, Network*>> out;
    for (const auto& [name, net] : session().networks) out.emplace_back(name, net.get());
    return out;
  }
  bool has_critic() const override {
    return c_.network("critic") != nullptr && cache_.procedure_facts(c_).shows_critic;
  }
  std::vector<std::string> network_names() const override {
    std::vector<std::string> out;
    for (const NetworkChoice& n : c_.networks) out.push_back(n.name);
    return out;
  }
  const std::string& noise_kind() const override { return c_.noise; }
  int64_t noise_dim() const override { return c_.noise_dim; }
  int64_t categories() override { return cache_.procedure_facts(c_).categories; }
  const TrainSettings& train() const override { return c_.train; }
  NetworkRequest generator_request() override {
    auto procedure = cache_.registry.create<Procedure, ProcedureFactory>(*c_.procedure.component,
                                                                         c_.procedure.params);
    return procedure->networks(dataset().sample_shape(), c_.noise_dim).front();
  }

 private:
  // The cell's session, looked up once per probe: its key is the cell's canonical text, whose
  // emission dominates validating a large grid when every rule asked for it again.
  Session& session() {
    if (!session_) session_ = &cache_.session(c_);
    return *session_;
  }
  const CellConfig& c_;
  ApplicabilityCache::Impl& cache_;
  Session* session_ = nullptr;
};

}  // namespace

ApplicabilityCache::ApplicabilityCache(const Registry& registry)
    : impl_(std::make_unique<Impl>(registry)) {}
ApplicabilityCache::~ApplicabilityCache() = default;

namespace {
// The first of a component's rules the cell breaks: "" when it meets them all (or when what a rule
// needs could not be built: the cell meets that failure where it always did), else the rule and
// the value that breaks it.
std::pair<std::string, std::string> broken_rule(const ComponentChoice& choice, CellView& view) {
  for (const MetricRule& rule : choice.component->registration.requirements.rules) {
    std::string broken;
    try {
      broken = rule.check(choice.params, view);
    } catch (const Unavailable&) {
      continue;
    } catch (const std::exception& e) {  // a rule that cannot decide says why
      broken = e.what();
    }
    if (!broken.empty()) return {rule.rule, broken};
  }
  return {};
}
}  // namespace

void check_metrics_apply(const CellConfig& cell, const std::vector<const MetricChoice*>& metrics,
                         const std::string& label, ApplicabilityCache& cache) {
  CellProbe view(cell, *cache.impl_);
  for (const MetricChoice* m : metrics) {
    const auto [rule, broken] = broken_rule(m->choice, view);
    if (broken.empty()) continue;
    const Component& c = *m->choice.component;
    const std::string who = m->name == c.name() ? fmt::format("'{}'", c.name())
                                                : fmt::format("'{}' ({})", m->name, c.name());
    throw ConfigError(
        m->mark, fmt::format("metric {} does not apply to cell {}: it needs {}, but {}", who, label,
                             rule, broken));
  }
}

void check_procedure_applies(const CellConfig& cell, const std::string& label,
                             ApplicabilityCache& cache) {
  if (cell.procedure.component->registration.requirements.rules.empty()) return;
  CellProbe view(cell, *cache.impl_);
  const auto [rule, broken] = broken_rule(cell.procedure, view);
  if (broken.empty()) return;
  throw ConfigError(cell.procedure.mark,
                    fmt::format("procedure '{}' does not apply to cell {}: it needs {}, but {}",
                                cell.procedure.component->name(), label, rule, broken));
}

void check_experiment_datasets(const Experiment& ex, const Registry& registry,
                               const std::vector<size_t>& cells) {
  std::map<std::string, int64_t> classes;  // each distinct data set's label classes
  for (size_t i : cells) {
    const CellConfig& c = ex.cells.at(i).config;
    auto it = classes.find(dataset_key(c));
    if (it == classes.end()) {
      try {  // and let go of it at once: the cells build their own
        it = classes.emplace(dataset_key(c), build_dataset(c, registry)->classes()).first;
      } catch (const std::exception& e) {  // "dataset 'idx' (plugin …) could not be created: …"
        throw ConfigError(c.dataset.mark, e.what());
      }
    }
    check_labels_fit(c, it->second);
  }
}

void check_labels_fit(const CellConfig& c, int64_t classes) {
  const std::string dataset = c.dataset.component->name();
  for (const NetworkChoice& net : c.networks) {
    if (net.condition == "none") continue;
    if (classes == 0)
      throw ConfigError(
          net.condition_mark,
          fmt::format("{}.condition: {} needs labels, and dataset '{}' has none as configured; "
                      "labelled data sets: digits, idx with `labels`, and the mixtures ring, "
                      "grid, eight_gaussians, twenty_five_gaussians (the mode is the label)",
                      net.name, net.condition, dataset));
    if (net.classes != 0 && net.classes != classes)
      throw ConfigError(net.classes_mark,
                        fmt::format("{}.classes: {} differs from the {} label classes of dataset "
                                    "'{}'; write classes: {} or remove it",
                                    net.name, net.classes, classes, dataset, classes));
  }
}

void check_experiment_datasets(const Experiment& ex, const Registry& registry) {
  std::vector<size_t> all(ex.cells.size());
  std::iota(all.begin(), all.end(), size_t{0});
  check_experiment_datasets(ex, registry, all);
}

void check_experiment_metrics(const Experiment& ex, const Registry& registry) {
  ApplicabilityCache cache(registry);
  for (const Cell& cell : ex.cells) {
    std::vector<const MetricChoice*> metrics;
    for (const MetricChoice& m : cell.config.metrics) metrics.push_back(&m);
    check_metrics_apply(cell.config, metrics, cell.label_str(), cache);
    check_procedure_applies(cell.config, cell.label_str(), cache);
  }
}

}  // namespace kant
