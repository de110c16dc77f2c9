// The `kant` command: run, validate, report, show, plugins (and the internal _cell).
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kant/error.hpp"
#include "kant/experiment.hpp"
#include "kant/h5.hpp"
#include "kant/registry.hpp"
#include "kant/report.hpp"
#include "kant/runner.hpp"
#include "kant/version.hpp"

namespace fs = std::filesystem;
using namespace kant;

namespace {

constexpr const char* kUsage = R"(kant — GAN and Lipschitz-constraint experiments on the CPU

usage:
  kant run FILE.yaml [--jobs N] [--threads T] [--set KEY=VALUE]... [--results DIR]
                     [--shard I/N] [--quiet]
      train every cell of the experiment's grid that is not complete yet, then print its table
  kant validate FILE.yaml [--set KEY=VALUE]...
      expand and validate the grid, list the cells; runs nothing, writes nothing
  kant report (RESULTS_DIR | FILE.yaml) [--format markdown|csv|latex|html] [--results DIR]
      the comparison table of stored cells (mean ± std over seeds, failures counted, the
      paper's numbers beside ours); writes figures and RESULTS_DIR/report/index.html
  kant show CELL.h5
      one cell: status, provenance, config and final metrics
  kant plugins [KIND [NAME]]
      loaded plugins with their parameters (KIND: architecture, dataset, objective,
      lipschitz, optimizer, metric)
  kant --version

Plugins are loaded from the build tree's plugins/ folder and from $KANT_PLUGIN_PATH
(folders separated by ':'). Exit codes: 0 success, 1 a cell or command failed, 2 bad input.
)";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  std::vector<std::string> sets;
};

Args parse_args(int argc, char** argv, int first, const std::vector<std::string>& with_value,
                const std::vector<std::string>& flags) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0) {
      const size_t eq = arg.find('=');
      const bool inline_value = eq != std::string::npos;
      std::string name(arg.begin() + 2, inline_value ? arg.begin() + static_cast<long>(eq) : arg.end());
      std::string value = inline_value ? arg.substr(eq + 1) : std::string();
      if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
        a.options.insert_or_assign(name, std::string(1, '1'));
        continue;
      }
      if (std::find(with_value.begin(), with_value.end(), name) == with_value.end()) {
        std::vector<std::string> all = with_value;
        all.insert(all.end(), flags.begin(), flags.end());
        throw InputError(fmt::format("unknown option --{}{}", name, did_you_mean(name, all)));
      }
      if (!inline_value) {
        if (i + 1 >= argc) throw InputError(fmt::format("option --{} needs a value", name));
        value = argv[++i];
      }
      if (name == "set") a.sets.push_back(value);
      else a.options[name] = value;
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

int positive_int(const Args& a, const std::string& name, int def) {
  auto it = a.options.find(name);
  if (it == a.options.end()) return def;
  try {
    size_t used = 0;
    int v = std::stoi(it->second, &used);
    if (used != it->second.size() || v < 1) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw InputError(fmt::format("--{} must be a positive integer, got '{}'", name, it->second));
  }
}

std::string option(const Args& a, const std::string& name, const std::string& def) {
  auto it = a.options.find(name);
  return it == a.options.end() ? def : it->second;
}

void require_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw InputError(fmt::format("{}: error: no such file", path));
}

// Prints the table (and the reference summary) to stdout; writes the figures and the HTML
// page into <dir>/report/. Unreadable cell files are named on stderr and left out.
void report(const fs::path& dir, TableFormat format) {
  std::vector<std::string> problems;
  std::vector<CellSummary> cells = load_cells(dir, problems);
  Manifest m = read_manifest(dir);
  ReportSpec spec = parse_report_spec(m.report, m.reference);
  Table table = build_table(cells, spec, m.axes);
  std::cout << render_table(table, format);
  // machine-readable formats keep stdout to the table alone
  if (std::string s = reference_summary(table); !s.empty()) {
    if (format == TableFormat::markdown) std::cout << "\n" << s << "\n";
    else fmt::print(stderr, "kant report: {}\n", s);
  }
  std::vector<Figure> figures = write_figures(cells, spec, m.axes, dir / "report", problems);
  fs::path page = write_html_report(dir, m, cells, table, figures, problems);
  for (const std::string& p : problems) fmt::print(stderr, "kant report: skipped {}\n", p);
  fmt::print(stderr, "kant report: {} figures and the page {}\n", figures.size(), page.string());
}

