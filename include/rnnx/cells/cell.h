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
//    constants and dropout masks, writes every element of new_states and output, may use
//    scratch, and changes nothing else (it is const; the layer may call it in any order).
//    It must handle x_proj == null by projecting x itself (StackedCells passes null to
//    every cell after the first).
//  - step() never allocates, throws or checks shapes: the layer has checked them.
//  - build() creates the weights (drawing from `rng`) and throws ConfigError for constants
//    it does not take; state_sizes() / output_size() are known before build.
//  - Dropout masks are drawn by the layer, one [batch, width] mask per entry of
//    input_dropout_masks() / recurrent_dropout_masks(), and are the same for every step.
//  - clone_config() returns an unbuilt cell with the same options.
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

  // A fresh, unbuilt copy with the same options (Bidirectional makes its two directions so).
  virtual std::unique_ptr<Cell> clone_config() const = 0;
};

}  // namespace rnnx
