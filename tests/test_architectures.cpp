// Architectures: mlp options (maxout, group_sort, normalisation, depth), resnet shapes and
// bound, image_to_image by hand, PacGAN packing of any critic, and the zoo grid of every
// architecture and data set.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "kant/layers.hpp"
#include "kant/packing.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;

namespace {
std::shared_ptr<Network> network(const std::string& name, Role role, const Shape& in,
                                 const Shape& out, std::map<std::string, Value> values, Rng& rng) {
  NetworkSpec spec{role, in, out, &rng};
  return make_component<Network, ArchitectureFactory>(Kind::architecture, name, std::move(values),
                                                      spec);
}
}  // namespace

TEST_CASE("mlp: PacGAN's maxout critic, group sort, depth and normalisation", "[architecture]") {
  Rng rng(1);
  // 3 hidden layers of 200 units × 5 pieces: weights [1000, in] then maxout to 200
  auto pac = network(
      "mlp", Role::critic, {4}, {1},
      {{"hidden", std::vector<int64_t>{200, 200, 200}}, {"maxout_pieces", int64_t{5}}}, rng);
  const auto& params = pac->named_parameters();
  REQUIRE(params.size() == 8);
  CHECK(params[0].second.shape() == Shape{1000, 4});
  CHECK(params[2].second.shape() == Shape{1000, 200});
  CHECK(params[6].second.shape() == Shape{1, 200});
  // maxout by hand on the first layer: h = max over runs of 5 of x W₀ᵀ + b₀
  Tensor x = rng.normal_tensor({3, 4});
  NoGradGuard no_grad;
  Tensor pre = linear(x, params[0].second, params[1].second);
  Tensor h = relu(maxout(pre, 5));
  for (size_t k = 1; k < 3; ++k)
    h = relu(maxout(linear(h, params[2 * k].second, params[2 * k + 1].second), 5));
  Tensor expected = linear(h, params[6].second, params[7].second);
  CHECK(pac->forward(x).to_vector() == expected.to_vector());

  auto sorted = network(
      "mlp", Role::critic, {2}, {1},
      {{"activation", std::string("group_sort")}, {"hidden", std::vector<int64_t>{4}}}, rng);
  Tensor x2 = rng.normal_tensor({3, 2});
  const auto& sp = sorted->named_parameters();
  Tensor by_hand =
      linear(group_sort(linear(x2, sp[0].second, sp[1].second), 2), sp[2].second, sp[3].second);
  CHECK(sorted->forward(x2).to_vector() == by_hand.to_vector());
  CHECK_THROWS_WITH(
      network("mlp", Role::critic, {2}, {1},
              {{"activation", std::string("group_sort")}, {"hidden", std::vector<int64_t>{5}}},
              rng),
      Catch::Contains("not a multiple of group_size 2"));
  auto deep =
      network("mlp", Role::critic, {2}, {1}, {{"depth", int64_t{4}}, {"width", int64_t{7}}}, rng);
  CHECK(deep->named_parameters().size() == 10);
  CHECK(deep->named_parameters()[2].second.shape() == Shape{7, 7});
  auto layer =
      network("mlp", Role::critic, {2}, {1}, {{"normalization", std::string("layer")}}, rng);
  CHECK(layer->named_parameters().size() == 8 + 6);  // 4 linear layers; γ, β per hidden layer
  CHECK(layer->batch_independent());
  auto batch =
      network("mlp", Role::generator, {2}, {2}, {{"normalization", std::string("batch")}}, rng);
  CHECK_FALSE(batch->batch_independent());
  CHECK(batch->named_buffers().size() == 6);
  auto affine =
      network("mlp", Role::generator, {1}, {1}, {{"hidden", std::vector<int64_t>{}}}, rng);
  CHECK(affine->named_parameters().size() == 2);
}

