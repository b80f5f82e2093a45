#include "rnnx/cells/lstm_cell.h"

#include <algorithm>

#include "cells/gate_math.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/core/error.h"
#include "rnnx/kernels/cell_kernels.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

using keras::kLSTMGates;
namespace cd = cells_detail;

namespace {
// Tape entries (tape_widths()): the activated gates and φ(c') always; the pre-activations and
// c' only when an activation's derivative needs its input (kernels::derivative_needs_input).
constexpr size_t kTapeGates = 0, kTapeActC = 1, kTapePre = 2;
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
  // The bias is folded into the input part, (x@K + b) + h@R, for both implementations
  // (Keras implementation 2 adds it last; the sums differ in rounding only).
  const T* bias = options_.use_bias ? bias_.data() : nullptr;
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
  // recurrent product, projected x (when not given), masked x, masked h.
  return batch * (2 * w + input_size_ + options_.units);
}

template <class T>
bool LSTMCell<T>::records_pre() const {
  return kernels::derivative_needs_input(options_.activation) ||
         kernels::derivative_needs_input(options_.recurrent_activation);
}

template <class T>
size_t LSTMCell<T>::tape_c_index() const {
  if (!kernels::derivative_needs_input(options_.activation)) return 0;  // not recorded
  return records_pre() ? kTapePre + 1 : kTapePre;
}

template <class T>
void LSTMCell<T>::step(const CellStep<T>& s) const {
  const int64_t b = s.batch, u = options_.units, w = kLSTMGates * u;
  cd::ScratchCursor<T> scratch(s.scratch);
  T* rec = scratch.take(b * w);
  T* x_proj = scratch.take(b * w);
  T* x_tmp = scratch.take(b * input_size_);
  T* h_tmp = scratch.take(b * u);

  const T* xp = s.x_proj;
  if (xp == nullptr) {
    project(s.x, b, b, s.dropout, x_proj, x_tmp);
    xp = x_proj;
  }
  // One recurrent product, then one fused pass of gate arithmetic (cell_kernels.h) that
  // writes the training record straight into the tape.
  cd::recurrent_gates<T>(s.states[keras::kLSTMStateH], b, u, recurrent_kernel_.data(), w, kLSTMGates, u,
                         s.dropout.recurrent, T(0), rec, w, h_tmp);
  kernels::LSTMForward<T> f{options_.activation, options_.recurrent_activation, b, u};
  f.x_proj = xp, f.ld_x_proj = w, f.rec = rec, f.ld_rec = w;
  f.c = s.states[keras::kLSTMStateC];
  f.c_new = s.new_states[keras::kLSTMStateC];
  f.h_new = s.new_states[keras::kLSTMStateH];
  f.output = s.output;
  const bool record = !s.tape.empty();
  if (record) {
    f.gates = s.tape[kTapeGates];
    f.act_c = s.tape[kTapeActC];
    if (records_pre()) f.pre = s.tape[kTapePre];
  } else if (kernels::lstm_needs_gates<T>(options_.activation, options_.recurrent_activation)) {
    f.gates = rec;  // the activated gates overwrite the recurrent part in place
  }
  kernels::lstm_forward<T>(f);
  if (record && tape_c_index() != 0) kernels::copy_block<T>(b, u, f.c_new, u, s.tape[tape_c_index()], u);
}

template <class T>
std::vector<int64_t> LSTMCell<T>::tape_widths() const {
  const int64_t u = options_.units;
  std::vector<int64_t> widths{kLSTMGates * u, u};  // kTapeGates, kTapeActC
  if (records_pre()) widths.push_back(kLSTMGates * u);
  if (tape_c_index() != 0) widths.push_back(u);
  return widths;
}

template <class T>
int64_t LSTMCell<T>::grad_width() const {
  return kLSTMGates * options_.units;
}

template <class T>
int64_t LSTMCell<T>::backward_scratch_size(int64_t batch) const {
  return batch * options_.units;  // the masked recurrent term
}

template <class T>
void LSTMCell<T>::begin_backward() {
  // dh_prev = dz @ Rᵀ per step streams rows of Rᵀ: transposing once per call is cheaper than
  // a transposed operand in every step's product (oneDNN sgemm 64x128x512 on Zen 4/5: 33 us
  // plain, 42 us with the transpose flag).
  cd::transpose_into(kernel_, kernel_t_);
  cd::transpose_into(recurrent_kernel_, recurrent_kernel_t_);
}

template <class T>
void LSTMCell<T>::step_backward(const CellStepGrad<T>& g) const {
  const int64_t b = g.batch, u = options_.units;
  kernels::LSTMBackward<T> bw{options_.activation, options_.recurrent_activation, b, u};
  bw.d_output = g.d_output;
  bw.d_h = g.d_new_states[keras::kLSTMStateH];
  bw.d_c = g.d_new_states[keras::kLSTMStateC];
  bw.gates = g.tape[kTapeGates];
  bw.act_c = g.tape[kTapeActC];
  bw.c_prev = g.states[keras::kLSTMStateC];
  if (records_pre()) bw.pre = g.tape[kTapePre];
  if (tape_c_index() != 0) bw.c_new = g.tape[tape_c_index()];
  bw.dz = g.dz, bw.ldz = g.ldz, bw.d_c_prev = g.d_states[keras::kLSTMStateC];
  kernels::lstm_backward<T>(bw);
  // dh_prev = Σ_g (dz_g @ R_gᵀ) * recurrent mask_g
  cd::backprop_gates<T>(g.dz, g.ldz, b, b, u, recurrent_kernel_t_.data(), kLSTMGates, u, g.dropout.recurrent, T(0),
                        g.d_states[keras::kLSTMStateH], u, g.scratch);
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
