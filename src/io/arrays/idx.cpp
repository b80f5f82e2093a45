// IDX arrays, plain or gzip-compressed (format: include/rnnx/io/idx.h).
#include "rnnx/io/idx.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "io/file_io.h"
#include "rnnx/core/error.h"
#include "rnnx/io/read_limits.h"

namespace rnnx {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw FormatError("idx " + where + ": " + what);
}

bool is_gzip(std::span<const uint8_t> data) { return data.size() >= 2 && data[0] == 0x1f && data[1] == 0x8b; }

// Inflates a whole gzip stream (one member), refusing to produce more than max_bytes.
std::vector<uint8_t> gunzip(std::span<const uint8_t> in, const std::string& where, uint64_t max_bytes) {
  max_bytes = std::min<uint64_t>(max_bytes, uint64_t{1} << 62);  // so that max_bytes + 1 cannot wrap
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(where, "zlib inflateInit2 failed");
  std::vector<uint8_t> out;
  // Output grows geometrically from 64 KiB (the 47 MB training images need ~10 rounds).
  constexpr uint64_t kMinChunk = uint64_t{1} << 16;
  constexpr uint64_t kMaxIn = std::numeric_limits<uInt>::max();
  uint64_t in_pos = 0;
  int ret = Z_OK;
  while (ret == Z_OK) {
    if (zs.avail_in == 0 && in_pos < in.size()) {
      const uint64_t n = std::min<uint64_t>(kMaxIn, in.size() - in_pos);
      zs.next_in = const_cast<Bytef*>(in.data() + in_pos);
      zs.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (out.size() >= max_bytes + 1) {
      inflateEnd(&zs);
      fail(where, "gzip stream inflates to more than " + std::to_string(max_bytes) + " bytes");
    }
    // One byte more than the cap may be produced, so that exceeding it is detected.
    const uint64_t grow =
        std::min<uint64_t>({std::max<uint64_t>(kMinChunk, out.size()), kMaxIn, max_bytes + 1 - out.size()});
    const size_t old = out.size();
    out.resize(old + grow);
    zs.next_out = out.data() + old;
    zs.avail_out = static_cast<uInt>(grow);
    ret = inflate(&zs, Z_NO_FLUSH);
    out.resize(old + (grow - zs.avail_out));
    if (ret == Z_BUF_ERROR && zs.avail_in == 0 && in_pos == in.size()) break;  // input ended early
    if (ret == Z_BUF_ERROR) ret = Z_OK;  // no progress possible this round; loop supplies more
  }
  const uint64_t remaining_in = zs.avail_in + (in.size() - in_pos);
  inflateEnd(&zs);
  if (ret != Z_STREAM_END) fail(where, "corrupt or truncated gzip stream (zlib status " + std::to_string(ret) + ")");
  if (out.size() > max_bytes) fail(where, "gzip stream inflates to more than " + std::to_string(max_bytes) + " bytes");
  if (remaining_in != 0) fail(where, std::to_string(remaining_in) + " bytes after the end of the gzip stream");
  return out;
}

bool known_type(uint8_t t) { return t == 0x08 || t == 0x09 || t == 0x0B || t == 0x0C || t == 0x0D || t == 0x0E; }

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

IdxArray parse_plain(std::span<const uint8_t> data, const std::string& where) {
  if (data.size() < 4)
    fail(where, "file has " + std::to_string(data.size()) + " bytes, shorter than the 4-byte IDX magic");
  if (data[0] != 0 || data[1] != 0)
    fail(where, "not an IDX file: magic starts with bytes " + std::to_string(data[0]) + ", " + std::to_string(data[1]) +
                    ", expected 0, 0");
  if (!known_type(data[2]))
    fail(where, "unknown IDX type byte " + std::to_string(data[2]) +
                    ", expected 8 (uint8), 9 (int8), 11 (int16), 12 (int32), 13 (float32) or 14 (float64)");
  const uint64_t rank = data[3];
  if (rank == 0) fail(where, "rank 0 in the IDX magic, expected at least 1 dimension");
  const uint64_t header = 4 + 4 * rank;
  if (data.size() < header)
    fail(where, "truncated header: " + std::to_string(rank) + " dimensions need " + std::to_string(header) +
                    " bytes, the file has " + std::to_string(data.size()));
  IdxArray a;
  a.type = static_cast<IdxType>(data[2]);
  const uint64_t item = static_cast<uint64_t>(IdxArray::itemsize(a.type));
  // The byte count of the nonzero dimensions must fit in int64 even when another dimension
  // is 0 (the array is then empty): IdxArray::size() and Tensor multiply all of them.
  uint64_t nonzero_bytes = item;
  bool has_zero = false;
  constexpr uint64_t kMaxBytes = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  for (uint64_t i = 0; i < rank; ++i) {
    const uint32_t d = be32(data.data() + 4 + 4 * i);
    a.shape.push_back(static_cast<int64_t>(d));
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (nonzero_bytes > kMaxBytes / d)
      fail(where, "shape " + to_string(a.shape) + "... is absurd: the product of its nonzero dimensions times " +
                      std::to_string(item) + " bytes exceeds " + std::to_string(kMaxBytes) + " (dimension " +
                      std::to_string(i) + " at header offset " + std::to_string(4 + 4 * i) + ")");
    nonzero_bytes *= d;
  }
  const uint64_t bytes = has_zero ? 0 : nonzero_bytes;
  const uint64_t have = data.size() - header;
  if (have != bytes)
    fail(where, "shape " + to_string(a.shape) + " of " + IdxArray::type_name(a.type) + " needs " +
                    std::to_string(bytes) + " data bytes, the file has " + std::to_string(have) +
                    (have < bytes ? " (truncated)" : " (trailing bytes)"));
  a.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(header), data.end());
  return a;
}

