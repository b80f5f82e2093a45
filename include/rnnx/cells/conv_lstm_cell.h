#pragma once
// Keras ConvLSTMCell (K3 keras/src/layers/rnn/conv_lstm.py): an LSTM cell whose two matrix
// products are convolutions over a frame of `rank` spatial axes (rank 1: [steps_or_rows,
// channels], rank 2: [rows, cols, channels]; channels_last).
//
//   z = conv(x, kernel; strides, padding, dilation) + bias + conv_same(h, recurrent_kernel)
//   i = σr(z_i)  f = σr(z_f)  g = φ(z_c)  o = σr(z_o)       (blocks in Keras order i, f, c, o)
//   c' = f * c + i * g      h' = o * φ(c')      output = h', states [h', c']
//
// The recurrent convolution always has 'same' padding, stride 1 and no dilation (Keras).
// Weights: kernel [k..., in_channels, 4F], recurrent_kernel [k..., F, 4F], bias [4F].
//
// Layout (why this fits the generic RNN layer, rnn.h): every per-step buffer is the
// channels_last frame flattened per sample, so a step input is [batch, rows*cols*channels]
// and each state is [batch, out_rows*out_cols*F]. Row-major flattening makes a frame a
// contiguous block, so the RNN layer's time loop, masks, go_backwards, stateful storage,
// initial_state and dropout-mask drawing work unchanged; only ConvLSTM1D/ConvLSTM2D
// (layers/conv_lstm.h) reshape at their boundary. Inside, a step sees [batch*P, 4F] gate
// rows (P = out_rows*out_cols positions), which is LSTMCell's arithmetic with P times more
// rows, and its convolutions are im2col + kernels::gemm.
//
// Dropout (Keras DropoutRNNCell with dropout_mask_count = 4): four input masks shaped like
// the whole input frame and four recurrent masks shaped like the whole state frame, one per
// gate (not per channel), fixed over time. They reach the cell as the RNN layer's
// [batch, width] masks with the default widths (input_size(), state_sizes()[0]).
//
// Requires: set_input_geometry() before state_sizes() / output_size() / build() (the
// ConvLSTM layer does it from its input shape); build(input_size) with input_size equal to
// the frame size. data_format must be channels_last (ConfigError otherwise).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/activations.h"
#include "rnnx/cells/cell.h"
#include "rnnx/initializers.h"
#include "rnnx/train/regularizers.h"

namespace rnnx {

// Every Keras ConvLSTMCell argument, with the Keras 3 defaults. Tuples have `rank` entries.
struct ConvLSTMCellOptions {
  int rank = 2;                      // 1 (ConvLSTM1D) or 2 (ConvLSTM2D)
  int64_t filters = 0;               // required, > 0
  std::vector<int64_t> kernel_size;  // required, rank entries > 0
  std::vector<int64_t> strides;      // default all 1
  std::string padding = "valid";     // "valid" or "same"
  std::string data_format = "channels_last";
  std::vector<int64_t> dilation_rate;  // default all 1; > 1 excludes strides > 1 (Keras)
  Activation activation{ActivationKind::tanh};
  Activation recurrent_activation{ActivationKind::sigmoid};
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::from_name("glorot_uniform");
  Initializer recurrent_initializer = Initializer::from_name("orthogonal");
  Initializer bias_initializer = Initializer::from_name("zeros");
  bool unit_forget_bias = true;  // forget block of the bias starts at 1 (initialisation only)
  Regularizer kernel_regularizer{}, recurrent_regularizer{}, bias_regularizer{};
  Constraint kernel_constraint{}, recurrent_constraint{}, bias_constraint{};
  double dropout = 0.0;            // in [0, 1)
  double recurrent_dropout = 0.0;  // in [0, 1)
  std::optional<uint64_t> seed;
};

// The spatial geometry of one frame: the input and the convolution output (= state) grid.
struct ConvLSTMGeometry {
  std::vector<int64_t> in_spatial;  // rank entries
  int64_t in_channels = 0;
  std::vector<int64_t> out_spatial;  // rank entries
};

template <class T>
class ConvLSTMCell : public Cell<T> {
 public:
  // Fills defaults (strides, dilation_rate all 1) and throws ConfigError (see validate()).
  explicit ConvLSTMCell(ConvLSTMCellOptions options);

