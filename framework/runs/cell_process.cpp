// `kant _cell`: one cell in its own process (see cell_process.hpp).
#include "runs/cell_process.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "autodiff/backend.hpp"
#include "core/sha256.hpp"
#include "kant/error.hpp"
#include "runs/child_process.hpp"
#include "store/host.hpp"
#include "store/live_series.hpp"
#include "training/resume.hpp"
#include "training/trainer.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

// The spec, with every entry it must have, each of the right kind.
ConfigNode read_spec(const std::string& spec_path) {
  ConfigNode spec =
      read_child_spec(spec_path, "cell spec", {"experiment", "cell_id", "labels", "config"});
  if (!spec.find("experiment")->is_scalar() || !spec.find("cell_id")->is_scalar() ||
      !spec.find("labels")->is_map())
    throw InputError("cell spec: malformed");
  return spec;
}

// What readers of the live series show beside its values: the cell, its length, who trains it.
std::vector<std::pair<std::string, std::string>> live_header(const CellInfo& info,
                                                             const CellConfig& config,
                                                             const std::string& tag) {
  std::string labels;
  for (const auto& [k, v] : info.labels) labels += (labels.empty() ? "" : " ") + k + "=" + v;
  return {{"experiment", info.experiment},
          {"cell_id", info.cell_id},
          {"labels", labels},
          {"steps", std::to_string(config.train.steps)},
          {"sample_every", std::to_string(config.train.sample_every)},
          {"host", host::name()},
          {"pid", std::to_string(::getpid())},
          {"tag", tag},
          {"start_time", info.start_time}};
}

void remove_checkpoint(const fs::path& checkpoint) {
  std::error_code ec;
  fs::remove(checkpoint, ec);
}

}  // namespace

std::string cell_spec_yaml(const Experiment& ex, const Cell& cell) {
  ConfigNode spec = ConfigNode::make_map();
  spec.set("experiment", ConfigNode::make_scalar(ex.name));
  spec.set("cell_id", ConfigNode::make_scalar(cell.id));
  ConfigNode labels = ConfigNode::make_map();
  for (const auto& [k, v] : cell.labels) {
    ConfigNode s = ConfigNode::make_scalar(v);
    s.quoted = true;
    labels.set(k, s);
  }
  spec.set("labels", labels);
  spec.set("config", cell.config.canonical);
  return emit_yaml(spec, false);
}

std::vector<PluginUse> plugin_uses(const CellConfig& c) {
  static std::map<std::string, std::string> digests;  // per library file, computed once
  std::vector<PluginUse> uses;
  auto add = [&](const ComponentChoice& ch) {
    const Component& comp = *ch.component;
    const std::string name = fmt::format("{}/{}", kind_name(comp.kind()), comp.name());
    for (const PluginUse& u : uses)
      if (u.name == name) return;
    auto it = digests.find(comp.library_path);
    if (it == digests.end())
      it = digests.emplace(comp.library_path, sha256_file(comp.library_path)).first;
    uses.push_back({name, comp.registration.version, comp.library_path, it->second});
  };
  for (const ComponentChoice* ch : c.components()) add(*ch);
  return uses;
}

