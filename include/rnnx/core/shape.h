#pragma once
// Shapes in Keras order: [batch, steps, features]. A dimension of -1 means "unknown"
// (Keras `None`), used only before a model sees data.
#include <cstdint>
#include <string>
#include <vector>

namespace rnnx {

using Shape = std::vector<int64_t>;

// "[2, 5, 3]", with "None" for unknown dimensions.
std::string to_string(const Shape& shape);

// Product of all dimensions; requires every dimension >= 0.
int64_t num_elements(const Shape& shape);

}  // namespace rnnx
