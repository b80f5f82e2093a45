#pragma once
// Error types. User mistakes (bad shapes, bad options, broken files, wrong state) raise one
// of these; kernels and internals never throw. Messages say what, expected, got and where,
// e.g. "LSTM 'encoder': input has 7 features, expected 8 (input shape [32, 100, 7])".
#include <stdexcept>
#include <string>

namespace rnnx {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A tensor has the wrong rank or size for the layer it is given to.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// A layer, model or training option is invalid or unsupported.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A file's content is malformed or contradicts itself (bad magic, truncated, wrong dtype).
class FormatError : public Error {
 public:
  using Error::Error;
};

// An operation is not valid in the object's current state (e.g. calling before build,
// a stateful layer given a different batch size).
class StateError : public Error {
 public:
  using Error::Error;
};

// The operating system refused a file operation (missing file, permission, disk full).
class IoError : public Error {
 public:
  using Error::Error;
};

// A model did not reproduce the test vector its file carries (LoadOptions::verify_test_vector).
class VerificationError : public Error {
 public:
  using Error::Error;
};

}  // namespace rnnx
