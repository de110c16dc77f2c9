// Metric `parameter_trace`: the values of every generator and critic parameter (for small
// models such as the Dirac-GAN, whose trajectories (θ, ψ) are the experiment), named
// generator.<name> / critic.<name> (with [i] for elements of larger tensors), and their
// joint Euclidean norm `norm`.
#include <fmt/format.h>

#include <cmath>

#include "kant/error.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class ParameterTrace : public Metric {
 public:
  struct Options {
    int64_t max_values;
    static void declare(Declare<Options>& d) {
      d(&Options::max_values,
        param::integer("max_values", 64, "refuse networks with more parameters").at_least(1));
    }
  };
  static std::vector<StoredValue> stored() {
    return {
        stored::value("norm", "the joint Euclidean norm of every generator and critic parameter"),
        stored::value("generator.<parameter>",
                      "each generator parameter's value ([i] for elements"
                      " of larger tensors)"),
        stored::value("critic.<parameter>", "each critic parameter's value")};
  }
  static MetricRequirements requirements() {
    return {
        {{"at most max_values parameters in the generator and critic together (it stores one "
          "value per parameter at every evaluation)",
          [](const Params& p, CellView& cell) -> std::string {
            const int64_t max_values = options_from<Options>(p).max_values;
            const int64_t g = cell.generator().parameter_count();
            const int64_t c = cell.critic() ? cell.critic()->parameter_count() : 0;
            if (g + c <= max_values) return "";
            return fmt::format("they have {} (generator {}, critic {}) and max_values is {}",
                               rules::thousands(g + c), rules::thousands(g), rules::thousands(c),
                               rules::thousands(max_values));
          }}}};
  }

  explicit ParameterTrace(const Options& o) : max_values_(o.max_values) {}
  std::vector<std::string> value_names() const override {
    return {"norm", "generator.<parameter>", "critic.<parameter>"};  // each scalar (or [i]) entry
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    std::map<std::string, double> out;
    double ss = 0;
    int64_t count = 0;
    for (auto [role, net] :
         {std::pair<const char*, Network*>{"generator", &ctx.generator}, {"critic", ctx.critic}}) {
      if (!net) continue;
      for (const auto& [name, t] : net->named_parameters()) {
        count += t.numel();
        if (count > max_values_)
          throw Error(
              fmt::format("parameter_trace: the networks have more than {} parameters "
                          "(max_values); it is meant for tiny models",
                          max_values_));
        for (int64_t i = 0; i < t.numel(); ++i) {
          const double v = t.data()[i];
          out[t.numel() == 1 ? fmt::format("{}.{}", role, name)
                             : fmt::format("{}.{}[{}]", role, name, i)] = v;
          ss += v * v;
        }
      }
    }
    out["norm"] = std::sqrt(ss);
    return out;
  }

 private:
  int64_t max_values_;
};

}  // namespace

KANT_COMPONENT(ParameterTrace, "parameter_trace", "1.0.0",
               "every generator and critic parameter and their joint norm (for tiny models, "
               "e.g. the Dirac-GAN's (θ, ψ))")
