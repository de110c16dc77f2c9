// Layers, initialisers, checkpoints, and the convolutional path end to end: a DCGAN trains
// with WGAN-GP from YAML, bit-identically for a given seed and thread count (1 and 2).
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "kant/checkpoint.hpp"
#include "kant/error.hpp"
#include "kant/layers.hpp"
#include "store/h5.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path dir = temp_dir("kant-modules");
  ~TempDir() { fs::remove_all(dir); }
  const fs::path& path() const { return dir; }
};

// conv → batch norm → leaky ReLU → linear, named like a real critic.
class SmallConvNet : public Network {
 public:
  explicit SmallConvNet(uint64_t seed, int64_t width = 3) {
    Rng rng(seed);
    conv_ =
        Conv2d(*this, "block1.conv", 1, width, 3, Conv2dOptions::square(2, 1), true, Init{}, rng);
    norm_ = BatchNorm(*this, "block1.norm", width, rng);
    fc_ = Linear(*this, "fc", width * 4 * 4, 1, true, Init{"orthogonal", 1.0f}, rng);
  }
  Tensor forward(const Tensor& x) override {
    return fc_(flatten(leaky_relu(norm_(conv_(x)), 0.2f)));
  }

 private:
  Conv2d conv_;
  BatchNorm norm_;
  Linear fc_;
};

bool same_values(const Module& a, const Module& b) {
  auto eq = [](const auto& x, const auto& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i].first != y[i].first || x[i].second.to_vector() != y[i].second.to_vector())
        return false;
    return true;
  };
  return eq(a.named_parameters(), b.named_parameters()) && eq(a.named_buffers(), b.named_buffers());
}

// One Adam step on the mean output.
void train_step(SmallConvNet& net, Optimizer& opt, const Tensor& x) {
  auto params = net.parameters();
  opt.step(params, grad({mean(net(x))}, params));
}

}  // namespace

TEST_CASE("initialisers have their stated distributions", "[modules]") {
  Rng rng(1);
  Tensor q = initialise({6, 20}, Init{"orthogonal", 2.0f}, rng);  // rows orthogonal, norm 2
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 6; ++j) {
      double d = 0;
      for (int64_t k = 0; k < 20; ++k) d += double(q.data()[i * 20 + k]) * q.data()[j * 20 + k];
      CHECK(d == Approx(i == j ? 4.0 : 0.0).margin(1e-5));
    }
  Tensor tall = initialise({20, 3, 2}, Init{"orthogonal", 1.0f}, rng);  // columns orthonormal
  for (int64_t i = 0; i < 6; ++i) {
    double d = 0;
    for (int64_t r = 0; r < 20; ++r) d += double(tall.data()[r * 6 + i]) * tall.data()[r * 6 + i];
    CHECK(d == Approx(1.0).margin(1e-5));
  }
  auto std_of = [](const Tensor& t) {
    double s = 0, s2 = 0;
    for (float v : t.to_vector()) s += v, s2 += double(v) * v;
    const double n = double(t.numel());
    return std::sqrt(s2 / n - (s / n) * (s / n));
  };
  // conv weight [64, 32, 3, 3]: fan_in 288, fan_out 576
  CHECK(std_of(initialise({64, 32, 3, 3}, Init{"he_normal", std::sqrt(2.0f)}, rng)) ==
        Approx(std::sqrt(2.0 / 288)).epsilon(0.03));
  CHECK(std_of(initialise({64, 32, 3, 3}, Init{"xavier_normal", 1.0f}, rng)) ==
        Approx(std::sqrt(2.0 / (288 + 576))).epsilon(0.03));
  CHECK(std_of(initialise({64, 32, 3, 3}, Init{"normal", 1.0f, 0.02f}, rng)) ==
        Approx(0.02).epsilon(0.03));
  Tensor u = initialise({64, 32, 3, 3}, Init{"xavier_uniform", 1.0f}, rng);
  const float bound = float(std::sqrt(6.0 / (288 + 576)));
  for (float v : u.to_vector()) REQUIRE(std::abs(v) <= bound);
  CHECK(init_gain("leaky_relu", 0.2f) == Approx(std::sqrt(2.0 / 1.04)));
  CHECK_THROWS_WITH(initialise({2, 2}, Init{"bogus"}, rng), Catch::Contains("unknown initialiser"));
}

