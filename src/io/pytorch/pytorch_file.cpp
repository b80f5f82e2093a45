// Reading tensors from safetensors and torch.save zip files (spec pytorch-files.md §1-§3, §5).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "io/file_io.h"
#include "io/pytorch/pytorch_internal.h"
#include "rnnx/core/error.h"
#include "rnnx/io/pytorch.h"

namespace rnnx::detail {
namespace {

constexpr uint64_t kMaxSafetensorsHeader = 100000000;  // reference MAX_HEADER_SIZE
constexpr size_t kMaxRank = 8;
constexpr uint64_t kMaxPickle = 64ull << 20;
constexpr size_t kMaxZipEntries = 100000;

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw FormatError(where + ": " + what); }

uint64_t read_le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int k = 0; k < n; ++k) v |= static_cast<uint64_t>(p[k]) << (8 * k);
  return v;
}

std::string hex_byte(uint8_t b) {
  static const char* hex = "0123456789abcdef";
  return std::string("0x") + hex[b >> 4] + hex[b & 15];
}

// safetensors dtype names and element sizes in bits (spec §2.2).
struct DtypeInfo {
  const char* name;
  int64_t bits;
};
constexpr DtypeInfo kSafetensorsDtypes[] = {
    {"F64", 64},        {"F32", 32}, {"F16", 16},    {"BF16", 16},   {"I64", 64},    {"I32", 32},
    {"I16", 16},        {"I8", 8},   {"U64", 64},    {"U32", 32},    {"U16", 16},    {"U8", 8},
    {"BOOL", 8},        {"C64", 64}, {"F8_E4M3", 8}, {"F8_E5M2", 8}, {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8},
    {"F8_E5M2FNUZ", 8}, {"F4", 4},   {"F6_E2M3", 6}, {"F6_E3M2", 6},
};

// IEEE binary16 -> float, exact (spec §5).
double half_to_double(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 0)
    v = std::ldexp(static_cast<double>(m), -24);
  else if (e == 31)
    v = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  else
    v = std::ldexp(1.0 + m / 1024.0, e - 15);
  return s ? -v : v;
}

// ---- safetensors header JSON: nlohmann's parser with a callback that refuses duplicate
// keys (a plain map would silently keep one) and deep nesting.
struct HeaderRefusal {
  std::string what;
};

nlohmann::json parse_header_json(std::string_view text, const std::string& where) {
  std::vector<std::unordered_set<std::string>> keys;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth > 16) throw HeaderRefusal{"header JSON nested deeper than 16 levels"};
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) keys.emplace_back();
    if (event == E::object_end && !keys.empty()) keys.pop_back();
    if (event == E::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second)
      throw HeaderRefusal{"header has the key '" + parsed.get<std::string>() + "' twice"};
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const HeaderRefusal& r) {
    fail(where, r.what);
  } catch (const nlohmann::json::exception& e) {
    fail(where, std::string("header is not valid JSON (") + e.what() + ")");
  }
}

uint64_t json_uint(const nlohmann::json& v, const std::string& where, const std::string& what) {
  if (!v.is_number_unsigned()) fail(where, what + " must be a non-negative integer, got " + v.dump());
  return v.get<uint64_t>();
}

}  // namespace

TensorFile::TensorFile(std::vector<uint8_t> bytes, std::string where)
    : bytes_(std::move(bytes)), where_(std::move(where)) {
  const auto& b = bytes_;
  static constexpr uint8_t kLegacy[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  if (b.size() >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4) {
    format_ = "torch.save zip";
    parse_torch_zip();
  } else if (b.size() >= 2 + sizeof(kLegacy) && b[0] == 0x80 &&
             std::equal(std::begin(kLegacy), std::end(kLegacy), b.begin() + 2)) {
    fail(where_,
         "legacy (pre-1.6) torch.save format; load and re-save it with torch >= 1.6 (torch.save(model.state_dict(), "
         "path))");
  } else if (b.size() >= 262 && std::equal(b.begin() + 257, b.begin() + 262, "ustar")) {
    fail(where_, "legacy tar-based torch.save format; load and re-save it with torch >= 1.6");
  } else if (b.size() >= 8 && std::equal(b.begin(), b.begin() + 8, "PYTORCH1")) {
    fail(where_, "PYTORCH1 container (pre-release torch.save); load and re-save it with torch >= 1.6");
  } else if (b.size() >= 9 && b[8] == '{') {
    format_ = "safetensors";
    parse_safetensors();
  } else if (b.size() < 9) {
    fail(where_, "file of " + std::to_string(b.size()) + " bytes is too short for a safetensors or torch.save file");
  } else {
    fail(where_, "neither a safetensors file (byte 8 is " + hex_byte(b[8]) +
                     ", expected '{' after the 8-byte header length) nor a torch.save zip (no PK\\3\\4 magic)");
  }
  for (size_t k = 0; k < tensors_.size(); ++k) index_[tensors_[k].first] = k;
}

const RawTensor* TensorFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second].second;
}

