// The `kant` command: parses the command line with CLI11 and dispatches to a command.
// Exit codes: 0 success, 1 a cell or command failed, 2 bad input (one message, nothing written).
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "autodiff/backend.hpp"
#include "cli/commands.hpp"
#include "cluster/mpi_run.hpp"
#include "config/config.hpp"
#include "kant/error.hpp"
#include "kant/version.hpp"

using namespace kant;

namespace {

constexpr const char* kFooter = R"(
Plugins are loaded from the build tree's plugins/ folder and from $KANT_PLUGIN_PATH (folders
separated by ':'). A plugin file or its folder owned by another user (root is fine) or
writable by group or others is refused, unless --trust-plugin-path or
KANT_TRUST_PLUGIN_PATH=1 is given. Exit codes: 0 success, 1 a cell or command failed, 2 bad
input. `kant COMMAND --help` describes each command.)";

std::vector<std::string> names_of(const std::vector<cli::Command>& commands) {
  std::vector<std::string> names;
  for (const cli::Command& c : commands)
    if (!c.app->get_group().empty()) names.push_back(c.app->get_name());
  return names;
}

// What CLI11 left over: an unknown option (with a did-you-mean among the command's options)
// or a stray argument. Unknown options of a command fall through to `kant` itself (so that
// global flags may follow the command): its leftovers count too.
void reject_extras(const CLI::App& app, const CLI::App& kant) {
  std::vector<std::string> extras = app.remaining();
  for (const std::string& e : kant.remaining())
    if (e != app.get_name()) extras.push_back(e);
  if (extras.empty()) return;
  const std::string& first = extras.front();
  if (first.rfind("--", 0) == 0) {
    const std::string name = first.substr(2, first.find('=') - 2);
    std::vector<std::string> known;
    for (const CLI::App* a : {&app, &kant})
      for (const CLI::Option* o : a->get_options())
        for (const std::string& l : o->get_lnames()) known.push_back(l);
    throw InputError(fmt::format("unknown option --{}{}", name, did_you_mean(name, known)));
  }
  throw InputError(fmt::format("unexpected argument '{}' for kant {}; see kant {} --help", first,
                               app.get_name(), app.get_name()));
}

// CLI11's own parse errors in our words.
std::string describe(const CLI::ParseError& e, const CLI::App* command) {
  const std::string where = command ? fmt::format("kant {}: ", command->get_name()) : "";
  std::string what = e.what();
  const size_t colon = what.find(':');
  if (e.get_name() == "ArgumentMismatch" && what.rfind("--", 0) == 0 && colon != std::string::npos)
    what = fmt::format("option {} needs a value", what.substr(0, colon));
  return fmt::format("{}{}; see kant {}--help", where, what,
                     command ? command->get_name() + " " : "");
}

// An error as the terminal should show it: control characters that came in with the user's
// text (a carriage return, an escape sequence) written as \r, \x1b, …, so that a message stays
// what it says; its own line breaks (a list of reasons) are kept.
std::string printable(const std::string& message) {
  std::string out;
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n' || c == '\t' || (u >= 0x20 && u != 0x7f))
      out += c;
    else if (c == '\r')
      out += "\\r";
    else
      out += fmt::format("\\x{:02x}", u);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kant — GAN and Lipschitz-constraint experiments on the CPU", "kant"};
  app.footer(kFooter);
  const std::string mpi = cluster::mpi_library();
  app.set_version_flag(
      "--version",
      fmt::format(
          "kant {} (commit {}, plugin ABI {})\nMPI: {}\noneDNN {}: dispatches to {}; "
          "train.precision bf16: {}",
          framework_version(), git_commit(), kAbiVersion,
          mpi.empty() ? "not built in (mpirun needs libopenmpi-dev at build time)"
                      : mpi + ", for mpirun -n N kant run",
          backend::version(), backend::isa(),
          backend::native_bf16() ? "native" : "not available (needs avx512_bf16 or amx_bf16)"));
  app.require_subcommand(0, 1);
  app.allow_extras();
  bool trust_plugin_path = false;
  app.add_flag("--trust-plugin-path", trust_plugin_path,
               "load plugins even from files or folders that other users own or can write "
               "(same as KANT_TRUST_PLUGIN_PATH=1; the cells' processes inherit it)");
  app.fallthrough();  // the flag may also follow the command
  std::vector<cli::Command> commands{
      cli::add_run(app),    cli::add_validate(app),      cli::add_report(app), cli::add_export(app),
      cli::add_show(app),   cli::add_plugins(app),       cli::add_list(app),   cli::add_clean(app),
      cli::add_verify(app), cli::add_evaluate(app),      cli::add_latent(app), cli::add_slurm(app),
      cli::add_cell(app),   cli::add_evaluate_cell(app), cli::add_watch(app),  cli::add_stop(app)};
  commands.push_back(cli::add_completion(app, commands));
  if (argc < 2) {
    std::cout << app.help();
    return 2;
  }
  if (std::string(argv[1]) == "help") {
    std::cout << app.help();
    return 0;
  }
  const cli::Command* chosen = nullptr;
  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      throw;
    } catch (const CLI::CallForVersion&) {
      throw;
    } catch (const CLI::ParseError& e) {
      const CLI::App* command = nullptr;
      for (const cli::Command& c : commands)
        if (c.app->parsed()) command = c.app;
      throw InputError(describe(e, command));
    }
    // through the environment, so that the registry of every process (kant _cell too) sees it
    if (trust_plugin_path) ::setenv("KANT_TRUST_PLUGIN_PATH", "1", 1);
    for (const cli::Command& c : commands)
      if (c.app->parsed()) chosen = &c;
    if (!chosen) {
      const std::string word = app.remaining().empty() ? "" : app.remaining().front();
      throw InputError(fmt::format("unknown command '{}'{}; see kant --help", word,
                                   did_you_mean(word, names_of(commands))));
    }
    reject_extras(*chosen->app, app);
    return chosen->run();
  } catch (const CLI::Error& e) {  // --help, --version
    return app.exit(e);
  } catch (const InputError& e) {
    fmt::print(stderr, "kant: {}\n", printable(e.what()));
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kant: {}\n", printable(e.what()));
    return 1;
  }
}
