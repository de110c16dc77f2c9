// `kant evaluate` and its child `kant _evaluate` (see evaluate.hpp): plan every cell first,
// then claim and evaluate the cells with work in child processes.
#include "runs/evaluate.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <set>
#include <thread>

#include "autodiff/backend.hpp"
#include "kant/error.hpp"
#include "runs/child_process.hpp"
#include "runs/runner.hpp"
#include "store/cell_file.hpp"
#include "store/claim.hpp"
#include "store/manifest.hpp"
#include "training/applicability.hpp"
#include "training/metric_stage.hpp"
#include "training/resume.hpp"

namespace kant {
namespace fs = std::filesystem;
using std::chrono::steady_clock;

namespace {

// the child's exit code when every metric of its spec is stored already
constexpr int kUpToDate = 3;

std::string labels_str(const CellSummary& s) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : s.labels) parts.push_back(k + "=" + v);
  return fmt::format("{}", fmt::join(parts, " "));
}

// ---- the plan ------------------------------------------------------------------------------

struct CellWork {
  fs::path file;
  std::string id, label;
  std::vector<const MetricChoice*> metrics;  // to compute, in the order given
  std::set<std::string> replace;             // failed ones computed again
  int threads = 1;
};

// The spec a child reads on its standard input.
std::string spec_yaml(const CellWork& w) {
  ConfigNode spec = ConfigNode::make_map();
  spec.set("cell_id", ConfigNode::make_scalar(w.id));
  ConfigNode metrics = ConfigNode::make_sequence();
  for (const MetricChoice* m : w.metrics) metrics.items.push_back(m->canonical);
  spec.set("metrics", metrics);
  ConfigNode replace = ConfigNode::make_sequence();
  for (const std::string& r : w.replace) replace.items.push_back(ConfigNode::make_scalar(r));
  spec.set("replace", replace);
  return emit_yaml(spec, false);
}

class Planner {
 public:
  Planner(const std::vector<MetricChoice>& metrics, const Registry& registry,
          const EvaluateOptions& opt)
      : metrics_(metrics), registry_(registry), opt_(opt), cache_(registry) {}

  /// The work of one stored cell; nullopt when it has none (counted in `summary`).
  std::optional<CellWork> plan(const fs::path& file, EvaluateSummary& summary);

 private:
  const std::vector<MetricChoice>& metrics_;
  const Registry& registry_;
  const EvaluateOptions& opt_;
  ApplicabilityCache cache_;
};

std::optional<CellWork> Planner::plan(const fs::path& file, EvaluateSummary& summary) {
  auto skip = [&](const std::string& why) -> std::optional<CellWork> {
    if (!opt_.quiet)
      fmt::print(stderr, "kant evaluate: {} not evaluated: {}\n", file.filename().string(), why);
    ++summary.not_evaluable;
    return std::nullopt;
  };
  std::error_code ec;
  if (!fs::exists(file, ec)) return skip("missing (not run yet?)");
  CellSummary s;
  try {
    s = read_cell_summary(file);
  } catch (const Error& e) {
    return skip(e.what());
  }
  if (s.status == CellStatus::failed)
    return skip("the cell failed (" + s.detail + "); run it again first");
  if (!s.has_networks)
    return skip("it stores no networks (train.store_networks: false, or an older kant)");
  const CellConfig config =
      resolve_stored_cell(parse_yaml(s.config_yaml, file.string() + " (stored config)"), registry_);
  CellWork w;
  w.file = file;
  w.id = s.cell_id;
  w.label = labels_str(s);
  w.threads = opt_.threads > 0 ? opt_.threads : static_cast<int>(std::max<int64_t>(1, s.threads));
  for (const MetricChoice& m : metrics_) {
    const std::string key = m.key();
    const bool stored = std::any_of(s.metrics.begin(), s.metrics.end(), [&](const auto& r) {
      return r.second.status == "ok" && r.second.params == key;
    });
    if (stored) continue;  // the same metric with the same parameters, under some name
    auto same_name = s.metrics.find(m.name);
    const bool in_config = std::any_of(config.metrics.begin(), config.metrics.end(),
                                       [&](const MetricChoice& c) { return c.name == m.name; });
    if (same_name != s.metrics.end() && same_name->second.params == key) {
      w.replace.insert(m.name);  // stored as failed: computed again
    } else if (same_name != s.metrics.end() || in_config) {
      const std::string stored_params =
          same_name != s.metrics.end() ? same_name->second.params : "";
      throw ConfigError(
          m.mark,
          fmt::format(
              "cell {} ({}) already stores a metric '{}' with other parameters{}; give "
              "this one a name of its own, e.g. {{plugin: {}, …, name: {}_2}}",
              s.cell_id, w.label, m.name,
              stored_params.empty() ? "" : " (" + flow_text(parse_yaml(stored_params, "")) + ")",
              m.choice.component->name(), m.name));
    }
    w.metrics.push_back(&m);
  }
  if (w.metrics.empty()) {
    ++summary.up_to_date;
    return std::nullopt;
  }
  check_metrics_apply(config, w.metrics, w.label, cache_);
  return w;
}

