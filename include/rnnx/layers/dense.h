#pragma once
// Dense (spec §4.3, K3 keras/src/layers/core/dense.py): y = activation(x @ kernel + bias) on
// the last axis of an input of any rank >= 2, so Dense on (batch, steps, features) acts on
// every step with the same weights.
//
// Weights (Keras order): kernel [input_dim, units], bias [units] (when use_bias).
// Requires: the input's last dimension is known and equals input_dim once built.
// Ensures: output shape = input shape with the last dimension replaced by units; the input
// mask (if any) is passed through unchanged.
// Training: a training-mode call keeps its input (and, for a non-linear activation, the
// pre-activation and output); backward gives dx = dz kernelᵀ and accumulates
// kernel.grad += xᵀ dz, bias.grad += Σ_rows dz (dz = the gradient before the activation).
// Regularizers and constraints are stored for the training code (train/regularizers.h);
// params() reports each weight's regularizer and constraint.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/activations.h"
#include "rnnx/initializers.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

struct DenseOptions {
  int64_t units = 0;        // required, > 0
  Activation activation{};  // Keras default None = linear
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::from_name("glorot_uniform");
  Initializer bias_initializer = Initializer::from_name("zeros");
  Regularizer kernel_regularizer{}, bias_regularizer{};
  Regularizer activity_regularizer{};  // on the output, per sample (see regularizers.h)
  Constraint kernel_constraint{}, bias_constraint{};
};

template <class T>
class Dense : public Layer<T> {
 public:
  // Throws ConfigError when units <= 0.
  explicit Dense(DenseOptions options, std::string name = "dense");

  std::string class_name() const override { return "Dense"; }
  const DenseOptions& options() const { return options_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }
  std::vector<Param<T>> params() override;
  Regularizer activity_regularizer() const override { return options_.activity_regularizer; }

  // Built weights (empty before build).
  const Tensor<T>& kernel() const { return kernel_; }
  const Tensor<T>& bias() const { return bias_; }

 private:
  // Checks one input shape and returns its last dimension (-1 if unknown).
  int64_t check_input(const std::vector<Shape>& input_shapes) const;

  // What backward needs from one training call.
  struct Call {
    Tensor<T> x;  // the input
    Tensor<T> z;  // pre-activation (element-wise non-linear activations only)
    Tensor<T> y;  // output (non-linear activations only)
  };

  DenseOptions options_;
  int64_t input_dim_ = -1;
  Tensor<T> kernel_, bias_;
  Tensor<T> kernel_grad_, bias_grad_;
  std::vector<Call> tape_;
};

extern template class Dense<float>;
extern template class Dense<double>;

}  // namespace rnnx
