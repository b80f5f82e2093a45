#pragma once
// TF1 LSTM cells (tf.compat.v1.nn.rnn_cell.BasicLSTMCell / LSTMCell; spec §6, code in
// tf_keras/layers/rnn/legacy_cells.py). Differences from Keras LSTM:
//  - one kernel (D + H, 4U) acting on concat([x, h]) and a bias (4U), gate order i, j, f, o
//    (j = candidate); H = num_proj if set, else U;
//  - forget_bias is added at run time: f_gate = σ(f + forget_bias); gates are plain sigmoid;
//  - the states are (c, h), in that order (state_sizes() = {U, H}).
// LSTMCell extras: peepholes (w_f_diag, w_i_diag, w_o_diag), cell_clip, projection
// (projection/kernel (U, num_proj)) and proj_clip:
//   c' = σ(f + fb + w_f*c) * c + σ(i + w_i*c) * φ(j);  c' = clip(c', ±cell_clip)
//   m  = σ(o + w_o*c') * φ(c');  m = clip(m @ P, ±proj_clip);  output m, states (c', m)
// Weights in order: kernel, bias, [w_f_diag, w_i_diag, w_o_diag], [projection/kernel].
// TF1 cells have no dropout (TF1 used a DropoutWrapper) and no constants.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/activations.h"
#include "rnnx/cells/cell.h"
#include "rnnx/initializers.h"

namespace rnnx {

struct TF1LSTMCellOptions {
  int64_t num_units = 0;  // required, > 0
  bool use_peepholes = false;
  std::optional<double> cell_clip;  // >= 0 when set
  // Used for the kernel, the peepholes and the projection (TF1 default: glorot_uniform);
  // the bias starts at zeros.
  Initializer initializer = Initializer::from_name("glorot_uniform");
  std::optional<int64_t> num_proj;  // > 0 when set
  std::optional<double> proj_clip;  // >= 0 when set; used only with num_proj
  double forget_bias = 1.0;
  Activation activation{ActivationKind::tanh};
};

// tf.compat.v1.nn.rnn_cell.LSTMCell.
template <class T>
class TF1LSTMCell : public Cell<T> {
 public:
  explicit TF1LSTMCell(TF1LSTMCellOptions options);
  // Throws ConfigError, prefixed with `where`, for invalid options.
  static void validate(const TF1LSTMCellOptions& options, const std::string& where);

  const TF1LSTMCellOptions& options() const { return options_; }
  int64_t units() const { return options_.num_units; }
  // H: the size of the output and of the h state (num_proj if set, else num_units).
  int64_t recurrent_size() const { return options_.num_proj.value_or(options_.num_units); }

  std::string class_name() const override { return "TF1LSTMCell"; }
  std::vector<int64_t> state_sizes() const override { return {options_.num_units, recurrent_size()}; }
  int64_t output_size() const override { return recurrent_size(); }

  void build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) override;
  bool built() const override { return built_; }
  int64_t input_size() const override { return input_size_; }
  std::vector<Param<T>> params() override;

  int64_t projection_size() const override;
  void project_inputs(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out) const override;
  int64_t scratch_size(int64_t batch) const override;
  void step(const CellStep<T>& s) const override;

  bool rows_independent() const override { return true; }
  std::unique_ptr<Cell<T>> clone_config() const override;

  // Training (cell.h; spec §2.5, §6). Tape: gate pre-activations (4U, forget_bias and
  // peepholes included) and values (4U), c' before and after cell_clip (U each), φ(c') (U),
  // and with num_proj the unprojected m (U) and the projection before proj_clip (H). dZ
  // rows: the 4U pre-activation gradients, then with num_proj dL/d(m @ P) (H). Clipping
  // passes no gradient where it clipped.
  bool supports_backward() const override { return true; }
  std::vector<int64_t> tape_widths() const override;
  int64_t grad_width() const override;
  int64_t backward_scratch_size(int64_t batch) const override;
  void begin_backward() override;
  void step_backward(const CellStepGrad<T>& g) const override;
  void backward_params(const CellSequenceGrad<T>& g) override;
  void backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* d_x,
                       T* scratch) const override;

 private:
  TF1LSTMCellOptions options_;
  bool built_ = false;
  int64_t input_size_ = 0;
  Tensor<T> kernel_, bias_, w_f_diag_, w_i_diag_, w_o_diag_, projection_;
  Tensor<T> kernel_grad_, bias_grad_, w_f_diag_grad_, w_i_diag_grad_, w_o_diag_grad_, projection_grad_;
  Tensor<T> kernel_t_, projection_t_;  // transposed by begin_backward()
};

// tf.compat.v1.nn.rnn_cell.BasicLSTMCell(num_units, forget_bias=1.0, activation=tanh): the
// LSTMCell without peepholes, clipping or projection (same weights, same numbers).
template <class T>
class TF1BasicLSTMCell : public TF1LSTMCell<T> {
 public:
  explicit TF1BasicLSTMCell(int64_t num_units, double forget_bias = 1.0,
                            Activation activation = Activation{ActivationKind::tanh},
                            Initializer initializer = Initializer::from_name("glorot_uniform"));

  std::string class_name() const override { return "TF1BasicLSTMCell"; }
  bool rows_independent() const override { return true; }
  std::unique_ptr<Cell<T>> clone_config() const override;
};

extern template class TF1LSTMCell<float>;
extern template class TF1LSTMCell<double>;
extern template class TF1BasicLSTMCell<float>;
extern template class TF1BasicLSTMCell<double>;

}  // namespace rnnx
