// Live series: what a running cell has computed so far (losses, metric values, samples), in a
// file beside its claim (<cells>/<id>.live) that readers never block and a crash leaves
// readable. It is an append-only file of checksummed records:
//
//   file    = magic "KANTLIV1" , record*
//   record  = u32 length , u32 crc32(kind · payload) , u8 kind , payload (length bytes)
//   header  = kind 1: pairs of strings (experiment, cell_id, labels, steps, host, pid, …)
//   losses  = kind 2: i64 step , f64 elapsed seconds , u32 n , n × (string name , f64 value)
//   metric  = kind 3: i64 step , string metric , u32 n , n × (string value name , f64 value)
//   samples = kind 4: i64 step , u32 rank , rank × i64 dims , f32 values (row-major)
//   string  = u32 length , bytes;  numbers little-endian (the hosts we run on)
//
// A reader takes the records up to the first one that is short or fails its checksum: the
// prefix a crash (or a write in flight) leaves is read, the torn tail is not. The writer builds
// records in memory and a thread of its own writes them out (write + fdatasync, so that another
// host sees them over NFS) at most every `flush_every` seconds, so the training step never
// waits on the disk. The file is made under a temporary name and renamed into place once its
// header (and what a resumed cell already had) is in it; it is removed once the cell file is
// stored. The sealed cell file stays the only place a complete result lives.
// The measurement that chose this format over HDF5 single-writer/multiple-reader: docs/live.md.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kant/tensor.hpp"
#include "store/cell_file.hpp"

namespace kant {

/// <cells>/<id>.live: the live series of a cell file <cells>/<id>.h5.
std::filesystem::path live_path(const std::filesystem::path& cell_file);
/// <cells>/<id>.stop: the request (kant stop) that a running cell end at its next step.
std::filesystem::path stop_request_path(const std::filesystem::path& cell_file);

/// Writes one cell's live file (see above). Not thread-safe on the caller's side: one trainer.
class LiveSeriesWriter {
 public:
  /// Creates the file (under a temporary name, renamed into place by start()); `header`
  /// holds experiment, cell_id, labels, steps and what else readers show. Throws StorageError.
  LiveSeriesWriter(std::filesystem::path file,
                   std::vector<std::pair<std::string, std::string>> header,
                   std::chrono::milliseconds flush_every);
  ~LiveSeriesWriter();
  LiveSeriesWriter(const LiveSeriesWriter&) = delete;
  LiveSeriesWriter& operator=(const LiveSeriesWriter&) = delete;

  void losses(int64_t step, double elapsed_s, const std::map<std::string, double>& row);
  void metric(int64_t step, const std::string& metric, const std::map<std::string, double>& row);
  void samples(int64_t step, const Tensor& generated);
  /// Puts what is written so far in place under the file's name and starts the flushing
  /// thread; records before it (a resumed cell's past) appear in one piece. A file that cannot
  /// be written (a full disk) never fails training: the view stops and records are dropped.
  void start();
  /// A write failed: the live file stopped where it was.
  bool failed() const { return failed_; }
  /// Writes out everything pending and stops the thread (the destructor does it too).
  void close();
  const std::filesystem::path& file() const { return file_; }
  /// Bytes handed to the file system so far.
  uint64_t bytes_written() const;

 private:
  void append(uint8_t kind, const std::string& payload);
  void flush_loop();
  void write_out(std::string& chunk);

  std::filesystem::path file_, temporary_;
  std::chrono::milliseconds flush_every_;
  int fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_;  // records not yet written (guarded by mutex_)
  bool stopping_ = false, started_ = false;
  std::atomic<bool> failed_{false};  // a write failed (a full disk): records are dropped
  uint64_t written_ = 0;
  std::thread flusher_;
};

/// What a live file holds, as far as its records check.
struct LiveSeries {
  std::map<std::string, std::string> header;
  Series losses;                             ///< per step: losses (and schedule values)
  std::vector<double> elapsed;               ///< seconds trained at each step of `losses`
  std::map<std::string, Series> metrics;     ///< per metric: its values over steps
  std::vector<int64_t> sample_steps;         ///< the steps samples were taken at
  Tensor latest_samples;                     ///< the samples of the last of them (undefined: none)
  uint64_t valid_bytes = 0, file_bytes = 0;  ///< the checked prefix, the file's size
  int64_t steps = 0;                         ///< the cell's total (header "steps")
  /// The last step with losses (0: none yet).
  int64_t step() const { return losses.step.empty() ? 0 : losses.step.back(); }
  /// Seconds to the end at the pace so far (< 0: unknown).
  double seconds_left() const;
};

/// Reads a live file; throws StorageError when it cannot be opened or is not a live file.
LiveSeries read_live_series(const std::filesystem::path& file);

}  // namespace kant
