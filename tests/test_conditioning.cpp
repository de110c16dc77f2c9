// Conditional networks and metrics: each conditioning at hand-computed points on tiny networks,
// conditional batch norm and the projection head to second order, the shapes of every
// architecture's conditional generator and critic, a gradient penalty that differentiates with
// respect to x only, and the accuracy test failing a generator that ignores its label.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "kant/gan_steps.hpp"
#include "kant/layers.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;

namespace {
std::vector<std::string> names(const Network& net) {
  std::vector<std::string> out;
  for (const auto& [n, t] : net.named_parameters()) out.push_back(n);
  return out;
}
}  // namespace

TEST_CASE("one_hot rows, and labels out of range refused", "[conditioning]") {
  CHECK(one_hot({2, 0}, 3).to_vector() == std::vector<float>{0, 0, 1, 1, 0, 0});
  CHECK_THROWS_WITH(one_hot({3}, 3), Catch::Contains("label 3 is not one of 3 classes"));
}

TEST_CASE("mlp: concatenation, projection and the auxiliary head at hand-computed points",
          "[conditioning]") {
  Rng rng(1);
  // generator z ∈ R¹, 2 classes, one hidden unit, identity activations: every layer sees [h, y]
  auto g = make_network("mlp", Role::generator, {1}, {1},
                        {{"hidden", std::vector<int64_t>{1}},
                         {"activation", std::string("none")},
                         {"condition", std::string("concat")}},
                        rng, 2);
  CHECK(names(*g) == std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.1.weight",
                                              "layers.1.bias"});
  set_parameter(*g, "layers.0.weight", {2, 10, 20});  // h = 2z + 10 y₀ + 20 y₁ + 1
  set_parameter(*g, "layers.0.bias", {1});
  set_parameter(*g, "layers.1.weight", {3, 100, 200});  // out = 3h + 100 y₀ + 200 y₁ − 1
  set_parameter(*g, "layers.1.bias", {-1});
  Tensor z = Tensor::from({2, 1}, {0.5f, -1});
  Tensor y = one_hot({1, 0}, 2);
  // sample 0: h = 1 + 20 + 1 = 22, out = 66 + 200 − 1 = 265; sample 1: h = −2 + 10 + 1 = 9, out =
  // 27 + 100 − 1 = 126
  CHECK(g->forward_conditional(z, y).to_vector() == std::vector<float>{265, 126});
  CHECK(g->label_classes() == 2);
  CHECK_THROWS_WITH(g->forward(z), Catch::Contains("needs each sample's label"));
  CHECK_THROWS_WITH(g->forward_conditional(z, one_hot({1, 0}, 3)),
                    Catch::Contains("labels [2, 3] for a batch of 2 with 2 classes"));

  // projection critic on x ∈ R², one hidden ReLU unit φ, V [2, 1]: D = w φ + b + V_y φ
  auto d = make_network(
      "mlp", Role::critic, {2}, {1},
      {{"hidden", std::vector<int64_t>{1}}, {"condition", std::string("projection")}}, rng, 2);
  CHECK(names(*d) == std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.1.weight",
                                              "layers.1.bias", "projection.weight"});
  set_parameter(*d, "layers.0.weight", {1, 2});
  set_parameter(*d, "layers.0.bias", {0});
  set_parameter(*d, "layers.1.weight", {3});
  set_parameter(*d, "layers.1.bias", {0.5f});
  set_parameter(*d, "projection.weight", {10, -10});
  Tensor x = Tensor::from({2, 2}, {1, 1, 2, 0});  // φ = 3 and 2
  // sample 0, class 0: 9 + 0.5 + 30 = 39.5; sample 1, class 1: 6 + 0.5 − 20 = −13.5
  CHECK(d->forward_conditional(x, one_hot({0, 1}, 2)).to_vector() ==
        std::vector<float>{39.5f, -13.5f});

  // AC-GAN: the score takes no label; the head gives K logits of φ
  auto ac = make_network(
      "mlp", Role::critic, {2}, {1},
      {{"hidden", std::vector<int64_t>{1}}, {"condition", std::string("auxiliary")}}, rng, 3);
  set_parameter(*ac, "layers.0.weight", {1, 2});
  set_parameter(*ac, "layers.0.bias", {0});
  set_parameter(*ac, "layers.1.weight", {3});
  set_parameter(*ac, "layers.1.bias", {0.5f});
  set_parameter(*ac, "auxiliary.weight", {1, 2, 3});
  set_parameter(*ac, "auxiliary.bias", {0, 0, -1});
  CHECK(ac->label_classes() == 0);
  CHECK(ac->auxiliary_classes() == 3);
  auto [score, logits] = ac->forward_auxiliary(x);
  CHECK(score.to_vector() == std::vector<float>{9.5f, 6.5f});
  CHECK(logits.to_vector() == std::vector<float>{3, 6, 8, 2, 4, 5});
  CHECK(ac->forward(x).to_vector() == score.to_vector());
}

