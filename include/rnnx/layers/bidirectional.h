#pragma once
// Keras Bidirectional wrapper (spec §4.1, K3 keras/src/layers/rnn/bidirectional.py).
//
//  - The forward layer is a fresh copy of `layer` (clone_config: same options and seed, new
//    weights), named "forward_<name>"; the backward layer is another copy with go_backwards
//    toggled (tf.keras behaviour), named "backward_<name>", or the explicitly given
//    `backward_layer`, which must have the opposite go_backwards and the same stateful,
//    return_sequences, return_state and time_major (ConfigError otherwise). Both get
//    zero_output_for_mask = return_sequences (forced, as Keras does).
//  - Both see the same input, mask, constants and mode. With return_sequences the backward
//    output is flipped along time before merging, so position t pairs the forward output
//    after steps 0..t with the backward output after steps T-1..t. With time_major (tf.keras,
//    rnn.h) inputs, mask and sequence outputs are time-major and the flip is along axis 0
//    (TFK layers/rnn/bidirectional.py: `time_dim = 0 if forward_layer.time_major else 1`).
//  - merge_mode concat ([fwd, bwd] on the last axis), sum, ave ((f + b) / 2), mul, or none
//    (the two outputs separately).
//  - outputs: [merged, *fwd_states, *bwd_states] (return_state), or with merge none
//    [y_fwd, y_bwd, *fwd_states, *bwd_states]; initial_state: first half forward, second
//    half backward. Output mask = the input mask with return_sequences, else none.
//  - params(): all forward weights, then all backward weights. stateful passes through;
//    reset_states() resets both.
//  - activity_regularizer(): the wrapped layer's; Keras applies it to each direction's
//    outputs, which equals one penalty over this layer's outputs only with merge_mode concat
//    or None and the same regularizer on both directions (ConfigError otherwise).
//  - Seeds: build() seeds the two directions from this layer's seed (two derived seeds),
//    unless they are already built.
//  - backward (layer.h, spec §2.5): splits the merged gradient (concat: by columns; sum:
//    both; ave: half each; mul: times the other direction's output, kept by the training
//    call), flips the backward direction's part back to its processing order, runs both
//    directions' backward, and adds their input and constant gradients; initial_state
//    gradients come back forward half first.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"
#include "rnnx/layers/rnn.h"

namespace rnnx {

enum class MergeMode { concat, sum, ave, mul, none };

// "concat", "sum", "ave", "mul", or "none" / "None" / "" (Keras None). ConfigError otherwise.
MergeMode merge_mode_from_name(const std::string& name);
std::string merge_mode_name(MergeMode mode);

struct BidirectionalOptions {
  MergeMode merge_mode = MergeMode::concat;
};

template <class T>
class Bidirectional : public Layer<T> {
 public:
  // Copies `layer` from its config (forward and, unless given, backward). Throws
  // ConfigError for an invalid backward_layer (see above).
  explicit Bidirectional(const RNN<T>& layer, MergeMode merge_mode = MergeMode::concat,
                         std::unique_ptr<RNN<T>> backward_layer = nullptr, std::string name = "bidirectional");
  // Takes `layer` itself as the forward layer (it must not be built yet; ConfigError
  // otherwise); the backward layer is a copy of it from its config unless given.
  Bidirectional(std::unique_ptr<RNN<T>> layer, BidirectionalOptions options,
                std::unique_ptr<RNN<T>> backward_layer = nullptr, std::string name = "bidirectional");

  std::string class_name() const override { return "Bidirectional"; }
  MergeMode merge_mode() const { return merge_mode_; }
  RNN<T>& forward_layer() { return *forward_; }
  RNN<T>& backward_layer() { return *backward_; }
  const RNN<T>& forward_layer() const { return *forward_; }
  const RNN<T>& backward_layer() const { return *backward_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;

  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override;

  std::vector<Param<T>> params() override;
  Regularizer activity_regularizer() const override { return forward_->activity_regularizer(); }
  void reset_states() override;

 private:
  // What one training call keeps: the output shapes, and for merge mode mul both
  // directions' (time-aligned) outputs.
  struct TapeEntry {
    std::vector<Shape> output_shapes;
    Tensor<T> y_fwd, y_bwd;
  };

  // Names and configures forward_ (already set) and the backward layer.
  void set_up(const RNN<T>& original, std::unique_ptr<RNN<T>> backward_layer);
  // Merged output of one forward and one (already time-aligned) backward tensor.
  Tensor<T> merge(const Tensor<T>& fwd, const Tensor<T>& bwd) const;
  // y [batch, steps, n] (time-major: [steps, batch, n]) reversed along steps.
  Tensor<T> flip_time(const Tensor<T>& y) const;

  MergeMode merge_mode_;
  std::unique_ptr<RNN<T>> forward_, backward_;
  std::vector<TapeEntry> tape_;
};

extern template class Bidirectional<float>;
extern template class Bidirectional<double>;

}  // namespace rnnx
