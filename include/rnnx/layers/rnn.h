#pragma once
// Keras RNN layer (class_name "RNN"; spec §3, K3 keras/src/layers/rnn/rnn.py) over any cell.
// LSTM, GRU and SimpleRNN (lstm.h, gru.h, simple_rnn.h) are this layer with a fixed cell.
//
// Call:
//   inputs        exactly one sequence [batch, steps, features] (steps >= 1), or
//                 [steps, batch, features] with time_major
//   mask          optional uint8 [batch, steps], 1 = real step (spec §3.4); [steps, batch]
//                 with time_major
//   initial_state optional, one [batch, size] tensor per cell state (LSTM: h, c)
//   constants     optional, [batch, size] tensors passed to every step of cells that
//                 accept them (tf.keras `constants`)
//   mode          training draws dropout masks (spec §3.5); inference keeps nothing
// Returns outputs = [out, *final_states] (states only with return_state):
//   out = [batch, steps, units] with return_sequences (in processing order: reversed for
//   go_backwards, spec §3.3; [steps, batch, units] with time_major), else [batch, units],
//   the output of the last processed step. States are [batch, size] in both layouts.
// Output mask = the input mask with return_sequences, else none (spec §3.11, Keras <= 3.15).
//
// time_major (tf.keras / tf_keras only, spec §3.1 and §5; TFK layers/rnn/base_rnn.py and
// backend.rnn): the sequence, the mask, the whole-sequence dropout mask and the sequence
// output (and their gradients) have steps as axis 0 and batch as axis 1; a stateful layer
// takes its batch size from axis 1. The time loop always runs time-major, so this only
// skips the transposes at either end; the numbers are those of the batch-major layer.
//
// Masked step for a sample (spec §3.4): the cell still runs, but all its states keep their
// previous values and its output is the previous step's output (zeros before the first
// real step), or zeros with zero_output_for_mask (which also zeroes the last output when
// the last processed step is masked).
//
// stateful (spec §3.6): the first call (or a build with a known batch) fixes the batch
// size; later calls with another batch throw StateError. Calls start from the stored
// states unless initial_state is given, and store their final states; reset_states()
// zeroes them. unroll is accepted and gives the same numbers (spec §3.8).
//
// Backward (spec §2.5; layer.h has the contract): undoes the most recent training call.
// grad_outputs = [d out, *d final_states]. Gradients flow through the masked-step rules of
// spec §2.5 (a masked step's cell gets zero gradient, the state gradients pass straight to
// the step before, and the gradient of its output goes to the output it repeated, or
// nowhere with zero_output_for_mask), through the call's dropout masks, and into the input
// sequence, the initial_state tensors given and the constants. A stateful layer truncates:
// the gradient stops at the call boundary, and stored states (not given as initial_state)
// get none. The parameter gradients accumulate into the cell's Param::grad. The cell must
// support backward (Cell::supports_backward(); ConfigError otherwise).
// A training call keeps the time-major input, the states every step read, the cell's tape,
// the mask, the dropout masks and copies of the constants; inference keeps nothing.
//
// Memory (design.md principle 6): the layer reuses its buffers from call to call, so a call
// with the shapes of an earlier one allocates only the tensors it returns (and, in training,
// its dropout masks); an inference call that overlaps another one on the same layer (another
// thread) works in buffers of its own. Threads: see rnnx/kernels/threads.h.
//
// Seeds: build() initialises the weights from Layer::seed(); training calls draw dropout
// masks from a generator derived from the same seed, once per call (one mask per sample,
// the same for every step; except a cell's sequence_input_dropout(), a mask per step): one
// key per mask, then each sample's row from the generator of (key, the sample's place in the
// global batch) (core/sample_rng.h), so the masks do not depend on how a batch is split
// into calls. set_fixed_dropout_masks()
// replaces the drawn masks for all following training calls (used to reproduce Keras masks).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnnx/cells/cell.h"
#include "rnnx/core/rng.h"
#include "rnnx/layers/layer.h"

namespace rnnx {

namespace detail {
template <class T>
struct RecurrentWorkspace;
}  // namespace detail

// The Keras RNN layer arguments (spec §3.1), defaults as in Keras.
struct RNNOptions {
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  bool stateful = false;
  bool unroll = false;  // accepted; the loop gives the same numbers
  bool zero_output_for_mask = false;
  // tf.keras time_major: inputs [steps, batch, features], see above. Keras 3 has no such
  // argument, so such a layer cannot be saved as a .keras file.
  bool time_major = false;
  // Keras activity_regularizer: applied to every returned tensor (with return_state, the
  // states too); see Layer::activity_regularizer().
  Regularizer activity_regularizer{};
};

template <class T>
class RNN : public Layer<T> {
 public:
  // Throws ConfigError if `cell` is null.
  explicit RNN(std::unique_ptr<Cell<T>> cell, RNNOptions options = {}, std::string name = "rnn");

  std::string class_name() const override { return "RNN"; }

