// Procedure `cyclegan` (Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using
// Cycle-Consistent Adversarial Networks"): two unpaired collections A and B of one labelled data
// set (classes `domain_a`, `domain_b`; batches of each drawn independently, so no pairing
// exists), a generator G: A → B (`generator`) and its inverse F: B → A (`inverse`), and a critic
// per collection, D_B (`critic`) on B and D_A (`critic_a`) on A. With L_D, L_G the cell's
// objective (the paper: least_squares, a = 0, b = c = 1):
//   critics    L_D(D_B(b), D_B(G(a))) + L_D(D_A(a), D_A(F(b))) + penalties      (eq. 1, both ways)
//   generators L_G(D_B(G(a))) + L_G(D_A(F(b)))
//              + λ·(E|F(G(a)) − a| + E|G(F(b)) − b|)           (cycle consistency, eq. 2; λ = 10)
//              + λ_id·(E|G(b) − b| + E|F(a) − a|)              (identity, §5.2; paper: 0.5·λ)
// E|·| is the mean absolute difference over pixels, as the authors' code computes the ℓ1 loss.
// The Lipschitz method's penalty and step hooks act on both critics (its weight transform, such
// as spectral norm, on D_B; `critic_a_lipschitz` reparameterises D_A). The generator's input is
// an image of A (generator_input), so stored samples, snapshots and metrics see G(a). Not here:
// the paper's buffer of 50 earlier generated images for the critics' updates.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"
#include "kant/procedure_losses.hpp"
#include "kant/procedure_steps.hpp"

namespace {
using namespace kant;
using procedures::finite;

struct CycleGanLosses {
  double loss_critic = 0, loss_critic_a = 0, penalty = 0, divergence_estimate = 0,
         loss_generator = 0, loss_inverse = 0, cycle = 0, identity = 0;
  static void declare(DeclareLosses<CycleGanLosses>& d) {
    d(&CycleGanLosses::loss_critic, "loss_critic",
      "L_D(D_B(b), D_B(G(a))) of D_B, the critic on collection B, at the last critic step");
    d(&CycleGanLosses::loss_critic_a, "loss_critic_a",
      "L_D(D_A(a), D_A(F(b))) of D_A, the critic on collection A, at that step");
    d(&CycleGanLosses::penalty, "penalty",
      "the Lipschitz penalties of both critics at that step (0 without one)");
    d(&CycleGanLosses::divergence_estimate, "divergence_estimate",
      "the objective's divergence estimate of D_B at that step");
    d(&CycleGanLosses::loss_generator, "loss_generator", "L_G(D_B(G(a))), G's adversarial loss");
    d(&CycleGanLosses::loss_inverse, "loss_inverse", "L_G(D_A(F(b))), F's adversarial loss");
    d(&CycleGanLosses::cycle, "cycle",
      "E|F(G(a)) − a| + E|G(F(b)) − b|, the cycle-consistency loss (before λ)");
    d(&CycleGanLosses::identity, "identity",
      "E|G(b) − b| + E|F(a) − a|, the identity loss (before λ_id; 0 when λ_id = 0)");
  }
};

// The classes of `domain` that are not classes of a data set with `classes` label classes.
std::vector<int64_t> outside(const std::vector<int64_t>& domain, int64_t classes) {
  std::vector<int64_t> out;
  for (int64_t c : domain)
    if (c < 0 || c >= classes) out.push_back(c);
  return out;
}

class CycleGan : public procedures::WithLosses<CycleGanLosses> {
 public:
  struct Options {
    std::vector<int64_t> domain_a, domain_b;
    Real cycle_weight, identity_weight;  // each may follow a schedule
    procedures::Alternation alternation;
    static void declare(Declare<Options>& d) {
      d(&Options::domain_a,
        param::integers("domain_a", {0},
                        "the data set's classes that make collection A, which the generator G "
                        "maps from (e.g. [7]: Fashion-MNIST's sneakers)")
            .at_least(0));
      d(&Options::domain_b, param::integers("domain_b", {1},
                                            "the classes of collection B, which G maps to and "
                                            "the inverse F maps from (e.g. [9]: ankle boots)")
                                .at_least(0));
      d(&Options::cycle_weight,
        param::real("cycle_weight", 10.0, "λ, the weight of the cycle-consistency loss (paper: 10)")
            .at_least(0));
      d(&Options::identity_weight,
        param::real("identity_weight", 0.0,
                    "λ_id, the weight of the identity loss (0: none; the paper's §5.2: 0.5·λ)")
            .at_least(0));
      d.nested(&Options::alternation);
      d.check([](const Options& o) -> std::string {
        if (o.domain_a.empty() || o.domain_b.empty())
          return "cyclegan needs two collections: domain_a and domain_b each list at least one of "
                 "the data set's classes (e.g. domain_a: [7], domain_b: [9])";
        for (const auto* domain : {&o.domain_a, &o.domain_b})
          if (std::set<int64_t>(domain->begin(), domain->end()).size() != domain->size())
            return fmt::format("{} [{}] names a class twice",
                               domain == &o.domain_a ? "domain_a" : "domain_b",
                               fmt::join(*domain, ", "));
        for (int64_t c : o.domain_a)
          if (std::find(o.domain_b.begin(), o.domain_b.end(), c) != o.domain_b.end())
            return fmt::format(
                "domain_a [{}] and domain_b [{}] share class {}: the two collections must be "
                "disjoint",
                fmt::join(o.domain_a, ", "), fmt::join(o.domain_b, ", "), c);
        return "";
      });
    }
  };