int cmd_validate(int argc, char** argv) {
  Args a = parse_args(argc, argv, 2, {"set"}, {});
  if (a.positional.size() != 1) throw InputError("usage: kant validate FILE.yaml [--set KEY=VALUE]...");
  require_file(a.positional[0]);
  Registry registry = Registry::load_default();
  Experiment ex = load_experiment(a.positional[0], a.sets, registry);
  parse_report_spec(ex.report, ex.reference);
  for (size_t i = 0; i < ex.cells.size(); ++i)
    fmt::print("{:>4}  {}  {}\n", i + 1, ex.cells[i].id, ex.cells[i].label_str());
  fmt::print("{}: {} cells, all valid\n", ex.name, ex.cells.size());
  return 0;
}

int cmd_run(int argc, char** argv) {
  Args a = parse_args(argc, argv, 2, {"set", "jobs", "threads", "results", "shard"}, {"quiet"});
  if (a.positional.size() != 1) throw InputError("usage: kant run FILE.yaml [options] (see kant --help)");
  require_file(a.positional[0]);
  RunOptions opt;
  opt.jobs = positive_int(a, "jobs", 0);
  opt.threads = positive_int(a, "threads", 0);
  opt.results_root = option(a, "results", "results");
  opt.quiet = a.options.count("quiet") > 0;
  if (a.options.count("shard")) {
    const std::string s = a.options["shard"];
    int i = -1, n = 0;
    char extra;
    if (std::sscanf(s.c_str(), "%d/%d%c", &i, &n, &extra) != 2 || n < 1 || i < 0 || i >= n)
      throw InputError(fmt::format("--shard must be I/N with 0 ≤ I < N, got '{}'", s));
    opt.shard_index = i;
    opt.shard_count = n;
  }
  Registry registry = Registry::load_default();
  Experiment ex = load_experiment(a.positional[0], a.sets, registry);
  parse_report_spec(ex.report, ex.reference);  // malformed report blocks: fail before running
  RunSummary s = run_experiment(ex, registry, opt);
  fmt::print(stderr, "kant: {} complete, {} diverged, {} failed, {} skipped (already done)\n",
             s.complete, s.diverged, s.failed, s.skipped);
  report(experiment_dir(ex, opt), TableFormat::markdown);
  return s.failed > 0 ? 1 : 0;
}

int cmd_report(int argc, char** argv) {
  Args a = parse_args(argc, argv, 2, {"format", "results", "set"}, {});
  if (a.positional.size() != 1) throw InputError("usage: kant report RESULTS_DIR|FILE.yaml [--format markdown|csv|latex|html]");
  const std::map<std::string, TableFormat> formats{{"markdown", TableFormat::markdown},
                                                   {"csv", TableFormat::csv},
                                                   {"latex", TableFormat::latex},
                                                   {"html", TableFormat::html}};
  const std::string f = option(a, "format", "markdown");
  if (!formats.count(f))
    throw InputError(fmt::format("--format must be markdown, csv, latex or html, got '{}'{}", f,
                                 did_you_mean(f, {"markdown", "csv", "latex", "html"})));
  fs::path target = a.positional[0];
  fs::path dir = target;
  if (fs::is_regular_file(target)) {
    Registry registry = Registry::load_default();
    Experiment ex = load_experiment(target, a.sets, registry);
    RunOptions opt;
    opt.results_root = option(a, "results", "results");
    dir = experiment_dir(ex, opt);
  } else if (!fs::is_directory(target)) {
    throw InputError(fmt::format("{}: no such results folder or experiment file", target.string()));
  }
  report(dir, formats.at(f));
  return 0;
}

