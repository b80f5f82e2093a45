#pragma once
// A small ZIP reader and writer (private to rnnx): enough for .npz (np.savez stored entries,
// np.savez_compressed deflated entries) and the .keras container. Entries are located through
// the central directory (zip64 records understood), every offset and size is bounds-checked
// against the buffer, and every entry's CRC-32 is verified. Malformed archives raise
// FormatError naming `where`; nothing here reads past the buffer.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rnnx::detail {

struct ZipEntryInfo {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

class ZipReader {
 public:
  // Parses the central directory of `archive`, which must outlive the reader.
  // `where` names the archive in error messages (usually its path).
  ZipReader(std::span<const uint8_t> archive, std::string where);

  const std::vector<ZipEntryInfo>& entries() const { return entries_; }
  bool contains(const std::string& name) const;
  // The uncompressed bytes of entry `name` (FormatError if absent, malformed or its CRC
  // does not match).
  std::vector<uint8_t> read(const std::string& name) const;
  std::vector<uint8_t> read(const ZipEntryInfo& entry) const;

 private:
  std::span<const uint8_t> data_;
  std::string where_;
  std::vector<ZipEntryInfo> entries_;
};

struct ZipWriteEntry {
  std::string name;
  std::vector<uint8_t> data;
};

// Serialises `entries` as a ZIP archive: stored, or raw-deflated when `deflate`. Timestamps
// are fixed (1980-01-01) so equal input gives equal bytes. Throws FormatError if an entry or
// the archive exceeds the classic (non-zip64) limits.
std::vector<uint8_t> zip_write(const std::vector<ZipWriteEntry>& entries, bool deflate);

// CRC-32 (zlib) of a buffer.
uint32_t crc32_of(std::span<const uint8_t> data);

}  // namespace rnnx::detail
