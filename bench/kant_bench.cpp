// kant_bench: the peer benchmark's workloads (shared/bench/torch_reference.py) through our
// training loop — same shapes, batch sizes, n_critic and optimizers — timed per generator
// iteration; prints JSON: ms per iteration, GFLOP/s by the peer's analytic FLOP count, and %
// of the sgemm peak measured here (oneDNN matmul 2048³).
//
//   kant_bench [--threads N] [--workloads a,b,c,d,e,e_gp,a_tiny,pacgan] [--warmup 5] [--iters 30]
//              [--precision fp32,bf16]   (train.precision of every workload; bf16 needs native
//              bf16)
//   kant_bench --workloads conv   (conv2d forward/backward timings on workload d's layers)
//   kant_bench --workloads gemm   (the MLP workloads' GEMMs per mode; bench/gemm_openblas.py
//                                  times the same through OpenBLAS)
//
// Workload d is the peer's DCGAN (WGAN-GP, 1×32×32) through the dcgan architecture plugin.
// a_tiny is a at width 16 and batch 16 (the peer's per-op overhead floor: 5 + 200 iterations).
// pacgan has no peer: PacGAN's networks (experiments/papers/pacgan_modes.yaml; 2 → 400×4 → 2
// with batch norm, a 3-layer maxout critic, batch 100, one D and one G step), for µs per step.
#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>

#include "autodiff/backend.hpp"
#include "cells/experiment.hpp"
#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "training/trainer.hpp"

using namespace kant;
using clock_type = std::chrono::steady_clock;

