// Metric plugins on inputs whose answer is known: shifted samples for W1, identical samples
// for MMD, two Gaussians for the f-divergences.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/components.hpp"
#include "kant/distances.hpp"
#include "kant/layers.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;

namespace {

// A context whose generator is G and whose noise is N(0, 1) in one dimension.
struct Context {
  std::shared_ptr<Dataset> data;
  AffineGenerator generator;
  Rng rng{9}, noise_rng{10};
  MetricContext ctx{*data,
                    generator,
                    &generator,
                    [this](int64_t n) {
                      NoGradGuard no_grad;
                      return generator.forward(noise_rng.normal_tensor({n, 1}));
                    },
                    rng,
                    [this](int64_t n) {
                      return noise_rng.normal_tensor({n, 1});
                    }};
  Context(std::shared_ptr<Dataset> d, float mu, float sigma)
      : data(std::move(d)), generator(mu, sigma) {}
};

std::shared_ptr<Dataset> gaussian_1d(double mu, double sigma) {
  return make_dataset("gaussian_mixture_1d", {{"weights", std::vector<double>{1}},
                                              {"means", std::vector<double>{mu}},
                                              {"stds", std::vector<double>{sigma}}});
}
}  // namespace

TEST_CASE("sample distances between a shifted generator and its data", "[metric]") {
  // data N(0.5, 1), generator N(2.5, 1): W1 = SW = 2 for the distributions
  Context c(gaussian_1d(0.5, 1.0), 2.5f, 1.0f);
  CHECK(make_metric("wasserstein_exact", {{"samples", int64_t{1000}}})->compute(c.ctx).at("w1") ==
        Approx(2.0).margin(0.15));
  CHECK(make_metric("sliced_wasserstein")->compute(c.ctx).at("sw") == Approx(2.0).margin(0.15));
  CHECK(make_metric("mmd", {{"samples", int64_t{300}}})->compute(c.ctx).at("mmd2") > 0.1);
  Context same(gaussian_1d(0.5, 1.0), 0.5f, 1.0f);
  CHECK(std::abs(make_metric("mmd", {{"samples", int64_t{300}}})->compute(same.ctx).at("mmd2")) <
        0.02);
}

TEST_CASE("exact f-divergences between two Gaussians match their closed forms", "[metric]") {
  const double m1 = 1.0, s1 = 0.5, m2 = 0.0, s2 = 1.0, d = m1 - m2;
  Context c(gaussian_1d(m1, s1), static_cast<float>(m2), static_cast<float>(s2));
  auto v = make_metric("f_divergence_1d")->compute(c.ctx);
  CHECK(v.at("mu") == Approx(m2).margin(1e-6));
  CHECK(v.at("sigma") == Approx(s2));
  auto kl = [](double ma, double sa, double mb, double sb) {
    return std::log(sb / sa) + (sa * sa + (ma - mb) * (ma - mb)) / (2 * sb * sb) - 0.5;
  };
  auto pearson = [](double ma, double sa, double mb, double sb) {  // ∫ (p−q)²/q, p = N(ma, sa²)
    return sb * sb / (sa * std::sqrt(2 * sb * sb - sa * sa)) *
               std::exp((ma - mb) * (ma - mb) / (2 * sb * sb - sa * sa)) -
           1;
  };
  CHECK(v.at("exact_kl") == Approx(kl(m1, s1, m2, s2)).epsilon(1e-7));
  CHECK(v.at("exact_reverse_kl") == Approx(kl(m2, s2, m1, s1)).epsilon(1e-7));
  CHECK(v.at("exact_jeffrey") == Approx(kl(m1, s1, m2, s2) + kl(m2, s2, m1, s1)).epsilon(1e-7));
  CHECK(v.at("exact_pearson") == Approx(pearson(m1, s1, m2, s2)).epsilon(1e-7));
  CHECK(v.at("exact_hellinger") ==
        Approx(2 * (1 - std::sqrt(2 * s1 * s2 / (s1 * s1 + s2 * s2)) *
                            std::exp(-d * d / (4 * (s1 * s1 + s2 * s2)))))
            .epsilon(1e-7));
  // N(1, 0.5²) has 2σ² < σ_Q² the other way round: Neyman's ∫(q−p)²/p diverges — so check
  // Neyman on a pair where it is finite, and TV on equal variances: erf(Δ/(2√2 σ))
  Context equal(gaussian_1d(1.0, 1.0), 0.0f, 1.0f);
  auto e = make_metric("f_divergence_1d")->compute(equal.ctx);
  CHECK(e.at("exact_neyman") == Approx(pearson(0, 1, 1, 1)).epsilon(1e-7));
  CHECK(e.at("exact_total_variation") ==
        Approx(std::erf(1.0 / (2 * std::sqrt(2.0)))).epsilon(1e-7));
  // the three Jensen–Shannon conventions agree with one another and stay in range
  CHECK(v.at("exact_jensen_shannon") == Approx(2 * v.at("exact_js")));
  CHECK(v.at("exact_gan") == Approx(v.at("exact_jensen_shannon") - std::log(4.0)));
  CHECK(v.at("exact_js") > 0);
  CHECK(v.at("exact_js") < std::log(2.0));
}

