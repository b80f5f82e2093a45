#pragma once
// 2-D convolution over image rows and columns (K3 keras/src/layers/convolutional/conv2d.py,
// base_conv.py), as Keras on TensorFlow computes it; Conv3D (conv3d.h) is the same layer over
// three spatial axes. Typical use in recurrent models: TimeDistributed(Conv2D) over frame
// sequences (batch, time, rows, cols, channels).
//
// Input: (batch, rows, cols, channels) with data_format "channels_last" (default), or
// (batch, channels, rows, cols) with "channels_first"; the output has the same layout. Each
// spatial axis follows TF's rules independently: "valid" floor((n - span) / stride) + 1 with
// span = (k - 1) * dilation + 1; "same" ceil(n / stride), zero padding split as TF does (the
// odd element on the bottom / right).
//
// Weights (Keras order): kernel [k_rows, k_cols, channels / groups, filters], bias [filters].
// Requires: an input of rank spatial + 2 whose channel count is known and divisible by
// groups; any stride > 1 together with any dilation > 1 is refused, as Keras refuses it
// (ConfigError). Ensures: y = activation(conv(x) + bias). Masks are not propagated: Keras 3
// conv layers do not support masking, so the output has none. Training: a training-mode call
// keeps its input (channels_last) and, for a non-linear activation, its pre-activation and
// output; backward accumulates every weight gradient and returns dx. The arithmetic is im2col
// + kernels::gemm (src/layers/conv_nd_math.h; layers never call BLAS).
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/activations.h"
#include "rnnx/initializers.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

// Conv2D / Conv3D arguments (Keras names and defaults). kernel_size, strides and
// dilation_rate hold one entry per spatial axis, or one entry meaning "the same on every
// axis" (Keras accepts an int); the layer stores them expanded.
struct ConvOptions {
  int64_t filters = 0;                        // required, > 0, divisible by groups
  std::vector<int64_t> kernel_size;           // required, each > 0
  std::vector<int64_t> strides{1};            // each > 0
  std::string padding = "valid";              // or "same"
  std::string data_format = "channels_last";  // or "channels_first"
  std::vector<int64_t> dilation_rate{1};      // each > 0
  int64_t groups = 1;
  Activation activation{};
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::from_name("glorot_uniform");
  Initializer bias_initializer = Initializer::from_name("zeros");
  Regularizer kernel_regularizer{}, bias_regularizer{}, activity_regularizer{};
  Constraint kernel_constraint{}, bias_constraint{};
};
using Conv2DOptions = ConvOptions;
using Conv3DOptions = ConvOptions;

// The machinery Conv2D and Conv3D share; use those.
template <class T>
class ConvND : public Layer<T> {
 public:
  std::string class_name() const override { return class_name_; }
  // The options with kernel_size / strides / dilation_rate expanded to one entry per axis.
  const ConvOptions& options() const { return options_; }
  int spatial_rank() const { return rank_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }
  std::vector<Param<T>> params() override;
  Regularizer activity_regularizer() const override { return options_.activity_regularizer; }

 protected:
  // Throws ConfigError for invalid options.
  ConvND(int rank, std::string class_name, ConvOptions options, std::string name);

 private:
  int64_t check_input(const std::vector<Shape>& input_shapes) const;  // returns channels (-1 unknown)
  bool channels_first() const { return options_.data_format == "channels_first"; }

  struct Call {
    Shape input_shape;
    Tensor<T> x;  // input, channels_last
    Tensor<T> z;  // pre-activation (non-linear element-wise activations)
    Tensor<T> y;  // output, channels_last (non-linear activations)
  };

  int rank_;
  std::string class_name_;
  ConvOptions options_;
  int64_t channels_ = -1;
  Tensor<T> kernel_, bias_, dkernel_, dbias_;
  std::vector<Call> tape_;
};

template <class T>
class Conv2D : public ConvND<T> {
 public:
  explicit Conv2D(ConvOptions options, std::string name = "conv2d")
      : ConvND<T>(2, "Conv2D", std::move(options), std::move(name)) {}
};

// Keras alias.
template <class T>
using Convolution2D = Conv2D<T>;

extern template class ConvND<float>;
extern template class ConvND<double>;
extern template class Conv2D<float>;
extern template class Conv2D<double>;

}  // namespace rnnx
