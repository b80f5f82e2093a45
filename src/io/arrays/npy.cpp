// NumPy .npy / .npz reading and writing (format: numpy/lib/format.py, NEP 1).
#include "rnnx/io/npy.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "io/file_io.h"
#include "io/zip.h"
#include "rnnx/core/error.h"

namespace rnnx {
namespace {

constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kMaxRank = 64;  // NumPy's NPY_MAXDIMS (64 since NumPy 2)
constexpr size_t kAlign = 64;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw FormatError("npy " + where + ": " + what);
}

std::string quoted(const std::string& path) { return "'" + path + "'"; }

// ---- header: a Python dict literal such as
//      {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& where) : s_(text), where_(where) {}

  Header parse() {
    Header h;
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"')
          bad("'descr' must be a simple dtype string such as '<f4' (structured dtypes are not supported)");
        h.descr = parse_string();
        have_descr = set_once(have_descr, key);
      } else if (key == "fortran_order") {
        h.fortran_order = parse_bool();
        have_order = set_once(have_order, key);
      } else if (key == "shape") {
        h.shape = parse_shape();
        have_shape = set_once(have_shape, key);
      } else {
        bad("unexpected key '" + key + "' (expected exactly descr, fortran_order, shape)");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        bad("expected ',' or '}' at header position " + std::to_string(pos_));
      }
    }
    skip_ws();
    if (pos_ != s_.size()) bad("unexpected text after the header dictionary");
    if (!have_descr || !have_order || !have_shape) bad("header must contain the keys descr, fortran_order and shape");
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(where_, "bad header: " + what + " (header: " + s_ + ")");
  }
  bool set_once(bool seen, const std::string& key) const {
    if (seen) bad("key '" + key + "' appears twice");
    return true;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) bad(std::string("expected '") + c + "' at header position " + std::to_string(pos_));
    ++pos_;
  }
  std::string parse_string() {
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string at header position " + std::to_string(pos_));
    ++pos_;
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') bad("escapes in header strings are not supported");
      ++pos_;
    }
    if (pos_ >= s_.size()) bad("unterminated string");
    std::string out = s_.substr(start, pos_ - start);
    ++pos_;
    return out;
  }
  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    bad("'fortran_order' must be True or False");
  }
  int64_t parse_int() {
    if (peek() < '0' || peek() > '9') bad("shape entries must be non-negative integers");
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const int d = peek() - '0';
      if (v > (std::numeric_limits<int64_t>::max() - d) / 10) bad("shape entry too large");
      v = v * 10 + d;
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 long literal
    return v;
  }
  Shape parse_shape() {
    Shape shape;
    expect('(');
    skip_ws();
    if (peek() == ')') {
      ++pos_;
      return shape;
    }
    for (;;) {
      skip_ws();
      shape.push_back(parse_int());
      if (shape.size() > kMaxRank) bad("shape has more than " + std::to_string(kMaxRank) + " dimensions");
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        skip_ws();
        if (peek() == ')') {
          ++pos_;
          break;
        }
      } else if (peek() == ')') {
        if (shape.size() == 1) bad("a 1-tuple shape needs a trailing comma, as in (5,)");
        ++pos_;
        break;
      } else {
        bad("expected ',' or ')' in shape");
      }
    }
    return shape;
  }

  const std::string& s_;
  const std::string& where_;
  size_t pos_ = 0;
};

// Canonical dtype ("f4") from a descr ("<f4", "|u1"); FormatError if unsupported.
std::string dtype_from_descr(const std::string& descr, const std::string& where) {
  if (descr.size() != 3) fail(where, "unsupported dtype '" + descr + "', expected one of <f4, <f8, <i4, <i8, |u1, |b1");
  const char order = descr[0];
  const std::string code = descr.substr(1);
  int64_t size = 0;
  try {
    size = NpyArray::itemsize(code);
  } catch (const FormatError&) {
    fail(where, "unsupported dtype '" + descr + "', expected one of <f4, <f8, <i4, <i8, |u1, |b1");
  }
  if (size > 1 && order != '<')
    fail(where, "dtype '" + descr + "' is not little-endian; only little-endian arrays are supported");
  if (order != '<' && order != '|' && order != '>' && order != '=')
    fail(where, "bad byte-order character in dtype '" + descr + "'");
  return code;
}