TEST_CASE("variational f-divergence estimates from a retrained critic approach the exact ones",
          "[metric]") {
  Context c(gaussian_1d(1.0, 0.5), 0.0f, 1.0f);
  auto v = make_metric("f_divergence_1d", {{"variational", std::string("kl, hellinger")},
                                           {"critic_steps", int64_t{1500}}})
               ->compute(c.ctx);
  // a lower bound up to sampling noise, and close to tight for a flexible critic
  for (const char* d : {"kl", "hellinger"}) {
    INFO(d);
    CHECK(v.at(std::string("variational_") + d) <= v.at(std::string("exact_") + d) * 1.05);
    CHECK(v.at(std::string("variational_") + d) >= v.at(std::string("exact_") + d) * 0.85);
  }
  CHECK_THROWS_WITH(make_metric("f_divergence_1d", {{"variational", std::string("kl, pearsn")}}),
                    Catch::Contains("unknown divergence 'pearsn'"));
}

TEST_CASE("f_divergence_1d refuses a generator that is not Gaussian", "[metric]") {
  auto data = gaussian_1d(0, 1);
  Rng rng(1);
  NetworkSpec spec{Role::generator, {1}, {1}, &rng};
  auto mlp = make_component<Network, ArchitectureFactory>(
      Kind::architecture, "mlp", {{"hidden", std::vector<int64_t>{8}}}, spec);
  Rng noise(2);
  MetricContext ctx{*data,     *mlp,
                    mlp.get(), [&](int64_t n) { return mlp->forward(noise.normal_tensor({n, 1})); },
                    rng,       [&](int64_t n) { return noise.normal_tensor({n, 1}); }};
  CHECK_THROWS_WITH(make_metric("f_divergence_1d")->compute(ctx),
                    Catch::Contains("affine generator"));
}

namespace {
// Dense matrix of a linear map on `in` inputs, and its largest singular value √λ_max(AᵀA).
double dense_spectral_norm(const std::function<Tensor(const Tensor&)>& apply,
                           const Shape& input_shape) {
  const int64_t in = shape_numel(input_shape);
  Shape batch{in};
  batch.insert(batch.end(), input_shape.begin(), input_shape.end());
  Tensor basis = Tensor::zeros(batch);
  for (int64_t i = 0; i < in; ++i) basis.data()[i * in + i] = 1;
  NoGradGuard no_grad;
  Tensor columns = apply(basis);  // row i = A e_i
  const int64_t out = columns.numel() / in;
  std::vector<double> ata(static_cast<size_t>(in * in));
  for (int64_t i = 0; i < in; ++i)
    for (int64_t j = 0; j < in; ++j)
      for (int64_t k = 0; k < out; ++k)
        ata[static_cast<size_t>(i * in + j)] +=
            double(columns.data()[i * out + k]) * columns.data()[j * out + k];
  std::vector<double> values, vectors;
  symmetric_eigen(ata, in, values, vectors);
  return std::sqrt(*std::max_element(values.begin(), values.end()));
}

// A critic that is one convolution: its bound is the convolution's operator norm.
class ConvCritic : public Network {
 public:
  explicit ConvCritic(Rng& rng)
      : conv_(*this, "conv", 2, 3, 3, Conv2dOptions::square(2, 1), false, Init{}, rng) {}
  Tensor forward(const Tensor& x) override { return sum(conv_(x), {1, 2, 3}, true); }
  std::optional<double> lipschitz_upper_bound(const OperatorNorm& norm) override {
    return norm(conv_.as_operator("conv", {2, 5, 5}));
  }
  Conv2d conv_;
};
}  // namespace

