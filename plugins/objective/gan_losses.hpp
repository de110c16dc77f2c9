// Shared by the `minimax` and `nonsaturating` objectives: the standard GAN critic loss
// (Goodfellow et al. 2014) on logits D(x), written with softplus for stability:
//   L_D = −E[log σ(D(x))] − E[log(1 − σ(D(G(z))))] = E[softplus(−D(x))] + E[softplus(D(G(z)))]
// and its Jensen–Shannon estimate: at the optimal critic −L_D = 2·JSD − log 4, so
//   JSD ≈ (log 4 − L_D) / 2.
// With the Improved-GAN targets (Salimans et al. 2016, Section 3.4): one-sided label smoothing
// (the real samples' target α instead of 1, the generated samples' target left at 0) and noisy
// labels (each sample's label, real or generated, flipped with probability p; a sample labelled
// real has target α): with t the target of a sample,
//   L_D = E_x[t·softplus(−D(x)) + (1−t)·softplus(D(x))] + E_z[t·softplus(−D(G(z))) + (1−t)·
//         softplus(D(G(z)))]
// where t = α for real and 0 for generated samples unless flipped. α = 1, p = 0: the loss above,
// computed as before.
#pragma once
#include <cmath>

#include "kant/ops.hpp"
#include "kant/options.hpp"
#include "kant/rng.hpp"
#include "kant/schedule.hpp"

namespace kant::gan {

inline Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) {
  return add(mean(softplus(neg(d_real))), mean(softplus(d_fake)));
}

inline double jsd_estimate(const Tensor& d_real, const Tensor& d_fake) {
  return (std::log(4.0) - critic_loss(d_real, d_fake).item()) / 2.0;
}

/// The critic's targets: one-sided label smoothing and noisy labels (Salimans et al. 2016).
struct Targets {
  Real real_target, flip;  // each may follow a schedule
  /// At their defaults: constants 1 and 0.
  bool plain() const {
    return !real_target.schedule() && !flip.schedule() && real_target.at(0) == 1.0 &&
           flip.at(0) == 0.0;
  }
  static void declare(Declare<Targets>& d) {
    d(&Targets::real_target,
      param::real("real_target", 1.0,
                  "one-sided label smoothing (Salimans et al. 2016, §3.4): the real samples' "
                  "target α, L_D = E[α·softplus(−D(x)) + (1−α)·softplus(D(x))] + "
                  "E[softplus(D(G(z)))]; the generated samples' target stays 0 (1: none)")
          .range(0.0, 1.0)
          .added_later());
    d(&Targets::flip,
      param::real("flip", 0.0,
                  "noisy labels: each sample's label (real or generated) flipped with "
                  "probability p in the critic's training steps, a sample labelled real getting "
                  "target real_target (drawn from the cell's `targets` stream; 0: none)")
          .range(0.0, 1.0)
          .added_later());
  }
};

/// E[t·softplus(−d) + (1−t)·softplus(d)] over the rows of d, each row's target t being `target`
/// or, where the row is flipped, `flipped`.
inline Tensor cross_entropy_with(const Tensor& d, float target, float flipped,
                                 const std::vector<bool>& flips) {
  std::vector<float> t(static_cast<size_t>(d.numel()));
  for (size_t i = 0; i < t.size(); ++i) t[i] = flips.empty() || !flips[i] ? target : flipped;
  const Tensor targets = Tensor::from(d.shape(), t);
  return mean(add(mul(targets, softplus(neg(d))), mul(1.0f - targets, softplus(d))));
}

/// Which of n samples have their label flipped: n uniforms from `rng`, u < p (none when p = 0,
/// and then nothing is drawn).
inline std::vector<bool> flips(int64_t n, double p, Rng& rng) {
  std::vector<bool> out;
  if (p <= 0) return out;
  out.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = rng.uniform() < p;
  return out;
}

/// The critic loss with `targets`: the plain one when they are at their defaults; flips drawn
/// from `rng` (the real rows' first, then the generated rows') only when given one.
inline Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake, const Targets& targets,
                          Rng* rng) {
  const double alpha = targets.real_target();
  if (targets.plain() || (alpha == 1.0 && !rng)) return critic_loss(d_real, d_fake);
  const float a = static_cast<float>(alpha);
  std::vector<bool> flip_real, flip_fake;
  if (rng) {
    const double p = targets.flip();
    flip_real = flips(d_real.numel(), p, *rng);
    flip_fake = flips(d_fake.numel(), p, *rng);
  }
  const Tensor fake_term =
      flip_fake.empty() ? mean(softplus(d_fake)) : cross_entropy_with(d_fake, 0.0f, a, flip_fake);
  return add(cross_entropy_with(d_real, a, 0.0f, flip_real), fake_term);
}

}  // namespace kant::gan
