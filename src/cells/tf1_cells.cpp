#include "rnnx/cells/tf1_cells.h"

#include <cmath>
#include <vector>

#include "cells/gate_math.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/core/error.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

using keras::block_offset;
using keras::kTF1LSTMGates;
using keras::TF1LSTMGate;
namespace cd = cells_detail;

namespace {
// Tape entries (tape_widths()); the last two only with num_proj.
constexpr size_t kTapePre = 0, kTapeGates = 1, kTapeCPreClip = 2, kTapeC = 3, kTapeTanhC = 4, kTapeM = 5,
                 kTapeProjPreClip = 6;
}  // namespace

template <class T>
void TF1LSTMCell<T>::validate(const TF1LSTMCellOptions& o, const std::string& where) {
  cd::check_units(o.num_units, where, "num_units");
  if (o.num_proj) cd::check_units(*o.num_proj, where, "num_proj");
  if (o.cell_clip && !(*o.cell_clip >= 0.0))
    throw ConfigError(where + ": cell_clip must be >= 0, got " + std::to_string(*o.cell_clip));
  if (o.proj_clip && !(*o.proj_clip >= 0.0))
    throw ConfigError(where + ": proj_clip must be >= 0, got " + std::to_string(*o.proj_clip));
  if (!std::isfinite(o.forget_bias))
    throw ConfigError(where + ": forget_bias must be finite, got " + std::to_string(o.forget_bias));
}

template <class T>
TF1LSTMCell<T>::TF1LSTMCell(TF1LSTMCellOptions options) : options_(std::move(options)) {
  validate(options_, "TF1LSTMCell");
}

template <class T>
void TF1LSTMCell<T>::build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) {
  const std::string where = class_name();
  if (!constant_sizes.empty())
    throw ConfigError(where + ": takes no constants, got " + std::to_string(constant_sizes.size()));
  if (built_) {
    if (input_size != input_size_)
      throw ShapeError(where + ": built for " + std::to_string(input_size_) + " input features, got " +
                       std::to_string(input_size));
    return;
  }
  cd::check_units(input_size, where, "input size");
  const int64_t u = options_.num_units;
  kernel_ = Tensor<T>(keras::tf1_lstm_kernel_shape(input_size, recurrent_size(), u));
  initialize(options_.initializer, kernel_, rng);
  bias_ = Tensor<T>(keras::tf1_lstm_bias_shape(u));  // zeros
  if (options_.use_peepholes) {
    for (Tensor<T>* w : {&w_f_diag_, &w_i_diag_, &w_o_diag_}) {
      *w = Tensor<T>(keras::tf1_lstm_peephole_shape(u));
      initialize(options_.initializer, *w, rng);
    }
  }
  if (options_.num_proj) {
    projection_ = Tensor<T>(keras::tf1_lstm_projection_shape(u, *options_.num_proj));
    initialize(options_.initializer, projection_, rng);
  }
  cd::allocate_grads<T>({{&kernel_, &kernel_grad_},
                         {&bias_, &bias_grad_},
                         {&w_f_diag_, &w_f_diag_grad_},
                         {&w_i_diag_, &w_i_diag_grad_},
                         {&w_o_diag_, &w_o_diag_grad_},
                         {&projection_, &projection_grad_}});
  input_size_ = input_size;
  built_ = true;
}

template <class T>
std::vector<Param<T>> TF1LSTMCell<T>::params() {
  std::vector<Param<T>> out{{"kernel", &kernel_, &kernel_grad_}, {"bias", &bias_, &bias_grad_}};
  if (options_.use_peepholes) {
    out.push_back({"w_f_diag", &w_f_diag_, &w_f_diag_grad_});
    out.push_back({"w_i_diag", &w_i_diag_, &w_i_diag_grad_});
    out.push_back({"w_o_diag", &w_o_diag_, &w_o_diag_grad_});
  }
  if (options_.num_proj) out.push_back({"projection/kernel", &projection_, &projection_grad_});
  return out;
}

