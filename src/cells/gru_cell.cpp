#include "rnnx/cells/gru_cell.h"

#include <algorithm>
#include <span>

#include "cells/gate_math.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/core/error.h"
#include "rnnx/kernels/cell_kernels.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

using keras::block_index;
using keras::block_offset;
using keras::GRUGate;
using keras::kGRUGates;
namespace cd = cells_detail;

namespace {
// Tape entries (tape_widths()); the pre-activations follow only when needed.
constexpr size_t kTapeZR = 0, kTapeReset = 1, kTapeCandidate = 2, kTapeOptional = 3;
}  // namespace

template <class T>
void GRUCell<T>::validate(const GRUCellOptions& o, const std::string& where) {
  cd::check_units(o.units, where);
  cd::check_rate(o.dropout, where, "dropout");
  cd::check_rate(o.recurrent_dropout, where, "recurrent_dropout");
  cd::check_implementation(o.implementation, where);
}

template <class T>
GRUCell<T>::GRUCell(GRUCellOptions options) : options_(std::move(options)) {
  validate(options_, "GRUCell");
}

template <class T>
int GRUCell<T>::implementation() const {
  return cd::effective_implementation(options_);
}

template <class T>
bool GRUCell<T>::per_gate_masks() const {
  return cd::per_gate_masks(options_);
}

template <class T>
int GRUCell<T>::input_mask_count() const {
  return cd::input_mask_count(options_, kGRUGates);
}

template <class T>
double GRUCell<T>::sequence_input_dropout() const {
  return cd::sequence_input_dropout(options_);
}

template <class T>
int GRUCell<T>::recurrent_mask_count() const {
  return cd::recurrent_mask_count(options_, kGRUGates);
}

template <class T>
void GRUCell<T>::build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) {
  if (cd::begin_build("GRUCell", input_size, constant_sizes, built_, input_size_)) return;
  const int64_t u = options_.units;
  kernel_ = Tensor<T>(keras::gru_kernel_shape(input_size, u));
  initialize(options_.kernel_initializer, kernel_, rng);
  recurrent_kernel_ = Tensor<T>(keras::gru_recurrent_kernel_shape(u));
  initialize(options_.recurrent_initializer, recurrent_kernel_, rng);
  if (options_.use_bias) {
    bias_ = Tensor<T>(keras::gru_bias_shape(u, options_.reset_after));
    initialize(options_.bias_initializer, bias_, rng);
  }
  cd::allocate_grads<T>(
      {{&kernel_, &kernel_grad_}, {&recurrent_kernel_, &recurrent_kernel_grad_}, {&bias_, &bias_grad_}});
  input_size_ = input_size;
  built_ = true;
}

template <class T>
std::vector<Param<T>> GRUCell<T>::params() {
  return cells_detail::keras_cell_params(options_, &kernel_, &kernel_grad_, &recurrent_kernel_, &recurrent_kernel_grad_,
                                         &bias_, &bias_grad_);
}

template <class T>
int64_t GRUCell<T>::projection_size() const {
  return kGRUGates * options_.units;
}

template <class T>
void GRUCell<T>::project(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out, T* tmp) const {
  // Both implementations add the input bias to x @ kernel (K3 gru.py).
  const T* input_bias = nullptr;
  if (options_.use_bias)
    input_bias =
        options_.reset_after ? bias_.data() + keras::kGRUInputBiasRow * kGRUGates * options_.units : bias_.data();
  cd::project_gates<T>(x, rows, batch, input_size_, kernel_.data(), kGRUGates, options_.units, masks.input, input_bias,
                       out, tmp);
}

template <class T>
void GRUCell<T>::project_inputs(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out) const {
  std::vector<T> tmp(masks.input.empty() ? 0 : static_cast<size_t>(rows * input_size_));
  project(x, rows, batch, masks, out, tmp.data());
}

template <class T>
int64_t GRUCell<T>::scratch_size(int64_t batch) const {
  const int64_t w = kGRUGates * options_.units;
  // recurrent product, projected x (when not given), masked x, masked h, z and r, reset term.
  return batch * (2 * w + input_size_ + 4 * options_.units);
}

template <class T>
size_t GRUCell<T>::tape_zr_pre_index() const {
  return kernels::derivative_needs_input(options_.recurrent_activation) ? kTapeOptional : 0;
}

template <class T>
size_t GRUCell<T>::tape_cand_pre_index() const {
  if (!kernels::derivative_needs_input(options_.activation)) return 0;
  return tape_zr_pre_index() != 0 ? kTapeOptional + 1 : kTapeOptional;
}

