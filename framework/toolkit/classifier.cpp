// The cached label classifier of kant/classifier.hpp.
#include "kant/classifier.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <numeric>

#include "kant/autodiff.hpp"
#include "kant/checkpoint.hpp"
#include "kant/error.hpp"
#include "kant/hash.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

fs::path default_cache_dir() {
  if (const char* d = std::getenv("KANT_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return fs::path(d) / "kantorovich";
  if (const char* d = std::getenv("HOME"); d && *d) return fs::path(d) / ".cache" / "kantorovich";
  return fs::temp_directory_path() / "kantorovich-cache";
}

// Every fifth row is held out when the data set has no held-out split of its own.
bool held_out(int64_t i) { return i % 5 == 4; }

LabelledSet rows_of(const LabelledSet& set, bool held) {
  const int64_t n = set.data.size(0), per = set.data.numel() / n;
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i)
    if (held_out(i) == held) rows.push_back(i);
  Shape shape = set.data.shape();
  shape[0] = static_cast<int64_t>(rows.size());
  LabelledSet part{Tensor::empty(shape), {}, set.classes, {}, {}};
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(set.data.data() + rows[r] * per, per,
                part.data.data() + static_cast<int64_t>(r) * per);
    part.labels.push_back(set.labels[static_cast<size_t>(rows[r])]);
  }
  return part;
}

// Rows `idx[from, from + count)` of `set` as a batch [count, sample shape…] and their labels.
Tensor batch_of(const LabelledSet& set, const std::vector<int64_t>& idx, size_t from, size_t count,
                std::vector<int64_t>& labels) {
  const int64_t per = set.data.numel() / set.data.size(0);
  Shape shape = set.data.shape();
  shape[0] = static_cast<int64_t>(count);
  Tensor x = Tensor::empty(shape);
  labels.clear();
  for (size_t r = 0; r < count; ++r) {
    const int64_t i = idx[from + r];
    std::copy_n(set.data.data() + i * per, per, x.data() + static_cast<int64_t>(r) * per);
    labels.push_back(set.labels[static_cast<size_t>(i)]);
  }
  return x;
}

// Adam on the mean cross-entropy over shuffled batches of the training part, `epochs` times;
// then the accuracy on the held-out part (predicted in chunks of 2,000 rows). Gradients are on
// whatever the caller's mode: a metric scoring under a NoGradGuard would otherwise train nothing
// and cache an untrained network.
template <class Net>
void train(Net& classifier, const LabelledSet& set, int64_t epochs, int64_t batch, float lr,
           Rng& rng) {
  GradModeGuard with_gradients(true);
  const LabelledSet learn = training_part(set), test = held_out_part(set);
  std::vector<int64_t> train_rows(static_cast<size_t>(learn.data.size(0)));
  std::iota(train_rows.begin(), train_rows.end(), int64_t{0});
  const std::vector<Tensor> params = classifier.parameters();
  fit::Adam adam(params, lr);
  std::vector<int64_t> labels;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    for (size_t i = train_rows.size(); i > 1; --i)  // Fisher–Yates
      std::swap(train_rows[i - 1], train_rows[rng.below(i)]);
    for (size_t from = 0; from + static_cast<size_t>(batch) <= train_rows.size();
         from += static_cast<size_t>(batch)) {
      Tensor x = batch_of(learn, train_rows, from, static_cast<size_t>(batch), labels);
      adam.step(grad({cross_entropy(classifier.forward(x), labels)}, params));
    }
  }
  std::vector<int64_t> test_rows(static_cast<size_t>(test.data.size(0)));
  std::iota(test_rows.begin(), test_rows.end(), int64_t{0});
  double right = 0;
  for (size_t from = 0; from < test_rows.size(); from += 2000) {
    const size_t count = std::min<size_t>(2000, test_rows.size() - from);
    std::vector<int64_t> predicted =
        classifier.predict(batch_of(test, test_rows, from, count, labels));
    for (size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i];
  }
  classifier.set_accuracy(right / static_cast<double>(test_rows.size()));
}

uint64_t hash_set(const LabelledSet& set) {
  uint64_t h = fnv1a64(set.data.data(), static_cast<size_t>(set.data.numel()) * sizeof(float));
  h = fnv1a64(set.labels.data(), set.labels.size() * sizeof(int64_t), h);
  h = fnv1a64(set.data.shape().data(), set.data.shape().size() * sizeof(int64_t), h);
  return h;
}

// An exclusive lock on `path` for as long as it lives (flock: released if the process dies).
class FileLock {
 public:
  explicit FileLock(const fs::path& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT, 0644)) {
    if (fd_ < 0) throw Error(fmt::format("cannot open the lock file {}", path.string()));
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) throw Error(fmt::format("cannot lock {}", path.string()));
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// `net` loaded from `cache_file`, or trained by `fit` and saved there; one process at a time.
template <class Net, class Fit>
void load_or_train(Net& net, const fs::path& cache_file, Fit fit) {
  const CheckpointParts parts{{{"classifier", &net}}, {}};
  auto load = [&] {
    if (!fs::exists(cache_file)) return false;
    try {
      load_checkpoint(cache_file, parts);
      return true;
    } catch (const Error&) {  // unreadable or stale: train again and replace it
      return false;
    }
  };
  if (load()) return;
  fs::create_directories(cache_file.parent_path());
  FileLock lock(cache_file.string() + ".lock");
  if (load()) return;  // another process trained it while this one waited
  fit();
  save_checkpoint(cache_file, parts);
}

}  // namespace

ParamSpec cache_dir_param(const std::string& what) {
  return param::string("cache_dir", "",
                       fmt::format("where trained {} are kept (empty: $KANT_CACHE_DIR, else "
                                   "$XDG_CACHE_HOME/kantorovich, else ~/.cache/kantorovich)",
                                   what));
}

