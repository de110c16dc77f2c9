// The procedures' losses (see kant/procedure_losses.hpp), each a composition of ops.
#include "kant/procedure_losses.hpp"

#include <cmath>
#include <numbers>

#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/error.hpp"

namespace kant::losses {
namespace {

// Σ over every axis but the batch, then the mean over the batch.
Tensor per_sample_mean(const Tensor& t) { return mean(sum(reshape(t, {t.size(0), -1}), {1})); }

}  // namespace

Tensor pair(const Tensor& x, const Tensor& z) {
  return concat({reshape(x, {x.size(0), -1}), reshape(z, {z.size(0), -1})}, 1);
}

Tensor mean_squared_distance(const Tensor& a, const Tensor& b) {
  return per_sample_mean(square(sub(a, b)));
}

Tensor mean_absolute_error(const Tensor& a, const Tensor& b) { return mean(abs(sub(a, b))); }

Tensor veegan_discriminator_loss(const Tensor& d_generated, const Tensor& d_reconstructed) {
  return add(mean(softplus(neg(d_generated))), mean(softplus(d_reconstructed)));
}

Tensor veegan_generator_loss(const Tensor& d_generated, const Tensor& z,
                             const Tensor& z_reconstructed, float reconstruction_weight) {
  return add(mean(d_generated), mean_squared_distance(z, z_reconstructed) * reconstruction_weight);
}

Tensor infogan_information_loss(const Tensor& q_logits, const Tensor& c_one_hot,
                                const Tensor& q_means, const Tensor& c_continuous,
                                float lambda_categorical, float lambda_continuous) {
  Tensor total;
  if (q_logits.defined() && q_logits.numel() > 0)
    total = cross_entropy(q_logits, c_one_hot) * lambda_categorical;
  if (q_means.defined() && q_means.numel() > 0) {
    Tensor cont = mean_squared_distance(q_means, c_continuous) * (0.5f * lambda_continuous);
    total = total.defined() ? add(total, cont) : cont;
  }
  if (!total.defined()) throw Error("infogan: no latent code to inform");
  return total;
}

Tensor vae_kl(const Tensor& mu, const Tensor& log_var) {
  return per_sample_mean(add(square(mu), exp(log_var)) - 1.0f - log_var) * 0.5f;
}

Tensor vae_reconstruction(const Tensor& x, const Tensor& x_hat, const std::string& likelihood,
                          float observation_std) {
  if (likelihood == "gaussian") {
    const double d = static_cast<double>(x.numel() / x.size(0));
    const float constant =
        static_cast<float>(d * (std::log(observation_std) + 0.5 * std::log(2 * std::numbers::pi)));
    return per_sample_mean(square(sub(x, x_hat))) * (0.5f / (observation_std * observation_std)) +
           constant;
  }
  if (likelihood == "bernoulli") {
    constexpr float eps = 1e-6f;  // keeps log finite where the decoder saturates
    Tensor y = affine(x, 0.5f, 0.5f);
    Tensor p = clamp(affine(x_hat, 0.5f, 0.5f), eps, 1.0f - eps);
    return per_sample_mean(neg(add(mul(y, log(p)), mul(1.0f - y, log(1.0f - p)))));
  }
  throw Error("vae: likelihood must be gaussian or bernoulli, got '" + likelihood + "'");
}

}  // namespace kant::losses