// Validation of spec §2.4.
void TensorFile::parse_safetensors() {
  const std::string where = "safetensors " + where_;
  const uint64_t size = bytes_.size();
  const uint64_t n = read_le(bytes_.data(), 8);
  if (n > kMaxSafetensorsHeader)
    fail(where, "header length " + std::to_string(n) + " exceeds the limit of " +
                    std::to_string(kMaxSafetensorsHeader) + " bytes");
  if (n > size - 8)
    fail(where, "header of " + std::to_string(n) + " bytes runs past the end of the file (" + std::to_string(size) +
                    " bytes; truncated?)");
  const std::string_view text(reinterpret_cast<const char*>(bytes_.data() + 8), static_cast<size_t>(n));
  const nlohmann::json header = parse_header_json(text, where);
  if (!header.is_object()) fail(where, "header is not a JSON object");
  const uint64_t buffer_begin = 8 + n, buffer_size = size - buffer_begin;

  struct Entry {
    std::string name;
    RawTensor t;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail(where, "__metadata__ must be an object of strings");
      for (const auto& [k, s] : v.items())
        if (!s.is_string()) fail(where, "__metadata__ value '" + k + "' is not a string");
      continue;
    }
    const std::string what = "tensor '" + name + "'";
    if (!v.is_object()) fail(where, what + " entry is not an object");
    if (!v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      fail(where, what + " entry needs dtype, shape and data_offsets");
    const nlohmann::json &dt = v["dtype"], &sh = v["shape"], &off = v["data_offsets"];
    if (!dt.is_string()) fail(where, what + " dtype is not a string");
    Entry e;
    e.name = name;
    e.t.dtype = dt.get<std::string>();
    const DtypeInfo* info = nullptr;
    for (const auto& d : kSafetensorsDtypes)
      if (e.t.dtype == d.name) info = &d;
    if (!info) fail(where, what + " has unknown dtype '" + e.t.dtype + "'");
    e.t.element_bits = info->bits;
    if (!sh.is_array()) fail(where, what + " shape is not an array");
    if (sh.size() > kMaxRank)
      fail(where,
           what + " has rank " + std::to_string(sh.size()) + ", at most " + std::to_string(kMaxRank) + " is supported");
    uint64_t numel = 1;
    for (const auto& d : sh) {
      const uint64_t dim = json_uint(d, where, what + " shape entry");
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(numel, dim, &numel))
        fail(where, what + " element count overflows");
      e.t.shape.push_back(static_cast<int64_t>(dim));
    }
    if (!off.is_array() || off.size() != 2) fail(where, what + " data_offsets must be [begin, end]");
    e.begin = json_uint(off[0], where, what + " data_offsets begin");
    e.end = json_uint(off[1], where, what + " data_offsets end");
    if (e.begin > e.end)
      fail(where, what + " data_offsets begin " + std::to_string(e.begin) + " > end " + std::to_string(e.end));
    uint64_t bits = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(info->bits), &bits))
      fail(where, what + " byte size overflows");
    if (bits % 8 != 0 || bits / 8 != e.end - e.begin)
      fail(where, what + " (" + e.t.dtype + ", shape " + to_string(e.t.shape) + ") needs " + std::to_string(bits / 8) +
                      " bytes but data_offsets span " + std::to_string(e.end - e.begin));
    if (e.end > buffer_size)
      fail(where, what + " data_offsets end " + std::to_string(e.end) + " lies past the data buffer of " +
                      std::to_string(buffer_size) + " bytes");
    // Dense, C order.
    e.t.stride.assign(e.t.shape.size(), 1);
    for (size_t k = e.t.shape.size(); k-- > 1;) e.t.stride[k - 1] = e.t.stride[k] * std::max<int64_t>(e.t.shape[k], 1);
    e.t.file_begin = buffer_begin + e.begin;
    e.t.file_end = buffer_begin + e.end;
    entries.push_back(std::move(e));
  }
  // No gaps, no overlaps, no trailing bytes (spec §2.4 rule 5).
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t expected = 0;
  for (const auto& e : entries) {
    if (e.begin != expected)
      fail(where, "tensor '" + e.name + "' starts at byte " + std::to_string(e.begin) +
                      " of the data buffer, expected " + std::to_string(expected) +
                      (e.begin < expected ? " (overlapping tensors)" : " (gap)"));
    expected = e.end;
  }
  if (expected != buffer_size)
    fail(where,
         "data buffer has " + std::to_string(buffer_size) + " bytes, the tensors use " + std::to_string(expected));
  for (auto& e : entries) tensors_.emplace_back(std::move(e.name), std::move(e.t));
}

