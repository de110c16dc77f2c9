// Live series of a running cell: the append-only record file, its writer and its reader (see
// live_series.hpp for the format).
#include "store/live_series.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/sha256.hpp"
#include "kant/error.hpp"
#include "store/atomic_file.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'K', 'A', 'N', 'T', 'L', 'I', 'V', '1'};
enum Kind : uint8_t { kHeader = 1, kLosses = 2, kMetric = 3, kSamples = 4 };
constexpr size_t kFrame = 9;  // u32 length, u32 checksum, u8 kind
// A record longer than this is not believed (a torn length field): 1 GiB.
constexpr uint32_t kMaxRecord = 1u << 30;

// The record's checksum: the first four bytes of SHA-256 over kind and payload.
uint32_t checksum(uint8_t kind, const char* payload, size_t n) {
  Sha256 h;
  h.update(&kind, 1);
  h.update(payload, n);
  const auto d = h.finish();
  uint32_t c;
  std::memcpy(&c, d.data(), sizeof c);
  return c;
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_string(std::string& out, const std::string& s) {
  put(out, static_cast<uint32_t>(s.size()));
  out += s;
}
void put_row(std::string& out, const std::map<std::string, double>& row) {
  put(out, static_cast<uint32_t>(row.size()));
  for (const auto& [name, v] : row) {
    put_string(out, name);
    put(out, v);
  }
}

// Reads a payload front to back; any read past its end throws (a malformed record).
class Cursor {
 public:
  Cursor(const char* p, size_t n) : p_(p), end_(p + n) {}
  template <typename T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return v;
  }
  std::string get_string() {
    const uint32_t n = get<uint32_t>();
    need(n);
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  std::map<std::string, double> get_row() {
    std::map<std::string, double> row;
    const uint32_t n = get<uint32_t>();
    for (uint32_t i = 0; i < n; ++i) {
      std::string name = get_string();
      row[name] = get<double>();
    }
    return row;
  }
  const char* take(size_t n) {
    need(n);
    const char* at = p_;
    p_ += n;
    return at;
  }

 private:
  void need(size_t n) const {
    if (static_cast<size_t>(end_ - p_) < n) throw std::out_of_range("live record too short");
  }
  const char* p_;
  const char* end_;
};

[[noreturn]] void fail(const fs::path& file, const char* what, int err) {
  throw StorageError(
      fmt::format("{}: cannot {} the live series: {}", file.string(), what, std::strerror(err)));
}

}  // namespace

fs::path live_path(const fs::path& cell_file) {
  fs::path p = cell_file;
  return p.replace_extension(".live");
}

fs::path stop_request_path(const fs::path& cell_file) {
  fs::path p = cell_file;
  return p.replace_extension(".stop");
}

LiveSeriesWriter::LiveSeriesWriter(fs::path file,
                                   std::vector<std::pair<std::string, std::string>> header,
                                   std::chrono::milliseconds flush_every)
    : file_(std::move(file)), temporary_(temporary_path(file_)), flush_every_(flush_every) {
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(temporary_, "create", errno);
  pending_.append(kMagic, sizeof kMagic);
  std::string payload;
  for (const auto& [k, v] : header) {
    put_string(payload, k);
    put_string(payload, v);
  }
  append(kHeader, payload);
}

LiveSeriesWriter::~LiveSeriesWriter() {
  try {
    close();
  } catch (const std::exception&) {  // a full disk: the live file is only a view
  }
}

void LiveSeriesWriter::append(uint8_t kind, const std::string& payload) {
  if (failed_) return;
  std::string record;
  record.reserve(kFrame + payload.size());
  put(record, static_cast<uint32_t>(payload.size()));
  put(record, checksum(kind, payload.data(), payload.size()));
  put(record, kind);
  record += payload;
  std::lock_guard<std::mutex> lock(mutex_);
  pending_ += record;
}

void LiveSeriesWriter::losses(int64_t step, double elapsed_s,
                              const std::map<std::string, double>& row) {
  std::string p;
  put(p, step);
  put(p, elapsed_s);
  put_row(p, row);
  append(kLosses, p);
}

void LiveSeriesWriter::metric(int64_t step, const std::string& metric,
                              const std::map<std::string, double>& row) {
  std::string p;
  put(p, step);
  put_string(p, metric);
  put_row(p, row);
  append(kMetric, p);
}

void LiveSeriesWriter::samples(int64_t step, const Tensor& generated) {
  const Tensor& t = generated;  // dense and row-major, as every Tensor is
  std::string p;
  put(p, step);
  put(p, static_cast<uint32_t>(t.shape().size()));
  for (int64_t d : t.shape()) put(p, d);
  p.append(reinterpret_cast<const char*>(t.data()), static_cast<size_t>(t.numel()) * sizeof(float));
  append(kSamples, p);
}