template <class T>
void GRUCell<T>::step(const CellStep<T>& s) const {
  const int64_t b = s.batch, u = options_.units, w = kGRUGates * u;
  cd::ScratchCursor<T> scratch(s.scratch);
  T* rec = scratch.take(b * w);
  T* x_proj = scratch.take(b * w);
  T* x_tmp = scratch.take(b * input_size_);
  T* h_tmp = scratch.take(b * u);
  T* zr = scratch.take(b * 2 * u);
  T* reset = scratch.take(b * u);

  const T* xp = s.x_proj;
  if (xp == nullptr) {
    project(s.x, b, b, s.dropout, x_proj, x_tmp);
    xp = x_proj;
  }
  const T* h = s.states[0];
  const std::span<const T* const> rec_masks(s.dropout.recurrent);
  static_assert(block_index(GRUGate::update) == 0 && block_index(GRUGate::reset) == 1,
                "z and r are the first two blocks");

  kernels::GRUForward<T> f{options_.activation, options_.recurrent_activation, b, u};
  f.x_proj = xp, f.ld_x_proj = w, f.rec = rec, f.ld_rec = w, f.h = h;
  f.h_new = s.new_states[0], f.output = s.output;
  const bool record = !s.tape.empty();
  if (record) {
    f.zr = s.tape[kTapeZR], f.reset = s.tape[kTapeReset], f.cand = s.tape[kTapeCandidate];
    if (tape_zr_pre_index() != 0) f.zr_pre = s.tape[tape_zr_pre_index()];
    if (tape_cand_pre_index() != 0) f.cand_pre = s.tape[tape_cand_pre_index()];
  } else if (!options_.reset_after ||
             kernels::gru_needs_record<T>(options_.activation, options_.recurrent_activation)) {
    f.zr = zr, f.reset = reset;
  }
  if (options_.reset_after) {
    // rec = h @ R (all three blocks); the fused pass adds the recurrent bias.
    cd::recurrent_gates<T>(h, b, u, recurrent_kernel_.data(), w, kGRUGates, u, rec_masks, T(0), rec, w, h_tmp);
    if (options_.use_bias) f.rec_bias = bias_.data() + keras::kGRURecurrentBiasRow * w;
    kernels::gru_forward<T>(f);
    return;
  }
  // z and r blocks first; the candidate's product needs r * (h * m_h).
  const int zr_gates = static_cast<int>(block_index(GRUGate::candidate));
  cd::recurrent_gates<T>(h, b, u, recurrent_kernel_.data(), w, zr_gates, u,
                         rec_masks.first(std::min<size_t>(rec_masks.size(), zr_gates)), T(0), rec, w, h_tmp);
  f.h_mask = cd::gate_mask<T>(rec_masks, block_index(GRUGate::candidate));
  kernels::gru_reset_forward<T>(f);
  const int64_t oh = block_offset(GRUGate::candidate, u);
  kernels::gemm<T>(false, false, b, u, u, T(1), f.reset, u, recurrent_kernel_.data() + oh, w, T(0), rec + oh, w);
  kernels::gru_candidate_forward<T>(f);
}

template <class T>
std::vector<int64_t> GRUCell<T>::tape_widths() const {
  const int64_t u = options_.units;
  std::vector<int64_t> widths{2 * u, u, u};  // kTapeZR, kTapeReset, kTapeCandidate
  if (tape_zr_pre_index() != 0) widths.push_back(2 * u);
  if (tape_cand_pre_index() != 0) widths.push_back(u);
  return widths;
}

template <class T>
int64_t GRUCell<T>::grad_width() const {
  return (options_.reset_after ? kGRUGates + 1 : kGRUGates) * options_.units;
}

template <class T>
int64_t GRUCell<T>::backward_scratch_size(int64_t batch) const {
  return 2 * batch * options_.units;  // the candidate's product, the masked recurrent term
}

template <class T>
void GRUCell<T>::begin_backward() {
  // Transposed once per call: cheaper than a transposed operand in every step (lstm_cell.cpp).
  cd::transpose_into(kernel_, kernel_t_);
  cd::transpose_into(recurrent_kernel_, recurrent_kernel_t_);
}

template <class T>
void GRUCell<T>::step_backward(const CellStepGrad<T>& g) const {
  const int64_t b = g.batch, u = options_.units, w = kGRUGates * u, ldz = g.ldz;
  cd::ScratchCursor<T> scratch(g.scratch);
  T* p2 = scratch.take(b * u);
  T* h_tmp = scratch.take(b * u);
  const int64_t oh = block_offset(GRUGate::candidate, u);
  const std::span<const T* const> rec_masks(g.dropout.recurrent);
  const T* mask_h = cd::gate_mask<T>(rec_masks, block_index(GRUGate::candidate));
  const std::span<const T* const> zr_masks = rec_masks.first(std::min<size_t>(rec_masks.size(), 2));
  const std::span<const T* const> h_masks(&mask_h, mask_h != nullptr ? 1 : 0);
  const T* rt = recurrent_kernel_t_.data();  // [3U, U]: block k is rows k*U..
  T* dh_prev = g.d_states[0];

  // dz_z, dz_h (and with reset_after dz_r and d rh) in one pass; dh_prev = dh * z.
  kernels::GRUBackward<T> bw{options_.activation, options_.recurrent_activation, options_.reset_after, b, u};
  bw.d_output = g.d_output, bw.d_h = g.d_new_states[0], bw.h = g.states[0];
  bw.zr = g.tape[kTapeZR], bw.reset = g.tape[kTapeReset], bw.cand = g.tape[kTapeCandidate];
  if (tape_zr_pre_index() != 0) bw.zr_pre = g.tape[tape_zr_pre_index()];
  if (tape_cand_pre_index() != 0) bw.cand_pre = g.tape[tape_cand_pre_index()];
  bw.dz = g.dz, bw.ldz = ldz, bw.d_h_prev = dh_prev;
  kernels::gru_backward<T>(bw);
  if (options_.reset_after) {
    // dh_prev += Σ_{z, r} (dz_g @ R_gᵀ) * m_g + (d rh @ R_hᵀ) * m_h
    cd::backprop_gates<T>(g.dz, ldz, b, b, u, rt, 2, u, zr_masks, T(1), dh_prev, u, h_tmp);
    cd::backprop_gates<T>(g.dz + w, ldz, b, b, u, rt + oh * u, 1, u, h_masks, T(1), dh_prev, u, h_tmp);
    return;
  }
  // a_h = xh + (r * h_m) @ R_h: p2 = da_h @ R_hᵀ = d(r * h_m); then dz_r and the p2 * r * m_h
  // term in one pass, and dh_prev += Σ_{z, r} (dz_g @ R_gᵀ) * m_g.
  kernels::gemm<T>(false, false, b, u, u, T(1), g.dz + oh, ldz, rt + oh * u, u, T(0), p2, u);
  bw.h_mask = mask_h, bw.p2 = p2;
  kernels::gru_reset_backward<T>(bw);
  cd::backprop_gates<T>(g.dz, ldz, b, b, u, rt, 2, u, zr_masks, T(1), dh_prev, u, h_tmp);
}

