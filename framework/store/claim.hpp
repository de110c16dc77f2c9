// Claims: one trainer per cell, across processes, PID namespaces and hosts that share a results
// folder. A claim is a file beside the cell (<id>.claim) created exclusively, naming its holder
// (host, boot id, PID namespace, pid, process start time), on which the holder keeps an
// open-file-description lock (fcntl F_OFD_SETLK) and whose mtime it refreshes (the heartbeat).
//
// A claim is taken over only when it is provably stale:
//  - on the same kernel (equal boot ids, any PID namespace), when its lock can be taken: the
//    kernel drops a lock when the last process holding it dies, so this is exact;
//  - from another kernel (another host over a shared file system), when its lock can be taken
//    and its heartbeat is older than `stale_after` (file systems without cross-host locks
//    leave only the heartbeat).
// The lock is shared with the child process that trains the cell (it inherits the descriptor),
// so the claim lives as long as either of them does.
#pragma once
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace kant {

class Claim {
 public:
  /// Claims `file`, or returns nullopt when a live holder has it (then `holder`, if given,
  /// describes it). Throws StorageError when the file cannot be created or read at all.
  static std::optional<Claim> acquire(const std::filesystem::path& file,
                                      std::chrono::seconds stale_after,
                                      std::string* holder = nullptr);

  /// Who holds `file` when a live holder has it (by the rules above); nullopt when there is no
  /// claim or it is stale. Looks only: writes, takes over and removes nothing.
  static std::optional<std::string> live_holder(const std::filesystem::path& file,
                                                std::chrono::seconds stale_after);

  Claim(Claim&& o) noexcept : file_(std::move(o.file_)), fd_(o.fd_) { o.fd_ = -1; }
  Claim& operator=(Claim&& o) noexcept;
  Claim(const Claim&) = delete;
  Claim& operator=(const Claim&) = delete;
  ~Claim() { release(); }

  /// Refreshes the heartbeat (the file's mtime).
  void heartbeat() const;
  /// Removes the claim file and drops the lock (once no child shares it).
  void release();
  /// The locked descriptor, to hand to a child process.
  int fd() const { return fd_; }
  const std::filesystem::path& file() const { return file_; }

 private:
  Claim(std::filesystem::path file, int fd) : file_(std::move(file)), fd_(fd) {}
  std::filesystem::path file_;
  int fd_ = -1;
};

/// The claim file of a cell file: <cells>/<id>.claim.
std::filesystem::path claim_path(const std::filesystem::path& cell_file);

}  // namespace kant
