#pragma once
// 1-D convolutions over the steps axis (K3
// keras/src/layers/convolutional/conv1d.py, depthwise_conv1d.py,
// separable_conv1d.py, base_*conv.py), as Keras on TensorFlow computes them.
//
// Input: (batch, steps, channels) with data_format "channels_last" (default),
// or (batch, channels, steps) with "channels_first"; the output has the same
// layout. Output steps: "valid" floor((steps - span) / strides) + 1 with span =
// (kernel_size - 1) * dilation_rate + 1; "same" ceil(steps / strides), zero
// padding split as TensorFlow does (left = total / 2, the odd one on the
// right); "causal" (Conv1D only) pads span - 1 zeros on the left, then "valid".
//
// Weights (Keras order):
//   Conv1D           kernel [kernel_size, channels / groups, filters], bias
//   [filters] DepthwiseConv1D  kernel [kernel_size, channels,
//   depth_multiplier],
//                    bias [channels * depth_multiplier]; output channel c * dm
//                    + m is input channel c filtered by kernel[:, c, m]
//   SeparableConv1D  depthwise_kernel [kernel_size, channels,
//   depth_multiplier],
//                    pointwise_kernel [1, channels * depth_multiplier,
//                    filters], bias [filters]
// Requires: rank-3 inputs whose channel count is known (and divisible by
// groups); strides > 1 together with dilation_rate > 1 is refused, as Keras
// refuses it (ConfigError). Ensures: y = activation(conv(x) + bias). Masks are
// not propagated: Keras 3 conv layers do not support masking (the incoming mask
// is dropped with a warning), so the output has none. Training: a training-mode
// call keeps its input (channels_last) and, for a non-linear activation, its
// pre-activation and output; backward accumulates every weight gradient and
// returns dx. The arithmetic is im2col + kernels::gemm (layers never call
// BLAS).
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/activations.h"
#include "rnnx/initializers.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

// Geometry shared by the three layers (Keras argument names and defaults).
struct Conv1DGeometryOptions {
  int64_t kernel_size = 0;                    // required, > 0
  int64_t strides = 1;                        // > 0
  std::string padding = "valid";              // "valid", "same", "causal" (Conv1D only)
  std::string data_format = "channels_last";  // or "channels_first"
  int64_t dilation_rate = 1;                  // > 0
};

struct Conv1DOptions : Conv1DGeometryOptions {
  int64_t filters = 0;  // required, > 0, divisible by groups
  int64_t groups = 1;
  Activation activation{};
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::from_name("glorot_uniform");
  Initializer bias_initializer = Initializer::from_name("zeros");
  Regularizer kernel_regularizer{}, bias_regularizer{}, activity_regularizer{};
  Constraint kernel_constraint{}, bias_constraint{};
};

struct DepthwiseConv1DOptions : Conv1DGeometryOptions {
  int64_t depth_multiplier = 1;
  Activation activation{};
  bool use_bias = true;
  Initializer depthwise_initializer = Initializer::from_name("glorot_uniform");
  Initializer bias_initializer = Initializer::from_name("zeros");
  Regularizer depthwise_regularizer{}, bias_regularizer{}, activity_regularizer{};
  Constraint depthwise_constraint{}, bias_constraint{};
};

struct SeparableConv1DOptions : Conv1DGeometryOptions {
  int64_t depth_multiplier = 1;
  int64_t filters = 0;  // required, > 0
  Activation activation{};
  bool use_bias = true;
  Initializer depthwise_initializer = Initializer::from_name("glorot_uniform");
  Initializer pointwise_initializer = Initializer::from_name("glorot_uniform");
  Initializer bias_initializer = Initializer::from_name("zeros");
  Regularizer depthwise_regularizer{}, pointwise_regularizer{}, bias_regularizer{}, activity_regularizer{};
  Constraint depthwise_constraint{}, pointwise_constraint{}, bias_constraint{};
};

// The machinery the three classes share; use Conv1D / DepthwiseConv1D /
// SeparableConv1D.
template <class T>
class ConvLayer1D : public Layer<T> {
 public:
  std::string class_name() const override { return class_name_; }
  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }
  std::vector<Param<T>> params() override;
  Regularizer activity_regularizer() const override { return activity_; }
  const Conv1DGeometryOptions &geometry() const { return geometry_; }

 protected:
  // `depth_multiplier` > 0 makes a depthwise stage (groups = channels, its own
  // kernel, no bias of its own); `filters` > 0 makes a full convolution stage
  // after it (pointwise with kernel_size 1 when there is a depthwise stage).
  // Throws ConfigError for invalid options.
  ConvLayer1D(std::string class_name, std::string name, const Conv1DGeometryOptions &geometry, int64_t depth_multiplier,
              int64_t filters, int64_t groups, const Activation &activation, bool use_bias,
              const Regularizer &activity);

  // One weight the subclass declares: its Keras name, initializer, regularizer,
  // constraint.
  struct WeightSpec {
    std::string name;
    Initializer initializer;
    Regularizer regularizer;
    Constraint constraint;
  };
  // Set by the subclass constructor: the depthwise kernel (if any), the full
  // kernel (if any), then the bias (if use_bias), in Keras order.
  std::vector<WeightSpec> specs_;

 private:
  int64_t check_input(const std::vector<Shape> &input_shapes) const;  // returns channels (-1 unknown)
  int64_t out_channels(int64_t channels) const;

  struct Call {
    Shape input_shape;
    Tensor<T> x;    // input, channels_last
    Tensor<T> mid;  // depthwise output (separable only)
    Tensor<T> z;    // pre-activation (non-linear element-wise activations)
    Tensor<T> y;    // output, channels_last (non-linear activations)
  };

  std::string class_name_;
  Conv1DGeometryOptions geometry_;
  int64_t depth_multiplier_ = 0, filters_ = 0, groups_ = 1;
  Activation activation_;
  bool use_bias_ = true;
  Regularizer activity_;
  int64_t channels_ = -1;
  std::vector<Tensor<T>> weights_, grads_;  // parallel to specs_
  std::vector<Call> tape_;
};

template <class T>
class Conv1D : public ConvLayer1D<T> {
 public:
  explicit Conv1D(Conv1DOptions options, std::string name = "conv1d");
  const Conv1DOptions &options() const { return options_; }

 private:
  Conv1DOptions options_;
};

template <class T>
class DepthwiseConv1D : public ConvLayer1D<T> {
 public:
  explicit DepthwiseConv1D(DepthwiseConv1DOptions options, std::string name = "depthwise_conv1d");
  const DepthwiseConv1DOptions &options() const { return options_; }

 private:
  DepthwiseConv1DOptions options_;
};

template <class T>
class SeparableConv1D : public ConvLayer1D<T> {
 public:
  explicit SeparableConv1D(SeparableConv1DOptions options, std::string name = "separable_conv1d");
  const SeparableConv1DOptions &options() const { return options_; }

 private:
  SeparableConv1DOptions options_;
};

// Keras aliases.
template <class T>
using Convolution1D = Conv1D<T>;
template <class T>
using SeparableConvolution1D = SeparableConv1D<T>;

extern template class ConvLayer1D<float>;
extern template class ConvLayer1D<double>;
extern template class Conv1D<float>;
extern template class Conv1D<double>;
extern template class DepthwiseConv1D<float>;
extern template class DepthwiseConv1D<double>;
extern template class SeparableConv1D<float>;
extern template class SeparableConv1D<double>;

}  // namespace rnnx
