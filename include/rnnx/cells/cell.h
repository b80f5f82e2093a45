#pragma once
// The cell interface: a cell computes ONE time step; the recurrent layer (layers/rnn.h)
// owns the time loop, masks, go_backwards, stateful storage and dropout-mask drawing.
// Built-in cells (LSTMCell, GRUCell, SimpleRNNCell, the TF1 variants, StackedCells) and
// user-defined cells implement this same interface; tests/unit/user_cell_test.cpp defines
// one as an example.
//
// Data layout: every per-step buffer is a contiguous row-major [batch, n] block.
//
// Input projection: a cell may ask the layer to project the whole sequence at once
// (projection_size() > 0). The layer then calls project_inputs() once per call on all
// steps (rows in time-major order, row r belongs to sample r % batch) and hands each step
// its block of projected rows in CellStep::x_proj. Otherwise (projection_size() == 0, or
// when the cell runs inside StackedCells after the first cell) x_proj is null and the cell
// reads the raw step input CellStep::x.
//
// Contract for cells (built-in and user-defined; see tests/unit/user_cell_test.cpp):
//  - step() is a pure function of the CellStep it is given: it reads x / x_proj, states,
//    constants and dropout masks, writes every element of new_states and output (and, in a
//    training call, of its tape blocks), may use scratch, and changes nothing else (it is
//    const; the layer may call it in any order).
//    It must handle x_proj == null by projecting x itself (StackedCells passes null to
//    every cell after the first).
//  - step() never allocates, throws or checks shapes: the layer has checked them.
//  - build() creates the weights (drawing from `rng`) and throws ConfigError for constants
//    it does not take; state_sizes() / output_size() are known before build.
//  - Dropout masks are drawn by the layer, one [batch, width] mask per entry of
//    input_dropout_masks() / recurrent_dropout_masks(), and are the same for every step.
//  - clone_config() returns an unbuilt cell with the same options.
//
// Training (spec §2.5). A cell that can be trained returns true from supports_backward()
// and implements the members of the "Training" section below (tape_widths, grad_width,
// step_backward, backward_params, backward_inputs, and the scratch sizes and
// begin_backward when it needs them); the built-in cells and the tests' user cells do. A
// user cell that only runs inference need not: the layer then throws ConfigError from
// backward(). The protocol, for one training call of `steps` steps:
//  1. Forward: the layer calls step() with CellStep::tape holding one [batch, width] block
//     per entry of tape_widths(); step() writes there whatever step_backward() will need
//     (pre-activations, gate values, ...). The layer keeps each entry for all steps as one
//     time-major [steps * batch, width] buffer, and likewise the input x and the states
//     every step read, all indexed by input time t (not processing order), so that row r
//     of each belongs to step r / batch and sample r % batch.
//  2. The layer calls begin_backward() once; a cell may derive per-call data from its
//     weights there (the built-in cells transpose their kernels, so that every product of
//     the backward pass streams rows). Then per step, in reverse processing order:
//     step_backward() receives the gradients of the step's output and new states and
//     writes the gradients of the states it read, and the step's rows of dZ
//     [batch, grad_width()] - the cell's "pre-activation" gradient that every weight and
//     input gradient is a product of. It may accumulate (+=) into d_constants. It
//     allocates nothing and touches no weight gradient.
//  3. Once per call, outside the time loop: backward_params() accumulates (+=) every weight
//     gradient into Param::grad from whole-sequence matrix products over all rows
//     (dK += Xᵀ dZ, dR += Hprevᵀ dZ_rec, db += column sums of dZ), and backward_inputs()
//     writes dX = dZ Kᵀ for all rows at once (StackedCells also calls it per step, with
//     rows = batch, for its later cells).
// Masked steps (spec §3.4) reach the cell as rows whose incoming gradients are zero; a
// cell's backward is linear in them, so their dZ rows come out zero. The cell allocates one
// gradient tensor per weight at build (Param::grad is never null after build).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/layers/layer.h"

