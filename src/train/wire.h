#pragma once
// Packing values and tensors into bytes for the ranks of one job (internal; data-parallel
// training, data_parallel*.cpp). Every rank runs the same build, so values travel as their
// in-memory bytes; a reader that runs past the end throws CommunicationError.
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/core/tensor.h"

namespace rnnx::detail {

struct WireWriter {
  std::vector<uint8_t> bytes;

  template <class V>
  void put(const V& v) {
    static_assert(std::is_trivially_copyable_v<V>);
    put_raw(&v, sizeof v);
  }
  void put_raw(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + n);
  }
  // Rank, dimensions, values.
  template <class E>
  void put_tensor(const Tensor<E>& t) {
    put<int64_t>(t.rank());
    for (int64_t d : t.shape()) put<int64_t>(d);
    put_raw(t.data(), sizeof(E) * static_cast<size_t>(t.size()));
  }
};

class WireReader {
 public:
  explicit WireReader(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}

  template <class V>
  V get() {
    static_assert(std::is_trivially_copyable_v<V>);
    V v;
    get_raw(&v, sizeof v);
    return v;
  }
  void get_raw(void* out, size_t n) {
    if (n > bytes_.size() - at_)
      throw CommunicationError("data-parallel message: needed " + std::to_string(n) + " more bytes at byte " +
                               std::to_string(at_) + " of " + std::to_string(bytes_.size()) +
                               " (the ranks run different models or builds?)");
    if (n) std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
  }
  template <class E>
  Tensor<E> get_tensor() {
    Shape shape(static_cast<size_t>(get<int64_t>()));
    for (int64_t& d : shape) d = get<int64_t>();
    Tensor<E> t(shape);
    get_raw(t.data(), sizeof(E) * static_cast<size_t>(t.size()));
    return t;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  const std::vector<uint8_t>& bytes_;
  size_t at_ = 0;
};

}  // namespace rnnx::detail