template <class T>
int64_t TF1LSTMCell<T>::projection_size() const {
  return kTF1LSTMGates * options_.num_units;
}

template <class T>
void TF1LSTMCell<T>::project_inputs(const T* x, int64_t rows, int64_t /*batch*/, const DropoutMasks<T>& /*masks*/,
                                    T* out) const {
  // x @ kernel[:D]; the h rows of the kernel and the bias are applied per step.
  const int64_t w = kTF1LSTMGates * options_.num_units;
  kernels::gemm<T>(false, false, rows, w, input_size_, T(1), x, input_size_, kernel_.data(), w, T(0), out, w);
}

template <class T>
int64_t TF1LSTMCell<T>::scratch_size(int64_t batch) const {
  const int64_t w = kTF1LSTMGates * options_.num_units;
  // gates, projected x (when not given), unprojected m.
  return batch * (2 * w + options_.num_units);
}

template <class T>
void TF1LSTMCell<T>::step(const CellStep<T>& s) const {
  const int64_t b = s.batch, u = options_.num_units, hs = recurrent_size(), w = kTF1LSTMGates * u;
  cd::ScratchCursor<T> scratch(s.scratch);
  T* z = scratch.take(b * w);
  T* x_proj = scratch.take(b * w);
  T* m_full = scratch.take(b * u);

  const T* c = s.states[keras::kTF1LSTMStateC];
  const T* h = s.states[keras::kTF1LSTMStateH];
  T* c_new = s.new_states[keras::kTF1LSTMStateC];
  T* h_new = s.new_states[keras::kTF1LSTMStateH];

  const T* xp = s.x_proj;
  if (xp == nullptr) {
    project_inputs(s.x, b, b, s.dropout, x_proj);
    xp = x_proj;
  }
  // z = (x @ W_x + h @ W_h) + bias  (concat([x, h]) @ kernel, then bias_add)
  kernels::copy_block<T>(b, w, xp, w, z, w);
  kernels::gemm<T>(false, false, b, w, hs, T(1), h, hs, kernel_.data() + input_size_ * w, w, T(1), z, w);
  kernels::add_row_vector<T>(z, b, w, w, bias_.data());

  T* zi = z + block_offset(TF1LSTMGate::input, u);
  T* zj = z + block_offset(TF1LSTMGate::candidate, u);
  T* zf = z + block_offset(TF1LSTMGate::forget, u);
  T* zo = z + block_offset(TF1LSTMGate::output, u);
  const Activation sigmoid{ActivationKind::sigmoid};
  const bool peep = options_.use_peepholes;
  const bool record = !s.tape.empty();
  T* pre = record ? s.tape[kTapePre] : nullptr;

  // σ(f + forget_bias [+ w_f * c])
  kernels::add_scalar_block<T>(zf, b, u, w, static_cast<T>(options_.forget_bias));
  if (peep) kernels::multiply_accumulate_block<T>(b, u, w_f_diag_.data(), 0, c, u, zf, w);
  if (record) kernels::copy_block<T>(b, u, zf, w, pre + (zf - z), w);
  kernels::activate_block<T>(sigmoid, zf, b, u, w);
  // σ(i [+ w_i * c]) and φ(j)
  if (peep) kernels::multiply_accumulate_block<T>(b, u, w_i_diag_.data(), 0, c, u, zi, w);
  if (record) {
    kernels::copy_block<T>(b, u, zi, w, pre + (zi - z), w);
    kernels::copy_block<T>(b, u, zj, w, pre + (zj - z), w);
  }
  kernels::activate_block<T>(sigmoid, zi, b, u, w);
  kernels::activate_block<T>(options_.activation, zj, b, u, w);
  // c' = σ(f..) * c + σ(i..) * φ(j), clipped
  kernels::multiply_block<T>(b, u, zf, w, c, u, c_new, u);
  kernels::multiply_accumulate_block<T>(b, u, zi, w, zj, w, c_new, u);
  if (record) kernels::copy_block<T>(b, u, c_new, u, s.tape[kTapeCPreClip], u);
  if (options_.cell_clip) {
    const T clip = static_cast<T>(*options_.cell_clip);
    kernels::clip_block<T>(c_new, b, u, u, -clip, clip);
  }
  // m = σ(o [+ w_o * c']) * φ(c')
  if (peep) kernels::multiply_accumulate_block<T>(b, u, w_o_diag_.data(), 0, c_new, u, zo, w);
  if (record) kernels::copy_block<T>(b, u, zo, w, pre + (zo - z), w);
  kernels::activate_block<T>(sigmoid, zo, b, u, w);
  T* m = options_.num_proj ? m_full : h_new;
  kernels::copy_block<T>(b, u, c_new, u, m, u);
  kernels::activate_block<T>(options_.activation, m, b, u, u);
  if (record) {
    kernels::copy_block<T>(b, w, z, w, s.tape[kTapeGates], w);
    kernels::copy_block<T>(b, u, c_new, u, s.tape[kTapeC], u);
    kernels::copy_block<T>(b, u, m, u, s.tape[kTapeTanhC], u);
  }
  kernels::multiply_block<T>(b, u, zo, w, m, u, m, u);
  if (options_.num_proj) {
    if (record) kernels::copy_block<T>(b, u, m_full, u, s.tape[kTapeM], u);
    kernels::gemm<T>(false, false, b, hs, u, T(1), m_full, u, projection_.data(), hs, T(0), h_new, hs);
    if (record) kernels::copy_block<T>(b, hs, h_new, hs, s.tape[kTapeProjPreClip], hs);
    if (options_.proj_clip) {
      const T clip = static_cast<T>(*options_.proj_clip);
      kernels::clip_block<T>(h_new, b, hs, hs, -clip, clip);
    }
  }
  kernels::copy_block<T>(b, hs, h_new, hs, s.output, hs);
}

