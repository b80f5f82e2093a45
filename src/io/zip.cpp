#include "io/zip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <set>

#include "rnnx/core/error.h"
#include "rnnx/io/read_limits.h"

namespace rnnx::detail {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndSize = 22;
constexpr size_t kCentralSize = 46;
constexpr size_t kLocalSize = 30;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
// Deflate never expands more than about 1032:1; a larger declared ratio is a lie.
constexpr uint64_t kMaxDeflateRatio = 1032;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw FormatError("zip archive " + where + ": " + what);
}

// Bounds-checked little-endian reads over a span.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> d, const std::string& where) : d_(d), where_(where) {}
  void need(uint64_t pos, uint64_t n, const char* what) const {
    if (pos > d_.size() || n > d_.size() - pos)
      fail(where_, std::string(what) + " at offset " + std::to_string(pos) + " needs " + std::to_string(n) +
                       " bytes, archive has " + std::to_string(d_.size()) + " (truncated?)");
  }
  uint16_t u16(uint64_t pos) const {
    need(pos, 2, "field");
    return static_cast<uint16_t>(d_[pos] | (d_[pos + 1] << 8));
  }
  uint32_t u32(uint64_t pos) const {
    need(pos, 4, "field");
    return static_cast<uint32_t>(d_[pos]) | (static_cast<uint32_t>(d_[pos + 1]) << 8) |
           (static_cast<uint32_t>(d_[pos + 2]) << 16) | (static_cast<uint32_t>(d_[pos + 3]) << 24);
  }
  uint64_t u64(uint64_t pos) const { return u32(pos) | (static_cast<uint64_t>(u32(pos + 4)) << 32); }
  std::string str(uint64_t pos, uint64_t n) const {
    need(pos, n, "name");
    return std::string(reinterpret_cast<const char*>(d_.data() + pos), static_cast<size_t>(n));
  }
  uint64_t size() const { return d_.size(); }

 private:
  std::span<const uint8_t> d_;
  const std::string& where_;
};

void put16(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v & 0xff));
  out.push_back(static_cast<uint8_t>((v >> 8) & 0xff));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

std::vector<uint8_t> inflate_raw(std::span<const uint8_t> in, uint64_t out_size, const std::string& where,
                                 const std::string& name) {
  std::vector<uint8_t> out(static_cast<size_t>(out_size));
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) fail(where, "entry '" + name + "': zlib inflateInit2 failed");
  uint64_t in_pos = 0, out_pos = 0;
  int ret = Z_OK;
  constexpr uint64_t kChunk = std::numeric_limits<uInt>::max();
  uint8_t sink[1];
  while (ret == Z_OK) {
    if (zs.avail_in == 0 && in_pos < in.size()) {
      const uint64_t n = std::min<uint64_t>(kChunk, in.size() - in_pos);
      zs.next_in = const_cast<Bytef*>(in.data() + in_pos);
      zs.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (zs.avail_out == 0 && out_pos < out_size) {
      const uint64_t n = std::min<uint64_t>(kChunk, out_size - out_pos);
      zs.next_out = out.data() + out_pos;
      zs.avail_out = static_cast<uInt>(n);
      out_pos += n;
    }
    // With the declared size used up, give zlib one spare byte: the stream must end
    // without writing it, or the entry is larger than declared.
    if (zs.avail_out == 0) {
      zs.next_out = sink;
      zs.avail_out = 1;
    }
    ret = inflate(&zs, Z_NO_FLUSH);
    if (zs.next_out == sink + 1) {
      inflateEnd(&zs);
      fail(where, "entry '" + name + "': inflates to more than its declared " + std::to_string(out_size) + " bytes");
    }
  }
  const uint64_t total_out = zs.total_out;
  const uint64_t remaining_in = zs.avail_in + (in.size() - in_pos);
  inflateEnd(&zs);
  if (ret != Z_STREAM_END)
    fail(where, "entry '" + name + "': corrupt or truncated deflate stream (zlib status " + std::to_string(ret) + ")");
  if (total_out != out_size)
    fail(where, "entry '" + name + "': inflated to " + std::to_string(total_out) + " bytes, expected " +
                    std::to_string(out_size));
  if (remaining_in != 0)
    fail(where, "entry '" + name + "': " + std::to_string(remaining_in) + " bytes after the end of the deflate stream");
  return out;
}

