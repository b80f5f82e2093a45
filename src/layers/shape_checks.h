#pragma once
// Shape checks shared by the non-recurrent layers (internal; not installed). Every message
// starts with the layer's "<ClassName> '<name>'" prefix and ends with the shape it got.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"

namespace rnnx::detail {

// Throws ShapeError unless exactly `count` positional inputs were given.
inline void expect_input_count(const std::string& where, size_t got, size_t count) {
  if (got != count)
    throw ShapeError(where + ": expected " + std::to_string(count) + " input" + (count == 1 ? "" : "s") + ", got " +
                     std::to_string(got));
}

// Throws ShapeError unless `shape` has exactly `rank` dimensions; `layout` describes them,
// e.g. "(batch, steps, features)".
inline void expect_rank(const std::string& where, const Shape& shape, size_t rank, const std::string& layout) {
  if (shape.size() != rank)
    throw ShapeError(where + ": expected a " + std::to_string(rank) + "-D input " + layout + ", got shape " +
                     to_string(shape));
}

// Throws ShapeError unless `shape` has at least `rank` dimensions.
inline void expect_min_rank(const std::string& where, const Shape& shape, size_t rank, const std::string& layout) {
  if (shape.size() < rank)
    throw ShapeError(where + ": expected an input of rank >= " + std::to_string(rank) + " " + layout + ", got shape " +
                     to_string(shape));
}

// True when two dimensions can be the same at run time (-1 = unknown matches anything).
inline bool dims_compatible(int64_t a, int64_t b) { return a < 0 || b < 0 || a == b; }

// Product of shape[from:], -1 if any of those dimensions is unknown.
inline int64_t trailing_size(const Shape& shape, size_t from) {
  int64_t n = 1;
  for (size_t i = from; i < shape.size(); ++i) {
    if (shape[i] < 0) return -1;
    n *= shape[i];
  }
  return n;
}

// Pointers to the positional inputs of a call; throws ShapeError naming the layer if one is
// null (a caller bug surfacing at the boundary).
template <class T>
const Tensor<T>& input_at(const std::string& where, const std::vector<const Tensor<T>*>& inputs, size_t i) {
  if (i >= inputs.size() || inputs[i] == nullptr)
    throw ShapeError(where + ": positional input " + std::to_string(i) + " is missing");
  return *inputs[i];
}

// The shapes of all positional inputs of a call (ShapeError as input_at for a null one).
template <class T>
std::vector<Shape> input_shapes(const std::string& where, const std::vector<const Tensor<T>*>& inputs) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < inputs.size(); ++i) shapes.push_back(input_at(where, inputs, i).shape());
  return shapes;
}

}  // namespace rnnx::detail