namespace {

// CPU seconds of the whole machine and of this process, for the other processes' load.
struct LoadMeter {
  double t0, busy0, self0;
  static double busy() {
    std::ifstream f("/proc/stat");
    std::string cpu;
    double v[8] = {0};
    f >> cpu;
    for (double& x : v) f >> x;
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  static double self() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }
  static double now() {
    return std::chrono::duration<double>(clock_type::now().time_since_epoch()).count();
  }
  LoadMeter() : t0(now()), busy0(busy()), self0(self()) {}
  double foreign_cores() const {
    const double wall = now() - t0;
    return std::max(0.0, ((busy() - busy0) - (self() - self0)) / wall);
  }
};

// The peer's analytic FLOPs per generator iteration (torch_reference.py, analytic_flops).
double analytic_gflop(const std::string& name) {
  if (name == "d") {  // DCGAN on 1×32×32, batch 64: MACs per sample of each layer
    const double b = 64;
    const double d[4] = {64. * 16 * 16 * 16, 128. * 8 * 8 * 64 * 16, 256. * 4 * 4 * 128 * 16, 4096};
    const double g[4] = {128. * 4096, 256. * 4 * 4 * 128 * 16, 128. * 8 * 8 * 64 * 16,
                         64. * 16 * 16 * 16};
    const double pd = d[0] + d[1] + d[2] + d[3], pg = g[0] + g[1] + g[2] + g[3];
    const double critic = pg + 3 * pd + pd + 2 * (2 * pd - d[0]) + (2 * pd - d[3]);
    const double gen = 3 * pg - g[0] + 2 * pd;
    return 2 * b * (5 * critic + gen) / 1e9;
  }
  if (name == "pacgan") {  // G 2-400-400-400-400-2 (no bias), D 2-1000-(200→1000)×2-200→1
    const double b = 100, pg = 2 * 400 + 3 * 400 * 400 + 400 * 2,
                 pd = 2 * 1000 + 2 * 200 * 1000 + 200;
    // D step: G fwd, D fwd on real and fake, dW + dX (not the first) of both; G step: G fwd,
    // D fwd, D dX, G dW + dX (not the first)
    const double critic = pg + 2 * pd + 2 * (2 * pd - 2 * 1000), gen = 3 * pg - 2 * 400 + 2 * pd;
    return 2 * b * (critic + gen) / 1e9;
  }
  const bool tiny = name == "a_tiny";
  const double w = tiny ? 16 : 512, b = tiny ? 16 : 256;
  const double d[4] = {2 * w, w * w, w * w, w}, g[4] = {2 * w, w * w, w * w, 2 * w};
  const double pd = d[0] + d[1] + d[2] + d[3], pg = g[0] + g[1] + g[2] + g[3];
  double gen = 3 * pg - g[0] + 2 * pd, critic = 0, n = 5;
  if (name == "a" || name == "a_tiny" || name == "e_gp")
    critic = pg + 3 * pd + pd + 2 * (2 * pd - d[0]) + (2 * pd - d[3]);
  if (name == "b" || name == "e") critic = pg + 2 * pd + 2 * (2 * pd - d[0]);
  if (name == "c") {
    critic = pg + 2 * pd + 2 * (2 * pd - d[0]);
    gen = 2 * pd + 2 * pg - g[0];
    n = 1;
  }
  double extra = 0;
  if (name == "e" || name == "e_gp") {
    const double per_fwd = 2 * (2 * w + w * w + w * w + w);
    extra = (n * (name == "e_gp" ? 3 : 2) + 1) * per_fwd;
  }
  return 2 * (b * (n * critic + gen) + extra) / 1e9;
}

// The timed loop's settings: `steps` generator iterations at `precision`, nothing stored.
std::string train_line(int64_t steps, int64_t batch, const std::string& precision) {
  return fmt::format(
      "train: {{steps: {}, batch_size: {}, samples: 0, log_every: 1, precision: {}}}\n", steps,
      batch, precision);
}

std::string workload_yaml(const std::string& name, int64_t steps, const std::string& precision) {
  if (name == "d")  // the peer's DCGAN: 256-128-64 generator with batch norm, 64-128-256 critic
    return "dataset: {plugin: digits, size: 32}\n"
           "generator: {plugin: dcgan, width: 64, noise_dim: 128}\n"
           "critic: {plugin: dcgan, width: 64}\n"
           "objective: wasserstein\nlipschitz: {plugin: gradient_penalty, lambda: 10}\n"
           "optimizer: {plugin: adam, lr: 1.0e-4, beta1: 0.5, beta2: 0.9}\ntrain: {n_critic: 5}\n"
           "seed: 0\n" +
           train_line(steps, 64, precision);
  if (name == "pacgan")  // PacGAN's networks and optimizer (pacgan_modes.yaml), no packing
    return "dataset: {plugin: ring, modes: 8, radius: 1, std: 0.01}\n"
           "generator: {plugin: mlp, hidden: [400, 400, 400, 400], normalization: batch, "
           "hidden_bias: false, init: normal, init_std: 0.02, noise_dim: 2}\n"
           "critic: {plugin: mlp, hidden: [200, 200, 200], maxout_pieces: 5, init: normal, "
           "init_std: 0.02}\n"
           "objective: nonsaturating\n"
           "optimizer: {plugin: adam, lr: 1.0e-4, beta1: 0.8, beta2: 0.999}\ntrain: {n_critic: 1}\n"
           "seed: 0\n" +
           train_line(steps, 100, precision);
  const bool tiny = name == "a_tiny";
  const std::string nets = fmt::format(R"(
dataset: {{plugin: eight_gaussians, radius: 2.0, std: 0.02, normalize: 1.0}}
generator: {{plugin: mlp, hidden: [{0}, {0}, {0}], noise_dim: 2}}
critic: {{plugin: mlp, hidden: [{0}, {0}, {0}]}}
)",
                                       tiny ? 16 : 512);
  std::string method;
  if (name == "a" || tiny)
    method =
        "objective: wasserstein\nlipschitz: {plugin: gradient_penalty, lambda: 10}\n"
        "optimizer: {plugin: adam, lr: 1.0e-4, beta1: 0.5, beta2: 0.9}\ntrain: {n_critic: 5}\n";
  else if (name == "b")
    method =
        "objective: wasserstein\nlipschitz: {plugin: weight_clipping, c: 0.01}\n"
        "optimizer: {plugin: rmsprop, lr: 5.0e-5}\ntrain: {n_critic: 5}\n";
  else if (name == "c")
    method =
        "objective: nonsaturating\noptimizer: {plugin: adam, lr: 2.0e-4, beta1: 0.5, beta2: "
        "0.999}\n"
        // the peer's step: one generator forward, its samples reused by the generator step
        "procedure: {plugin: gan, n_critic: 1, generator_batch: reuse}\n";
  else if (name == "e")
    method =
        "objective: wasserstein\nlipschitz: {plugin: spectral_norm, n_power_iterations: 1}\n"
        "optimizer: {plugin: adam, lr: 1.0e-4, beta1: 0.5, beta2: 0.9}\ntrain: {n_critic: 5}\n";
  else if (name == "e_gp")
    // spectral norm and the gradient penalty together: a list of Lipschitz methods
    method =
        "objective: wasserstein\nlipschitz: [{plugin: spectral_norm}, {plugin: gradient_penalty, "
        "lambda: 10}]\n"
        "optimizer: {plugin: adam, lr: 1.0e-4, beta1: 0.5, beta2: 0.9}\ntrain: {n_critic: 5}\n";
  return nets + method + "seed: 0\n" + train_line(steps, tiny ? 16 : 256, precision);
}

