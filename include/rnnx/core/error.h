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

// A computation gave NaN or Inf where a finite value is required: the training loss
// (TerminateOnNaN with raise_error). Inputs and weights holding NaN/Inf are not checked by
// the layers: they propagate as IEEE arithmetic does, as in Keras.
class NumericError : public Error {
 public:
  using Error::Error;
};

// A model did not reproduce the test vector its file carries (LoadOptions::verify_test_vector).
class VerificationError : public Error {
 public:
  using Error::Error;
};

// The processes of a parallel job could not talk to each other (train/communicator.h): a
// peer that died or disappeared, a transport failure.
class CommunicationError : public Error {
 public:
  using Error::Error;
};

}  // namespace rnnx
