// Experiment runner: pending cells → child processes (`kant _cell`), at most `jobs` at once.
#include "experiment/runner.hpp"

#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "kant/error.hpp"
#include "autodiff/backend.hpp"
#include "experiment/trainer.hpp"
#include "store/cell_file.hpp"
#include "store/manifest.hpp"

extern char** environ;

namespace kant {
namespace fs = std::filesystem;

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)) > 0 ? static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) : 1;
}

fs::path experiment_dir(const Experiment& ex, const RunOptions& opt) {
  return opt.results_root / ex.name;
}

namespace {

// A cell whose file says complete or diverged is done; failed cells are run again.
bool is_done(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return false;
  try {
    CellSummary s = read_cell_summary(file);
    return s.status == "complete" || s.status == "diverged";
  } catch (const Error&) {
    return false;  // unreadable: run again (the rename makes this a foreign or damaged file)
  }
}

// Temporary files of processes that no longer exist.
void remove_stale_temporaries(const fs::path& cells_dir) {
  std::error_code ec;
  if (!fs::is_directory(cells_dir, ec)) return;
  for (const auto& e : fs::directory_iterator(cells_dir, ec)) {
    const std::string name = e.path().filename().string();
    size_t pos = name.find(".tmp.");
    if (pos == std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + pos + 5));
    if (pid > 0 && ::kill(pid, 0) != 0) fs::remove(e.path(), ec);
  }
}

std::map<std::string, std::string> plugin_versions(const CellConfig& c) {
  std::map<std::string, std::string> v;
  auto add = [&](const ComponentChoice& ch) {
    const Component& comp = *ch.component;
    v[fmt::format("{}/{}", kind_name(comp.kind()), comp.name())] =
        fmt::format("{} ({})", comp.registration.version, fs::path(comp.library_path).filename().string());
  };
  for (const ComponentChoice* ch : {&c.dataset, &c.generator, &c.critic, &c.objective,
                                    &c.generator_optimizer, &c.critic_optimizer})
    add(*ch);
  for (const ComponentChoice& l : c.lipschitz) add(l);
  for (const MetricChoice& m : c.metrics) add(m.choice);
  return v;
}

