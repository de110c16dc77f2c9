// Test plugin: a metric that fails on purpose at a given step, by throwing or by returning a
// non-finite value, for the tests of the metric stage (a metric's failure is the metric's); it
// can also take its time (sleep_ms), for the tests that stop `kant evaluate` mid-way.
#include <fmt/format.h>

#include <chrono>
#include <limits>
#include <thread>

#include "kant/error.hpp"
#include "kant/plugin.hpp"

namespace {
class Faulty : public kant::Metric {
 public:
  Faulty(int64_t fail_at, std::string how, int64_t sleep_ms)
      : fail_at_(fail_at), how_(std::move(how)), sleep_ms_(sleep_ms) {}
  std::vector<std::string> value_names() const override { return {"value"}; }
  std::map<std::string, double> compute(kant::MetricContext& ctx) override {
    if (sleep_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    if (fail_at_ >= 0 && ctx.step >= fail_at_) {
      if (how_ == "throw")
        throw kant::Error(fmt::format("faulty: forced failure at step {}", ctx.step));
      return {{"value", how_ == "nan" ? std::numeric_limits<double>::quiet_NaN()
                                      : std::numeric_limits<double>::infinity()}};
    }
    return {{"value", static_cast<double>(ctx.step)}};
  }

 private:
  int64_t fail_at_;
  std::string how_;
  int64_t sleep_ms_;
};
}  // namespace

KANT_PLUGIN("faulty_metric", "1.0.0") {
  using namespace kant;
  registrar.add({"faulty",
                 "1.0.0",
                 "returns the step, and fails from step fail_at on (tests)",
                 {param::integer("fail_at", -1, "first step at which it fails (-1: never)"),
                  param::choice("how", "throw", {"throw", "nan", "inf"},
                                "throw an Error, or return NaN or +Inf"),
                  param::integer("sleep_ms", 0, "milliseconds each evaluation takes").at_least(0)},
                 MetricFactory([](const Params& p) {
                   return std::make_unique<Faulty>(p.integer("fail_at"), p.string("how"),
                                                   p.integer("sleep_ms"));
                 })});
}
