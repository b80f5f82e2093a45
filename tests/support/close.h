#pragma once
// Closeness checks that print the worst element: index, both values, abs/rel error.
#include <gtest/gtest.h>

#include <string>

#include "rnnx/core/tensor.h"

namespace rnnx::testing {

struct Tolerance {
  double abs = 1e-5;
  double rel = 1e-4;
};

// Passes when |got - want| <= abs + rel * |want| for every element and the shapes agree.
template <class T, class U>
::testing::AssertionResult all_close(const Tensor<T>& got, const Tensor<U>& want, Tolerance tol = {},
                                     const std::string& what = "");

}  // namespace rnnx::testing