// torch.save zip: layout of spec §3.1, safety rules of §3.2.
void TensorFile::parse_torch_zip() {
  const std::string where = "torch.save file " + where_;
  zip_.emplace(std::span<const uint8_t>(bytes_), where_);
  const auto& entries = zip_->entries();
  if (entries.size() > kMaxZipEntries)
    fail(where, std::to_string(entries.size()) + " zip entries (limit " + std::to_string(kMaxZipEntries) + ")");
  if (entries.empty()) fail(where, "empty zip archive");
  const size_t slash = entries[0].name.find('/');
  if (slash == std::string::npos || slash == 0) {
    if (zip_->contains("config.json") || zip_->contains("metadata.json"))
      fail(where, "this is a Keras archive (.keras), not a PyTorch file; use rnnx::load_model");
    fail(where, "zip archive without the torch.save layout (<prefix>/data.pkl); entry '" + entries[0].name + "'");
  }
  prefix_ = entries[0].name.substr(0, slash + 1);
  for (const auto& e : entries) {
    if (e.name.rfind(prefix_, 0) != 0)
      fail(where, "entry '" + e.name + "' lies outside the archive folder '" + prefix_ + "'");
    if (e.name.find("/../") != std::string::npos || e.name.ends_with("/..") || e.name.find('\\') != std::string::npos)
      fail(where, "entry '" + e.name + "' has an unsafe path");
  }
  if (zip_->contains(prefix_ + "constants.pkl") ||
      std::any_of(entries.begin(), entries.end(),
                  [&](const ZipEntryInfo& e) { return e.name.rfind(prefix_ + "code/", 0) == 0; }))
    fail(where, "TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead");
  if (zip_->contains(prefix_ + "byteorder")) {
    const std::vector<uint8_t> order = zip_->read(prefix_ + "byteorder");
    const std::string s(order.begin(), order.end());
    if (s == "big") fail(where, "big-endian storages (byteorder 'big') are not supported");
    if (s != "little") fail(where, "unknown byteorder '" + s.substr(0, 16) + "'");
  }
  const std::string pkl_name = prefix_ + "data.pkl";
  const auto pkl_it =
      std::find_if(entries.begin(), entries.end(), [&](const ZipEntryInfo& e) { return e.name == pkl_name; });
  if (pkl_it == entries.end()) fail(where, "no '" + pkl_name + "' (not a torch.save file)");
  if (pkl_it->uncompressed_size > kMaxPickle)
    fail(where, "data.pkl of " + std::to_string(pkl_it->uncompressed_size) + " bytes exceeds the 64 MiB limit");
  const std::vector<uint8_t> pkl = zip_->read(*pkl_it);
  auto refs = unpickle_state_dict(pkl, where_ + " data.pkl");

  // Every storage: present, of exactly numel * element size bytes, declared consistently.
  std::map<std::string, std::pair<TorchDtype, int64_t>> declared;
  for (const auto& [name, r] : refs) {
    const auto [it, fresh] = declared.emplace(r.storage_key, std::make_pair(r.dtype, r.storage_numel));
    if (!fresh && it->second != std::make_pair(r.dtype, r.storage_numel))
      fail(where, "storage '" + r.storage_key + "' is declared with two different types or sizes");
    if (!fresh) continue;
    const std::string member = prefix_ + "data/" + r.storage_key;
    const auto e =
        std::find_if(entries.begin(), entries.end(), [&](const ZipEntryInfo& x) { return x.name == member; });
    if (e == entries.end()) fail(where, "tensor '" + name + "': storage member '" + member + "' is missing");
    int64_t want = 0;
    if (__builtin_mul_overflow(r.storage_numel, torch_dtype_size(r.dtype), &want) ||
        e->uncompressed_size != static_cast<uint64_t>(want))
      fail(where, "storage member '" + member + "' has " + std::to_string(e->uncompressed_size) + " bytes, expected " +
                      std::to_string(r.storage_numel) + " x " + std::to_string(torch_dtype_size(r.dtype)) + " (" +
                      torch_dtype_name(r.dtype) + ")");
  }
  for (auto& [name, r] : refs) {
    RawTensor t;
    t.dtype = torch_dtype_name(r.dtype);
    t.element_bits = 8 * torch_dtype_size(r.dtype);
    t.shape = r.size;
    t.stride = r.stride;
    t.offset = r.storage_offset;
    t.storage_key = r.storage_key;
    tensors_.emplace_back(name, std::move(t));
  }
}

