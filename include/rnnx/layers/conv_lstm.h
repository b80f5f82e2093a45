#pragma once
// Keras ConvLSTM1D / ConvLSTM2D (K3 keras/src/layers/rnn/conv_lstm.py, conv_lstm1d.py,
// conv_lstm2d.py): the RNN layer (rnn.h) over a ConvLSTMCell (cells/conv_lstm_cell.h).
//
// Shapes (channels_last):
//   input          ConvLSTM1D [batch, time, steps, channels]; ConvLSTM2D [batch, time,
//                  rows, cols, channels] (spatial dims and channels known)
//   mask           uint8 [batch, time], as for every recurrent layer
//   initial_state  [h, c], each [batch, out_spatial..., filters]
//   output         [batch, time, out_spatial..., filters] with return_sequences, else
//                  [batch, out_spatial..., filters]; states [batch, out_spatial..., filters]
// where out_spatial follows the input convolution's padding / strides / dilation (Keras
// compute_conv_output_shape).
//
// How: the layer IS an RNN<T> (so models, files, Bidirectional, stateful, dropout masks and
// the trainer treat it as a recurrent layer); it only reshapes at its boundary. A frame
// flattened row-major is one contiguous [rows*cols*channels] block, so call() hands the RNN
// layer [batch, time, frame_size] and reshapes what comes back; backward() does the same
// to the gradients. Everything else (time loop, masked steps, go_backwards, stateful,
// dropout, initial_state, truncated stateful gradients) is rnn.h's, documented there.
// Dropout masks set with set_fixed_dropout_masks() are [batch, frame_size] (input) and
// [batch, state_size] (recurrent), four of each in gate order i, f, c, o (Keras draws one
// per gate, shaped like the whole frame / state).
//
// Errors: ShapeError for an input of the wrong rank or unknown spatial / channel dims, for
// frames other than those the layer was built for, for a 'valid' window longer than the
// frame, and for initial states of the wrong shape; ConfigError for constants and for
// invalid options (conv_lstm_cell.h).
#include <memory>
#include <string>
#include <vector>

#include "rnnx/cells/conv_lstm_cell.h"
#include "rnnx/layers/rnn.h"

namespace rnnx {

// The Keras ConvLSTM1D / ConvLSTM2D constructor arguments: the cell's plus the RNN layer's.
struct ConvLSTMOptions : ConvLSTMCellOptions, RNNOptions {};

template <class T>
class ConvLSTM : public RNN<T> {
 public:
  // Throws ConfigError "ConvLSTM2D '<name>': ..." for invalid options (options.rank picks
  // the class). When options.seed is set, the layer seed is set from it.
  explicit ConvLSTM(ConvLSTMOptions options, std::string name = "conv_lstm");
  ConvLSTM(const ConvLSTMCellOptions& cell_options, const RNNOptions& layer_options, std::string name);

  std::string class_name() const override;
  ConvLSTMOptions options() const;
  const ConvLSTMCell<T>& conv_lstm_cell() const { return static_cast<const ConvLSTMCell<T>&>(this->cell()); }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T>& in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>>& grad_outputs) override;

  std::unique_ptr<RNN<T>> clone_config() const override;

 private:
  int rank() const { return conv_lstm_cell().options().rank; }
  // The input's spatial dims and channels after checking its rank (ShapeError).
  void split_input_shape(const Shape& shape, std::vector<int64_t>& spatial, int64_t& channels) const;
  // [batch, out_spatial..., filters] for a batch, given the built geometry.
  Shape state_shape(int64_t batch) const;
  ConvLSTMCell<T>& mutable_cell() { return static_cast<ConvLSTMCell<T>&>(this->cell()); }
};

extern template class ConvLSTM<float>;
extern template class ConvLSTM<double>;

}  // namespace rnnx
