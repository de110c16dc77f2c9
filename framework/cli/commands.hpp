// The commands of `kant`: each adds its CLI11 subcommand (options, help) and returns what
// runs it, so main.cpp only parses and dispatches.
#pragma once
#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace kant::cli {

/// A subcommand and its action (run after a successful parse; returns the exit code).
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_run(CLI::App& kant);       // kant run
Command add_validate(CLI::App& kant);  // kant validate
Command add_cell(CLI::App& kant);      // kant _cell (internal: one cell in a child process)
Command add_report(CLI::App& kant);    // kant report
Command add_show(CLI::App& kant);      // kant show
Command add_plugins(CLI::App& kant);   // kant plugins
Command add_verify(CLI::App& kant);    // kant verify
Command add_evaluate(CLI::App& kant);  // kant evaluate
Command add_evaluate_cell(
    CLI::App& kant);                 // kant _evaluate (internal: one cell in a child process)
Command add_slurm(CLI::App& kant);   // kant slurm
Command add_export(CLI::App& kant);  // kant export
Command add_list(CLI::App& kant);    // kant list
Command add_clean(CLI::App& kant);   // kant clean
Command add_latent(CLI::App& kant);  // kant latent
Command add_watch(CLI::App& kant);   // kant watch
Command add_stop(CLI::App& kant);    // kant stop
Command add_completion(CLI::App& kant, const std::vector<Command>& commands);  // kant completion

/// --sweep KEY=V1,V2,… (kant run, validate, report, export).
void add_sweep_option(CLI::App& app, std::vector<std::string>& sweeps);

/// What an internal child command (kant _cell, kant _evaluate) is started with.
struct ChildArgs {
  std::string spec, file, threads = "1", tag = "[cell]", parent = "0";
};
/// The help texts in which kant _cell and kant _evaluate differ.
struct ChildHelp {
  std::string spec;       ///< of SPEC
  std::string file_name;  ///< the cell file's positional name (OUT, CELL)
  std::string file;       ///< of that positional
  std::string tag;        ///< of --tag
  std::string parent;     ///< who --parent is ("runner": "the runner's pid: …")
};
/// SPEC, the cell file, --threads T, --tag and --parent PID of a child command.
void add_child_options(CLI::App& app, ChildArgs& args, const ChildHelp& help);

/// Throws InputError("PATH: error: no such file") unless `path` is a regular file.
void require_file(const std::string& path);
/// Throws InputError("PATH: error: --results must name a folder; this is a file") unless
/// `path` is a folder or can be made one (no part of it that exists is anything but a folder).
void require_results_root(const std::string& path);
/// The value of option --`option` given as `text`, a positive integer, else InputError
/// ("--jobs must be a positive integer, got 'x'").
int positive_int(const std::string& option, const std::string& text);
/// The value of option --`option` given as `text`, seconds from 0 to a day (fractions allowed),
/// else InputError ("--live-every must be a number of seconds from 0 to 86400, got 'x'").
std::chrono::milliseconds seconds_option(const std::string& option, const std::string& text);

}  // namespace kant::cli
