#pragma once
// The bottom layer of rnnx's own read-only HDF5 reader (issue 11): the file image with its
// superblock sizes, a bounds-checked little-endian cursor over a piece of it, the limits
// that keep hostile files from costing memory or time, and the exception that names a
// damaged structure.
//
// Requires: the image outlives every Image and Cursor made from it.
// Ensures: no read ever leaves the span it was given; every address and length taken from
// the file is checked (with overflow-free arithmetic) before it is used.
// Errors: Damage (a FormatError) whose message names the structure, its file offset and
// what is wrong, e.g. "global heap collection at offset 4096 is truncated (needs 4096
// bytes, file has 1200)". The public layer (hdf5.cpp) prefixes the file and object path.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "rnnx/core/error.h"

namespace rnnx::detail::h5 {

// A damaged or unsupported structure; the message lacks the file and object path, which the
// caller adds (see hdf5.cpp's `context`).
class Damage : public FormatError {
 public:
  using FormatError::FormatError;
};

[[noreturn]] void damaged(const std::string& what);

// HDF5 allows at most 32 dimensions (H5S_MAX_RANK).
constexpr int kMaxRank = 32;
// Object header continuation blocks followed for one object, B-tree / heap blocks visited
// for one structure, and hard-link depth walked: far above anything Keras or h5py writes,
// low enough that a file of cycles costs milliseconds.
constexpr int kMaxContinuations = 4096;
constexpr int kMaxTreeDepth = 64;
constexpr int kMaxGroupDepth = 64;

// What a caller lets one dataset or attribute cost before anything is allocated.
struct Limits {
  // Bytes of one dataset's values, and of the chunks decoded for it (h5::File sets it from
  // rnnx::read_limits().max_decoded_bytes unless given Limits).
  uint64_t max_dataset_bytes = uint64_t{16} << 30;
  // Above bomb_floor bytes, a chunked dataset may decode to at most max_expansion times the
  // bytes its stored chunks hold: deflate cannot expand by more than about 1032:1, and
  // unallocated chunks (fill values) are not how Keras or h5py write weights. (Keras itself
  // refuses datasets over 4 GiB that declare more than 1000 times what they store.)
  uint64_t max_expansion = 1100;
  uint64_t bomb_floor = uint64_t{64} << 20;
  // Bytes of one attribute's decoded strings (vlen strings can repeat one heap object).
  uint64_t max_attribute_bytes = uint64_t{64} << 20;
};

// The file image and the superblock's field sizes. Addresses read from the file are
// relative to `base` (the superblock's position).
struct Image {
  std::span<const uint8_t> bytes;
  uint64_t base = 0;
  int offset_size = 8;  // "size of offsets" (2, 4 or 8)
  int length_size = 8;  // "size of lengths" (2, 4 or 8)

  // The undefined address (all bits set in `offset_size` bytes).
  uint64_t undefined() const { return offset_size == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * offset_size)) - 1; }
  bool is_undefined(uint64_t addr) const { return addr == undefined(); }
  // `len` bytes at file address `addr` (relative to base); Damage naming `what` if they do
  // not lie inside the image.
  std::span<const uint8_t> at(uint64_t addr, uint64_t len, std::string_view what) const;
  // Every byte from `addr` to the end of the image (at least `min_len`).
  std::span<const uint8_t> from(uint64_t addr, uint64_t min_len, std::string_view what) const;
};

// "name at offset N" for messages.
std::string at_offset(std::string_view what, uint64_t addr);

// Reads little-endian fields from a span; `what` and `addr` (the span's file address) name
// the structure in errors.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, const Image& image, std::string what, uint64_t addr)
      : bytes_(bytes), image_(&image), what_(std::move(what)), addr_(addr) {}

  uint8_t u8() { return static_cast<uint8_t>(uint(1)); }
  uint16_t u16() { return static_cast<uint16_t>(uint(2)); }
  uint32_t u32() { return static_cast<uint32_t>(uint(4)); }
  uint64_t u64() { return uint(8); }
  // An unsigned little-endian integer of `n` bytes (0..8).
  uint64_t uint(int n);
  // A file address / a length in the superblock's sizes.
  uint64_t address() { return uint(image_->offset_size); }
  uint64_t length() { return uint(image_->length_size); }
  std::span<const uint8_t> bytes(uint64_t n);
  void skip(uint64_t n) { (void)bytes(n); }
  // Checks a 4-byte signature ("OHDR", "TREE", ...).
  void signature(const char* sig);
  // Skips to the next multiple of `align` counted from the span's start.
  void align(uint64_t align);
  void seek(uint64_t pos);

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t remaining() const { return bytes_.size() - pos_; }
  const Image& image() const { return *image_; }
  const std::string& what() const { return what_; }
  uint64_t file_addr() const { return addr_; }
  // Damage: "<what> at offset <addr>: <problem>".
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  std::span<const uint8_t> bytes_;
  const Image* image_;
  std::string what_;
  uint64_t addr_;
  uint64_t pos_ = 0;
};

// a * b, or Damage naming `what` if it overflows 64 bits.
uint64_t checked_mul(uint64_t a, uint64_t b, std::string_view what);
uint64_t checked_add(uint64_t a, uint64_t b, std::string_view what);

// Number of bytes needed to encode `v` (libhdf5's H5VM_limit_enc_size: log2(v)/8 + 1).
int limit_enc_size(uint64_t v);
// floor(log2(v)) for v > 0, else 0.
int log2_floor(uint64_t v);

}  // namespace rnnx::detail::h5