  static MetricRequirements requirements() {
    MetricRule labelled{
        "a labelled data set whose classes include domain_a's and domain_b's",
        [](const Params& p, CellView& cell) -> std::string {
          const std::optional<LabelledSet> set = cell.dataset().labelled();
          if (!set) return "the data set has no labelled images to pick the collections from";
          for (const char* key : {"domain_a", "domain_b"})
            if (auto bad = outside(p.integers(key), set->classes); !bad.empty())
              return fmt::format("{} names class {}, and the data set's classes are 0 to {}", key,
                                 bad.front(), set->classes - 1);
          return "";
        }};
    return {{labelled}, {}};
  }

  explicit CycleGan(const Options& o)
      : domains_{o.domain_a, o.domain_b},
        lambda_(o.cycle_weight),
        lambda_id_(o.identity_weight),
        alternation_(o.alternation) {}

  std::vector<std::string> network_names() const override {
    return {"generator", "inverse", "critic", "critic_a"};
  }

  std::vector<NetworkRequest> networks(const Shape& data, int64_t) const override {
    return {{"generator", Role::generator, data, data},
            {"inverse", Role::generator, data, data},
            {"critic", Role::critic, data, {1}},
            {"critic_a", Role::critic, data, {1}}};
  }

  Domains domains() const override { return domains_; }

  // images of collection A, drawn uniformly with replacement from `rng`
  Tensor generator_input(TrainingContext&, Rng& rng, int64_t n) override {
    return draw(rows_a_, rng, n);
  }

  void set_up(TrainingContext& ctx) override {
    std::optional<LabelledSet> set = ctx.dataset.labelled();
    if (!set) throw Error("cyclegan needs a labelled data set to pick its two collections from");
    for (const auto* domain : {&domains_.a, &domains_.b})
      if (auto bad = outside(*domain, set->classes); !bad.empty())
        throw Error(fmt::format("cyclegan: class {} is not one of the data set's classes 0 to {}",
                                bad.front(), set->classes - 1));
    images_ = set->data;
    for (size_t i = 0; i < set->labels.size(); ++i) {
      const int64_t l = set->labels[i];
      if (std::count(domains_.a.begin(), domains_.a.end(), l)) rows_a_.push_back(int64_t(i));
      if (std::count(domains_.b.begin(), domains_.b.end(), l)) rows_b_.push_back(int64_t(i));
    }
    if (rows_a_.empty() || rows_b_.empty())
      throw Error(fmt::format("cyclegan: collection {} holds no image of the data set",
                              rows_a_.empty() ? "A" : "B"));
    for (const char* name : {"generator", "inverse", "critic", "critic_a"}) {
      Network& net = procedures::network(ctx, name);
      nets_.push_back(&net);
      optimizers_.push_back(&ctx.optimizer(name));
      params_.push_back(net.parameters());
    }
  }

  StepOutcome step(TrainingContext& ctx, int64_t) override {
    StepOutcome out;
    if (procedures::alternate(
            alternation_.generator_first(), alternation_.n_critic, alternation_.n_generator,
            [&] { return critic_step(ctx, out); }, [&] { return generator_step(ctx, out); }))
      out.losses = loss_values(latest_);
    return out;
  }

 private:
  enum { kG, kF, kDB, kDA };

  // n images of a collection (rows of the data set), uniform with replacement
  Tensor draw(const std::vector<int64_t>& rows, Rng& rng, int64_t n) const {
    if (rows.empty()) throw Error("cyclegan: images asked for before set-up");
    const int64_t per = images_.numel() / images_.size(0);
    Shape shape = images_.shape();
    shape[0] = n;
    Tensor out = Tensor::empty(shape);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = rows[static_cast<size_t>(rng.below(static_cast<uint64_t>(rows.size())))];
      std::copy_n(images_.data() + k * per, per, out.data() + i * per);
    }
    return out;
  }