TEST_CASE("Lipschitz bounds: spectral norms against a dense eigen-decomposition", "[metric]") {
  auto data = make_dataset("ring");
  Rng rng(21);
  NetworkSpec spec{Role::critic, {2}, {1}, &rng};
  auto mlp = make_component<Network, ArchitectureFactory>(
      Kind::architecture, "mlp", {{"hidden", std::vector<int64_t>{16, 8}}}, spec);
  MetricContext ctx{*data, *mlp, mlp.get(),
                    [&](int64_t n) {
                      return rng.normal_tensor({n, 2});
                    },
                    rng};
  auto v = make_metric("lipschitz_bounds")->compute(ctx);
  double product = 1;
  for (const auto& [name, w] : mlp->named_parameters())
    if (w.dim() == 2)
      product *= dense_spectral_norm([&w](const Tensor& x) { return linear(x, w, Tensor()); },
                                     {w.size(1)});
  CHECK(v.at("upper") == Approx(product).epsilon(1e-4));
  CHECK(v.at("lower") <= v.at("lower_ascent"));
  CHECK(v.at("lower_ascent") <= v.at("upper"));
  CHECK(v.at("lower") > 0);

  ConvCritic conv(rng);
  Tensor w = conv.named_parameters()[0].second;
  const double exact = dense_spectral_norm(
      [&](const Tensor& x) { return conv2d(x, w, Tensor(), Conv2dOptions::square(2, 1)); },
      {2, 5, 5});
  // the conv layer reports itself as the operator on its 2×5×5 input (stride 2, padding 1)
  const OperatorNorm dense = [](const LinearOperator& op) {
    return dense_spectral_norm(op.apply, op.input_shape);
  };
  CHECK(*conv.lipschitz_upper_bound(dense) == Approx(exact));
  // and the metric's power iteration finds the same norm on it
  struct Noise : Dataset {
    Shape sample_shape() const override { return {2, 5, 5}; }
    Tensor sample(int64_t n, Rng& r) override { return r.normal_tensor({n, 2, 5, 5}); }
  } noise;
  MetricContext conv_ctx{noise, conv, &conv,
                         [&](int64_t n) {
                           return rng.normal_tensor({n, 2, 5, 5});
                         },
                         rng};
  CHECK(make_metric("lipschitz_bounds")->compute(conv_ctx).at("upper") ==
        Approx(exact).epsilon(1e-4));
  // batch-normalised critics have no layer-wise bound
  auto bn = make_component<Network, ArchitectureFactory>(
      Kind::architecture, "mlp", {{"normalization", std::string("batch")}}, spec);
  MetricContext bn_ctx{*data, *bn, bn.get(),
                       [&](int64_t n) {
                         return rng.normal_tensor({n, 2});
                       },
                       rng};
  CHECK(std::isnan(make_metric("lipschitz_bounds", {{"ascent_steps", int64_t{2}}})
                       ->compute(bn_ctx)
                       .at("upper")));
}

TEST_CASE("generator gradient under the minimax and −log D costs", "[metric]") {
  // G(z) = b (one parameter), v(x) = a·x: ∂/∂b E[−softplus(ab)] = −a σ(ab) and
  // ∂/∂b E[softplus(−ab)] = −a σ(−ab)
  class Constant : public Network {
   public:
    Constant() { b_ = register_parameter("b", Tensor::from({1}, {0.8f})); }
    Tensor forward(const Tensor& z) override {
      return linear(z, Tensor::zeros({1, z.size(1)}), use(b_));
    }
    size_t b_;
  } generator;
  LinearCritic critic(Tensor::from({1, 1}, {2.5f}));
  auto data = gaussian_1d(0, 1);
  Rng rng(3);
  MetricContext ctx{
      *data,   generator,
      &critic, [&](int64_t n) { return generator.forward(rng.normal_tensor({n, 1})); },
      rng,     [&](int64_t n) { return rng.normal_tensor({n, 1}); }};
  auto v = make_metric("generator_gradient")->compute(ctx);
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  CHECK(v.at("minimax") == Approx(2.5 * sigmoid(2.5 * 0.8)).epsilon(1e-5));
  CHECK(v.at("nonsaturating") == Approx(2.5 * sigmoid(-2.5 * 0.8)).epsilon(1e-5));
}