TEST_CASE("resnet: generator and critic shapes for 28, 32 and 64 px", "[architecture]") {
  Rng rng(2);
  for (auto [size, depth] : {std::pair<int64_t, int64_t>{32, 3}, {28, 2}, {64, 4}}) {
    INFO(size);
    auto g = network("resnet", Role::generator, {16}, {3, size, size},
                     {{"width", int64_t{8}}, {"depth", depth}}, rng);
    Tensor images = g->forward(rng.normal_tensor({2, 16}));
    CHECK(images.shape() == Shape{2, 3, size, size});
    auto d = network("resnet", Role::critic, {3, size, size}, {1},
                     {{"width", int64_t{8}}, {"depth", depth}}, rng);
    CHECK(d->forward(images).shape() == Shape{2, 1});
  }
  CHECK_THROWS_WITH(
      network("resnet", Role::generator, {16}, {1, 28, 28}, {{"depth", int64_t{3}}}, rng),
      Catch::Contains("cannot reach 28 px"));
  // the layer-wise bound holds: no gradient norm exceeds it
  auto d = network("resnet", Role::critic, {1, 8, 8}, {1},
                   {{"width", int64_t{4}}, {"depth", int64_t{2}}}, rng);
  // the bound as the lipschitz_bounds metric computes it (power iteration per operator)
  auto digits = make_component<Dataset, DatasetFactory>(Kind::dataset, "digits", {}, uint64_t{0});
  MetricContext ctx{*digits, *d, d.get(),
                    [&](int64_t n) {
                      return rng.normal_tensor({n, 1, 8, 8});
                    },
                    rng};
  auto bounds = make_component<Metric, MetricFactory>(Kind::metric, "lipschitz_bounds",
                                                      {{"ascent_steps", int64_t{0}}});
  const double bound = bounds->compute(ctx).at("upper");
  Tensor x = rng.normal_tensor({64, 1, 8, 8}).set_requires_grad();
  Tensor g = grad({sum(d->forward(x))}, {x})[0];
  for (int64_t i = 0; i < 64; ++i) {
    double s = 0;
    for (int64_t j = 0; j < 64; ++j) s += double(g.data()[i * 64 + j]) * g.data()[i * 64 + j];
    REQUIRE(std::sqrt(s) <= bound);
  }
}

TEST_CASE("image_to_image: an image in, an image f times larger out, as composed by hand",
          "[architecture]") {
  Rng rng(3);
  NoGradGuard no_grad;
  const Conv2dOptions same = Conv2dOptions::square(1, 1);
  auto p = [](const Network& net, const std::string& name) {
    for (const auto& [n, t] : net.named_parameters())
      if (n == name) return t;
    FAIL("no parameter " << name);
    return Tensor();
  };
  // f = 2, one residual block, no normalisation, ReLU, no output activation
  auto g = network("image_to_image", Role::generator, {2, 3, 3}, {1, 6, 6},
                   {{"width", int64_t{4}},
                    {"blocks", int64_t{1}},
                    {"normalization", std::string("none")},
                    {"output_activation", std::string("none")}},
                   rng);
  // stem, block1.conv1, block1.conv2, up1.conv, out: a weight and a bias each
  CHECK(g->named_parameters().size() == 10);
  CHECK(p(*g, "up1.conv.weight").shape() == Shape{4, 4, 3, 3});
  Tensor x = rng.normal_tensor({2, 2, 3, 3});
  auto conv = [&](const std::string& name, const Tensor& h) {
    return conv2d(h, p(*g, name + ".weight"), p(*g, name + ".bias"), same);
  };
  Tensor h = relu(conv("stem", x));
  h = add(h, conv("block1.conv2", relu(conv("block1.conv1", h))));
  h = relu(conv("up1.conv", resize(h, 6, 6, Resize::nearest)));
  CHECK(g->forward(x).to_vector() == conv("out", h).to_vector());
  CHECK(g->batch_independent());
  // f = 1, 2, 4 and 8 from 7×7 and 14×14, tanh images; batch norm by default
  for (auto [side, out] : {std::pair<int64_t, int64_t>{7, 28}, {14, 28}, {28, 28}, {7, 56}}) {
    INFO(side << " → " << out);
    auto net = network("image_to_image", Role::generator, {1, side, side}, {3, out, out},
                       {{"width", int64_t{4}}}, rng);
    Tensor y = net->forward(rng.normal_tensor({3, 1, side, side}));
    CHECK(y.shape() == Shape{3, 3, out, out});
    for (float v : y.to_vector()) REQUIRE(std::abs(v) <= 1.0f);
    CHECK_FALSE(net->batch_independent());
  }
  // a conditional generator takes the label as maps beside every convolution's input
  NetworkSpec labelled{Role::generator, {1, 4, 4}, {1, 4, 4}, &rng, 3};
  auto cond = make_component<Network, ArchitectureFactory>(
      Kind::architecture, "image_to_image",
      {{"width", int64_t{3}}, {"condition", std::string("concat")}}, labelled);
  CHECK(p(*cond, "stem.weight").shape() == Shape{3, 1 + 3, 3, 3});
  Tensor xs = rng.normal_tensor({2, 1, 4, 4});
  Tensor a = cond->forward_conditional(xs, one_hot({0, 0}, 3));
  Tensor b = cond->forward_conditional(xs, one_hot({2, 2}, 3));
  CHECK(a.to_vector() != b.to_vector());
  CHECK_THROWS_WITH(cond->forward(xs), Catch::Contains("needs each sample's label"));
  // what it refuses
  CHECK_THROWS_WITH(network("image_to_image", Role::critic, {1, 28, 28}, {1}, {}, rng),
                    Catch::Contains("a generator's architecture"));
  CHECK_THROWS_WITH(network("image_to_image", Role::generator, {16}, {1, 28, 28}, {}, rng),
                    Catch::Contains("a generator of noise takes dcgan, resnet or mlp"));
  CHECK_THROWS_WITH(network("image_to_image", Role::generator, {1, 7, 7}, {1, 21, 21}, {}, rng),
                    Catch::Contains("not the input [1, 7, 7] enlarged by 1, 2, 4 or 8"));
}

