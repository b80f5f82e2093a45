#pragma once
// IDX arrays (the MNIST / Fashion-MNIST file format, http://yann.lecun.com/exdb/mnist/),
// plain or gzip-compressed.
//
// Layout: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
// 0x0D float32, 0x0E float64), a rank byte (1..255 dimensions), one big-endian uint32 per
// dimension, then the values in C order, big-endian. A gzip file (magic 1f 8b) is inflated
// first; which of the two a file is comes from its content, never its name.
//
// Errors: IoError when the operating system refuses the file; FormatError for malformed
// content (wrong magic, unknown type byte, rank 0, a shape whose byte count overflows,
// data shorter or longer than the shape says, a corrupt or truncated gzip stream), with a
// message naming the file, what was expected and what was found. Nothing is read past the
// end of the input, and a gzip stream may not inflate to more than `max_bytes` nor more than
// read_limits().max_decoded_bytes (rnnx/io/read_limits.h).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"

namespace rnnx {

enum class IdxType : uint8_t { u8 = 0x08, i8 = 0x09, i16 = 0x0B, i32 = 0x0C, f32 = 0x0D, f64 = 0x0E };

// One IDX array as stored: its type, shape and the raw big-endian C-order bytes
// (bytes.size() == elements * itemsize).
struct IdxArray {
  IdxType type = IdxType::u8;
  Shape shape;
  std::vector<uint8_t> bytes;

  int64_t size() const;  // number of elements
  static int64_t itemsize(IdxType type);
  // "uint8", "int8", "int16", "int32", "float32", "float64".
  static std::string type_name(IdxType type);

  // The values converted to T (float, double, int32_t or uint8_t; a conversion to uint8_t
  // or int32_t that does not fit is a FormatError), with the same shape.
  template <class T>
  Tensor<T> as() const;
};

// Default cap on the inflated size of a gzip file (the Fashion-MNIST training images are
// 47 MB).
inline constexpr uint64_t kIdxMaxBytes = uint64_t{1} << 32;

// Parses IDX content held in memory (gzip-compressed or not); `where` names it in errors.
IdxArray parse_idx(std::span<const uint8_t> data, const std::string& where = "<memory>",
                   uint64_t max_bytes = kIdxMaxBytes);
IdxArray read_idx(const std::string& path, uint64_t max_bytes = kIdxMaxBytes);

extern template Tensor<float> IdxArray::as<float>() const;
extern template Tensor<double> IdxArray::as<double>() const;
extern template Tensor<int32_t> IdxArray::as<int32_t>() const;
extern template Tensor<uint8_t> IdxArray::as<uint8_t>() const;

}  // namespace rnnx