TEST_CASE("conditional batch norm: per-class scale and shift of the batch-normalised input",
          "[conditioning]") {
  Rng rng(2);
  // mlp generator z ∈ R¹ → one hidden unit (cBN, identity activation) → out = h
  auto g = make_network("mlp", Role::generator, {1}, {1},
                        {{"hidden", std::vector<int64_t>{1}},
                         {"activation", std::string("none")},
                         {"hidden_bias", false},
                         {"condition", std::string("batch_norm")}},
                        rng, 2);
  CHECK(names(*g) == std::vector<std::string>{"layers.0.weight", "layers.0.norm.gamma",
                                              "layers.0.norm.beta", "layers.1.weight",
                                              "layers.1.bias"});
  set_parameter(*g, "layers.0.weight", {1});
  set_parameter(*g, "layers.0.norm.gamma", {2, 5});  // γ per class
  set_parameter(*g, "layers.0.norm.beta", {0, 10});  // β per class
  set_parameter(*g, "layers.1.weight", {1});
  set_parameter(*g, "layers.1.bias", {0});
  // batch z = (1, 3): μ = 2, σ² = 1, normalised (−1, 1) (ε = 1e-5)
  Tensor out = g->forward_conditional(Tensor::from({2, 1}, {1, 3}), one_hot({0, 1}, 2));
  const double s = 1 / std::sqrt(1 + 1e-5);
  CHECK(out.data()[0] == Approx(2 * -s + 0));
  CHECK(out.data()[1] == Approx(5 * s + 10));
  CHECK_FALSE(g->batch_independent());
  // the same batch with the labels swapped: each sample takes the other class's γ and β
  Tensor swapped = g->forward_conditional(Tensor::from({2, 1}, {1, 3}), one_hot({1, 0}, 2));
  CHECK(swapped.data()[0] == Approx(5 * -s + 10));
  CHECK(swapped.data()[1] == Approx(2 * s));
}

TEST_CASE("conditional batch norm and the projection head, to second order", "[conditioning]") {
  Rng rng(3);
  // a dcgan generator's conditional batch norms, differentiated in z and in γ
  auto g = make_network("mlp", Role::generator, {3}, {2},
                        {{"hidden", std::vector<int64_t>{4}},
                         {"activation", std::string("tanh")},
                         {"condition", std::string("batch_norm")}},
                        rng, 3);
  Tensor y = one_hot({0, 2, 1, 2}, 3);
  Tensor gamma0;
  for (const auto& [n, t] : g->named_parameters())
    if (n == "layers.0.norm.gamma") gamma0 = t;
  REQUIRE(gamma0.defined());
  check_both(
      [&](const std::vector<Tensor>& in) {
        g->set_parameter_transform([&](const std::string& name, const Tensor& w) {
          return name == "layers.0.norm.gamma" ? in[1] : w;
        });
        Tensor out = g->forward_conditional(in[0], y);
        g->set_parameter_transform(nullptr);
        return out;
      },
      {random_tensor({4, 3}, -1, 1, 11), random_tensor({3, 4}, 0.5f, 1.5f, 12)});
  // a projection critic (mlp, tanh), in x and in V
  auto d = make_network("mlp", Role::critic, {3}, {1},
                        {{"hidden", std::vector<int64_t>{5}},
                         {"activation", std::string("tanh")},
                         {"condition", std::string("projection")}},
                        rng, 3);
  check_both(
      [&](const std::vector<Tensor>& in) {
        d->set_parameter_transform([&](const std::string& name, const Tensor& w) {
          return name == "projection.weight" ? in[1] : w;
        });
        Tensor out = d->forward_conditional(in[0], y);
        d->set_parameter_transform(nullptr);
        return out;
      },
      {random_tensor({4, 3}, -1, 1, 13), random_tensor({3, 5}, -0.5f, 0.5f, 14)});
  // the dcgan and resnet projection critics in x (the path a gradient penalty takes)
  for (const char* arch : {"dcgan", "resnet"}) {
    INFO(arch);
    std::map<std::string, Value> o{{"condition", std::string("projection")},
                                   {"width", int64_t{2}},
                                   {"activation", std::string("tanh")}};
    if (std::string(arch) == "resnet")
      o = {{"condition", std::string("projection")},
           {"width", int64_t{2}},
           {"depth", int64_t{1}},
           {"downsample", int64_t{1}}};
    const int64_t side = std::string(arch) == "dcgan" ? 28 : 4;
    auto c = make_network(arch, Role::critic, {1, side, side}, {1}, o, rng, 3);
    Tensor y2 = one_hot({1, 2}, 3);
    CHECK(
        check_grad([&](const std::vector<Tensor>& in) { return c->forward_conditional(in[0], y2); },
                   {random_tensor({2, 1, side, side}, -1, 1, 15)}) == "");
    if (std::string(arch) == "dcgan")  // smooth activations: second order through the critic
      CHECK(check_gradgrad(
                [&](const std::vector<Tensor>& in) { return c->forward_conditional(in[0], y2); },
                {random_tensor({2, 1, side, side}, -1, 1, 16)}) == "");
  }
}