uint64_t load_le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void store_le(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Element count of `shape`, or FormatError if the product of its nonzero dimensions exceeds
// `limit` (or int64's range): even an empty array (a zero dimension) must have a shape whose
// other dimensions multiply without overflow, as Tensor and num_elements multiply them all.
uint64_t checked_count(const Shape& shape, uint64_t limit, const std::string& where) {
  limit = std::min<uint64_t>(limit, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  uint64_t n = 1;
  bool has_zero = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t d = shape[i];
    if (d < 0) fail(where, "negative dimension in shape " + to_string(shape));
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (n > limit / static_cast<uint64_t>(d))
      fail(where, "shape " + to_string(shape) + " is absurdly large: the product of its nonzero dimensions exceeds " +
                      std::to_string(limit) + " elements (at dimension " + std::to_string(i) + ")");
    n *= static_cast<uint64_t>(d);
  }
  return has_zero ? 0 : n;
}

}  // namespace

int64_t NpyArray::itemsize(const std::string& dtype) {
  if (dtype == "f4" || dtype == "i4") return 4;
  if (dtype == "f8" || dtype == "i8") return 8;
  if (dtype == "u1" || dtype == "b1") return 1;
  throw FormatError("unsupported npy dtype '" + dtype + "', expected one of f4, f8, i4, i8, u1, b1");
}

int64_t NpyArray::size() const { return num_elements(shape); }

template <class T>
Tensor<T> NpyArray::as() const {
  const int64_t item = itemsize(dtype);
  const uint64_t n = checked_count(shape, std::numeric_limits<uint64_t>::max() / 16, "array");
  if (bytes.size() != n * static_cast<uint64_t>(item))
    throw FormatError("npy array of dtype " + dtype + " and shape " + to_string(shape) + " needs " +
                      std::to_string(n * static_cast<uint64_t>(item)) + " bytes, got " + std::to_string(bytes.size()));
  Tensor<T> out(shape);
  const uint8_t* p = bytes.data();
  for (uint64_t i = 0; i < n; ++i, p += item) {
    // Widen to double (exact for every stored dtype but i8 beyond 2^53, which no integer T
    // holds anyway), then convert.
    double d = 0;
    if (dtype == "f4")
      d = std::bit_cast<float>(static_cast<uint32_t>(load_le(p, 4)));
    else if (dtype == "f8")
      d = std::bit_cast<double>(load_le(p, 8));
    else if (dtype == "i4")
      d = static_cast<int32_t>(static_cast<uint32_t>(load_le(p, 4)));
    else if (dtype == "i8")
      d = static_cast<double>(static_cast<int64_t>(load_le(p, 8)));
    else if (dtype == "u1")
      d = *p;
    else  // b1
      d = *p != 0 ? 1 : 0;
    if constexpr (std::is_integral_v<T>) {
      // Only exact conversions into integer tensors (a float-to-integer cast out of range,
      // or of NaN, is undefined behaviour).
      if (!(d == std::floor(d) && d >= static_cast<double>(std::numeric_limits<T>::min()) &&
            d <= static_cast<double>(std::numeric_limits<T>::max())))
        throw FormatError("npy: value " + std::to_string(d) + " at flat index " + std::to_string(i) + " of a " + dtype +
                          " array does not fit the requested integer type (expected an integer in [" +
                          std::to_string(std::numeric_limits<T>::min()) + ", " +
                          std::to_string(std::numeric_limits<T>::max()) + "])");
    }
    if constexpr (std::is_floating_point_v<T>) {
      // i8 straight to T: rounding through double first could round twice.
      if (dtype == "i8") {
        out[static_cast<int64_t>(i)] = static_cast<T>(static_cast<int64_t>(load_le(p, 8)));
        continue;
      }
    }
    out[static_cast<int64_t>(i)] = static_cast<T>(d);
  }
  return out;
}

