#pragma once
// Trace: the per-step gates and states of recurrent layers during a call, for explaining
// what a network does (`rnnx explain`; Karpathy, Johnson & Fei-Fei 2015, "Visualizing and
// understanding recurrent networks").
//
//   Trace<float> trace;
//   {
//     TraceScope<float> scope(trace);  // records on this thread while it lives
//     model.predict(inputs);
//   }
//   const Tensor<float>& f = trace.get("lstm", "forget_gate");  // [batch, steps, units]
//
// What: while a TraceScope is alive, every call of an RNN layer (LSTM, GRU, SimpleRNN, or
// RNN over any cell) made on the scope's thread appends one TraceRecord: directly, inside
// Bidirectional (two records, "forward_<name>" and "backward_<name>"), TimeDistributed, or
// a model used as a layer. Records are in call order.
//
// Quantities, each [batch, steps, units] in INPUT time order (index t is the step that read
// input step t, also for go_backwards, whose sequence output is in processing order):
//   LSTMCell       input_gate, forget_gate, cell_candidate (c̃ = φ(z_c)), output_gate,
//                  cell_state, hidden_state
//   GRUCell        update_gate, reset_gate, candidate (h̃), state  (both reset_after forms)
//   SimpleRNNCell  state
//   other cells    state_0, state_1, ... (the cell's states, Cell::state_sizes() order);
//                  no gates: user-defined cells, StackedCells and the TF1 cells are not
//                  looked into.
// States are the values after the step (h_t, c_t), as the layer carries them. Gates are
// recomputed after the call by a reference routine from the cell's weights, the step's
// input and the states it read, with the call's dropout masks in training mode; they equal
// the cell's own values to rounding (summation order may differ).
//
// Masked steps (spec §3.4): at a step where a sample is masked, the states hold what the
// layer carried (the previous values: zeros or initial_state before the first real step);
// the gates hold what the cell computed from that step's input and the carried states, which
// the layer discarded. TraceRecord::mask says which steps were real.
//
// Requires: nothing; the trace must outlive its scopes. A Trace is not thread-safe, and
// each thread has its own active scope (scopes nest: the inner one records).
// Ensures: without an active scope a call records nothing and does no extra work beyond one
// pointer check; with one, the layer's outputs are unchanged (the trace only reads).
// Not recorded: layers other than RNN (Dense, Embedding, ...); what a stateful layer stores
// is unchanged by tracing.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/layers/layer.h"

namespace rnnx {

// One call of one recurrent layer.
template <class T>
struct TraceRecord {
  const Layer<T>* layer = nullptr;  // the layer called (identity only; may dangle later)
  std::string layer_name;           // Layer::name() at the call
  std::string layer_class;          // "LSTM", "GRU", "SimpleRNN", "RNN"
  std::string cell_class;           // "LSTMCell", ...
  int64_t call_index = 0;           // how many earlier calls of this layer the trace holds
  bool go_backwards = false;
  Mode mode = Mode::inference;
  // The sequence the cell read, [batch, steps, features] in input time order (after the
  // whole-sequence input dropout of a training call, if any; per-step dropout not applied).
  Tensor<T> input;
  Mask mask;  // [batch, steps], 1 = real step; empty when the call had none
  // Named quantities, in the order listed above.
  std::vector<std::pair<std::string, Tensor<T>>> quantities;

  bool has(const std::string& quantity) const;
  // ConfigError naming the recorded quantities when there is no such quantity.
  const Tensor<T>& get(const std::string& quantity) const;
  int64_t batch() const { return input.dim(0); }
  int64_t steps() const { return input.dim(1); }
};

template <class T>
class Trace {
 public:
  const std::vector<TraceRecord<T>>& records() const { return records_; }
  bool empty() const { return records_.empty(); }
  void clear() { records_.clear(); }

  // The `call`-th recorded call of the layer named `layer` (of that layer object, when a
  // nested model reuses the name: use the Layer& overload). ConfigError, listing the recorded
  // layers, when there is none.
  const TraceRecord<T>& record(const std::string& layer, int64_t call = 0) const;
  const TraceRecord<T>& record(const Layer<T>& layer, int64_t call = 0) const;
  // record(layer).get(quantity).
  const Tensor<T>& get(const std::string& layer, const std::string& quantity) const;

  // Appends a record, setting its call_index (used by the recurrent layers).
  void add(TraceRecord<T> record);

 private:
  std::vector<TraceRecord<T>> records_;
};

// Makes `trace` the active trace of this thread until the scope ends (then the previous one,
// if any, is active again). Scopes must end in reverse order of creation.
template <class T>
class TraceScope {
 public:
  explicit TraceScope(Trace<T>& trace);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  Trace<T>* previous_;
};

namespace detail {
// The active trace of this thread, or null (what TraceScope sets; read by RNN::call).
template <class T>
Trace<T>* active_trace();
}  // namespace detail

extern template struct TraceRecord<float>;
extern template struct TraceRecord<double>;
extern template class Trace<float>;
extern template class Trace<double>;
extern template class TraceScope<float>;
extern template class TraceScope<double>;

}  // namespace rnnx