int cmd_show(int argc, char** argv) {
  Args a = parse_args(argc, argv, 2, {}, {});
  if (a.positional.size() != 1) throw InputError("usage: kant show CELL.h5");
  require_file(a.positional[0]);
  CellSummary s = read_cell_summary(a.positional[0]);
  fmt::print("cell {} of {}\n", s.cell_id, s.experiment);
  for (const auto& [k, v] : s.labels) fmt::print("  {} = {}\n", k, v);
  fmt::print("status: {}{}\n", s.status, s.detail.empty() ? "" : fmt::format(" — {}", s.detail));
  fmt::print("provenance:\n");
  for (const char* k : {"framework_version", "git_commit", "onednn_version", "onednn_isa",
                        "hostname", "start_time", "end_time"})
    if (s.attrs.count(k)) fmt::print("  {}: {}\n", k, s.attrs.at(k));
  fmt::print("final metrics:\n");
  for (const auto& [k, v] : s.final_metrics) fmt::print("  {}: {}\n", k, v);
  for (const char* series : {"loss_critic", "loss_generator", "penalty", "divergence_estimate"}) {
    std::vector<double> y;
    try {
      y = read_cell_dataset(a.positional[0], std::string("series/") + series);
    } catch (const Error&) {
      continue;
    }
    if (y.empty()) continue;
    auto [lo, hi] = std::minmax_element(y.begin(), y.end());
    fmt::print("series {}: {} steps, first {:.6g}, last {:.6g}, min {:.6g}, max {:.6g}\n", series, y.size(),
               y.front(), y.back(), *lo, *hi);
  }
  fmt::print("config:\n{}", s.config_yaml);
  return 0;
}

void print_param(const ParamSpec& p) {
  std::string def =
      p.default_value ? fmt::format("default {}", value_str(*p.default_value)) : "required";
  std::string c = p.constraint_str();
  fmt::print("      {:<18} {:<14} {}{}\n", p.name, param_type_name(p.type), def,
             c.empty() ? "" : fmt::format(", {}", c));
  fmt::print("      {:<18} {}\n", "", p.doc);
}

int cmd_plugins(int argc, char** argv) {
  Args a = parse_args(argc, argv, 2, {}, {});
  if (a.positional.size() > 2) throw InputError("usage: kant plugins [KIND [NAME]]");
  Registry registry = Registry::load_default();
  const Kind* kind = nullptr;
  if (!a.positional.empty()) {
    std::vector<std::string> names;
    for (const Kind& k : kAllKinds) {
      names.push_back(kind_name(k));
      if (a.positional[0] == kind_name(k)) kind = &k;
    }
    if (!kind)
      throw InputError(fmt::format("unknown plugin kind '{}'{}; kinds: {}", a.positional[0],
                                   did_you_mean(a.positional[0], names), fmt::join(names, ", ")));
  }
  std::vector<const Component*> list = registry.list(kind);
  if (a.positional.size() == 2) {
    const Component* c = registry.find(*kind, a.positional[1]);
    if (!c)
      throw InputError(fmt::format("no {} plugin '{}'{}", a.positional[0], a.positional[1],
                                   did_you_mean(a.positional[1], registry.names(*kind))));
    list = {c};
  }
  const Kind* current = nullptr;
  for (const Component* c : list) {
    if (!current || *current != c->kind()) {
      fmt::print("{}:\n", kind_name(c->kind()));
      current = &kAllKinds[static_cast<int>(c->kind())];
    }
    fmt::print("  {} {}  — {}\n", c->name(), c->registration.version, c->registration.summary);
    if (a.positional.size() == 2) fmt::print("    library: {}\n", c->library_path);
    for (const ParamSpec& p : c->schema()) print_param(p);
  }
  return 0;
}

int cmd_cell(int argc, char** argv) {
  Args a = parse_args(argc, argv, 2, {"threads", "tag"}, {});
  if (a.positional.size() != 2) throw InputError("usage: kant _cell SPEC OUT [--threads T] [--tag TAG]");
  Registry registry = Registry::load_default();
  return run_cell_process(a.positional[0], a.positional[1], positive_int(a, "threads", 1),
                          option(a, "tag", "[cell]"), registry);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "--version") {
      fmt::print("kant {} (commit {}, plugin ABI {})\n", framework_version(), git_commit(), kAbiVersion);
      return 0;
    }
    if (cmd == "run") return cmd_run(argc, argv);
    if (cmd == "validate") return cmd_validate(argc, argv);
    if (cmd == "report") return cmd_report(argc, argv);
    if (cmd == "show") return cmd_show(argc, argv);
    if (cmd == "plugins") return cmd_plugins(argc, argv);
    if (cmd == "_cell") return cmd_cell(argc, argv);
    throw InputError(fmt::format("unknown command '{}'{}; see kant --help", cmd,
                                 did_you_mean(cmd, {"run", "validate", "report", "show", "plugins"})));
  } catch (const InputError& e) {
    fmt::print(stderr, "kant: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kant: {}\n", e.what());
    return 1;
  }
}
