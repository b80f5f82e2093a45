// Native training checkpoints (format in include/rnnx/io/checkpoint.h).
#include "rnnx/io/checkpoint.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "io/file_io.h"
#include "io/zip.h"
#include "rnnx/core/error.h"

namespace rnnx {
namespace {

static_assert(std::endian::native == std::endian::little, "checkpoints are written little-endian by memcpy");

constexpr char kMagic[8] = {'R', 'N', 'N', 'X', 'C', 'K', 'P', 'T'};
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8;
constexpr uint32_t kMaxRank = 32;
constexpr size_t kRngBytes = 4 * 8 + 1 + 8;

class Writer {
 public:
  template <class V>
  void put(V v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(V));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  void put_rng(const Rng::State& rng) {
    for (uint64_t w : rng.words) put<uint64_t>(w);
    put<uint8_t>(rng.has_spare ? 1 : 0);
    put<double>(rng.spare);
  }
  template <class T>
  void put_tensors(const std::vector<NamedTensor<T>>& ts) {
    put<uint32_t>(static_cast<uint32_t>(ts.size()));
    for (const auto& t : ts) {
      put_string(t.name);
      put<uint32_t>(static_cast<uint32_t>(t.value.rank()));
      for (int64_t d : t.value.shape()) put<int64_t>(d);
      const auto* p = reinterpret_cast<const uint8_t*>(t.value.data());
      out.insert(out.end(), p, p + static_cast<size_t>(t.value.size()) * sizeof(T));
    }
  }
  std::vector<uint8_t> out;
};

// Bounds-checked reading of the body; every failure names the file and the field.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, std::string where) : p_(data), left_(size), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& what) const { throw FormatError(where_ + ": " + what); }

  template <class V>
  V get(const char* what) {
    need(sizeof(V), what);
    V v;
    std::memcpy(&v, p_, sizeof(V));
    advance(sizeof(V));
    return v;
  }
  std::string get_string(const char* what) {
    const uint64_t n = get<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    advance(static_cast<size_t>(n));
    return s;
  }
  // A count of items each at least `min_item_bytes` long, checked against what is left.
  uint32_t get_count(const char* what, size_t min_item_bytes) {
    const uint32_t n = get<uint32_t>(what);
    if (static_cast<uint64_t>(n) * min_item_bytes > left_)
      fail(std::string(what) + ": count " + std::to_string(n) + " does not fit in the " + std::to_string(left_) +
           " bytes left (truncated or corrupt)");
    return n;
  }
  template <class T>
  std::vector<NamedTensor<T>> get_tensors(const char* section) {
    std::vector<NamedTensor<T>> out;
    const uint32_t n = get_count(section, 8 + 4);
    for (uint32_t i = 0; i < n; ++i) {
      const std::string what = std::string(section) + " entry " + std::to_string(i);
      NamedTensor<T> t;
      t.name = get_string(what.c_str());
      const uint32_t rank = get<uint32_t>(what.c_str());
      if (rank > kMaxRank) fail(what + " '" + t.name + "': rank " + std::to_string(rank) + " (at most 32)");
      Shape shape;
      uint64_t count = 1;
      for (uint32_t r = 0; r < rank; ++r) {
        const int64_t d = get<int64_t>(what.c_str());
        if (d < 0) fail(what + " '" + t.name + "': negative dimension " + std::to_string(d));
        shape.push_back(d);
        if (d != 0 && count > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d))
          fail(what + " '" + t.name + "': absurd shape " + to_string(shape));
        count *= static_cast<uint64_t>(d);
      }
      if (count > left_ / sizeof(T))
        fail(what + " '" + t.name + "': shape " + to_string(shape) + " needs " + std::to_string(count * sizeof(T)) +
             " bytes, only " + std::to_string(left_) + " left (truncated or corrupt)");
      t.value = Tensor<T>(shape);
      std::memcpy(t.value.data(), p_, static_cast<size_t>(count) * sizeof(T));
      advance(static_cast<size_t>(count) * sizeof(T));
      out.push_back(std::move(t));
    }
    return out;
  }
  Rng::State get_rng(const std::string& what) {
    Rng::State rng;
    bool any = false;
    for (uint64_t& w : rng.words) {
      w = get<uint64_t>(what.c_str());
      any = any || w != 0;
    }
    if (!any) fail(what + " is all zeros (invalid for xoshiro256**)");
    const uint8_t spare = get<uint8_t>(what.c_str());
    if (spare > 1) fail(what + ": has_spare flag is " + std::to_string(spare));
    rng.has_spare = spare == 1;
    rng.spare = get<double>(what.c_str());
    return rng;
  }
  size_t left() const { return left_; }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > left_)
      fail(std::string(what) + ": needs " + std::to_string(n) + " bytes, only " + std::to_string(left_) +
           " left (truncated or corrupt)");
  }
  void advance(size_t n) {
    p_ += n;
    left_ -= n;
  }
  const uint8_t* p_;
  size_t left_;
  std::string where_;
};

}  // namespace

