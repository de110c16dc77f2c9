// A thin RAII layer over the HDF5 C API: files, groups, attributes, chunked compressed datasets.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kant/tensor.hpp"

namespace kant::h5 {

using hid = int64_t;

/// Owns one HDF5 identifier and closes it with the right H5*close.
class Handle {
 public:
  Handle() = default;
  Handle(hid id, int (*close)(hid)) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();
  hid id() const { return id_; }
  /// Closes now and returns the close function's status (negative: it failed).
  int close();

 private:
  hid id_ = -1;
  int (*close_)(hid) = nullptr;
};

/// A group (or the file's root group): children, attributes and datasets.
class Group {
 public:
  explicit Group(Handle h, std::string path) : h_(std::move(h)), path_(std::move(path)) {}

  Group create_group(const std::string& name);
  Group open_group(const std::string& name) const;
  bool exists(const std::string& name) const;
  /// Names of the direct children (groups and datasets), sorted.
  std::vector<std::string> children() const;

  void set_attr(const std::string& name, const std::string& value);
  void set_attr(const std::string& name, double value);
  void set_attr(const std::string& name, int64_t value);
  bool has_attr(const std::string& name) const;
  std::vector<std::string> attr_names() const;
  std::string attr_string(const std::string& name) const;
  double attr_double(const std::string& name) const;
  int64_t attr_int(const std::string& name) const;

  /// Chunked, deflate-compressed datasets of the given shape (row-major data).
  void write(const std::string& name, const std::vector<double>& data, const Shape& shape);
  void write(const std::string& name, const std::vector<int64_t>& data, const Shape& shape);
  void write(const std::string& name, const float* data, const Shape& shape);
  /// Reads any numeric dataset as doubles; fills `shape` if given.
  std::vector<double> read(const std::string& name, Shape* shape = nullptr) const;
  /// Reads an integer dataset exactly (all 64 bits).
  std::vector<int64_t> read_int64(const std::string& name) const;

  /// Copies the child `name` (a group with everything below it, or a dataset) with its
  /// attributes into `to` under the same name, byte for byte (HDF5's object copy: chunks
  /// and filters as they are); `to` may be in another file.
  void copy_child(const std::string& name, Group& to) const;
  /// Copies every attribute of this group (any type) onto `to`, except those `skip` names.
  void copy_attributes(Group& to, const std::function<bool(const std::string&)>& skip = {}) const;

  hid id() const { return h_.id(); }
  const std::string& path() const { return path_; }

 private:
  Handle h_;
  std::string path_;
};

/// An HDF5 file; errors are kant::StorageError naming the file and HDF5's own reason.
class File {
 public:
  /// Creates a new file, failing if anything (a file, a symlink) is already at `path`; the
  /// first `userblock` bytes (0 or a power of two ≥ 512) are left to the caller (a seal).
  static File create(const std::filesystem::path& path, uint64_t userblock = 0);
  /// Creates a file in memory only (HDF5's core driver, no backing store): HDF5 never writes
  /// to disk, so no disk error can leave the library in a bad state; image() gives the bytes
  /// for the caller to write. `name` only names it in messages (and must be unique while open).
  static File create_in_memory(const std::string& name, uint64_t userblock = 0);
  /// Opens a file read-only.
  static File open(const std::filesystem::path& path);
  Group root() const;
  const std::filesystem::path& path() const { return path_; }
  /// Flushes everything to disk.
  void flush();
  /// The whole file as bytes (user block included), after flushing it.
  std::string image();
  /// Flushes and closes the file (every group and dataset of it must be closed already);
  /// throws StorageError when that fails (e.g. a full disk). The destructor closes quietly.
  void close();

 private:
  File(Handle h, std::filesystem::path p) : h_(std::move(h)), path_(std::move(p)) {}
  Handle h_;
  std::filesystem::path path_;
};

}  // namespace kant::h5