template <class S>
S load_be(const uint8_t* p) {
  using U = std::conditional_t<
      sizeof(S) == 1, uint8_t,
      std::conditional_t<sizeof(S) == 2, uint16_t, std::conditional_t<sizeof(S) == 4, uint32_t, uint64_t>>>;
  U u = 0;
  for (size_t i = 0; i < sizeof(S); ++i) u = static_cast<U>((u << 8) | p[i]);
  return std::bit_cast<S>(u);
}

template <class T, class S>
void convert(const IdxArray& a, Tensor<T>& out) {
  const uint8_t* p = a.bytes.data();
  for (int64_t i = 0; i < out.size(); ++i) {
    const S v = load_be<S>(p + i * static_cast<int64_t>(sizeof(S)));
    if constexpr (std::is_integral_v<T>) {
      // Only exact conversions into integer tensors.
      const double d = static_cast<double>(v);
      if (!(d == std::floor(d) && d >= static_cast<double>(std::numeric_limits<T>::min()) &&
            d <= static_cast<double>(std::numeric_limits<T>::max())))
        throw FormatError("idx: value " + std::to_string(d) + " at flat index " + std::to_string(i) + " of a " +
                          IdxArray::type_name(a.type) + " array does not fit the requested integer type");
    }
    out[i] = static_cast<T>(v);  // NOLINT(bugprone-signed-char-misuse): IDX 0x09 is signed
  }
}

}  // namespace

int64_t IdxArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t IdxArray::itemsize(IdxType type) {
  switch (type) {
    case IdxType::u8:
    case IdxType::i8:
      return 1;
    case IdxType::i16:
      return 2;
    case IdxType::i32:
    case IdxType::f32:
      return 4;
    case IdxType::f64:
      return 8;
  }
  throw FormatError("idx: unknown type byte " + std::to_string(static_cast<int>(type)));
}

std::string IdxArray::type_name(IdxType type) {
  switch (type) {
    case IdxType::u8:
      return "uint8";
    case IdxType::i8:
      return "int8";
    case IdxType::i16:
      return "int16";
    case IdxType::i32:
      return "int32";
    case IdxType::f32:
      return "float32";
    case IdxType::f64:
      return "float64";
  }
  return "unknown(" + std::to_string(static_cast<int>(type)) + ")";
}

template <class T>
Tensor<T> IdxArray::as() const {
  if (static_cast<int64_t>(bytes.size()) != size() * itemsize(type))
    throw FormatError("idx: array of shape " + to_string(shape) + " (" + type_name(type) + ") holds " +
                      std::to_string(bytes.size()) + " bytes, expected " + std::to_string(size() * itemsize(type)));
  Tensor<T> out(shape);
  switch (type) {
    case IdxType::u8:
      convert<T, uint8_t>(*this, out);
      break;
    case IdxType::i8:
      convert<T, int8_t>(*this, out);
      break;
    case IdxType::i16:
      convert<T, int16_t>(*this, out);
      break;
    case IdxType::i32:
      convert<T, int32_t>(*this, out);
      break;
    case IdxType::f32:
      convert<T, float>(*this, out);
      break;
    case IdxType::f64:
      convert<T, double>(*this, out);
      break;
  }
  return out;
}

IdxArray parse_idx(std::span<const uint8_t> data, const std::string& where, uint64_t max_bytes) {
  if (is_gzip(data)) {
    const std::vector<uint8_t> plain =
        gunzip(data, where, std::min<uint64_t>(max_bytes, static_cast<uint64_t>(read_limits().max_decoded_bytes)));
    return parse_plain(plain, where);
  }
  return parse_plain(data, where);
}

IdxArray read_idx(const std::string& path, uint64_t max_bytes) {
  const std::vector<uint8_t> data = detail::read_file(path);
  return parse_idx(data, "'" + path + "'", max_bytes);
}

template Tensor<float> IdxArray::as<float>() const;
template Tensor<double> IdxArray::as<double>() const;
template Tensor<int32_t> IdxArray::as<int32_t>() const;
template Tensor<uint8_t> IdxArray::as<uint8_t>() const;

}  // namespace rnnx
