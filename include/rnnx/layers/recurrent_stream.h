#pragma once
// Streaming inference through a recurrent layer, one time step per call (real-time audio,
// control loops): a RecurrentStream keeps the states of `streams` independent sequences and
// advances all of them by one step per step() call, with the layer's cell and weights. After
// construction it allocates nothing.
//
//   LSTM<float> lstm(opts);  lstm.build({{1, -1, 16}});
//   RecurrentStream<float> stream(lstm);          // one stream
//   for (each sample frame x[16]) { auto y = stream.step(x); ... }
//
// Requires: a built RNN layer (LSTM, GRU, SimpleRNN or an RNN over another cell) that
// outlives the stream. The weights are read at every step, so weight changes apply to the
// following steps. The layer's own options about whole calls (return_sequences, stateful
// storage, masks, dropout) do not apply: a stream runs in inference mode, forwards, from its
// own states.
// Ensures: the outputs of successive step() calls equal those of one layer call over the
// sequence so far (inference, return_sequences) to rounding - the stream projects the input
// of one step at a time instead of the whole sequence at once.
// Errors: StateError when the layer is not built; ConfigError for a go_backwards layer (a
// stream cannot run backwards) or a cell that takes constants; ShapeError for streams < 1, an
// input of the wrong size, or a stream index out of range. Not thread-safe: one stream per
// thread (several streams may share a layer).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnx/cells/cell.h"
#include "rnnx/layers/rnn.h"

namespace rnnx {

template <class T>
class RecurrentStream {
 public:
  explicit RecurrentStream(const RNN<T>& layer, int64_t streams = 1);

  int64_t streams() const { return streams_; }
  int64_t input_size() const { return input_size_; }
  int64_t output_size() const { return output_size_; }

  // Advances every stream by one step. x is [streams, input_size] (row s feeds stream s).
  // Returns the step's output [streams, output_size], valid until the next step() or reset.
  std::span<const T> step(std::span<const T> x);
  // State i (the cell's state order, e.g. LSTM [h, c]) of every stream, [streams, size].
  std::span<const T> state(size_t i) const;
  // Sets every state of every stream to zero (the start of a sequence).
  void reset();
  // Sets the states of one stream to zero.
  void reset_stream(int64_t stream);

 private:
  std::string where_;  // for messages
  const Cell<T>* cell_;
  int64_t streams_, input_size_, output_size_, projection_size_;
  std::vector<int64_t> state_sizes_;
  std::vector<std::vector<T>> states_, next_;
  std::vector<T> projected_, output_, scratch_;
  DropoutMasks<T> no_dropout_;
  CellStep<T> step_;
};

extern template class RecurrentStream<float>;
extern template class RecurrentStream<double>;

}  // namespace rnnx
