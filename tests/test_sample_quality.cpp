// The sample-quality scores (kant/sample_quality.hpp) against closed forms and cases worked by
// hand: IS of uniform and one-hot outputs, KID of point masses and its unbiasedness, precision,
// recall, density and coverage of identical, disjoint and hand-placed sets, class histograms,
// the memorisation check; the feature network trained whatever the caller's gradient mode.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <optional>

#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/distances.hpp"
#include "kant/sample_quality.hpp"
#include "support.hpp"

using namespace kant;
using kant::testing::make_dataset;
using kant::testing::temp_dir;
namespace fs = std::filesystem;

namespace {
Tensor column(const std::vector<float>& v) { return Tensor::from({int64_t(v.size()), 1}, v); }

Tensor shifted(const Tensor& x, float by) {
  Tensor out = Tensor::empty(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) out.data()[i] = x.data()[i] + by;
  return out;
}
}  // namespace

TEST_CASE("Inception Score: 1 for uniform outputs, k for one-hot outputs over k classes",
          "[sample_quality]") {
  const int64_t n = 400, classes = 10;
  std::vector<float> uniform(n * classes, 1.0f / classes);
  const MeanStd u = inception_score(Tensor::from({n, classes}, uniform), 10);
  CHECK(u.mean == Approx(1.0).margin(1e-6));
  CHECK(u.std == Approx(0.0).margin(1e-6));
  for (int64_t k : {1, 2, 4, 10}) {
    std::vector<float> one_hot(n * classes, 0.0f);
    for (int64_t i = 0; i < n; ++i) one_hot[size_t(i * classes + i % k)] = 1.0f;  // cyclic
    const MeanStd s = inception_score(Tensor::from({n, classes}, one_hot), 10);
    CHECK(s.mean == Approx(double(k)).epsilon(1e-9));
    CHECK(s.std == Approx(0.0).margin(1e-9));
  }
  // by hand: rows (1, 0) and (½, ½); p(y) = (¾, ¼)
  const double kl1 = std::log(1 / 0.75), kl2 = 0.5 * std::log(0.5 / 0.75) + 0.5 * std::log(2.0);
  CHECK(inception_score(Tensor::from({2, 2}, {1, 0, 0.5f, 0.5f}), 1).mean ==
        Approx(std::exp((kl1 + kl2) / 2)).epsilon(1e-12));
  // two splits of different scores: mean and population std of (1, 2)
  const MeanStd two = inception_score(Tensor::from({4, 2}, {1, 0, 1, 0, 1, 0, 0, 1}), 2);
  CHECK(two.mean == Approx(1.5));
  CHECK(two.std == Approx(0.5));
}

TEST_CASE("KID: the unbiased MMD² with the cubic kernel, by hand and ≈ 0 for one distribution",
          "[sample_quality]") {
  Rng rng(5);
  // point masses at 0 and 1 in one dimension: k = 1, 8 and 1, so MMD² = 1 + 8 − 2·1 = 7
  const MeanStd masses = kernel_inception_distance(
      column(std::vector<float>(20, 0.0f)), column(std::vector<float>(20, 1.0f)), 10, 10, rng);
  CHECK(masses.mean == Approx(7.0).epsilon(1e-12));
  CHECK(masses.std == Approx(0.0).margin(1e-12));
  // {0, 1} against {1, 2}, k(x, y) = (xy + 1)³: Σ_{i≠j} k_xx/2 = 1, Σ_{i≠j} k_yy/2 = 27,
  // Σ k_xy = 1 + 1 + 8 + 27 = 37 → 1 + 27 − 2·37/4 = 9.5
  CHECK(kernel_inception_distance(column({0, 1}), column({1, 2}), 3, 2, rng).mean ==
        Approx(9.5).epsilon(1e-12));
  // two samples of one distribution: the mean over subsets is within noise of 0, though each
  // subset's biased V-statistic would be about 2(E k(x,x) − E k(x,y))/m ≈ 0.27 above it
  const Tensor a = rng.normal_tensor({4000, 8}), b = rng.normal_tensor({4000, 8});
  const int64_t subsets = 400;
  const MeanStd same = kernel_inception_distance(a, b, subsets, 50, rng);
  CHECK(std::abs(same.mean) < 4 * same.std / std::sqrt(double(subsets)));
  CHECK(std::abs(same.mean) < 0.05);
  const MeanStd itself = kernel_inception_distance(a, a, subsets, 50, rng);
  CHECK(std::abs(itself.mean) < 4 * itself.std / std::sqrt(double(subsets)));
  // a shifted copy is far
  CHECK(kernel_inception_distance(a, shifted(a, 1.0f), 20, 50, rng).mean > 1.0);
}

TEST_CASE("k-NN radii, precision, recall, density and coverage on sets placed by hand",
          "[sample_quality]") {
  // real {0, 1, 3}, k = 1: radii 1, 1, 2; generated {0.5, 2.5, 10}: radii 2, 2, 7.5
  const Tensor real = column({0, 1, 3}), fake = column({0.5f, 2.5f, 10});
  CHECK(knn_radii(real, 1) == std::vector<double>{1, 1, 2});
  CHECK(knn_radii(real, 2) == std::vector<double>{3, 2, 3});
  const PrecisionRecall pr = precision_recall(real, fake, 1);
  CHECK(pr.precision == Approx(2.0 / 3));  // 10 lies in no real ball
  CHECK(pr.recall == Approx(1.0));         // 0 and 1 lie in B(0.5, 2), 3 in B(2.5, 2)
  // density: 0.5 lies in B(0, 1) and B(1, 1), 2.5 in B(3, 2), 10 in none: 3/(1·3);
  // coverage: each real ball holds a generated point
  const DensityCoverage dc = density_coverage(real, fake, 1);
  CHECK(dc.density == Approx(1.0));
  CHECK(dc.coverage == Approx(1.0));
  const DensityCoverage far = density_coverage(real, column({20, 30, 40}), 1);
  CHECK(far.coverage == 0);
}

