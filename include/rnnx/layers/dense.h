#pragma once
// Dense (spec §4.3, K3 keras/src/layers/core/dense.py): y = activation(x @ kernel + bias) on
// the last axis of an input of any rank >= 2, so Dense on (batch, steps, features) acts on
// every step with the same weights.
//
// Weights (Keras order): kernel [input_dim, units], bias [units] (when use_bias).
// Requires: the input's last dimension is known and equals input_dim once built.
// Ensures: output shape = input shape with the last dimension replaced by units; the input
// mask (if any) is passed through unchanged.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/activations.h"
#include "rnnx/initializers.h"
#include "rnnx/layers/layer.h"

namespace rnnx {

struct DenseOptions {
  int64_t units = 0;        // required, > 0
  Activation activation{};  // Keras default None = linear
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::from_name("glorot_uniform");
  Initializer bias_initializer = Initializer::from_name("zeros");
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
  std::vector<Param<T>> params() override;

  // Built weights (empty before build).
  const Tensor<T>& kernel() const { return kernel_; }
  const Tensor<T>& bias() const { return bias_; }

 private:
  // Checks one input shape and returns its last dimension (-1 if unknown).
  int64_t check_input(const std::vector<Shape>& input_shapes) const;

  DenseOptions options_;
  int64_t input_dim_ = -1;
  Tensor<T> kernel_, bias_;
};

extern template class Dense<float>;
extern template class Dense<double>;

}  // namespace rnnx