template <class T>
std::vector<uint8_t> serialize_checkpoint(const Checkpoint<T>& ck) {
  Writer body;
  body.put<int64_t>(ck.epoch);
  body.put<int64_t>(ck.step);
  body.put_rng(ck.rng);
  body.put<uint32_t>(static_cast<uint32_t>(ck.layer_rngs.size()));
  for (const auto& r : ck.layer_rngs) {
    body.put_string(r.name);
    body.put_rng(r.state);
  }
  body.put_string(ck.model_config);
  body.put<uint32_t>(static_cast<uint32_t>(ck.scalars.size()));
  for (const auto& [name, value] : ck.scalars) {
    body.put_string(name);
    body.put<double>(value);
  }
  body.put_tensors(ck.weights);
  body.put_tensors(ck.optimizer_tensors);

  Writer file;
  file.out.insert(file.out.end(), kMagic, kMagic + 8);
  file.put<uint32_t>(kCheckpointVersion);
  file.put<uint32_t>(sizeof(T));
  file.put<uint64_t>(body.out.size());
  file.out.insert(file.out.end(), body.out.begin(), body.out.end());
  file.put<uint32_t>(detail::crc32_of(file.out));
  return file.out;
}

template <class T>
Checkpoint<T> parse_checkpoint(const std::vector<uint8_t>& bytes, const std::string& where) {
  auto fail = [&](const std::string& what) -> void { throw FormatError(where + ": " + what); };
  if (bytes.size() < kHeaderBytes + 4)
    fail("not an rnnx checkpoint: " + std::to_string(bytes.size()) + " bytes is shorter than the header");
  if (std::memcmp(bytes.data(), kMagic, 8) != 0) fail("not an rnnx checkpoint (wrong magic)");
  Reader header(bytes.data() + 8, kHeaderBytes - 8, where);
  const uint32_t version = header.get<uint32_t>("version");
  const uint32_t scalar = header.get<uint32_t>("scalar size");
  const uint64_t body_size = header.get<uint64_t>("body size");
  if (version != kCheckpointVersion)
    fail("checkpoint format version " + std::to_string(version) + " is not supported (this rnnx reads version " +
         std::to_string(kCheckpointVersion) + ")");
  if (scalar != 4 && scalar != 8) fail("scalar size " + std::to_string(scalar) + " (expected 4 or 8)");
  if (scalar != sizeof(T))
    fail(std::string("the checkpoint holds ") + (scalar == 4 ? "float32" : "float64") + " values, read as " +
         (sizeof(T) == 4 ? "float32" : "float64"));
  if (body_size != bytes.size() - kHeaderBytes - 4)
    fail("body size " + std::to_string(body_size) + " does not match the file (" +
         std::to_string(bytes.size() - kHeaderBytes - 4) + " bytes present): truncated or corrupt");
  uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - 4, 4);
  const uint32_t crc = detail::crc32_of(std::span<const uint8_t>(bytes.data(), bytes.size() - 4));
  if (crc != stored_crc) fail("CRC mismatch (the file is corrupt)");

  Reader r(bytes.data() + kHeaderBytes, static_cast<size_t>(body_size), where);
  Checkpoint<T> ck;
  ck.epoch = r.get<int64_t>("epoch");
  ck.step = r.get<int64_t>("step");
  if (ck.epoch < 0 || ck.step < 0) fail("negative epoch or step");
  ck.rng = r.get_rng("the RNG state");
  const uint32_t nr = r.get_count("layer rngs", 8 + kRngBytes);
  for (uint32_t i = 0; i < nr; ++i) {
    NamedRngState named;
    named.name = r.get_string("layer rng name");
    named.state = r.get_rng("the RNG state of layer '" + named.name + "'");
    ck.layer_rngs.push_back(std::move(named));
  }
  ck.model_config = r.get_string("model config");
  const uint32_t ns = r.get_count("scalars", 8 + 8);
  for (uint32_t i = 0; i < ns; ++i) {
    std::string name = r.get_string("scalar name");
    const double v = r.get<double>("scalar value");
    if (!ck.scalars.emplace(std::move(name), v).second) fail("scalar " + std::to_string(i) + " repeats a name");
  }
  ck.weights = r.get_tensors<T>("weights");
  ck.optimizer_tensors = r.get_tensors<T>("optimizer tensors");
  if (r.left() != 0) fail(std::to_string(r.left()) + " unexpected bytes after the last section");
  return ck;
}

