#pragma once
// Keras SimpleRNNCell (spec §2.3, K3 keras/src/layers/rnn/simple_rnn.py):
//   h' = φ((x @ kernel + bias) + h @ recurrent_kernel); output = h', state [h'].
// Weights: kernel (D, U), recurrent_kernel (U, U), bias (U) (if use_bias).
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

// Every Keras SimpleRNNCell argument (spec §3.1), with the Keras 3 defaults.
struct SimpleRNNCellOptions {
  int64_t units = 0;  // required, > 0
  Activation activation{ActivationKind::tanh};
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::from_name("glorot_uniform");
  Initializer recurrent_initializer = Initializer::from_name("orthogonal");
  Initializer bias_initializer = Initializer::from_name("zeros");
  // Keras kernel_/recurrent_/bias_regularizer and _constraint (default None); params()
  // reports them on the weights, the training code applies them (train/regularizers.h).
  Regularizer kernel_regularizer{}, recurrent_regularizer{}, bias_regularizer{};
  Constraint kernel_constraint{}, recurrent_constraint{}, bias_constraint{};
  // Rates in [0, 1) (ConfigError otherwise; see LSTMCellOptions and spec §3.5). One input
  // and one recurrent mask.
  double dropout = 0.0;
  double recurrent_dropout = 0.0;
  std::optional<uint64_t> seed;
};

template <class T>
class SimpleRNNCell : public Cell<T> {
 public:
  explicit SimpleRNNCell(SimpleRNNCellOptions options);
  // Throws ConfigError, prefixed with `where`, for invalid options.
  static void validate(const SimpleRNNCellOptions& options, const std::string& where);

  const SimpleRNNCellOptions& options() const { return options_; }
  int64_t units() const { return options_.units; }

  std::string class_name() const override { return "SimpleRNNCell"; }
  std::vector<int64_t> state_sizes() const override { return {options_.units}; }
  int64_t output_size() const override { return options_.units; }

  void build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) override;
  bool built() const override { return built_; }
  int64_t input_size() const override { return input_size_; }
  std::vector<Param<T>> params() override;

  int64_t projection_size() const override { return options_.units; }
  void project_inputs(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out) const override;
  int64_t scratch_size(int64_t batch) const override;
  void step(const CellStep<T>& s) const override;

  double dropout() const override { return options_.dropout; }
  double recurrent_dropout() const override { return options_.recurrent_dropout; }
  int input_mask_count() const override { return options_.dropout > 0.0 ? 1 : 0; }
  int recurrent_mask_count() const override { return options_.recurrent_dropout > 0.0 ? 1 : 0; }

  bool rows_independent() const override { return true; }
  std::unique_ptr<Cell<T>> clone_config() const override;

  // Training (cell.h; spec §2.5). Tape: h' = φ(a) (U) and, only when φ's derivative needs its
  // input (kernels::derivative_needs_input), the pre-activation a (U). The step's arithmetic
  // after the product is one fused kernel (kernels/cell_kernels.h).
  // dZ rows: da (U).
  bool supports_backward() const override { return true; }
  std::vector<int64_t> tape_widths() const override;
  int64_t grad_width() const override { return options_.units; }
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
  void project(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out, T* tmp) const;
  // Whether the tape keeps the pre-activation.
  bool records_pre() const;

  SimpleRNNCellOptions options_;
  bool built_ = false;
  int64_t input_size_ = 0;
  Tensor<T> kernel_, recurrent_kernel_, bias_;
  Tensor<T> kernel_grad_, recurrent_kernel_grad_, bias_grad_;
  Tensor<T> kernel_t_, recurrent_kernel_t_;  // transposed by begin_backward()
};

extern template class SimpleRNNCell<float>;
extern template class SimpleRNNCell<double>;

}  // namespace rnnx