template <class T>
std::vector<int64_t> TF1LSTMCell<T>::tape_widths() const {
  const int64_t u = options_.num_units, w = kTF1LSTMGates * u;
  std::vector<int64_t> widths{w, w, u, u, u};  // kTapePre, kTapeGates, kTapeCPreClip, kTapeC, kTapeTanhC
  if (options_.num_proj) widths.insert(widths.end(), {u, recurrent_size()});  // kTapeM, kTapeProjPreClip
  return widths;
}

template <class T>
int64_t TF1LSTMCell<T>::grad_width() const {
  return kTF1LSTMGates * options_.num_units + (options_.num_proj ? recurrent_size() : 0);
}

template <class T>
int64_t TF1LSTMCell<T>::backward_scratch_size(int64_t batch) const {
  return batch * (recurrent_size() + 3 * options_.num_units);  // dh, dm, dc, a product
}

template <class T>
void TF1LSTMCell<T>::begin_backward() {
  cd::transpose_into(kernel_, kernel_t_);  // [4U, D + H]: columns :D act on x, D: on h
  if (options_.num_proj) cd::transpose_into(projection_, projection_t_);
}

template <class T>
void TF1LSTMCell<T>::step_backward(const CellStepGrad<T>& g) const {
  const int64_t b = g.batch, u = options_.num_units, hs = recurrent_size(), w = kTF1LSTMGates * u, ldz = g.ldz;
  cd::ScratchCursor<T> scratch(g.scratch);
  T* dh = scratch.take(b * hs);
  T* dm = scratch.take(b * u);
  T* dc = scratch.take(b * u);
  T* prod = scratch.take(b * u);
  const T* pre = g.tape[kTapePre];
  const T* gates = g.tape[kTapeGates];
  const T* c_new = g.tape[kTapeC];
  const T* tanh_c = g.tape[kTapeTanhC];
  const T* c_prev = g.states[keras::kTF1LSTMStateC];
  const int64_t oi = block_offset(TF1LSTMGate::input, u), oj = block_offset(TF1LSTMGate::candidate, u),
                of = block_offset(TF1LSTMGate::forget, u), oo = block_offset(TF1LSTMGate::output, u);
  const Activation sigmoid{ActivationKind::sigmoid};
  const Activation& act = options_.activation;
  const bool peep = options_.use_peepholes;
  T* dz = g.dz;

  // The output is the h state: dh = dL/d output + dL/d h'.
  kernels::add_block<T>(b, hs, g.d_output, hs, g.d_new_states[keras::kTF1LSTMStateH], hs, dh, hs);
  if (options_.num_proj) {
    // h' = clip(m @ P): d(m @ P) is stored in the dZ row after the gates (for dP), dm = that @ Pᵀ.
    T* dproj = dz + w;
    if (options_.proj_clip) {
      const T clip = static_cast<T>(*options_.proj_clip);
      kernels::clip_backward_block<T>(b, hs, g.tape[kTapeProjPreClip], hs, -clip, clip, dh, hs, dproj, ldz);
    } else {
      kernels::copy_block<T>(b, hs, dh, hs, dproj, ldz);
    }
    kernels::gemm<T>(false, false, b, u, hs, T(1), dproj, ldz, projection_t_.data(), u, T(0), dm, u);
  } else {
    kernels::copy_block<T>(b, u, dh, hs, dm, u);
  }
  // m = σ(o) * φ(c'): dz_o = dm * φ(c') * σ'(o);  dc' = dL/dc' + dm * σ(o) * φ'(c') [+ dz_o * w_o]
  kernels::multiply_block<T>(b, u, dm, u, tanh_c, u, prod, u);
  kernels::activation_backward_block<T>(sigmoid, b, u, pre + oo, w, gates + oo, w, prod, u, dz + oo, ldz);
  kernels::multiply_block<T>(b, u, dm, u, gates + oo, w, prod, u);
  kernels::activation_backward_block<T>(act, b, u, c_new, u, tanh_c, u, prod, u, dc, u);
  kernels::add_block<T>(b, u, dc, u, g.d_new_states[keras::kTF1LSTMStateC], u, dc, u);
  if (peep) kernels::multiply_accumulate_block<T>(b, u, dz + oo, ldz, w_o_diag_.data(), 0, dc, u);
  // Through cell_clip: no gradient where c' was clipped.
  if (options_.cell_clip) {
    const T clip = static_cast<T>(*options_.cell_clip);
    kernels::clip_backward_block<T>(b, u, g.tape[kTapeCPreClip], u, -clip, clip, dc, u, dc, u);
  }
  // c' = σ(f) * c + σ(i) * φ(j)
  kernels::multiply_block<T>(b, u, dc, u, c_prev, u, prod, u);
  kernels::activation_backward_block<T>(sigmoid, b, u, pre + of, w, gates + of, w, prod, u, dz + of, ldz);
  kernels::multiply_block<T>(b, u, dc, u, gates + oj, w, prod, u);
  kernels::activation_backward_block<T>(sigmoid, b, u, pre + oi, w, gates + oi, w, prod, u, dz + oi, ldz);
  kernels::multiply_block<T>(b, u, dc, u, gates + oi, w, prod, u);
  kernels::activation_backward_block<T>(act, b, u, pre + oj, w, gates + oj, w, prod, u, dz + oj, ldz);
  // dc_prev = dc * σ(f) [+ dz_f * w_f + dz_i * w_i];  dh_prev = dz @ W_hᵀ (the h rows of the kernel)
  T* dc_prev = g.d_states[keras::kTF1LSTMStateC];
  kernels::multiply_block<T>(b, u, dc, u, gates + of, w, dc_prev, u);
  if (peep) {
    kernels::multiply_accumulate_block<T>(b, u, dz + of, ldz, w_f_diag_.data(), 0, dc_prev, u);
    kernels::multiply_accumulate_block<T>(b, u, dz + oi, ldz, w_i_diag_.data(), 0, dc_prev, u);
  }
  kernels::gemm<T>(false, false, b, hs, w, T(1), dz, ldz, kernel_t_.data() + input_size_, input_size_ + hs, T(0),
                   g.d_states[keras::kTF1LSTMStateH], hs);
}