std::string spec_yaml(const Experiment& ex, const Cell& cell, const std::string& index) {
  ConfigNode spec = ConfigNode::make_map();
  spec.set("experiment", ConfigNode::make_scalar(ex.name));
  spec.set("cell_id", ConfigNode::make_scalar(cell.id));
  spec.set("index", ConfigNode::make_scalar(index));
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

struct Child {
  pid_t pid;
  size_t cell;
  fs::path spec;
};

std::string describe_exit(int status) {
  if (WIFSIGNALED(status))
    return fmt::format("the cell's process was killed by signal {} ({})", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
  return fmt::format("the cell's process exited with code {}", WEXITSTATUS(status));
}

}  // namespace

RunSummary run_experiment(const Experiment& ex, const Registry& registry, const RunOptions& opt) {
  (void)registry;
  const fs::path dir = experiment_dir(ex, opt);
  const fs::path cells_dir = dir / "cells";
  fs::create_directories(cells_dir);
  remove_stale_temporaries(cells_dir);
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> manifest;
  for (const Cell& c : ex.cells) manifest.emplace_back(c.id, c.labels);
  write_manifest(dir, ex.name, ex.axes, ex.report, ex.reference, manifest);

  RunSummary summary;
  std::vector<size_t> pending;
  for (size_t i = 0; i < ex.cells.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(opt.shard_count)) != opt.shard_index) continue;
    if (is_done(cell_path(dir, ex.cells[i].id))) {
      ++summary.skipped;
      continue;
    }
    pending.push_back(i);
  }
  const int cores = available_cores();
  int jobs = opt.jobs > 0 ? opt.jobs : std::min<int>(cores, std::max<size_t>(1, pending.size()));
  int threads = opt.threads > 0 ? opt.threads : std::max(1, cores / jobs);
  if (!opt.quiet)
    fmt::print(stderr, "kant: {} — {} cells, {} done already, {} to run ({} at a time, {} thread{} each)\n",
               ex.name, ex.cells.size(), summary.skipped, pending.size(), jobs, threads,
               threads == 1 ? "" : "s");

  char tmpl[] = "/tmp/kant-specs-XXXXXX";
  if (!mkdtemp(tmpl)) throw Error("cannot create a temporary folder for cell specs");
  const fs::path spec_dir = tmpl;
  const std::string exe = fs::read_symlink("/proc/self/exe").string();

  std::vector<Child> running;
  size_t next = 0;
  auto launch = [&](size_t i) {
    const Cell& cell = ex.cells[i];
    const std::string index = fmt::format("{}/{}", i + 1, ex.cells.size());
    fs::path spec = spec_dir / (cell.id + ".yaml");
    std::ofstream(spec) << spec_yaml(ex, cell, index);
    std::string tag = fmt::format("[{} {}]", index, cell.label_str());
    std::vector<std::string> args{exe, "_cell", spec.string(), cell_path(dir, cell.id).string(),
                                  "--threads", std::to_string(threads), "--tag", tag};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid;
    if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
      throw Error(fmt::format("cannot start a process for cell {}", cell.id));
    running.push_back({pid, i, spec});
  };
  while (next < pending.size() || !running.empty()) {
    while (next < pending.size() && static_cast<int>(running.size()) < jobs) launch(pending[next++]);
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) break;
    auto it = std::find_if(running.begin(), running.end(), [&](const Child& c) { return c.pid == pid; });
    if (it == running.end()) continue;
    const Cell& cell = ex.cells[it->cell];
    const fs::path file = cell_path(dir, cell.id);
    std::string status_str;
    try {
      status_str = read_cell_summary(file).status;
    } catch (const Error&) {
      status_str.clear();
    }
    if (status_str.empty()) {  // crashed before writing anything: record it as failed
      CellInfo info{ex.name, cell.id, cell.labels, cell.config.yaml(), cell.config.seed,
                    plugin_versions(cell.config), threads, "", utc_now(),
                    backend::version(), backend::isa()};
      CellResult failed;
      failed.status = "failed";
      failed.detail = describe_exit(status);
      write_cell_file(file, info, failed);
      status_str = "failed";
      fmt::print(stderr, "kant: cell {} ({}) failed: {}\n", cell.id, cell.label_str(), failed.detail);
    }
    if (status_str == "complete") ++summary.complete;
    else if (status_str == "diverged") ++summary.diverged;
    else ++summary.failed;
    std::error_code ec;
    fs::remove(it->spec, ec);
    running.erase(it);
  }
  std::error_code ec;
  fs::remove_all(spec_dir, ec);
  return summary;
}

int run_cell_process(const fs::path& spec_path, const fs::path& out_path, int threads,
                     const std::string& tag, const Registry& registry) {
  backend::set_threads(threads);
  ConfigNode spec = load_yaml_file(spec_path);
  CellInfo info;
  info.experiment = spec.find("experiment")->scalar;
  info.cell_id = spec.find("cell_id")->scalar;
  for (const ConfigEntry& e : spec.find("labels")->entries) info.labels.emplace_back(e.key, e.value.scalar);
  info.threads = threads;
  info.start_time = utc_now();
  info.backend_version = backend::version();
  info.backend_isa = backend::isa();
  CellResult result;
  try {
    CellConfig config = resolve_cell(*spec.find("config"), registry);
    if (config.id() != info.cell_id)
      throw Error(fmt::format("cell spec id {} does not match its config ({})", info.cell_id, config.id()));
    info.config_yaml = config.yaml();
    info.seed = config.seed;
    info.plugin_versions = plugin_versions(config);
    result = train_cell(config, registry, [&](int64_t step, int64_t steps, double lc, double lg, double elapsed) {
      double eta = elapsed / static_cast<double>(step) * static_cast<double>(steps - step);
      fmt::print(stderr, "{} step {}/{}  loss_critic {:.4g}  loss_generator {:.4g}  {:.0f}s, ETA {:.0f}s\n",
                 tag, step, steps, lc, lg, elapsed, eta);
    });
  } catch (const std::exception& e) {
    result = CellResult{};
    result.status = "failed";
    result.detail = e.what();
  }
  info.end_time = utc_now();
  if (info.config_yaml.empty()) info.config_yaml = emit_yaml(*spec.find("config"), true);
  write_cell_file(out_path, info, result);
  if (result.status == "failed") {
    fmt::print(stderr, "{} failed: {}\n", tag, result.detail);
    return 1;
  }
  if (result.status == "diverged") fmt::print(stderr, "{} diverged: {}\n", tag, result.detail);
  else fmt::print(stderr, "{} complete in {:.1f}s\n", tag, result.wall_time_s);
  return 0;
}

}  // namespace kant
