#pragma once
// Windowed 1-D pooling over the steps axis (K3
// keras/src/layers/pooling/max_pooling1d.py, average_pooling1d.py,
// base_pooling.py), as Keras on TensorFlow computes it (tf.nn.max_pool /
// avg_pool). Global pooling is in pooling.h.
//
// Input: (batch, steps, features) with data_format "channels_last" (default),
// or (batch, features, steps) with "channels_first"; the output has the same
// layout. Windows of pool_size steps move by strides (default: pool_size).
// Output steps: "valid" floor((steps - pool_size) / strides) + 1; "same"
// ceil(steps / strides), with the windows placed as TF pads (left = total / 2).
// Padded positions never take part: MaxPooling1D takes the max of the real
// elements, AveragePooling1D divides by the number of real elements in each
// window (TF's avg_pool, not a zero-padded mean). Masks are not propagated
// (Keras pooling layers do not support masking). Training: MaxPooling1D sends
// each output gradient to the first position holding its window's max (TF's
// MaxPoolGrad); AveragePooling1D spreads it evenly over the window's real
// elements. Overlapping windows add up.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

struct Pooling1DOptions {
  int64_t pool_size = 2;                      // > 0
  int64_t strides = -1;                       // > 0; -1 (Keras None) = pool_size
  std::string padding = "valid";              // or "same"
  std::string data_format = "channels_last";  // or "channels_first"
};

// The machinery both layers share; use MaxPooling1D / AveragePooling1D.
template <class T>
class Pooling1D : public Layer<T> {
 public:
  std::string class_name() const override { return max_ ? "MaxPooling1D" : "AveragePooling1D"; }
  const Pooling1DOptions &options() const { return options_; }
  // The stride in effect (strides, or pool_size when strides is -1).
  int64_t stride() const { return options_.strides > 0 ? options_.strides : options_.pool_size; }

  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 protected:
  // Throws ConfigError for invalid options.
  Pooling1D(bool max, Pooling1DOptions options, std::string name);

 private:
  struct Call {
    Shape input_shape;
    std::vector<int64_t> source;  // max: the input step of each output element (channels_last)
  };
  bool max_;
  Pooling1DOptions options_;
  std::vector<Call> tape_;
};

template <class T>
class MaxPooling1D : public Pooling1D<T> {
 public:
  explicit MaxPooling1D(Pooling1DOptions options = {}, std::string name = "max_pooling1d")
      : Pooling1D<T>(true, std::move(options), std::move(name)) {}
};

template <class T>
class AveragePooling1D : public Pooling1D<T> {
 public:
  explicit AveragePooling1D(Pooling1DOptions options = {}, std::string name = "average_pooling1d")
      : Pooling1D<T>(false, std::move(options), std::move(name)) {}
};

// Keras aliases.
template <class T>
using MaxPool1D = MaxPooling1D<T>;
template <class T>
using AvgPool1D = AveragePooling1D<T>;

extern template class Pooling1D<float>;
extern template class Pooling1D<double>;
extern template class MaxPooling1D<float>;
extern template class MaxPooling1D<double>;
extern template class AveragePooling1D<float>;
extern template class AveragePooling1D<double>;

}  // namespace rnnx