TEST_CASE("conditioning shapes for every architecture", "[conditioning]") {
  Rng rng(4);
  const int64_t k = 10, n = 4;
  Tensor y = one_hot({0, 3, 9, 3}, k);
  struct Case {
    std::string arch;
    Shape image;
    std::map<std::string, Value> options;
  };
  const std::vector<Case> cases{
      {"mlp", {1, 8, 8}, {{"hidden", std::vector<int64_t>{16, 16}}}},
      {"dcgan", {1, 28, 28}, {{"width", int64_t{4}}}},
      {"dcgan", {3, 32, 32}, {{"width", int64_t{4}}}},
      {"resnet", {1, 16, 16}, {{"width", int64_t{4}}, {"depth", int64_t{2}}}},
  };
  for (const Case& c : cases) {
    for (const char* cond : {"concat", "batch_norm"}) {
      INFO(c.arch << " generator " << cond << " " << shape_str(c.image));
      auto opts = c.options;
      opts["condition"] = std::string(cond);
      auto g = make_network(c.arch, Role::generator, {6}, c.image, opts, rng, k);
      CHECK(g->label_classes() == k);
      // per-class γ = 1, β = 0 at first (the label acts once they have learned): move them
      for (auto [name, t] : g->named_parameters())
        if (name.find(".gamma") != std::string::npos || name.find(".beta") != std::string::npos) {
          Tensor r = rng.uniform_tensor(t.shape(), 0.5f, 1.5f);
          std::copy_n(r.data(), t.numel(), t.data());
        }
      Tensor z = rng.normal_tensor({n, 6});
      Tensor x = g->forward_conditional(z, y);
      Shape expect{n};
      expect.insert(expect.end(), c.image.begin(), c.image.end());
      CHECK(x.shape() == expect);
      // the label changes the sample
      CHECK(g->forward_conditional(z, one_hot({1, 4, 8, 2}, k)).to_vector() != x.to_vector());
      CHECK_THROWS(g->forward(z));
    }
    for (const char* cond : {"concat", "projection", "auxiliary"}) {
      INFO(c.arch << " critic " << cond << " " << shape_str(c.image));
      auto opts = c.options;
      opts["condition"] = std::string(cond);
      auto d = make_network(c.arch, Role::critic, c.image, {1}, opts, rng, k);
      Shape in{n};
      in.insert(in.end(), c.image.begin(), c.image.end());
      Tensor x = rng.normal_tensor(in);
      if (std::string(cond) == "auxiliary") {
        auto [score, logits] = d->forward_auxiliary(x);
        CHECK(score.shape() == Shape{n, 1});
        CHECK(logits.shape() == Shape{n, k});
        CHECK(d->forward(x).shape() == Shape{n, 1});
        continue;
      }
      Tensor s = d->forward_conditional(x, y);
      CHECK(s.shape() == Shape{n, 1});
      CHECK(d->forward_conditional(x, one_hot({5, 5, 5, 5}, k)).to_vector() != s.to_vector());
      CHECK_THROWS(d->forward(x));
    }
    // what a role does not take, a data set without labels, a label count other than the data's
    auto opts = c.options;
    opts["condition"] = std::string("projection");
    CHECK_THROWS_WITH(make_network(c.arch, Role::generator, {6}, c.image, opts, rng, k),
                      Catch::Contains("is a critic's"));
    opts["condition"] = std::string("batch_norm");
    CHECK_THROWS_WITH(make_network(c.arch, Role::critic, c.image, {1}, opts, rng, k),
                      Catch::Contains("is a generator's"));
    opts["condition"] = std::string("concat");
    CHECK_THROWS_WITH(make_network(c.arch, Role::critic, c.image, {1}, opts, rng, 0),
                      Catch::Contains("needs labels, and the data set has none"));
    opts["classes"] = int64_t{5};
    CHECK_THROWS_WITH(make_network(c.arch, Role::critic, c.image, {1}, opts, rng, k),
                      Catch::Contains("classes: 5 differs from the data set's 10"));
  }
  // unconditional networks are built exactly as before: same parameters, same values
  for (const Case& c : cases) {
    Rng a(9), b(9);
    auto plain = make_network(c.arch, Role::critic, c.image, {1}, c.options, a, 0);
    auto with_labels_around = make_network(c.arch, Role::critic, c.image, {1}, c.options, b, k);
    REQUIRE(names(*plain) == names(*with_labels_around));
    for (size_t i = 0; i < plain->named_parameters().size(); ++i)
      CHECK(plain->named_parameters()[i].second.to_vector() ==
            with_labels_around->named_parameters()[i].second.to_vector());
  }
}

