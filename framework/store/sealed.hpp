// Sealed HDF5 files: a file is whole only if it proves it. The first 512 bytes of a sealed
// file are an HDF5 user block (HDF5 and h5py skip it) holding a text seal:
//
//   kantorovich-seal 1
//   kind cell
//   sha256 <64 hex digits: SHA-256 of every byte after the block>
//   <key> <value>            (e.g. cell_id, config_sha256)
//
// The seal is checked before libhdf5 reads a byte of the file, so a damaged file (a flipped
// bit anywhere, a truncation) is refused with a reason and never reaches the HDF5 parser.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "store/h5.hpp"

namespace kant {

constexpr uint64_t kSealBytes = 512;

struct Seal {
  std::string kind;
  std::string sha256;
  std::map<std::string, std::string> fields;
};

/// Writes `target` through `fill` (which writes the HDF5 content) under a temporary name,
/// seals it with `kind` and `fields`, flushes it and renames it into place. On any failure
/// the temporary is removed and StorageError names the file and the reason.
void write_sealed(const std::filesystem::path& target, const std::string& kind,
                  const std::map<std::string, std::string>& fields,
                  const std::function<void(h5::Group& root)>& fill);

/// Reads the seal without checking the digest; throws StorageError when the file has none
/// (not a sealed file: foreign, or written by an older version).
Seal read_seal(const std::filesystem::path& file);

/// Checks the file against its seal (kind and digest) and opens it; throws StorageError with
/// the reason ("damaged: its content does not match its checksum", "truncated", …).
h5::File open_sealed(const std::filesystem::path& file, const std::string& kind,
                     Seal* seal = nullptr);

}  // namespace kant
