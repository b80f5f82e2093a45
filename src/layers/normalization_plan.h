#pragma once
// Index bookkeeping of the normalisation layers (internal; not installed):
// which axes a layer normalises over, and for every element of an input which
// statistics group and which parameter entry it belongs to.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/core/shape.h"

namespace rnnx::detail {

// `axes` (negative counts from the end) as sorted, distinct, non-negative axes
// of `shape`. ShapeError naming the layer for an axis outside the input's rank,
// or (unless `allow_batch`) the batch axis 0.
inline std::vector<int64_t> resolve_axes(const std::string &where, const std::vector<int64_t> &axes, const Shape &shape,
                                         bool allow_batch = false) {
  const auto rank = static_cast<int64_t>(shape.size());
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    const int64_t r = a < 0 ? a + rank : a;
    if (r < 0 || r >= rank || (r == 0 && !allow_batch))
      throw ShapeError(where + ": axis " + std::to_string(a) + " is out of bounds for an input of rank " +
                       std::to_string(rank) + (allow_batch ? "" : " (axes 1.." + std::to_string(rank - 1) + ")") +
                       " (input shape " + to_string(shape) + ")");
    out.push_back(r);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// For each element (row-major) of a tensor of `shape`: `outer` = its row-major
// index over the axes NOT in `axes` (its statistics group when normalising over
// `axes`), `inner` = its row-major index over `axes` (its parameter entry).
// Returns the number of outer groups. Requires: `axes` sorted and valid for
// `shape`, every dimension known.
inline int64_t axis_plan(const Shape &shape, const std::vector<int64_t> &axes, std::vector<int64_t> &outer,
                         std::vector<int64_t> &inner) {
  const size_t rank = shape.size();
  std::vector<bool> in_axes(rank, false);
  for (int64_t a : axes) in_axes[static_cast<size_t>(a)] = true;
  int64_t total = 1, groups = 1;
  for (size_t d = 0; d < rank; ++d) {
    total *= shape[d];
    if (!in_axes[d]) groups *= shape[d];
  }
  outer.resize(static_cast<size_t>(total));
  inner.resize(static_cast<size_t>(total));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t o = 0, n = 0;
    for (size_t d = 0; d < rank; ++d) {
      if (in_axes[d])
        n = n * shape[d] + idx[d];
      else
        o = o * shape[d] + idx[d];
    }
    outer[static_cast<size_t>(i)] = o;
    inner[static_cast<size_t>(i)] = n;
    for (size_t d = rank; d-- > 0;) {  // advance the multi-index
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return groups;
}

}  // namespace rnnx::detail
