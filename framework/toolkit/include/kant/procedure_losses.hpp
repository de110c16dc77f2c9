// The losses of the training procedures beyond the GAN loop, as functions of network outputs,
// so that plugins share them and tests check them at hand-computed points and against finite
// differences (every one is made of differentiable ops). Batches are [N, …]; each loss is a
// scalar averaged over the batch.
#pragma once
#include <string>

#include "kant/ops.hpp"

namespace kant::losses {

/// Row-wise concatenation of flattened samples: ([N, …x], [N, …z]) → [N, |x| + |z|], the input
/// of a joint critic D(x, z) (ALI, BiGAN, VEEGAN).
Tensor pair(const Tensor& x, const Tensor& z);

/// ‖a_i − b_i‖² summed over a sample's dimensions, averaged over the batch.
Tensor mean_squared_distance(const Tensor& a, const Tensor& b);

/// |a − b| averaged over every element (batch and pixels): the ℓ1 loss of CycleGAN's cycle
/// consistency and identity terms as the authors' code computes it (Zhu et al. 2017, eq. 2
/// writes E‖F(G(a)) − a‖₁, the same up to the factor of a sample's size).
Tensor mean_absolute_error(const Tensor& a, const Tensor& b);

/// VEEGAN (Srivastava et al. 2017, eq. 8 and the authors' notebook): the discriminator D(z, x)
/// estimates log q(z, x)/p(z, x) between generator pairs (z, G(z)) (label 1) and reconstructor
/// pairs (F(x), x) (label 0):
///   L_D  = E[softplus(−D(z, G(z)))] + E[softplus(D(F(x), x))]
///   L_GF = E[D(z, G(z))] + λ·E‖z − F(G(z))‖²
Tensor veegan_discriminator_loss(const Tensor& d_generated, const Tensor& d_reconstructed);
Tensor veegan_generator_loss(const Tensor& d_generated, const Tensor& z,
                             const Tensor& z_reconstructed, float reconstruction_weight);

/// InfoGAN's variational lower bound on I(c; G(z, c)) (Chen et al. 2016, eq. 4), as the loss
/// the generator and Q minimise: λ_cat·CE(Q_cat, c_cat) + λ_cont·E[½‖Q_cont − c_cont‖²]
/// (a factored Gaussian Q with unit variance; constants dropped; CE as kant/classifier.hpp's
/// cross_entropy). Either part may be empty.
Tensor infogan_information_loss(const Tensor& q_logits, const Tensor& c_one_hot,
                                const Tensor& q_means, const Tensor& c_continuous,
                                float lambda_categorical, float lambda_continuous);

/// The VAE's loss (Kingma & Welling 2014), −ELBO per sample = reconstruction + β·KL:
///   KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² − 1 − log σ²)
///   gaussian:  ½ Σ (x − x̂)²/s² + Σ log s + (D/2) log 2π   (s the observation std)
///   bernoulli: −Σ [y log p + (1 − y) log(1 − p)] with y = (x + 1)/2, p = (x̂ + 1)/2
///              (data and decoder outputs in [−1, 1], as the image data sets and tanh give)
Tensor vae_kl(const Tensor& mu, const Tensor& log_var);
Tensor vae_reconstruction(const Tensor& x, const Tensor& x_hat, const std::string& likelihood,
                          float observation_std);

}  // namespace kant::losses