std::vector<uint8_t> deflate_raw(std::span<const uint8_t> in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw FormatError("zip writer: zlib deflateInit2 failed");
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 16);
  uint64_t in_pos = 0;
  constexpr uint64_t kChunk = 1u << 30;
  int ret = Z_OK;
  do {
    if (zs.avail_in == 0 && in_pos < in.size()) {
      const uint64_t n = std::min<uint64_t>(kChunk, in.size() - in_pos);
      zs.next_in = const_cast<Bytef*>(in.data() + in_pos);
      zs.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    const int flush = in_pos >= in.size() ? Z_FINISH : Z_NO_FLUSH;
    zs.next_out = buf.data();
    zs.avail_out = static_cast<uInt>(buf.size());
    ret = deflate(&zs, flush);
    out.insert(out.end(), buf.data(), buf.data() + (buf.size() - zs.avail_out));
  } while (ret != Z_STREAM_END && ret != Z_STREAM_ERROR);
  deflateEnd(&zs);
  if (ret != Z_STREAM_END) throw FormatError("zip writer: zlib deflate failed");
  return out;
}

}  // namespace

uint32_t crc32_of(std::span<const uint8_t> data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t n = std::min<size_t>(data.size() - pos, std::numeric_limits<uInt>::max());
    crc = crc32(crc, data.data() + pos, static_cast<uInt>(n));
    pos += n;
  }
  return static_cast<uint32_t>(crc);
}

