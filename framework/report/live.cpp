// Running cells in reports and in kant watch: each cell's live series (store/live_series.hpp)
// found beside its claim, drawn as dashed curves up to its current step beside its latest
// samples, and sparklines for a terminal. Never part of the table: only sealed cell files are.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kant/error.hpp"
#include "report/report.hpp"
#include "report/svg_plot.hpp"
#include "store/atomic_file.hpp"
#include "store/claim.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxLivePoints = 600;  // per curve, as the report's own curves

std::string labels_of(const Manifest& m, size_t i, const LiveSeries& s) {
  if (i < m.cell_labels.size() && !m.cell_labels[i].empty()) {
    std::string out;
    for (const auto& [k, v] : m.cell_labels[i]) out += (out.empty() ? "" : " ") + k + "=" + v;
    return out;
  }
  auto it = s.header.find("labels");
  return it != s.header.end() ? it->second : "";
}

// Every k-th point of a series so that a long run stays a small picture.
svg::Series thinned(const std::string& label, const std::vector<int64_t>& step,
                    const std::vector<double>& value) {
  svg::Series out;
  out.label = label;
  out.dashed = true;
  const size_t n = std::min(step.size(), value.size());
  const size_t stride = std::max<size_t>(1, n / kMaxLivePoints);
  for (size_t i = 0; i < n; i += stride) {
    out.x.push_back(static_cast<double>(step[i]));
    out.y.push_back(value[i]);
  }
  if (n > 0 && (n - 1) % stride != 0) {  // always end at the current step
    out.x.push_back(static_cast<double>(step[n - 1]));
    out.y.push_back(value[n - 1]);
  }
  return out;
}

std::string file_safe(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out;
}

}  // namespace

std::string LiveCell::state_text() const {
  const int64_t step = series.step();
  if (running) return fmt::format("running, step {} of {}", step, series.steps);
  return fmt::format("not running ({}), its series up to step {} of {}", why_not_running, step,
                     series.steps);
}

