#pragma once
// Embedding (spec §4.4, K3 keras/src/layers/core/embedding.py): row lookup in a table.
//
// The input is a float tensor of any rank >= 1 holding integer ids (Keras feeds int32; rnnx
// tensors are float, so the ids are checked: each must be an integer in [0, input_dim)).
// Weights: embeddings [input_dim, output_dim].
// Ensures: output shape = input shape + [output_dim]; with mask_zero the output carries the
// mask `ids != 0` (input's shape). Index 0 still has a row (size the vocabulary +1).
// Throws: ShapeError for an id that is not an integer or is outside [0, input_dim).
// Training: a training-mode call keeps its ids; backward adds each output row's gradient to
// the embeddings row it was read from (a scatter-add; repeated ids add up) and returns a
// zero gradient for the ids. It also appends each lookup's row, unsummed, to the param's
// sparse_grad (the tf.IndexedSlices Keras's TensorFlow backend gives the optimizer; whether
// the optimizer uses it is train/optimizer.h's RowGradients).
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/initializers.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

struct EmbeddingOptions {
  int64_t input_dim = 0;   // vocabulary size, > 0
  int64_t output_dim = 0;  // > 0
  bool mask_zero = false;
  // Keras "uniform" = RandomUniform(minval=-0.05, maxval=0.05).
  Initializer embeddings_initializer = Initializer::from_name("uniform");
  Regularizer embeddings_regularizer{};
  Regularizer activity_regularizer{};  // on the output, per sample (see regularizers.h)
  Constraint embeddings_constraint{};
};

template <class T>
class Embedding : public Layer<T> {
 public:
  // Throws ConfigError when input_dim or output_dim <= 0.
  explicit Embedding(EmbeddingOptions options, std::string name = "embedding");

  std::string class_name() const override { return "Embedding"; }
  const EmbeddingOptions& options() const { return options_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override { tape_.clear(); }
  std::vector<Param<T>> params() override;
  Regularizer activity_regularizer() const override { return options_.activity_regularizer; }

  const Tensor<T>& embeddings() const { return embeddings_; }

 private:
  void check_input(const std::vector<Shape>& input_shapes) const;

  EmbeddingOptions options_;
  Tensor<T> embeddings_, embeddings_grad_;
  IndexedSlices<T> embeddings_rows_;  // the gradient as one row per lookup (Param::sparse_grad)
  std::vector<Tensor<T>> tape_;       // the ids of each training call
};

extern template class Embedding<float>;
extern template class Embedding<double>;

}  // namespace rnnx
