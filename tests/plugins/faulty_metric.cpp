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
  struct Options {
    int64_t fail_at;
    std::string how;
    int64_t sleep_ms;
    static void declare(kant::Declare<Options>& d) {
      using namespace kant;
      d(&Options::fail_at,
        param::integer("fail_at", -1, "first step at which it fails (-1: never)"));
      d(&Options::how, param::choice("how", "throw", {"throw", "nan", "inf"},
                                     "throw an Error, or return NaN or +Inf"));
      d(&Options::sleep_ms,
        param::integer("sleep_ms", 0, "milliseconds each evaluation takes").at_least(0));
    }
  };
  explicit Faulty(const Options& o) : o_(o) {}
  std::vector<std::string> value_names() const override { return {"value"}; }
  std::map<std::string, double> compute(kant::MetricContext& ctx) override {
    if (o_.sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o_.sleep_ms));
    if (o_.fail_at >= 0 && ctx.step >= o_.fail_at) {
      if (o_.how == "throw")
        throw kant::Error(fmt::format("faulty: forced failure at step {}", ctx.step));
      return {{"value", o_.how == "nan" ? std::numeric_limits<double>::quiet_NaN()
                                        : std::numeric_limits<double>::infinity()}};
    }
    return {{"value", static_cast<double>(ctx.step)}};
  }

 private:
  Options o_;
};
}  // namespace

KANT_COMPONENT(Faulty, "faulty", "1.0.0",
               "returns the step, and fails from step fail_at on (tests)")
