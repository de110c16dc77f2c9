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
// unrolled_steps, unrolled_lr) are its block's; the default procedure.
#include "kant/gan_steps.hpp"
#include "kant/plugin.hpp"

KANT_COMPONENT(kant::procedures::Gan, "gan", "1.0.0",
               "adversarial training of a generator G against a critic D (Goodfellow et al. 2014): "
               "n_critic critic steps then a generator step, or simultaneous steps; WGAN's critic "
               "schedule (Arjovsky et al. 2017); unrolled critic steps (Metz et al. 2017)")
