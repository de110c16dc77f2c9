// The GAN's training steps on a session: per generator iteration, n_critic critic updates and
// then a generator update on the updated critic (alternating), or both gradients at the same
// point applied together (simultaneous); the generator loss optionally differentiates
// through unrolled critic steps (Metz et al. 2017). Lipschitz hooks wrap each critic update.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "experiment/session.hpp"

namespace kant {

/// The latest value of each loss, as the cell's series store them.
struct StepLosses {
  double critic = 0, penalty = 0, divergence_estimate = 0, generator = 0;
};

class GanSteps {
 public:
  explicit GanSteps(Session& session) : s_(session) {}

  /// Generator iteration `step` (1-based). Returns false when a loss became non-finite;
  /// diverged() then says which and its value.
  bool step(int64_t step);
  const StepLosses& losses() const { return losses_; }
  /// The latest losses of a resumed run (they carry over into the next step's record).
  void restore(const StepLosses& losses) { losses_ = losses; }
  const std::string& diverged() const { return diverged_; }

 private:
  // the stages of one iteration
  bool critic_step();
  bool generator_step();
  bool simultaneous_step();

  /// Critic steps before generator step `step`: n_critic, or WGAN's schedule (100 for the
  /// first 25 generator steps and every 500th).
  int64_t critic_steps(int64_t step) const;
  /// D(real) and D(fake); one forward pass over both when the critic treats rows
  /// independently (one GEMM per layer, forward and backward).
  std::pair<Tensor, Tensor> critic_on(const Tensor& real, const Tensor& fake);
  /// The critic's loss and penalty at (real, fake) and their gradient in its parameters;
  /// false on a non-finite value.
  bool critic_gradient(const Tensor& real, const Tensor& fake, const Tensor& d_real,
                       const Tensor& d_fake, std::vector<Tensor>& grads);
  /// The generator's loss on `fake`; with unrolling, against the critic after k
  /// differentiable SGD steps on the same fake batch (so it sees how the critic would react).
  Tensor generator_loss(const Tensor& fake, const Tensor& real);
  bool finite(double value, const char* what);

  Session& s_;
  StepLosses losses_;
  std::string diverged_;
};

}  // namespace kant
