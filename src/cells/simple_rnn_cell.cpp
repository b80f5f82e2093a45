#include "rnnx/cells/simple_rnn_cell.h"

#include <algorithm>

#include "cells/gate_math.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/core/error.h"
#include "rnnx/kernels/cell_kernels.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

namespace cd = cells_detail;

namespace {
// Tape entries (tape_widths()): h' always, the pre-activation only when the activation's
// derivative needs it (kernels::derivative_needs_input).
constexpr size_t kTapeH = 0, kTapePre = 1;
}  // namespace

template <class T>
void SimpleRNNCell<T>::validate(const SimpleRNNCellOptions& o, const std::string& where) {
  cd::check_units(o.units, where);
  cd::check_rate(o.dropout, where, "dropout");
  cd::check_rate(o.recurrent_dropout, where, "recurrent_dropout");
}

template <class T>
SimpleRNNCell<T>::SimpleRNNCell(SimpleRNNCellOptions options) : options_(std::move(options)) {
  validate(options_, "SimpleRNNCell");
}

template <class T>
void SimpleRNNCell<T>::build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) {
  if (cd::begin_build("SimpleRNNCell", input_size, constant_sizes, built_, input_size_)) return;
  const int64_t u = options_.units;
  kernel_ = Tensor<T>(keras::simple_rnn_kernel_shape(input_size, u));
  initialize(options_.kernel_initializer, kernel_, rng);
  recurrent_kernel_ = Tensor<T>(keras::simple_rnn_recurrent_kernel_shape(u));
  initialize(options_.recurrent_initializer, recurrent_kernel_, rng);
  if (options_.use_bias) {
    bias_ = Tensor<T>(keras::simple_rnn_bias_shape(u));
    initialize(options_.bias_initializer, bias_, rng);
  }
  cd::allocate_grads<T>(
      {{&kernel_, &kernel_grad_}, {&recurrent_kernel_, &recurrent_kernel_grad_}, {&bias_, &bias_grad_}});
  input_size_ = input_size;
  built_ = true;
}

template <class T>
std::vector<Param<T>> SimpleRNNCell<T>::params() {
  return cells_detail::keras_cell_params(options_, &kernel_, &kernel_grad_, &recurrent_kernel_, &recurrent_kernel_grad_,
                                         &bias_, &bias_grad_);
}

template <class T>
void SimpleRNNCell<T>::project(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out,
                               T* tmp) const {
  cd::project_gates<T>(x, rows, batch, input_size_, kernel_.data(), 1, options_.units, masks.input,
                       options_.use_bias ? bias_.data() : nullptr, out, tmp);
}

template <class T>
void SimpleRNNCell<T>::project_inputs(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks,
                                      T* out) const {
  std::vector<T> tmp(masks.input.empty() ? 0 : static_cast<size_t>(rows * input_size_));
  project(x, rows, batch, masks, out, tmp.data());
}

template <class T>
int64_t SimpleRNNCell<T>::scratch_size(int64_t batch) const {
  // recurrent product, projected x (when not given), masked x, masked h.
  return batch * (3 * options_.units + input_size_);
}

template <class T>
void SimpleRNNCell<T>::step(const CellStep<T>& s) const {
  const int64_t b = s.batch, u = options_.units;
  cd::ScratchCursor<T> scratch(s.scratch);
  T* rec = scratch.take(b * u);
  T* x_proj = scratch.take(b * u);
  T* x_tmp = scratch.take(b * input_size_);
  T* h_tmp = scratch.take(b * u);
  const T* xp = s.x_proj;
  if (xp == nullptr) {
    project(s.x, b, b, s.dropout, x_proj, x_tmp);
    xp = x_proj;
  }
  // output = h' = φ((x@K + b) + h@R): one product, one fused pass.
  cd::recurrent_gates<T>(s.states[0], b, u, recurrent_kernel_.data(), u, 1, u, s.dropout.recurrent, T(0), rec, u,
                         h_tmp);
  kernels::SimpleRNNForward<T> f{options_.activation, b, u};
  f.x_proj = xp, f.ld_x_proj = u, f.rec = rec, f.ld_rec = u;
  f.h_new = s.new_states[0], f.output = s.output;
  if (!s.tape.empty()) {
    f.h_record = s.tape[kTapeH];
    if (records_pre()) f.pre = s.tape[kTapePre];
  }
  kernels::simple_rnn_forward<T>(f);
}

