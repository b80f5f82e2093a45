#pragma once
// Sequence reshaping layers (K3 keras/src/layers/reshaping/repeat_vector.py,
// permute.py).
//
// RepeatVector(n): a (batch, features) input becomes (batch, n, features),
// every step a copy of the input (the usual bridge from an LSTM encoder's last
// output to a decoder). Permute(dims): permutes the non-batch axes; dims is
// 1-based as in Keras, e.g. {2, 1} turns (batch, steps, features) into (batch,
// features, steps).
//
// Masks: neither layer supports masking in Keras (supports_masking is False),
// so the output has no mask, whatever the input had. Training: a training-mode
// call keeps the input shape; RepeatVector's backward sums the gradient over
// the repeated axis, Permute's applies the inverse permutation.
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

struct RepeatVectorOptions {
  int64_t n = 1;  // > 0
};

template <class T>
class RepeatVector : public Layer<T> {
 public:
  // Throws ConfigError when n <= 0.
  explicit RepeatVector(RepeatVectorOptions options, std::string name = "repeat_vector");

  std::string class_name() const override { return "RepeatVector"; }
  const RepeatVectorOptions &options() const { return options_; }

  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  RepeatVectorOptions options_;
  std::vector<Shape> tape_;  // input shape of each training call
};

struct PermuteOptions {
  std::vector<int64_t> dims;  // a permutation of 1..rank-1
};

template <class T>
class Permute : public Layer<T> {
 public:
  // Throws ConfigError unless dims is a permutation of 1..dims.size().
  explicit Permute(PermuteOptions options, std::string name = "permute");

  std::string class_name() const override { return "Permute"; }
  const PermuteOptions &options() const { return options_; }

  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  PermuteOptions options_;
  std::vector<Shape> tape_;  // input shape of each training call
};

extern template class RepeatVector<float>;
extern template class RepeatVector<double>;
extern template class Permute<float>;
extern template class Permute<double>;

}  // namespace rnnx
