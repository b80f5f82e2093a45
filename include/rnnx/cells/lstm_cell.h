#pragma once
// Keras LSTMCell (spec §2.1, K3 keras/src/layers/rnn/lstm.py).
//
//   z = x @ kernel + h @ recurrent_kernel + bias          (blocks i, f, c, o)
//   i = σr(z_i)  f = σr(z_f)  g = φ(z_c)  o = σr(z_o)
//   c' = f * c + i * g      h' = o * φ(c')      output = h', states [h', c']
//
// Both implementations sum (x@K + b) + h@R: the bias is folded into the input projection
// of the whole sequence (Keras implementation 2 adds it last, (x@K + h@R) + b; the results
// differ in rounding only). The gate arithmetic of a step is one fused kernel
// (kernels/cell_kernels.h). Weights: kernel (D, 4U), recurrent_kernel (U, 4U), bias (4U)
// (if use_bias), in that order.
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

// Every Keras LSTMCell argument (spec §3.1), with the Keras 3 defaults.
struct LSTMCellOptions {
  int64_t units = 0;  // required, > 0
  Activation activation{ActivationKind::tanh};
  Activation recurrent_activation{ActivationKind::sigmoid};
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::from_name("glorot_uniform");
  Initializer recurrent_initializer = Initializer::from_name("orthogonal");
  Initializer bias_initializer = Initializer::from_name("zeros");
  // The forget block of the bias starts at exactly 1.0 (not bias_initializer + 1); the
  // other blocks still use bias_initializer (spec §2.1). Initialisation only.
  bool unit_forget_bias = true;
  // Keras kernel_/recurrent_/bias_regularizer and _constraint (default None); params()
  // reports them on the weights, the training code applies them (train/regularizers.h).
  Regularizer kernel_regularizer{}, recurrent_regularizer{}, bias_regularizer{};
  Constraint kernel_constraint{}, recurrent_constraint{}, bias_constraint{};
  // Rates in [0, 1) (ConfigError otherwise; Keras clips to [0, 1] and treats 1 as "off",
  // spec §3.5 - rnnx rejects 1 rather than copy that edge case).
  double dropout = 0.0;
  double recurrent_dropout = 0.0;
  // 1 or 2 (spec §2.4). recurrent_dropout > 0 forces 1, as in Keras.
  int implementation = 2;
  // Keras `seed` (dropout randomness). The LSTM layer seeds itself from it when set.
  std::optional<uint64_t> seed;
  // With implementation 1: one dropout mask per gate (4 input + 4 recurrent) instead of one
  // shared input and one shared recurrent mask. tf.keras, Keras 1/2 and Keras >= 3.8 draw
  // per-gate masks; Keras 3.0-3.7 shared them (keras_layout.h, recurrent_defaults()).
  bool per_gate_dropout_masks = true;
  // Input dropout with one mask [batch, steps, features] for the whole sequence (a new mask
  // every step), applied by the layer; the cell then takes no input masks. This is what
  // tf.keras 2 LSTM layers do on their cuDNN-compatible path
  // (keras::tf_keras_whole_sequence_input_dropout()).
  bool whole_sequence_input_dropout = false;
};

template <class T>
class LSTMCell : public Cell<T> {
 public:
  // Throws ConfigError for invalid options (see validate()).
  explicit LSTMCell(LSTMCellOptions options);

  // Throws ConfigError, prefixed with `where`, if units <= 0, a rate is outside [0, 1) or
  // implementation is not 1 or 2.
  static void validate(const LSTMCellOptions& options, const std::string& where);

  const LSTMCellOptions& options() const { return options_; }
  int64_t units() const { return options_.units; }
  // The implementation actually used: 1 when recurrent_dropout > 0, else the option.
  int implementation() const;

  std::string class_name() const override { return "LSTMCell"; }
  std::vector<int64_t> state_sizes() const override { return {options_.units, options_.units}; }
  int64_t output_size() const override { return options_.units; }

  void build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) override;
  bool built() const override { return built_; }
  int64_t input_size() const override { return input_size_; }
  std::vector<Param<T>> params() override;

  int64_t projection_size() const override;
  void project_inputs(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out) const override;
  int64_t scratch_size(int64_t batch) const override;
  void step(const CellStep<T>& s) const override;

  double dropout() const override { return options_.dropout; }
  double recurrent_dropout() const override { return options_.recurrent_dropout; }
  int input_mask_count() const override;
  double sequence_input_dropout() const override;
  int recurrent_mask_count() const override;

  bool rows_independent() const override { return true; }
  std::unique_ptr<Cell<T>> clone_config() const override;

  // Training (cell.h; spec §2.5). Tape: gates (4U, i f g o after their activations), φ(c')
  // (U), and, only for activations whose derivative needs the input
  // (kernels::derivative_needs_input), z (4U, pre-activations) and c' (U). dZ rows: the 4U
  // pre-activation gradients.
  bool supports_backward() const override { return true; }
  std::vector<int64_t> tape_widths() const override;
  int64_t grad_width() const override;
  int64_t backward_scratch_size(int64_t batch) const override;
  void begin_backward() override;
  void step_backward(const CellStepGrad<T>& g) const override;
  void backward_params(const CellSequenceGrad<T>& g) override;
  void backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* d_x,
                       T* scratch) const override;
  int64_t backward_inputs_scratch_size(int64_t rows) const override;

  // Weights (valid after build).
  const Tensor<T>& kernel() const { return kernel_; }
  const Tensor<T>& recurrent_kernel() const { return recurrent_kernel_; }
  const Tensor<T>& bias() const { return bias_; }

 private:
  bool per_gate_masks() const;
  // Whether the tape keeps the pre-activations, and the tape index of c' (0: not kept).
  bool records_pre() const;
  size_t tape_c_index() const;
  // Projection of `rows` rows of x, bias included.
  void project(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out, T* tmp) const;

  LSTMCellOptions options_;
  bool built_ = false;
  int64_t input_size_ = 0;
  Tensor<T> kernel_, recurrent_kernel_, bias_;
  Tensor<T> kernel_grad_, recurrent_kernel_grad_, bias_grad_;
  Tensor<T> kernel_t_, recurrent_kernel_t_;  // transposed by begin_backward()
};

extern template class LSTMCell<float>;
extern template class LSTMCell<double>;

}  // namespace rnnx