template <class T>
bool SimpleRNNCell<T>::records_pre() const {
  return kernels::derivative_needs_input(options_.activation);
}

template <class T>
std::vector<int64_t> SimpleRNNCell<T>::tape_widths() const {
  if (records_pre()) return {options_.units, options_.units};  // kTapeH, kTapePre
  return {options_.units};
}

template <class T>
int64_t SimpleRNNCell<T>::backward_scratch_size(int64_t batch) const {
  return batch * options_.units;  // the masked recurrent term
}

template <class T>
void SimpleRNNCell<T>::begin_backward() {
  // Transposed once per call: cheaper than a transposed operand in every step (lstm_cell.cpp).
  cd::transpose_into(kernel_, kernel_t_);
  cd::transpose_into(recurrent_kernel_, recurrent_kernel_t_);
}

template <class T>
void SimpleRNNCell<T>::step_backward(const CellStepGrad<T>& g) const {
  const int64_t b = g.batch, u = options_.units;
  // da = (dL/d output + dL/d h') * φ'(a);  dh_prev = (da @ Rᵀ) * recurrent mask
  kernels::SimpleRNNBackward<T> bw{options_.activation, b, u};
  bw.d_output = g.d_output, bw.d_h = g.d_new_states[0], bw.y = g.tape[kTapeH];
  if (records_pre()) bw.pre = g.tape[kTapePre];
  bw.dz = g.dz, bw.ldz = g.ldz;
  kernels::simple_rnn_backward<T>(bw);
  cd::backprop_gates<T>(g.dz, g.ldz, b, b, u, recurrent_kernel_t_.data(), 1, u, g.dropout.recurrent, T(0),
                        g.d_states[0], u, g.scratch);
}

template <class T>
void SimpleRNNCell<T>::backward_params(const CellSequenceGrad<T>& g) {
  const int64_t u = options_.units, d = input_size_;
  // Masked copies of x or h, only with dropout.
  const bool masked = !g.dropout.input.empty() || !g.dropout.recurrent.empty();
  std::vector<T> tmp(masked ? static_cast<size_t>(g.rows * std::max(d, u)) : 0);
  cd::accumulate_gate_weights<T>(g.x, d, g.rows, g.batch, d, g.dz, g.ldz, 1, u, g.dropout.input, kernel_grad_.data(),
                                 u, tmp.data());
  cd::accumulate_gate_weights<T>(g.states[0], u, g.rows, g.batch, u, g.dz, g.ldz, 1, u, g.dropout.recurrent,
                                 recurrent_kernel_grad_.data(), u, tmp.data());
  if (options_.use_bias) kernels::accumulate_column_sums<T>(g.rows, u, g.dz, g.ldz, bias_grad_.data());
}

template <class T>
void SimpleRNNCell<T>::backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t batch,
                                       const DropoutMasks<T>& masks, T* d_x, T* scratch) const {
  cd::backprop_gates<T>(dz, ldz, rows, batch, input_size_, kernel_t_.data(), 1, options_.units, masks.input, T(0), d_x,
                        input_size_, scratch);
}

template <class T>
int64_t SimpleRNNCell<T>::backward_inputs_scratch_size(int64_t rows) const {
  return input_mask_count() > 0 ? rows * input_size_ : 0;
}

template <class T>
std::unique_ptr<Cell<T>> SimpleRNNCell<T>::clone_config() const {
  return std::make_unique<SimpleRNNCell<T>>(options_);
}

template class SimpleRNNCell<float>;
template class SimpleRNNCell<double>;

}  // namespace rnnx