template <class T>
void TF1LSTMCell<T>::backward_params(const CellSequenceGrad<T>& g) {
  const int64_t u = options_.num_units, hs = recurrent_size(), w = kTF1LSTMGates * u, d = input_size_;
  // kernel acts on concat([x, h]): its x rows get xᵀ dz, its h rows h_prevᵀ dz.
  kernels::gemm<T>(true, false, d, w, g.rows, T(1), g.x, d, g.dz, g.ldz, T(1), kernel_grad_.data(), w);
  kernels::gemm<T>(true, false, hs, w, g.rows, T(1), g.states[keras::kTF1LSTMStateH], hs, g.dz, g.ldz, T(1),
                   kernel_grad_.data() + d * w, w);
  kernels::accumulate_column_sums<T>(g.rows, w, g.dz, g.ldz, bias_grad_.data());
  if (options_.use_peepholes) {
    // w_f, w_i multiply c (the state read), w_o the new c'.
    std::vector<T> prod(static_cast<size_t>(g.rows * u));
    const T* c_prev = g.states[keras::kTF1LSTMStateC];
    const auto peephole = [&](TF1LSTMGate gate, const T* c, Tensor<T>& grad) {
      kernels::multiply_block<T>(g.rows, u, g.dz + block_offset(gate, u), g.ldz, c, u, prod.data(), u);
      kernels::accumulate_column_sums<T>(g.rows, u, prod.data(), u, grad.data());
    };
    peephole(TF1LSTMGate::forget, c_prev, w_f_diag_grad_);
    peephole(TF1LSTMGate::input, c_prev, w_i_diag_grad_);
    peephole(TF1LSTMGate::output, g.tape[kTapeC], w_o_diag_grad_);
  }
  if (options_.num_proj)
    kernels::gemm<T>(true, false, u, hs, g.rows, T(1), g.tape[kTapeM], u, g.dz + w, g.ldz, T(1),
                     projection_grad_.data(), hs);
}