std::vector<LiveCell> find_live_cells(const fs::path& dir, const Manifest& m,
                                      std::chrono::seconds stale_after,
                                      std::vector<std::string>& problems) {
  std::vector<LiveCell> out;
  for (size_t i = 0; i < m.cell_ids.size(); ++i) {
    const fs::path cell = cell_path(dir, m.cell_ids[i]);
    const fs::path file = live_path(cell);
    std::error_code ec;
    if (!fs::exists(file, ec)) continue;
    LiveCell c;
    c.cell_id = m.cell_ids[i];
    c.index = i;
    try {
      c.series = read_live_series(file);
    } catch (const Error& e) {
      if (fs::exists(file, ec)) problems.push_back(e.what());  // else: stored meanwhile
      continue;
    }
    if (fs::exists(cell, ec)) {  // stored: only a crashed cell's series is worth showing
      try {
        if (read_cell_summary(cell).status != CellStatus::failed) continue;  // going this instant
      } catch (const Error&) {
        // a damaged cell file: the series says how far it got
      }
    }
    c.labels = labels_of(m, i, c.series);
    try {
      if (auto holder = Claim::live_holder(claim_path(cell), stale_after)) {
        c.running = true;
        c.holder = *holder;
      }
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
    if (!c.running)
      c.why_not_running = fs::exists(cell, ec)
                              ? "its process was killed; its cell is stored as failed"
                              : "its process is gone; kant run resumes it";
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

// The x axis spans the whole run (`steps`), so that the dashes show how far it has come; y spans
// the finite values of `series`.
void span_whole_run(svg::PlotOptions& o, const std::vector<svg::Series>& series, int64_t steps) {
  double lo = INFINITY, hi = -INFINITY;
  for (const svg::Series& s : series)
    for (double y : s.y)
      if (std::isfinite(y)) lo = std::min(lo, y), hi = std::max(hi, y);
  if (steps > 0 && std::isfinite(lo) && hi > lo) o.limits = {0, static_cast<double>(steps), lo, hi};
}

}  // namespace

std::vector<Figure> write_live_figures(const std::vector<LiveCell>& cells, const fs::path& out_dir,
                                       std::vector<std::string>& problems) {
  std::vector<Figure> figures;
  const fs::path dir = out_dir / "live";
  if (!cells.empty()) fs::create_directories(dir);  // a finished grid's report folder is as before
  for (const LiveCell& c : cells) {
    const std::string stem = file_safe(c.cell_id);
    const std::string title = fmt::format("{} — {}", c.labels, c.state_text());
    try {
      std::vector<svg::Series> losses;
      for (const auto& [name, v] : c.series.losses.values)
        if (name.rfind("schedule.", 0) != 0)
          losses.push_back(thinned(name, c.series.losses.step, v));
      if (!losses.empty()) {
        svg::PlotOptions o;
        o.title = title;
        o.x_label = "generator step";
        o.y_label = "loss";
        o.clip_id = "live-" + stem;
        span_whole_run(o, losses, c.series.steps);
        const fs::path f = dir / (stem + "-losses.svg");
        write_file_atomically(f, svg::plot(losses, o));
        figures.push_back({"running cells", title + " — losses", f});
      }
      std::vector<svg::Series> metrics;
      for (const auto& [metric, series] : c.series.metrics)
        for (const auto& [value, v] : series.values)
          metrics.push_back(thinned(metric + "." + value, series.step, v));
      if (!metrics.empty()) {
        svg::PlotOptions o;
        o.title = title;
        o.x_label = "generator step";
        o.y_label = "metric value";
        o.clip_id = "live-metrics-" + stem;
        for (svg::Series& s : metrics) s.markers = s.x.size() < 3;
        span_whole_run(o, metrics, c.series.steps);
        const fs::path f = dir / (stem + "-metrics.svg");
        write_file_atomically(f, svg::plot(metrics, o));
        figures.push_back({"running cells", title + " — metric values", f});
      }
      if (c.series.latest_samples.defined()) {
        const Tensor& t = c.series.latest_samples;
        std::vector<double> gen(t.data(), t.data() + t.numel());
        const std::string svg = samples_picture(
            gen, t.shape(), {},
            fmt::format("{} — samples at step {}", c.labels, c.series.sample_steps.back()));
        if (!svg.empty()) {
          const fs::path f = dir / (stem + "-samples.svg");
          write_file_atomically(f, svg);
          figures.push_back(
              {"running cells",
               fmt::format("{} — latest samples (step {})", c.labels, c.series.sample_steps.back()),
               f});
        }
      }
    } catch (const Error& e) {
      problems.push_back(fmt::format("live figures of cell {}: {}", c.cell_id, e.what()));
    }
  }
  return figures;
}

std::string sparkline(const std::vector<double>& values, size_t width, bool unicode) {
  if (values.empty() || width == 0) return "";
  // the mean of each of `width` equal runs of values (fewer when there are fewer values)
  const size_t n = std::min(width, values.size());
  std::vector<double> bucket(n, 0.0);
  std::vector<size_t> count(n, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    const size_t b = i * n / values.size();
    bucket[b] += values[i];
    ++count[b];
  }
  double lo = INFINITY, hi = -INFINITY;
  for (size_t b = 0; b < n; ++b)
    if (count[b]) {
      bucket[b] /= static_cast<double>(count[b]);
      lo = std::min(lo, bucket[b]), hi = std::max(hi, bucket[b]);
    }
  static const char* const kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  static const char kAscii[] = "_.-:=+*#";
  std::string out;
  for (size_t b = 0; b < n; ++b) {
    if (!count[b]) {
      out += unicode ? "·" : "?";
      continue;
    }
    const double f = hi > lo ? (bucket[b] - lo) / (hi - lo) : 0.5;
    const auto level = std::min<size_t>(7, static_cast<size_t>(f * 8.0));
    if (unicode)
      out += kBlocks[level];
    else
      out += kAscii[level];
  }
  return out;
}

}  // namespace kant
