#pragma once
// A small read-only view of HDF5 files (private to rnnx; spec §8). Only what the Keras
// loaders need: open an image held in memory, walk groups, read string attributes and
// floating-point datasets.
//
// Every failure of the HDF5 library becomes rnnx::FormatError naming `where` (the file),
// the object path and what was being done; HDF5's own error printing is switched off. The
// serial HDF5 library is not thread-safe, so every call here holds one process-wide
// recursive mutex (a File holds it for its whole life).
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"

namespace rnnx::detail::h5 {

// The one lock every HDF5 call in rnnx must hold (readers and writers alike): the serial
// HDF5 library is not thread-safe. Recursive, so nested helpers may take it again.
std::recursive_mutex& library_mutex();

// An open HDF5 object identifier (hid_t), released on destruction.
class Id {
 public:
  Id() = default;
  explicit Id(int64_t id) : id_(id) {}
  ~Id();
  Id(Id&& other) noexcept : id_(other.id_) { other.id_ = -1; }
  Id& operator=(Id&& other) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  int64_t get() const { return id_; }

 private:
  int64_t id_ = -1;
};

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
  Group(const File* file, Id id, std::string path) : file_(file), id_(std::move(id)), path_(std::move(path)) {}
  bool link_exists(const std::string& rel) const;
  const File* file_ = nullptr;
  Id id_;
  std::string path_;
};

// An HDF5 file image held in memory, opened read-only with the core driver. The image is
// not copied: it must outlive the File, and every Group of the File must go first.
class File {
 public:
  // FormatError if `image` is not a readable HDF5 file.
  File(std::span<const uint8_t> image, std::string where);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  Group root() const;
  const std::string& where() const { return where_; }

  // The image as lent to HDF5 (file image callbacks' user data; must outlive the file id).
  struct Loan {
    void* data = nullptr;
    size_t size = 0;
  };

 private:
  std::unique_lock<std::recursive_mutex> lock_;
  std::string where_;
  Loan loan_;
  Id id_;  // declared last: closed first
};

// True if `data` starts with the HDF5 signature (at offset 0 or a power-of-two user-block
// offset from 512 on, as HDF5 allows).
bool has_hdf5_signature(std::span<const uint8_t> data);

// The names of a "/"-separated HDF5 path ("a//b/" -> {"a", "b"}).
std::vector<std::string> split_path(const std::string& path);

extern template Tensor<float> Group::read<float>(const std::string&, const Shape&) const;
extern template Tensor<double> Group::read<double>(const std::string&, const Shape&) const;

}  // namespace rnnx::detail::h5