TEST_CASE("layers register named parameters and buffers, batch norm follows the mode",
          "[modules]") {
  SmallConvNet net(3);
  std::vector<std::string> names;
  for (const auto& [name, t] : net.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"block1.conv.weight", "block1.conv.bias",
                                          "block1.norm.weight", "block1.norm.bias", "fc.weight",
                                          "fc.bias"});
  REQUIRE(net.named_buffers().size() == 2);
  CHECK(net.named_buffers()[0].first == "block1.norm.running_mean");
  Tensor x = random_tensor({4, 1, 8, 8}, -1, 1, 4);
  const std::vector<float> before = net.named_buffers()[0].second.to_vector();
  net(x);
  CHECK(net.named_buffers()[0].second.to_vector() != before);  // training updates running stats
  net.set_training(false);
  const std::vector<float> frozen = net.named_buffers()[0].second.to_vector();
  Tensor a = net(x), b = net(slice(x, 0, 0, 1));
  CHECK(net.named_buffers()[0].second.to_vector() == frozen);
  CHECK(a.data()[0] == Approx(b.data()[0]).margin(1e-6));  // evaluation: rows independent
}

TEST_CASE("checkpoints restore parameters, buffers and optimizer state bit for bit",
          "[modules][checkpoint]") {
  TempDir dir;
  const fs::path path = dir.path() / "ckpt.h5";
  auto make_adam = [] {
    return make_component<Optimizer, OptimizerFactory>(Kind::optimizer, "adam",
                                                       {{"lr", Value(0.01)}});
  };
  Tensor x = random_tensor({4, 1, 8, 8}, -1, 1, 5);

  SmallConvNet a(7);
  auto opt_a = make_adam();
  for (int i = 0; i < 3; ++i) train_step(a, *opt_a, x);
  save_checkpoint(path, {{{"critic", &a}}, {{"critic_optimizer", opt_a.get()}}});
  CHECK_FALSE(fs::exists(dir.path() / "ckpt.h5.tmp"));

  SmallConvNet b(8);  // different initial weights
  auto opt_b = make_adam();
  CHECK_FALSE(same_values(a, b));
  load_checkpoint(path, {{{"critic", &b}}, {{"critic_optimizer", opt_b.get()}}});
  CHECK(same_values(a, b));
  // the restored optimizer continues exactly as the original (moments and step count)
  train_step(a, *opt_a, x);
  train_step(b, *opt_b, x);
  CHECK(same_values(a, b));

  // another architecture: a clear error, and nothing of it is overwritten
  SmallConvNet wider(9, 5);
  const std::vector<float> kept = wider.named_parameters()[0].second.to_vector();
  CHECK_THROWS_WITH(load_checkpoint(path, {{{"critic", &wider}}, {}}),
                    Catch::Contains("block1.conv.weight"));
  CHECK(wider.named_parameters()[0].second.to_vector() == kept);
  CHECK_THROWS_WITH(load_checkpoint(path, {{{"generator", &b}}, {}}),
                    Catch::Contains("no module generator"));
  CHECK_THROWS_AS(load_checkpoint(dir.path() / "missing.h5", {{{"critic", &b}}, {}}), Error);
}

TEST_CASE("a DCGAN trains with WGAN-GP from YAML, bit-identically at 1 and at 2 threads",
          "[modules][e2e]") {
  for (int threads : {1, 2}) {
    INFO(threads << " thread(s)");
    TempDir a, b;
    for (const TempDir* d : {&a, &b}) {
      CommandResult r = run_command(
          fmt::format("{} run {}/tests/data/tiny_dcgan.yaml --jobs 1 --threads {} --results {}",
                      kant_exe(), KANT_TEST_SOURCE_DIR, threads, d->path().string()));
      INFO(r.output);
      REQUIRE(r.exit_code == 0);
      CHECK_THAT(r.output, Catch::Contains("2 complete, 0 diverged, 0 failed"));
    }
    int cells = 0;
    for (const auto& e : fs::directory_iterator(a.path() / "tiny_dcgan" / "cells")) {
      if (e.path().extension() != ".h5") continue;
      ++cells;
      h5::File fa = h5::File::open(e.path()),
               fb = h5::File::open(b.path() / "tiny_dcgan" / "cells" / e.path().filename());
      for (const char* name : {"loss_critic", "loss_generator", "penalty"})
        CHECK(fa.root().open_group("series").read(name) ==
              fb.root().open_group("series").read(name));
      Shape shape;
      CHECK(fa.root().open_group("samples").read("generated", &shape) ==
            fb.root().open_group("samples").read("generated"));
      CHECK(shape == Shape{16, 1, 28, 28});
    }
    CHECK(cells == 2);
  }
}
