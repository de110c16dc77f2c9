// Experiment runner (see runner.hpp): this shard's cells, each verified, claimed and trained in
// a `kant _cell` child at most `jobs` at once; signals stop everything cleanly.
#include "experiment/runner.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "autodiff/backend.hpp"
#include "experiment/cell_process.hpp"
#include "experiment/resume.hpp"
#include "kant/error.hpp"
#include "store/cell_file.hpp"
#include "store/claim.hpp"
#include "store/manifest.hpp"

extern char** environ;

namespace kant {
namespace fs = std::filesystem;
using std::chrono::steady_clock;

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

fs::path experiment_dir(const Experiment& ex, const RunOptions& opt) { return opt.results_root / ex.name; }

namespace {

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

// SIGINT, SIGTERM and SIGHUP set g_signal for the loop; the previous handlers come back at the end.
class SignalGuard {
 public:
  SignalGuard() {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &previous_[i]);
    g_signal = 0;
  }
  ~SignalGuard() {
    for (size_t i = 0; i < 3; ++i) sigaction(kSignals[i], &previous_[i], nullptr);
  }

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction previous_[3];
};

// What a cell's file says before we decide to train it.
enum class Found { nothing, done, failed, damaged, not_a_file };

struct Inspection {
  Found found = Found::nothing;
  std::string status, reason;
};

Inspection inspect(const fs::path& file) {
  struct stat st;
  if (::lstat(file.c_str(), &st) != 0) return {};
  if (!S_ISREG(st.st_mode))
    return {Found::not_a_file, "", fmt::format("{}: is not a regular file; remove it to run this cell", file.string())};
  try {
    CellSummary s = read_cell_summary(file);
    if (s.status == "complete" || s.status == "diverged") return {Found::done, s.status, ""};
    return {Found::failed, s.status, s.detail};
  } catch (const Error& e) {
    return {Found::damaged, "", e.what()};
  }
}

// Every temporary of a cell (its file's and its checkpoint's, any host, any pid): only the
// claim holder calls this, so none of them belongs to a live writer.
void remove_temporaries(const fs::path& cell_file) {
  const std::string stems[] = {cell_file.filename().string() + ".tmp.",
                               checkpoint_path(cell_file).filename().string() + ".tmp."};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cell_file.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    for (const std::string& stem : stems)
      if (name.rfind(stem, 0) == 0) fs::remove(e.path(), ec);
  }
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status))
    return fmt::format("the cell's process was killed by signal {} ({})", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
  return fmt::format("the cell's process exited with code {}", WEXITSTATUS(status));
}

struct Child {
  pid_t pid;
  size_t cell;
  Claim claim;
};

class Runner {
 public:
  Runner(const Experiment& ex, const RunOptions& opt)
      : ex_(ex), opt_(opt), dir_(experiment_dir(ex, opt)), exe_(fs::read_symlink("/proc/self/exe").string()) {}

  RunSummary run();

 private:
  fs::path file_of(size_t i) const { return cell_path(dir_, ex_.cells[i].id); }
  /// Claims cell i and starts its child; false when another run holds it.
  bool try_start(size_t i);
  void launch(size_t i, Claim claim);
  /// Reaps finished children; returns how many.
  int reap();
  void finished(Child& child, int status);
  /// Cells other runs hold: done by them, or free (abandoned) for us.
  void poll_deferred();
  void heartbeat();
  void stop_children();
  void count(const std::string& status);

  const Experiment& ex_;
  const RunOptions& opt_;
  const fs::path dir_;
  const std::string exe_;
  int threads_ = 1;
  RunSummary summary_;
  bool storage_broken_ = false;  // a cell file could not be written: start no more cells
  std::deque<size_t> queue_, deferred_;
  std::vector<Child> running_;
  steady_clock::time_point last_heartbeat_ = steady_clock::now();
};

