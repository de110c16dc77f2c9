// kant latent on one stored cell (see latent.hpp).
#include "runs/latent.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/error.hpp"
#include "kant/layers.hpp"
#include "kant/ops.hpp"
#include "kant/sample_quality.hpp"
#include "runs/child_process.hpp"
#include "store/cell_file.hpp"
#include "store/claim.hpp"
#include "training/metric_stage.hpp"
#include "training/resume.hpp"

namespace kant {
namespace fs = std::filesystem;
namespace {

// Rows `rows` of x [n, …].
Tensor take_rows(const Tensor& x, const std::vector<int64_t>& rows) {
  std::vector<Tensor> parts;
  for (int64_t r : rows) parts.push_back(slice(x, 0, r, r + 1));
  return concat(parts, 0);
}

// Shape [a, b, rest of x's per-row shape…] of x [a·b, …].
Tensor split_rows(const Tensor& x, int64_t a, int64_t b) {
  Shape s{a, b};
  s.insert(s.end(), x.shape().begin() + 1, x.shape().end());
  return reshape(x, s);
}

struct Loaded {
  CellConfig config;
  std::vector<MetricChoice> metrics;  ///< the cell's own (the session builds none)
  std::unique_ptr<Session> session;
};

// The cell's session with its stored networks and final state; InputError when it has none.
Loaded load_cell(const fs::path& file, const Registry& registry) {
  CellSummary stored;
  try {
    stored = read_cell_summary(file);
  } catch (const Error& e) {
    throw InputError(e.what());
  }
  if (!is_done(stored.status))
    throw InputError(fmt::format("{}: cell {} is {}: kant latent needs a finished cell",
                                 file.string(), stored.cell_id, to_string(stored.status)));
  Loaded l;
  l.config = resolve_stored_cell(parse_yaml(stored.config_yaml, file.string()), registry);
  l.metrics = std::move(l.config.metrics);
  l.config.metrics.clear();
  l.session = std::make_unique<Session>(l.config, registry);
  try {
    const FinalState state = load_final_state(file, network_parts(*l.session));
    restore_final_state(*l.session, state);
  } catch (const StorageError& e) {
    throw InputError(e.what());
  }
  return l;
}

// interpolate: P paths of K codes between pairs of codes drawn as in training, and their
// samples; each path's class (a conditional generator) asked for or drawn as in training.
CellAddition interpolate(Session& s, const LatentRequest& r, std::vector<std::string>& lines) {
  Network& g = s.sampler();
  Rng rng(r.seed, 0);
  const Tensor from = s.generator_input(rng, r.pairs), to = s.generator_input(rng, r.pairs);
  const Tensor codes = latent::interpolate(from, to, r.steps, r.spherical);
  const Tensor flat = reshape(codes, {r.pairs * r.steps, from.size(1)});
  CellAddition add;
  auto& arrays = add.arrays["latent_interpolate"];
  NoGradGuard no_grad;
  Tensor samples;
  if (const int64_t k = g.label_classes(); k > 0) {
    std::vector<int64_t> path_labels =
        r.label ? std::vector<int64_t>(static_cast<size_t>(r.pairs), *r.label)
                : s.generated_labels(rng, r.pairs);
    std::vector<int64_t> labels;
    for (int64_t c : path_labels) labels.insert(labels.end(), static_cast<size_t>(r.steps), c);
    samples = g.forward_conditional(flat, one_hot(labels, k));
    std::vector<float> as_float(path_labels.begin(), path_labels.end());
    arrays["labels"] = Tensor::from({r.pairs}, as_float);
  } else {
    samples = g.forward(flat);
  }
  arrays["codes"] = codes;
  arrays["samples"] = split_rows(samples.detach(), r.pairs, r.steps);
  arrays["t"] = latent::interpolate(Tensor::zeros({1, 1}), Tensor::ones({1, 1}), r.steps, false);
  lines.push_back(fmt::format("{} {} paths of {} codes ({}), samples {}", "interpolate:", r.pairs,
                              r.steps, r.spherical ? "spherical" : "linear",
                              shape_str(arrays["samples"].shape())));
  add.replace.insert("latent_interpolate");
  return add;
}

// truncate: for each ψ, `count` samples of truncated codes (stored) and the cell's own metrics
// computed on samples of truncated codes, as final values latent_truncate.psi_<ψ>.<metric>.<value>.
CellAddition truncate(Session& s, const std::vector<MetricChoice>& metrics,
                      const Registry& registry, const LatentRequest& r,
                      std::vector<std::string>& lines) {
  Network& g = s.sampler();
  const std::string why =
      s.config.noise != "normal"
          ? fmt::format("its noise is {}, and truncation is of normal codes", s.config.noise)
      : s.procedure->categories() > 0 ? "its procedure adds a categorical code to the noise"
                                      : "";
  if (!why.empty())
    throw InputError(fmt::format("kant latent truncate does not apply to this cell: {}", why));
  const int64_t dim = s.config.noise_dim, k = g.label_classes();
  CellAddition add;
  std::vector<Tensor> shown;
  for (size_t t = 0; t < r.thresholds.size(); ++t) {
    const double psi = r.thresholds[t];
    Rng codes(r.seed, 2 + 2 * t), metric_rng(r.seed, 3 + 2 * t);
    auto labelled = [&](int64_t n, std::optional<int64_t> label) {
      NoGradGuard no_grad;
      const Tensor z = latent::truncated_normal(n, dim, psi, codes);
      if (k == 0) return Batch{g.forward(z).detach(), {}};
      std::vector<int64_t> y = label ? std::vector<int64_t>(static_cast<size_t>(n), *label)
                                     : s.generated_labels(codes, n);
      return Batch{g.forward_conditional(z, one_hot(y, k)).detach(), y};
    };
    MetricContext ctx{
        *s.dataset,       g,
        s.scoring_critic, [&](int64_t n) { return labelled(n, std::nullopt).x; },
        metric_rng,       [&](int64_t n) { return latent::truncated_normal(n, dim, psi, codes); },
        "normal",         s.objective.get()};
    ctx.label_classes = k;
    ctx.generate_labelled = labelled;
    shown.push_back(labelled(r.count, std::nullopt).x);
    std::vector<std::string> values;
    for (const MetricChoice& m : metrics) {
      auto metric = registry.create<Metric, MetricFactory>(*m.choice.component, m.choice.params);
      for (const auto& [name, v] : metric->compute(ctx)) {
        add.final_metrics[fmt::format("latent_truncate.psi_{:g}.{}.{}", psi, m.name, name)] = v;
        values.push_back(fmt::format("{}.{} = {:.5g}", m.name, name, v));
      }
    }
    lines.push_back(fmt::format("truncate: ψ = {:g}: {}", psi,
                                values.empty() ? "the cell has no metrics; samples stored"
                                               : fmt::format("{}", fmt::join(values, ", "))));
  }
  std::vector<float> psis(r.thresholds.begin(), r.thresholds.end());
  add.arrays["latent_truncate"]["thresholds"] =
      Tensor::from({static_cast<int64_t>(psis.size())}, psis);
  Tensor all = concat(shown, 0);
  add.arrays["latent_truncate"]["samples"] =
      split_rows(all, static_cast<int64_t>(shown.size()), r.count);
  add.replace.insert("latent_truncate");
  return add;
}

// The feature network of the cell's data set (sample_quality's, from the cache or trained once):
// its logits score generated images by class.
std::unique_ptr<ConvClassifier> feature_network(Session& s, const std::string& operation) {
  const std::optional<LabelledSet> set = s.dataset->labelled();
  if (!set || set->data.dim() != 4)
    throw InputError(
        fmt::format("kant latent {} needs the feature network of a labelled image "
                    "data set, and dataset '{}' is not one",
                    operation, s.config.dataset.component->name()));
  return cached_conv_classifier(*set, ConvClassifierSettings{}, "");
}

// Mean softmax probability of class c over rows of logits [n, K].
double mean_probability(const Tensor& logits, int64_t c) {
  const int64_t n = logits.size(0), k = logits.size(1);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* l = logits.data() + i * k;
    const float top = *std::max_element(l, l + k);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(double(l[j] - top));
    total += std::exp(double(l[c] - top)) / sum;
  }
  return total / double(n);
}

// search: `count` codes moved by Adam to maximise the feature network's logit of class C minus
// λ‖z‖²/D (Kang et al. 2017's "optimize with GAN"); the paths of z, their samples and scores.
CellAddition search(Session& s, const LatentRequest& r, std::vector<std::string>& lines) {
  Network& g = s.sampler();
  if (!r.label) throw InputError("kant latent search: give --class C, the class to maximise");
  std::unique_ptr<ConvClassifier> net = feature_network(s, "search");
  const int64_t c = *r.label, n = r.count;
  if (c >= net->classes())
    throw InputError(
        fmt::format("kant latent search: --class {}: the data set's classes are 0 "
                    "to {}",
                    c, net->classes() - 1));
  Rng rng(r.seed, 4);
  const Tensor start = s.generator_input(rng, n);
  auto same_class = [&](int64_t rows) {
    return g.label_classes() > 0
               ? one_hot(std::vector<int64_t>(static_cast<size_t>(rows), c), g.label_classes())
               : Tensor();
  };
  latent::SearchOptions o;
  o.iterations = r.iterations.value_or(o.iterations);
  o.lr = r.lr.value_or(o.lr);
  o.prior = r.prior.value_or(o.prior);
  o.stop = [] { return stop_signal() != 0; };
  const latent::Search found = latent::search(
      g, [&](const Tensor& x) { return reshape(slice(net->forward(x), 1, c, c + 1), {n}); }, start,
      same_class(n), o);
  NoGradGuard no_grad;
  const int64_t dim = start.size(1), points = o.points;
  const Tensor codes = reshape(found.codes, {n * points, dim}), y = same_class(n * points);
  const Tensor samples =
      (y.defined() ? g.forward_conditional(codes, y) : g.forward(codes)).detach();
  const Tensor logits = net->forward(samples);
  std::vector<int64_t> first, last;
  for (int64_t i = 0; i < n; ++i) {
    first.push_back(i * points);
    last.push_back(i * points + points - 1);
  }
  const double p0 = mean_probability(take_rows(logits, first), c),
               p1 = mean_probability(take_rows(logits, last), c);
  double s0 = 0, s1 = 0;
  for (int64_t i = 0; i < n; ++i) {
    s0 += found.scores.data()[i * points] / double(n);
    s1 += found.scores.data()[i * points + points - 1] / double(n);
  }
  CellAddition add;
  auto& arrays = add.arrays["latent_search"];
  arrays["codes"] = found.codes;
  arrays["scores"] = found.scores;
  arrays["samples"] = split_rows(samples, n, points);
  add.final_metrics["latent_search.score_start"] = s0;
  add.final_metrics["latent_search.score_end"] = s1;
  add.final_metrics["latent_search.probability_start"] = p0;
  add.final_metrics["latent_search.probability_end"] = p1;
  add.replace.insert("latent_search");
  lines.push_back(
      fmt::format("search: class {}, {} codes, {} Adam steps (lr {}, prior {}): logit "
                  "{:.4g} → {:.4g}, probability {:.4g} → {:.4g}",
                  c, n, o.iterations, o.lr, o.prior, s0, s1, p0, p1));
  return add;
}

// arithmetic: the mean code of the generated samples the feature network assigns to each class of
// `plus` and `minus` (among kArithmeticPool), Σ plus − Σ minus, and samples of that code and of 7
// codes near it (+ N(0, 0.25²) noise, as Radford et al. 2016 vary the result).
constexpr int64_t kArithmeticPool = 2000;
constexpr int64_t kNear = 8;
CellAddition arithmetic(Session& s, const LatentRequest& r, std::vector<std::string>& lines) {
  Network& g = s.sampler();
  if (g.label_classes() > 0)
    throw InputError(
        "kant latent arithmetic: this generator takes its class as an input; "
        "arithmetic on mean codes is for unconditional generators");
  if (r.plus.empty()) throw InputError("kant latent arithmetic: give --plus A[,B…] (classes)");
  std::unique_ptr<ConvClassifier> net = feature_network(s, "arithmetic");
  Rng rng(r.seed, 5);
  NoGradGuard no_grad;
  const Tensor pool = s.generator_input(rng, kArithmeticPool);
  const int64_t dim = pool.size(1);
  const std::vector<int64_t> predicted = net->predict(g.forward(pool).detach());
  std::vector<int64_t> classes = r.plus;
  classes.insert(classes.end(), r.minus.begin(), r.minus.end());
  Tensor means = Tensor::zeros({static_cast<int64_t>(classes.size()), dim});
  std::vector<float> result(static_cast<size_t>(dim), 0.0f), signs;
  std::vector<std::string> counts;
  for (size_t k = 0; k < classes.size(); ++k) {
    const int64_t c = classes[k];
    if (c >= net->classes())
      throw InputError(
          fmt::format("kant latent arithmetic: class {}: the data set's classes are "
                      "0 to {}",
                      c, net->classes() - 1));
    int64_t members = 0;
    float* m = means.data() + static_cast<int64_t>(k) * dim;
    for (int64_t i = 0; i < kArithmeticPool; ++i)
      if (predicted[static_cast<size_t>(i)] == c) {
        ++members;
        for (int64_t j = 0; j < dim; ++j) m[j] += pool.data()[i * dim + j];
      }
    if (members == 0)
      throw InputError(
          fmt::format("kant latent arithmetic: none of {} generated samples is of "
                      "class {} by the feature network",
                      kArithmeticPool, c));
    signs.push_back(k < r.plus.size() ? 1.0f : -1.0f);
    for (int64_t j = 0; j < dim; ++j) {
      m[j] /= static_cast<float>(members);
      result[static_cast<size_t>(j)] += signs.back() * m[j];
    }
    counts.push_back(fmt::format("{}{} ({} samples)", signs.back() > 0 ? "+" : "−", c, members));
  }
  Tensor near = rng.normal_tensor({kNear, dim}, 0.0f, 0.25f);  // row 0: the result itself
  for (int64_t i = 0; i < kNear; ++i)
    for (int64_t j = 0; j < dim; ++j)
      near.data()[i * dim + j] =
          (i == 0 ? 0.0f : near.data()[i * dim + j]) + result[static_cast<size_t>(j)];
  const Tensor images = g.forward(near).detach();
  const std::vector<int64_t> got = net->predict(images);
  CellAddition add;
  auto& arrays = add.arrays["latent_arithmetic"];
  const std::vector<float> as_float(classes.begin(), classes.end()),
      got_float(got.begin(), got.end());
  arrays["classes"] = Tensor::from({static_cast<int64_t>(classes.size())}, as_float);
  arrays["signs"] = Tensor::from({static_cast<int64_t>(classes.size())}, signs);
  arrays["class_means"] = means;
  arrays["class_samples"] = g.forward(means).detach();
  arrays["result_codes"] = near;
  arrays["result_samples"] = images;
  arrays["result_classes"] = Tensor::from({kNear}, got_float);
  add.replace.insert("latent_arithmetic");
  std::vector<std::string> got_text;
  for (int64_t c : got) got_text.push_back(std::to_string(c));
  lines.push_back(
      fmt::format("arithmetic: {} over {} generated samples; the result and {} codes "
                  "near it are classified {}",
                  fmt::join(counts, " "), kArithmeticPool, kNear - 1, fmt::join(got_text, " ")));
  return add;
}

// invert: `count` data samples (seeded rows of the split) recovered as G(z) by optimising z.
CellAddition invert(Session& s, const LatentRequest& r, std::vector<std::string>& lines) {
  Network& g = s.sampler();
  Rng rng(r.seed, 1);
  Tensor targets;
  std::vector<int64_t> labels;
  const std::optional<LabelledSet> set = s.dataset->labelled();
  if (set) {
    const bool test = r.split == "test";
    if (test && !set->held_out.defined())
      throw InputError(
          fmt::format("kant latent invert: --split test: dataset '{}' has no "
                      "held-out split; use --split train",
                      s.config.dataset.component->name()));
    const Tensor& data = test ? set->held_out : set->data;
    const std::vector<int64_t>& all = test ? set->held_out_labels : set->labels;
    std::vector<int64_t> rows(static_cast<size_t>(data.size(0)));
    std::iota(rows.begin(), rows.end(), int64_t{0});
    for (size_t i = rows.size(); i > 1; --i)  // Fisher–Yates, seeded
      std::swap(rows[i - 1], rows[static_cast<size_t>(rng.below(i))]);
    rows.resize(static_cast<size_t>(std::min<int64_t>(r.count, data.size(0))));
    targets = take_rows(data, rows);
    for (int64_t i : rows) labels.push_back(all[static_cast<size_t>(i)]);
  } else {
    if (r.split == "test")
      throw InputError(
          fmt::format("kant latent invert: --split test: dataset '{}' draws fresh "
                      "samples and has no held-out split; use --split train",
                      s.config.dataset.component->name()));
    Batch b = s.dataset->sample_batch(r.count, rng);
    targets = b.x;
    labels = b.labels;
  }
  const int64_t n = targets.size(0);
  Tensor y;
  if (const int64_t k = g.label_classes(); k > 0) {
    if (static_cast<int64_t>(labels.size()) != n)
      throw InputError("kant latent invert: the generator takes a class and the data carry none");
    y = one_hot(labels, k);
  }
  const Tensor start = s.generator_input(rng, n);
  latent::InversionOptions options;
  options.iterations = r.iterations.value_or(options.iterations);
  options.lr = r.lr.value_or(options.lr);
  options.prior = r.prior.value_or(options.prior);
  options.stop = [] { return stop_signal() != 0; };
  latent::Inversion inv = latent::invert(g, targets, start, y, options);
  CellAddition add;
  auto& arrays = add.arrays["latent_invert"];
  arrays["targets"] = targets;
  arrays["reconstructions"] = inv.reconstructions;
  arrays["codes"] = inv.codes;
  arrays["mse"] = inv.mse;
  std::vector<double> mse(inv.mse.data(), inv.mse.data() + n);
  const double mean = std::accumulate(mse.begin(), mse.end(), 0.0) / double(n),
               median = quantile(mse, 0.5), p90 = quantile(mse, 0.9);
  add.final_metrics["latent_invert.mse_mean"] = mean;
  add.final_metrics["latent_invert.mse_median"] = median;
  add.final_metrics["latent_invert.mse_p90"] = p90;
  add.replace.insert("latent_invert");
  lines.push_back(
      fmt::format("invert: {} {} samples, {} Adam steps (lr {}, prior {}): "
                  "reconstruction MSE mean {:.5g}, median {:.5g}, 90th percentile "
                  "{:.5g}",
                  n, r.split, options.iterations, options.lr, options.prior, mean, median, p90));
  return add;
}

}  // namespace

