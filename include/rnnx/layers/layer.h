#pragma once
// The layer interface. A layer is a Keras layer: built lazily from the shapes it first
// sees, called on tensors in Keras order ([batch, steps, features]), holding its weights
// in Keras order (the order of get_weights()).
//
// Contract:
//  - build(input_shapes) creates the weights (initialised from the layer's seed) for inputs
//    of those shapes (batch dimension may be -1). Building twice with compatible shapes is a
//    no-op; incompatible shapes throw ShapeError.
//  - call(inputs) requires nothing beyond what Keras requires; it builds on first use. It
//    throws ShapeError/ConfigError/StateError for user mistakes, naming the layer.
//    Inference mode keeps nothing; training mode may keep what backward needs.
//  - params() lists the weights in Keras get_weights() order; set_weights() checks count
//    and shapes.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnnx/core/indexed_slices.h"
#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

enum class Mode { inference, training };

// Everything a layer call receives. Pointers are borrowed for the duration of the call.
template <class T>
struct LayerInputs {
  std::vector<const Tensor<T>*> inputs;         // positional inputs; most layers take one
  const Mask* mask = nullptr;                   // mask of inputs[0], [batch, steps]; null = none
  std::vector<const Tensor<T>*> initial_state;  // recurrent layers: Keras `initial_state`
  std::vector<const Tensor<T>*> constants;      // recurrent layers: Keras `constants`
  Mode mode = Mode::inference;
  // Masks of all positional inputs, parallel to `inputs` (entries may be null), for layers
  // that merge several inputs (Concatenate, Add). Empty = only `mask` is known.
  std::vector<const Mask*> input_masks{};
};

// Gradients of one call, parallel to its LayerInputs: one tensor per positional input,
// per initial_state tensor and per constant (same shapes). Integer-valued inputs (Embedding
// ids) get a zero gradient.
template <class T>
struct LayerGrads {
  std::vector<Tensor<T>> inputs;
  std::vector<Tensor<T>> initial_state;
  std::vector<Tensor<T>> constants;
};

template <class T>
struct LayerOutputs {
  std::vector<Tensor<T>> outputs;  // in the order Keras returns them
  Mask mask;                       // mask attached to outputs[0]; empty = none
};

// A weight: its Keras name ("kernel"), the value, and (for training) its gradient.
template <class T>
struct Param {
  std::string name;
  Tensor<T>* value = nullptr;
  Tensor<T>* grad = nullptr;  // same shape as value; allocated by the owner at build
  bool trainable = true;
  // The layer's Keras kernel_/bias_/embeddings_regularizer and _constraint for this weight
  // (train/regularizers.h); inactive by default. Applied by the training code.
  Regularizer regularizer{};
  Constraint constraint{};
  // Set by layers that read the weight by row lookups (Embedding): the same gradient as the
  // lookups' rows (core/indexed_slices.h), which optimizers use to follow Keras on the
  // TensorFlow backend (train/optimizer.h). Accumulates with `grad`; zero_grads() clears it.
  IndexedSlices<T>* sparse_grad = nullptr;
};

template <class T>
class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  // Keras class name, e.g. "LSTM", "Dense".
  virtual std::string class_name() const = 0;
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // Seed for this layer's initializers and dropout (set before build).
  void set_seed(uint64_t seed) { seed_ = seed; }
  uint64_t seed() const { return seed_; }

  virtual void build(const std::vector<Shape>& input_shapes) = 0;
  bool built() const { return built_.load(std::memory_order_relaxed); }

  // Output shapes for the given positional input shapes (batch may be -1), without
  // computing anything. Throws ShapeError where call() would.
  virtual std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const = 0;

  virtual LayerOutputs<T> call(const LayerInputs<T>& in) = 0;

  // Convenience: one input, no mask, returns outputs[0].
  Tensor<T> operator()(const Tensor<T>& x, Mode mode = Mode::inference);

  // Backpropagation (spec §2.5). Undoes the most recent training-mode call that has not
  // been backpropagated yet: calls are kept on a stack and undone last-in first-out, so a
  // layer shared by several graph nodes works when the model walks its graph backwards.
  // `grad_outputs` is parallel to that call's outputs; an empty Tensor means "no gradient
  // flows into this output" (zero). Parameter gradients ACCUMULATE (+=) into Param::grad;
  // zero_grads() clears them. Requires: a training-mode call to undo (StateError otherwise);
  // grad shapes equal to the output shapes (ShapeError otherwise).
  // The default throws ConfigError: a user-defined layer that only does inference need not
  // implement it.
  virtual LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs);
  // Drops the stored training calls without backpropagating (e.g. after evaluate in
  // training mode); the default does nothing.
  virtual void clear_tape() {}

  virtual std::vector<Param<T>> params() { return {}; }
  // Sets every Param::grad to zero. Layers (and cells) allocate one gradient tensor per
  // weight, shaped like it, when they build, so Param::grad is never null after build.
  void zero_grads();
  std::vector<Tensor<T>> get_weights();
  void set_weights(const std::vector<Tensor<T>>& weights);
  int64_t count_params();

  // Stateful recurrent layers zero their stored states; others do nothing.
  virtual void reset_states() {}

  // Keras `activity_regularizer` (spec §3.9): a penalty on every tensor a call returns,
  // divided by the batch size (train/regularization.h activity_penalty). The layer only
  // reports it; a Model adds it to its activity_loss() and its gradient in backward, the
  // Trainer does both for a bare layer. Inactive by default.
  virtual Regularizer activity_regularizer() const { return {}; }

 protected:
  // "<ClassName> '<name>'", the prefix of every error message about this layer.
  std::string where() const { return class_name() + " '" + name_ + "'"; }
  // Layers call this on every call; atomic, so concurrent inference calls do not race on it.
  void set_built() { built_.store(true, std::memory_order_relaxed); }

 private:
  std::string name_;
  uint64_t seed_ = 0;
  std::atomic<bool> built_{false};
};

extern template class Layer<float>;
extern template class Layer<double>;

}  // namespace rnnx