int run_cell_process(const std::string& spec_path, const fs::path& out_path, int threads,
                     const std::string& tag, long parent, const Registry& registry,
                     std::chrono::milliseconds live_every) {
  watch_stop_signals(parent);
  backend::set_threads(threads);
  ConfigNode spec = read_spec(spec_path);
  CellInfo info;
  info.experiment = spec.find("experiment")->scalar;
  info.cell_id = spec.find("cell_id")->scalar;
  for (const ConfigEntry& e : spec.find("labels")->entries)
    info.labels.emplace_back(e.key, e.value.scalar);
  info.threads = threads;
  info.start_time = utc_now();
  info.backend_version = backend::version();
  info.backend_isa = backend::isa();
  const fs::path checkpoint = checkpoint_path(out_path);
  CellResult result;
  try {
    CellConfig config = resolve_cell(*spec.find("config"), registry);
    if (config.id() != info.cell_id)
      throw Error(
          fmt::format("cell spec id {} does not match its config ({})", info.cell_id, config.id()));
    info.config_yaml = config.yaml();
    info.seed = config.seed;
    info.plugins = plugin_uses(config);
    TrainOptions options;
    options.progress = [&](int64_t step, int64_t steps,
                           const std::vector<std::pair<std::string, double>>& losses,
                           double elapsed) {
      const double eta = elapsed / static_cast<double>(step) * static_cast<double>(steps - step);
      std::string line = fmt::format("{} step {}/{}", tag, step, steps);
      for (const auto& [name, v] : losses)
        if (name.rfind("loss", 0) == 0) line += fmt::format("  {} {:.4g}", name, v);
      fmt::print(stderr, "{}  {:.0f}s, ETA {:.0f}s\n", line, elapsed, eta);
    };
    options.interrupted = [] { return stop_signal() != 0; };
    options.metric_failed = [&](const std::string& metric, int64_t step, const std::string& error) {
      fmt::print(stderr, "{} metric {} failed at step {} (training goes on): {}\n", tag, metric,
                 step, error);
    };
    options.checkpoint = checkpoint;
    std::unique_ptr<LiveSeriesWriter> live;
    if (live_every.count() > 0) {
      try {
        live = std::make_unique<LiveSeriesWriter>(live_path(out_path),
                                                  live_header(info, config, tag), live_every);
        options.live = live.get();
      } catch (const StorageError& e) {  // the view only: the cell trains without it
        fmt::print(stderr, "{} no live series: {}\n", tag, e.what());
      }
    }
    const fs::path stop_file = stop_request_path(out_path);
    options.stop_requested = [&, last = std::chrono::steady_clock::time_point{}]() mutable {
      // a stat a second at most: cheap on any file system, NFS included
      const auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::seconds(1)) return false;
      last = now;
      std::error_code ec;
      if (!fs::exists(stop_file, ec)) return false;
      fs::remove(stop_file, ec);  // noticed: the request is spent before the cell is stored
      return true;
    };
    try {
      result = train_cell(config, registry, options);
    } catch (const CheckpointUnusable& e) {  // keep it aside, start afresh
      std::error_code ec;
      const fs::path aside = checkpoint.string() + ".damaged";
      fs::rename(checkpoint, aside, ec);
      fmt::print(stderr, "{} cannot resume: {}; kept as {}, training from step 0\n", tag, e.what(),
                 aside.string());
      result = train_cell(config, registry, options);
    }
    if (live) live->close();  // everything written: what a reader sees until the file is stored
    if (result.resumes > 0)
      fmt::print(stderr, "{} resumed ({} time{})\n", tag, result.resumes,
                 result.resumes == 1 ? "" : "s");
  } catch (const TrainingInterrupted& e) {
    fmt::print(stderr, "{} stopped ({}); its checkpoint, if any, is kept\n", tag, e.what());
    std::error_code ec;  // stopped cleanly: a rerun resumes it and writes its live series anew
    fs::remove(live_path(out_path), ec);
    return 128 + stop_signal();
  } catch (const std::exception& e) {
    result = CellResult{};
    result.status = CellStatus::failed;
    result.detail = e.what();
  }
  info.end_time = utc_now();
  info.resumes = result.resumes;
  if (!result.first_start_time.empty()) info.start_time = result.first_start_time;
  if (info.config_yaml.empty()) info.config_yaml = emit_yaml(*spec.find("config"), true);
  write_cell_file(out_path, info,
                  result);  // a StorageError here (a full disk): exit 1, said by main
  if (result.status != CellStatus::failed) remove_checkpoint(checkpoint);
  std::error_code ec;  // stored: the cell file says it all now
  fs::remove(live_path(out_path), ec);
  fs::remove(stop_request_path(out_path), ec);
  if (result.status == CellStatus::failed) {
    fmt::print(stderr, "{} failed: {}\n", tag, result.detail);
    return 1;
  }
  if (result.status == CellStatus::diverged)
    fmt::print(stderr, "{} diverged: {}\n", tag, result.detail);
  else if (result.status == CellStatus::stopped)
    fmt::print(stderr, "{} {}\n", tag, result.detail);
  else
    fmt::print(stderr, "{} complete in {:.1f}s\n", tag, result.wall_time_s);
  return 0;
}

}  // namespace kant
