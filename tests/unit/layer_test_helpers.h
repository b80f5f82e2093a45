#pragma once
// Helpers shared by layers_test.cpp, models_test.cpp and layer_errors_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <typeinfo>

#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/core/tensor.h"
#include "rnnx/layers/layer.h"

namespace rnnx::test {

// Values uniform in [lo, hi) from Rng(seed).
template <class T = float>
Tensor<T> random_tensor(Shape shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Tensor<T> t(std::move(shape));
  Rng rng(seed);
  for (auto& v : t.values()) v = static_cast<T>(rng.uniform(lo, hi));
  return t;
}

// Passes when f() throws exactly an E (or a subclass) whose what() equals `message`.
template <class E, class F>
::testing::AssertionResult throws_with(F&& f, const std::string& message) {
  try {
    f();
  } catch (const E& e) {
    if (std::string(e.what()) == message) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "message\n  got:      " << e.what() << "\n  expected: " << message;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw " << typeid(e).name() << " instead: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw; expected: " << message;
}

// One call with a mask; returns the layer outputs.
template <class T>
LayerOutputs<T> call_with_mask(Layer<T>& layer, const Tensor<T>& x, const Mask* mask, Mode mode = Mode::inference) {
  LayerInputs<T> in;
  in.inputs = {&x};
  in.mask = mask;
  in.mode = mode;
  return layer.call(in);
}

// One call on several positional inputs with their masks (entries may be null).
template <class T>
LayerOutputs<T> call_merge(Layer<T>& layer, std::vector<const Tensor<T>*> inputs, std::vector<const Mask*> masks = {}) {
  LayerInputs<T> in;
  in.inputs = std::move(inputs);
  in.input_masks = std::move(masks);
  if (!in.input_masks.empty()) in.mask = in.input_masks[0];
  return layer.call(in);
}

// A (batch, steps) mask with the first lengths[b] steps of sample b set.
inline Mask prefix_mask(int64_t batch, int64_t steps, const std::vector<int64_t>& lengths) {
  Mask m({batch, steps});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < lengths[static_cast<size_t>(b)]; ++t) m[b * steps + t] = 1;
  return m;
}

}  // namespace rnnx::test
