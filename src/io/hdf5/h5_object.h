#pragma once
// The object level of rnnx's own read-only HDF5 reader: the superblock (versions 0-3), the
// kind of an object, the links of a group (old-style symbol tables; new-style link
// messages, compact or dense in a fractal heap with a v2 B-tree name index), the
// attributes of an object (compact messages, or dense), and a dataset's messages and
// values. hdf5.h builds the Keras-facing API on it; the cross-check test and the fuzzer
// walk files with it directly.
//
// Requires: the image outlives the Reader. A Reader is not for concurrent use (it caches
// link lists and global heap collections).
// Ensures: reads only inside the image; decoded names are charged to a per-file budget
// (kMaxNameBytes) so repeated references cannot multiply memory.
// Errors: Damage naming the structure (the caller adds the file and the object path);
// external file lists and virtual datasets are refused by name.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/hdf5/h5_data.h"
#include "io/hdf5/h5_messages.h"
#include "io/hdf5/h5_structures.h"

namespace rnnx::detail::h5 {

// Bytes of link names one file may decode in all (real Keras files: kilobytes).
constexpr uint64_t kMaxNameBytes = uint64_t{64} << 20;

// Where the HDF5 signature is: offset 0, or a power-of-two user-block size from 512 on.
std::optional<uint64_t> find_signature(std::span<const uint8_t> bytes);

enum class ObjectKind { group, dataset, datatype, other };

class Reader {
 public:
  // Parses the superblock; Damage if there is none or it is unreadable, or the image is
  // shorter than the end-of-file address it records (a truncated file).
  Reader(std::span<const uint8_t> bytes, Limits limits);
  Reader(const Reader&) = delete;  // the global heap cache points at image_
  Reader& operator=(const Reader&) = delete;

  const Image& image() const { return image_; }
  const Limits& limits() const { return limits_; }
  uint64_t root() const { return root_; }

  // The kind of the object whose header is at `addr` (as libhdf5 decides: a symbol table or
  // link info message makes a group; a datatype and a dataspace, a dataset).
  ObjectKind kind(uint64_t addr) const;
  // Every link of the group at `addr`, sorted by name (bytewise, as H5_INDEX_NAME).
  const std::vector<Link>& links(uint64_t addr);
  // The link named `name`, or nullptr.
  const Link* find_link(uint64_t group, const std::string& name);
  // Every attribute of the object at `addr` (header messages first, then dense storage).
  std::vector<Attribute> attributes(uint64_t addr) const;
  // A dataset's messages; Damage for external storage or a missing message.
  DatasetParts dataset(uint64_t addr) const;
  std::vector<uint8_t> values(const DatasetParts& d) const { return read_dataset_bytes(image_, d, limits_); }
  // The strings of string-typed values (see h5_data.h), capped at limits().max_attribute_bytes.
  std::vector<std::string> strings(const Datatype& t, std::span<const uint8_t> raw, uint64_t count);

 private:
  Image image_;
  Limits limits_;
  uint64_t root_ = 0;
  GlobalHeap global_heap_;
  std::map<uint64_t, std::vector<Link>> links_;
  uint64_t name_bytes_ = 0;
};

}  // namespace rnnx::detail::h5
