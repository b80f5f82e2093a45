#include "rnnx/cells/lstm_cell.h"

#include <algorithm>

#include "cells/gate_math.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/core/error.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

using keras::kLSTMGates;
namespace cd = cells_detail;

namespace {
// Tape entries (tape_widths()).
constexpr size_t kTapeZ = 0, kTapeGates = 1, kTapeC = 2, kTapeTanhC = 3;
}  // namespace

template <class T>
void LSTMCell<T>::validate(const LSTMCellOptions& o, const std::string& where) {
  cd::check_units(o.units, where);
  cd::check_rate(o.dropout, where, "dropout");
  cd::check_rate(o.recurrent_dropout, where, "recurrent_dropout");
  cd::check_implementation(o.implementation, where);
}

template <class T>
LSTMCell<T>::LSTMCell(LSTMCellOptions options) : options_(std::move(options)) {
  validate(options_, "LSTMCell");
}

template <class T>
int LSTMCell<T>::implementation() const {
  return cd::effective_implementation(options_);
}

template <class T>
bool LSTMCell<T>::per_gate_masks() const {
  return cd::per_gate_masks(options_);
}

template <class T>
int LSTMCell<T>::input_mask_count() const {
  return cd::input_mask_count(options_, kLSTMGates);
}

template <class T>
double LSTMCell<T>::sequence_input_dropout() const {
  return cd::sequence_input_dropout(options_);
}

template <class T>
int LSTMCell<T>::recurrent_mask_count() const {
  return cd::recurrent_mask_count(options_, kLSTMGates);
}

template <class T>
void LSTMCell<T>::build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) {
  if (cd::begin_build("LSTMCell", input_size, constant_sizes, built_, input_size_)) return;
  const int64_t u = options_.units;
  kernel_ = Tensor<T>(keras::lstm_kernel_shape(input_size, u));
  initialize(options_.kernel_initializer, kernel_, rng);
  recurrent_kernel_ = Tensor<T>(keras::lstm_recurrent_kernel_shape(u));
  initialize(options_.recurrent_initializer, recurrent_kernel_, rng);
  if (options_.use_bias) {
    bias_ = Tensor<T>(keras::lstm_bias_shape(u));
    cd::initialize_lstm_bias(options_, u, bias_, rng);
  }
  cd::allocate_grads<T>(
      {{&kernel_, &kernel_grad_}, {&recurrent_kernel_, &recurrent_kernel_grad_}, {&bias_, &bias_grad_}});
  input_size_ = input_size;
  built_ = true;
}

template <class T>
std::vector<Param<T>> LSTMCell<T>::params() {
  return cells_detail::keras_cell_params(options_, &kernel_, &kernel_grad_, &recurrent_kernel_, &recurrent_kernel_grad_,
                                         &bias_, &bias_grad_);
}

template <class T>
int64_t LSTMCell<T>::projection_size() const {
  return kLSTMGates * options_.units;
}

template <class T>
void LSTMCell<T>::project(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out, T* tmp) const {
  // Implementation 1 adds the bias to the input part (x@K_g + b_g); implementation 2 adds
  // it after the recurrent product.
  const T* bias = options_.use_bias && implementation() == 1 ? bias_.data() : nullptr;
  cd::project_gates<T>(x, rows, batch, input_size_, kernel_.data(), kLSTMGates, options_.units, masks.input, bias, out,
                       tmp);
}

template <class T>
void LSTMCell<T>::project_inputs(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out) const {
  std::vector<T> tmp(masks.input.empty() ? 0 : static_cast<size_t>(rows * input_size_));
  project(x, rows, batch, masks, out, tmp.data());
}

template <class T>
int64_t LSTMCell<T>::scratch_size(int64_t batch) const {
  const int64_t w = kLSTMGates * options_.units;
  // z, projected x (when not given), masked x, masked h.
  return batch * (2 * w + input_size_ + options_.units);
}

template <class T>
void LSTMCell<T>::step(const CellStep<T>& s) const {
  const int64_t b = s.batch, u = options_.units, w = kLSTMGates * u;
  cd::ScratchCursor<T> scratch(s.scratch);
  T* z = scratch.take(b * w);
  T* x_proj = scratch.take(b * w);
  T* x_tmp = scratch.take(b * input_size_);
  T* h_tmp = scratch.take(b * u);

  const T* xp = s.x_proj;
  if (xp == nullptr) {
    project(s.x, b, b, s.dropout, x_proj, x_tmp);
    xp = x_proj;
  }
  const T* h = s.states[keras::kLSTMStateH];
  const T* c = s.states[keras::kLSTMStateC];
  T* h_new = s.new_states[keras::kLSTMStateH];
  T* c_new = s.new_states[keras::kLSTMStateC];

  kernels::copy_block<T>(b, w, xp, w, z, w);
  cd::recurrent_gates<T>(h, b, u, recurrent_kernel_.data(), w, kLSTMGates, u, s.dropout.recurrent, T(1), z, w, h_tmp);
  if (options_.use_bias && implementation() == 2) kernels::add_row_vector<T>(z, b, w, w, bias_.data());
  const bool record = !s.tape.empty();
  if (record) kernels::copy_block<T>(b, w, z, w, s.tape[kTapeZ], w);

  cd::lstm_gates_forward<T>(options_.activation, options_.recurrent_activation, b, u, z, c, c_new, h_new, s.output,
                            record ? s.tape[kTapeGates] : nullptr, record ? s.tape[kTapeC] : nullptr,
                            record ? s.tape[kTapeTanhC] : nullptr);
}

