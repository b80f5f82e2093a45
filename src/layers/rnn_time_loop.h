#pragma once
// Internal: the time loops of the RNN layer (layers/rnn.h), forward and backward, and the
// workspace they reuse from call to call (design.md principle 6: a second call with the same
// shapes allocates nothing but what it returns, and zero-fills nothing it overwrites).
//
// Threads (rnnx/kernels/threads.h): a call's batch is split into one contiguous block of
// samples per thread and every block runs the whole sequence on its own thread, in one
// parallel region per loop: a sample's steps read only its own rows (Cell::rows_independent),
// so the blocks never wait for each other. The block bounds depend only on the thread count
// and the batch, so a given thread count gives the same bits on every run.
//
// Every buffer is time-major: row t * batch + b of a [steps * batch, n] buffer belongs to input
// step t and sample b; [batch, n] buffers hold one step. The loops check nothing (rnn.cpp
// checked the shapes) and never throw (cells never throw from step / step_backward).
#include <atomic>
#include <cstdint>
#include <vector>

#include "rnnx/cells/cell.h"

namespace rnnx::detail {

// `v` holds at least n elements afterwards; it grows (and zero-fills) only when too short.
template <class T>
T* at_least(std::vector<T>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
  return v.data();
}

template <class T>
struct RecurrentWorkspace;

// What one thread keeps between calls: its cell step, scratch and state pointers.
template <class T>
struct LoopThread {
  CellStep<T> step;
  CellStepGrad<T> grad;
  std::vector<T> scratch;
  std::vector<T*> a, b;  // the two state (or state-gradient) sets it alternates between
};

// One forward loop. Set every field after reset(); optional ones say so.
template <class T>
struct ForwardLoop {
  // Back to the defaults, keeping the vectors' storage.
  void reset() {
    std::vector<T*> a = std::move(state_a), b = std::move(state_b), record = std::move(states_record),
                    t = std::move(tape);
    std::vector<const T*> c = std::move(constants);
    std::vector<int64_t> cs = std::move(constant_sizes);
    DropoutMasks<T> d = std::move(dropout);
    *this = ForwardLoop();
    state_a = std::move(a), state_b = std::move(b), states_record = std::move(record), tape = std::move(t);
    constants = std::move(c), constant_sizes = std::move(cs), dropout = std::move(d);
    for (auto* v : {&state_a, &state_b, &states_record, &tape}) v->clear();
    constants.clear(), constant_sizes.clear(), dropout.input.clear(), dropout.recurrent.clear();
  }

  const Cell<T>* cell = nullptr;
  int64_t batch = 0, steps = 0, features = 0, proj_size = 0, out_size = 0;
  bool go_backwards = false, zero_output_for_mask = false;
  const T* x = nullptr;          // [steps * batch, features]
  const T* projected = nullptr;  // [steps * batch, proj_size], or null
  const std::vector<int64_t>* state_sizes = nullptr;
  // The states before the first step in state_a (first set); state_b is the second set.
  std::vector<T*> state_a, state_b;
  T* sequence = nullptr;            // [steps, batch, out] in processing order, or null: then
  T* last[2] = {nullptr, nullptr};  // two alternating [batch, out] steps
  const uint8_t* mask = nullptr;    // step t of sample b at mask[t * per_step + b * per_sample]
  int64_t mask_per_step = 0, mask_per_sample = 0;
  const T* zeros = nullptr;  // [batch, out] zeros (with a mask)
  DropoutMasks<T> dropout;
  const std::vector<int64_t>* input_mask_widths = nullptr;
  const std::vector<int64_t>* recurrent_mask_widths = nullptr;
  std::vector<const T*> constants;
  std::vector<int64_t> constant_sizes;
  std::vector<T*> states_record;  // per state [steps * batch, size]: what each step read; or empty
  std::vector<T*> tape;           // per tape entry [steps * batch, width]; empty in inference
  const std::vector<int64_t>* tape_widths = nullptr;
};

// Runs the loop. Afterwards the final states are in state_a when `steps` is even, else in
// state_b, and the last output in last[(steps - 1) % 2] (or the sequence's last step).
template <class T>
void run_forward(const ForwardLoop<T>& loop, RecurrentWorkspace<T>& ws, int threads);

// One backward loop (spec §2.5; the masked-step rules are rnn.h's). Set every field after
// reset().
template <class T>
struct BackwardLoop {
  // Back to the defaults, keeping the vectors' storage.
  void reset() {
    std::vector<T*> a = std::move(d_a), b = std::move(d_b), cell = std::move(d_next_cell), dc = std::move(d_constants);
    std::vector<const T*> st = std::move(states), tp = std::move(tape), c = std::move(constants);
    std::vector<int64_t> cs = std::move(constant_sizes);
    DropoutMasks<T> d = std::move(dropout);
    *this = BackwardLoop();
    d_a = std::move(a), d_b = std::move(b), d_next_cell = std::move(cell), d_constants = std::move(dc);
    states = std::move(st), tape = std::move(tp), constants = std::move(c), constant_sizes = std::move(cs);
    dropout = std::move(d);
    for (auto* v : {&d_a, &d_b, &d_next_cell, &d_constants}) v->clear();
    for (auto* v : {&states, &tape, &constants}) v->clear();
    constant_sizes.clear(), dropout.input.clear(), dropout.recurrent.clear();
  }

