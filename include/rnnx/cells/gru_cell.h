#pragma once
// Keras GRUCell (spec §2.2, K3 keras/src/layers/rnn/gru.py). Blocks z, r, h.
//
// reset_after = true (Keras 3 / tf.keras 2 default, cuDNN-compatible), bias (2, 3U):
//   xz, xr, xh = blocks of (x @ kernel + bias[0])
//   rz, rr, rh = blocks of (h @ recurrent_kernel + bias[1])
//   z = σr(xz + rz)   r = σr(xr + rr)   hh = φ(xh + r * rh)
// reset_after = false (Keras 2 default), bias (3U):
//   z = σr(x@K_z + b_z + h@R_z)   r = σr(x@K_r + b_r + h@R_r)
//   hh = φ(x@K_h + b_h + (r * h) @ R_h)
// Both: h' = z * h + (1 - z) * hh; output = h', state [h'].
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

// Every Keras GRUCell argument (spec §3.1), with the Keras 3 defaults.
struct GRUCellOptions {
  int64_t units = 0;  // required, > 0
  Activation activation{ActivationKind::tanh};
  Activation recurrent_activation{ActivationKind::sigmoid};
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::from_name("glorot_uniform");
  Initializer recurrent_initializer = Initializer::from_name("orthogonal");
  Initializer bias_initializer = Initializer::from_name("zeros");
  // Keras kernel_/recurrent_/bias_regularizer and _constraint (default None); params()
  // reports them on the weights, the training code applies them (train/regularizers.h).
  Regularizer kernel_regularizer{}, recurrent_regularizer{}, bias_regularizer{};
  Constraint kernel_constraint{}, recurrent_constraint{}, bias_constraint{};
  // Rates in [0, 1) (ConfigError otherwise; see LSTMCellOptions and spec §3.5).
  double dropout = 0.0;
  double recurrent_dropout = 0.0;
  // 1 or 2 (spec §2.4). recurrent_dropout > 0 forces 1, as in Keras.
  int implementation = 2;
  bool reset_after = true;  // Keras 2 / tf.compat.v1 default: false (keras_layout.h)
  std::optional<uint64_t> seed;
  // With implementation 1: one dropout mask per gate (3 input + 3 recurrent); see
  // LSTMCellOptions::per_gate_dropout_masks.
  bool per_gate_dropout_masks = true;
  // Input dropout with one mask [batch, steps, features] for the whole sequence (a new mask
  // every step), applied by the layer; the cell then takes no input masks. This is what
  // tf.keras 2 GRU layers do on their cuDNN-compatible path
  // (keras::tf_keras_whole_sequence_input_dropout()).
  bool whole_sequence_input_dropout = false;
};

template <class T>
class GRUCell : public Cell<T> {
 public:
  explicit GRUCell(GRUCellOptions options);
  // Throws ConfigError, prefixed with `where`, for invalid options.
  static void validate(const GRUCellOptions& options, const std::string& where);

  const GRUCellOptions& options() const { return options_; }
  int64_t units() const { return options_.units; }
  int implementation() const;

  std::string class_name() const override { return "GRUCell"; }
  std::vector<int64_t> state_sizes() const override { return {options_.units}; }
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

  // Training (cell.h; spec §2.5). Tape: z and r (2U), the reset term (U: h @ R_h + b_rec_h
  // with reset_after, else r * h), the candidate (U), and, only for activations whose
  // derivative needs the input (kernels::derivative_needs_input), the z and r
  // pre-activations (2U) and the candidate's (U). dZ rows: [dz, dr, dh_input] (3U), plus
  // dh_recurrent (U) with reset_after, where the candidate's input and recurrent parts differ.
  // The gate arithmetic of a step is one fused kernel (kernels/cell_kernels.h), two around the
  // candidate's product without reset_after.
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

  const Tensor<T>& kernel() const { return kernel_; }
  const Tensor<T>& recurrent_kernel() const { return recurrent_kernel_; }
  const Tensor<T>& bias() const { return bias_; }

 private:
  bool per_gate_masks() const;
  // Tape indices of the optional pre-activation records (0: not kept).
  size_t tape_zr_pre_index() const;
  size_t tape_cand_pre_index() const;
  void project(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out, T* tmp) const;

  GRUCellOptions options_;
  bool built_ = false;
  int64_t input_size_ = 0;
  Tensor<T> kernel_, recurrent_kernel_, bias_;
  Tensor<T> kernel_grad_, recurrent_kernel_grad_, bias_grad_;
  Tensor<T> kernel_t_, recurrent_kernel_t_;  // transposed by begin_backward()
};

extern template class GRUCell<float>;
extern template class GRUCell<double>;

}  // namespace rnnx
