#pragma once
// InputLayer (K3 keras/src/layers/core/input_layer.py): the entry point of a model. It holds
// the declared batch shape (Keras `batch_shape`; -1 = None, in any position) and passes its
// tensor through unchanged after checking it.
// Throws ShapeError when the tensor's rank or a declared dimension differs.
// Training: backward passes the gradient through (a Model feeds its inputs directly and
// never calls its InputLayers; this is for an InputLayer called on its own).
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

template <class T>
class InputLayer : public Layer<T> {
 public:
  // Throws ConfigError for a dimension < -1 or an empty shape (a batch axis is required).
  explicit InputLayer(Shape batch_shape, std::string name = "input_layer");

  std::string class_name() const override { return "InputLayer"; }
  const Shape& batch_shape() const { return batch_shape_; }

  // True when `shape` can be fed to this input.
  bool accepts(const Shape& shape) const;

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  void check(const Shape& shape) const;

  Shape batch_shape_;
  std::vector<Shape> tape_;  // input shape of each training call
};

extern template class InputLayer<float>;
extern template class InputLayer<double>;

}  // namespace rnnx
