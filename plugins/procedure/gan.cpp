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
// Feature matching (Salimans et al. 2016, §3.1): the generator's loss ‖E f(x) − E f(G(z))‖² on
// a critic block f, added to L_G with a weight or in its place.
// With conditional networks (a label y per sample, kant/gan_steps.hpp):
//   critic    L_D(D(x, y), D(G(z, y), y)) + penalty(D(·, y))   [(x, y) a real batch]
//   generator L_G(D(G(z, y'), y'))                              [y' ~ generator.labels]
// and with an AC-GAN critic (Odena et al. 2017) + w·(CE(C(x), y) + CE(C(G(z, y)), y)) for the
// critic and + w·CE(C(G(z, y')), y') for the generator.
#include "kant/gan_steps.hpp"
#include "kant/plugin.hpp"

namespace {
constexpr const char* kVersion = "1.3.0";
}

KANT_PLUGIN("gan", kVersion) {
  using kant::procedures::AuxiliaryLosses;
  using kant::procedures::FeatureMatchingLosses;
  using kant::procedures::HistoricalLosses;
  kant::Registration r = kant::component<kant::procedures::Gan>(
      "gan", kVersion,
      "adversarial training of a generator G against a critic D (Goodfellow et al. 2014): "
      "n_critic critic steps then a generator step, or simultaneous steps; WGAN's critic "
      "schedule (Arjovsky et al. 2017); unrolled critic steps (Metz et al. 2017); labels through "
      "conditional networks, AC-GAN (Odena et al. 2017); instance noise (Sønderby et al. 2017); "
      "historical averaging and feature matching (Salimans et al. 2016)");
  // recorded only with an AC-GAN critic
  for (const kant::StoredValue& s : kant::losses_of<AuxiliaryLosses>().stores())
    r.stores.push_back(s);
  // recorded only with historical_averaging > 0, with feature_matching on
  for (const kant::StoredValue& s : kant::losses_of<HistoricalLosses>().stores())
    r.stores.push_back(s);
  for (const kant::StoredValue& s : kant::losses_of<FeatureMatchingLosses>().stores())
    r.stores.push_back(s);
  // feature matching reads a critic block: kant validate builds the critic and looks
  r.requirements.rules.push_back(
      {"a critic that records the feature_block feature matching reads",
       [](const kant::Params& p, kant::CellView& cell) -> std::string {
         if (p.string("feature_matching") == "none") return "";
         kant::Network* critic = cell.critic();
         if (!critic) return "the cell trains no critic";
         kant::NoGradGuard no_grad;
         kant::Rng rng(0);
         const kant::Tensor x = cell.dataset().sample(cell.train().batch_size, rng);
         critic->set_recording(true);
         if (critic->label_classes() > 0)
           critic->forward_conditional(
               x, kant::one_hot(std::vector<int64_t>(static_cast<size_t>(x.size(0)), 0),
                                critic->label_classes()));
         else if (critic->auxiliary_classes() > 0)
           critic->forward_auxiliary(x);
         else
           critic->forward(x);
         std::string why;
         try {
           kant::procedures::recorded_block(*critic, p.string("feature_block"));
         } catch (const kant::Error& e) {
           why = e.what();
         }
         critic->set_recording(false);
         return why;
       }});
  registrar.add(std::move(r));
}
