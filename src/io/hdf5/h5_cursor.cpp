// Bounds-checked reading of the HDF5 image (see h5_cursor.h).
#include "io/hdf5/h5_cursor.h"

#include <cstring>

namespace rnnx::detail::h5 {

void damaged(const std::string& what) { throw Damage(what); }

std::string at_offset(std::string_view what, uint64_t addr) {
  return std::string(what) + " at offset " + std::to_string(addr);
}

std::span<const uint8_t> Image::at(uint64_t addr, uint64_t len, std::string_view what) const {
  if (is_undefined(addr)) damaged(std::string(what) + " has an undefined address");
  const uint64_t size = bytes.size();
  // base <= size always (it is where the superblock was found).
  if (addr > size - base)
    damaged(at_offset(what, addr) + " lies outside the file (file has " + std::to_string(size) + " bytes)");
  const uint64_t start = base + addr;
  if (len > size - start)
    damaged(at_offset(what, addr) + " is truncated (needs " + std::to_string(len) + " bytes, file has " +
            std::to_string(size - start) + " from there)");
  return bytes.subspan(static_cast<size_t>(start), static_cast<size_t>(len));
}

std::span<const uint8_t> Image::from(uint64_t addr, uint64_t min_len, std::string_view what) const {
  if (is_undefined(addr)) damaged(std::string(what) + " has an undefined address");
  const uint64_t size = bytes.size();
  if (addr > size - base)
    damaged(at_offset(what, addr) + " lies outside the file (file has " + std::to_string(size) + " bytes)");
  return at(addr, std::max<uint64_t>(min_len, size - base - addr), what);
}

uint64_t Cursor::uint(int n) {
  const auto b = bytes(static_cast<uint64_t>(n));
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[static_cast<size_t>(i)];
  return v;
}

std::span<const uint8_t> Cursor::bytes(uint64_t n) {
  if (n > remaining())
    fail("is truncated (needs " + std::to_string(n) + " more bytes at byte " + std::to_string(pos_) + ", has " +
         std::to_string(remaining()) + ")");
  const auto out = bytes_.subspan(static_cast<size_t>(pos_), static_cast<size_t>(n));
  pos_ += n;
  return out;
}

void Cursor::signature(const char* sig) {
  const auto b = bytes(4);
  if (std::memcmp(b.data(), sig, 4) != 0) fail(std::string("lacks its signature \"") + sig + "\"");
}

void Cursor::align(uint64_t a) {
  const uint64_t rem = pos_ % a;
  if (rem) skip(a - rem);
}

void Cursor::seek(uint64_t pos) {
  if (pos > bytes_.size())
    fail("is truncated (needs byte " + std::to_string(pos) + ", has " + std::to_string(bytes_.size()) + ")");
  pos_ = pos;
}

void Cursor::fail(const std::string& problem) const { damaged(at_offset(what_, addr_) + " " + problem); }

uint64_t checked_mul(uint64_t a, uint64_t b, std::string_view what) {
  if (a != 0 && b > ~uint64_t{0} / a) damaged(std::string(what) + " overflows 64 bits");
  return a * b;
}

uint64_t checked_add(uint64_t a, uint64_t b, std::string_view what) {
  if (b > ~uint64_t{0} - a) damaged(std::string(what) + " overflows 64 bits");
  return a + b;
}

int log2_floor(uint64_t v) {
  int r = 0;
  while (v > 1) {
    v >>= 1;
    ++r;
  }
  return r;
}

int limit_enc_size(uint64_t v) { return log2_floor(v) / 8 + 1; }

}  // namespace rnnx::detail::h5