TEST_CASE("a gradient penalty on a conditional critic differentiates in x, the label held fixed",
          "[conditioning]") {
  Rng rng(5);
  // affine critic with concat: D(x, y) = W_x x + W_y y + b, so ∇ₓD = W_x whatever y
  auto d = make_network("mlp", Role::critic, {2}, {1},
                        {{"hidden", std::vector<int64_t>{}}, {"condition", std::string("concat")}},
                        rng, 3);
  set_parameter(*d, "layers.0.weight", {3, 4, 100, -50, 7});  // W_x = (3, 4): ‖∇ₓD‖ = 5
  Tensor y = one_hot({0, 1, 2}, 3);
  procedures::WithLabels labelled(*d, y);
  CHECK(labelled.named_parameters().size() == d->named_parameters().size());
  auto gp = make_component<LipschitzMethod, LipschitzFactory>(Kind::lipschitz, "gradient_penalty",
                                                              {{"lambda", 10.0}});
  Tensor real = rng.normal_tensor({3, 2}), fake = rng.normal_tensor({3, 2});
  Rng penalty_rng(6);
  Tensor p = gp->penalty(CriticBatch{labelled, real, fake, penalty_rng});
  CHECK(p.item() == Approx(10 * (5 - 1) * (5 - 1)).epsilon(1e-5));  // λ(‖W_x‖ − 1)²
  // and its gradient reaches the critic's weights: ∂P/∂W_x = 2λ(‖W_x‖ − 1) W_x/‖W_x‖
  std::vector<Tensor> g = grad({p}, d->parameters());
  CHECK(g[0].data()[0] == Approx(2 * 10 * 4 * 3 / 5.0).epsilon(1e-4));
  CHECK(g[0].data()[1] == Approx(2 * 10 * 4 * 4 / 5.0).epsilon(1e-4));
  CHECK(g[0].data()[2] == Approx(0).margin(1e-5));  // the label's columns: no gradient
}

namespace {
// A "generator" of digits: for each requested label a data image, either of that label
// (respects_label) or of any label (ignores it by construction).
class DigitPicker : public Network {
 public:
  DigitPicker(const LabelledSet& set, bool respects_label) : set_(set), respects_(respects_label) {}
  int64_t label_classes() const override { return set_.classes; }
  Tensor forward(const Tensor&) override { throw Error("needs labels"); }
  Tensor forward_conditional(const Tensor& z, const Tensor& y) override {
    const int64_t n = z.size(0), per = set_.data.numel() / set_.data.size(0);
    Tensor out = Tensor::empty({n, 1, 8, 8});
    for (int64_t i = 0; i < n; ++i) {
      int64_t want = 0;
      for (int64_t c = 0; c < set_.classes; ++c)
        if (y.data()[i * set_.classes + c] == 1) want = c;
      int64_t j = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(set_.data.size(0))));
      while (respects_ && set_.labels[static_cast<size_t>(j)] != want)
        j = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(set_.data.size(0))));
      std::copy_n(set_.data.data() + j * per, per, out.data() + i * per);
    }
    return out;
  }

 private:
  const LabelledSet& set_;
  bool respects_;
  Rng rng_{17};
};
}  // namespace

