#pragma once
// The gradient of a weight that is read by row lookups (Embedding), kept in the form
// TensorFlow gives it (tf.IndexedSlices): one row per lookup, in lookup order, and a row
// looked up twice appears twice (not summed). Keras 3 on the TensorFlow backend hands this
// to the optimizer, whose squares and norms then work on each row separately (see
// train/optimizer.h, RowGradients).
//
// Contract: `indices[k]` is the weight row of lookup k; `values` holds the gradients of the
// lookups one after another, row_size numbers each (values.size() == indices.size() ·
// row_size). The dense gradient is the sum of the rows at their indices.
#include <cstdint>
#include <vector>

namespace rnnx {

template <class T>
struct IndexedSlices {
  int64_t row_size = 0;
  std::vector<int64_t> indices;
  std::vector<T> values;

  void clear() {
    indices.clear();
    values.clear();
  }
  // Appends the gradient `row` (row_size numbers) of a lookup of weight row `index`.
  void append(int64_t index, const T* row) {
    indices.push_back(index);
    values.insert(values.end(), row, row + row_size);
  }
};

}  // namespace rnnx