LabelledSet held_out_part(const LabelledSet& set) {
  if (set.held_out.defined())
    return LabelledSet{set.held_out, set.held_out_labels, set.classes, {}, {}};
  return rows_of(set, true);
}

LabelledSet training_part(const LabelledSet& set) {
  if (set.held_out.defined()) return LabelledSet{set.data, set.labels, set.classes, {}, {}};
  return rows_of(set, false);
}

LabelClassifier::LabelClassifier(int64_t in, const std::vector<int64_t>& hidden, int64_t classes,
                                 Rng& rng)
    : Mlp(in, hidden, classes, rng), classes_(classes) {
  accuracy_ = register_buffer("accuracy", Tensor::zeros({1}));
}

namespace {
std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const int64_t k = logits.size(1);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < logits.size(0); ++i) {
    const float* row = logits.data() + i * k;
    out.push_back(std::max_element(row, row + k) - row);
  }
  return out;
}
}  // namespace

std::vector<int64_t> LabelClassifier::predict(const Tensor& x) {
  NoGradGuard no_grad;
  return argmax_rows(forward(x));
}

std::unique_ptr<LabelClassifier> cached_classifier(const LabelledSet& set,
                                                   const std::vector<int64_t>& hidden,
                                                   int64_t epochs, const std::string& cache_dir) {
  const int64_t n = set.data.size(0), in = set.data.numel() / n;
  uint64_t h = hash_set(set);
  if (set.held_out.defined()) h = fnv1a64(&h, sizeof h, hash_set(held_out_part(set)));
  h = fnv1a64(hidden.data(), hidden.size() * sizeof(int64_t), h);
  h = fnv1a64(&epochs, sizeof epochs, h);
  const fs::path dir = cache_dir.empty() ? default_cache_dir() : fs::path(cache_dir);
  Rng rng(h, 7);
  auto classifier = std::make_unique<LabelClassifier>(in, hidden, set.classes, rng);
  load_or_train(*classifier, dir / fmt::format("classifier-v1-{:016x}.h5", h),
                [&] { train(*classifier, set, epochs, 64, 1e-3f, rng); });
  return classifier;
}

ConvClassifier::ConvClassifier(const Shape& image_shape, const ConvClassifierSettings& s,
                               int64_t classes, Rng& rng)
    : classes_(classes) {
  if (image_shape.size() != 3)
    throw Error(fmt::format("a convolutional classifier needs images [C, H, W], not [{}]",
                            fmt::join(image_shape, ", ")));
  int64_t in = image_shape[0], h = image_shape[1], w = image_shape[2];
  for (size_t i = 0; i < s.channels.size(); ++i) {
    convs_.emplace_back(*this, fmt::format("conv{}", i), in, s.channels[i], 3,
                        Conv2dOptions::square(2, 1), true, Init{}, rng);
    in = s.channels[i];
    h = (h + 1) / 2;  // ⌊(h + 2·1 − 3)/2⌋ + 1
    w = (w + 1) / 2;
  }
  hidden_ = Linear(*this, "hidden", in * h * w, s.features, true, Init{}, rng);
  head_ = Linear(*this, "head", s.features, classes, true, Init{}, rng);
  accuracy_ = register_buffer("accuracy", Tensor::zeros({1}));
}

Tensor ConvClassifier::features(const Tensor& x) const {
  Tensor h = x;
  for (const Conv2d& conv : convs_) h = relu(conv(h));
  return relu(hidden_(reshape(h, {h.size(0), -1})));
}

std::vector<int64_t> ConvClassifier::predict(const Tensor& x) {
  NoGradGuard no_grad;
  return argmax_rows(forward(x));
}

std::unique_ptr<ConvClassifier> cached_conv_classifier(const LabelledSet& set,
                                                       const ConvClassifierSettings& s,
                                                       const std::string& cache_dir) {
  uint64_t h = hash_set(set);
  h = fnv1a64(&h, sizeof h, hash_set(held_out_part(set)));
  h = fnv1a64(s.channels.data(), s.channels.size() * sizeof(int64_t), h);
  for (int64_t v : {s.features, s.epochs, s.batch}) h = fnv1a64(&v, sizeof v, h);
  h = fnv1a64(&s.lr, sizeof s.lr, h);
  const fs::path dir = cache_dir.empty() ? default_cache_dir() : fs::path(cache_dir);
  Rng rng(h, 7);
  const Shape image(set.data.shape().begin() + 1, set.data.shape().end());
  auto net = std::make_unique<ConvClassifier>(image, s, set.classes, rng);
  load_or_train(*net, dir / fmt::format("convnet-v1-{:016x}.h5", h),
                [&] { train(*net, set, s.epochs, s.batch, static_cast<float>(s.lr), rng); });
  return net;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& one_hot) {
  const int64_t n = logits.size(0), k = logits.size(1);
  Tensor row_max = Tensor::empty({n, 1});
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * k;
    row_max.data()[i] = *std::max_element(row, row + k);
  }
  Tensor shifted = sub(logits, row_max);
  Tensor log_p = sub(shifted, log(sum(exp(shifted), {1}, true)));
  return neg(sum(mul(one_hot, log_p))) * (1.0f / static_cast<float>(n));
}

Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels) {
  const int64_t n = logits.size(0), k = logits.size(1);
  Tensor one_hot = Tensor::zeros({n, k});
  for (int64_t i = 0; i < n; ++i) one_hot.data()[i * k + labels[static_cast<size_t>(i)]] = 1;
  return cross_entropy(logits, one_hot);
}

}  // namespace kant
