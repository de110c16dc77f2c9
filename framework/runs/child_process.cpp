// A runner's child process, both sides (see child_process.hpp).
#include "runs/child_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "kant/error.hpp"
#include "store/cell_file.hpp"

extern char** environ;

namespace kant {

pid_t spawn_child(const ChildCommand& c, const Claim& claim, const std::string& spec,
                  const std::string& cell_id) {
  int spec_pipe[2];
  if (::pipe2(spec_pipe, O_CLOEXEC) != 0) throw Error("cannot create a pipe for a cell's spec");
  std::vector<std::string> args{c.exe,       c.command,
                                "-",         c.out.string(),
                                "--threads", std::to_string(c.threads),
                                "--tag",     c.tag,
                                "--parent",  std::to_string(::getpid())};
  args.insert(args.end(), c.extra.begin(), c.extra.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, spec_pipe[0], 0);  // the spec on stdin
  posix_spawn_file_actions_adddup2(&actions, claim.fd(), 3);    // the claim's lock, shared
  pid_t pid;
  const int rc = posix_spawn(&pid, c.exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(spec_pipe[0]);
  if (rc != 0) {
    ::close(spec_pipe[1]);
    throw Error(fmt::format("cannot start a process for cell {}: {}", cell_id, std::strerror(rc)));
  }
  for (size_t done = 0; done < spec.size();) {  // the child reads it whole before anything else
    const ssize_t n = ::write(spec_pipe[1], spec.data() + done, spec.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;  // the child died: reaped as a failure
    done += static_cast<size_t>(n);
  }
  ::close(spec_pipe[1]);
  return pid;
}

void remove_temporaries(const std::filesystem::path& cell_file) {
  const std::string stems[] = {cell_file.filename().string() + ".tmp.",
                               checkpoint_path(cell_file).filename().string() + ".tmp."};
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(cell_file.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    for (const std::string& stem : stems)
      if (name.rfind(stem, 0) == 0) std::filesystem::remove(e.path(), ec);
  }
}

namespace {
volatile sig_atomic_t g_stop_signal = 0;
void on_stop_signal(int sig) { g_stop_signal = sig; }

constexpr int kStopSignals[4] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1};

void catch_stop_signals(struct sigaction* previous) {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < std::size(kStopSignals); ++i)
    sigaction(kStopSignals[i], &sa, previous ? &previous[i] : nullptr);
}
}  // namespace

StopSignals::StopSignals() {
  catch_stop_signals(previous_);
  g_stop_signal = 0;
}

StopSignals::~StopSignals() {
  for (size_t i = 0; i < std::size(kStopSignals); ++i)
    sigaction(kStopSignals[i], &previous_[i], nullptr);
}

void watch_stop_signals(long parent) {
  catch_stop_signals(nullptr);
  if (parent > 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) g_stop_signal = SIGTERM;  // it died before we could ask
  }
}

int stop_signal() { return static_cast<int>(g_stop_signal); }

ConfigNode read_child_spec(const std::string& spec_path, const std::string& what,
                           std::initializer_list<const char*> keys) {
  ConfigNode spec;
  if (spec_path != "-") {
    spec = load_yaml_file(spec_path);
  } else {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    spec = parse_yaml(text, "<" + what + ">");
  }
  for (const char* key : keys)
    if (!spec.is_map() || !spec.find(key))
      throw InputError(fmt::format("{} {}: no '{}' (cut short?)", what,
                                   spec_path == "-" ? "on stdin" : spec_path, key));
  return spec;
}

}  // namespace kant
