// Schedules of real parameters: their values at a step, their monotone pieces, the first step
// outside a range, their canonical text, and the thread's step clock (see kant/schedule.hpp).
#include "kant/schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "kant/error.hpp"
#include "kant/params.hpp"

namespace kant {

const std::vector<ScheduleKind>& schedule_kinds() {
  static const std::vector<ScheduleKind> kinds{
      {Schedule::Kind::constant, "constant", {"value"}, "value"},
      {Schedule::Kind::linear,
       "linear",
       {"from", "to", "start", "end"},
       "(1 − p)·from + p·to, p = clamp((t − start)/(end − start), 0, 1)"},
      {Schedule::Kind::cosine,
       "cosine",
       {"from", "to", "start", "end"},
       "c·from + (1 − c)·to, c = (1 + cos πp)/2, p = clamp((t − start)/(end − start), 0, 1)"},
      {Schedule::Kind::exponential,
       "exponential",
       {"from", "rate", "start"},
       "from · rate^max(0, t − start)"},
      {Schedule::Kind::piecewise,
       "piecewise",
       {"values", "boundaries"},
       "values[i], i = the number of boundaries ≤ t"},
  };
  return kinds;
}

const ScheduleKind& schedule_kind(Schedule::Kind kind) {
  for (const ScheduleKind& k : schedule_kinds())
    if (k.kind == kind) return k;
  throw Error("unknown schedule kind");
}

namespace {

// The value of the schedule without its warm-up.
double base_value(const Schedule& s, int64_t t) {
  using K = Schedule::Kind;
  switch (s.kind) {
    case K::constant:
      return s.value;
    case K::linear:
    case K::cosine: {
      // p = clamp((t − start)/(end − start), 0, 1); validation keeps end > start
      const double p =
          t <= s.start ? 0.0
          : t >= s.end ? 1.0
                       : static_cast<double>(t - s.start) / static_cast<double>(s.end - s.start);
      if (s.kind == K::linear) return (1 - p) * s.from + p * s.to;  // exact at both ends
      const double c = (1 + std::cos(std::numbers::pi * p)) / 2;  // cos π = −1 exactly: c(1) = 0
      return c * s.from + (1 - c) * s.to;
    }
    case K::exponential:
      return s.from * std::pow(s.rate, static_cast<double>(std::max<int64_t>(0, t - s.start)));
    case K::piecewise: {
      const auto i = std::upper_bound(s.boundaries.begin(), s.boundaries.end(), t) -
                     s.boundaries.begin();  // boundaries ≤ t
      return s.values.at(static_cast<size_t>(i));
    }
  }
  throw Error("unknown schedule kind");
}

}  // namespace

double Schedule::at(int64_t step) const {
  if (step < warmup) {  // warmup_from at 0, rising linearly to the schedule's value at `warmup`
    const double q = static_cast<double>(step) / static_cast<double>(warmup);
    return (1 - q) * warmup_from + q * base_value(*this, warmup);
  }
  return base_value(*this, step);
}

std::vector<int64_t> Schedule::breakpoints(int64_t steps) const {
  std::vector<int64_t> points{1, steps, warmup};
  switch (kind) {
    case Kind::constant:
      break;
    case Kind::linear:
    case Kind::cosine:
      points.insert(points.end(), {start, end});
      break;
    case Kind::exponential:
      points.push_back(start);
      break;
    case Kind::piecewise:
      for (int64_t b : boundaries) points.insert(points.end(), {b - 1, b});
      break;
  }
  std::vector<int64_t> out;
  for (int64_t p : points)
    if (p >= 1 && p <= steps) out.push_back(p);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<int64_t> first_step_outside(const Schedule& s, int64_t steps,
                                          std::optional<double> lo, bool lo_exclusive,
                                          std::optional<double> hi) {
  auto outside = [&](int64_t t) {
    const double v = s.at(t);
    return !std::isfinite(v) || (lo && (lo_exclusive ? v <= *lo : v < *lo)) || (hi && v > *hi);
  };
  const std::vector<int64_t> points = s.breakpoints(steps);
  if (!points.empty() && outside(points.front())) return points.front();
  for (size_t k = 0; k + 1 < points.size(); ++k) {
    // monotone on [a, b] with a inside the range: the steps outside it are a suffix of (a, b]
    int64_t a = points[k], b = points[k + 1];
    if (!outside(b)) continue;
    while (b - a > 1) {  // outside(b), !outside(a)
      const int64_t mid = a + (b - a) / 2;
      (outside(mid) ? b : a) = mid;
    }
    return b;
  }
  return std::nullopt;
}

std::string Schedule::str() const {
  auto real = [](double x) { return value_str(Value(x)); };
  std::string out = fmt::format("{{schedule: {}", schedule_kind(kind).name);
  switch (kind) {
    case Kind::constant:
      out += fmt::format(", value: {}", real(value));
      break;
    case Kind::linear:
    case Kind::cosine:
      out +=
          fmt::format(", from: {}, to: {}, start: {}, end: {}", real(from), real(to), start, end);
      break;
    case Kind::exponential:
      out += fmt::format(", from: {}, rate: {}, start: {}", real(from), real(rate), start);
      break;
    case Kind::piecewise:
      out += fmt::format(", values: {}, boundaries: {}", value_str(Value(values)),
                         value_str(Value(boundaries)));
      break;
  }
  if (warmup > 0) out += fmt::format(", warmup: {}, warmup_from: {}", warmup, real(warmup_from));
  return out + "}";
}

namespace {
constexpr int64_t kNoStep = -1;
thread_local int64_t current_step = kNoStep;
}  // namespace

ReadOutsideStep::~ReadOutsideStep() = default;

int64_t schedule_step() {
  if (current_step == kNoStep)
    throw ReadOutsideStep(
        "a scheduled parameter was read outside a training step: a component reads its "
        "kant::Real members where it uses them (o.lr()), never once when it is built");
  return current_step;
}

ScheduleClock::ScheduleClock(int64_t step) : previous_(current_step) { current_step = step; }
ScheduleClock::~ScheduleClock() { current_step = previous_; }

}  // namespace kant