  // both critics: L_D on (real of their collection, translated into it), and their penalties
  bool critic_step(TrainingContext& ctx, StepOutcome& out) {
    Network &g = *nets_[kG], &f = *nets_[kF], &d_b = *nets_[kDB], &d_a = *nets_[kDA];
    for (Network* d : {&d_b, &d_a}) ctx.lipschitz.before_critic_step(*d);
    const Tensor a = draw(rows_a_, ctx.data_rng, ctx.train.batch_size),
                 b = draw(rows_b_, ctx.data_rng, ctx.train.batch_size);
    Tensor fake_b, fake_a;
    {
      NoGradGuard no_grad;
      fake_b = g.forward(a);
      fake_a = f.forward(b);
    }
    const Tensor db_real = d_b.forward(b), db_fake = d_b.forward(fake_b);
    const Tensor da_real = d_a.forward(a), da_fake = d_a.forward(fake_a);
    const Tensor loss_b = ctx.objective->noisy_critic_loss(db_real, db_fake, *ctx.targets_rng);
    const Tensor loss_a = ctx.objective->noisy_critic_loss(da_real, da_fake, *ctx.targets_rng);
    Tensor total = add(loss_b, loss_a), penalty;
    for (auto [d, real, fake] : {std::tuple{&d_b, &b, &fake_b}, std::tuple{&d_a, &a, &fake_a}}) {
      Tensor p = ctx.lipschitz.penalty(CriticBatch{*d, *real, *fake, ctx.penalty_rng});
      if (p.defined()) penalty = penalty.defined() ? add(penalty, p) : p;
    }
    if (penalty.defined()) total = add(total, penalty);
    std::vector<Tensor> both = params_[kDB];
    both.insert(both.end(), params_[kDA].begin(), params_[kDA].end());
    std::vector<Tensor> grads = grad({total}, both);
    latest_.loss_critic = loss_b.item();
    latest_.loss_critic_a = loss_a.item();
    latest_.penalty = penalty.defined() ? penalty.item() : 0.0;
    latest_.divergence_estimate = ctx.objective->divergence_estimate(db_real, db_fake);
    if (!finite(out, "the critic loss of D_B", latest_.loss_critic) ||
        !finite(out, "the critic loss of D_A", latest_.loss_critic_a) ||
        !finite(out, "the Lipschitz penalty", latest_.penalty))
      return false;
    const auto split = grads.begin() + static_cast<std::ptrdiff_t>(params_[kDB].size());
    optimizers_[kDB]->step(params_[kDB], std::vector<Tensor>(grads.begin(), split));
    optimizers_[kDA]->step(params_[kDA], std::vector<Tensor>(split, grads.end()));
    for (Network* d : {&d_b, &d_a}) ctx.lipschitz.after_critic_step(*d);
    return true;
  }

  // G and F together: both adversarial losses, λ·cycle and λ_id·identity
  bool generator_step(TrainingContext& ctx, StepOutcome& out) {
    Network &g = *nets_[kG], &f = *nets_[kF], &d_b = *nets_[kDB], &d_a = *nets_[kDA];
    const Tensor a = draw(rows_a_, ctx.data_rng, ctx.train.batch_size),
                 b = draw(rows_b_, ctx.data_rng, ctx.train.batch_size);
    const Tensor fake_b = g.forward(a), fake_a = f.forward(b);
    const bool real = ctx.objective->generator_needs_real();
    const Tensor adv_g =
        ctx.objective->generator_loss(real ? d_b.forward(b) : Tensor(), d_b.forward(fake_b));
    const Tensor adv_f =
        ctx.objective->generator_loss(real ? d_a.forward(a) : Tensor(), d_a.forward(fake_a));
    const Tensor cycle = add(losses::mean_absolute_error(f.forward(fake_b), a),
                             losses::mean_absolute_error(g.forward(fake_a), b));
    const auto lambda = static_cast<float>(lambda_()), lambda_id = static_cast<float>(lambda_id_());
    Tensor total = add(add(adv_g, adv_f), cycle * lambda), identity;
    if (lambda_id > 0) {
      identity = add(losses::mean_absolute_error(g.forward(b), b),
                     losses::mean_absolute_error(f.forward(a), a));
      total = add(total, identity * lambda_id);
    }
    std::vector<Tensor> both = params_[kG];
    both.insert(both.end(), params_[kF].begin(), params_[kF].end());
    std::vector<Tensor> grads = grad({total}, both);
    latest_.loss_generator = adv_g.item();
    latest_.loss_inverse = adv_f.item();
    latest_.cycle = cycle.item();
    latest_.identity = identity.defined() ? identity.item() : 0.0;
    if (!finite(out, "the generators' loss", total.item())) return false;
    const auto split = grads.begin() + static_cast<std::ptrdiff_t>(params_[kG].size());
    optimizers_[kG]->step(params_[kG], std::vector<Tensor>(grads.begin(), split));
    optimizers_[kF]->step(params_[kF], std::vector<Tensor>(split, grads.end()));
    return true;
  }

  Domains domains_;
  Real lambda_, lambda_id_;
  procedures::Alternation alternation_;
  Tensor images_;                         // the data set's labelled images
  std::vector<int64_t> rows_a_, rows_b_;  // rows of images_ in collection A, B
  std::vector<Network*> nets_;            // G, F, D_B, D_A
  std::vector<Optimizer*> optimizers_;
  std::vector<std::vector<Tensor>> params_;
};

}  // namespace

KANT_COMPONENT(CycleGan, "cyclegan", "1.0.0",
               "CycleGAN (Zhu et al. 2017): G: A → B, F: B → A between two unpaired collections "
               "(classes of one labelled data set), critics D_B, D_A with the cell's objective, "
               "cycle consistency λ(E|F(G(a)) − a| + E|G(F(b)) − b|), optional identity loss "
               "λ_id(E|G(b) − b| + E|F(a) − a|)")