TEST_CASE(
    "conditional_accuracy: high for a generator that follows its label, ≈ 1/K for one that "
    "ignores it",
    "[conditioning][metric]") {
  auto digits = make_component<Dataset, DatasetFactory>(Kind::dataset, "digits", {}, uint64_t{0});
  const LabelledSet set = *digits->labelled();
  auto metric =
      make_component<Metric, MetricFactory>(Kind::metric, "conditional_accuracy",
                                            {{"samples", int64_t{500}},
                                             {"columns", int64_t{2}},
                                             {"cache_dir", temp_dir("kant_cond_cache").string()}});
  for (bool respects : {true, false}) {
    INFO(respects);
    DigitPicker g(set, respects);
    Rng rng(8), label_rng(9);
    MetricContext ctx{*digits, g, nullptr, [&](int64_t) -> Tensor { throw Error("unused"); }, rng};
    ctx.label_classes = 10;
    ctx.generate_labelled = [&](int64_t n, std::optional<int64_t> label) {
      std::vector<int64_t> labels(static_cast<size_t>(n));
      for (int64_t& l : labels) l = label ? *label : static_cast<int64_t>(label_rng.below(10));
      return Batch{g.forward_conditional(Tensor::zeros({n, 1}), one_hot(labels, 10)), labels};
    };
    const auto v = metric->compute(ctx);
    INFO("accuracy " << v.at("accuracy") << ", classifier " << v.at("classifier"));
    if (respects) {
      CHECK(v.at("accuracy") > 0.85);
      CHECK(v.at("worst_class") > 0.6);
    } else {
      CHECK(v.at("accuracy") < 0.2);  // ≈ 0.1: the label carries no information
      CHECK(v.at("worst_class") < 0.2);
    }
    const auto arrays = metric->final_arrays(ctx);
    CHECK(arrays.at("class_grid").shape() == Shape{10, 2, 1, 8, 8});
  }
  // an unconditional generator (real digits, no label taken) scores ≈ 1/K, and has no grid
  auto uncond = make_component<Metric, MetricFactory>(
      Kind::metric, "conditional_accuracy",
      {{"samples", int64_t{500}}, {"cache_dir", temp_dir("kant_cond_cache").string()}});
  Rng rng(10), data_rng(11);
  AffineGenerator unused(0, 1);
  MetricContext ctx{*digits, unused, nullptr, [&](int64_t) -> Tensor { throw Error("unused"); },
                    rng};
  ctx.generate_labelled = [&](int64_t n, std::optional<int64_t>) {
    return Batch{digits->sample(n, data_rng), {}};
  };
  const auto v = uncond->compute(ctx);
  CHECK(v.at("accuracy") < 0.2);
  CHECK(v.at("accuracy") > 0.03);
  CHECK(uncond->final_arrays(ctx).empty());
}

TEST_CASE(
    "sample_quality on a conditional generator: intra-FD by the label asked for, label_accuracy",
    "[conditioning][metric]") {
  auto digits = make_component<Dataset, DatasetFactory>(Kind::dataset, "digits", {}, uint64_t{0});
  const LabelledSet set = *digits->labelled();
  const std::map<std::string, Value> small{{"samples", int64_t{400}},
                                           {"kid_subsets", int64_t{5}},
                                           {"kid_subset_size", int64_t{100}},
                                           {"is_splits", int64_t{2}},
                                           {"memorisation_samples", int64_t{50}},
                                           {"channels", std::vector<int64_t>{16, 32}},
                                           {"features", int64_t{32}},
                                           {"epochs", int64_t{8}},
                                           {"cache_dir", temp_dir("kant_cond_cache").string()}};
  std::map<bool, std::map<std::string, double>> v;
  for (bool respects : {true, false}) {
    auto metric = make_component<Metric, MetricFactory>(Kind::metric, "sample_quality", small);
    DigitPicker g(set, respects);
    Rng rng(8), label_rng(9);
    MetricContext ctx{*digits, g, nullptr, [&](int64_t) -> Tensor { throw Error("unused"); }, rng};
    ctx.label_classes = 10;
    ctx.generate_labelled = [&](int64_t n, std::optional<int64_t>) {
      std::vector<int64_t> labels(static_cast<size_t>(n));
      for (int64_t& l : labels) l = static_cast<int64_t>(label_rng.below(10));
      return Batch{g.forward_conditional(Tensor::zeros({n, 1}), one_hot(labels, 10)), labels};
    };
    v[respects] = metric->compute(ctx);
  }
  INFO("label_accuracy " << v[true].at("label_accuracy") << " / " << v[false].at("label_accuracy")
                         << ", intra_fd " << v[true].at("intra_fd") << " / "
                         << v[false].at("intra_fd") << ", network accuracy "
                         << v[true].at("accuracy"));
  // the network agrees with the requested label about as often as it is right on real digits
  CHECK(v[true].at("label_accuracy") > v[true].at("accuracy") - 0.1);
  CHECK(v[false].at("label_accuracy") < 0.2);  // ≈ 0.1: the label carries no information
  // grouped by the requested label, a label-blind generator's classes mix every digit: their
  // Fréchet distance to each class's real images is far above the label-following one's
  CHECK(v[false].at("intra_fd") > 3 * v[true].at("intra_fd"));
}