std::span<const uint8_t> TensorFile::storage(const std::string& key) const {
  auto it = storages_.find(key);
  if (it == storages_.end()) it = storages_.emplace(key, zip_->read(prefix_ + "data/" + key)).first;
  return it->second;
}

Tensor<double> TensorFile::read_float(const std::string& name) const {
  const RawTensor* t = find(name);
  if (!t) fail(where_, "no tensor named '" + name + "'");
  const std::string& dt = t->dtype;
  if (dt != "F32" && dt != "F16" && dt != "BF16" && dt != "F64")
    fail(where_, "tensor '" + name + "' has dtype " + dt + ", expected a float dtype (F32, F16, BF16 or F64)");
  const std::span<const uint8_t> data =
      zip_ ? storage(t->storage_key)
           : std::span<const uint8_t>(bytes_).subspan(static_cast<size_t>(t->file_begin),
                                                      static_cast<size_t>(t->file_end - t->file_begin));
  const int64_t esize = t->element_bits / 8;
  Tensor<double> out(t->shape);
  const size_t rank = t->shape.size();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < out.size(); ++i) {
    int64_t e = t->offset;
    for (size_t k = 0; k < rank; ++k) e += idx[k] * t->stride[k];
    // Bounds were checked when the file was opened; this keeps the read safe regardless.
    if (e < 0 || static_cast<uint64_t>(e + 1) * esize > data.size())
      fail(where_, "tensor '" + name + "' reads past its storage");
    const uint8_t* p = data.data() + e * esize;
    double v = 0;
    if (dt == "F32")
      v = std::bit_cast<float>(static_cast<uint32_t>(read_le(p, 4)));
    else if (dt == "F64")
      v = std::bit_cast<double>(read_le(p, 8));
    else if (dt == "F16")
      v = half_to_double(static_cast<uint16_t>(read_le(p, 2)));
    else  // BF16: the upper half of a float32
      v = std::bit_cast<float>(static_cast<uint32_t>(read_le(p, 2) << 16));
    out[i] = v;
    for (size_t k = rank; k-- > 0;) {
      if (++idx[k] < t->shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

}  // namespace rnnx::detail

namespace rnnx {

namespace {
PyTorchFileInfo info_of(const detail::TensorFile& f) {
  PyTorchFileInfo info;
  info.format = f.format();
  for (const auto& [name, t] : f.tensors()) info.tensors.push_back({name, t.dtype, t.shape});
  return info;
}
}  // namespace

PyTorchFileInfo inspect_pytorch_file(const std::string& path) {
  const detail::TensorFile f(detail::read_file(path), path);
  return info_of(f);
}

PyTorchFileInfo inspect_pytorch_file_in_memory(std::span<const uint8_t> bytes, const std::string& where) {
  const detail::TensorFile f(std::vector<uint8_t>(bytes.begin(), bytes.end()), where);
  return info_of(f);
}

Tensor<double> read_pytorch_tensor(const std::string& path, const std::string& name) {
  const detail::TensorFile f(detail::read_file(path), path);
  return f.read_float(name);
}

}  // namespace rnnx
