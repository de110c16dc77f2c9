// Procedure `gan` (Goodfellow et al. 2014, and the schedules of the WGAN family): per generator
// iteration, n_critic critic updates on fresh batches and then a generator update on the updated
// critic (alternating; order: generator_first puts the generator update first), or both
// gradients at the same point applied together (simultaneous):
//   critic    ψ ← ψ − η ∇ψ [L_D(D_ψ(x), D_ψ(G_θ(z))) + penalty]
//   generator θ ← θ − η ∇θ L_G(D_ψ(G_θ(z)))
// with WGAN's critic schedule (100 critic steps for the first 25 generator steps and every
// 500th, Arjovsky et al. 2017), and the generator loss optionally differentiated through k
// unrolled SGD steps of the critic (Metz et al. 2017). The Lipschitz method's hooks wrap each
// critic update. Its settings (kant/gan_steps.hpp: n_critic, updates, order, wgan_critic_schedule,
// unrolled_steps, unrolled_lr, auxiliary_weight, instance_noise) are its block's; the default
// procedure. Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017): every input of the
// critic, in both steps, is x + σε with ε ~ N(0, I) drawn afresh from the cell's own stream.
// Historical averaging (Salimans et al. 2016, §3.3): + λ‖θ − θ̄‖² on the generator's and/or the
// critic's loss, θ̄ the mean of the network's parameters before each of its previous updates.
// With conditional networks (a label y per sample, kant/gan_steps.hpp):
//   critic    L_D(D(x, y), D(G(z, y), y)) + penalty(D(·, y))   [(x, y) a real batch]
//   generator L_G(D(G(z, y'), y'))                              [y' ~ generator.labels]
// and with an AC-GAN critic (Odena et al. 2017) + w·(CE(C(x), y) + CE(C(G(z, y)), y)) for the
// critic and + w·CE(C(G(z, y')), y') for the generator.
#include "kant/gan_steps.hpp"
#include "kant/plugin.hpp"

namespace {
constexpr const char* kVersion = "1.2.0";
}

KANT_PLUGIN("gan", kVersion) {
  using kant::procedures::AuxiliaryLosses;
  using kant::procedures::HistoricalLosses;
  kant::Registration r = kant::component<kant::procedures::Gan>(
      "gan", kVersion,
      "adversarial training of a generator G against a critic D (Goodfellow et al. 2014): "
      "n_critic critic steps then a generator step, or simultaneous steps; WGAN's critic "
      "schedule (Arjovsky et al. 2017); unrolled critic steps (Metz et al. 2017); labels through "
      "conditional networks, AC-GAN (Odena et al. 2017); instance noise (Sønderby et al. 2017); "
      "historical averaging (Salimans et al. 2016)");
  // recorded only with an AC-GAN critic
  for (const kant::StoredValue& s : kant::losses_of<AuxiliaryLosses>().stores())
    r.stores.push_back(s);
  // recorded only with historical_averaging > 0
  for (const kant::StoredValue& s : kant::losses_of<HistoricalLosses>().stores())
    r.stores.push_back(s);
  registrar.add(std::move(r));
}
