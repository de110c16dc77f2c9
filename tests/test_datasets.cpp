// Dataset plugins checked from their definitions: mode positions and spreads measured from
// samples, densities that integrate to 1, fixed finite samples, IDX files written here.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <set>

#include "kant/components.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;

namespace {
std::shared_ptr<Dataset> dataset(const std::string& name,
                                 std::map<std::string, Value> values = {}) {
  return make_component<Dataset, DatasetFactory>(Kind::dataset, name, std::move(values),
                                                 uint64_t{7});
}

// Root-mean-square distance of samples to their nearest mode, per dimension.
double spread_to_nearest_mode(const Tensor& x, const Modes& m) {
  const int64_t d = x.size(1);
  double ss = 0;
  for (int64_t i = 0; i < x.size(0); ++i) {
    double best = 1e300;
    for (const auto& c : m.centers) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j)
        s += std::pow(x.data()[i * d + j] - c[static_cast<size_t>(j)], 2);
      best = std::min(best, s);
    }
    ss += best;
  }
  return std::sqrt(ss / static_cast<double>(d * x.size(0)));
}

void write_bytes(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// An IDX header: 0, 0, type 0x08, d, then d big-endian sizes.
std::vector<unsigned char> idx_header(std::vector<uint32_t> dims) {
  std::vector<unsigned char> h{0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (uint32_t s : dims)
    for (int shift : {24, 16, 8, 0}) h.push_back(static_cast<unsigned char>(s >> shift));
  return h;
}
}  // namespace

TEST_CASE("ring: the VEEGAN/PacGAN ring of 8 at radius 1 with std 0.01", "[dataset]") {
  auto ring = dataset("ring");
  auto m = ring->modes();
  REQUIRE(m);
  REQUIRE(m->centers.size() == 8);
  for (size_t k = 0; k < 8; ++k) {
    CHECK(std::hypot(m->centers[k][0], m->centers[k][1]) == Approx(1.0));
    CHECK(std::atan2(m->centers[k][1], m->centers[k][0]) ==
          Approx(std::remainder(2 * M_PI * static_cast<double>(k) / 8, 2 * M_PI)).margin(1e-12));
  }
  CHECK(m->std == 0.01);
  Rng rng(1);
  CHECK(spread_to_nearest_mode(ring->sample(20000, rng), *m) == Approx(0.01).epsilon(0.03));
  auto wide = dataset("ring", {{"modes", int64_t{5}}, {"radius", 3.0}, {"std", 0.1}});
  REQUIRE(wide->modes()->centers.size() == 5);
  CHECK(wide->modes()->centers[1][0] == Approx(3 * std::cos(2 * M_PI / 5)));
  CHECK(spread_to_nearest_mode(wide->sample(20000, rng), *wide->modes()) ==
        Approx(0.1).epsilon(0.03));
}

TEST_CASE("grid: 25 Gaussians spaced 2 apart with std 0.05", "[dataset]") {
  auto grid = dataset("grid");
  auto m = grid->modes();
  REQUIRE(m->centers.size() == 25);
  std::set<std::pair<double, double>> centres;
  for (const auto& c : m->centers) centres.insert({c[0], c[1]});
  for (int i = -2; i <= 2; ++i)
    for (int j = -2; j <= 2; ++j) CHECK(centres.count({2.0 * i, 2.0 * j}) == 1);
  Rng rng(2);
  CHECK(spread_to_nearest_mode(grid->sample(20000, rng), *m) == Approx(0.05).epsilon(0.03));
}

TEST_CASE("Gaussian mixture densities integrate to 1 and match the samples", "[dataset]") {
  auto mix = dataset("gaussian_mixture_1d", {{"weights", std::vector<double>{1, 3}},
                                             {"means", std::vector<double>{-2, 1}},
                                             {"stds", std::vector<double>{0.5, 1.0}}});
  // ∫p = 1 and E[x] = 0.25·(−2) + 0.75·1 = 0.25, Var = Σw(σ² + μ²) − E² = 0.25·4.25 + 0.75·2 −
  // 0.0625
  double mass = 0, mean = 0, h = 1e-3;
  for (double x = -12; x < 12; x += h) {
    const double p = std::exp(*mix->log_density(&x));
    mass += p * h;
    mean += x * p * h;
  }
  CHECK(mass == Approx(1.0).epsilon(1e-6));
  CHECK(mean == Approx(0.25).epsilon(1e-6));
  Rng rng(3);
  Tensor x = mix->sample(200000, rng);
  double s = 0, s2 = 0;
  for (float v : x.to_vector()) {
    s += v;
    s2 += double(v) * v;
  }
  const double n = 200000, m = s / n;
  CHECK(m == Approx(0.25).margin(0.01));
  CHECK(s2 / n - m * m == Approx(0.25 * 4.25 + 0.75 * 2 - 0.0625).epsilon(0.01));
  // the 2-D mixtures know their density too: one mode of the ring, far from the others
  auto ring = dataset("ring", {{"std", 0.1}});
  const double at_mode[2] = {1.0, 0.0};
  CHECK(std::exp(*ring->log_density(at_mode)) == Approx(1.0 / 8 / (2 * M_PI * 0.01)).epsilon(1e-6));
  CHECK_FALSE(dataset("spirals")->log_density(at_mode));
}

TEST_CASE("spirals lie on their arms, fixed samples cycle for every toy", "[dataset]") {
  auto sp = dataset("spirals", {{"noise", 0.0}, {"arms", int64_t{3}}});
  Rng rng(4);
  Tensor x = sp->sample(3000, rng);
  for (int64_t i = 0; i < 3000; ++i) {
    // a point at radius r = u lies at angle 2π(1.5u + k/3) for some arm k
    const double px = x.data()[2 * i], py = x.data()[2 * i + 1], r = std::hypot(px, py);
    REQUIRE(r <= 1.0 + 1e-6);
    if (r < 1e-3) continue;
    double best = 1e9;
    for (int k = 0; k < 3; ++k) {
      const double a = 2 * M_PI * (1.5 * r + k / 3.0);
      best = std::min(best, std::hypot(px - r * std::cos(a), py - r * std::sin(a)));
    }
    REQUIRE(best < 1e-4);
  }
  for (const char* name : {"ring", "grid", "spirals", "swiss_roll", "gaussian_mixture_1d"}) {
    auto fixed = dataset(name, {{"fixed_size", int64_t{1000}}});
    auto a = fixed->sample(400, rng), b = fixed->sample(400, rng), c = fixed->sample(400, rng),
         d = fixed->sample(400, rng);
    CHECK(a.to_vector() != b.to_vector());
    CHECK(c.to_vector() == a.to_vector());  // 400 + 400 + 400 > 1000: back to the start
    CHECK(d.to_vector() == b.to_vector());
    // the same seed gives the same fixed sample
    auto again = dataset(name, {{"fixed_size", int64_t{1000}}});
    CHECK(again->sample(400, rng).to_vector() == a.to_vector());
  }
}

TEST_CASE("idx: MNIST-format files, plain or gzip, with labels", "[dataset]") {
  auto dir = temp_dir("kant_idx");
  // three 2×2 images with pixels 0, 51, …, 255 and labels 4, 0, 9
  std::vector<unsigned char> images = idx_header({3, 2, 2});
  for (int i = 0; i < 12; ++i) images.push_back(static_cast<unsigned char>((i * 255) / 11));
  std::vector<unsigned char> labels = idx_header({3});
  for (unsigned char l : {4, 0, 9}) labels.push_back(l);
  write_bytes(dir / "images", images);
  write_bytes(dir / "labels", labels);
  REQUIRE(run_command("gzip -k " + (dir / "images").string()).exit_code == 0);
  for (const char* file : {"images", "images.gz"}) {
    auto ds =
        dataset("idx", {{"images", (dir / file).string()}, {"labels", (dir / "labels").string()}});
    REQUIRE(ds->sample_shape() == Shape{1, 2, 2});
    auto all = ds->labelled();
    REQUIRE(all);
    CHECK(all->labels == std::vector<int64_t>{4, 0, 9});
    CHECK(all->classes == 10);
    CHECK(all->data.data()[0] == -1.0f);
    CHECK(all->data.data()[11] == 1.0f);
    CHECK(all->data.data()[5] == Approx((5 * 255 / 11) / 127.5 - 1));
  }
  auto resized = dataset(
      "idx", {{"images", (dir / "images").string()}, {"size", int64_t{4}}, {"limit", int64_t{2}}});
  CHECK(resized->sample_shape() == Shape{1, 4, 4});
  CHECK_FALSE(resized->labelled());

  // broken files are named with what is wrong
  std::vector<unsigned char> truncated(images.begin(), images.end() - 1);
  write_bytes(dir / "short", truncated);
  CHECK_THROWS_WITH(dataset("idx", {{"images", (dir / "short").string()}}),
                    Catch::Contains("announces 12 elements but the file holds 11"));
  write_bytes(dir / "text", {'h', 'e', 'l', 'l', 'o'});
  CHECK_THROWS_WITH(dataset("idx", {{"images", (dir / "text").string()}}),
                    Catch::Contains("not an IDX file"));
  CHECK_THROWS_WITH(dataset("idx", {{"images", (dir / "missing").string()}}),
                    Catch::Contains("no file"));
  CHECK_THROWS_WITH(dataset("idx", {{"images", (dir / "images").string()},
                                    {"labels", (dir / "images").string()}}),
                    Catch::Contains("one label per image"));
}

TEST_CASE("digits keep their labels", "[dataset]") {
  auto digits = dataset("digits");
  auto all = digits->labelled();
  REQUIRE(all);
  CHECK(all->data.size(0) == 1797);
  CHECK(all->classes == 10);
  std::vector<int> counts(10);
  for (int64_t l : all->labels) ++counts[static_cast<size_t>(l)];
  for (int c : counts) CHECK(c >= 170);  // 174–183 of each digit
}

TEST_CASE("fashion_mnist: Debian's files found without a path, splits, class subsets, padding",
          "[dataset]") {
  auto train = dataset("fashion_mnist");
  REQUIRE(train->sample_shape() == Shape{1, 28, 28});
  auto all = train->labelled();
  REQUIRE(all);
  CHECK(all->data.size(0) == 60000);
  CHECK(all->classes == 10);
  REQUIRE(all->held_out.defined());
  CHECK(all->held_out.size(0) == 10000);
  CHECK(all->held_out_labels.size() == 10000);
  std::vector<int> counts(10);
  for (int64_t l : all->labels) ++counts[static_cast<size_t>(l)];
  for (int c : counts) CHECK(c == 6000);  // Fashion-MNIST is balanced
  const auto [lo, hi] = std::minmax_element(all->data.data(), all->data.data() + all->data.numel());
  CHECK(*lo == -1.0f);
  CHECK(*hi == 1.0f);

  // the test split, two classes relabelled in the order given, padded to 32 px
  auto boots = dataset("fashion_mnist", {{"split", std::string("test")},
                                         {"classes", std::vector<int64_t>{9, 0}},
                                         {"size", int64_t{32}}});
  REQUIRE(boots->sample_shape() == Shape{1, 32, 32});
  auto two = boots->labelled();
  REQUIRE(two);
  CHECK(two->classes == 2);
  CHECK(two->data.size(0) == 2000);
  CHECK_FALSE(two->held_out.defined());
  auto test = dataset("fashion_mnist", {{"split", std::string("test")}})->labelled();
  // image k of the subset is the k-th test image of class 9 or 0, its 28 px centred in 32 px
  std::vector<int64_t> kept;
  for (size_t i = 0; i < test->labels.size(); ++i)
    if (test->labels[i] == 9 || test->labels[i] == 0) kept.push_back(static_cast<int64_t>(i));
  REQUIRE(kept.size() == 2000);
  for (size_t k : {size_t{0}, size_t{1}, size_t{1999}}) {
    const int64_t i = kept[k];
    CHECK(two->labels[k] == (test->labels[static_cast<size_t>(i)] == 9 ? 0 : 1));
    const float* small = test->data.data() + i * 28 * 28;
    const float* big = two->data.data() + static_cast<int64_t>(k) * 32 * 32;
    bool same = true, border = true;
    for (int64_t r = 0; r < 32; ++r)
      for (int64_t c = 0; c < 32; ++c) {
        const bool inside = r >= 2 && r < 30 && c >= 2 && c < 30;
        if (inside)
          same = same && big[r * 32 + c] == small[(r - 2) * 28 + c - 2];
        else
          border = border && big[r * 32 + c] == -1.0f;
      }
    CHECK(same);
    CHECK(border);
  }

  CHECK_THROWS_WITH(dataset("fashion_mnist", {{"path", std::string("/nonexistent")}}),
                    Catch::Contains("apt-get install dataset-fashion-mnist"));
  CHECK_THROWS_WITH(dataset("fashion_mnist", {{"classes", std::vector<int64_t>{3, 3}}}),
                    Catch::Contains("name a class twice"));
}

namespace {
// sample_batch draws what sample draws: the same points, and the stream left in the same state.
void check_same_draws(Dataset& a, Dataset& b, int64_t n) {
  Rng ra(11), rb(11);
  const Batch batch = a.sample_batch(n, ra);
  CHECK(batch.x.to_vector() == b.sample(n, rb).to_vector());
  CHECK(ra.next_u64() == rb.next_u64());
}
}  // namespace

TEST_CASE("labels travel with the batch: the mode index of the toys", "[dataset]") {
  for (const char* name : {"ring", "grid", "eight_gaussians", "twenty_five_gaussians"}) {
    INFO(name);
    for (int64_t fixed : {int64_t{0}, int64_t{300}})
      for (bool resample : {false, true}) {
        auto a = dataset(name, {{"fixed_size", fixed}, {"resample", resample}});
        auto b = dataset(name, {{"fixed_size", fixed}, {"resample", resample}});
        const Modes m = *a->modes();
        const auto k = static_cast<int64_t>(m.centers.size());
        REQUIRE(a->classes() == k);
        for (double f : a->class_frequencies()) CHECK(f == Approx(1.0 / double(k)));
        check_same_draws(*a, *b, 200);
        Rng rng(5);
        for (int round = 0; round < 3; ++round) {  // 3 × 200 > 300: the fixed sample cycles
          const Batch batch = a->sample_batch(200, rng);
          REQUIRE(batch.labels.size() == 200);
          // each point lies nearest to the centre its label names (spreads ≪ spacing)
          for (int64_t i = 0; i < 200; ++i) {
            const float* x = batch.x.data() + 2 * i;
            int64_t nearest = 0;
            double best = 1e300;
            for (int64_t c = 0; c < k; ++c) {
              const auto& ctr = m.centers[static_cast<size_t>(c)];
              const double d = std::hypot(x[0] - ctr[0], x[1] - ctr[1]);
              if (d < best) best = d, nearest = c;
            }
            REQUIRE(batch.labels[static_cast<size_t>(i)] == nearest);
          }
        }
      }
  }
  // data sets without labels say so, and their batches carry none
  for (const char* name : {"spirals", "swiss_roll"}) {
    auto a = dataset(name), b = dataset(name);
    CHECK(a->classes() == 0);
    check_same_draws(*a, *b, 50);
    Rng rng(1);
    CHECK(a->sample_batch(10, rng).labels.empty());
  }
}

TEST_CASE("labels travel with the batch: digits and idx with a label file", "[dataset]") {
  auto digits = dataset("digits"), again = dataset("digits");
  check_same_draws(*digits, *again, 64);
  REQUIRE(digits->classes() == 10);
  const auto all = *digits->labelled();
  std::vector<double> share(10);
  for (int64_t l : all.labels) share[static_cast<size_t>(l)] += 1.0 / 1797;
  for (size_t c = 0; c < 10; ++c) CHECK(digits->class_frequencies()[c] == Approx(share[c]));
  Rng rng(9);
  const Batch batch = digits->sample_batch(40, rng);
  REQUIRE(batch.labels.size() == 40);
  for (int64_t i = 0; i < 40; ++i) {  // the image is one of the set's with that label
    bool found = false;
    for (int64_t j = 0; j < 1797 && !found; ++j)
      found = all.labels[static_cast<size_t>(j)] == batch.labels[static_cast<size_t>(i)] &&
              std::equal(batch.x.data() + 64 * i, batch.x.data() + 64 * (i + 1),
                         all.data.data() + 64 * j);
    REQUIRE(found);
  }
  auto dir = temp_dir("kant_idx_labels");
  std::vector<unsigned char> images = idx_header({3, 1, 1}), labels = idx_header({3});
  for (unsigned char v : {10, 20, 30}) images.push_back(v);
  for (unsigned char l : {2, 0, 1}) labels.push_back(l);
  write_bytes(dir / "images", images);
  write_bytes(dir / "labels", labels);
  auto idx = dataset(
      "idx", {{"images", (dir / "images").string()}, {"labels", (dir / "labels").string()}});
  CHECK(idx->class_frequencies() == std::vector<double>{1.0 / 3, 1.0 / 3, 1.0 / 3});
  Rng r(2);
  const Batch b = idx->sample_batch(30, r);
  for (int64_t i = 0; i < 30; ++i) {  // pixel 10 ↔ label 2, 20 ↔ 0, 30 ↔ 1
    const int64_t l = b.labels[static_cast<size_t>(i)];
    CHECK(b.x.data()[i] == Approx((l == 2 ? 10 : l == 0 ? 20 : 30) / 127.5 - 1));
  }
  auto unlabelled = dataset("idx", {{"images", (dir / "images").string()}});
  CHECK(unlabelled->classes() == 0);
  CHECK(unlabelled->sample_batch(5, r).labels.empty());
}