ConfigNode merged(const std::string& yaml) {
  // later "train:" lines extend earlier ones: parse the two documents and merge them
  size_t split = yaml.rfind("train: {steps");
  ConfigNode a = parse_yaml(yaml.substr(0, split), "workload");
  merge_into(a, parse_yaml(yaml.substr(split), "workload"));
  return a;
}

struct Timing {
  std::vector<double> ms;
  double foreign = 0;
};

Timing time_workload(const std::string& name, const std::string& precision,
                     const Registry& registry, int warmup, int iters) {
  CellConfig cfg = resolve_cell(merged(workload_yaml(name, warmup + iters, precision)), registry);
  std::vector<double> stamps;
  std::unique_ptr<LoadMeter> meter;
  auto t0 = clock_type::now();
  Timing t;
  TrainOptions options;
  options.progress = [&](int64_t step, int64_t, const std::vector<std::pair<std::string, double>>&,
                         double) {
    auto now = clock_type::now();
    if (step == warmup) meter = std::make_unique<LoadMeter>();
    if (step > warmup) t.ms.push_back(std::chrono::duration<double, std::milli>(now - t0).count());
    t0 = now;
  };
  train_cell(cfg, registry, options);
  t.foreign = meter ? meter->foreign_cores() : 0;
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty()      ? 0
         : v.size() % 2 ? v[v.size() / 2]
                        : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// A 2048³ product through oneDNN (our matmul op): sgemm, the "% of peak" reference, or with
// bf16 operands (their rounding included).
double gemm_gflops(bool bf16 = false) {
  const int64_t n = 2048;
  Rng rng(1);
  Tensor a = rng.uniform_tensor({n, n}), b = rng.uniform_tensor({n, n});
  NoGradGuard no_grad;
  backend::Bf16Products products(bf16);
  for (int i = 0; i < 2; ++i) matmul(a, b);
  std::vector<double> ts;
  for (int i = 0; i < 5; ++i) {
    auto t0 = clock_type::now();
    matmul(a, b);
    ts.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
  }
  return 2.0 * n * n * n / 1e9 / median(ts);
}

// Our conv2d op and its two adjoints (layouts chosen by oneDNN, reorders included) on the
// critic layers of workload d, batch 64: one JSON line per layer and direction. Running with
// ONEDNN_VERBOSE=1 shows the primitives' own times (without our reorders) for comparison.
void time_convs(std::vector<std::string>& out, const std::string& precision) {
  struct Layer {
    Shape x, w;
  };
  const std::vector<Layer> layers{{{64, 1, 32, 32}, {64, 1, 4, 4}},
                                  {{64, 64, 16, 16}, {128, 64, 4, 4}},
                                  {{64, 128, 8, 8}, {256, 128, 4, 4}}};
  const Conv2dOptions o = Conv2dOptions::square(2, 1);
  NoGradGuard no_grad;
  backend::Bf16Products products(precision == "bf16");
  Rng rng(2);
  for (const Layer& l : layers) {
    Tensor x = rng.uniform_tensor(l.x), w = rng.uniform_tensor(l.w);
    Tensor y = conv2d(x, w, Tensor(), o);
    Tensor g = rng.uniform_tensor(y.shape());
    const double gflop = 2.0 * double(y.numel()) * double(l.w[1] * l.w[2] * l.w[3]) / 1e9;
    const std::vector<std::pair<const char*, std::function<void()>>> dirs{
        {"forward", [&] { conv2d(x, w, Tensor(), o); }},
        {"backward_data", [&] { conv2d_backward_data(g, w, l.x, o); }},
        {"backward_weights", [&] { conv2d_backward_weights(x, g, l.w, o); }}};
    for (const auto& [dir, f] : dirs) {
      for (int i = 0; i < 3; ++i) f();
      std::vector<double> ts;
      for (int i = 0; i < 15; ++i) {
        auto t0 = clock_type::now();
        f();
        ts.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
      }
      out.push_back(fmt::format(
          R"({{"conv": "{}x{}", "direction": "{}", "precision": "{}", "median_ms": {:.3f}, "gflops": {:.1f}}})",
          shape_str(l.x), shape_str(l.w), dir, precision, 1e3 * median(ts), gflop / median(ts)));
    }
  }
}

// The GEMMs of the MLP workloads (batch 256, width 512) in the three modes a linear layer runs:
// forward X·Wᵀ (NT), backward-data G·W (NN), backward-weights Gᵀ·X (TN); the same list as
// bench/gemm_openblas.py, one JSON line per shape and mode.
void time_gemms(std::vector<std::string>& out, const std::string& precision) {
  struct Gemm {
    const char* mode;
    int64_t m, k, n;
  };
  const std::vector<Gemm> gemms{{"NT", 256, 512, 512}, {"NN", 256, 512, 512},
                                {"TN", 512, 256, 512}, {"NT", 100, 400, 400},
                                {"NN", 100, 400, 400}, {"TN", 400, 100, 400}};
  NoGradGuard no_grad;
  backend::Bf16Products products(precision == "bf16");
  Rng rng(3);
  for (const Gemm& g : gemms) {
    const bool ta = g.mode[0] == 'T', tb = g.mode[1] == 'T';
    Tensor a = rng.uniform_tensor(ta ? Shape{g.k, g.m} : Shape{g.m, g.k});
    Tensor b = rng.uniform_tensor(tb ? Shape{g.n, g.k} : Shape{g.k, g.n});
    for (int i = 0; i < 5; ++i) matmul(a, b, ta, tb);
    std::vector<double> ts;
    for (int i = 0; i < 50; ++i) {
      auto t0 = clock_type::now();
      matmul(a, b, ta, tb);
      ts.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
    }
    const double gflop = 2.0 * double(g.m) * double(g.k) * double(g.n) / 1e9;
    out.push_back(fmt::format(
        R"({{"gemm": "{}", "precision": "{}", "m": {}, "k": {}, "n": {}, "median_ms": {:.4f}, "gflops": {:.1f}}})",
        g.mode, precision, g.m, g.k, g.n, 1e3 * median(ts), gflop / median(ts)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, warmup = 5, iters = 30;
  bool iters_given = false;
  std::string workloads = "a,b,c,d,e,e_gp", precisions = "fp32";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--threads")
      threads = std::stoi(v);
    else if (k == "--workloads")
      workloads = v;
    else if (k == "--warmup")
      warmup = std::stoi(v);
    else if (k == "--iters")
      iters = std::stoi(v), iters_given = true;
    else if (k == "--precision")
      precisions = v;
    else {
      std::cerr << "usage: kant_bench [--threads N] [--workloads a,b,c,d,e,e_gp,a_tiny,pacgan] "
                   "[--warmup W] [--iters I] [--precision fp32,bf16]\n";
      return 2;
    }
  }
  std::vector<std::string> precision_list;
  std::stringstream plist(precisions);
  for (std::string p; std::getline(plist, p, ',');) {
    if (p != "fp32" && p != "bf16") {
      std::cerr << "kant_bench: --precision takes fp32 and bf16, not '" << p << "'\n";
      return 2;
    }
    if (p == "bf16" && !backend::native_bf16()) {
      std::cerr << "kant_bench: bf16 needs a CPU with avx512_bf16 or amx_bf16; oneDNN dispatches "
                << backend::isa() << " here\n";
      return 2;
    }
    precision_list.push_back(p);
  }
  omp_set_num_threads(threads);
  Registry registry = Registry::load_default();
  const double peak = gemm_gflops();
  const bool any_bf16 =
      std::find(precision_list.begin(), precision_list.end(), "bf16") != precision_list.end();
  const double bf16_peak = any_bf16 ? gemm_gflops(true) : 0;
  std::vector<std::string> out;
  std::vector<std::pair<std::string, std::string>> runs;  // (workload, precision)
  std::stringstream list(workloads);
  for (std::string w; std::getline(list, w, ',');)
    for (const std::string& p : precision_list) runs.emplace_back(w, p);
  for (const auto& [w, precision] : runs) {
    if (w == "conv") {
      time_convs(out, precision);
      continue;
    }
    if (w == "gemm") {
      time_gemms(out, precision);
      continue;
    }
    std::cerr << fmt::format("[threads={}] {} {} ...\n", threads, w, precision);
    // the DCGAN workload runs fewer iterations, as the peer does (2 warm-up, 8 timed), the
    // overhead floors more (200 timed, unless --iters says otherwise)
    const bool conv = w == "d", floor = w == "a_tiny" || w == "pacgan";
    Timing t = time_workload(w, precision, registry, conv ? std::min(warmup, 2) : warmup,
                             conv                    ? std::min(iters, 8)
                             : floor && !iters_given ? 200
                                                     : iters);
    const double med = median(t.ms), gflop = analytic_gflop(w);
    std::vector<std::string> samples;
    for (double x : t.ms) samples.push_back(fmt::format("{:.3f}", x));
    out.push_back(fmt::format(
        R"({{"workload": "{}", "precision": "{}", "available": true, "iters": {}, "median_ms": {:.3f}, "min_ms": {:.3f}, "gflop_per_iter": {:.4f}, "gflops_at_median": {:.2f}, "pct_sgemm_peak": {:.1f}, "foreign_cores": {:.3f}, "samples_ms": [{}]}})",
        w, precision, t.ms.size(), med, *std::min_element(t.ms.begin(), t.ms.end()), gflop,
        gflop / (med / 1e3), 100 * gflop / (med / 1e3) / peak, t.foreign,
        fmt::join(samples, ", ")));
    std::cerr << fmt::format("   median {:.2f} ms, {:.1f} GFLOP/s, foreign load {:.2f}\n", med,
                             gflop / (med / 1e3), t.foreign);
  }
  fmt::print(
      "{{\"threads\": {}, \"isa\": \"{}\", \"onednn\": \"{}\", \"sgemm_gflops\": {:.1f}, "
      "\"bf16_gemm_gflops\": {:.1f}, \"results\": [\n  {}\n]}}\n",
      threads, backend::isa(), backend::version(), peak, bf16_peak, fmt::join(out, ",\n  "));
  return 0;
}
