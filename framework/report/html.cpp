// The HTML report page of an experiment: table, figures, failures, and each cell's config and
// provenance, in one file beside its SVG figures. A small script records on <body> how many
// images and tables rendered (data-images-ok="k/n"), which the browser test reads.
#include <fmt/format.h>

#include <algorithm>

#include "kant/error.hpp"
#include "report/report.hpp"
#include "store/atomic_file.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

constexpr const char* kStyle =
    R"(body{font-family:sans-serif;margin:2em auto;max-width:1200px;color:#222}
table.results{border-collapse:collapse;margin:1em 0}table.results td,table.results th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}
table.results th:first-child,table.results tbody th{text-align:left}thead th{border-bottom:2px solid #333!important}
td.miss{color:#b71c1c}.figs{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figure img{border:1px solid #eee;max-width:100%}
figcaption{font-size:12px;color:#555}details{margin:4px 0}pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}
table.kv td{padding:1px 8px;font-size:12px;vertical-align:top}.status-failed{color:#b71c1c}.status-diverged{color:#e65100}
.problems{color:#b71c1c}.scroll{overflow-x:auto})";

constexpr const char* kScript = R"(<script>
window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-ok', ok + '/' + imgs.length);
  document.body.setAttribute('data-tables', document.querySelectorAll('table.results tbody tr').length);
});
</script>)";

}  // namespace

fs::path write_html_report(const fs::path& dir, const Manifest& manifest,
                           const std::vector<CellSummary>& cells, const Table& table,
                           const std::vector<Figure>& figures,
                           const std::vector<std::string>& problems, const LivePage& live) {
  const fs::path out_dir = dir / "report";
  fs::create_directories(out_dir);
  size_t complete = 0, diverged = 0, failed = 0, stopped = 0;
  for (const CellSummary& c : cells) {
    stopped += c.status == CellStatus::stopped;
    complete += c.status == CellStatus::complete;
    diverged += c.status == CellStatus::diverged;
    failed += c.status == CellStatus::failed;
  }
  std::string h = fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">{}<title>{} — Kantorovich "
      "report</title>\n<style>{}</style></head>\n<body>\n",
      live.refresh_seconds > 0
          ? fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">", live.refresh_seconds)
          : "",
      esc(manifest.name), kStyle);
  h += fmt::format(
      "<h1>{}</h1>\n<p>{} cells: {} complete, {} diverged, {} failed{}. Values are mean ± std over "
      "the "
      "complete cells behind each value (n: its seeds, times any grid axis that is neither a row "
      "nor a column); a row's diverged and failed cells are counted, never dropped. A value "
      "marked (k/n) is over the k of n seeds whose value was finite: NaN and ±Inf are left out of "
      "the mean and counted; figures draw them as grey marks. A metric that failed in a cell "
      "reads “failed [k]”, note k saying why.</p>\n",
      esc(manifest.name), cells.size(), complete, diverged, failed,
      stopped ? fmt::format(", {} stopped by the user (never in the table's values)", stopped)
              : "");
  if (!live.cells.empty()) {
    size_t running = 0;
    for (const LiveCell* c : live.cells) running += c->running;
    h += fmt::format(
        "<h2 id=\"running\">Running cells</h2>\n<p>{} cell{} training now{}{}. Their curves are "
        "dashed up to the step each has reached (the x axis spans the whole run); they are never "
        "counted in the table, which holds stored cells only.</p>\n<ul class=\"live\">\n",
        running, running == 1 ? "" : "s",
        live.to_do > 0 ? fmt::format(", {} to do", live.to_do) : "",
        live.refresh_seconds > 0
            ? fmt::format("; this page is rewritten and reloads every {} s", live.refresh_seconds)
            : "");
    for (const LiveCell* c : live.cells) {
      const double left = c->series.seconds_left();
      h += fmt::format(
          "<li class=\"{}\"><b>{}</b> <code>{}</code>: {}{}</li>\n",
          c->running ? "running" : "left", esc(c->labels), esc(c->cell_id), esc(c->state_text()),
          c->running && left >= 0 ? esc(fmt::format(", about {:.0f} s left", left)) : "");
    }
    h += "</ul>\n";
  }
  if (!problems.empty()) {
    h += "<div class=\"problems\"><p>Files left out:</p><ul>\n";
    for (const std::string& p : problems) h += fmt::format("<li>{}</li>\n", esc(p));
    h += "</ul></div>\n";
  }
  h += "<h2>Table</h2>\n<div class=\"scroll\">\n" + render_table(table, TableFormat::html) +
       "</div>\n";
  if (std::string s = reference_summary(table); !s.empty())
    h += fmt::format("<p><b>{}</b>. ✗ marks a difference beyond the tolerance.</p>\n", esc(s));
  if (!table.notes.empty()) {
    h += "<p>Metrics that failed (their values are never shown as numbers):</p><ul>\n";
    for (const std::string& n : table.notes)
      h += fmt::format("<li class=\"status-failed\">{}</li>\n", esc(n));
    h += "</ul>\n";
  }

  std::vector<std::string> sections;
  for (const Figure& f : figures)
    if (std::find(sections.begin(), sections.end(), f.section) == sections.end())
      sections.push_back(f.section);
  for (const std::string& section : sections) {
    std::string anchor = section;  // "samples over time" → #samples-over-time
    std::replace(anchor.begin(), anchor.end(), ' ', '-');
    h += fmt::format("<h2 id=\"{}\">{}</h2>\n<div class=\"figs\">\n", esc(anchor), esc(section));
    for (const Figure& f : figures)
      if (f.section == section)
        h += fmt::format(
            "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
            esc(f.file.lexically_relative(out_dir).string()), esc(f.title), esc(f.title));
    h += "</div>\n";
  }

  std::vector<const CellSummary*> bad;
  for (const CellSummary& c : cells)
    if (c.status != CellStatus::complete ||
        std::any_of(c.metrics.begin(), c.metrics.end(),
                    [](const auto& m) { return m.second.status == "failed"; }))
      bad.push_back(&c);
  if (!bad.empty()) {
    h += "<h2>Failures and divergences</h2>\n<ul>\n";
    for (const CellSummary* c : bad) {
      std::vector<std::string> labels;
      for (const auto& [k, v] : c->labels) labels.push_back(k + "=" + v);
      if (c->status != CellStatus::complete)
        h += fmt::format("<li class=\"status-{}\"><b>{}</b> ({}): {} — {}</li>\n",
                         esc(to_string(c->status)), esc(fmt::format("{}", fmt::join(labels, " "))),
                         esc(c->cell_id), esc(to_string(c->status)), esc(c->detail));
      for (const auto& [name, m] : c->metrics)
        if (m.status == "failed")
          h += fmt::format(
              "<li class=\"status-failed\"><b>{}</b> ({}): metric {} failed at step {} — {}</li>\n",
              esc(fmt::format("{}", fmt::join(labels, " "))), esc(c->cell_id), esc(name),
              m.failed_step, esc(m.error));
    }
    h += "</ul>\n";
  }

  h += "<h2>Cells</h2>\n";
  for (const CellSummary& c : cells) {
    std::vector<std::string> labels;
    for (const auto& [k, v] : c.labels) labels.push_back(k + "=" + v);
    h += fmt::format(
        "<details><summary>{} — <span class=\"status-{}\">{}</span> "
        "<code>{}</code></summary>\n<table class=\"kv\">\n",
        esc(fmt::format("{}", fmt::join(labels, " "))), esc(to_string(c.status)),
        esc(to_string(c.status)), esc(c.cell_id));
    for (const auto& [k, v] : c.attrs)
      if (k != "config" && k != "labels")
        h += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", esc(k), esc(v));
    for (const auto& [k, v] : c.final_metrics)
      h += fmt::format("<tr><td>final {}</td><td>{}</td></tr>\n", esc(k), v);
    for (const auto& [name, m] : c.metrics)
      h += fmt::format(
          "<tr><td>metric {}</td><td>{}{}{}</td></tr>\n", esc(name), esc(m.status),
          m.status == "failed" ? esc(fmt::format(" at step {}: {}", m.failed_step, m.error)) : "",
          m.source == "evaluate" ? esc(" (kant evaluate, " + m.evaluated_at + ")") : "");
    h += fmt::format("</table>\n<pre>{}</pre>\n</details>\n", esc(c.config_yaml));
  }
  h += kScript;
  h += "\n</body></html>\n";
  const fs::path file = out_dir / "index.html";
  write_file_atomically(file, h);
  return file;
}

}  // namespace kant