template <class T>
NpyArray NpyArray::from(const Tensor<T>& t) {
  NpyArray a;
  a.shape = t.shape();
  int item = 0;
  if constexpr (std::is_same_v<T, float>) {
    a.dtype = "f4";
    item = 4;
  } else if constexpr (std::is_same_v<T, double>) {
    a.dtype = "f8";
    item = 8;
  } else if constexpr (std::is_same_v<T, int32_t>) {
    a.dtype = "i4";
    item = 4;
  } else {
    static_assert(std::is_same_v<T, uint8_t>);
    a.dtype = "u1";
    item = 1;
  }
  a.bytes.resize(static_cast<size_t>(t.size()) * static_cast<size_t>(item));
  uint8_t* p = a.bytes.data();
  for (int64_t i = 0; i < t.size(); ++i, p += item) {
    if constexpr (std::is_same_v<T, float>)
      store_le(p, std::bit_cast<uint32_t>(t[i]), 4);
    else if constexpr (std::is_same_v<T, double>)
      store_le(p, std::bit_cast<uint64_t>(t[i]), 8);
    else if constexpr (std::is_same_v<T, int32_t>)
      store_le(p, static_cast<uint32_t>(t[i]), 4);
    else
      *p = t[i];
  }
  return a;
}

template Tensor<float> NpyArray::as<float>() const;
template Tensor<double> NpyArray::as<double>() const;
template Tensor<int32_t> NpyArray::as<int32_t>() const;
template Tensor<uint8_t> NpyArray::as<uint8_t>() const;
template NpyArray NpyArray::from<float>(const Tensor<float>&);
template NpyArray NpyArray::from<double>(const Tensor<double>&);
template NpyArray NpyArray::from<int32_t>(const Tensor<int32_t>&);
template NpyArray NpyArray::from<uint8_t>(const Tensor<uint8_t>&);

