// CycleGAN (procedure `cyclegan`, metric `translation`): every loss term at hand-computed points
// on affine networks, each network's update against finite differences of the loss it follows,
// the two collections' draws, the metric at closed forms, validate refusals, a short run from
// YAML with its report grid, and kant latent refusing a generator that takes images.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <set>

#include "config/config.hpp"
#include "core/sha256.hpp"
#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/distances.hpp"
#include "kant/procedure_losses.hpp"
#include "store/cell_file.hpp"
#include "support.hpp"
#include "training/session.hpp"

using namespace kant;
using namespace kant::testing;
namespace fs = std::filesystem;

namespace {

// Nine 2×2 images in three classes (0, 0, 0, 1, 1, 1, 2, 2, 2), every pixel value distinct, as
// IDX files in `dir`; returns the dataset block that reads them.
std::string tiny_images(const fs::path& dir, bool with_labels = true) {
  auto header = [](std::vector<uint32_t> dims) {
    std::vector<unsigned char> h{0, 0, 0x08, static_cast<unsigned char>(dims.size())};
    for (uint32_t s : dims)
      for (int shift : {24, 16, 8, 0}) h.push_back(static_cast<unsigned char>(s >> shift));
    return h;
  };
  std::vector<unsigned char> images = header({9, 2, 2}), labels = header({9});
  for (int i = 0; i < 36; ++i) images.push_back(static_cast<unsigned char>(i * 7));
  for (int i = 0; i < 9; ++i) labels.push_back(static_cast<unsigned char>(i / 3));
  for (const auto& [name, bytes] : {std::pair{"images", images}, std::pair{"labels", labels}}) {
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  return fmt::format("{{plugin: idx, images: {}{}}}", (dir / "images").string(),
                     with_labels ? ", labels: " + (dir / "labels").string() : "");
}

// A tiny CycleGAN cell on those images: affine G and F, critics with one hidden layer (none with
// `affine_critics`), SGD at the given rates, λ = 10 and λ_id as given.
std::string tiny_cell(const fs::path& dir, double critic_lr, double generator_lr,
                      double identity_weight = 5, bool affine_critics = false) {
  const std::string critic =
      affine_critics ? "{plugin: mlp, hidden: []}" : "{plugin: mlp, hidden: [3], activation: tanh}";
  return fmt::format(R"(dataset: {}
procedure: {{plugin: cyclegan, domain_a: [0], domain_b: [1], cycle_weight: 10,
            identity_weight: {}}}
generator: {{plugin: mlp, hidden: []}}
inverse: {{plugin: mlp, hidden: []}}
critic: {}
critic_a: {}
objective: least_squares
generator_optimizer: {{plugin: sgd, lr: {}}}
inverse_optimizer: {{plugin: sgd, lr: {}}}
critic_optimizer: {{plugin: sgd, lr: {}}}
critic_a_optimizer: {{plugin: sgd, lr: {}}}
train: {{batch_size: 4, samples: 0}}
seed: 3
)",
                     tiny_images(dir), identity_weight, critic, critic, generator_lr, generator_lr,
                     critic_lr, critic_lr);
}

struct Probe {
  CellConfig config;
  std::unique_ptr<Session> session;
  explicit Probe(const std::string& yaml)
      : config(resolve_cell(parse_yaml(yaml, "test.yaml"), builtin_registry())),
        session(std::make_unique<Session>(config, builtin_registry())) {}
  Network& net(const std::string& name) const {
    for (const auto& [n, net] : session->networks)
      if (n == name) return *net;
    throw Error("no network " + name);
  }
  std::map<std::string, double> step() {
    StepOutcome out = session->procedure->step(*session->context, 1);
    REQUIRE(out.diverged.empty());
    return {out.losses.begin(), out.losses.end()};
  }
};

// x ↦ x + shift on 2×2 images: identity weight, constant bias
void shift_map(Network& net, float shift) {
  set_parameter(net, "layers.0.weight", {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});
  set_parameter(net, "layers.0.bias", {shift, shift, shift, shift});
}
void constant_critic(Network& net, float value) {
  set_parameter(net, "layers.0.weight", {0, 0, 0, 0});
  set_parameter(net, "layers.0.bias", {value});
}

// The gradient the step applied to `network` (SGD: Δθ = −η∇L) against central differences of
// `loss` (read from the step's reported losses), each from a fresh session with the same draws.
template <typename Loss>
void check_update(const std::string& yaml, const std::string& network, double lr, Loss loss) {
  Probe base(yaml);
  std::vector<Tensor> before;
  for (const Tensor& p : base.net(network).parameters()) before.push_back(p.clone());
  base.step();
  const std::vector<Tensor> after = base.net(network).parameters();
  const float h = 1e-2f;
  size_t checked = 0;
  for (size_t k = 0; k < before.size(); ++k)
    for (int64_t i = 0; i < before[k].numel(); ++i) {
      const double applied = (before[k].data()[i] - after[k].data()[i]) / lr;
      double value[2];
      for (int side = 0; side < 2; ++side) {
        Probe moved(yaml);
        moved.net(network).parameters()[k].data()[i] += side == 0 ? h : -h;
        value[side] = loss(moved.step());
      }
      const double numeric = (value[0] - value[1]) / (2 * h);
      INFO(network << " parameter " << k << "[" << i << "]: applied " << applied << ", numeric "
                   << numeric);
      CHECK(applied == Approx(numeric).margin(3e-3).epsilon(3e-2));
      ++checked;
    }
  CHECK(checked >= 5);
}

}  // namespace

