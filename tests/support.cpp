// Test helpers (see support.hpp).
#include "support.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
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

int spawn_command(const std::string& command, const std::filesystem::path& log) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

int wait_command(int pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<int> processes_matching(const std::string& needle) {
  std::vector<int> pids;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_text(e.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos && std::stoi(name) != getpid())
      pids.push_back(std::stoi(name));
  }
  return pids;
}

std::filesystem::path only_cell(const std::filesystem::path& experiment) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(experiment / "cells"))
    if (e.path().extension() == ".h5") files.push_back(e.path());
  if (files.size() != 1)
    throw Error(experiment.string() + ": " + std::to_string(files.size()) +
                " cell files, where one was expected");
  return files[0];
}

std::vector<std::filesystem::path> files_matching(const std::filesystem::path& dir,
                                                  const std::string& needle) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.path().filename().string().find(needle) != std::string::npos) out.push_back(e.path());
  return out;
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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
