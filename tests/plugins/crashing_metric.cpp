// Test plugin: a metric that crashes its process (to test that a crash fails only its cell).
#include <cstdlib>

#include "kant/plugin.hpp"

namespace {
class Crash : public kant::Metric {
 public:
  struct Options {
    bool crash;
    static void declare(kant::Declare<Options>& d) {
      d(&Options::crash, kant::param::boolean("crash", true, "abort in compute()"));
    }
  };
  explicit Crash(const Options& o) : crash_(o.crash) {}
  std::vector<std::string> value_names() const override { return {"value"}; }
  std::map<std::string, double> compute(kant::MetricContext&) override {
    if (crash_) std::abort();
    return {{"value", 1.0}};
  }

 private:
  bool crash_;
};
}  // namespace

KANT_COMPONENT(Crash, "crash", "1.0.0", "aborts the process when crash is true")
