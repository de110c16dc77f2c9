// SHA-256 (FIPS 180-4): digests that prove a file whole (cell files, checkpoints) and name the
// exact plugin libraries a cell used.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace kant {

class Sha256 {
 public:
  Sha256();
  /// Adds n bytes to the message.
  void update(const void* data, size_t n);
  /// The 32-byte digest of everything added (the object is then spent).
  std::array<uint8_t, 32> finish();
  /// finish() as 64 lowercase hex digits.
  std::string hex();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buffer_[64];
  size_t used_ = 0;
  uint64_t length_ = 0;  // bytes
};

/// Hex SHA-256 of a byte string.
std::string sha256_hex(const std::string& bytes);
/// Hex SHA-256 of a file's bytes from `offset` to its end; throws StorageError naming the file.
std::string sha256_file(const std::filesystem::path& file, uint64_t offset = 0);

}  // namespace kant