  const RNNOptions& rnn_options() const { return options_; }
  // Replaces the layer options; only before build (StateError after).
  void set_rnn_options(const RNNOptions& options);

  Cell<T>& cell() { return *cell_; }
  const Cell<T>& cell() const { return *cell_; }

  // input_shapes[0] is the sequence [batch, steps, features] ([steps, batch, features]
  // with time_major); further entries are the shapes of the constants [batch, size]. Batch
  // and steps may be -1; features may not.
  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;

  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void clear_tape() override;
  // Training calls kept for backward.
  size_t tape_depth() const { return tape_.size(); }
  // Drops the most recent kept training call (Bidirectional, when its other direction fails).
  void discard_latest_training_call();

  std::vector<Param<T>> params() override { return cell_->params(); }
  Regularizer activity_regularizer() const override { return options_.activity_regularizer; }
  void reset_states() override;
  // Sets the stored states of a stateful layer (tf.keras reset_states(states)): one
  // [batch, size] tensor per state. StateError if the layer is not stateful or its batch
  // size is not known yet; ShapeError for a wrong count or shape.
  void reset_states(const std::vector<Tensor<T>>& values);
  // Stored states of a stateful layer (empty until its batch size is known).
  const std::vector<Tensor<T>>& states() const { return states_; }

  // Masks for every following training call, each [batch, width] with entries 0 or
  // 1/(1 - rate): `input` has cell().input_mask_count() masks, `recurrent`
  // cell().recurrent_mask_count(), in the order of cell().input_dropout_masks() /
  // recurrent_dropout_masks(). When cell().sequence_input_dropout() > 0, `input` starts
  // with one more mask, [batch, steps, input_size] ([steps, batch, input_size] with
  // time_major: the input's layout, as tf_keras draws it), for the whole input sequence.
  // Counts are checked here (ShapeError), shapes at call.
  void set_fixed_dropout_masks(std::vector<Tensor<T>> input, std::vector<Tensor<T>> recurrent);
  void clear_fixed_dropout_masks();
  bool has_fixed_dropout_masks() const { return fixed_masks_; }

  // The generator the dropout masks are drawn from (seeded at build), for training
  // checkpoints: setting a saved state makes the following training calls draw the masks
  // they would have drawn when it was saved. Setting it before build has no effect (build
  // reseeds it).
  Rng::State dropout_rng_state() const { return dropout_rng_.state(); }
  void set_dropout_rng_state(const Rng::State& state) { dropout_rng_.set_state(state); }

  // A fresh, unbuilt layer with the same class, options, name and seed (Bidirectional
  // makes its two directions so).
  virtual std::unique_ptr<RNN<T>> clone_config() const;

 private:
  void check_sequence_shape(const Shape& shape) const;
  // Axes of the batch and the steps in the input sequence (time_major swaps them).
  int batch_axis() const { return options_.time_major ? 1 : 0; }
  int steps_axis() const { return options_.time_major ? 0 : 1; }
  // "[batch, steps, features]" or, time-major, "[steps, batch, features]" (for messages).
  std::string input_layout() const;
  void ensure_stateful_batch(int64_t batch);
  // Fills `input` / `recurrent` with this call's dropout masks (training mode only).
  void dropout_masks_for_call(int64_t batch, int64_t steps, Tensor<T>& whole_sequence, std::vector<Tensor<T>>& input,
                              std::vector<Tensor<T>>& recurrent);

  // What one training call keeps for backward (all buffers time-major, indexed by input
  // time t: row t * batch + b). The buffers may be longer than the call needs: an undone
  // call's entry is kept (spare_tape_) and reused by the next training call.
  struct TapeEntry {
    int64_t batch = 0, steps = 0;
    std::vector<T> x;            // [steps * batch, features], after whole-sequence dropout
    Tensor<T> sequence_dropout;  // in the input's layout, or empty
    std::vector<Tensor<T>> input_masks, recurrent_masks;
    Mask mask;  // the input's two leading axes, or empty
    std::vector<Tensor<T>> constants;
    size_t initial_states = 0;              // how many initial_state tensors were given
    std::vector<std::vector<T>> states;     // [steps * batch, size]: the states each step read
    std::vector<std::vector<T>> cell_tape;  // [steps * batch, width]: Cell::tape_widths()
  };

  std::unique_ptr<Cell<T>> cell_;
  RNNOptions options_;
  std::vector<TapeEntry> tape_, spare_tape_;
  // Buffers reused by every call (layers/rnn_time_loop.h); shared_ptr: the type is internal.
  std::shared_ptr<detail::RecurrentWorkspace<T>> workspace_;
  std::vector<int64_t> constant_sizes_;
  int64_t stateful_batch_ = -1;
  std::vector<Tensor<T>> states_;
  Rng dropout_rng_{0};
  bool fixed_masks_ = false;
  std::vector<Tensor<T>> fixed_input_masks_, fixed_recurrent_masks_;
};

extern template class RNN<float>;
extern template class RNN<double>;

}  // namespace rnnx