TEST_CASE("image_to_image: gradients through the network, first and second order",
          "[architecture]") {
  Rng rng(4);
  auto g = network("image_to_image", Role::generator, {1, 2, 2}, {1, 4, 4},
                   {{"width", int64_t{2}},
                    {"normalization", std::string("layer")},
                    {"activation", std::string("tanh")}},
                   rng);
  check_both([&](const std::vector<Tensor>& in) { return g->forward(in[0]); },
             {random_tensor({2, 1, 2, 2}, -1, 1, 5)});
}

TEST_CASE("packing: a packed critic is the inner critic on concatenated samples",
          "[architecture]") {
  Rng rng(3);
  for (const Shape& sample : {Shape{2}, Shape{1, 28, 28}}) {
    const std::string name = sample.size() == 1 ? "mlp" : "dcgan";
    auto inner = network(name, Role::critic, packed_shape(sample, 3), {1},
                         {{"width", int64_t{4}}, {"hidden", std::vector<int64_t>{8}}}, rng);
    PackedCritic packed(inner, 3);
    CHECK(packed.pack() == 3);
    REQUIRE(packed.named_parameters().size() == inner->named_parameters().size());
    Shape batch{6};
    batch.insert(batch.end(), sample.begin(), sample.end());
    Tensor x = rng.normal_tensor(batch);
    Shape stacked = packed_shape(sample, 3);
    stacked.insert(stacked.begin(), 2);
    Tensor d = packed.forward(x);
    CHECK(d.shape() == Shape{2, 1});
    CHECK(d.to_vector() == inner->forward(reshape(x, stacked)).to_vector());
    // gradients reach the shared parameters, and a transform set on the wrapper is the inner's
    std::vector<Tensor> grads = grad({sum(d)}, packed.parameters());
    CHECK(grads.size() == inner->parameters().size());
    packed.set_parameter_transform([](const std::string&, const Tensor& w) { return w * 0.0f; });
    for (float v : inner->forward(reshape(x, stacked)).to_vector()) CHECK(v == 0.0f);
    CHECK_THROWS_WITH(packed.forward(rng.normal_tensor(Shape{4, sample[0]})),
                      Catch::Contains("multiples of 3"));
  }
}

TEST_CASE("the zoo: every architecture and data set, packed 1–4, validates and runs",
          "[architecture][e2e]") {
  auto dir = temp_dir("kant_zoo");
  // classifiers trained by classifier_scores are cached in the test's directory, not in $HOME
  const std::string cd =
      fmt::format("cd {} && KANT_CACHE_DIR={}/cache ", KANT_TEST_SOURCE_DIR, dir.string());
  CommandResult v = run_command(cd + kant_exe() + " validate experiments/zoo.yaml");
  INFO(v.output);
  REQUIRE(v.exit_code == 0);
  CHECK_THAT(v.output, Catch::Contains("32 cells, all valid"));
  CommandResult r =
      run_command(cd + kant_exe() +
                  " run experiments/zoo.yaml --set train.steps=2 --set train.batch_size=12"
                  " --set train.samples=12 --jobs 2 --quiet --results " +
                  dir.string());
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("32 complete, 0 diverged, 0 failed"));
  // a pack that does not divide the batch is a config error naming both
  CommandResult bad =
      run_command(cd + kant_exe() + " validate experiments/zoo.yaml --set train.batch_size=10");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("critic.pack = 3 must divide train.batch_size = 10"));
}
