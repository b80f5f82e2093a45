#pragma once
// Dataset and attribute values for rnnx's own HDF5 reader: raw element bytes of compact,
// contiguous and chunked datasets (chunk indexes: v1 B-tree, single chunk, implicit, fixed
// array, v2 B-tree; filters: deflate, shuffle, fletcher32), conversion of IEEE floats to
// float/double, and strings (fixed length, or variable length in the global heap).
//
// Requires: decoded messages (h5_messages.h) of one dataset or attribute.
// Ensures: the declared size is checked against Limits and the file before any allocation
// sized by it; unallocated storage reads as the fill value (zeros by default), as libhdf5.
// Errors: Damage naming the structure; extensible-array chunk indexes, external storage
// and filters other than deflate/shuffle/fletcher32 are refused by name.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/hdf5/h5_messages.h"
#include "io/hdf5/h5_structures.h"

namespace rnnx::detail::h5 {

struct DatasetParts {
  Datatype type;
  Dataspace space;
  Layout layout;
  std::vector<Filter> filters;
  std::optional<std::vector<uint8_t>> fill;
};

// Every element's bytes as stored (file byte order), in row-major order.
std::vector<uint8_t> read_dataset_bytes(const Image& image, const DatasetParts& d, const Limits& limits);

// Damage unless `t` is IEEE binary16, binary32 or binary64 (either byte order).
void check_float_layout(const Datatype& t);
// Element `i` of `raw` (values of a type check_float_layout accepted) as double.
double float_at(const Datatype& t, std::span<const uint8_t> raw, uint64_t i);

// The strings of string-typed values (fixed-length: padding removed as libhdf5 does for
// C strings; variable-length: read from the global heap). `max_bytes` caps the total.
std::vector<std::string> read_strings(const Image& image, GlobalHeap& heap, const Datatype& t,
                                      std::span<const uint8_t> raw, uint64_t count, uint64_t max_bytes);

}  // namespace rnnx::detail::h5
