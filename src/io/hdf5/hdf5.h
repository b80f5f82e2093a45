#pragma once
// A small read-only view of HDF5 files (private to rnnx; spec §8). Only what the Keras
// loaders need: open an image held in memory, walk groups, read string attributes and
// floating-point datasets.
//
// The parsing is rnnx's own (h5_object.h and below; issue 11): libhdf5 never sees these
// bytes, so a damaged or hostile file cannot crash or hang the process. Every offset and
// size is checked against the image, every walk is bounded, and a dataset's declared size
// is checked against the file and Limits before anything is allocated.
//
// Requires: the image outlives the File, and every Group of a File goes before it. A File
// and its Groups are used from one thread at a time (the File caches link lists); separate
// Files are independent.
// Errors: FormatError naming `where` (the file), the object path and the damaged
// structure, e.g. "model.h5: attribute 'weight_names' of '/model_weights/lstm': global heap
// collection at offset 4096 is truncated (needs 4096 bytes, file has 1200 from there)".
// External links, external storage and virtual datasets are refused with a FormatError that
// names them; soft links are not followed (they read as missing).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/hdf5/h5_cursor.h"
#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"

namespace rnnx::detail::h5 {

class Reader;

enum class ValueClass { floating, integer, string, other };

struct DatasetInfo {
  Shape shape;  // [] for a scalar
  ValueClass value_class = ValueClass::other;
  int64_t element_size = 0;  // bytes per element in the file
  std::string dtype_attr;    // the dataset's "dtype" attribute (Keras 3 bfloat16), or ""
};

class File;

// A group of an open file (the root is "/"). Paths are relative to the group, '/'-separated.
class Group {
 public:
  const std::string& path() const { return path_; }
  const std::string& where() const;

  // True if `rel` names a group / a dataset (every intermediate component a group).
  bool has_group(const std::string& rel) const;
  bool has_dataset(const std::string& rel) const;
  // The group at `rel`; FormatError if there is none.
  Group group(const std::string& rel) const;
  // Names of the links in this group, in name order.
  std::vector<std::string> children() const;
  // True if the group or anything below it holds a dataset.
  bool contains_datasets() const;
  // Total number of elements of every dataset in and below the group (saturates at 2^62).
  int64_t count_dataset_elements() const;

  bool has_attr(const std::string& name) const;
  // A string attribute: a scalar or one-element array of fixed- or variable-length strings
  // (bytes are returned as stored). nullopt if absent; FormatError for another type.
  std::optional<std::string> string_attr(const std::string& name) const;
  // A one-dimensional array of strings (fixed or variable length). An empty numeric array
  // (tf_keras writes `weight_names` of a weightless group as float64[0]) is an empty list.
  // nullopt if absent; FormatError for any other type.
  std::optional<std::vector<std::string>> string_list_attr(const std::string& name) const;

  DatasetInfo dataset_info(const std::string& rel) const;
  // Reads a floating-point dataset converted to T. `expected` must equal its shape (the
  // caller checks and reports shapes first; this re-checks before allocating).
  template <class T>
  Tensor<T> read(const std::string& rel, const Shape& expected) const;

  // "<path>/<rel>" without doubled slashes.
  std::string join(const std::string& rel) const;

 private:
  friend class File;
  Group(const File* file, uint64_t addr, std::string path) : file_(file), addr_(addr), path_(std::move(path)) {}
  // The object header address `rel` leads to through hard links, or nullopt (missing, or a
  // soft link on the way); FormatError for an external link.
  std::optional<uint64_t> resolve(const std::string& rel) const;
  bool is_kind(const std::string& rel, int kind) const;
  const File* file_ = nullptr;
  uint64_t addr_ = 0;
  std::string path_;
};

// An HDF5 file image held in memory, read in place (not copied).
class File {
 public:
  // FormatError if `image` is not a readable HDF5 file (no signature, unreadable or
  // truncated superblock). `limits` caps what one dataset or attribute may cost; without
  // it, a dataset may decode to rnnx::read_limits().max_decoded_bytes (read_limits.h).
  File(std::span<const uint8_t> image, std::string where);
  File(std::span<const uint8_t> image, std::string where, Limits limits);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  Group root() const;
  const std::string& where() const { return where_; }
  // The object-level reader (h5_object.h), for walking everything (tests, fuzzer).
  Reader& reader() const { return *reader_; }

 private:
  std::string where_;
  std::unique_ptr<Reader> reader_;
};

// True if `data` starts with the HDF5 signature (at offset 0 or a power-of-two user-block
// offset from 512 on, as HDF5 allows).
bool has_hdf5_signature(std::span<const uint8_t> data);

// The names of a "/"-separated HDF5 path ("a//b/" -> {"a", "b"}).
std::vector<std::string> split_path(const std::string& path);

extern template Tensor<float> Group::read<float>(const std::string&, const Shape&) const;
extern template Tensor<double> Group::read<double>(const std::string&, const Shape&) const;

}  // namespace rnnx::detail::h5
