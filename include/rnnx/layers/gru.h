#pragma once
// Keras GRU layer (spec §2.2, §3): RNN over a GRUCell.
// Outputs (out, h) with return_state; everything about the time loop, masks, stateful and dropout is
// documented in rnn.h.
//
//   GRUOptions opts;
//   opts.units = 64;
//   opts.return_sequences = true;
//   GRU<float> layer(opts, "encoder");
//   Tensor<float> y = layer(x);  // x: [batch, steps, features]
#include <memory>
#include <string>

#include "rnnx/cells/gru_cell.h"
#include "rnnx/layers/rnn.h"

namespace rnnx {

// The Keras GRU constructor arguments: the cell's plus the RNN layer's.
struct GRUOptions : GRUCellOptions, RNNOptions {};

template <class T>
class GRU : public RNN<T> {
 public:
  // Throws ConfigError "GRU '<name>': ..." for invalid options. When options.seed is
  // set, the layer seed (weights and dropout) is set from it.
  explicit GRU(const GRUOptions& options, std::string name = "gru");
  // The same from the two halves (what a config loader has).
  GRU(const GRUCellOptions& cell_options, const RNNOptions& layer_options, std::string name = "gru");

  std::string class_name() const override { return "GRU"; }
  // The current options (the layer part reflects set_rnn_options()).
  GRUOptions options() const;
  const GRUCell<T>& gru_cell() const { return static_cast<const GRUCell<T>&>(this->cell()); }

  std::unique_ptr<RNN<T>> clone_config() const override;
};

extern template class GRU<float>;
extern template class GRU<double>;

}  // namespace rnnx