namespace {
// `kant validate` on a one-cell file: its exit code and output; the results folder stays empty.
CommandResult validate(const std::string& yaml) {
  const auto dir = temp_dir("kant_cond_validate");
  { std::ofstream(dir / "x.yaml") << yaml; }
  CommandResult r =
      run_command("cd " + dir.string() + " && " + kant_exe() + " validate x.yaml 2>&1");
  CHECK_FALSE(std::filesystem::exists(dir / "results"));  // nothing written
  return r;
}

const char* kCell = R"(name: x
base:
  dataset:   {plugin: %DATA%}
  generator: {plugin: mlp, hidden: [8], %GEN%}
  critic:    {plugin: mlp, hidden: [8], %CRITIC%}
  procedure: {%PROC%}
  train:     {steps: 2, batch_size: 8}
  metrics:   [%METRICS%]
  objective: wasserstein
  optimizer: adam
)";

std::string cell(std::map<std::string, std::string> parts) {
  std::string s = kCell;
  for (const char* key : {"DATA", "GEN", "CRITIC", "PROC", "METRICS"}) {
    const std::string k = std::string("%") + key + "%";
    const std::string v = parts.count(key) ? parts[key] : key == std::string("DATA") ? "ring" : "";
    s.replace(s.find(k), k.size(), v);
  }
  return s;
}
}  // namespace

TEST_CASE("kant validate refuses conditioning that cannot apply, at its line and column",
          "[conditioning][cli]") {
  // the good ones pass: labels from the ring's modes and from the digits
  CHECK(validate(cell({{"GEN", "condition: concat"}, {"CRITIC", "condition: projection"}}))
            .exit_code == 0);
  CHECK(validate(cell({{"DATA", "digits"},
                       {"GEN", "condition: batch_norm, labels: data"},
                       {"CRITIC", "condition: auxiliary"},
                       {"PROC", "auxiliary_weight: 0.5"},
                       {"METRICS", "conditional_accuracy"}}))
            .exit_code == 0);
  struct Bad {
    std::map<std::string, std::string> parts;
    std::string where, says;
  };
  const std::vector<Bad> bad{
      {{{"DATA", "spirals"}, {"CRITIC", "condition: concat"}},
       "x.yaml:5:52:",
       "critic.condition: concat needs labels, and dataset 'spirals' has none"},
      {{{"GEN", "condition: concat, classes: 5"}},
       "x.yaml:4:69:",
       "generator.classes: 5 differs from the 8 label classes of dataset 'ring'; write classes: 8"},
      {{{"GEN", "condition: projection"}}, "x.yaml:4:52:", "is a critic's"},
      {{{"CRITIC", "condition: batch_norm"}}, "x.yaml:5:52:", "is a generator's"},
      {{{"GEN", "labels: data"}}, "x.yaml:4:49:", "acts on a conditional generator only"},
      {{{"PROC", "auxiliary_weight: 2"}}, "x.yaml:6:33:", "acts on an AC-GAN critic only"},
      {{{"GEN", "condition: concat"}, {"PROC", "unrolled_steps: 2"}},
       "x.yaml:",
       "alternating updates without unrolled_steps"},
      {{{"CRITIC", "condition: concat, pack: 2"}},
       "x.yaml:5:52:",
       "a packed critic takes no labels"},
      {{{"DATA", "spirals"}, {"METRICS", "conditional_accuracy"}},
       "x.yaml:8:15:",
       "needs a labelled data set"},
      {{{"GEN", "condition: batch_norm, normalization: layer"}},
       "x.yaml:4:",
       "normalization: layer contradicts (use none or batch)"},
  };
  for (const Bad& b : bad) {
    const CommandResult r = validate(cell(b.parts));
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(b.where) && Catch::Contains(b.says));
  }
}
