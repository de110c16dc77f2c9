// Reports from stored cells: the comparison table (mean ± std over seeds, n, failures; with
// the paper's numbers and the difference where the experiment gives them), in Markdown, CSV,
// LaTeX or HTML; SVG figures; and an HTML page per experiment.
#pragma once
#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "store/cell_file.hpp"
#include "store/live_series.hpp"
#include "store/manifest.hpp"

namespace kant {

/// A figure of the report: one line per cell group, y (and x) read from each cell's file.
struct PlotSpec {
  std::string name;  ///< file name stem
  std::string x, y;  ///< dataset paths in a cell file; x "" : the `step` beside y
  /// A grid axis with numeric labels: one point per cell at x = its label on the axis, y = its
  /// final value named by `y` ("metric.value"); a line per `lines` value (and seed), sorted by x.
  std::string over;
  /// The final values of a plot `over` an axis (y may list several: a line for each and each
  /// `lines` value); {y} otherwise.
  std::vector<std::string> ys;
  std::string panels;         ///< grid axis: one figure per value ("" : one figure)
  std::string lines;          ///< grid axis: one line per value (seeds get a line each)
  std::string rows, columns;  ///< grid axes: small multiples in one figure, a panel per value
  bool log_y = false;
  bool equal_aspect = false;
  std::string title;
};

/// Published numbers for the table: `reference: {source, tolerance, values}` in the YAML.
/// values: row label → {value name → number}, or row → column label → {value → number}.
struct ReferenceSpec {
  std::string source;
  double tolerance = 0;                      ///< |ours − paper| ≤ tolerance counts as agreeing
  std::map<std::string, double> tolerances;  ///< per value name, overriding `tolerance`
  double relative =
      0;  ///< `relative_tolerance`: |ours − paper| ≤ relative·|paper| (values without their own)
  std::map<std::string, double> values;  ///< key: row \x1f column \x1f value
};

/// How the report's standard figures (curves, samples) are split into small multiples:
/// `report.figures: {rows: axis, columns: axis}`; empty: one panel, as before.
struct FigureSplit {
  std::string rows, columns;
  bool any() const { return !rows.empty() || !columns.empty(); }
};

struct ReportSpec {
  std::vector<std::string> rows;    ///< grid axes for rows (empty: the first axis)
  std::string columns;              ///< optional grid axis for column groups
  std::vector<std::string> values;  ///< "metric.value" names (empty: all found)
  std::vector<PlotSpec> plots;
  FigureSplit figures;
  ReferenceSpec reference;
};

/// Reads an experiment's `report` and `reference` blocks (null nodes: defaults).
ReportSpec parse_report_spec(const ConfigNode& report, const ConfigNode& reference = {});

/// The cell's label on a grid axis ("" if it has none).
std::string cell_label(const CellSummary& cell, const std::string& axis);
/// The cell's labels on several axes, joined by " / ".
std::string cell_row_label(const CellSummary& cell, const std::vector<std::string>& axes);

/// Mean and sample standard deviation over the finite ones of n values (NaN and ±Inf seeds
/// are dropped and counted): `finite` of `n` went into mean and std.
struct Stat {
  double mean = 0, std = 0;
  size_t n = 0;  ///< values present (one per complete cell that computes it), failed ones included
  size_t finite = 0;                         ///< of which finite: mean and std are over these
  size_t nan = 0, pos_inf = 0, neg_inf = 0;  ///< the dropped ones, by kind
  size_t failed = 0;  ///< cells whose metric failed (no value: never shown as a number)
  std::string note;   ///< the failures' notes, e.g. "[1]" (Table::notes says why)
  /// "k/n" when seeds were dropped, "" when all n are finite.
  std::string dropped_str() const;
};

/// Mean ± std over the finite values of `values`, with the non-finite ones counted.
Stat finite_stats(const std::vector<double>& values);

/// The aggregated table, before formatting.
struct Table {
  std::string row_header, column_axis;
  std::vector<std::string> rows, columns, values;
  std::vector<Stat> stats;                         ///< [row][column][value], complete cells only
  std::vector<std::optional<double>> reference;    ///< same indexing
  std::vector<size_t> complete, diverged, failed;  ///< per row
  /// Why metrics failed, numbered as the values' notes: "[1] faulty failed at step 1000 in
  /// method=A seed=0: the reason".
  std::vector<std::string> notes;
  /// [row][column]: the complete cells each value is over (seeds, times any axis that is
  /// neither a row nor a column); the table's n
  std::vector<size_t> counted;
  ReferenceSpec ref;