NpyArray parse_npy(std::span<const uint8_t> data, const std::string& where) {
  if (data.size() < 10) fail(where, "only " + std::to_string(data.size()) + " bytes, too short for a .npy header");
  if (std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) fail(where, "wrong magic, expected \\x93NUMPY");
  const uint8_t major = data[6], minor = data[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    fail(where, "unsupported format version " + std::to_string(major) + "." + std::to_string(minor) +
                    ", expected 1.0, 2.0 or 3.0");
  size_t header_start = 10;
  uint64_t header_len = 0;
  if (major == 1) {
    header_len = load_le(data.data() + 8, 2);
  } else {
    if (data.size() < 12) fail(where, "truncated header length");
    header_len = load_le(data.data() + 8, 4);
    header_start = 12;
  }
  if (header_len > data.size() - header_start)
    fail(where, "header length " + std::to_string(header_len) + " runs past the end of the data (" +
                    std::to_string(data.size()) + " bytes; truncated?)");
  const std::string text(reinterpret_cast<const char*>(data.data() + header_start), static_cast<size_t>(header_len));
  const Header h = HeaderParser(text, where).parse();
  NpyArray a;
  a.dtype = dtype_from_descr(h.descr, where);
  a.shape = h.shape;
  if (h.fortran_order && a.shape.size() > 1)
    fail(where, "array of shape " + to_string(a.shape) + " is stored in Fortran order; only C order is supported");
  const uint64_t item = static_cast<uint64_t>(NpyArray::itemsize(a.dtype));
  const uint64_t available = data.size() - header_start - header_len;
  const uint64_t count = checked_count(a.shape, std::numeric_limits<uint64_t>::max() / item, where);
  const uint64_t needed = count * item;
  if (needed != available)
    fail(where, "shape " + to_string(a.shape) + " of dtype " + h.descr + " needs " + std::to_string(needed) +
                    " data bytes, got " + std::to_string(available) + (needed > available ? " (truncated?)" : ""));
  const uint8_t* begin = data.data() + header_start + header_len;
  a.bytes.assign(begin, begin + needed);
  return a;
}

std::vector<uint8_t> serialize_npy(const NpyArray& a) {
  const uint64_t item = static_cast<uint64_t>(NpyArray::itemsize(a.dtype));
  const uint64_t count = checked_count(a.shape, std::numeric_limits<uint64_t>::max() / item, "array");
  if (a.bytes.size() != count * item)
    throw FormatError("npy array of dtype " + a.dtype + " and shape " + to_string(a.shape) + " needs " +
                      std::to_string(count * item) + " bytes, got " + std::to_string(a.bytes.size()));
  std::string header = "{'descr': '";
  header += (item == 1 ? "|" : "<") + a.dtype + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < a.shape.size(); ++i) {
    if (i) header += ", ";
    header += std::to_string(a.shape[i]);
  }
  if (a.shape.size() == 1) header += ",";
  header += "), }";
  // Pad with spaces and a final newline so the data starts on a 64-byte boundary.
  int major = 1;
  size_t prefix = 10;
  size_t hlen = header.size() + 1;
  size_t pad = kAlign - (prefix + hlen) % kAlign;
  if (hlen + pad > 0xffff) {
    major = 2;
    prefix = 12;
    pad = kAlign - (prefix + hlen) % kAlign;
  }
  header.append(pad, ' ');
  header += '\n';
  std::vector<uint8_t> out(kMagic, kMagic + sizeof kMagic);
  out.push_back(static_cast<uint8_t>(major));
  out.push_back(0);
  const int len_bytes = major == 1 ? 2 : 4;
  out.resize(out.size() + static_cast<size_t>(len_bytes));
  store_le(out.data() + 8, header.size(), len_bytes);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), a.bytes.begin(), a.bytes.end());
  return out;
}

NpyArray read_npy(const std::string& path) {
  const std::vector<uint8_t> data = detail::read_file(path);
  return parse_npy(data, quoted(path));
}

void write_npy(const std::string& path, const NpyArray& array) {
  const std::vector<uint8_t> data = serialize_npy(array);
  detail::write_file_atomic(path, data);
}

std::map<std::string, NpyArray> parse_npz(std::span<const uint8_t> data, const std::string& where) {
  const detail::ZipReader zip(data, where);
  std::map<std::string, NpyArray> out;
  for (const auto& e : zip.entries()) {
    if (!e.name.empty() && e.name.back() == '/') continue;  // directory entry
    const std::string suffix = ".npy";
    if (e.name.size() <= suffix.size() || e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) != 0)
      throw FormatError("npz " + where + ": member '" + e.name + "' is not a .npy array");
    const std::string key = e.name.substr(0, e.name.size() - suffix.size());
    const std::vector<uint8_t> bytes = zip.read(e);
    out[key] = parse_npy(bytes, where + " member '" + e.name + "'");
  }
  return out;
}

std::map<std::string, NpyArray> read_npz(const std::string& path) {
  const std::vector<uint8_t> data = detail::read_file(path);
  return parse_npz(data, quoted(path));
}

void write_npz(const std::string& path, const std::map<std::string, NpyArray>& arrays, bool compress) {
  std::vector<detail::ZipWriteEntry> entries;
  for (const auto& [key, array] : arrays) {
    if (key.empty()) throw FormatError("npz '" + path + "': array keys must be non-empty");
    entries.push_back({key + ".npy", serialize_npy(array)});
  }
  const std::vector<uint8_t> data = detail::zip_write(entries, compress);
  detail::write_file_atomic(path, data);
}

}  // namespace rnnx