// ---- the run -------------------------------------------------------------------------------

struct Child {
  pid_t pid;
  size_t work;
  Claim claim;
};

class Evaluator {
 public:
  Evaluator(std::vector<CellWork> work, const EvaluateOptions& opt, EvaluateSummary& summary)
      : work_(std::move(work)),
        opt_(opt),
        summary_(summary),
        exe_(fs::read_symlink("/proc/self/exe").string()) {}
  void run();

 private:
  bool try_start(size_t i);
  void launch(size_t i, Claim claim);
  int reap();
  void finished(const Child& c, int status);
  void stop_children();

  std::vector<CellWork> work_;
  const EvaluateOptions& opt_;
  EvaluateSummary& summary_;
  const std::string exe_;
  std::deque<size_t> queue_, deferred_;
  std::vector<Child> running_;
};

void Evaluator::run() {
  for (size_t i = 0; i < work_.size(); ++i) queue_.push_back(i);
  const int cores = available_cores();
  const int jobs =
      opt_.jobs > 0 ? opt_.jobs : std::max(1, std::min<int>(cores, static_cast<int>(work_.size())));
  StopSignals signals;
  auto last_poll = steady_clock::now(), last_heartbeat = steady_clock::now();
  while (!queue_.empty() || !deferred_.empty() || !running_.empty()) {
    if (stop_signal()) break;
    while (!queue_.empty() && static_cast<int>(running_.size()) < jobs) {
      const size_t i = queue_.front();
      queue_.pop_front();
      if (!try_start(i)) deferred_.push_back(i);
    }
    if (queue_.empty() && !deferred_.empty() &&
        steady_clock::now() - last_poll > std::chrono::milliseconds(500)) {
      queue_.swap(deferred_);
      last_poll = steady_clock::now();
    }
    if (steady_clock::now() - last_heartbeat > opt_.claim_timeout / 8) {
      for (const Child& c : running_) c.claim.heartbeat();
      last_heartbeat = steady_clock::now();
    }
    if (reap() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (stop_signal()) {
    summary_.signal = stop_signal();
    fmt::print(stderr, "kant evaluate: {} received: stopping {} running cell{}\n",
               strsignal(stop_signal()), running_.size(), running_.size() == 1 ? "" : "s");
    stop_children();
  }
}

bool Evaluator::try_start(size_t i) {
  std::string holder;
  std::optional<Claim> claim =
      Claim::acquire(claim_path(work_[i].file), opt_.claim_timeout, &holder);
  if (!claim) {
    if (!opt_.quiet)
      fmt::print(stderr, "kant evaluate: cell {} ({}) is held by {}; waiting for it\n", work_[i].id,
                 work_[i].label, holder);
    return false;
  }
  launch(i, std::move(*claim));
  return true;
}

void Evaluator::launch(size_t i, Claim claim) {
  const CellWork& w = work_[i];
  remove_temporaries(w.file);
  const std::string tag = fmt::format("[{}/{} {}]", i + 1, work_.size(), w.label);
  const pid_t pid =
      spawn_child({exe_, "_evaluate", w.file, w.threads, tag, {}}, claim, spec_yaml(w), w.id);
  running_.push_back({pid, i, std::move(claim)});
}

int Evaluator::reap() {
  return reap_children(running_, [&](const Child& c, int status) { finished(c, status); });
}

void Evaluator::finished(const Child& c, int status) {
  const CellWork& w = work_[c.work];
  remove_temporaries(w.file);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    ++summary_.evaluated;
    try {
      const CellSummary s = read_cell_summary(w.file);
      for (const MetricChoice* m : w.metrics)
        if (auto r = s.metrics.find(m->name); r != s.metrics.end() && r->second.status == "failed")
          ++summary_.metric_failures;
    } catch (const Error& e) {
      fmt::print(stderr, "kant evaluate: {}\n", e.what());
    }
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == kUpToDate) {
    ++summary_.up_to_date;
  } else if (WIFEXITED(status) && WEXITSTATUS(status) > 128) {
    if (!stop_signal()) ++summary_.interrupted;
  } else {
    ++summary_.failed;
    if (WIFSIGNALED(status))
      fmt::print(stderr,
                 "kant evaluate: cell {} ({}): its process was killed by signal {} ({}); its file "
                 "is as it was\n",
                 w.id, w.label, WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
}

void Evaluator::stop_children() {
  kant::stop_children(running_, [&](const Child& c) { remove_temporaries(work_[c.work].file); });
}

// ---- the child -----------------------------------------------------------------------------

}  // namespace

std::vector<MetricChoice> evaluate_metrics_from(const std::vector<std::string>& blocks,
                                                const std::string& from_file,
                                                const Registry& registry) {
  std::vector<ConfigNode> nodes;
  for (const std::string& b : blocks) nodes.push_back(parse_yaml(b, "--metric " + b));
  if (!from_file.empty()) {
    const ConfigNode root = load_yaml_file(from_file);
    const ConfigNode* list = root.is_map() ? root.find("metrics") : nullptr;
    if (!list && root.is_map())
      if (const ConfigNode* base = root.find("base"); base && base->is_map())
        list = base->find("metrics");
    if (!list || !list->is_sequence())
      throw ConfigError(
          root.mark,
          "no `metrics:` list here (at the top level, or under `base:` of an experiment)");
    for (const ConfigNode& m : list->items) nodes.push_back(m);
  }
  if (nodes.empty())
    throw InputError("nothing to evaluate: give --metric '{plugin: NAME, …}' or --from FILE.yaml");
  std::vector<MetricChoice> out;
  std::set<std::string> names;
  for (const ConfigNode& n : nodes) {
    MetricChoice m = resolve_metric(n, registry);
    if (m.every != 0)
      throw ConfigError(
          m.mark, fmt::format("metric '{}': kant evaluate computes the final values only (from the "
                              "stored final networks); remove `every`",
                              m.name));
    m.canonical.erase("every");
    if (!names.insert(m.name).second)
      throw ConfigError(
          m.mark, fmt::format("two metrics would be stored as '{}': give one a `name:`", m.name));
    out.push_back(std::move(m));
  }
  return out;
}

EvaluateSummary evaluate_results(const fs::path& dir, const std::vector<MetricChoice>& metrics,
                                 const Registry& registry, const EvaluateOptions& opt) {
  const Manifest manifest = read_manifest(dir);
  EvaluateSummary summary;
  std::vector<CellWork> work;
  {
    Planner planner(metrics, registry, opt);  // everything checked before anything runs
    for (const std::string& id : manifest.cell_ids)
      if (std::optional<CellWork> w = planner.plan(cell_path(dir, id), summary))
        work.push_back(std::move(*w));
  }
  // claims a killed kant left on cells with nothing to do: removed when their holder is dead
  // (a live holder's claim cannot be acquired and stays)
  for (const std::string& id : manifest.cell_ids) {
    const fs::path claim = claim_path(cell_path(dir, id));
    std::error_code ec;
    if (!fs::exists(claim, ec) ||
        std::any_of(work.begin(), work.end(), [&](const CellWork& w) { return w.id == id; }))
      continue;
    try {
      if (std::optional<Claim> stale = Claim::acquire(claim, opt.claim_timeout)) stale->release();
    } catch (const Error&) {
    }
  }
  if (!opt.quiet)
    fmt::print(stderr, "kant evaluate: {} — {} cells, {} with metrics to compute, {} up to date\n",
               manifest.name, manifest.cell_ids.size(), work.size(), summary.up_to_date);
  if (!work.empty()) Evaluator(std::move(work), opt, summary).run();
  return summary;
}

int run_evaluate_process(const std::string& spec_path, const fs::path& file, int threads,
                         const std::string& tag, long parent, const Registry& registry) {
  watch_stop_signals(parent);
  backend::set_threads(threads);
  const ConfigNode spec =
      read_child_spec(spec_path, "evaluate spec", {"cell_id", "metrics", "replace"});
  try {
    const CellSummary stored = read_cell_summary(file);
    if (stored.cell_id != spec.find("cell_id")->scalar)
      throw Error(fmt::format("{} holds cell {}, the spec says {}", file.string(), stored.cell_id,
                              spec.find("cell_id")->scalar));
    CellConfig config =
        resolve_stored_cell(parse_yaml(stored.config_yaml, file.string()), registry);
    config.metrics.clear();  // the session needs none of its own: the new ones are built below
    Session session(config, registry);
    const FinalState state = load_final_state(file, network_parts(session));
    restore_final_state(session, state);

    std::vector<MetricChoice> choices;
    for (const ConfigNode& m : spec.find("metrics")->items) {
      MetricChoice c = resolve_metric(m, registry);
      // stored meanwhile (another kant evaluate held the claim between our plan and now): done
      auto r = stored.metrics.find(c.name);
      if (r != stored.metrics.end() && r->second.status == "ok" && r->second.params == c.key())
        continue;
      choices.push_back(std::move(c));
    }
    if (choices.empty()) {
      fmt::print(stderr, "{} up to date (evaluated meanwhile by another kant evaluate)\n", tag);
      return kUpToDate;
    }
    std::vector<MetricStage::Entry> entries;
    for (const MetricChoice& m : choices)
      entries.push_back(
          {&m, registry.create<Metric, MetricFactory>(*m.choice.component, m.choice.params)});
    MetricContext ctx = metric_context(session);
    MetricStage stage(entries, ctx, /*fatal=*/false, "evaluate",
                      [&](const std::string& metric, int64_t step, const std::string& error) {
                        fmt::print(stderr, "{} metric {} failed at step {}: {}\n", tag, metric,
                                   step, error);
                      });
    CellResult computed;
    if (stop_signal()) return 128 + stop_signal();
    stage.evaluate(state.step, true, computed);
    // what the next metric appended to the list would see: after these values, before arrays
    FinalState next = capture_final_state(session, state.step);
    stage.final_arrays(state.step, computed);
    if (stop_signal()) return 128 + stop_signal();  // nothing written

    CellAddition add;
    add.metrics = std::move(computed.metrics);
    add.records = std::move(computed.metric_records);
    const std::string now = utc_now();
    for (auto& [name, r] : add.records) r.evaluated_at = now;
    add.final_metrics = std::move(computed.final_metrics);
    add.arrays = std::move(computed.arrays);
    add.final_state = std::move(next);
    for (const ConfigNode& r : spec.find("replace")->items) add.replace.insert(r.scalar);
    add_to_cell_file(file, add);
    std::vector<std::string> values;
    for (const auto& [k, v] : add.final_metrics) values.push_back(fmt::format("{} = {:.6g}", k, v));
    fmt::print(stderr, "{} evaluated at step {}{}{}\n", tag, state.step, values.empty() ? "" : ": ",
               fmt::join(values, ", "));
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{} not evaluated: {}\n", tag, e.what());
    return 1;
  }
}

}  // namespace kant