RunSummary Runner::run() {
  fs::create_directories(dir_ / "cells");
  write_manifest(dir_, manifest_of(ex_));

  for (size_t i = 0; i < ex_.cells.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(opt_.shard_count)) != opt_.shard_index) continue;
    Inspection s = inspect(file_of(i));
    if (s.found == Found::done) {
      ++summary_.skipped;
      std::error_code ec;  // a claim its runner left when it died between storing and reaping
      if (fs::exists(claim_path(file_of(i)), ec)) Claim::acquire(claim_path(file_of(i)), opt_.claim_timeout);
    } else if (s.found == Found::not_a_file) {
      fmt::print(stderr, "kant: cell {} ({}) not run: {}\n", ex_.cells[i].id, ex_.cells[i].label_str(), s.reason);
      ++summary_.failed;
    } else {
      if (s.found == Found::damaged) {
        const fs::path aside = file_of(i).string() + fmt::format(".damaged.{}", utc_now());
        std::error_code ec;
        fs::rename(file_of(i), aside, ec);
        fmt::print(stderr, "kant: {}; kept as {}, training the cell again\n", s.reason, aside.filename().string());
      }
      queue_.push_back(i);
    }
  }
  const int cores = available_cores();
  const int jobs = opt_.jobs > 0 ? opt_.jobs : std::min<int>(cores, std::max<size_t>(1, queue_.size()));
  threads_ = opt_.threads > 0 ? opt_.threads : std::max(1, cores / jobs);
  if (!opt_.quiet)
    fmt::print(stderr, "kant: {} — {} cells, {} done already, {} to run ({} at a time, {} thread{} each)\n",
               ex_.name, ex_.cells.size(), summary_.skipped, queue_.size(), jobs, threads_, threads_ == 1 ? "" : "s");

  SignalGuard signals;
  auto last_poll = steady_clock::now();
  while (!queue_.empty() || !deferred_.empty() || !running_.empty()) {
    if (g_signal) break;
    if (storage_broken_ && (!queue_.empty() || !deferred_.empty())) {
      fmt::print(stderr, "kant: the results folder cannot be written; {} cell{} not started (run again once "
                 "there is space)\n", queue_.size() + deferred_.size(), queue_.size() + deferred_.size() == 1 ? "" : "s");
      summary_.failed += static_cast<int>(queue_.size() + deferred_.size());
      queue_.clear();
      deferred_.clear();
    }
    while (!queue_.empty() && static_cast<int>(running_.size()) < jobs && !storage_broken_) {
      const size_t i = queue_.front();
      queue_.pop_front();
      try {
        if (!try_start(i)) deferred_.push_back(i);
      } catch (const StorageError& e) {  // its claim cannot be written (a full disk)
        fmt::print(stderr, "kant: {}\n", e.what());
        queue_.push_front(i);
        storage_broken_ = true;
      }
    }
    if (queue_.empty() && !deferred_.empty() && static_cast<int>(running_.size()) < jobs && !storage_broken_ &&
        steady_clock::now() - last_poll > std::chrono::milliseconds(500)) {
      try {
        poll_deferred();
      } catch (const StorageError& e) {
        fmt::print(stderr, "kant: {}\n", e.what());
        storage_broken_ = true;
      }
      last_poll = steady_clock::now();
    }
    heartbeat();
    if (reap() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (g_signal) {
    summary_.signal = g_signal;
    fmt::print(stderr, "kant: {} received: stopping {} running cell{}\n", strsignal(g_signal), running_.size(),
               running_.size() == 1 ? "" : "s");
    stop_children();
  }
  return summary_;
}

bool Runner::try_start(size_t i) {
  std::string holder;
  std::optional<Claim> claim = Claim::acquire(claim_path(file_of(i)), opt_.claim_timeout, &holder);
  if (!claim) {
    if (!opt_.quiet)
      fmt::print(stderr, "kant: cell {} ({}) is being trained by {}; waiting for it\n", ex_.cells[i].id,
                 ex_.cells[i].label_str(), holder);
    return false;
  }
  Inspection s = inspect(file_of(i));  // done by another run between our look and our claim?
  if (s.found == Found::done) {
    ++summary_.elsewhere;
    return true;  // the claim is released as it goes out of scope
  }
  launch(i, std::move(*claim));
  return true;
}

void Runner::launch(size_t i, Claim claim) {
  const Cell& cell = ex_.cells[i];
  remove_temporaries(file_of(i));
  int spec_pipe[2];
  if (::pipe2(spec_pipe, O_CLOEXEC) != 0) throw Error("cannot create a pipe for a cell's spec");
  const std::string tag = fmt::format("[{}/{} {}]", i + 1, ex_.cells.size(), cell.label_str());
  std::vector<std::string> args{exe_, "_cell", "-", file_of(i).string(), "--threads", std::to_string(threads_),
                                "--tag", tag, "--parent", std::to_string(::getpid())};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, spec_pipe[0], 0);  // the spec on stdin
  posix_spawn_file_actions_adddup2(&actions, claim.fd(), 3);    // the claim's lock, shared
  pid_t pid;
  const int rc = posix_spawn(&pid, exe_.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(spec_pipe[0]);
  if (rc != 0) {
    ::close(spec_pipe[1]);
    throw Error(fmt::format("cannot start a process for cell {}: {}", cell.id, std::strerror(rc)));
  }
  const std::string spec = cell_spec_yaml(ex_, cell);
  for (size_t done = 0; done < spec.size();) {  // the child reads it whole before anything else
    const ssize_t n = ::write(spec_pipe[1], spec.data() + done, spec.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;  // the child died: reaped as a failure
    done += static_cast<size_t>(n);
  }
  ::close(spec_pipe[1]);
  running_.push_back({pid, i, std::move(claim)});
}

int Runner::reap() {
  int reaped = 0;
  while (true) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return reaped;
    auto it = std::find_if(running_.begin(), running_.end(), [&](const Child& c) { return c.pid == pid; });
    if (it == running_.end()) continue;
    finished(*it, status);
    running_.erase(it);
    ++reaped;
  }
}

void Runner::finished(Child& child, int status) {
  const Cell& cell = ex_.cells[child.cell];
  const fs::path file = file_of(child.cell);
  remove_temporaries(file);
  if (WIFEXITED(status) && WEXITSTATUS(status) > 128) {  // stopped by a signal, nothing stored
    if (!g_signal) {
      fmt::print(stderr, "kant: cell {} ({}) was stopped by a signal and not recorded; run again to resume it\n",
                 cell.id, cell.label_str());
      ++summary_.interrupted;
    }
    return;
  }
  Inspection s = inspect(file);
  if (s.found != Found::done && s.found != Found::failed) {  // it stored nothing (or a damaged file)
    CellInfo info{ex_.name, cell.id, cell.labels, cell.config.yaml(), cell.config.seed, plugin_uses(cell.config),
                  threads_, "", utc_now(), backend::version(), backend::isa(), 0};
    CellResult failed;
    failed.status = "failed";
    failed.detail = s.found == Found::damaged ? s.reason : describe_exit(status);
    try {
      write_cell_file(file, info, failed);
    } catch (const Error& e) {  // the results folder takes no more (a full disk): stop here
      fmt::print(stderr, "kant: cannot record the failure of cell {}: {}\n", cell.id, e.what());
      storage_broken_ = true;
    }
    fmt::print(stderr, "kant: cell {} ({}) failed: {}\n", cell.id, cell.label_str(), failed.detail);
    s.status = "failed";
  }
  count(s.status);
}

void Runner::poll_deferred() {
  for (size_t k = deferred_.size(); k-- > 0;) {
    const size_t i = deferred_.front();
    deferred_.pop_front();
    Inspection s = inspect(file_of(i));
    if (s.found == Found::done) {
      ++summary_.elsewhere;
      continue;
    }
    std::optional<Claim> claim = Claim::acquire(claim_path(file_of(i)), opt_.claim_timeout);
    if (!claim) {
      deferred_.push_back(i);
      continue;
    }
    if (inspect(file_of(i)).found == Found::done) {
      ++summary_.elsewhere;
      continue;
    }
    launch(i, std::move(*claim));
    return;  // one at a time: the loop fills the other slots from the queue
  }
}

void Runner::heartbeat() {
  if (steady_clock::now() - last_heartbeat_ < opt_.claim_timeout / 8) return;
  for (const Child& c : running_) c.claim.heartbeat();
  last_heartbeat_ = steady_clock::now();
}

void Runner::stop_children() {
  for (const Child& c : running_) ::kill(c.pid, SIGTERM);
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);
  while (!running_.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      auto it = std::find_if(running_.begin(), running_.end(), [&](const Child& c) { return c.pid == pid; });
      if (it != running_.end()) {
        remove_temporaries(file_of(it->cell));
        running_.erase(it);
      }
      continue;
    }
    if (pid < 0 && errno == ECHILD) break;
    if (steady_clock::now() > deadline)
      for (const Child& c : running_) ::kill(c.pid, SIGKILL);  // a step that never ends
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Runner::count(const std::string& status) {
  if (status == "complete") ++summary_.complete;
  else if (status == "diverged") ++summary_.diverged;
  else ++summary_.failed;
}

}  // namespace

RunSummary run_experiment(const Experiment& ex, const Registry& registry, const RunOptions& opt) {
  (void)registry;
  return Runner(ex, opt).run();
}

}  // namespace kant
