#pragma once
// Keras LSTM layer (spec §2.1, §3): RNN over an LSTMCell.
// Outputs (out, h, c) with return_state; everything about the time loop, masks, stateful and dropout is
// documented in rnn.h.
//
//   LSTMOptions opts;
//   opts.units = 64;
//   opts.return_sequences = true;
//   LSTM<float> layer(opts, "encoder");
//   Tensor<float> y = layer(x);  // x: [batch, steps, features]
#include <memory>
#include <string>

#include "rnnx/cells/lstm_cell.h"
#include "rnnx/layers/rnn.h"

namespace rnnx {

// The Keras LSTM constructor arguments: the cell's plus the RNN layer's.
struct LSTMOptions : LSTMCellOptions, RNNOptions {};

template <class T>
class LSTM : public RNN<T> {
 public:
  // Throws ConfigError "LSTM '<name>': ..." for invalid options. When options.seed is
  // set, the layer seed (weights and dropout) is set from it.
  explicit LSTM(const LSTMOptions& options, std::string name = "lstm");
  // The same from the two halves (what a config loader has).
  LSTM(const LSTMCellOptions& cell_options, const RNNOptions& layer_options, std::string name = "lstm");

  std::string class_name() const override { return "LSTM"; }
  // The current options (the layer part reflects set_rnn_options()).
  LSTMOptions options() const;
  const LSTMCell<T>& lstm_cell() const { return static_cast<const LSTMCell<T>&>(this->cell()); }

  std::unique_ptr<RNN<T>> clone_config() const override;
};

extern template class LSTM<float>;
extern template class LSTM<double>;

}  // namespace rnnx