template <class T>
void write_checkpoint(const std::string& path, const Checkpoint<T>& ck) {
  detail::write_file_atomic(path, serialize_checkpoint(ck));
}

template <class T>
Checkpoint<T> read_checkpoint(const std::string& path) {
  return parse_checkpoint<T>(detail::read_file(path), "checkpoint '" + path + "'");
}

template <class T>
std::vector<NamedTensor<T>> capture_weights(Layer<T>& model) {
  std::vector<NamedTensor<T>> out;
  for (const auto& p : model.params()) out.push_back({p.name, *p.value});
  return out;
}

template <class T>
void restore_weights(Layer<T>& model, const std::vector<NamedTensor<T>>& weights) {
  auto params = model.params();
  const std::string where = "model '" + model.name() + "'";
  // Pairwise first, so a different model is reported by its first differing weight.
  const size_t common = std::min(params.size(), weights.size());
  for (size_t i = 0; i < common; ++i) {
    if (params[i].name != weights[i].name)
      throw FormatError(where + ": weight " + std::to_string(i) + " is '" + params[i].name +
                        "' but the checkpoint has '" + weights[i].name + "'");
    if (params[i].value->shape() != weights[i].value.shape())
      throw FormatError(where + ": weight '" + params[i].name + "' has shape " + to_string(params[i].value->shape()) +
                        ", the checkpoint has " + to_string(weights[i].value.shape()));
  }
  if (params.size() != weights.size())
    throw FormatError(where + ": the checkpoint holds " + std::to_string(weights.size()) + " weights, the model has " +
                      std::to_string(params.size()) + " (first unmatched: " +
                      (params.size() > common ? "the model's '" + params[common].name + "'"
                                              : "the checkpoint's '" + weights[common].name + "'") +
                      ")");
  for (size_t i = 0; i < params.size(); ++i) *params[i].value = weights[i].value;
}

template std::vector<uint8_t> serialize_checkpoint<float>(const Checkpoint<float>&);
template Checkpoint<float> parse_checkpoint<float>(const std::vector<uint8_t>&, const std::string&);
template void write_checkpoint<float>(const std::string&, const Checkpoint<float>&);
template Checkpoint<float> read_checkpoint<float>(const std::string&);
template std::vector<NamedTensor<float>> capture_weights<float>(Layer<float>&);
template void restore_weights<float>(Layer<float>&, const std::vector<NamedTensor<float>>&);
template std::vector<uint8_t> serialize_checkpoint<double>(const Checkpoint<double>&);
template Checkpoint<double> parse_checkpoint<double>(const std::vector<uint8_t>&, const std::string&);
template void write_checkpoint<double>(const std::string&, const Checkpoint<double>&);
template Checkpoint<double> read_checkpoint<double>(const std::string&);
template std::vector<NamedTensor<double>> capture_weights<double>(Layer<double>&);
template void restore_weights<double>(Layer<double>&, const std::vector<NamedTensor<double>>&);

}  // namespace rnnx
