#pragma once
// Keras SimpleRNN layer (spec §2.3, §3): RNN over a SimpleRNNCell.
// Outputs (out, h) with return_state; everything about the time loop, masks, stateful and dropout is
// documented in rnn.h.
//
//   SimpleRNNOptions opts;
//   opts.units = 64;
//   opts.return_sequences = true;
//   SimpleRNN<float> layer(opts, "encoder");
//   Tensor<float> y = layer(x);  // x: [batch, steps, features]
#include <memory>
#include <string>

#include "rnnx/cells/simple_rnn_cell.h"
#include "rnnx/layers/rnn.h"

namespace rnnx {

// The Keras SimpleRNN constructor arguments: the cell's plus the RNN layer's.
struct SimpleRNNOptions : SimpleRNNCellOptions, RNNOptions {};

template <class T>
class SimpleRNN : public RNN<T> {
 public:
  // Throws ConfigError "SimpleRNN '<name>': ..." for invalid options. When options.seed is
  // set, the layer seed (weights and dropout) is set from it.
  explicit SimpleRNN(const SimpleRNNOptions& options, std::string name = "simple_rnn");
  // The same from the two halves (what a config loader has).
  SimpleRNN(const SimpleRNNCellOptions& cell_options, const RNNOptions& layer_options, std::string name = "simple_rnn");

  std::string class_name() const override { return "SimpleRNN"; }
  // The current options (the layer part reflects set_rnn_options()).
  SimpleRNNOptions options() const;
  const SimpleRNNCell<T>& simple_rnn_cell() const { return static_cast<const SimpleRNNCell<T>&>(this->cell()); }

  std::unique_ptr<RNN<T>> clone_config() const override;
};

extern template class SimpleRNN<float>;
extern template class SimpleRNN<double>;

}  // namespace rnnx
