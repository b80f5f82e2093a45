#pragma once
// Sequential (K3 keras/src/models/sequential.py): a stack of single-output layers, each
// called on the previous one's output (masks flow along, as in a functional model).
//
//   Sequential<float> m;
//   m.add(std::make_shared<InputLayer<float>>(Shape{-1, 6, 5}));   // or m.build({-1, 6, 5})
//   m.add(lstm);  m.add(pool);  m.add(dense);
//   Tensor<float> y = m.predict(x);
//   std::string table = m.summary();
//
// The input: an InputLayer added first (as Keras configs list it), or build(batch_shape), or
// the first call (the batch dimension is then left unknown, -1). Once the input is known,
// add() connects each layer at once, so shape errors surface at add(), as in Keras with an
// Input. A Sequential is a functional Model (the chain input -> layers -> output), so
// weights, names, seeds and masks follow model.h; layers() and summary() leave out the
// InputLayer, and summary() has no "Connected to" column, as in Keras.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/model/model.h"

namespace rnnx {

template <class T>
class Sequential : public Model<T> {
 public:
  explicit Sequential(std::string name = "sequential");
  // add() each layer in turn.
  explicit Sequential(std::vector<std::shared_ptr<Layer<T>>> layers, std::string name = "sequential");

  std::string class_name() const override { return "Sequential"; }

  // Appends a layer. An InputLayer is accepted only first (it sets the input). Throws
  // ConfigError for a null layer, an InputLayer after other layers, or a layer that returns
  // several tensors; ShapeError (from the layer) when it does not fit the previous output.
  void add(std::shared_ptr<Layer<T>> layer);

  // Sets the input shape (batch dimension included, -1 = None) and connects the layers
  // added so far. Throws StateError if the input is already set to a different shape.
  void build(const Shape& batch_shape);
  void build(const std::vector<Shape>& input_shapes) override;
  bool has_input() const { return input_.has_value(); }

  // Run the stack on one tensor (building it first if it has no input yet).
  Tensor<T> predict(const Tensor<T>& x);
  Tensor<T> call(const Tensor<T>& x, Mode mode = Mode::inference);
  // Also returns the output mask; `mask` (optional) is attached to the input.
  ModelOutputs<T> run(const Tensor<T>& x, Mode mode = Mode::inference, const Mask* mask = nullptr);
  // Model::backward for the one output: undoes the most recent training run and returns the
  // gradient of the input.
  Tensor<T> backward(const Tensor<T>& grad_output);
  using Model<T>::predict;
  using Model<T>::call;
  using Model<T>::run;
  using Model<T>::backward;

  // Before the input is known: the chain of the layers' compute_output_shapes.
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  // The layers in order, without the InputLayer (Keras Sequential.layers).
  std::vector<std::shared_ptr<Layer<T>>> layers() const override { return layers_; }
  std::string summary() override;

 protected:
  void prepare_run(const std::vector<const Tensor<T>*>& inputs) override;

 private:
  void connect(const std::shared_ptr<Layer<T>>& layer);

  std::optional<Shape> input_;
  std::vector<std::shared_ptr<Layer<T>>> layers_;
  ModelTensor last_;  // output of the last connected layer
};

extern template class Sequential<float>;
extern template class Sequential<double>;

}  // namespace rnnx