  Cell<T>* cell = nullptr;
  int64_t batch = 0, steps = 0, features = 0, out_size = 0, grad_width = 0;
  bool go_backwards = false, zero_output_for_mask = false, return_sequences = false;
  const T* d_sequence = nullptr;  // [steps, batch, out] in processing order, or null
  const T* d_last = nullptr;      // dL/d last output [batch, out] (without return_sequences), or null
  const std::vector<int64_t>* state_sizes = nullptr;
  // dL/d final states in d_a (first set; zeros when not given); d_b is the second set;
  // d_next_cell per state [batch, size] (with a mask).
  std::vector<T*> d_a, d_b, d_next_cell;
  T* d_step_out = nullptr;   // [batch, out]
  T* d_cell_out = nullptr;   // [batch, out]
  T* carry = nullptr;        // [batch, out], zero
  const T* zeros = nullptr;  // one zero row, at least as wide as the widest state and output
  const uint8_t* mask = nullptr;
  int64_t mask_per_step = 0, mask_per_sample = 0;
  const T* x = nullptr;          // [steps * batch, features]
  std::vector<const T*> states;  // per state [steps * batch, size]
  std::vector<const T*> tape;    // per entry [steps * batch, width]
  const std::vector<int64_t>* tape_widths = nullptr;
  DropoutMasks<T> dropout;
  const std::vector<int64_t>* input_mask_widths = nullptr;
  const std::vector<int64_t>* recurrent_mask_widths = nullptr;
  std::vector<const T*> constants;
  std::vector<T*> d_constants;  // accumulated (+=)
  std::vector<int64_t> constant_sizes;
  T* dz = nullptr;  // [steps * batch, grad_width]
};

// Buffers a layer reuses across calls. `busy` makes concurrent inference calls safe: a call
// that finds it taken uses a workspace of its own (rnn.cpp, WorkspaceLease).
template <class T>
struct RecurrentWorkspace {
  std::atomic<bool> busy{false};
  bool sizes_known = false;  // the cell's fixed sizes below (computed once: they allocate)
  std::vector<int64_t> state_sizes, tape_widths, input_mask_widths, recurrent_mask_widths;
  // Forward.
  std::vector<T> x, dropped, projected, sequence, last[2], zeros;
  std::vector<std::vector<T>> state_a, state_b;  // per state, [batch, size]
  // Backward.
  std::vector<T> d_transposed, d_step_out, d_cell_out, carry, dz, dx, input_scratch;
  std::vector<std::vector<T>> d_a, d_b, d_next_cell;
  std::vector<LoopThread<T>> threads;
  // The loops' descriptions and the cell's whole-sequence view, kept for their vectors.
  ForwardLoop<T> forward;
  BackwardLoop<T> backward;
  CellSequenceGrad<T> sequence_grad;
};

// Runs the loop. Afterwards dL/d initial states are in d_a when `steps` is even, else in d_b.
template <class T>
void run_backward(const BackwardLoop<T>& loop, RecurrentWorkspace<T>& ws, int threads);

// How many blocks a batch is split into for `threads` threads: 1 when the cell's rows are
// not independent, or when the call is too small to pay for waking a second thread
// (batch * steps * width², width = the sum of the state sizes, under about a million: a
// gradient check's calls ran ten times slower on two busy cores).
template <class T>
int loop_blocks(const Cell<T>& cell, int64_t batch, int64_t steps, const std::vector<int64_t>& state_sizes,
                int threads);

}  // namespace rnnx::detail