void LiveSeriesWriter::write_out(std::string& chunk) {
  size_t done = 0;
  while (done < chunk.size()) {
    const ssize_t n = ::write(fd_, chunk.data() + done, chunk.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(file_, "write", errno);
    done += static_cast<size_t>(n);
  }
  // readers on another host (NFS) see the records once they reach the server
  if (!chunk.empty()) ::fdatasync(fd_);
  std::lock_guard<std::mutex> lock(mutex_);
  written_ += chunk.size();
  chunk.clear();
}

void LiveSeriesWriter::start() {
  if (started_ || fd_ < 0) return;
  std::string chunk;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    chunk.swap(pending_);
  }
  try {
    write_out(chunk);
    commit_temporary(temporary_, file_);
  } catch (const StorageError&) {
    failed_ = true;
    return;  // close() removes the temporary
  }
  started_ = true;
  flusher_ = std::thread([this] { flush_loop(); });
}

void LiveSeriesWriter::flush_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait_for(lock, flush_every_, [&] { return stopping_; });
    std::string chunk;
    chunk.swap(pending_);
    const bool stop = stopping_;
    lock.unlock();
    try {
      write_out(chunk);
    } catch (const StorageError&) {  // a full disk: the view stops, training does not
      failed_ = true;
      return;
    }
    if (stop) return;
    lock.lock();
  }
}

void LiveSeriesWriter::close() {
  if (fd_ < 0) return;
  if (started_) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (flusher_.joinable()) flusher_.join();
  } else {
    ::unlink(temporary_.c_str());  // never put in place
  }
  ::close(fd_);
  fd_ = -1;
}

uint64_t LiveSeriesWriter::bytes_written() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return written_;
}

double LiveSeries::seconds_left() const {
  if (losses.step.empty() || elapsed.empty() || steps <= 0) return -1;
  const int64_t done = losses.step.back();
  if (done <= 0) return -1;
  return elapsed.back() / static_cast<double>(done) * static_cast<double>(steps - done);
}

LiveSeries read_live_series(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail(file, "open", errno);
  std::string data;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    throw StorageError(fmt::format("{}: not a live series file", file.string()));
  LiveSeries out;
  out.file_bytes = data.size();
  size_t at = sizeof kMagic;
  while (data.size() - at >= kFrame) {
    uint32_t length, sum;
    std::memcpy(&length, data.data() + at, 4);
    std::memcpy(&sum, data.data() + at + 4, 4);
    const auto kind = static_cast<uint8_t>(data[at + 8]);
    if (length > kMaxRecord || data.size() - at - kFrame < length) break;  // torn tail
    const char* payload = data.data() + at + kFrame;
    if (checksum(kind, payload, length) != sum) break;
    Cursor c(payload, length);
    try {
      if (kind == kHeader) {
        while (true) {
          std::string k;
          try {
            k = c.get_string();
          } catch (const std::out_of_range&) {
            break;  // the header's end
          }
          out.header[k] = c.get_string();
        }
      } else if (kind == kLosses) {
        const auto step = c.get<int64_t>();
        const auto elapsed = c.get<double>();
        out.losses.add(step, c.get_row());
        out.elapsed.push_back(elapsed);
      } else if (kind == kMetric) {
        const auto step = c.get<int64_t>();
        const std::string name = c.get_string();
        out.metrics[name].add(step, c.get_row());
      } else if (kind == kSamples) {
        const auto step = c.get<int64_t>();
        const auto rank = c.get<uint32_t>();
        Shape shape;
        int64_t numel = 1;
        for (uint32_t i = 0; i < rank; ++i) {
          shape.push_back(c.get<int64_t>());
          numel *= shape.back();
        }
        const char* values = c.take(static_cast<size_t>(numel) * sizeof(float));
        Tensor t = Tensor::empty(shape);
        std::memcpy(t.data(), values, static_cast<size_t>(numel) * sizeof(float));
        out.sample_steps.push_back(step);
        out.latest_samples = t;
      }  // other kinds: from a later kant, skipped
    } catch (const std::out_of_range&) {
      break;  // a record that checks but does not parse: stop there, as for a torn one
    }
    at += kFrame + length;
  }
  out.valid_bytes = at;
  if (auto it = out.header.find("steps"); it != out.header.end()) {
    try {
      out.steps = std::stoll(it->second);
    } catch (const std::exception&) {
      out.steps = 0;
    }
  }
  return out;
}

}  // namespace kant
