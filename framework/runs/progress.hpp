// The status line of a grid: cells done / running / failed / to do, elapsed time and time
// left, estimated from the durations of finished cells of the same setting (the cell's labels
// without its seed) and the run's parallel slots. On a terminal it stays on the bottom line
// (a scroll region above it takes the cells' own progress lines, as apt does); otherwise it is
// printed as plain lines (CI, logs, SLURM) when a cell ends and every `plain_every`.
#pragma once
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cells/experiment.hpp"
#include "store/cell_status.hpp"

namespace kant {

/// The makespan of a list schedule: each duration in turn goes to the slot that frees first;
/// `busy` holds what each slot still has to do (its size is the number of slots, at least 1).
double list_schedule_makespan(std::vector<double> busy, const std::vector<double>& durations);

/// "0:42", "12:05", "3:02:10", "2d 04:10".
std::string format_duration(double seconds);

class GridProgress {
 public:
  enum class State { todo, running, done, failed };

  struct Options {
    bool enabled = true;
    bool terminal = false;  ///< in place on the bottom line (else plain lines)
    std::chrono::seconds plain_every{60};
    std::string scope;  ///< what the counts cover: "quickstart", "quickstart, shard 1/4", …
  };
  using Clock = std::chrono::steady_clock;

  GridProgress(const Experiment& ex, std::FILE* out, Options options);
  ~GridProgress() { close(); }
  GridProgress(const GridProgress&) = delete;
  GridProgress& operator=(const GridProgress&) = delete;

  /// Counts cell `cell` of the experiment (once, before the run starts): done (with its
  /// duration if known, < 0 if not), failed or to do.
  void add(size_t cell, State state, double seconds = -1);
  void started(size_t cell);
  /// complete | diverged | elsewhere → done; failed → failed; interrupted → to do.
  void ended(size_t cell, CellStatus status, double seconds);
  /// Cells another run holds (waited for): shown, and counted as to do.
  void set_held(size_t n) { held_ = n; }
  /// Parallel slots of the whole run (jobs, or ranks × jobs).
  void set_slots(int slots) { slots_ = slots > 0 ? slots : 1; }
  /// Redraws when due (in place: at most every 0.5 s; plain: every plain_every).
  void tick();
  /// The last line, and the terminal restored (idempotent).
  void close();

  /// The status text now (without the "kant: " prefix).
  std::string line() const { return line_at(Clock::now()); }
  std::string line_at(Clock::time_point now) const;
  /// Estimated seconds until every cell is done; < 0 while no cell has finished.
  double time_left_at(Clock::time_point now) const;
  size_t count(State s) const;

 private:
  struct Entry {
    State state = State::todo;
    std::string setting;
    Clock::time_point started;
    bool tracked = false;
  };
  double estimate(const Entry& e) const;  // < 0: unknown
  void record_duration(const std::string& setting, double seconds);
  void draw(bool changed);
  void set_up_terminal();
  void restore_terminal();

  const Experiment& ex_;
  std::FILE* out_;
  Options opt_;
  std::vector<Entry> cells_;
  std::map<std::string, std::pair<double, int>> durations_;  // per setting: sum, count
  double all_sum_ = 0;
  int all_count_ = 0;
  size_t held_ = 0;
  int slots_ = 1;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
  int rows_ = 0;  // terminal rows while the scroll region is set (0: not set)
  bool closed_ = false;
  std::string last_line_;
};

}  // namespace kant