TEST_CASE("classifier scores on digits: real data score well, a collapsed generator badly",
          "[metric]") {
  auto digits = make_dataset("digits");
  auto cache = temp_dir("kant_classifier_cache");
  std::map<std::string, Value> settings{{"cache_dir", cache.string()}, {"samples", int64_t{500}}};
  Rng rng(31), data_rng(32);
  LinearCritic unused(Tensor::zeros({1, 64}));
  // "generator" 1: the data themselves; 2: one image repeated
  MetricContext real_ctx{*digits, unused, &unused,
                         [&](int64_t n) { return digits->sample(n, data_rng); }, rng};
  Tensor one = digits->sample(1, data_rng);
  MetricContext collapsed_ctx{*digits, unused, &unused,
                              [&](int64_t n) {
                                return broadcast_to(one, {n, 1, 8, 8});
                              },
                              rng};
  auto first = make_metric("classifier_scores", settings);
  auto real = first->compute(real_ctx);
  CHECK(real.at("accuracy") > 0.9);
  CHECK(real.at("classes") == 10);
  auto collapsed = first->compute(collapsed_ctx);
  CHECK(collapsed.at("classes") == 1);
  CHECK(collapsed.at("fid") > 20 * real.at("fid"));
  CHECK(collapsed.at("accuracy") == real.at("accuracy"));
  // trained once: a second instance loads the cached classifier and scores identically
  size_t files = 0;
  std::filesystem::path cached;
  for (const auto& e : std::filesystem::directory_iterator(cache))
    if (e.path().extension() == ".h5") ++files, cached = e.path();
  CHECK(files == 1);
  const auto stamp = std::filesystem::last_write_time(cached);
  Rng rng2(31), data_rng2(32);
  MetricContext again{*digits, unused, &unused,
                      [&](int64_t n) { return digits->sample(n, data_rng2); }, rng2};
  auto second = make_metric("classifier_scores", settings)->compute(again);
  CHECK(second.at("accuracy") == real.at("accuracy"));
  CHECK(std::filesystem::last_write_time(cached) == stamp);
  Context unlabelled(gaussian_1d(0, 1), 0, 1);
  CHECK_THROWS_WITH(make_metric("classifier_scores", settings)->compute(unlabelled.ctx),
                    Catch::Contains("needs a labelled data set"));
}

TEST_CASE("gradient_norms: per-layer critic-loss gradients and weight histograms", "[metric]") {
  auto data = make_dataset("ring");
  Rng rng(41);
  NetworkSpec spec{Role::critic, {2}, {1}, &rng};
  auto critic = make_component<Network, ArchitectureFactory>(
      Kind::architecture, "mlp", {{"hidden", std::vector<int64_t>{8, 6}}}, spec);
  MetricContext ctx{*data, *critic, critic.get(),
                    [&](int64_t n) {
                      return rng.normal_tensor({n, 2});
                    },
                    rng};
  const int64_t n = 64;
  auto v = make_metric("gradient_norms", {{"samples", n}})->compute(ctx);
  // L = mean D(fake) − mean D(real) with D = h₂ wᵀ + b: every row of ∂L/∂h₂ is ±w/N, so over
  // both batches ‖∂L/∂h₂‖ = ‖w‖·√(2N)/N
  const Tensor& w = critic->named_parameters()[4].second;
  double w2 = 0;
  for (float x : w.to_vector()) w2 += double(x) * x;
  CHECK(v.at("activation_grad_hidden2") == Approx(std::sqrt(w2 * 2 * n) / n).epsilon(1e-5));
  CHECK(v.count("activation_grad_hidden1") == 1);
  auto arrays = make_metric("gradient_norms", {{"bins", int64_t{10}}})->final_arrays(ctx);
  REQUIRE(arrays.count("weight_histogram.layers.1.weight") == 1);
  const Tensor& counts = arrays.at("weight_histogram.layers.1.weight");
  const Tensor& edges = arrays.at("weight_edges.layers.1.weight");
  CHECK(counts.numel() == 10);
  double total = 0;
  for (float c : counts.to_vector()) total += c;
  CHECK(total == 6 * 8);
  const auto weights = critic->named_parameters()[2].second.to_vector();
  CHECK(edges.data()[0] == *std::min_element(weights.begin(), weights.end()));
  CHECK(edges.data()[10] == Approx(*std::max_element(weights.begin(), weights.end())));
  CHECK(arrays.count("weight_histogram.layers.1.bias") == 0);
}

