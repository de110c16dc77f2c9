// The one error hierarchy of Kantorovich: every failure a user can cause is a kant::Error.
#pragma once
#include <stdexcept>
#include <string>

namespace kant {

/// Base of all Kantorovich errors; what() is the complete user-facing message.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad input from the user: a config, a command line, a file. `kant` exits with code 2.
class InputError : public Error {
 public:
  using Error::Error;
};

/// A plugin library that cannot be used (missing symbol, ABI mismatch, duplicate name,
/// throwing factory). Counts as bad input: exit code 2. The message names the file.
class PluginError : public InputError {
 public:
  using InputError::InputError;
};

/// Misuse of the tensor / autodiff API (shape mismatch, a second derivative an op refuses).
class TensorError : public Error {
 public:
  using Error::Error;
};

/// Storage (HDF5) failure: unreadable, truncated or foreign result files.
class StorageError : public Error {
 public:
  using Error::Error;
};

}  // namespace kant
