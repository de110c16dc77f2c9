// The grid's status line (see progress.hpp).
#include "runs/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>

namespace kant {

double list_schedule_makespan(std::vector<double> busy, const std::vector<double>& durations) {
  if (busy.empty()) busy.push_back(0);
  std::priority_queue<double, std::vector<double>, std::greater<double>> free_at(busy.begin(),
                                                                                 busy.end());
  for (double d : durations) {
    const double t = free_at.top();
    free_at.pop();
    free_at.push(t + d);
  }
  double end = 0;
  while (!free_at.empty()) {
    end = std::max(end, free_at.top());
    free_at.pop();
  }
  return end;
}

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  const long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
  if (d > 0) return fmt::format("{}d {:02}:{:02}", d, h, m);
  if (h > 0) return fmt::format("{}:{:02}:{:02}", h, m, sec);
  return fmt::format("{}:{:02}", m, sec);
}

GridProgress::GridProgress(const Experiment& ex, std::FILE* out, Options options)
    : ex_(ex), out_(out), opt_(std::move(options)), cells_(ex.cells.size()) {
  for (size_t i = 0; i < ex.cells.size(); ++i) {
    std::string setting;
    for (const auto& [axis, value] : ex.cells[i].labels)
      if (axis != "seed") setting += axis + "=" + value + " ";
    cells_[i].setting = setting;
  }
}

void GridProgress::record_duration(const std::string& setting, double seconds) {
  if (seconds < 0 || !std::isfinite(seconds)) return;
  auto& [sum, n] = durations_[setting];
  sum += seconds;
  ++n;
  all_sum_ += seconds;
  ++all_count_;
}

void GridProgress::add(size_t cell, State state, double seconds) {
  if (cell >= cells_.size()) return;
  cells_[cell].state = state;
  cells_[cell].tracked = true;
  if (state == State::done) record_duration(cells_[cell].setting, seconds);
}

void GridProgress::started(size_t cell) {
  if (cell >= cells_.size()) return;
  cells_[cell].state = State::running;
  cells_[cell].tracked = true;
  cells_[cell].started = Clock::now();
  draw(false);
}

void GridProgress::ended(size_t cell, CellStatus status, double seconds) {
  if (cell >= cells_.size()) return;
  Entry& e = cells_[cell];
  e.tracked = true;
  if (is_done(status)) {
    e.state = State::done;
    // a cell the user stopped says nothing of how long its setting takes
    if (status != CellStatus::stopped) record_duration(e.setting, seconds);
  } else if (status == CellStatus::elsewhere) {
    e.state = State::done;
  } else if (status == CellStatus::interrupted) {
    e.state = State::todo;
  } else {
    e.state = State::failed;
  }
  draw(true);
}

size_t GridProgress::count(State s) const {
  return static_cast<size_t>(std::count_if(
      cells_.begin(), cells_.end(), [&](const Entry& e) { return e.tracked && e.state == s; }));
}

double GridProgress::estimate(const Entry& e) const {
  auto it = durations_.find(e.setting);
  if (it != durations_.end()) return it->second.first / it->second.second;
  if (all_count_ > 0) return all_sum_ / all_count_;
  return -1;
}

double GridProgress::time_left_at(Clock::time_point now) const {
  std::vector<double> busy, todo;
  for (const Entry& e : cells_) {
    if (!e.tracked || (e.state != State::running && e.state != State::todo)) continue;
    const double est = estimate(e);
    if (est < 0) return -1;
    if (e.state == State::running) {
      const double elapsed = std::chrono::duration<double>(now - e.started).count();
      (static_cast<int>(busy.size()) < slots_ ? busy : todo)
          .push_back(std::max(0.0, est - elapsed));
    } else {
      todo.push_back(est);
    }
  }
  busy.resize(static_cast<size_t>(std::max<int>(slots_, static_cast<int>(busy.size()))), 0.0);
  return list_schedule_makespan(busy, todo);
}

std::string GridProgress::line_at(Clock::time_point now) const {
  const size_t done = count(State::done), running = count(State::running),
               failed = count(State::failed), todo = count(State::todo);
  const size_t total = done + running + failed + todo;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string s = fmt::format("{}: {}/{} done, {} running, {} failed, {} to do", opt_.scope, done,
                              total, running, failed, todo);
  if (held_ > 0) s += fmt::format(" ({} held by another run)", held_);
  s += fmt::format(" · {} elapsed", format_duration(elapsed));
  if (running + todo > 0) {
    const double left = time_left_at(now);
    s += left < 0 ? " · time left unknown until a cell finishes"
                  : fmt::format(" · ~{} left", format_duration(left));
  }
  return s;
}

void GridProgress::set_up_terminal() {
  struct winsize ws {};
  if (::ioctl(::fileno(out_), TIOCGWINSZ, &ws) != 0 || ws.ws_row < 3) {
    opt_.terminal = false;  // no usable size: plain lines
    return;
  }
  rows_ = ws.ws_row;
  // a line of room, the scroll region above the last row, the cursor back where it was
  fmt::print(out_, "\n\0337\033[1;{}r\0338\033[1A", rows_ - 1);
  std::fflush(out_);
}

void GridProgress::restore_terminal() {
  if (rows_ == 0) return;
  fmt::print(out_, "\0337\033[r\033[{};1H\033[2K\0338", rows_);
  std::fflush(out_);
  rows_ = 0;
}

void GridProgress::draw(bool changed) {
  if (!opt_.enabled || closed_) return;
  const auto now = Clock::now();
  if (opt_.terminal) {
    if (!changed && now - last_draw_ < std::chrono::milliseconds(500)) return;
    struct winsize ws {};
    const bool sized = ::ioctl(::fileno(out_), TIOCGWINSZ, &ws) == 0;
    if (rows_ != 0 && (!sized || ws.ws_row != rows_)) restore_terminal();  // resized: set up again
    if (rows_ == 0) set_up_terminal();
    if (!opt_.terminal) return draw(changed);
    std::string text = "kant: " + line_at(now);
    const size_t cols = ws.ws_col > 1 ? ws.ws_col - 1 : 79;
    // cut on a character boundary (UTF-8 continuation bytes are 10xxxxxx)
    size_t chars = 0, cut = 0;
    for (; cut < text.size(); ++cut)
      if ((static_cast<unsigned char>(text[cut]) & 0xC0) != 0x80 && chars++ == cols) break;
    text.resize(cut);
    // one write: a tty serialises whole writes, so the cells' own lines never split it
    fmt::print(out_, "\0337\033[{};1H\033[2K{}\0338", rows_, text);
    std::fflush(out_);
  } else {
    if (!changed && now - last_draw_ < opt_.plain_every) return;
    const std::string text = line_at(now);
    if (!changed && text == last_line_) return;
    fmt::print(out_, "kant: {}\n", text);
    last_line_ = text;
  }
  last_draw_ = now;
}

void GridProgress::tick() { draw(false); }

void GridProgress::close() {
  if (closed_) return;
  if (opt_.enabled) {
    restore_terminal();
    const std::string text = line_at(Clock::now());
    if (opt_.terminal || text != last_line_) fmt::print(out_, "kant: {}\n", text);
  }
  closed_ = true;
}

}  // namespace kant
