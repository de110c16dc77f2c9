// The cluster simulator: cells of known lengths on many simulated workers, assigned two ways —
// static sharding (kant run --shard w/N: worker w trains cells i ≡ w mod N, one after the
// other) and dynamic assignment replayed through cluster::Coordinator, the code MPI rank 0 runs
// (each worker, when free, is handed the next cell of the queue). Prints a Markdown table of
// makespans and efficiencies (work / (workers × makespan)) over several random draws of the
// cell lengths. Used for docs/scaling.md (scripts/scaling.py); not part of ctest.
//
// Cell lengths ("mix"): `settings` grid points × `seeds` seeds in grid order (seeds fastest,
// as kant expands grids). Each setting's mean length is log-uniform in [min_hours, max_hours];
// each cell is its setting's mean × a log-normal seed factor (σ = jitter); a fraction
// `diverge` of the cells stop early at a uniform point of their length (a NaN loss ends a cell).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <queue>
#include <string>
#include <vector>

#include "cluster/coordinator.hpp"

namespace {

// splitmix64: a small, fully specified generator, so draws are the same on every machine
struct Random {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double normal() {
    const double u = std::max(uniform(), 1e-300), v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
  }
};

struct Mix {
  int settings = 50, seeds = 20;
  double min_hours = 0.5, max_hours = 8, jitter = 0.15, diverge = 0.15;
};

std::vector<double> draw_cells(const Mix& m, Random& r) {
  std::vector<double> hours;
  for (int s = 0; s < m.settings; ++s) {
    const double mean = m.min_hours * std::pow(m.max_hours / m.min_hours, r.uniform());
    for (int k = 0; k < m.seeds; ++k) {
      double h = mean * std::exp(m.jitter * r.normal());
      if (r.uniform() < m.diverge) h *= r.uniform();
      hours.push_back(h);
    }
  }
  return hours;
}

double static_makespan(const std::vector<double>& cells, int workers, double overhead) {
  std::vector<double> busy(static_cast<size_t>(workers), 0.0);
  for (size_t i = 0; i < cells.size(); ++i)
    busy[i % static_cast<size_t>(workers)] += cells[i] + overhead;
  return *std::max_element(busy.begin(), busy.end());
}

// Each free worker asks the coordinator, in the order they free (ties: lower worker first).
double dynamic_makespan(const std::vector<double>& cells, int workers, double overhead) {
  std::deque<size_t> queue;
  for (size_t i = 0; i < cells.size(); ++i) queue.push_back(i);
  kant::cluster::Coordinator coordinator(queue, workers);
  using Event = std::pair<double, int>;  // (time the worker frees, worker)
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> free_at;
  for (int w = 0; w < workers; ++w) free_at.push({0.0, w});
  double end = 0;
  while (!free_at.empty()) {
    const auto [t, w] = free_at.top();
    free_at.pop();
    const std::optional<size_t> cell = coordinator.assign(w);
    if (!cell) continue;  // this worker is done
    const double done = t + overhead + cells[*cell];
    coordinator.ended(w, *cell, kant::CellStatus::complete, true);
    end = std::max(end, done);
    free_at.push({done, w});
  }
  return end;
}

struct Stats {
  double sum = 0, lo = 1e300, hi = 0;
  int n = 0;
  void add(double v) { sum += v, lo = std::min(lo, v), hi = std::max(hi, v), ++n; }
  /// "mean (min–max)", each scaled and printed with `decimals` digits and `unit`
  std::string str(int decimals, double scale = 1, const char* unit = "") const {
    auto f = [&](double v) { return fmt::format("{:.{}f}{}", v * scale, decimals, unit); };
    return fmt::format("{} ({}–{})", f(sum / n), f(lo), f(hi));
  }
};

int usage() {
  std::fprintf(stderr,
               "usage: kant_cluster_sim [--workers N,N,…] [--settings S] [--seeds K] [--min-hours "
               "H] [--max-hours H]\n"
               "                        [--jitter σ] [--diverge F] [--overhead SECONDS] [--draws "
               "D] [--seed X]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Mix mix;
  std::vector<int> workers{64, 1024};
  int draws = 20;
  uint64_t seed = 1;
  double overhead_s = 1.0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (a == "--workers") {
      workers.clear();
      for (std::string s = v; !s.empty();) {
        const size_t comma = s.find(',');
        workers.push_back(std::atoi(s.substr(0, comma).c_str()));
        s = comma == std::string::npos ? "" : s.substr(comma + 1);
      }
    } else if (a == "--settings")
      mix.settings = std::atoi(v);
    else if (a == "--seeds")
      mix.seeds = std::atoi(v);
    else if (a == "--min-hours")
      mix.min_hours = std::atof(v);
    else if (a == "--max-hours")
      mix.max_hours = std::atof(v);
    else if (a == "--jitter")
      mix.jitter = std::atof(v);
    else if (a == "--diverge")
      mix.diverge = std::atof(v);
    else if (a == "--overhead")
      overhead_s = std::atof(v);
    else if (a == "--draws")
      draws = std::atoi(v);
    else if (a == "--seed")
      seed = std::strtoull(v, nullptr, 10);
    else
      return usage();
  }
  const double overhead = overhead_s / 3600;
  fmt::print(
      "| workers | cells | static: makespan (h) | static: efficiency | dynamic: makespan (h) | "
      "dynamic: efficiency "
      "| bound (h) |\n|---|---|---|---|---|---|---|\n");
  for (int n : workers) {
    Random r{seed};
    Stats st_m, st_e, dy_m, dy_e, bound;
    for (int d = 0; d < draws; ++d) {
      const std::vector<double> cells = draw_cells(mix, r);
      double work = 0, longest = 0;
      for (double h : cells) work += h + overhead, longest = std::max(longest, h + overhead);
      const double s = static_makespan(cells, n, overhead),
                   y = dynamic_makespan(cells, n, overhead);
      st_m.add(s), st_e.add(work / (n * s)), dy_m.add(y), dy_e.add(work / (n * y));
      bound.add(std::max(work / n, longest));
    }
    fmt::print("| {} | {} | {} | {} | {} | {} | {} |\n", n, mix.settings * mix.seeds, st_m.str(1),
               st_e.str(0, 100, " %"), dy_m.str(1), dy_e.str(0, 100, " %"), bound.str(1));
  }
  return 0;
}
