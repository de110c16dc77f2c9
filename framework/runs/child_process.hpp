// Both sides of a runner's child process (`kant _cell`, `kant _evaluate`): the parent starts it
// with its spec on the standard input and the cell's claim shared on fd 3, reaps it, stops it
// and cleans up after it; the child reads the spec whole and stops at its next safe point when
// signalled or when its parent dies.
#pragma once
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "store/claim.hpp"

namespace kant {

/// What a child is started with: `exe command - out --threads N --tag TAG --parent PID`.
struct ChildCommand {
  std::string exe, command;
  std::filesystem::path out;
  int threads = 1;
  std::string tag;
  /// Extra options after the common ones (e.g. `--live-every MS` of kant _cell).
  std::vector<std::string> extra;
};

/// Starts the child with `spec` on its standard input and the claim's lock on fd 3 (held while
/// either lives). `cell_id` names the cell in the error when it cannot start.
pid_t spawn_child(const ChildCommand& command, const Claim& claim, const std::string& spec,
                  const std::string& cell_id);

/// Reaps the children that have exited, without waiting: `finished(child, status)` for each,
/// which then leaves `running`. Returns how many were reaped.
template <typename Child, typename Finished>
int reap_children(std::vector<Child>& running, Finished finished) {
  int reaped = 0;
  while (true) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return reaped;
    auto it =
        std::find_if(running.begin(), running.end(), [&](const Child& c) { return c.pid == pid; });
    if (it == running.end()) continue;
    finished(*it, status);
    running.erase(it);
    ++reaped;
  }
}

/// SIGTERM to every child, then waits for them all (SIGKILL to those alive after 30 s: a step
/// or a metric that never ends); `stopped(child)` for each as it is reaped.
template <typename Child, typename Stopped>
void stop_children(std::vector<Child>& running, Stopped stopped) {
  for (const Child& c : running) ::kill(c.pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!running.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      auto it = std::find_if(running.begin(), running.end(),
                             [&](const Child& c) { return c.pid == pid; });
      if (it != running.end()) {
        stopped(*it);
        running.erase(it);
      }
      continue;
    }
    if (pid < 0 && errno == ECHILD) break;
    if (std::chrono::steady_clock::now() > deadline)
      for (const Child& c : running) ::kill(c.pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// Removes every temporary of a cell (its file's and its checkpoint's, any host, any pid): only
/// the claim holder calls this, so none of them belongs to a live writer.
void remove_temporaries(const std::filesystem::path& cell_file);

/// In the parent, while it lives: SIGINT, SIGTERM, SIGHUP and SIGUSR1 ask the runner's loop to
/// stop (stop_signal() says which); the previous handlers come back at its end. SIGUSR1 is the
/// one Open MPI's mpirun forwards to the ranks without a SIGKILL right behind it (a SIGTERM to
/// mpirun reaches the ranks 1 s later and is followed by SIGKILL within milliseconds), so
/// `kill -USR1 <mpirun>` stops an MPI run cleanly.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction previous_[4];
};

/// In the child: SIGINT, SIGTERM, SIGHUP and SIGUSR1 (which mpirun forwards to the ranks'
/// process groups) and the death of `parent` (its pid; 0: none to watch) ask it to stop.
void watch_stop_signals(long parent);
/// The signal that asked the parent or the child to stop, 0 while none has.
int stop_signal();

/// The spec at `spec_path` ("-": standard input), with each of `keys` present (a runner that
/// died while writing it leaves a cut or empty one); `what` names it in the error.
ConfigNode read_child_spec(const std::string& spec_path, const std::string& what,
                           std::initializer_list<const char*> keys);

}  // namespace kant