TEST_CASE("CycleGAN's loss terms at hand-computed points on affine networks", "[cyclegan]") {
  CHECK(losses::mean_absolute_error(Tensor::from({2, 2}, {1, -2, 0, 3}),
                                    Tensor::from({2, 2}, {0, 0, 0.5f, 1}))
            .item() == Approx((1 + 2 + 0.5 + 2) / 4.0));
  const fs::path dir = temp_dir("kant-cyclegan");
  // frozen critics: the generators' step sees the critics the hand computation uses
  Probe p(tiny_cell(dir, 1e-30, 1e-30, 5, true));
  const float s = 0.3f, t = -0.1f, d_b = 0.2f, d_a = 0.7f;
  shift_map(p.net("generator"), s);  // G(x) = x + s
  shift_map(p.net("inverse"), t);    // F(x) = x + t
  constant_critic(p.net("critic"), d_b);
  constant_critic(p.net("critic_a"), d_a);
  const auto l = p.step();
  // least squares, a = 0, b = c = 1: L_D = ½(D(real) − 1)² + ½D(fake)², L_G = ½(D(fake) − 1)²
  CHECK(l.at("loss_critic") == Approx(0.5 * (d_b - 1) * (d_b - 1) + 0.5 * d_b * d_b));
  CHECK(l.at("loss_critic_a") == Approx(0.5 * (d_a - 1) * (d_a - 1) + 0.5 * d_a * d_a));
  CHECK(l.at("divergence_estimate") == Approx(-l.at("loss_critic")));
  CHECK(l.at("penalty") == 0);
  CHECK(l.at("loss_generator") == Approx(0.5 * (d_b - 1) * (d_b - 1)));
  CHECK(l.at("loss_inverse") == Approx(0.5 * (d_a - 1) * (d_a - 1)));
  // F(G(a)) − a = s + t, G(F(b)) − b = s + t; G(b) − b = s, F(a) − a = t
  CHECK(l.at("cycle") == Approx(2 * std::abs(s + t)).epsilon(1e-5));
  CHECK(l.at("identity") == Approx(std::abs(s) + std::abs(t)).epsilon(1e-5));
  // without identity weight the term is neither computed nor reported
  Probe q(tiny_cell(dir, 1e-30, 1e-30, 0, true));
  CHECK(q.step().at("identity") == 0);
}

TEST_CASE("CycleGAN's updates follow the gradients of the losses they report",
          "[cyclegan][gradients]") {
  const fs::path dir = temp_dir("kant-cyclegan-grad");
  const double lr = 0.5, frozen = 1e-30;
  // each critic minimises its own L_D (D_A's parameters leave D_B's loss unchanged)
  check_update(tiny_cell(dir, lr, lr), "critic", lr,
               [](const auto& l) { return l.at("loss_critic"); });
  check_update(tiny_cell(dir, lr, lr), "critic_a", lr,
               [](const auto& l) { return l.at("loss_critic_a"); });
  // G and F minimise L_G(G) + L_G(F) + λ·cycle + λ_id·identity (λ = 10, λ_id = 5)
  auto total = [](const auto& l) {
    return l.at("loss_generator") + l.at("loss_inverse") + 10 * l.at("cycle") +
           5 * l.at("identity");
  };
  check_update(tiny_cell(dir, frozen, lr), "generator", lr, total);
  check_update(tiny_cell(dir, frozen, lr), "inverse", lr, total);
}