ZipReader::ZipReader(std::span<const uint8_t> archive, std::string where) : data_(archive), where_(std::move(where)) {
  const Cursor c(data_, where_);
  const uint64_t size = c.size();
  if (size < kEndSize) fail(where_, "only " + std::to_string(size) + " bytes, too short for a zip archive");
  // The end-of-central-directory record is the last thing in the file, followed only by
  // its comment (at most 65535 bytes).
  uint64_t eocd = std::numeric_limits<uint64_t>::max();
  const uint64_t lowest = size >= kEndSize + 0xffff ? size - kEndSize - 0xffff : 0;
  for (uint64_t p = size - kEndSize + 1; p-- > lowest;) {
    if (c.u32(p) == kEndSig && p + kEndSize + c.u16(p + 20) <= size) {
      eocd = p;
      break;
    }
  }
  if (eocd == std::numeric_limits<uint64_t>::max())
    fail(where_, "no end-of-central-directory record (not a zip file, or truncated)");
  uint64_t disk = c.u16(eocd + 4), cd_disk = c.u16(eocd + 6);
  uint64_t count_disk = c.u16(eocd + 8), count = c.u16(eocd + 10);
  uint64_t cd_size = c.u32(eocd + 12), cd_offset = c.u32(eocd + 16);
  uint64_t cd_end_limit = eocd;
  if (eocd >= kZip64LocatorSize && c.u32(eocd - kZip64LocatorSize) == kZip64LocatorSig) {
    const uint64_t loc = eocd - kZip64LocatorSize;
    const uint64_t z64 = c.u64(loc + 8);
    if (z64 > loc || loc - z64 < kZip64EndSize) fail(where_, "zip64 end record offset out of range");
    if (c.u32(z64) != kZip64EndSig) fail(where_, "bad zip64 end-of-central-directory signature");
    disk = c.u32(z64 + 16);
    cd_disk = c.u32(z64 + 20);
    count_disk = c.u64(z64 + 24);
    count = c.u64(z64 + 32);
    cd_size = c.u64(z64 + 40);
    cd_offset = c.u64(z64 + 48);
    cd_end_limit = z64;
  }
  if (disk != 0 || cd_disk != 0 || count_disk != count) fail(where_, "multi-disk archives are not supported");
  if (cd_offset > cd_end_limit || cd_size > cd_end_limit - cd_offset)
    fail(where_, "central directory (offset " + std::to_string(cd_offset) + ", size " + std::to_string(cd_size) +
                     ") lies outside the archive of " + std::to_string(size) + " bytes");
  // Each entry needs at least 46 bytes, which bounds `count` before anything is reserved.
  if (count > cd_size / kCentralSize)
    fail(where_,
         "central directory claims " + std::to_string(count) + " entries in " + std::to_string(cd_size) + " bytes");
  std::set<std::string> names;
  uint64_t p = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (p > cd_end || cd_end - p < kCentralSize) fail(where_, "central directory truncated");
    if (c.u32(p) != kCentralSig) fail(where_, "bad central directory signature at offset " + std::to_string(p));
    ZipEntryInfo e;
    const uint16_t flags = c.u16(p + 8);
    e.method = c.u16(p + 10);
    e.crc32 = c.u32(p + 16);
    e.compressed_size = c.u32(p + 20);
    e.uncompressed_size = c.u32(p + 24);
    const uint64_t name_len = c.u16(p + 28), extra_len = c.u16(p + 30), comment_len = c.u16(p + 32);
    uint64_t disk_start = c.u16(p + 34);
    e.local_header_offset = c.u32(p + 42);
    const uint64_t var_len = name_len + extra_len + comment_len;
    if (cd_end - p - kCentralSize < var_len) fail(where_, "central directory entry runs past the directory");
    e.name = c.str(p + kCentralSize, name_len);
    // zip64 extra field: the 64-bit values of the fields saturated in the fixed part.
    uint64_t x = p + kCentralSize + name_len;
    const uint64_t x_end = x + extra_len;
    while (x_end - x >= 4) {
      const uint16_t id = c.u16(x), len = c.u16(x + 2);
      if (x_end - x - 4 < len) fail(where_, "entry '" + e.name + "': extra field runs past its entry");
      if (id == 0x0001) {
        uint64_t q = x + 4;
        const uint64_t q_end = q + len;
        auto take = [&](uint64_t& field) {
          if (q_end - q < 8) fail(where_, "entry '" + e.name + "': zip64 extra field too short");
          field = c.u64(q);
          q += 8;
        };
        if (e.uncompressed_size == 0xffffffffu) take(e.uncompressed_size);
        if (e.compressed_size == 0xffffffffu) take(e.compressed_size);
        if (e.local_header_offset == 0xffffffffu) take(e.local_header_offset);
        if (disk_start == 0xffff) {
          if (q_end - q < 4) fail(where_, "entry '" + e.name + "': zip64 extra field too short");
          disk_start = c.u32(q);
        }
      }
      x += 4 + len;
    }
    if (disk_start != 0) fail(where_, "entry '" + e.name + "' lives on another disk");
    if (flags & 0x1) fail(where_, "entry '" + e.name + "' is encrypted");
    if (e.method != 0 && e.method != 8)
      fail(where_, "entry '" + e.name + "' uses compression method " + std::to_string(e.method) +
                       ", expected 0 (stored) or 8 (deflate)");
    if (!names.insert(e.name).second) fail(where_, "duplicate entry '" + e.name + "'");
    entries_.push_back(std::move(e));
    p += kCentralSize + var_len;
  }
}

bool ZipReader::contains(const std::string& name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const ZipEntryInfo& e) { return e.name == name; });
}

std::vector<uint8_t> ZipReader::read(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return read(e);
  fail(where_, "no entry named '" + name + "'");
}