namespace rnnx {

// Dropout masks for one call, each [batch, n], entries 0 or 1/(1-rate), fixed over time
// (spec §3.5). Empty vectors mean "no dropout". One mask is shared by all gates; a cell
// with implementation 1 under tf.keras semantics takes one mask per gate, in gate order.
template <class T>
struct DropoutMasks {
  std::vector<const T*> input;      // each [batch, input_size]
  std::vector<const T*> recurrent;  // each [batch, units]
};

// One time step. The layer fills the pointers; the cell reads x / x_proj / states and
// writes new_states and output. new_states never alias states.
template <class T>
struct CellStep {
  int64_t batch = 0;
  const T* x = nullptr;       // [batch, input_size], raw step input (input dropout NOT applied)
  const T* x_proj = nullptr;  // [batch, projection_size()], or null
  std::vector<const T*> states;   // one per state_sizes() entry
  std::vector<T*> new_states;     // one per state_sizes() entry
  T* output = nullptr;            // [batch, output_size()]
  std::vector<const T*> constants;  // one per constant, [batch, constant_size]
  DropoutMasks<T> dropout;          // masks of this call (empty when not training)
  T* scratch = nullptr;             // scratch_size(batch) elements, contents undefined
  // Training calls only: one [batch, width] block per entry of tape_widths(), for step() to
  // record what step_backward() needs. Empty in inference (record nothing).
  std::vector<T*> tape;
};

// Backward of one time step (see the training protocol above). Pointers are [batch, n]
// blocks of this step; the input side holds the same values the forward step read.
template <class T>
struct CellStepGrad {
  int64_t batch = 0;
  const T* x = nullptr;               // [batch, input_size], the raw step input step() read
  std::vector<const T*> states;       // the states step() read
  std::vector<const T*> constants;    // [batch, constant_size] each
  DropoutMasks<T> dropout;            // the masks of the call
  std::vector<const T*> tape;         // what step() recorded, one block per tape entry
  const T* d_output = nullptr;        // dL/d output [batch, output_size()]
  std::vector<const T*> d_new_states;  // dL/d new_states (what step() wrote), one per state
  std::vector<T*> d_states;           // out, overwritten: dL/d states (what step() read)
  T* dz = nullptr;                    // out, overwritten: this step's dZ rows [batch, grad_width()]
  int64_t ldz = 0;                    // leading dimension of dz (>= grad_width())
  std::vector<T*> d_constants;        // out, accumulated (+=): dL/d constants
  T* scratch = nullptr;               // backward_scratch_size(batch) elements
};

// The whole sequence of one training call, for the weight gradients (see above).
template <class T>
struct CellSequenceGrad {
  int64_t rows = 0;                 // steps * batch, time-major: row r is sample r % batch
  int64_t batch = 0;
  const T* x = nullptr;             // [rows, input_size], what the steps read as x
  std::vector<const T*> states;     // [rows, state size] each, the states the steps read
  std::vector<const T*> constants;  // [batch, constant_size] each
  DropoutMasks<T> dropout;          // the masks of the call
  std::vector<const T*> tape;       // [rows, width] each
  const T* dz = nullptr;            // [rows, grad_width()], leading dimension ldz
  int64_t ldz = 0;
  std::vector<T*> d_constants;      // out, accumulated (+=): dL/d constants
};

template <class T>
class Cell {
 public:
  virtual ~Cell() = default;

  // Keras class name, e.g. "LSTMCell".
  virtual std::string class_name() const = 0;
  // Sizes of the state tensors in Keras order (LSTM: {units, units} for [h, c]).
  virtual std::vector<int64_t> state_sizes() const = 0;
  virtual int64_t output_size() const = 0;

  // Creates weights for `input_size` features per step and constants of the given sizes.
  // Throws ConfigError if the cell does not take constants but some are given.
  virtual void build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) = 0;
  virtual bool built() const = 0;
  virtual int64_t input_size() const = 0;

  // Weights in Keras order.
  virtual std::vector<Param<T>> params() = 0;

  virtual int64_t projection_size() const { return 0; }
  // out[r, :] = projection of x[r, :] (rows x projection_size()), dropout applied with the
  // masks of sample r % batch. Called only when projection_size() > 0.
  virtual void project_inputs(const T* /*x*/, int64_t /*rows*/, int64_t /*batch*/, const DropoutMasks<T>& /*masks*/,
                              T* /*out*/) const {}
  virtual int64_t scratch_size(int64_t /*batch*/) const { return 0; }
  virtual void step(const CellStep<T>& s) const = 0;

