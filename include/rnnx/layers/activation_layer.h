#pragma once
// The Keras `Activation` layer (K3 keras/src/layers/activations/activation.py): applies an
// activation element-wise (softmax over the last axis). Named ActivationLayer in C++ because
// rnnx::Activation is the activation descriptor; class_name() is "Activation".
// Ensures: output shape = input shape; the input mask is passed through.
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

 private:
  Activation activation_;
};

extern template class ActivationLayer<float>;
extern template class ActivationLayer<double>;

}  // namespace rnnx
