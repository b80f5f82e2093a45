#pragma once
// Reshape and Flatten (K3 keras/src/layers/reshaping/reshape.py, flatten.py). Both keep the
// batch axis and the row-major order of the values; neither passes a mask on (Keras layers
// without mask support drop it).
//
// Reshape(target_shape): target_shape excludes the batch axis; one entry may be -1 and is
// inferred. Throws ShapeError when the input's per-sample size does not fit.
// Flatten: (batch, d1, ..., dn) -> (batch, d1*...*dn); a (batch,) input becomes (batch, 1).
// With data_format "channels_first" and rank >= 3 the channels axis (1) is moved last first,
// as Keras does.
// Training: a training-mode call keeps the input shape; backward reshapes (Flatten with
// channels_first: transposes back) the gradient to it.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

struct ReshapeOptions {
  std::vector<int64_t> target_shape{};  // without the batch axis; at most one -1
};

template <class T>
class Reshape : public Layer<T> {
 public:
  // Throws ConfigError for more than one -1 or an entry that is 0 or < -1.
  explicit Reshape(ReshapeOptions options, std::string name = "reshape");

  std::string class_name() const override { return "Reshape"; }
  const ReshapeOptions& options() const { return options_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  ReshapeOptions options_;
  std::vector<Shape> tape_;  // input shape of each training call
};

struct FlattenOptions {
  std::string data_format = "channels_last";  // or "channels_first"
};

template <class T>
class Flatten : public Layer<T> {
 public:
  // Throws ConfigError for an unknown data_format.
  explicit Flatten(FlattenOptions options = {}, std::string name = "flatten");

  std::string class_name() const override { return "Flatten"; }
  const FlattenOptions& options() const { return options_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  FlattenOptions options_;
  std::vector<Shape> tape_;  // input shape of each training call
};

extern template class Reshape<float>;
extern template class Reshape<double>;
extern template class Flatten<float>;
extern template class Flatten<double>;

}  // namespace rnnx
