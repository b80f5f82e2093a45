#pragma once
// The Keras `Activation` layer (K3 keras/src/layers/activations/activation.py): applies an
// activation element-wise (softmax over the last axis). Named ActivationLayer in C++ because
// rnnx::Activation is the activation descriptor; class_name() is "Activation".
// Ensures: output shape = input shape; the input mask is passed through.
// Training: a training-mode call keeps its input and output; backward gives dy * f'(x)
// element-wise, or for softmax the Jacobian product y * (dy - Σ dy * y) over the last axis.
#include <string>
#include <vector>

#include "rnnx/activations.h"
#include "rnnx/layers/layer.h"

namespace rnnx {

template <class T>
class ActivationLayer : public Layer<T> {
 public:
  explicit ActivationLayer(Activation activation, std::string name = "activation");

  std::string class_name() const override { return "Activation"; }
  const Activation& activation() const { return activation_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  struct Call {
    Tensor<T> x, y;  // input and output
  };
  // The block activate_block sees: rows x cols, cols = the last axis (all of a 1-D input).
  static void block_of(const Tensor<T>& x, int64_t& rows, int64_t& cols);

  Activation activation_;
  std::vector<Call> tape_;
};

extern template class ActivationLayer<float>;
extern template class ActivationLayer<double>;

}  // namespace rnnx