  size_t index(size_t r, size_t c, size_t v) const {
    return (r * columns.size() + c) * values.size() + v;
  }
  /// n of a row: the complete cells behind each of its values, "2–3" when its columns differ.
  std::string n_text(size_t r) const;
  double tolerance(const std::string& value) const;
  /// Whether `ours` reproduces `paper` for this value (absolute or relative tolerance).
  bool agrees(const std::string& value, double ours, double paper) const;
  bool has_reference() const;
};

Table build_table(const std::vector<CellSummary>& cells, const ReportSpec& spec,
                  const std::vector<std::string>& axes);

enum class TableFormat { markdown, csv, latex, html };
std::string render_table(const Table& table, TableFormat format);
/// "k of n published numbers within tolerance (…)", or "" without a reference.
std::string reference_summary(const Table& table);
/// The table's notes on failed metrics, one per line ("" when none failed).
std::string failure_notes(const Table& table);

enum class ExportFormat { csv, jsonl };
/// Tidy rows of stored cells (kant export): columns experiment, cell_id, status, one per grid
/// axis (its labels), then metric and value — one row per final value of each cell — or, with
/// `series`, series, step and value — one row per stored step of every loss and metric series
/// (metrics as "metric.value"). Values keep full double precision. Returns the rows written.
size_t write_export(std::ostream& out, const std::vector<CellSummary>& cells,
                    const std::vector<std::string>& axes, ExportFormat format, bool series);

/// A figure written as SVG.
struct Figure {
  std::string section;  ///< "samples", "training curves", "metrics", "plots"
  std::string title;
  std::filesystem::path file;
};

/// Writes the experiment's figures into `out_dir`: the `plots` of the report block, plus
/// training curves and metric curves (mean ± std band over seeds per row group) and
/// generated samples over the data for 2-D data sets. Problems go to `problems`.
std::vector<Figure> write_figures(const std::vector<CellSummary>& cells, const ReportSpec& spec,
                                  const std::vector<std::string>& axes,
                                  const std::filesystem::path& out_dir,
                                  std::vector<std::string>& problems);

/// Samples of one shape as a picture: 2-D points (over `real` when given), or the first
/// images in a grid; "" for shapes without a generic picture. `shape`: [n, one sample's…].
std::string samples_picture(const std::vector<double>& generated, const Shape& shape,
                            const std::vector<double>& real, const std::string& title);

/// A cell of the grid with a live series (store/live_series.hpp): running now (a live claim
/// holds it), or left by a process that is gone (killed, or stopped by a signal).
struct LiveCell {
  std::string cell_id, labels;  ///< labels "method=WGAN-GP seed=0" (the grid's current names)
  size_t index = 0;             ///< in the manifest's cells
  bool running = false;
  std::string holder;           ///< who trains it ("pid 42 on host"), when running
  std::string why_not_running;  ///< when not running
  LiveSeries series;
  /// "running, step k of n", or "not running (why), its series up to step k of n".
  std::string state_text() const;
};

/// The cells of the folder's grid that have a live file, in grid order; unreadable live files
/// are named in `problems`. Only looks.
std::vector<LiveCell> find_live_cells(const std::filesystem::path& dir, const Manifest& manifest,
                                      std::chrono::seconds stale_after,
                                      std::vector<std::string>& problems);

/// Each live cell's losses and metric values, dashed up to its current step over the run's
/// whole length, and its latest samples, as SVG files in <out_dir>/live/ (section "running
/// cells").
std::vector<Figure> write_live_figures(const std::vector<LiveCell>& cells,
                                       const std::filesystem::path& out_dir,
                                       std::vector<std::string>& problems);

/// The values as a line of `width` characters at most (the mean of equal runs of them), from
/// ▁ to █ (or "_.-:=+*#" without `unicode`); a run with no finite value is "·" (or "?").
std::string sparkline(const std::vector<double>& values, size_t width, bool unicode);

/// How write_html_report shows a grid that is still training.
struct LivePage {
  std::vector<const LiveCell*> cells;  ///< the running (or left) cells to list
  int refresh_seconds = 0;             ///< > 0: the page reloads itself that often
  size_t to_do = 0;                    ///< cells of the grid neither stored nor running
};

/// Writes <dir>/report/index.html: table, figures, each cell's config and provenance, and the
/// failures with their reasons; with `live`, the running cells, each marked "running, step k of
/// n" (their figures are in `figures`, section "running cells"). Returns its path.
std::filesystem::path write_html_report(const std::filesystem::path& dir, const Manifest& manifest,
                                        const std::vector<CellSummary>& cells, const Table& table,
                                        const std::vector<Figure>& figures,
                                        const std::vector<std::string>& problems,
                                        const LivePage& live = {});

}  // namespace kant
