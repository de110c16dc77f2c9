// Experiment runner (see runner.hpp): this shard's cells, each verified, claimed and trained in
// a `kant _cell` child at most `jobs` at once, taken from a CellSource (its own queue unless
// MPI hands them out); the grid's status line; signals stop everything cleanly.
#include "runs/runner.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <optional>
#include <thread>

#include "autodiff/backend.hpp"
#include "kant/error.hpp"
#include "runs/cell_process.hpp"
#include "runs/child_process.hpp"
#include "store/cell_file.hpp"
#include "store/claim.hpp"
#include "store/live_series.hpp"
#include "store/manifest.hpp"

namespace kant {
namespace fs = std::filesystem;
using std::chrono::steady_clock;

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

fs::path experiment_dir(const Experiment& ex, const RunOptions& opt) {
  return opt.results_root / ex.name;
}

namespace {

// What a cell's file says before we decide to train it.
enum class Found { nothing, done, failed, damaged, not_a_file };

struct Inspection {
  Found found = Found::nothing;
  CellStatus status = CellStatus::failed;  // done: complete or diverged; failed: failed
  std::string reason;
  double seconds = -1;  // from the file's start and end times (complete, diverged)
};

// Seconds between two of utc_now()'s stamps ("2026-12-01T23:17:05Z"), < 0 if unreadable.
double seconds_between(const std::string& from, const std::string& to) {
  auto parse = [](const std::string& text) -> std::optional<std::time_t> {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end != '\0') return std::nullopt;
    return ::timegm(&tm);
  };
  const auto a = parse(from), b = parse(to);
  if (!a || !b || *b < *a) return -1;
  return static_cast<double>(*b - *a);
}

// `retry_stopped`: a cell the user stopped counts as failed (trained again) rather than done.
Inspection inspect(const fs::path& file, bool retry_stopped) {
  struct stat st;
  if (::lstat(file.c_str(), &st) != 0) return {};
  if (!S_ISREG(st.st_mode))
    return {Found::not_a_file, CellStatus::failed,
            fmt::format("{}: is not a regular file; remove it to run this cell", file.string())};
  try {
    CellSummary s = read_cell_summary(file);
    if (is_done(s.status) && !(retry_stopped && s.status == CellStatus::stopped)) {
      const auto start = s.attrs.find("start_time"), end = s.attrs.find("end_time");
      const double seconds = start != s.attrs.end() && end != s.attrs.end()
                                 ? seconds_between(start->second, end->second)
                                 : -1;
      return {Found::done, s.status, "", seconds};
    }
    return {Found::failed, CellStatus::failed, s.detail};
  } catch (const Error& e) {
    return {Found::damaged, CellStatus::failed, e.what()};
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
  steady_clock::time_point started;
};

// A local run's cells: the queue the runner filled, in grid order.
class LocalSource : public CellSource {
 public:
  bool owns_queue() const override { return true; }
  void attach(std::deque<size_t>& queue, GridProgress& progress) override {
    queue_ = &queue;
    progress_ = &progress;
  }
  std::optional<size_t> next() override {
    if (queue_->empty()) return std::nullopt;
    const size_t i = queue_->front();
    queue_->pop_front();
    return i;
  }
  bool exhausted() const override { return queue_->empty(); }
  size_t abandon() override {
    const size_t n = queue_->size();
    for (size_t i : *queue_) progress_->add(i, GridProgress::State::failed);
    queue_->clear();
    return n;
  }
  void ended(size_t, CellStatus, double) override {}
  void poll() override {}
  bool may_end() const override { return true; }
  int slots(int jobs) const override { return jobs; }
  std::string tag_suffix() const override { return ""; }
  std::string describe_workers(int jobs, int threads) const override {
    return fmt::format("{} at a time, {} thread{} each", jobs, threads, threads == 1 ? "" : "s");
  }

 private:
  std::deque<size_t>* queue_ = nullptr;
  GridProgress* progress_ = nullptr;
};

GridProgress::Options progress_options(const Experiment& ex, const RunOptions& opt, bool owner) {
  GridProgress::Options o;
  o.enabled = owner && !opt.quiet;
  o.terminal = ::isatty(STDERR_FILENO) == 1;
  o.plain_every = opt.status_every;
  o.scope = ex.name;
  if (!opt.cell_ids.empty())
    o.scope +=
        fmt::format(", {} cell{} chosen", opt.cell_ids.size(), opt.cell_ids.size() == 1 ? "" : "s");
  if (opt.shard_count > 1)
    o.scope += fmt::format(", shard {}/{}", opt.shard_index, opt.shard_count);
  return o;
}

class Runner {
 public:
  Runner(const Experiment& ex, const RunOptions& opt, CellSource* source)
      : ex_(ex),
        opt_(opt),
        dir_(experiment_dir(ex, opt)),
        exe_(fs::read_symlink("/proc/self/exe").string()),
        source_(source ? source : &local_),
        progress_(ex, stderr, progress_options(ex, opt, source_->owns_queue())) {}

  RunSummary run();

 private:
  fs::path file_of(size_t i) const { return cell_path(dir_, ex_.cells[i].id); }
  /// Looks at this run's cells: done ones counted, pending ones queued.
  void inspect_pending();
  /// Claims cell i and starts its child; false when another run holds it.
  bool try_start(size_t i);
  void launch(size_t i, Claim claim);
  /// Reaps finished children; returns how many.
  int reap();
  void finished(Child& child, int status);
  /// A cell another run trained meanwhile.
  void done_elsewhere(size_t i);
  /// Cells other runs hold: done by them, or free (abandoned) for us.
  void poll_deferred();
  void heartbeat();
  void stop_children();
  void count(CellStatus status);

  const Experiment& ex_;
  const RunOptions& opt_;
  const fs::path dir_;
  const std::string exe_;
  LocalSource local_;
  CellSource* source_;
  GridProgress progress_;
  int threads_ = 1;
  RunSummary summary_;
  bool storage_broken_ = false;  // a cell file could not be written: start no more cells
  std::deque<size_t> queue_, deferred_;
  std::vector<Child> running_;
  steady_clock::time_point last_heartbeat_ = steady_clock::now();
};

void Runner::inspect_pending() {
  for (size_t i : selected_cells(ex_, opt_)) {
    Inspection s = inspect(file_of(i), opt_.retry_stopped);
    if (s.found == Found::done) {
      ++summary_.skipped;
      progress_.add(i, GridProgress::State::done, s.seconds);
      std::error_code ec;  // a claim its runner left when it died between storing and reaping
      if (fs::exists(claim_path(file_of(i)), ec))
        Claim::acquire(claim_path(file_of(i)), opt_.claim_timeout);
    } else if (s.found == Found::not_a_file) {
      fmt::print(stderr, "kant: cell {} ({}) not run: {}\n", ex_.cells[i].id,
                 ex_.cells[i].label_str(), s.reason);
      ++summary_.failed;
      progress_.add(i, GridProgress::State::failed);
    } else {
      if (s.found == Found::damaged) {
        const fs::path aside = file_of(i).string() + fmt::format(".damaged.{}", utc_now());
        std::error_code ec;
        fs::rename(file_of(i), aside, ec);
        fmt::print(stderr, "kant: {}; kept as {}, training the cell again\n", s.reason,
                   aside.filename().string());
      }
      queue_.push_back(i);
      progress_.add(i, GridProgress::State::todo);
    }
  }
}

RunSummary Runner::run() {
  fs::create_directories(dir_ / "cells");
  const bool owner = source_->owns_queue();
  if (owner) {
    write_experiment_manifest(ex_, opt_);
    inspect_pending();
  }
  const int cores = available_cores();
  const int jobs =
      opt_.jobs > 0 ? opt_.jobs : std::min<int>(cores, std::max<size_t>(1, queue_.size()));
  threads_ = opt_.threads > 0 ? opt_.threads : std::max(1, cores / jobs);
  source_->attach(queue_, progress_);
  progress_.set_slots(source_->slots(jobs));
  if (owner && !opt_.quiet)
    fmt::print(stderr, "kant: {} — {} cells, {} done already, {} to run ({})\n", ex_.name,
               ex_.cells.size(), summary_.skipped, queue_.size(),
               source_->describe_workers(jobs, threads_));

  StopSignals signals;
  auto last_poll = steady_clock::now();
  while (!source_->exhausted() || !deferred_.empty() || !running_.empty() || !source_->may_end()) {
    if (stop_signal()) break;
    source_->poll();
    if (storage_broken_ && (!source_->exhausted() || !deferred_.empty())) {
      const size_t n = source_->abandon() + deferred_.size();
      for (size_t i : deferred_) {
        progress_.add(i, GridProgress::State::failed);
        source_->ended(i, CellStatus::failed, -1);
      }
      if (n > 0)
        fmt::print(
            stderr,
            "kant: the results folder cannot be written; {} cell{} not started (run again once "
            "there is space)\n",
            n, n == 1 ? "" : "s");
      summary_.failed += static_cast<int>(n);
      deferred_.clear();
    }
    while (static_cast<int>(running_.size()) < jobs && !storage_broken_) {
      const std::optional<size_t> i = source_->next();
      if (!i) break;
      try {
        if (!try_start(*i)) deferred_.push_back(*i);
      } catch (const StorageError& e) {  // its claim cannot be written (a full disk)
        fmt::print(stderr, "kant: {}\n", e.what());
        deferred_.push_front(*i);  // counted with the cells not started
        storage_broken_ = true;
      }
    }
    if (source_->exhausted() && !deferred_.empty() && static_cast<int>(running_.size()) < jobs &&
        !storage_broken_ && steady_clock::now() - last_poll > std::chrono::milliseconds(500)) {
      try {
        poll_deferred();
      } catch (const StorageError& e) {
        fmt::print(stderr, "kant: {}\n", e.what());
        storage_broken_ = true;
      }
      last_poll = steady_clock::now();
    }
    heartbeat();
    progress_.set_held(deferred_.size());
    progress_.tick();
    if (reap() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  progress_.close();
  if (stop_signal()) {
    summary_.signal = stop_signal();
    fmt::print(stderr, "kant: {} received: stopping {} running cell{}\n", strsignal(stop_signal()),
               running_.size(), running_.size() == 1 ? "" : "s");
    stop_children();
    // cells not handed out stay to do; under MPI, rank 0 answers the other ranks "no more"
    // until each has stopped, so that every rank can end with MPI_Finalize
    if (source_->owns_queue()) source_->abandon();
    while (!source_->may_end()) {
      source_->poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return summary_;
}

bool Runner::try_start(size_t i) {
  std::string holder;
  std::optional<Claim> claim = Claim::acquire(claim_path(file_of(i)), opt_.claim_timeout, &holder);
  if (!claim) {
    if (!opt_.quiet)
      fmt::print(stderr, "kant: cell {} ({}) is being trained by {}; waiting for it\n",
                 ex_.cells[i].id, ex_.cells[i].label_str(), holder);
    return false;
  }
  Inspection s = inspect(
      file_of(i), opt_.retry_stopped);  // done by another run between our look and our claim?
  if (s.found == Found::done) {
    done_elsewhere(i);
    return true;  // the claim is released as it goes out of scope
  }
  launch(i, std::move(*claim));
  return true;
}

void Runner::done_elsewhere(size_t i) {
  ++summary_.elsewhere;
  progress_.ended(i, CellStatus::elsewhere, -1);
  source_->ended(i, CellStatus::elsewhere, -1);
}

void Runner::launch(size_t i, Claim claim) {
  const Cell& cell = ex_.cells[i];
  remove_temporaries(file_of(i));
  const std::string tag =
      fmt::format("[{}/{} {}{}]", i + 1, ex_.cells.size(), cell.label_str(), source_->tag_suffix());
  std::error_code ec;  // a stop request left from before is not meant for this run
  fs::remove(stop_request_path(file_of(i)), ec);
  const pid_t pid = spawn_child({exe_,
                                 "_cell",
                                 file_of(i),
                                 threads_,
                                 tag,
                                 {"--live-every", std::to_string(opt_.live_every.count())}},
                                claim, cell_spec_yaml(ex_, cell), cell.id);
  running_.push_back({pid, i, std::move(claim), steady_clock::now()});
  progress_.started(i);
}

int Runner::reap() {
  return reap_children(running_, [&](Child& c, int status) { finished(c, status); });
}

void Runner::finished(Child& child, int status) {
  const Cell& cell = ex_.cells[child.cell];
  const fs::path file = file_of(child.cell);
  const double seconds = std::chrono::duration<double>(steady_clock::now() - child.started).count();
  remove_temporaries(file);
  // stopped by a signal, nothing stored (or killed by the signal that is stopping this run too,
  // e.g. one sent to the whole process group before the cell's handlers were in place)
  if ((WIFEXITED(status) && WEXITSTATUS(status) > 128) ||
      (stop_signal() && WIFSIGNALED(status) && WTERMSIG(status) == stop_signal())) {
    if (!stop_signal()) {
      fmt::print(
          stderr,
          "kant: cell {} ({}) was stopped by a signal and not recorded; run again to resume it\n",
          cell.id, cell.label_str());
      ++summary_.interrupted;
    }
    progress_.ended(child.cell, CellStatus::interrupted, seconds);
    source_->ended(child.cell, CellStatus::interrupted, seconds);
    return;
  }
  Inspection s = inspect(file, false);  // what the child stored
  if (s.found != Found::done &&
      s.found != Found::failed) {  // it stored nothing (or a damaged file)
    CellInfo info{ex_.name,         cell.id,
                  cell.labels,      cell.config.yaml(),
                  cell.config.seed, plugin_uses(cell.config),
                  threads_,         "",
                  utc_now(),        backend::version(),
                  backend::isa(),   0};
    CellResult failed;
    failed.status = CellStatus::failed;
    failed.detail = s.found == Found::damaged ? s.reason : describe_exit(status);
    try {
      write_cell_file(file, info, failed);
    } catch (const Error& e) {  // the results folder takes no more (a full disk): stop here
      fmt::print(stderr, "kant: cannot record the failure of cell {}: {}\n", cell.id, e.what());
      storage_broken_ = true;
    }
    fmt::print(stderr, "kant: cell {} ({}) failed: {}\n", cell.id, cell.label_str(), failed.detail);
    s.status = CellStatus::failed;
  }
  count(s.status);
  progress_.ended(child.cell, s.status, seconds);
  source_->ended(child.cell, s.status, seconds);
}

void Runner::poll_deferred() {
  for (size_t k = deferred_.size(); k-- > 0;) {
    const size_t i = deferred_.front();
    deferred_.pop_front();
    Inspection s = inspect(file_of(i), opt_.retry_stopped);
    if (s.found == Found::done) {
      done_elsewhere(i);
      continue;
    }
    std::optional<Claim> claim = Claim::acquire(claim_path(file_of(i)), opt_.claim_timeout);
    if (!claim) {
      deferred_.push_back(i);
      continue;
    }
    if (inspect(file_of(i), opt_.retry_stopped).found == Found::done) {
      done_elsewhere(i);
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
  kant::stop_children(running_, [&](const Child& c) { remove_temporaries(file_of(c.cell)); });
}

void Runner::count(CellStatus status) {
  if (status == CellStatus::complete)
    ++summary_.complete;
  else if (status == CellStatus::diverged)
    ++summary_.diverged;
  else if (status == CellStatus::stopped)
    ++summary_.stopped;
  else
    ++summary_.failed;
}

}  // namespace

std::vector<size_t> selected_cells(const Experiment& ex, const RunOptions& opt) {
  std::vector<bool> chosen(ex.cells.size(), opt.cell_ids.empty());
  if (!opt.cell_ids.empty()) {
    std::map<std::string, size_t> by_id;
    for (size_t i = 0; i < ex.cells.size(); ++i) by_id.emplace(ex.cells[i].id, i);
    std::vector<std::string> unknown;
    for (const std::string& id : opt.cell_ids) {
      auto it = by_id.find(id);
      if (it == by_id.end())
        unknown.push_back(id);
      else
        chosen[it->second] = true;
    }
    if (!unknown.empty())
      throw InputError(
          fmt::format("--cells: {} {} not in the grid of {} ({} cells; kant validate lists them; "
                      "was the experiment or a --set changed since the list was made?)",
                      fmt::join(unknown, ", "), unknown.size() == 1 ? "is" : "are",
                      ex.file.string(), ex.cells.size()));
  }
  std::vector<size_t> out;
  for (size_t i = 0; i < ex.cells.size(); ++i)
    if (chosen[i] && static_cast<int>(i % static_cast<size_t>(opt.shard_count)) == opt.shard_index)
      out.push_back(i);
  return out;
}

std::vector<CellState> inspect_cells(const Experiment& ex, const RunOptions& opt) {
  const fs::path dir = experiment_dir(ex, opt);
  std::vector<CellState> states;
  for (size_t i : selected_cells(ex, opt)) {
    const fs::path file = cell_path(dir, ex.cells[i].id);
    const Inspection s = inspect(file, opt.retry_stopped);
    CellState c;
    c.index = i;
    c.seconds = s.seconds;
    switch (s.found) {
      case Found::nothing:
        c.state = "missing";
        break;
      case Found::done:
      case Found::failed:
        c.status = s.status;
        c.state = to_string(s.status), c.detail = s.reason;
        break;
      case Found::damaged:
        c.state = "damaged", c.detail = s.reason;
        break;
      case Found::not_a_file:
        c.state = "not_a_file", c.detail = s.reason;
        break;
    }
    std::error_code ec;
    c.claimed = fs::exists(claim_path(file), ec);
    states.push_back(std::move(c));
  }
  return states;
}

void write_experiment_manifest(const Experiment& ex, const RunOptions& opt) {
  const fs::path dir = experiment_dir(ex, opt);
  fs::create_directories(dir / "cells");
  write_manifest(dir, manifest_of(ex));
}

RunSummary run_experiment(const Experiment& ex, const Registry& registry, const RunOptions& opt,
                          CellSource* source) {
  (void)registry;
  return Runner(ex, opt, source).run();
}

}  // namespace kant
