// `kant slurm` (see slurm.hpp): the scripts, and submitting them with sbatch.
#include "cluster/slurm.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>

#include "kant/error.hpp"
#include "kant/version.hpp"
#include "store/atomic_file.hpp"
#include "store/cell_file.hpp"

extern char** environ;

namespace kant::cluster {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kBlockKeys{"partition",      "time",           "cpus_per_task",
                                          "array_parallel", "cells_per_task", "max_array_tasks",
                                          "sbatch",         "prologue"};

std::string one_line(const std::string& what, const std::string& value,
                     const Mark* mark = nullptr) {
  if (value.find_first_of("\n\r", 0) != std::string::npos ||
      value.find('\0') != std::string::npos) {
    const std::string msg = fmt::format("{} must be one line, got '{}'", what, value);
    if (mark) throw ConfigError(*mark, msg);
    throw InputError(msg);
  }
  return value;
}

int positive(const ConfigNode& node, const std::string& key) {
  int v = 0;
  const std::string& t = node.scalar;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (!node.is_scalar() || ec != std::errc() || p != t.data() + t.size() || v < 1)
    throw ConfigError(node.mark,
                      fmt::format("slurm.{} must be a positive integer, got '{}'", key, t));
  return v;
}

// A string or a list of strings.
std::vector<std::string> lines_of(const ConfigNode& node, const std::string& key) {
  std::vector<std::string> out;
  if (node.is_scalar()) {
    out.push_back(node.scalar);
  } else if (node.is_sequence()) {
    for (const ConfigNode& item : node.items) {
      if (!item.is_scalar())
        throw ConfigError(item.mark, fmt::format("slurm.{} must list strings", key));
      out.push_back(item.scalar);
    }
  } else {
    throw ConfigError(node.mark,
                      fmt::format("slurm.{} must be a string or a list of strings", key));
  }
  return out;
}

// "--mem=8G" or "#SBATCH --mem=8G" → "--mem=8G".
std::string sbatch_option(std::string line, const Mark* mark) {
  one_line("an #SBATCH line", line, mark);
  if (line.rfind("#SBATCH", 0) == 0) line = line.substr(7);
  line.erase(0, line.find_first_not_of(" \t"));
  if (line.empty() || line[0] != '-') {
    const std::string msg = fmt::format(
        "an extra #SBATCH line must be an sbatch option such as --mem=8G, got '{}'", line);
    if (mark) throw ConfigError(*mark, msg);
    throw InputError(msg);
  }
  return line;
}

void check_time(const std::string& t, const Mark* mark) {
  // minutes, minutes:seconds, hours:minutes:seconds, days-hours[:minutes[:seconds]], or no limit
  static const std::regex format(
      R"(^(\d+(-\d+)?(:\d+){0,2}|UNLIMITED|unlimited|infinite|INFINITE)$)");
  if (std::regex_match(t, format)) return;
  const std::string msg = fmt::format(
      "the time limit must be in SLURM's format (minutes, HH:MM:SS or "
      "D-HH:MM:SS), got '{}'",
      t);
  if (mark) throw ConfigError(*mark, msg);
  throw InputError(msg);
}

std::string comment(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

// The #SBATCH lines both jobs share.
std::string shared_sbatch(const SlurmPlan& p) {
  std::string s = fmt::format("#SBATCH --chdir={}\n", p.work_dir.string());
  if (!p.settings.partition.empty())
    s += fmt::format("#SBATCH --partition={}\n", p.settings.partition);
  if (!p.settings.time.empty()) s += fmt::format("#SBATCH --time={}\n", p.settings.time);
  for (const std::string& line : p.settings.sbatch) s += fmt::format("#SBATCH {}\n", line);
  return s;
}

std::string prologue(const SlurmPlan& p) {
  if (p.settings.prologue.empty()) return "";
  std::string s = "\n# prologue (the experiment's slurm.prologue, then --prologue)\n";
  for (const std::string& line : p.settings.prologue) {
    s += line;
    if (s.back() != '\n') s += "\n";
  }
  return s;
}

struct Output {
  int status = -1;
  std::string out, err;
};

// Runs a program from PATH with its stdout and stderr captured.
Output run_program(const std::vector<std::string>& args) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw Error("cannot create a pipe");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]), ::close(out_pipe[1]);
    throw Error("cannot create a pipe");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]), ::close(err_pipe[1]);
  Output o;
  if (rc != 0) {
    ::close(out_pipe[0]), ::close(err_pipe[0]);
    throw Error(fmt::format(
        "cannot run {}: {}{}", args[0], std::strerror(rc),
        rc == ENOENT ? " (not on PATH: is this a SLURM submit host? --dry-run prints the scripts)"
                     : ""));
  }
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&o.out, &o.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[k]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[k].fd);
        fds[k].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return o;
}

