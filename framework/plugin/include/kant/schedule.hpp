// Schedules: a real parameter whose value follows the generator step instead of staying constant
// (a learning rate's warm-up and cosine decay, an annealed penalty weight, the EMA decay), and
// kant::Real, the options member that reads its value at the step being trained.
//
// A step t counts generator iterations from 1 (the `step` of Procedure::step); metrics evaluated
// after step t see t, those before the first step see 0. With p = clamp((t − start)/(end − start),
// 0, 1) and a warm-up of w steps:
//   constant     value
//   linear       from + (to − from)·p
//   cosine       to + (from − to)·(1 + cos πp)/2
//   exponential  from · rate^max(0, t − start)
//   piecewise    values[i], i = the number of boundaries ≤ t
//   warm-up      for t < w: warmup_from + (s(w) − warmup_from)·t/w, with s the schedule above
//
// A component reads a kant::Real member as `o.lambda()`: the value at the step the trainer has
// set on this thread (ScheduleClock, as autodiff's grad mode), so that it cannot keep a copy of
// a value that changes. A constant reads back exactly as the number it was given.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kant/error.hpp"

namespace kant {

/// A real parameter as a function of the generator step (formulas above). `kant validate`
/// fills in every field (end defaults to train.steps, start to the warm-up), so that the
/// resolved config, and thus the cell id, states the whole schedule.
struct Schedule {
  enum class Kind { constant, linear, cosine, exponential, piecewise };
  Kind kind = Kind::constant;
  double value = 0;                 ///< constant
  double from = 0, to = 0;          ///< linear, cosine (from: exponential too)
  double rate = 1;                  ///< exponential: the factor per step
  int64_t start = 0, end = 0;       ///< linear, cosine: the steps of the change; exponential: start
  std::vector<double> values;       ///< piecewise: values[0] before boundaries[0], …
  std::vector<int64_t> boundaries;  ///< piecewise: strictly increasing steps ≥ 1
  int64_t warmup = 0;               ///< steps of linear warm-up (0: none)
  double warmup_from = 0;           ///< the value the warm-up starts from (at step 0)

  /// The value at generator step `step` (≥ 0).
  double at(int64_t step) const;
  /// The steps in [1, steps] between which the value is monotone (sorted, both ends included).
  std::vector<int64_t> breakpoints(int64_t steps) const;
  /// Canonical one-line text, e.g. "{schedule: linear, from: 10.0, to: 1.0, start: 0, end: 1000}".
  std::string str() const;
  bool operator==(const Schedule&) const = default;
};

/// One kind of schedule as YAML writes it: its name, its keys (besides `schedule`, `warmup` and
/// `warmup_from`, which every kind takes) and its formula.
struct ScheduleKind {
  Schedule::Kind kind;
  const char* name;
  std::vector<const char*> keys;
  const char* formula;
};
/// Every kind, in the order of the table above.
const std::vector<ScheduleKind>& schedule_kinds();
const ScheduleKind& schedule_kind(Schedule::Kind kind);

/// The first step in [1, steps] whose value lies outside [lo, hi] (`lo_exclusive`: (lo, hi]),
/// none when every step's value lies inside. Exact at every step, in O(breakpoints · log steps).
std::optional<int64_t> first_step_outside(const Schedule& s, int64_t steps,
                                          std::optional<double> lo, bool lo_exclusive,
                                          std::optional<double> hi);

/// A scheduled value read outside a training step: a component that reads one while it is built
/// would keep that one value (`kant validate` builds such components to find out).
class ReadOutsideStep : public Error {
 public:
  using Error::Error;
  ~ReadOutsideStep() override;
};

/// The generator step scheduled values are read at on this thread; ReadOutsideStep outside a
/// ScheduleClock.
int64_t schedule_step();
/// Sets the step scheduled values are read at on this thread while it lives (the trainer's, around
/// each iteration and each evaluation of metrics); restores the previous one after.
class ScheduleClock {
 public:
  explicit ScheduleClock(int64_t step);
  ~ScheduleClock();
  ScheduleClock(const ScheduleClock&) = delete;
  ScheduleClock& operator=(const ScheduleClock&) = delete;

 private:
  int64_t previous_;
};

/// A real parameter that may follow a schedule: an options member of this type accepts
/// `{schedule: …}` in YAML (a float or double member is read once and refuses one). Read as
/// `o.lambda()` at the current step; a constant costs one branch.
class Real {
 public:
  Real(double constant = 0) : constant_(constant) {}  // NOLINT: a number is a constant Real
  explicit Real(Schedule s) : schedule_(std::make_shared<const Schedule>(std::move(s))) {}

  /// The value at the step the trainer has set (schedule_step()).
  double operator()() const { return schedule_ ? schedule_->at(schedule_step()) : constant_; }
  /// The value at `step`.
  double at(int64_t step) const { return schedule_ ? schedule_->at(step) : constant_; }
  /// The schedule, or null for a constant.
  const Schedule* schedule() const { return schedule_.get(); }

 private:
  std::shared_ptr<const Schedule> schedule_;
  double constant_ = 0;
};

}  // namespace kant