TEST_CASE(
    "sample_quality on digits: the data score well, a collapsed generator badly, copies of "
    "training images are caught",
    "[metric]") {
  auto digits = make_dataset("digits");
  auto cache = temp_dir("kant_feature_cache");
  std::filesystem::remove_all(cache);
  const std::map<std::string, Value> settings{
      {"cache_dir", cache.string()},          {"samples", int64_t{400}},
      {"kid_subsets", int64_t{20}},           {"kid_subset_size", int64_t{100}},
      {"memorisation_samples", int64_t{400}}, {"epochs", int64_t{20}}};
  LinearCritic unused(Tensor::zeros({1, 64}));
  const LabelledSet all = *digits->labelled();
  const LabelledSet train = training_part(all);
  Rng rng(31), data_rng(32);
  // "generators": the held-out fifth of the data (unseen images), one image repeated, and
  // training images themselves
  const LabelledSet unseen = held_out_part(all);
  auto draw = [&](const LabelledSet& s, int64_t n) {
    std::vector<float> v;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t r = static_cast<int64_t>(data_rng.below(uint64_t(s.data.size(0))));
      v.insert(v.end(), s.data.data() + r * 64, s.data.data() + (r + 1) * 64);
    }
    return Tensor::from({n, 1, 8, 8}, v);
  };
  MetricContext unseen_ctx{*digits, unused, &unused, [&](int64_t n) { return draw(unseen, n); },
                           rng};
  const Tensor one = digits->sample(1, data_rng);
  MetricContext collapsed_ctx{*digits, unused, &unused,
                              [&](int64_t n) {
                                return broadcast_to(one, {n, 1, 8, 8});
                              },
                              rng};
  MetricContext copies_ctx{*digits, unused, &unused, [&](int64_t n) { return draw(train, n); },
                           rng};
  auto m = make_metric("sample_quality", settings);
  const auto good = m->compute(unseen_ctx);
  CHECK(good.at("accuracy") > 0.9);
  CHECK(good.at("classes") == 10);
  CHECK(good.at("is") > 6);
  CHECK(good.at("class_kl") < 0.05);
  CHECK(good.at("precision") > 0.7);
  CHECK(good.at("recall") > 0.7);
  CHECK(good.at("coverage") > 0.7);
  CHECK(good.at("authenticity") > 0.85);  // unseen images: 1 − 0.05 up to sampling noise
  CHECK(std::abs(good.at("kid")) < 3 * good.at("kid_std"));
  const auto bad = m->compute(collapsed_ctx);
  CHECK(bad.at("classes") == 1);
  CHECK(bad.at("is") == Approx(1.0).margin(1e-3));
  CHECK(bad.at("fd") > 10 * good.at("fd"));
  CHECK(bad.at("kid") > 10 * std::abs(good.at("kid")));
  CHECK(bad.at("recall") < 0.05);
  CHECK(bad.at("coverage") < 0.05);
  CHECK(bad.at("class_kl") == Approx(std::log(10.0)).epsilon(0.05));  // one of ten classes
  CHECK(bad.at("accuracy") == good.at("accuracy"));
  const auto copied = m->compute(copies_ctx);
  CHECK(copied.at("authenticity") == 0.0);
  const auto arrays = m->final_arrays(copies_ctx);
  const Tensor& pairs = arrays.at("closest_pairs");
  REQUIRE(pairs.shape() == Shape{16, 1, 8, 8});
  CHECK(arrays.at("closest_distances").data()[0] == 0.0f);
  CHECK(std::equal(pairs.data(), pairs.data() + 8 * 64, pairs.data() + 8 * 64));
  CHECK(arrays.at("intra_fd_per_class").numel() == 10);
  // trained once: a second instance loads it
  const auto again = make_metric("sample_quality", settings)->compute(unseen_ctx);
  CHECK(again.at("accuracy") == good.at("accuracy"));
  Context unlabelled(gaussian_1d(0, 1), 0, 1);
  CHECK_THROWS_WITH(make_metric("sample_quality", settings)->compute(unlabelled.ctx),
                    Catch::Contains("needs a labelled image data set"));
}