TEST_CASE("CycleGAN draws each collection from its classes only", "[cyclegan]") {
  const fs::path dir = temp_dir("kant-cyclegan-draws");
  Probe p(tiny_cell(dir, 0.1, 0.1));
  const std::optional<LabelledSet> set = p.session->dataset->labelled();
  REQUIRE(set);
  // the images of class 0 (collection A), by their first pixel
  std::set<float> class_a, seen;
  for (size_t i = 0; i < set->labels.size(); ++i)
    if (set->labels[i] == 0) class_a.insert(set->data.data()[i * 4]);
  REQUIRE(class_a.size() == 3);
  Rng rng(11);
  const Tensor x = p.session->generator_input(rng, 300);
  REQUIRE(x.shape() == Shape{300, 1, 2, 2});
  for (int64_t i = 0; i < 300; ++i) {
    INFO("image " << i);
    CHECK(class_a.count(x.data()[i * 4]) == 1);
    seen.insert(x.data()[i * 4]);
  }
  CHECK(seen == class_a);  // uniform over the collection: each image drawn
  CHECK(p.session->procedure->domains().a == std::vector<int64_t>{0});
  CHECK(p.session->procedure->domains().b == std::vector<int64_t>{1});
}

TEST_CASE("translation metric at closed forms: identity and constant maps", "[cyclegan][metric]") {
  auto data = make_dataset("digits");
  const std::optional<LabelledSet> set = data->labelled();
  REQUIRE(set);
  Rng init(1);
  auto affine = [&] {
    return make_network("mlp", Role::generator, {1, 8, 8}, {1, 8, 8},
                        {{"hidden", std::vector<int64_t>{}}}, init);
  };
  auto g = affine(), f = affine();
  std::vector<float> eye(64 * 64, 0.0f), zero(64, 0.0f);
  for (int i = 0; i < 64; ++i) eye[static_cast<size_t>(i * 65)] = 1;
  for (Network* n : {g.get(), f.get()}) {
    set_parameter(*n, "layers.0.weight", eye);
    set_parameter(*n, "layers.0.bias", zero);
  }
  Rng rng(2);
  MetricContext ctx{*data, *g, nullptr, [](int64_t) { return Tensor(); }, rng};
  ctx.networks = {{"generator", g.get()}, {"inverse", f.get()}};
  ctx.domains = {{3}, {8}};
  auto metric = make_metric("translation", {{"samples", int64_t{200}}});
  auto v = metric->compute(ctx);
  // identity maps: nothing moves, so the cycle is exact and G(a) is scored as the real a
  CHECK(v.at("cycle_a") == 0);
  CHECK(v.at("cycle_b") == 0);
  CHECK(v.at("fd_ab") == Approx(v.at("fd_real")).epsilon(1e-6));
  CHECK(v.at("fd_ba") == Approx(v.at("fd_real")).epsilon(1e-3));
  CHECK(v.at("real_a") > 0.8);  // the feature network tells 3s and 8s apart
  CHECK(v.at("accuracy_ab") <= 1 - v.at("real_a") + 1e-12);
  // G: every image to one fixed 8 (zero weight, that image as bias): G(a) is scored as that 8
  // everywhere, and F(G(a)) = that 8, so cycle_a is the mean distance of the 3s to it
  size_t eight = 0, n_a = 0;
  while (set->labels[eight] != 8) ++eight;
  const std::vector<float> all = set->data.to_vector();
  std::vector<float> b0(all.begin() + static_cast<std::ptrdiff_t>(eight * 64),
                        all.begin() + static_cast<std::ptrdiff_t>(eight * 64 + 64));
  set_parameter(*g, "layers.0.weight", std::vector<float>(64 * 64, 0.0f));
  set_parameter(*g, "layers.0.bias", b0);
  double distance = 0;
  const Tensor& held = set->held_out.defined() ? set->held_out : set->data;
  const auto& held_labels = set->held_out.defined() ? set->held_out_labels : set->labels;
  for (size_t i = 0; i < held_labels.size() && n_a < 200; ++i) {
    if (held_labels[i] != 3) continue;
    ++n_a;
    for (size_t j = 0; j < 64; ++j) distance += std::abs(held.data()[i * 64 + j] - b0[j]);
  }
  auto metric2 = make_metric("translation", {{"samples", int64_t{200}}});
  v = metric2->compute(ctx);
  CHECK(v.at("cycle_a") == Approx(distance / (64.0 * static_cast<double>(n_a))).epsilon(1e-5));
  auto net = cached_conv_classifier(*set, ConvClassifierSettings{}, "");
  const bool b0_is_b = net->predict(Tensor::from({1, 1, 8, 8}, b0))[0] == 8;
  CHECK(v.at("accuracy_ab") == (b0_is_b ? 1.0 : 0.0));
  // the grids: rows x, G(x), F(G(x)) of the first `columns` held-out images
  auto arrays = metric2->final_arrays(ctx);
  REQUIRE(arrays.count("a_to_b"));
  CHECK(arrays.at("a_to_b").shape() == Shape{3, 8, 1, 8, 8});
  const float* grid = arrays.at("a_to_b").data();
  for (int j = 0; j < 64; ++j) CHECK(grid[8 * 64 + j] == b0[static_cast<size_t>(j)]);
  // a cell without a translating procedure is refused with a reason
  MetricContext plain{*data, *g, nullptr, [](int64_t) { return Tensor(); }, rng};
  CHECK_THROWS_WITH(make_metric("translation")->compute(plain),
                    Catch::Contains("needs a procedure that translates"));
}