std::vector<uint8_t> ZipReader::read(const ZipEntryInfo& e) const {
  const Cursor c(data_, where_);
  const uint64_t h = e.local_header_offset;
  c.need(h, kLocalSize, "local header");
  if (c.u32(h) != kLocalSig)
    fail(where_, "entry '" + e.name + "': bad local header signature at offset " + std::to_string(h));
  const uint64_t name_len = c.u16(h + 26), extra_len = c.u16(h + 28);
  c.need(h + kLocalSize, name_len + extra_len, "local header name");
  if (c.str(h + kLocalSize, name_len) != e.name)
    fail(where_, "entry '" + e.name + "': name in local header differs from the central directory");
  const uint64_t start = h + kLocalSize + name_len + extra_len;
  c.need(start, e.compressed_size, "entry data");
  const std::span<const uint8_t> raw =
      data_.subspan(static_cast<size_t>(start), static_cast<size_t>(e.compressed_size));
  std::vector<uint8_t> out;
  if (e.method == 0) {
    if (e.compressed_size != e.uncompressed_size)
      fail(where_, "stored entry '" + e.name + "' has compressed size " + std::to_string(e.compressed_size) +
                       " but uncompressed size " + std::to_string(e.uncompressed_size));
    out.assign(raw.begin(), raw.end());
  } else {
    const uint64_t cap = static_cast<uint64_t>(read_limits().max_decoded_bytes);
    if (e.uncompressed_size > cap)
      fail(where_, "entry '" + e.name + "' inflates to " + std::to_string(e.uncompressed_size) +
                       " bytes, more than the limit of " + std::to_string(cap) +
                       " (rnnx::set_read_limits, max_decoded_bytes)");
    if (e.uncompressed_size > e.compressed_size * kMaxDeflateRatio + 1024)
      fail(where_, "entry '" + e.name + "' claims " + std::to_string(e.uncompressed_size) + " bytes from " +
                       std::to_string(e.compressed_size) + " compressed bytes");
    out = inflate_raw(raw, e.uncompressed_size, where_, e.name);
  }
  const uint32_t crc = crc32_of(out);
  if (crc != e.crc32)
    fail(where_, "entry '" + e.name + "': CRC-32 mismatch, expected " + std::to_string(e.crc32) + ", got " +
                     std::to_string(crc));
  return out;
}

std::vector<uint8_t> zip_write(const std::vector<ZipWriteEntry>& entries, bool deflate) {
  constexpr uint64_t kLimit = 0xfffffffeu;
  if (entries.size() >= 0xffff) throw FormatError("zip writer: too many entries (zip64 is not supported)");
  std::vector<uint8_t> out, central;
  constexpr uint16_t kDosTime = 0, kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01 00:00
  for (const auto& e : entries) {
    if (e.name.empty() || e.name.size() > 0xffff) throw FormatError("zip writer: bad entry name '" + e.name + "'");
    if (e.data.size() > kLimit)
      throw FormatError("zip writer: entry '" + e.name + "' exceeds 4 GiB (zip64 is not supported)");
    const uint32_t crc = crc32_of(e.data);
    std::vector<uint8_t> packed;
    if (deflate) packed = deflate_raw(e.data);
    const std::vector<uint8_t>& body = deflate ? packed : e.data;
    const uint64_t offset = out.size();
    if (offset > kLimit || body.size() > kLimit)
      throw FormatError("zip writer: archive exceeds 4 GiB (zip64 is not supported)");
    const bool utf8 = std::any_of(e.name.begin(), e.name.end(), [](char ch) { return (ch & 0x80) != 0; });
    const uint16_t flags = utf8 ? 0x0800 : 0;
    const uint16_t method = deflate ? 8 : 0;
    put32(out, kLocalSig);
    put16(out, 20);
    put16(out, flags);
    put16(out, method);
    put16(out, kDosTime);
    put16(out, kDosDate);
    put32(out, crc);
    put32(out, static_cast<uint32_t>(body.size()));
    put32(out, static_cast<uint32_t>(e.data.size()));
    put16(out, static_cast<uint32_t>(e.name.size()));
    put16(out, 0);
    out.insert(out.end(), e.name.begin(), e.name.end());
    out.insert(out.end(), body.begin(), body.end());

    put32(central, kCentralSig);
    put16(central, 20);  // made by: MS-DOS, version 2.0
    put16(central, 20);
    put16(central, flags);
    put16(central, method);
    put16(central, kDosTime);
    put16(central, kDosDate);
    put32(central, crc);
    put32(central, static_cast<uint32_t>(body.size()));
    put32(central, static_cast<uint32_t>(e.data.size()));
    put16(central, static_cast<uint32_t>(e.name.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, static_cast<uint32_t>(offset));
    central.insert(central.end(), e.name.begin(), e.name.end());
  }
  const uint64_t cd_offset = out.size();
  if (cd_offset > kLimit || central.size() > kLimit)
    throw FormatError("zip writer: archive exceeds 4 GiB (zip64 is not supported)");
  out.insert(out.end(), central.begin(), central.end());
  put32(out, kEndSig);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint32_t>(entries.size()));
  put16(out, static_cast<uint32_t>(entries.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, static_cast<uint32_t>(cd_offset));
  put16(out, 0);
  return out;
}

}  // namespace rnnx::detail
