// Procedure `gan` (Goodfellow et al. 2014, and the schedules of the WGAN family): per generator
// iteration, n_critic critic updates on fresh batches and then a generator update on the updated
// critic (alternating; train.order: generator_first puts the generator update first), or both
// gradients at the same point applied together (simultaneous):
//   critic    ψ ← ψ − η ∇ψ [L_D(D_ψ(x), D_ψ(G_θ(z))) + penalty]
//   generator θ ← θ − η ∇θ L_G(D_ψ(G_θ(z)))
// with WGAN's critic schedule (100 critic steps for the first 25 generator steps and every
// 500th, Arjovsky et al. 2017), and the generator loss optionally differentiated through k
// unrolled SGD steps of the critic (Metz et al. 2017). The Lipschitz method's hooks wrap each
// critic update. Settings come from the `train` block; the default procedure.
#include "gan_steps.hpp"
#include "kant/plugin.hpp"

using namespace kant;

KANT_PLUGIN("gan", "1.0.0") {
  registrar.add(
      {"gan",
       "1.0.0",
       "adversarial training of a generator G against a critic D (Goodfellow et al. 2014): "
       "n_critic critic steps then a generator step, or simultaneous steps; WGAN's critic "
       "schedule (Arjovsky et al. 2017); unrolled critic steps (Metz et al. 2017); "
       "settings in `train`",
       {},
       ProcedureFactory([](const Params&) { return std::make_unique<kant::procedures::Gan>(); }),
       {stored::series("loss_critic",
                       "the critic loss L_D(D(x), D(G(z))) of the last critic step "
                       "of each generator step, without penalty"),
        stored::series("penalty", "the Lipschitz penalty of that step (0 without one)"),
        stored::series("divergence_estimate",
                       "the objective's divergence estimate at that step "
                       "(W₁ for wasserstein, JSD for the GAN losses)"),
        stored::series("loss_generator", "the generator loss L_G(D(G(z)))")}});
}
