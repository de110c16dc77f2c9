// Test plugin: a metric that crashes its process (to test that a crash fails only its cell).
#include <cstdlib>

#include "kant/plugin.hpp"

namespace {
class Crash : public kant::Metric {
 public:
  explicit Crash(bool crash) : crash_(crash) {}
  std::vector<std::string> value_names() const override { return {"value"}; }
  std::map<std::string, double> compute(kant::MetricContext&) override {
    if (crash_) std::abort();
    return {{"value", 1.0}};
  }

 private:
  bool crash_;
};
}  // namespace

KANT_PLUGIN("crashing_metric", "1.0.0") {
  using namespace kant;
  registrar.add(
      {"crash",
       "1.0.0",
       "aborts the process when crash is true",
       {param::boolean("crash", true, "abort in compute()")},
       MetricFactory([](const Params& p) { return std::make_unique<Crash>(p.boolean("crash")); })});
}
