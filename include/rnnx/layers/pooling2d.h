#pragma once
// Pooling over 2 or 3 spatial axes (K3 keras/src/layers/pooling/max_pooling2d.py,
// average_pooling2d.py, *_pooling3d.py, base_pooling.py, global_*_pooling2d.py,
// global_*_pooling3d.py, base_global_pooling.py), as Keras on TensorFlow computes them.
//
// Windowed pooling: input (batch, spatial..., channels) with data_format "channels_last"
// (default) or (batch, channels, spatial...) with "channels_first"; the output has the same
// layout. Windows of pool_size move by strides (default: pool_size) on every spatial axis,
// with conv2d.h's output-size and padding rules. Padded positions never take part: max takes
// the max of the real elements, average divides by the number of real elements in each
// window (TF's avg_pool). Training: max sends each output gradient to the first position (in
// row-major window order) holding its window's max (TF's MaxPoolGrad); average spreads it
// evenly over the window's real elements; overlapping windows add up.
//
// Global pooling: the max or mean over all spatial axes; output (batch, channels), or with
// keepdims (batch, 1, ..., channels) / (batch, channels, 1, ...). Max's gradient is split
// evenly among the positions that tie for the max (TF's reduce_max gradient).
//
// No layer here supports masking (Keras): none passes a mask on, an incoming mask is ignored.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

// pool_size and strides hold one entry per spatial axis, or one entry for all (Keras accepts
// an int); the layer stores them expanded.
struct PoolingOptions {
  std::vector<int64_t> pool_size{2};          // each > 0
  std::vector<int64_t> strides{};             // each > 0; empty (Keras None) = pool_size
  std::string padding = "valid";              // or "same"
  std::string data_format = "channels_last";  // or "channels_first"
};

// The machinery the windowed pooling layers share; use MaxPooling2D, AveragePooling2D,
// MaxPooling3D, AveragePooling3D.
template <class T>
class PoolingND : public Layer<T> {
 public:
  std::string class_name() const override { return class_name_; }
  // The options with pool_size and strides expanded (strides = pool_size when not given).
  const PoolingOptions& options() const { return options_; }
  bool is_max() const { return max_; }
  int spatial_rank() const { return rank_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 protected:
  // Throws ConfigError for invalid options.
  PoolingND(int rank, bool max, std::string class_name, PoolingOptions options, std::string name);

 private:
  bool channels_first() const { return options_.data_format == "channels_first"; }
  struct Call {
    Shape input_shape;
    std::vector<int64_t> source;  // max: the flat spatial input position of each output element
  };
  int rank_;
  bool max_;
  std::string class_name_;
  PoolingOptions options_;
  std::vector<Call> tape_;
};

template <class T>
class MaxPooling2D : public PoolingND<T> {
 public:
  explicit MaxPooling2D(PoolingOptions options = {}, std::string name = "max_pooling2d")
      : PoolingND<T>(2, true, "MaxPooling2D", std::move(options), std::move(name)) {}
};

template <class T>
class AveragePooling2D : public PoolingND<T> {
 public:
  explicit AveragePooling2D(PoolingOptions options = {}, std::string name = "average_pooling2d")
      : PoolingND<T>(2, false, "AveragePooling2D", std::move(options), std::move(name)) {}
};

template <class T>
class MaxPooling3D : public PoolingND<T> {
 public:
  explicit MaxPooling3D(PoolingOptions options = {}, std::string name = "max_pooling3d")
      : PoolingND<T>(3, true, "MaxPooling3D", std::move(options), std::move(name)) {}
};

template <class T>
class AveragePooling3D : public PoolingND<T> {
 public:
  explicit AveragePooling3D(PoolingOptions options = {}, std::string name = "average_pooling3d")
      : PoolingND<T>(3, false, "AveragePooling3D", std::move(options), std::move(name)) {}
};

struct GlobalPoolingOptions {
  std::string data_format = "channels_last";  // or "channels_first"
  bool keepdims = false;
};

// The machinery the global pooling layers share; use GlobalAveragePooling2D,
// GlobalMaxPooling2D, GlobalAveragePooling3D, GlobalMaxPooling3D.
template <class T>
class GlobalPoolingND : public Layer<T> {
 public:
  std::string class_name() const override { return class_name_; }
  const GlobalPoolingOptions& options() const { return options_; }
  bool is_max() const { return max_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 protected:
  // Throws ConfigError for an unknown data_format.
  GlobalPoolingND(int rank, bool max, std::string class_name, GlobalPoolingOptions options, std::string name);

 private:
  bool channels_first() const { return options_.data_format == "channels_first"; }
  struct Call {
    Shape input_shape;
    Tensor<T> x, y;  // max: input (channels_last) and output [batch, channels]
  };
  int rank_;
  bool max_;
  std::string class_name_;
  GlobalPoolingOptions options_;
  std::vector<Call> tape_;
};

template <class T>
class GlobalAveragePooling2D : public GlobalPoolingND<T> {
 public:
  explicit GlobalAveragePooling2D(GlobalPoolingOptions options = {}, std::string name = "global_average_pooling2d")
      : GlobalPoolingND<T>(2, false, "GlobalAveragePooling2D", std::move(options), std::move(name)) {}
};

template <class T>
class GlobalMaxPooling2D : public GlobalPoolingND<T> {
 public:
  explicit GlobalMaxPooling2D(GlobalPoolingOptions options = {}, std::string name = "global_max_pooling2d")
      : GlobalPoolingND<T>(2, true, "GlobalMaxPooling2D", std::move(options), std::move(name)) {}
};

template <class T>
class GlobalAveragePooling3D : public GlobalPoolingND<T> {
 public:
  explicit GlobalAveragePooling3D(GlobalPoolingOptions options = {}, std::string name = "global_average_pooling3d")
      : GlobalPoolingND<T>(3, false, "GlobalAveragePooling3D", std::move(options), std::move(name)) {}
};

template <class T>
class GlobalMaxPooling3D : public GlobalPoolingND<T> {
 public:
  explicit GlobalMaxPooling3D(GlobalPoolingOptions options = {}, std::string name = "global_max_pooling3d")
      : GlobalPoolingND<T>(3, true, "GlobalMaxPooling3D", std::move(options), std::move(name)) {}
};

// Keras aliases.
template <class T>
using MaxPool2D = MaxPooling2D<T>;
template <class T>
using AvgPool2D = AveragePooling2D<T>;
template <class T>
using GlobalAvgPool2D = GlobalAveragePooling2D<T>;
template <class T>
using GlobalMaxPool2D = GlobalMaxPooling2D<T>;

extern template class PoolingND<float>;
extern template class PoolingND<double>;
extern template class GlobalPoolingND<float>;
extern template class GlobalPoolingND<double>;

}  // namespace rnnx