  // Throws ConfigError, prefixed with `where`, for rank not 1 or 2, filters <= 0, a tuple
  // with the wrong length or a non-positive entry, padding not valid/same, data_format not
  // channels_last, strides > 1 together with dilation > 1 (Keras refuses it), a rate
  // outside [0, 1). Fills empty strides / dilation_rate with ones.
  static void validate(ConvLSTMCellOptions& options, const std::string& where);

  // The output (state) grid of an input frame: Keras compute_conv_output_shape (TF rules).
  // Unknown (-1) dims stay -1. ShapeError, prefixed with `where`, when a 'valid' window is
  // longer than the input.
  static std::vector<int64_t> output_spatial(const ConvLSTMCellOptions& o, const std::vector<int64_t>& in_spatial,
                                             const std::string& where);

  // Sets the frame geometry (known spatial dims and channels). ShapeError if the cell is
  // built for another one.
  void set_input_geometry(const std::vector<int64_t>& in_spatial, int64_t in_channels, const std::string& where);
  bool has_geometry() const { return !geometry_.in_spatial.empty(); }
  const ConvLSTMGeometry& geometry() const { return geometry_; }
  const ConvLSTMCellOptions& options() const { return options_; }

  std::string class_name() const override { return "ConvLSTMCell"; }
  std::vector<int64_t> state_sizes() const override { return {state_size(), state_size()}; }
  int64_t output_size() const override { return state_size(); }

  void build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) override;
  bool built() const override { return built_; }
  int64_t input_size() const override { return input_size_; }
  std::vector<Param<T>> params() override;

  int64_t scratch_size(int64_t batch) const override;
  void step(const CellStep<T>& s) const override;

  double dropout() const override { return options_.dropout; }
  double recurrent_dropout() const override { return options_.recurrent_dropout; }
  int input_mask_count() const override { return options_.dropout > 0.0 ? 4 : 0; }
  int recurrent_mask_count() const override { return options_.recurrent_dropout > 0.0 ? 4 : 0; }

  bool rows_independent() const override { return true; }
  std::unique_ptr<Cell<T>> clone_config() const override;

  // Training. Tape: z (P*4F pre-activations), gates (P*4F), c' (P*F), φ(c') (P*F).
  // dZ rows: the P*4F pre-activation gradients of a sample.
  bool supports_backward() const override { return true; }
  std::vector<int64_t> tape_widths() const override;
  int64_t grad_width() const override { return positions() * 4 * options_.filters; }
  int64_t backward_scratch_size(int64_t batch) const override;
  void step_backward(const CellStepGrad<T>& g) const override;
  void backward_params(const CellSequenceGrad<T>& g) override;
  void backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* d_x,
                       T* scratch) const override;
  int64_t backward_inputs_scratch_size(int64_t rows) const override;

  const Tensor<T>& kernel() const { return kernel_; }
  const Tensor<T>& recurrent_kernel() const { return recurrent_kernel_; }
  const Tensor<T>& bias() const { return bias_; }

  // A 2-D convolution's geometry (1-D convolutions have a width-1 second axis).
  struct Conv {
    int64_t in_r = 1, in_c = 1, channels = 0;
    int64_t k_r = 1, k_c = 1, s_r = 1, s_c = 1, d_r = 1, d_c = 1, pad_t = 0, pad_l = 0;
    int64_t out_r = 1, out_c = 1;
    int64_t in_size() const { return in_r * in_c * channels; }
    int64_t positions() const { return out_r * out_c; }
    int64_t patch() const { return k_r * k_c * channels; }
  };

 private:
  int64_t positions() const;
  int64_t state_size() const { return positions() * options_.filters; }
  void require_geometry(const char* what) const;

  ConvLSTMCellOptions options_;
  ConvLSTMGeometry geometry_;
  Conv input_conv_, recurrent_conv_;
  bool built_ = false;
  int64_t input_size_ = 0;
  Tensor<T> kernel_, recurrent_kernel_, bias_;
  Tensor<T> kernel_grad_, recurrent_kernel_grad_, bias_grad_;
};

extern template class ConvLSTMCell<float>;
extern template class ConvLSTMCell<double>;

}  // namespace rnnx