template <class T>
void GRUCell<T>::backward_params(const CellSequenceGrad<T>& g) {
  const int64_t u = options_.units, w = kGRUGates * u, d = input_size_, oh = block_offset(GRUGate::candidate, u);
  // Masked copies of x or h, only with dropout.
  const bool masked = !g.dropout.input.empty() || !g.dropout.recurrent.empty();
  std::vector<T> tmp(masked ? static_cast<size_t>(g.rows * std::max(d, u)) : 0);
  // Input side: dK += (x * m_g)ᵀ [dz_z, dz_r, dz_h]; the input bias gets their column sums.
  cd::accumulate_gate_weights<T>(g.x, d, g.rows, g.batch, d, g.dz, g.ldz, kGRUGates, u, g.dropout.input,
                                 kernel_grad_.data(), w, tmp.data());
  if (options_.use_bias) {
    T* input_bias = bias_grad_.data() + (options_.reset_after ? keras::kGRUInputBiasRow * w : 0);
    kernels::accumulate_column_sums<T>(g.rows, w, g.dz, g.ldz, input_bias);
  }
  // Recurrent side: z and r blocks from h (masked per gate).
  const std::span<const T* const> rec_masks(g.dropout.recurrent);
  const std::span<const T* const> zr_masks = rec_masks.first(std::min<size_t>(rec_masks.size(), 2));
  const T* h = g.states[0];
  T* dr = recurrent_kernel_grad_.data();
  cd::accumulate_gate_weights<T>(h, u, g.rows, g.batch, u, g.dz, g.ldz, 2, u, zr_masks, dr, w, tmp.data());
  if (options_.reset_after) {
    // The candidate's recurrent block: (h * m_h)ᵀ d rh; the recurrent bias gets [dz_z, dz_r, d rh].
    const T* mask_h = cd::gate_mask<T>(rec_masks, block_index(GRUGate::candidate));
    const std::span<const T* const> h_masks(&mask_h, mask_h != nullptr ? 1 : 0);
    cd::accumulate_gate_weights<T>(h, u, g.rows, g.batch, u, g.dz + w, g.ldz, 1, u, h_masks, dr + oh, w, tmp.data());
    if (options_.use_bias) {
      T* rec_bias = bias_grad_.data() + keras::kGRURecurrentBiasRow * w;
      kernels::accumulate_column_sums<T>(g.rows, oh, g.dz, g.ldz, rec_bias);
      kernels::accumulate_column_sums<T>(g.rows, u, g.dz + w, g.ldz, rec_bias + oh);
    }
  } else {
    // dR_h += (r * h_m)ᵀ dz_h (the recorded reset term is already masked).
    kernels::gemm<T>(true, false, u, u, g.rows, T(1), g.tape[kTapeReset], u, g.dz + oh, g.ldz, T(1), dr + oh, w);
  }
}

template <class T>
void GRUCell<T>::backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t batch, const DropoutMasks<T>& masks,
                                 T* d_x, T* scratch) const {
  cd::backprop_gates<T>(dz, ldz, rows, batch, input_size_, kernel_t_.data(), kGRUGates, options_.units, masks.input,
                        T(0), d_x, input_size_, scratch);
}

template <class T>
int64_t GRUCell<T>::backward_inputs_scratch_size(int64_t rows) const {
  return input_mask_count() > 0 ? rows * input_size_ : 0;
}

template <class T>
std::unique_ptr<Cell<T>> GRUCell<T>::clone_config() const {
  return std::make_unique<GRUCell<T>>(options_);
}

template class GRUCell<float>;
template class GRUCell<double>;

}  // namespace rnnx