TEST_CASE(
    "identical sets score precision = recall = coverage = 1 and density (k+1)/k, disjoint "
    "sets 0",
    "[sample_quality]") {
  Rng rng(8);
  const Tensor a = rng.normal_tensor({600, 16});
  for (int64_t k : {3, 5}) {
    const PrecisionRecall pr = precision_recall(a, a, k);
    CHECK(pr.precision == 1.0);
    CHECK(pr.recall == 1.0);
    const DensityCoverage dc = density_coverage(a, a, k);
    CHECK(dc.density == Approx(double(k + 1) / double(k)).epsilon(1e-12));  // each ball: k + itself
    CHECK(dc.coverage == 1.0);
    const Tensor far = shifted(a, 100.0f);
    const PrecisionRecall none = precision_recall(a, far, k);
    CHECK(none.precision == 0.0);
    CHECK(none.recall == 0.0);
    const DensityCoverage dc_far = density_coverage(a, far, k);
    CHECK(dc_far.density == 0.0);
    CHECK(dc_far.coverage == 0.0);
  }
  Gaussian g = fit_gaussian(a);
  CHECK(frechet_distance(g, g) == Approx(0.0).margin(1e-9));
}

TEST_CASE("two samples of one distribution: precision, recall, density, coverage ≈ 1",
          "[sample_quality]") {
  Rng rng(9);
  const Tensor a = rng.normal_tensor({3000, 2}), b = rng.normal_tensor({3000, 2});
  const PrecisionRecall pr = precision_recall(a, b, 3);
  CHECK(pr.precision > 0.95);
  CHECK(pr.recall > 0.95);
  const DensityCoverage dc = density_coverage(a, b, 5);
  CHECK(dc.density == Approx(1.0).margin(0.05));
  CHECK(dc.coverage > 0.97);
  // 90 % of the generated points collapsed onto one: precision stays, coverage drops (recall
  // barely moves: the few spread points' balls are inflated, the outlier weakness Naeem et al.
  // point out)
  Tensor collapsed = Tensor::empty(b.shape());
  for (int64_t i = 0; i < b.numel(); ++i)
    collapsed.data()[i] = i < b.numel() / 10 ? b.data()[i] : 0.0f;
  const PrecisionRecall pr_collapsed = precision_recall(a, collapsed, 3);
  CHECK(pr_collapsed.precision > 0.95);
  CHECK(density_coverage(a, collapsed, 5).coverage < 0.6);
}

TEST_CASE("nearest rows, classes covered, the class histogram's reverse KL, authenticity",
          "[sample_quality]") {
  const Nearest nn = nearest_rows(column({0.9f, 5, -2}), column({0, 1, 4}));
  CHECK(nn.index == std::vector<int64_t>{1, 2, 0});
  CHECK(nn.distance[0] == Approx(0.1).epsilon(1e-6));
  CHECK(nn.distance[1] == Approx(1.0).epsilon(1e-6));
  CHECK(nn.distance[2] == Approx(2.0).epsilon(1e-6));

  CHECK(classes_covered({10, 0, 30, 1}, 0.0) == 3);
  CHECK(classes_covered({10, 0, 30, 1}, 0.05) == 2);  // 1 of 41 is below 5 %
  // p_g = (¼, 0, ¾), p_data = (¼, ¼, ½): KL = ¾ log(3/2)
  CHECK(class_kl({10, 0, 30}, {1, 1, 2}) == Approx(0.75 * std::log(1.5)).epsilon(1e-12));
  CHECK(class_kl({5, 5}, {100, 100}) == Approx(0.0).margin(1e-15));
  CHECK(std::isinf(class_kl({1, 1}, {1, 0})));

  CHECK(quantile({3, 1, 2, 4}, 0.5) == Approx(2.5));
  CHECK(quantile({3, 1, 2, 4}, 0.0) == 1);
  std::vector<double> unseen;
  for (int i = 1; i <= 100; ++i) unseen.push_back(i);
  CHECK(authenticity(std::vector<double>(50, 0.0), unseen, 0.05) == 0.0);   // copies
  CHECK(authenticity(unseen, unseen, 0.05) == Approx(0.95).margin(0.011));  // unseen ones
}

TEST_CASE("a classifier first asked for under a NoGradGuard is trained and cached all the same",
          "[sample_quality][classifier]") {
  auto data = make_dataset("digits");
  const std::optional<LabelledSet> set = data->labelled();
  REQUIRE(set);
  ConvClassifierSettings settings;
  settings.channels = {16, 32};
  settings.features = 32;
  settings.epochs = 10;
  const fs::path with = temp_dir("kant-classifier-grad"),
                 without = temp_dir("kant-classifier-nograd");
  const double trained = cached_conv_classifier(*set, settings, with.string())->accuracy();
  double under_guard = 0;
  {
    NoGradGuard no_grad;  // as a metric scoring generated images would hold it
    under_guard = cached_conv_classifier(*set, settings, without.string())->accuracy();
  }
  CHECK(trained > 0.8);  // ten digit classes: chance is 0.1
  CHECK(under_guard == trained);
  // and what it cached is the trained network, read back
  CHECK(cached_conv_classifier(*set, settings, without.string())->accuracy() == trained);
  fs::remove_all(with);
  fs::remove_all(without);
}
