#pragma once
// Internal: what RNN::call hands to the active trace (rnnx/model/trace.h), and the
// reference routine that turns it into a TraceRecord. Kept out of the time loop: the loop
// only keeps the states each step read (as a training call does); the gates are recomputed
// here from the cell's weights, so the cell kernels know nothing of tracing.
#include <cstdint>
#include <vector>

#include "rnnx/cells/cell.h"
#include "rnnx/core/tensor.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/model/trace.h"

namespace rnnx::detail {

// One call of an RNN layer. Every buffer is time-major and indexed by input time t (row
// t * batch + b), as the training tape keeps them.
template <class T>
struct RecurrentCallView {
  int64_t batch = 0, steps = 0, features = 0;
  Mode mode = Mode::inference;
  const T* x = nullptr;                // [steps * batch, features], what the steps read
  std::vector<const T*> states_read;   // per state [steps * batch, size]
  std::vector<const T*> final_states;  // per state [batch, size], after the last step
  const Mask* mask = nullptr;          // the call's mask in the input's layout, or null
  DropoutMasks<T> dropout;             // the call's per-step masks (training only)
};

// Appends the record of `call` to `trace` (see trace.h for what it holds).
template <class T>
void record_recurrent_call(Trace<T>& trace, const RNN<T>& layer, const RecurrentCallView<T>& call);

}  // namespace rnnx::detail
