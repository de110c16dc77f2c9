// Test helpers (see support.hpp).
#include "support.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace kant::testing {

const Registry& builtin_registry() {
  static const Registry r = [] {
    Registry reg;
    reg.load_directory(KANT_TEST_PLUGIN_DIR);
    return reg;
  }();
  return r;
}

CommandResult run_command(const std::string& command) {
  // merge stderr unless the command redirects it itself
  std::string full = command.find("2>") == std::string::npos ? command + " 2>&1" : command;
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string kant_exe() { return KANT_TEST_EXE; }

namespace {

// Every folder temp_dir() made, removed when the test process exits (passed or failed).
struct TempDirs {
  std::vector<std::filesystem::path> dirs;
  ~TempDirs() {
    std::error_code ec;
    for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
  }
};
TempDirs& temp_dirs() {
  static TempDirs t;
  return t;
}

}  // namespace

std::filesystem::path temp_dir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  temp_dirs().dirs.emplace_back(tmpl);
  return tmpl;
}

}  // namespace kant::testing
