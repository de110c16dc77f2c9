// Cell claims with OFD locks and heartbeats (see claim.hpp).
#include "store/claim.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>
#include <thread>

#include "kant/error.hpp"
#include "store/host.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

// A write lock on the whole file, owned by the open file description (shared by dup'ed and
// inherited descriptors, released when the last of them closes).
bool try_lock(int fd) {
  struct flock l {};
  l.l_type = F_WRLCK;
  l.l_whence = SEEK_SET;
  return ::fcntl(fd, F_OFD_SETLK, &l) == 0;
}

std::string identity() {
  return fmt::format("host {}\nboot_id {}\npid_namespace {}\npid {}\nstart_ticks {}\n",
                     host::name(), host::boot_id(), host::pid_namespace(),
                     static_cast<long>(::getpid()), host::start_ticks(::getpid()).value_or(0));
}

std::map<std::string, std::string> read_fields(int fd) {
  std::string text(4096, '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  std::map<std::string, std::string> fields;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (size_t sp = line.find(' '); sp != std::string::npos)
      fields[line.substr(0, sp)] = line.substr(sp + 1);
  return fields;
}

void write_identity(int fd, const fs::path& file) {
  const std::string id = identity();
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, id.data(), id.size(), 0) != static_cast<ssize_t>(id.size()) || ::fsync(fd) != 0)
    throw StorageError(
        fmt::format("{}: cannot write the claim: {}", file.string(), std::strerror(errno)));
  ::futimens(fd, nullptr);
}

std::string describe(const std::map<std::string, std::string>& f) {
  if (!f.count("pid") || !f.count("host")) return "another run, claiming it this moment";
  return fmt::format("pid {} on {}", f.at("pid"), f.at("host"));
}

// Why a claim whose lock we could take is still not stale ("" when it is): an empty claim seconds
// old (its creator is writing it this moment), or another host's claim with a recent heartbeat.
std::string held_still(const std::map<std::string, std::string>& fields, const struct stat& st,
                       std::chrono::seconds stale_after) {
  const bool same_kernel = fields.count("boot_id") && fields.at("boot_id") == host::boot_id();
  const auto age = std::chrono::system_clock::now() -
                   std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
  const bool empty = !fields.count("pid");
  if (empty && age < std::chrono::seconds(2))
    return "another process claiming it at the same moment";
  // an empty claim seconds old lost its creator before it said who it was (a crash, a full
  // disk): nobody holds it, on any host
  if (!empty && !same_kernel && age < stale_after) return describe(fields) + " (heartbeat recent)";
  return "";
}

}  // namespace

fs::path claim_path(const fs::path& cell_file) {
  fs::path p = cell_file;
  return p.replace_extension(".claim");
}

std::optional<Claim> Claim::acquire(const fs::path& file, std::chrono::seconds stale_after,
                                    std::string* holder) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
      // another process may be examining the fresh, empty file this instant: it lets go at once
      bool locked = try_lock(fd);
      for (int wait = 0; !locked && wait < 200; ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        locked = try_lock(fd);
      }
      if (!locked) {
        ::close(fd);
        if (holder) *holder = "another process claiming it at the same moment";
        return std::nullopt;
      }
      try {
        write_identity(fd, file);
      } catch (...) {  // e.g. a full disk: leave no empty claim behind
        ::unlink(file.c_str());
        ::close(fd);
        throw;
      }
      return Claim(file, fd);
    }
    if (errno != EEXIST)
      throw StorageError(
          fmt::format("{}: cannot create the claim: {}", file.string(), std::strerror(errno)));
    fd = ::open(file.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // released meanwhile: try again
      throw StorageError(
          fmt::format("{}: cannot open the claim: {}", file.string(), std::strerror(errno)));
    }
    const auto fields = read_fields(fd);
    if (!try_lock(fd)) {  // its holder lives (on this kernel, or on a host whose locks we see)
      if (holder) *holder = describe(fields);
      ::close(fd);
      return std::nullopt;
    }
    struct stat by_fd, by_path;
    if (::fstat(fd, &by_fd) != 0 || ::lstat(file.c_str(), &by_path) != 0 ||
        by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev) {
      ::close(fd);  // released and perhaps claimed anew since we opened it: look again
      continue;
    }
    const auto locked_fields = read_fields(fd);
    if (std::string still = held_still(locked_fields, by_fd, stale_after); !still.empty()) {
      if (holder) *holder = still;
      ::close(fd);
      return std::nullopt;
    }
    try {
      write_identity(fd, file);  // stale: ours now
    } catch (...) {
      ::close(fd);
      throw;
    }
    return Claim(file, fd);
  }
  if (holder) *holder = "a claim that keeps changing";
  return std::nullopt;
}

std::optional<std::string> Claim::live_holder(const fs::path& file,
                                              std::chrono::seconds stale_after) {
  const int fd = ::open(file.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw StorageError(
        fmt::format("{}: cannot open the claim: {}", file.string(), std::strerror(errno)));
  }
  std::optional<std::string> holder;
  const auto fields = read_fields(fd);
  struct stat st;
  if (!try_lock(fd)) {
    holder = describe(fields);
  } else if (::fstat(fd, &st) == 0) {
    if (std::string still = held_still(read_fields(fd), st, stale_after); !still.empty())
      holder = still;
  }
  ::close(fd);  // drops the lock we took to look
  return holder;
}

Claim& Claim::operator=(Claim&& o) noexcept {
  if (this != &o) {
    release();
    file_ = std::move(o.file_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void Claim::heartbeat() const {
  if (fd_ >= 0) ::futimens(fd_, nullptr);
}

void Claim::release() {
  if (fd_ < 0) return;
  ::unlink(file_.c_str());  // first, while the lock still keeps others from taking it
  ::close(fd_);
  fd_ = -1;
}

}  // namespace kant
