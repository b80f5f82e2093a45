#pragma once
// HDF5's shared file infrastructure (spec section III) as rnnx's reader needs it: version 1
// B-trees (group nodes and chunk nodes), symbol table nodes, local heaps, version 2
// B-trees, fractal heaps and global heap collections.
//
// Requires: an Image (h5_cursor.h).
// Ensures: every tree and heap walk visits each block at most once, descends at most
// kMaxTreeDepth levels and reads only inside the image; object spans point into the image.
// Errors: Damage naming the structure and its file offset (and what was expected).
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "io/hdf5/h5_cursor.h"

namespace rnnx::detail::h5 {

// One entry of an old-style group: a name from the local heap and an object header.
struct SymbolEntry {
  std::string name;
  uint64_t address = 0;
  bool soft = false;  // cache type 2: a soft link (the address is meaningless)
};

// Every entry of the old-style group whose symbol table message names `btree` and `heap`;
// Damage once the names exceed `max_name_bytes` (entries may repeat one long name).
std::vector<SymbolEntry> read_symbol_table(const Image& image, uint64_t btree, uint64_t heap, uint64_t max_name_bytes);

// A chunk found in a chunk index: element offsets (v1 B-tree) or scaled offsets, its
// address, stored size and filter mask.
struct ChunkRef {
  std::vector<uint64_t> offset;  // element offsets, `rank` entries
  uint64_t address = 0;
  uint64_t size = 0;
  uint32_t filter_mask = 0;
};

// Every chunk of a layout v1-3 chunked dataset (v1 B-tree of node type 1, `rank` + 1 key
// dimensions).
std::vector<ChunkRef> read_v1_chunk_btree(const Image& image, uint64_t addr, int rank);

// Calls `record` with each record of the version 2 B-tree at `addr`; Damage unless the tree
// has type `type` and records of `record_size` bytes (0: any size, reported by `record`).
void walk_v2_btree(const Image& image, uint64_t addr, int type,
                   const std::function<void(std::span<const uint8_t> record, uint64_t record_addr)>& record);

// A fractal heap (spec III.G): managed objects in direct blocks below indirect blocks, tiny
// objects inside their heap ID, unfiltered huge objects.
class FractalHeap {
 public:
  FractalHeap(const Image& image, uint64_t addr);
  // The object a heap ID names.
  std::span<const uint8_t> object(std::span<const uint8_t> id) const;
  uint64_t address() const { return addr_; }

 private:
  std::span<const uint8_t> managed(uint64_t offset, uint64_t length) const;
  std::span<const uint8_t> huge(std::span<const uint8_t> id) const;
  uint64_t row_size(int row) const;
  int child_rows(int row) const;

  const Image* image_;
  uint64_t addr_ = 0;
  uint16_t id_len_ = 0;
  uint16_t filter_len_ = 0;
  bool checksummed_ = false;
  uint32_t max_managed_ = 0;
  uint64_t huge_btree_ = 0;
  uint16_t width_ = 0;
  uint64_t start_block_ = 0;
  uint64_t max_direct_ = 0;
  int max_heap_bits_ = 0;
  uint64_t root_ = 0;
  int root_rows_ = 0;
  int off_size_ = 0;         // bytes of an offset in a managed heap ID / block header
  int len_size_ = 0;         // bytes of a length in a managed heap ID
  int max_direct_rows_ = 0;  // rows of direct blocks in an indirect block
};

// Global heap collections (spec III.E), each parsed once.
class GlobalHeap {
 public:
  explicit GlobalHeap(const Image& image) : image_(&image) {}
  // Object `index` of the collection at `addr`.
  std::span<const uint8_t> object(uint64_t addr, uint32_t index);

 private:
  const Image* image_;
  std::map<uint64_t, std::map<uint32_t, std::span<const uint8_t>>> collections_;
};

}  // namespace rnnx::detail::h5
