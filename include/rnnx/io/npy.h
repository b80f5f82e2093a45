#pragma once
// NumPy `.npy` arrays and `.npz` archives.
//
// Reading accepts format versions 1.0, 2.0 and 3.0, little-endian (or byte-order-free)
// dtypes f4, f8, i4, i8, u1 and b1, in C order (Fortran order is accepted only for rank <= 1,
// where it is the same layout). `.npz` archives may hold stored (np.savez) or deflated
// (np.savez_compressed) members; member "x.npy" is returned under the key "x".
//
// Errors: IoError when the operating system refuses a file operation; FormatError for
// malformed content (wrong magic, bad header, unsupported dtype, absurd or inconsistent
// shape, truncated data, CRC mismatch), with a message naming the file (and member), what
// was expected and what was found. Nothing is read past the end of the input.
//
// Writing produces version 1.0 headers (2.0 if the header is too long), padded to 64 bytes
// as NumPy does, and replaces the target file atomically (temporary file + rename).
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"

namespace rnnx {

// One array as stored: dtype without byte order ("f4", "f8", "i4", "i8", "u1", "b1"),
// shape, and the raw little-endian C-order bytes (bytes.size() == elements * itemsize).
struct NpyArray {
  std::string dtype;
  Shape shape;
  std::vector<uint8_t> bytes;

  // Number of elements (product of the shape; 1 for a 0-d array).
  int64_t size() const;
  // Bytes per element of `dtype`; throws FormatError for an unsupported dtype.
  static int64_t itemsize(const std::string& dtype);

  // The values converted to T (T = float, double, int32_t or uint8_t; b1 gives 0/1) with the
  // same shape. Throws FormatError if dtype is unsupported, bytes do not match the shape, or
  // (integer T) a value is not an integer that T holds (NaN, -1 into uint8_t, 2.5, ...).
  template <class T>
  Tensor<T> as() const;

  // An array holding `t` (float -> f4, double -> f8, int32_t -> i4, uint8_t -> u1).
  template <class T>
  static NpyArray from(const Tensor<T>& t);
};

// Parses `.npy` content held in memory; `where` names it in error messages.
NpyArray parse_npy(std::span<const uint8_t> data, const std::string& where = "<memory>");
// The `.npy` file content for `array` (throws FormatError if the array is inconsistent).
std::vector<uint8_t> serialize_npy(const NpyArray& array);

NpyArray read_npy(const std::string& path);
void write_npy(const std::string& path, const NpyArray& array);
template <class T>
void write_npy(const std::string& path, const Tensor<T>& tensor) {
  write_npy(path, NpyArray::from(tensor));
}

// Parses `.npz` content held in memory.
std::map<std::string, NpyArray> parse_npz(std::span<const uint8_t> data, const std::string& where = "<memory>");
std::map<std::string, NpyArray> read_npz(const std::string& path);
// Writes each array as member "<key>.npy"; `compress` selects deflate (np.savez_compressed)
// over stored entries (np.savez). Keys must be non-empty.
void write_npz(const std::string& path, const std::map<std::string, NpyArray>& arrays, bool compress = false);

extern template Tensor<float> NpyArray::as<float>() const;
extern template Tensor<double> NpyArray::as<double>() const;
extern template Tensor<int32_t> NpyArray::as<int32_t>() const;
extern template Tensor<uint8_t> NpyArray::as<uint8_t>() const;
extern template NpyArray NpyArray::from<float>(const Tensor<float>&);
extern template NpyArray NpyArray::from<double>(const Tensor<double>&);
extern template NpyArray NpyArray::from<int32_t>(const Tensor<int32_t>&);
extern template NpyArray NpyArray::from<uint8_t>(const Tensor<uint8_t>&);

}  // namespace rnnx
