// Shared by the `minimax` and `nonsaturating` objectives: the standard GAN critic loss
// (Goodfellow et al. 2014) on logits D(x), written with softplus for stability:
//   L_D = −E[log σ(D(x))] − E[log(1 − σ(D(G(z))))] = E[softplus(−D(x))] + E[softplus(D(G(z)))]
// and its Jensen–Shannon estimate: at the optimal critic −L_D = 2·JSD − log 4, so
//   JSD ≈ (log 4 − L_D) / 2.
#pragma once
#include <cmath>

#include "kant/ops.hpp"

namespace kant::gan {

inline Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) {
  return add(mean(softplus(neg(d_real))), mean(softplus(d_fake)));
}

inline double jsd_estimate(const Tensor& d_real, const Tensor& d_fake) {
  return (std::log(4.0) - critic_loss(d_real, d_fake).item()) / 2.0;
}

}  // namespace kant::gan