LatentOutcome run_latent(const fs::path& file, const LatentRequest& r, const Registry& registry) {
  Loaded cell = load_cell(file, registry);
  Session& s = *cell.session;
  // the codes act on the generator alone: it must map the noise to a data sample by itself
  // (not so for a LAPGAN's pyramid, or a generator that takes an image)
  const Shape data = s.dataset->sample_shape();
  const NetworkRequest g = s.procedure->networks(data, s.config.noise_dim).front();
  if (g.input_shape.size() != 1 || g.output_shape != data)
    throw InputError(fmt::format(
        "{}: kant latent needs a generator that maps a code vector to a data sample {} by "
        "itself; procedure '{}' gives its generator {} and makes {} of it",
        file.string(), shape_str(data), s.config.procedure.component->name(),
        shape_str(g.input_shape), shape_str(g.output_shape)));
  if (r.label && r.operation == "interpolate") {
    const int64_t k = s.sampler().label_classes();
    if (k == 0)
      throw InputError(fmt::format("{}: --class {}: this cell's generator takes no class",
                                   file.string(), *r.label));
    if (*r.label >= k)
      throw InputError(fmt::format("{}: --class {}: the generator's classes are 0 to {}",
                                   file.string(), *r.label, k - 1));
  }
  StopSignals stop;  // a signal asks to stop: nothing is written then, or the write completes
  LatentOutcome out;
  CellAddition add;
  if (r.operation == "interpolate")
    add = interpolate(s, r, out.lines);
  else if (r.operation == "truncate")
    add = truncate(s, cell.metrics, registry, r, out.lines);
  else if (r.operation == "search")
    add = search(s, r, out.lines);
  else if (r.operation == "arithmetic")
    add = arithmetic(s, r, out.lines);
  else
    add = invert(s, r, out.lines);
  if ((out.signal = stop_signal())) return out;
  std::optional<Claim> claim = Claim::acquire(claim_path(file), std::chrono::seconds(120));
  if (!claim)
    throw InputError(
        fmt::format("{}: another kant holds this cell's claim; try again when it is "
                    "done",
                    file.string()));
  add_to_cell_file(file, add);  // sealed anew and renamed over: the old file or the new, whole
  out.signal = stop_signal();
  return out;
}

}  // namespace kant