template <class T>
std::vector<int64_t> LSTMCell<T>::tape_widths() const {
  const int64_t u = options_.units;
  return {kLSTMGates * u, kLSTMGates * u, u, u};  // kTapeZ, kTapeGates, kTapeC, kTapeTanhC
}

template <class T>
int64_t LSTMCell<T>::grad_width() const {
  return kLSTMGates * options_.units;
}

template <class T>
int64_t LSTMCell<T>::backward_scratch_size(int64_t batch) const {
  return 4 * batch * options_.units;  // dh, dc, a product, the masked recurrent term
}

template <class T>
void LSTMCell<T>::begin_backward() {
  cd::transpose_into(kernel_, kernel_t_);
  cd::transpose_into(recurrent_kernel_, recurrent_kernel_t_);
}

template <class T>
void LSTMCell<T>::step_backward(const CellStepGrad<T>& g) const {
  const int64_t b = g.batch, u = options_.units, ldz = g.ldz;
  cd::ScratchCursor<T> scratch(g.scratch);
  T* dh = scratch.take(b * u);
  T* dc = scratch.take(b * u);
  T* prod = scratch.take(b * u);
  T* h_tmp = scratch.take(b * u);
  cd::lstm_gates_backward<T>(options_.activation, options_.recurrent_activation, b, u, g.d_output,
                             g.d_new_states[keras::kLSTMStateH], g.d_new_states[keras::kLSTMStateC], g.tape[kTapeZ],
                             g.tape[kTapeGates], g.tape[kTapeC], g.tape[kTapeTanhC], g.states[keras::kLSTMStateC], g.dz,
                             ldz, g.d_states[keras::kLSTMStateC], dh, dc, prod);
  // dh_prev = Σ_g (dz_g @ R_gᵀ) * recurrent mask_g
  cd::backprop_gates<T>(g.dz, ldz, b, b, u, recurrent_kernel_t_.data(), kLSTMGates, u, g.dropout.recurrent, T(0),
                        g.d_states[keras::kLSTMStateH], u, h_tmp);
}

template <class T>
void LSTMCell<T>::backward_params(const CellSequenceGrad<T>& g) {
  const int64_t u = options_.units, w = kLSTMGates * u, d = input_size_;
  // Masked copies of x or h, only with dropout.
  const bool masked = !g.dropout.input.empty() || !g.dropout.recurrent.empty();
  std::vector<T> tmp(masked ? static_cast<size_t>(g.rows * std::max(d, u)) : 0);
  cd::accumulate_gate_weights<T>(g.x, d, g.rows, g.batch, d, g.dz, g.ldz, kLSTMGates, u, g.dropout.input,
                                 kernel_grad_.data(), w, tmp.data());
  cd::accumulate_gate_weights<T>(g.states[keras::kLSTMStateH], u, g.rows, g.batch, u, g.dz, g.ldz, kLSTMGates, u,
                                 g.dropout.recurrent, recurrent_kernel_grad_.data(), w, tmp.data());
  if (options_.use_bias) kernels::accumulate_column_sums<T>(g.rows, w, g.dz, g.ldz, bias_grad_.data());
}

template <class T>
void LSTMCell<T>::backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t batch, const DropoutMasks<T>& masks,
                                  T* d_x, T* scratch) const {
  cd::backprop_gates<T>(dz, ldz, rows, batch, input_size_, kernel_t_.data(), kLSTMGates, options_.units, masks.input,
                        T(0), d_x, input_size_, scratch);
}

template <class T>
int64_t LSTMCell<T>::backward_inputs_scratch_size(int64_t rows) const {
  return input_mask_count() > 0 ? rows * input_size_ : 0;
}

template <class T>
std::unique_ptr<Cell<T>> LSTMCell<T>::clone_config() const {
  return std::make_unique<LSTMCell<T>>(options_);
}

template class LSTMCell<float>;
template class LSTMCell<double>;

}  // namespace rnnx
