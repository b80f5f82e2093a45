#pragma once
// The numeric preprocessing layers (K3 keras/src/layers/preprocessing/):
// Normalization and Rescaling.
//
// Normalization(axis = -1, mean, variance, invert): the statistics come from
// the config
// (`mean` / `variance`, a number or nested lists of rank <= the number of axes,
// aligned to the last kept axes and broadcast as numpy does) or, when the
// config has none, from the weights `mean`, `variance` (shape = the input dims
// at the kept axes) and `count` (a scalar), all non-trainable, which Keras'
// adapt() filled (adapt itself is Python-side: load its results from the file).
// axis = the axes kept (an int, a list, or empty for Keras' None: one scalar
// mean). y = (x - mean) / max(sqrt(variance), 1e-7); invert: y = mean + x *
// max(sqrt(variance), 1e-7).
//
// Rescaling(scale, offset = 0): y = x * scale + offset; each a number or a list
// broadcast over the last axis.
//
// Both pass the mask through; backward scales the gradient by the same factor
// (1 / max(sqrt(variance), 1e-7), or the factor itself when inverting; scale);
// they have no trainable weights. Requires inputs of rank >= 1 whose kept axes
// are known (ShapeError).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

struct NormalizationOptions {
  std::vector<int64_t> axis{-1};  // kept axes; empty = Keras None
  bool axis_is_list = false;      // how the config spelled it (int, list or null)
  bool axis_is_null = false;
  // Statistics given in the config: flat values and their shape (empty shape =
  // a number).
  std::optional<std::vector<double>> mean, variance;
  Shape stats_shape{};
  bool invert = false;
};

template <class T>
class Normalization : public Layer<T> {
 public:
  // Throws ConfigError when only one of mean / variance is given, their sizes
  // differ from the shape, or the shape has more dimensions than axis.
  explicit Normalization(NormalizationOptions options, std::string name = "normalization");
  std::string class_name() const override { return "Normalization"; }
  const NormalizationOptions &options() const { return options_; }
  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }
  // mean, variance, count (non-trainable) when the config gives no statistics;
  // else none.
  std::vector<Param<T>> params() override;

 private:
  std::vector<int64_t> check_input(const std::vector<Shape> &input_shapes) const;
  // The statistic for parameter entry k (the index over the kept axes).
  T mean_at(int64_t k) const;
  T denom_at(int64_t k) const;

  NormalizationOptions options_;
  std::vector<int64_t> keep_;  // resolved kept axes
  Shape keep_shape_;
  Tensor<T> mean_, variance_, count_, mean_grad_, variance_grad_, count_grad_;
  std::vector<Shape> tape_;  // input shapes of training calls
  std::vector<std::vector<int64_t>> tape_inner_;
};

struct RescalingOptions {
  std::vector<double> scale{1.0};
  std::vector<double> offset{0.0};
  bool scale_is_list = false, offset_is_list = false;
};

template <class T>
class Rescaling : public Layer<T> {
 public:
  // Throws ConfigError for an empty scale or offset list.
  explicit Rescaling(RescalingOptions options, std::string name = "rescaling");
  std::string class_name() const override { return "Rescaling"; }
  const RescalingOptions &options() const { return options_; }
  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  RescalingOptions options_;
  std::vector<Shape> tape_;
};

extern template class Normalization<float>;
extern template class Normalization<double>;
extern template class Rescaling<float>;
extern template class Rescaling<double>;

}  // namespace rnnx
