#pragma once
// HDF5 object headers and the header messages rnnx reads (HDF5 File Format Specification
// 3.0, section IV.A): object header prefixes v1 and v2 with their continuation blocks,
// dataspace, datatype, fill value, layout, filter pipeline, link, link info, attribute,
// attribute info and symbol table messages. Part of rnnx's own read-only HDF5 reader.
//
// Requires: cursors over the image (h5_cursor.h).
// Ensures: decoded messages hold plain values; spans point into the image. Nothing here
// follows an address except object header continuations and a shared (committed)
// datatype's header.
// Errors: Damage naming the message and its file offset; unsupported variants (external
// links, external data files, virtual layouts, shared message heaps) are Damage too, named.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/hdf5/h5_cursor.h"

namespace rnnx::detail::h5 {

// Message types (spec IV.A.2).
enum MessageType : uint16_t {
  kNil = 0x0,
  kDataspace = 0x1,
  kLinkInfo = 0x2,
  kDatatype = 0x3,
  kFillValueOld = 0x4,
  kFillValue = 0x5,
  kLink = 0x6,
  kExternalFiles = 0x7,
  kLayout = 0x8,
  kFilterPipeline = 0xB,
  kAttribute = 0xC,
  kContinuation = 0x10,
  kSymbolTable = 0x11,
  kAttributeInfo = 0x15,
};

struct Message {
  uint16_t type = 0;
  uint8_t flags = 0;              // bit 1: shared
  std::span<const uint8_t> data;  // the message body
  uint64_t addr = 0;              // file address of the body
};

// Every message of the object header at `addr` (continuations followed, each block once).
std::vector<Message> read_object_header(const Image& image, uint64_t addr);

// Datatype classes (spec IV.A.2.d).
enum class TypeClass : int {
  fixed_point = 0,
  floating = 1,
  time = 2,
  string = 3,
  bitfield = 4,
  opaque = 5,
  compound = 6,
  reference = 7,
  enumerated = 8,
  vlen = 9,
  array = 10,
};

struct Datatype {
  TypeClass cls = TypeClass::opaque;
  uint64_t size = 0;  // bytes per element in the file
  bool big_endian = false;
  bool is_signed = false;  // fixed-point
  // Floating point bit layout.
  int sign_loc = 0, exp_loc = 0, exp_size = 0, mant_loc = 0, mant_size = 0, precision = 0, bit_offset = 0;
  uint32_t exp_bias = 0;
  // Strings: padding (0 null-terminated, 1 null-padded, 2 space-padded), character set.
  int str_pad = 0, cset = 0;
  bool vlen_string = false;  // class vlen, type string: stored as global heap references
};

struct Dataspace {
  enum Kind { scalar, simple, null } kind = scalar;
  std::vector<uint64_t> dims;
  std::vector<uint64_t> max_dims;  // = dims when absent
  // Number of elements (0 for null); Damage if it overflows.
  uint64_t count() const;
};

struct Filter {
  uint16_t id = 0;
  uint16_t flags = 0;  // bit 0: optional
  std::string name;
  std::vector<uint32_t> values;
};

struct Layout {
  enum Class { compact = 0, contiguous = 1, chunked = 2, virtual_ = 3 } cls = contiguous;
  int version = 0;
  std::span<const uint8_t> compact_data;
  uint64_t address = 0;  // contiguous data / chunk index
  uint64_t size = 0;     // contiguous size
  // Chunked: chunk dimensions in elements (rank entries; the element size is dropped).
  std::vector<uint64_t> chunk;
  // Chunk index: 0 v1 B-tree (layout v1-3), 1 single chunk, 2 implicit, 3 fixed array,
  // 4 extensible array, 5 v2 B-tree (layout v4).
  int index_type = 0;
  uint64_t single_filtered_size = 0;  // single chunk index with filters
  uint32_t single_filter_mask = 0;
  bool single_filtered = false;
};

struct Link {
  std::string name;
  enum Type { hard = 0, soft = 1, external = 64 };
  int type = hard;
  uint64_t address = 0;  // hard links
};

// Link info / attribute info: where dense storage lives (undefined address when compact).
struct DenseInfo {
  uint64_t heap = 0;
  uint64_t name_index = 0;
};

struct Attribute {
  std::string name;
  Datatype type;
  Dataspace space;
  std::span<const uint8_t> data;
  uint64_t addr = 0;  // file address of the message (for errors)
};

Datatype parse_datatype(Cursor& c, int depth = 0);
Dataspace parse_dataspace(Cursor& c);
// The dataspace/datatype of a message, following a shared (committed) datatype's header.
Datatype decode_datatype(const Image& image, const Message& m);
Dataspace decode_dataspace(const Image& image, const Message& m);
std::optional<std::vector<uint8_t>> decode_fill_value(const Image& image, const Message& m);
Layout decode_layout(const Image& image, const Message& m, int rank);
std::vector<Filter> decode_filters(const Image& image, const Message& m);
Link decode_link(const Image& image, const Message& m);
DenseInfo decode_dense_info(const Image& image, const Message& m);
// An attribute message body (from a header or a fractal heap object at `addr`).
Attribute decode_attribute(const Image& image, std::span<const uint8_t> body, uint64_t addr);
struct SymbolTable {
  uint64_t btree = 0;
  uint64_t heap = 0;
};
SymbolTable decode_symbol_table(const Image& image, const Message& m);

// The element size libhdf5's H5Tget_size reports: variable-length values are held in memory
// as a pointer (strings) or an hvl_t (sequences), whatever their reference size in the file.
uint64_t reported_size(const Datatype& t);

}  // namespace rnnx::detail::h5