template <class T>
void TF1LSTMCell<T>::backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t /*batch*/,
                                     const DropoutMasks<T>& /*masks*/, T* d_x, T* /*scratch*/) const {
  const int64_t w = kTF1LSTMGates * options_.num_units;
  kernels::gemm<T>(false, false, rows, input_size_, w, T(1), dz, ldz, kernel_t_.data(), input_size_ + recurrent_size(),
                   T(0), d_x, input_size_);
}

template <class T>
std::unique_ptr<Cell<T>> TF1LSTMCell<T>::clone_config() const {
  return std::make_unique<TF1LSTMCell<T>>(options_);
}

namespace {
TF1LSTMCellOptions basic_options(int64_t num_units, double forget_bias, Activation activation,
                                 Initializer initializer) {
  TF1LSTMCellOptions o;
  o.num_units = num_units;
  o.forget_bias = forget_bias;
  o.activation = activation;
  o.initializer = std::move(initializer);
  return o;
}
}  // namespace

template <class T>
TF1BasicLSTMCell<T>::TF1BasicLSTMCell(int64_t num_units, double forget_bias, Activation activation,
                                      Initializer initializer)
    : TF1LSTMCell<T>(basic_options(num_units, forget_bias, activation, std::move(initializer))) {}

template <class T>
std::unique_ptr<Cell<T>> TF1BasicLSTMCell<T>::clone_config() const {
  const TF1LSTMCellOptions& o = this->options();
  return std::make_unique<TF1BasicLSTMCell<T>>(o.num_units, o.forget_bias, o.activation, o.initializer);
}

template class TF1LSTMCell<float>;
template class TF1LSTMCell<double>;
template class TF1BasicLSTMCell<float>;
template class TF1BasicLSTMCell<double>;

}  // namespace rnnx