  // Dropout rates (Keras `dropout`, `recurrent_dropout`) and how many masks of each kind a
  // training call needs (0 when the rate is 0).
  virtual double dropout() const { return 0.0; }
  virtual double recurrent_dropout() const { return 0.0; }
  virtual int input_mask_count() const { return 0; }
  virtual int recurrent_mask_count() const { return 0; }

  // Width and rate of each dropout mask a training call needs, in the order the cell reads
  // them from DropoutMasks (input_mask_count() / recurrent_mask_count() entries). By default
  // input masks are input_size() wide with rate dropout(), recurrent masks
  // state_sizes()[0] wide with rate recurrent_dropout(); StackedCells overrides them.
  struct DropoutMaskSpec {
    int64_t width = 0;
    double rate = 0.0;
  };
  virtual std::vector<DropoutMaskSpec> input_dropout_masks() const {
    return std::vector<DropoutMaskSpec>(static_cast<size_t>(input_mask_count()), {input_size(), dropout()});
  }
  virtual std::vector<DropoutMaskSpec> recurrent_dropout_masks() const {
    return std::vector<DropoutMaskSpec>(static_cast<size_t>(recurrent_mask_count()),
                                        {state_sizes().at(0), recurrent_dropout()});
  }

  // Rate of a dropout mask [batch, steps, input_size] that the layer applies to the whole
  // input sequence before the cell sees it: a different mask at every step (tf.keras 2
  // LSTM/GRU layers on their cuDNN-compatible path; keras_layout.h). 0 = none. The layer
  // draws it, or takes it as the first fixed input mask; it is not in DropoutMasks.
  virtual double sequence_input_dropout() const { return 0.0; }

  // True if the cell reads CellStep::constants (Keras `constants`, tf.keras only).
  virtual bool accepts_constants() const { return false; }

  // True when step() and step_backward() compute each sample's rows from that sample's rows
  // only (every built-in cell): the layer may then run blocks of samples on separate threads
  // (rnnx/kernels/threads.h), calling step() concurrently on disjoint rows. False (the
  // default) keeps the whole batch on one thread.
  virtual bool rows_independent() const { return false; }

  // A fresh, unbuilt copy with the same options (Bidirectional makes its two directions so).
  virtual std::unique_ptr<Cell> clone_config() const = 0;

  // ---- Training (the protocol is described at the top of this file). ----
  // Whether the members below are implemented. The layer calls them only when true.
  virtual bool supports_backward() const { return false; }
  // Width of each tape entry step() records per sample.
  virtual std::vector<int64_t> tape_widths() const { return {}; }
  // Width of one dZ row.
  virtual int64_t grad_width() const { return 0; }
  virtual int64_t backward_scratch_size(int64_t /*batch*/) const { return 0; }
  // Once per backward call, before the first step_backward() / backward_inputs() of that
  // call (the weights do not change until the call's backward_params()).
  virtual void begin_backward() {}
  // One step back: writes d_states and dz (every element), may add to d_constants. Pure
  // like step(): never allocates or throws.
  virtual void step_backward(const CellStepGrad<T>& /*g*/) const {}
  // Accumulates (+=) every weight gradient over all rows of the call.
  virtual void backward_params(const CellSequenceGrad<T>& /*g*/) {}
  // d_x[r, :] = dL/dx for `rows` time-major rows of dz (row r belongs to sample r % batch,
  // whose input dropout masks apply), overwriting d_x [rows, input_size()]. Never allocates:
  // `scratch` holds backward_inputs_scratch_size(rows) elements.
  virtual void backward_inputs(const T* /*dz*/, int64_t /*ldz*/, int64_t /*rows*/, int64_t /*batch*/,
                               const DropoutMasks<T>& /*masks*/, T* /*d_x*/, T* /*scratch*/) const {}
  virtual int64_t backward_inputs_scratch_size(int64_t /*rows*/) const { return 0; }
};

}  // namespace rnnx