TEST_CASE("kant validate refuses CycleGAN cells that cannot apply", "[cyclegan][config]") {
  const fs::path dir = temp_dir("kant-cyclegan-validate");
  const std::string labelled = tiny_images(dir), unlabelled = tiny_images(dir, false);
  auto validate = [&](const std::string& dataset, const std::string& procedure,
                      const std::string& metrics = "[]") {
    const fs::path file = dir / "exp.yaml";
    std::ofstream(file) << fmt::format(
        "name: c\nbase:\n  dataset: {}\n  procedure: {}\n  generator: {{plugin: mlp, hidden: "
        "[]}}\n  inverse: {{plugin: mlp, hidden: []}}\n  critic: mlp\n  critic_a: mlp\n  "
        "objective: least_squares\n  optimizer: adam\n  metrics: {}\nseeds: [0]\n",
        dataset, procedure, metrics);
    return run_command(kant_exe() + " validate " + file.string());
  };
  const std::string ok = "{plugin: cyclegan, domain_a: [0], domain_b: [1]}";
  CHECK(validate(labelled, ok).exit_code == 0);
  CHECK(validate(labelled, "cyclegan").exit_code == 0);  // its defaults: classes 0 and 1
  for (const auto& [dataset, procedure, says] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {unlabelled, ok, "has no labelled images"},
           {labelled, "{plugin: cyclegan, domain_a: [0], domain_b: [7]}",
            "domain_b names class 7, and the data set's classes are 0 to 2"},
           {labelled, "{plugin: cyclegan, domain_a: [0, 1], domain_b: [1]}",
            "share class 1: the two collections must be disjoint"},
           {labelled, "{plugin: cyclegan, domain_b: []}", "cyclegan needs two collections"}}) {
    CommandResult r = validate(dataset, procedure);
    INFO(procedure << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(says) && Catch::Contains("exp.yaml:"));
  }
  // the translation metric on a cell that translates nothing
  const fs::path file = dir / "gan.yaml";
  std::ofstream(file) << "name: g\nbase:\n  dataset: digits\n  generator: mlp\n  critic: mlp\n  "
                         "objective: least_squares\n  optimizer: adam\n  metrics: [translation]\n"
                         "seeds: [0]\n";
  CommandResult r = run_command(kant_exe() + " validate " + file.string());
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("trains no inverse network"));
}

TEST_CASE("a CycleGAN runs from YAML, stores its grids, and kant latent refuses it",
          "[cyclegan][e2e]") {
  const fs::path dir = temp_dir("kant-cyclegan-run");
  CommandResult r =
      run_command(kant_exe() + " run " + std::string(KANT_TEST_SOURCE_DIR) +
                  "/tests/data/cyclegan.yaml --threads 1 --jobs 2 --results " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("2 complete, 0 diverged, 0 failed"));
  const std::vector<fs::path> cells = files_matching(dir / "cyclegan" / "cells", ".h5");
  REQUIRE(cells.size() == 2);
  for (const fs::path& cell : cells) {
    const CellSummary c = read_cell_summary(cell);
    for (const char* v : {"accuracy_ab", "accuracy_ba", "real_a", "real_b"}) {
      const double x = c.final_metrics.at(std::string("translation.") + v);
      CHECK(x >= 0);
      CHECK(x <= 1);
    }
    CHECK(c.final_metrics.at("translation.cycle_a") > 0);
    CHECK(c.final_metrics.at("translation.fd_real") > 0);
    Shape shape;
    read_cell_dataset(cell, "arrays/translation/a_to_b", &shape);
    CHECK(shape == Shape{3, 8, 1, 8, 8});
    // stored samples are G(a): images of the data's shape
    read_cell_dataset(cell, "samples/generated", &shape);
    CHECK(shape == Shape{16, 1, 8, 8});
    // kant latent: one line, exit 2, the file untouched
    const std::string digest = sha256_file(cell);
    CommandResult latent = run_command(kant_exe() + " latent interpolate " + cell.string());
    INFO(latent.output);
    CHECK(latent.exit_code == 2);
    CHECK_THAT(latent.output,
               Catch::Contains("kant latent needs a generator that maps a code vector") &&
                   Catch::Contains("procedure 'cyclegan' gives its generator [1, 8, 8]"));
    CHECK(sha256_file(cell) == digest);
  }
  CommandResult report = run_command(kant_exe() + " report " + (dir / "cyclegan").string());
  INFO(report.output);
  CHECK(report.exit_code == 0);
  CHECK_FALSE(files_matching(dir / "cyclegan", "translation_").empty());
}
