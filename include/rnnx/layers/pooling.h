#pragma once
// Global 1-D pooling over the steps axis (K3 keras/src/layers/pooling/global_*_pooling1d.py).
//
// Input: (batch, steps, features) with data_format "channels_last" (default) or
// (batch, features, steps) with "channels_first". Output: (batch, features), or with
// keepdims (batch, 1, features) / (batch, features, 1). Neither passes a mask on.
//
// GlobalMaxPooling1D ignores masks (spec §4.6): padded steps enter the max.
// GlobalAveragePooling1D is mask-aware: with a (batch, steps) mask m it returns
// Σ_t x_t·m_t / Σ_t m_t (a fully masked sample gives 0/0 = NaN, as in Keras); without a mask
// the plain mean over the steps.
//
// Training: a training-mode call keeps what backward needs. GlobalMaxPooling1D sends each
// output gradient to the steps that hold the max, split evenly among ties (TF's reduce_max
// gradient, which Keras uses; a NaN max gives NaN gradients for that feature);
// GlobalAveragePooling1D sends dy * m_t / Σ_t m_t to step t (dy / steps without a mask).
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

struct GlobalPooling1DOptions {
  std::string data_format = "channels_last";  // or "channels_first"
  bool keepdims = false;
};

// The pooling shared by both layers; use GlobalMaxPooling1D / GlobalAveragePooling1D.
template <class T>
class GlobalPooling1D : public Layer<T> {
 public:
  std::string class_name() const override { return class_name_; }
  const GlobalPooling1DOptions& options() const { return options_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  void clear_tape() override { tape_.clear(); }

 protected:
  // Throws ConfigError for an unknown data_format.
  GlobalPooling1D(std::string class_name, GlobalPooling1DOptions options, std::string name);

  // Validates the call and returns the input; fills the geometry below.
  struct Geometry {
    int64_t batch = 0, steps = 0, features = 0;
    int64_t step_stride = 0, feature_stride = 0;  // element strides inside one sample
  };
  const Tensor<T>& check_call(const LayerInputs<T>& in, Geometry& g);
  Shape output_shape(const Shape& input_shape) const;
  bool channels_first() const { return options_.data_format == "channels_first"; }

  // One training call: the input's geometry, plus the input and output (max) or the mask
  // (average, empty = none).
  struct Call {
    Shape shape;
    Geometry g;
    Tensor<T> x, y;
    Mask mask;
  };
  // Pops the most recent call after checking grad_outputs against it (layer.h contract).
  Call pop_call(const std::vector<Tensor<T>>& grad_outputs);
  std::vector<Call> tape_;

 private:
  std::string class_name_;
  GlobalPooling1DOptions options_;
};

template <class T>
class GlobalMaxPooling1D : public GlobalPooling1D<T> {
 public:
  explicit GlobalMaxPooling1D(GlobalPooling1DOptions options = {}, std::string name = "global_max_pooling1d")
      : GlobalPooling1D<T>("GlobalMaxPooling1D", std::move(options), std::move(name)) {}
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
};

template <class T>
class GlobalAveragePooling1D : public GlobalPooling1D<T> {
 public:
  explicit GlobalAveragePooling1D(GlobalPooling1DOptions options = {}, std::string name = "global_average_pooling1d")
      : GlobalPooling1D<T>("GlobalAveragePooling1D", std::move(options), std::move(name)) {}
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
};

// Keras aliases.
template <class T>
using GlobalMaxPool1D = GlobalMaxPooling1D<T>;
template <class T>
using GlobalAvgPool1D = GlobalAveragePooling1D<T>;

extern template class GlobalPooling1D<float>;
extern template class GlobalPooling1D<double>;
extern template class GlobalMaxPooling1D<float>;
extern template class GlobalMaxPooling1D<double>;
extern template class GlobalAveragePooling1D<float>;
extern template class GlobalAveragePooling1D<double>;

}  // namespace rnnx
