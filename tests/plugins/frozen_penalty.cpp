// Test plugin: a Lipschitz method that reads its scheduled weight once, in its constructor — the
// mistake a kant::Real member exists to catch; `kant validate` must refuse it a schedule.
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
class FrozenPenalty : public kant::LipschitzMethod {
 public:
  struct Options {
    kant::Real lambda;
    static void declare(kant::Declare<Options>& d) {
      d(&Options::lambda, kant::param::real("lambda", 1.0, "penalty weight λ").at_least(0));
    }
  };
  explicit FrozenPenalty(const Options& o) : lambda_(o.lambda()) {}  // frozen: the mistake
  kant::Tensor penalty(const kant::CriticBatch& b) override {
    return kant::mean(kant::square(b.critic.forward(b.real))) * static_cast<float>(lambda_);
  }

 private:
  double lambda_;
};
}  // namespace

KANT_COMPONENT(FrozenPenalty, "frozen_penalty", "1.0.0",
               "test: λ·E[D(x)²] with λ read once when built (a mistake)")