// The program's path on PATH, or "" (so that nothing is written when it cannot be submitted).
std::string on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (std::string dirs = path ? path : "";;) {
    const size_t colon = dirs.find(':');
    const std::string dir = dirs.substr(0, colon);
    if (!dir.empty()) {
      const fs::path candidate = fs::path(dir) / program;
      if (::access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate))
        return candidate.string();
    }
    if (colon == std::string::npos) return "";
    dirs = dirs.substr(colon + 1);
  }
}

// sbatch --parsable prints "jobid" or "jobid;cluster".
std::string submit(const std::vector<std::string>& args) {
  const Output o = run_program(args);
  std::string id = o.out.substr(0, o.out.find_first_of(";\n"));
  if (o.status != 0 || id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    std::string err = o.err + o.out;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    throw Error(fmt::format("{} {} failed (exit {}): {}", args[0], args.back(), o.status,
                            err.empty() ? "no output" : err));
  }
  return id;
}

}  // namespace

std::string shell_quote(const std::string& word) {
  static const std::regex plain(R"(^[A-Za-z0-9_@%+=:,./-]+$)");
  if (std::regex_match(word, plain)) return word;
  std::string q = "'";
  for (char c : word) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

SlurmSettings read_slurm_block(const ConfigNode& block) {
  SlurmSettings s;
  if (block.type == ConfigNode::Type::null) return s;
  if (!block.is_map())
    throw ConfigError(block.mark, "'slurm' must be a map (partition, time, cpus_per_task, …)");
  for (const ConfigEntry& e : block.entries) {
    if (std::find(kBlockKeys.begin(), kBlockKeys.end(), e.key) == kBlockKeys.end())
      throw ConfigError(e.key_mark,
                        fmt::format("unknown slurm key '{}'{}; expected one of: {}", e.key,
                                    did_you_mean(e.key, kBlockKeys), fmt::join(kBlockKeys, ", ")));
    const ConfigNode& v = e.value;
    if (e.key == "partition" || e.key == "time") {
      if (!v.is_scalar())
        throw ConfigError(v.mark, fmt::format("slurm.{} must be a string", e.key));
      (e.key == "partition" ? s.partition : s.time) = one_line("slurm." + e.key, v.scalar, &v.mark);
      if (e.key == "time") check_time(s.time, &v.mark);
    } else if (e.key == "cpus_per_task") {
      s.cpus_per_task = positive(v, e.key);
    } else if (e.key == "array_parallel") {
      s.array_parallel = positive(v, e.key);
    } else if (e.key == "cells_per_task") {
      s.cells_per_task = positive(v, e.key);
    } else if (e.key == "max_array_tasks") {
      s.max_array_tasks = positive(v, e.key);
    } else if (e.key == "sbatch") {
      for (const std::string& line : lines_of(v, e.key))
        s.sbatch.push_back(sbatch_option(line, &v.mark));
    } else if (e.key == "prologue") {
      s.prologue = lines_of(v, e.key);
    }
  }
  return s;
}

SlurmPlan plan_slurm(const Experiment& ex, const SlurmRequest& r) {
  SlurmPlan p;
  p.name = ex.name;
  p.settings = read_slurm_block(ex.slurm);
  SlurmSettings& s = p.settings;
  if (r.partition) s.partition = one_line("--partition", *r.partition);
  if (r.time) check_time(s.time = one_line("--time", *r.time), nullptr);
  if (r.cpus_per_task) s.cpus_per_task = *r.cpus_per_task;
  if (r.array_parallel) s.array_parallel = *r.array_parallel;
  if (r.cells_per_task) s.cells_per_task = *r.cells_per_task;
  for (const std::string& line : r.sbatch_lines) s.sbatch.push_back(sbatch_option(line, nullptr));
  for (const std::string& line : r.prologue_lines) s.prologue.push_back(line);

  p.work_dir = fs::current_path();
  p.experiment_file = fs::absolute(r.experiment_file).lexically_normal();
  p.results_root = fs::absolute(r.results_root).lexically_normal();
  RunOptions opt;
  opt.results_root = p.results_root;
  p.experiment_dir = experiment_dir(ex, opt);
  p.slurm_dir = p.experiment_dir / "slurm";
  p.logs_dir = p.slurm_dir / "logs";
  p.kant = fs::read_symlink("/proc/self/exe").string();
  p.sets = r.sets;
  p.cells = ex.cells.size();
  for (const CellState& c : inspect_cells(ex, opt)) {
    if (c.done()) continue;
    p.pending.push_back(c.index);
    p.pending_states.push_back(c.state);
    p.claimed += c.claimed ? 1 : 0;
  }
  size_t per_task = s.cells_per_task > 0 ? static_cast<size_t>(s.cells_per_task) : 1;
  const size_t max_tasks = static_cast<size_t>(s.max_array_tasks);
  if (s.cells_per_task == 0 && p.pending.size() > max_tasks)
    per_task = (p.pending.size() + max_tasks - 1) / max_tasks;
  for (size_t k = 0; k < p.pending.size(); k += per_task)
    p.tasks.emplace_back(
        p.pending.begin() + static_cast<long>(k),
        p.pending.begin() + static_cast<long>(std::min(p.pending.size(), k + per_task)));
  if (p.tasks.size() > max_tasks)
    throw InputError(fmt::format(
        "{} array tasks of {} cell{} exceed SLURM's array size ({} tasks, slurm.max_array_tasks); "
        "give more --cells-per-task",
        p.tasks.size(), per_task, per_task == 1 ? "" : "s", max_tasks));
  s.cells_per_task = static_cast<int>(per_task);

  std::vector<std::string> cmd{p.kant, "slurm", p.experiment_file.string()};
  for (const std::string& set : p.sets) cmd.insert(cmd.end(), {"--set", set});
  cmd.insert(cmd.end(), {"--results", p.results_root.string()});
  if (r.partition) cmd.insert(cmd.end(), {"--partition", *r.partition});
  if (r.time) cmd.insert(cmd.end(), {"--time", *r.time});
  if (r.cpus_per_task) cmd.insert(cmd.end(), {"--cpus-per-task", std::to_string(*r.cpus_per_task)});
  if (r.array_parallel)
    cmd.insert(cmd.end(), {"--array-parallel", std::to_string(*r.array_parallel)});
  if (r.cells_per_task)
    cmd.insert(cmd.end(), {"--cells-per-task", std::to_string(*r.cells_per_task)});
  for (const std::string& line : r.sbatch_lines) cmd.insert(cmd.end(), {"--sbatch", line});
  for (const std::string& line : r.prologue_lines) cmd.insert(cmd.end(), {"--prologue", line});
  for (const std::string& w : cmd) {
    if (!p.resubmit.empty()) p.resubmit += ' ';
    p.resubmit += shell_quote(w);
  }
  return p;
}

std::string array_script(const Experiment& ex, const SlurmPlan& p) {
  const SlurmSettings& s = p.settings;
  std::map<std::string, int> states;
  for (const std::string& st : p.pending_states) ++states[st];
  std::vector<std::string> state_counts;
  for (const auto& [st, n] : states) state_counts.push_back(fmt::format("{} {}", n, st));
  std::string t;
  t += "#!/bin/bash\n";
  t += fmt::format("# kant slurm: experiment {} ({}), written {} by kant {} (commit {}).\n", p.name,
                   p.experiment_file.string(), utc_now(), framework_version(), git_commit());
  t += fmt::format(
      "# {} of its {} cells are not complete ({}): {} array task{} of {} cell{} each, every task "
      "a\n",
      p.pending.size(), p.cells, fmt::join(state_counts, ", "), p.tasks.size(),
      p.tasks.size() == 1 ? "" : "s", s.cells_per_task, s.cells_per_task == 1 ? "" : "s");
  t += fmt::format(
      "# `kant run --cells` with {} thread{} (its CPUs). A report job runs after the array ends.\n",
      s.cpus_per_task, s.cpus_per_task == 1 ? "" : "s");
  t += "# Cells are claimed and recognised by content, so a task that dies loses only its cell; "
       "to\n";
  t += "# submit again what is not complete:\n";
  t += fmt::format("#   {}\n", p.resubmit);
  t += fmt::format("#SBATCH --job-name=kant-{}\n", p.name);
  t += fmt::format("#SBATCH --array=0-{}{}\n", p.tasks.empty() ? 0 : p.tasks.size() - 1,
                   s.array_parallel > 0 ? fmt::format("%{}", s.array_parallel) : "");
  t += "#SBATCH --ntasks=1\n";
  t += fmt::format("#SBATCH --cpus-per-task={}\n", s.cpus_per_task);
  t += fmt::format("#SBATCH --output={}/array-%A_%a.out\n", p.logs_dir.string());
  t += shared_sbatch(p);
  t += "\nset -eo pipefail\n";
  t += prologue(p);
  t += "set -u\n\n";
  t += "# the cells of each array task (ids as `kant validate` lists them)\n";
  t += "cells=(\n";
  for (size_t k = 0; k < p.tasks.size(); ++k) {
    std::vector<std::string> ids, labels;
    for (size_t i : p.tasks[k]) {
      ids.push_back(ex.cells[i].id);
      labels.push_back(fmt::format("{}/{} {}", i + 1, p.cells, comment(ex.cells[i].label_str())));
    }
    t += fmt::format("  [{}]={}  # {}\n", k, fmt::join(ids, ","), fmt::join(labels, "; "));
  }
  t += ")\n\n";
  t += fmt::format("exec {} run {} \\\n", shell_quote(p.kant),
                   shell_quote(p.experiment_file.string()));
  for (const std::string& set : p.sets) t += fmt::format("  --set {} \\\n", shell_quote(set));
  t += fmt::format("  --results {} \\\n", shell_quote(p.results_root.string()));
  t += fmt::format(
      "  --cells \"${{cells[${{SLURM_ARRAY_TASK_ID:?run this script with sbatch}}]}}\" --jobs 1 "
      "--threads {}\n",
      s.cpus_per_task);
  return t;
}

std::string report_script(const SlurmPlan& p, const std::string& array_job) {
  std::string t;
  t += "#!/bin/bash\n";
  t += fmt::format(
      "# kant slurm: the report of experiment {}, once array job {} has ended, whatever its\n",
      p.name, array_job);
  t += fmt::format("# tasks' outcome (afterany). Written {} by kant {} (commit {}).\n", utc_now(),
                   framework_version(), git_commit());
  t += fmt::format("#SBATCH --job-name=kant-{}-report\n", p.name);
  t += fmt::format("#SBATCH --dependency=afterany:{}\n", array_job);
  t += "#SBATCH --ntasks=1\n";
  t += "#SBATCH --cpus-per-task=1\n";
  t += fmt::format("#SBATCH --output={}/report-%j.out\n", p.logs_dir.string());
  t += shared_sbatch(p);
  t += "\nset -eo pipefail\n";
  t += prologue(p);
  t += "set -u\n\n";
  t += fmt::format("{} report {}\n", shell_quote(p.kant), shell_quote(p.experiment_dir.string()));
  t += "# cells missing or failed are named above; this submits them again:\n";
  t += fmt::format("echo {}\n",
                   shell_quote("kant slurm: to train what is not complete: " + p.resubmit));
  return t;
}

SlurmSubmission submit_slurm(const Experiment& ex, const SlurmPlan& p) {
  SlurmSubmission sub;
  if (on_path("sbatch").empty())
    throw Error(
        "sbatch is not on PATH (is this a SLURM submit host? module load slurm?); nothing written. "
        "kant slurm --dry-run prints the scripts");
  RunOptions opt;
  opt.results_root = p.results_root;
  write_experiment_manifest(ex, opt);
  fs::create_directories(p.logs_dir);
  sub.array_file = p.slurm_dir / "array.sbatch";
  sub.report_file = p.slurm_dir / "report.sbatch";
  write_file_atomically(sub.array_file, array_script(ex, p));
  sub.array_job = submit({"sbatch", "--parsable", sub.array_file.string()});
  write_file_atomically(sub.report_file, report_script(p, sub.array_job));
  sub.report_job = submit({"sbatch", "--parsable", sub.report_file.string()});
  // a history of submissions beside the scripts (the scripts themselves are overwritten)
  const fs::path history = p.slurm_dir / "submissions.txt";
  std::string text;
  if (std::FILE* f = std::fopen(history.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  text += fmt::format("{}  array job {} ({} task{}, {} cell{})  report job {}\n", utc_now(),
                      sub.array_job, p.tasks.size(), p.tasks.size() == 1 ? "" : "s",
                      p.pending.size(), p.pending.size() == 1 ? "" : "s", sub.report_job);
  write_file_atomically(history, text);
  return sub;
}

}  // namespace kant::cluster
