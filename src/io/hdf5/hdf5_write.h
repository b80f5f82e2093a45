#pragma once
// Writing a small HDF5 file in memory (private to rnnx): groups, float datasets and string
// attributes, enough for a Keras 3 `model.weights.h5` (spec §8.1). The file is built with
// the core driver without a backing store and handed back as bytes, so it can go straight
// into the .keras zip. libhdf5 types never leave this file pair; failures raise FormatError
// naming `where` and the HDF5 path.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/shape.h"

namespace rnnx::detail {

class H5MemoryWriter {
 public:
  // `where` names the file in error messages (e.g. "model.weights.h5 of 'm.keras'").
  explicit H5MemoryWriter(std::string where);
  ~H5MemoryWriter();
  H5MemoryWriter(const H5MemoryWriter&) = delete;
  H5MemoryWriter& operator=(const H5MemoryWriter&) = delete;

  // Creates the group at `path` ("layers/lstm/cell/vars") and any missing parents; an
  // existing group is fine.
  void group(const std::string& path);
  // A variable-length UTF-8 string attribute on the group at `path` (created if needed).
  void string_attribute(const std::string& path, const std::string& name, const std::string& value);
  // A contiguous dataset of `shape` at `path` (parents created). float32 or float64.
  void dataset(const std::string& path, const Shape& shape, std::span<const float> values);
  void dataset(const std::string& path, const Shape& shape, std::span<const double> values);

  // Flushes and returns the file image. The writer stays usable.
  std::vector<uint8_t> image();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rnnx::detail
