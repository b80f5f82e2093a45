#pragma once
// Sample bookkeeping for the trainer: counting, slicing, gathering and shuffling samples
// (rows of the first axis), class weights, and concatenating predicted batches.
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/core/tensor.h"

namespace rnnx::detail {

// The common number of samples (first axis) of x, y and sample_weight. ShapeError when they
// disagree, x is empty, or an array has no first axis.
template <class T>
int64_t sample_count(const std::string& where, const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y,
                     const std::optional<Tensor<T>>& sample_weight) {
  if (x.empty()) throw ShapeError(where + ": no input arrays given");
  int64_t n = -1;
  auto check = [&](const Tensor<T>& t, const std::string& what) {
    if (t.rank() < 1)
      throw ShapeError(where + ": " + what + " has no sample axis (shape " + to_string(t.shape()) + ")");
    if (n < 0) n = t.dim(0);
    if (t.dim(0) != n)
      throw ShapeError(where + ": " + what + " has " + std::to_string(t.dim(0)) + " samples, but x[0] has " +
                       std::to_string(n));
  };
  for (size_t i = 0; i < x.size(); ++i) check(x[i], "x[" + std::to_string(i) + "]");
  for (size_t i = 0; i < y.size(); ++i) check(y[i], "y[" + std::to_string(i) + "]");
  if (sample_weight) check(*sample_weight, "sample_weight");
  if (n == 0) throw ShapeError(where + ": the arrays hold no samples");
  return n;
}

// Rows [begin, end) of t.
template <class T>
Tensor<T> slice_rows(const Tensor<T>& t, int64_t begin, int64_t end) {
  Shape s = t.shape();
  const int64_t row = t.dim(0) == 0 ? 0 : t.size() / t.dim(0);
  s[0] = end - begin;
  Tensor<T> out(s);
  if (out.size() > 0) std::memcpy(out.data(), t.data() + begin * row, sizeof(T) * static_cast<size_t>(out.size()));
  return out;
}

template <class T>
std::vector<Tensor<T>> slice_all(const std::vector<Tensor<T>>& ts, int64_t begin, int64_t end) {
  std::vector<Tensor<T>> out;
  for (const auto& t : ts) out.push_back(slice_rows(t, begin, end));
  return out;
}

// Rows order[begin..end) of t, in that order.
template <class T>
Tensor<T> gather_rows(const Tensor<T>& t, const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  Shape s = t.shape();
  const int64_t row = t.dim(0) == 0 ? 0 : t.size() / t.dim(0);
  s[0] = end - begin;
  Tensor<T> out(s);
  for (int64_t i = begin; i < end; ++i)
    std::memcpy(out.data() + (i - begin) * row, t.data() + order[static_cast<size_t>(i)] * row,
                sizeof(T) * static_cast<size_t>(row));
  return out;
}

template <class T>
std::vector<Tensor<T>> gather_all(const std::vector<Tensor<T>>& ts, const std::vector<int64_t>& order, int64_t begin,
                                  int64_t end) {
  std::vector<Tensor<T>> out;
  for (const auto& t : ts) out.push_back(gather_rows(t, order, begin, end));
  return out;
}

// Fisher-Yates with the library's Rng, so a seed gives the same order on every platform.
inline void shuffle(std::vector<int64_t>& order, Rng& rng) {
  for (size_t i = order.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng.below(i));
    std::swap(order[i - 1], order[j]);
  }
}

// Keras class_weight_to_sample_weights: the class of a sample is y itself ([n] or [n, 1],
// rounded) or the argmax of a one-hot row ([n, k]); unknown classes weigh 1.
template <class T>
Tensor<T> class_weight_to_sample_weights(const Tensor<T>& y, const std::map<int64_t, double>& class_weight) {
  const int64_t n = y.dim(0);
  int64_t k = 1;
  if (y.rank() == 2)
    k = y.dim(1);
  else if (y.rank() != 1)
    throw ConfigError("class_weight: targets must have shape [samples], [samples, 1] or [samples, classes], got " +
                      to_string(y.shape()));
  Tensor<T> w(Shape{n}, T(1));
  for (int64_t i = 0; i < n; ++i) {
    int64_t cls = 0;
    if (k == 1) {
      cls = static_cast<int64_t>(std::nearbyint(static_cast<double>(y[i])));
    } else {
      for (int64_t j = 1; j < k; ++j)
        if (y[i * k + j] > y[i * k + cls]) cls = j;
    }
    auto it = class_weight.find(cls);
    if (it != class_weight.end()) w[i] = static_cast<T>(it->second);
  }
  return w;
}

// Output j of the result = parts[0][j], parts[1][j], ... joined along the first axis.
template <class T>
std::vector<Tensor<T>> concat_batches(const std::vector<std::vector<Tensor<T>>>& parts) {
  std::vector<Tensor<T>> out;
  if (parts.empty()) return out;
  for (size_t j = 0; j < parts[0].size(); ++j) {
    Shape s = parts[0][j].shape();
    int64_t rows = 0;
    for (const auto& p : parts) rows += p[j].dim(0);
    s[0] = rows;
    Tensor<T> t(s);
    int64_t at = 0;
    for (const auto& p : parts) {
      std::memcpy(t.data() + at, p[j].data(), sizeof(T) * static_cast<size_t>(p[j].size()));
      at += p[j].size();
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace rnnx::detail
