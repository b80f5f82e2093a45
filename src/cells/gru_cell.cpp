#include "rnnx/cells/gru_cell.h"

#include <algorithm>
#include <span>

#include "cells/gate_math.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/core/error.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

using keras::block_index;
using keras::block_offset;
using keras::GRUGate;
using keras::kGRUGates;
namespace cd = cells_detail;

namespace {
// Tape entries (tape_widths()).
constexpr size_t kTapeZRPre = 0, kTapeZR = 1, kTapeReset = 2, kTapeCandidatePre = 3, kTapeCandidate = 4;
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
  // inner, projected x (when not given), masked x, masked h, r * h.
  return batch * (2 * w + input_size_ + 2 * options_.units);
}

template <class T>
void GRUCell<T>::step(const CellStep<T>& s) const {
  const int64_t b = s.batch, u = options_.units, w = kGRUGates * u;
  cd::ScratchCursor<T> scratch(s.scratch);
  T* inner = scratch.take(b * w);
  T* x_proj = scratch.take(b * w);
  T* x_tmp = scratch.take(b * input_size_);
  T* h_tmp = scratch.take(b * u);
  T* reset_h = scratch.take(b * u);

  const T* xp = s.x_proj;
  if (xp == nullptr) {
    project(s.x, b, b, s.dropout, x_proj, x_tmp);
    xp = x_proj;
  }
  const T* h = s.states[0];
  T* h_new = s.new_states[0];
  const T* r_kernel = recurrent_kernel_.data();
  const std::span<const T* const> rec_masks(s.dropout.recurrent);

  const int64_t oz = block_offset(GRUGate::update, u), orr = block_offset(GRUGate::reset, u),
                oh = block_offset(GRUGate::candidate, u);
  static_assert(block_index(GRUGate::update) == 0 && block_index(GRUGate::reset) == 1,
                "z and r are the first two blocks");
  if (options_.reset_after) {
    // inner = h @ R + b_rec (all three blocks)
    cd::recurrent_gates<T>(h, b, u, r_kernel, w, kGRUGates, u, rec_masks, T(0), inner, w, h_tmp);
    if (options_.use_bias) kernels::add_row_vector<T>(inner, b, w, w, bias_.data() + keras::kGRURecurrentBiasRow * w);
  } else {
    // z and r blocks only; the candidate needs r first.
    const int zr_gates = static_cast<int>(block_index(GRUGate::candidate));
    cd::recurrent_gates<T>(h, b, u, r_kernel, w, zr_gates, u,
                           rec_masks.first(std::min<size_t>(rec_masks.size(), zr_gates)), T(0), inner, w, h_tmp);
  }
  // z = σr(xz + rz), r = σr(xr + rr)
  const bool record = !s.tape.empty();
  kernels::add_block<T>(b, oh, xp, w, inner, w, inner, w);  // the blocks before the candidate: z, r
  if (record) kernels::copy_block<T>(b, 2 * u, inner, w, s.tape[kTapeZRPre], 2 * u);
  kernels::activate_block<T>(options_.recurrent_activation, inner + oz, b, u, w);
  kernels::activate_block<T>(options_.recurrent_activation, inner + orr, b, u, w);
  if (record) kernels::copy_block<T>(b, 2 * u, inner, w, s.tape[kTapeZR], 2 * u);
  const T* z = inner + oz;
  const T* r = inner + orr;
  T* candidate = inner + oh;

  if (options_.reset_after) {
    if (record) kernels::copy_block<T>(b, u, candidate, w, s.tape[kTapeReset], u);
    kernels::multiply_block<T>(b, u, r, w, candidate, w, candidate, w);  // r * rh
  } else {
    // (r * h_masked) @ R_h, where h_masked uses the candidate gate's recurrent mask.
    const T* mask = cd::gate_mask<T>(rec_masks, block_index(GRUGate::candidate));
    const T* h_src = h;
    if (mask != nullptr) {
      kernels::multiply_block<T>(b, u, h, u, mask, u, reset_h, u);
      h_src = reset_h;
    }
    kernels::multiply_block<T>(b, u, r, w, h_src, u, reset_h, u);
    if (record) kernels::copy_block<T>(b, u, reset_h, u, s.tape[kTapeReset], u);
    kernels::gemm<T>(false, false, b, u, u, T(1), reset_h, u, r_kernel + oh, w, T(0), candidate, w);
  }
  // hh = φ(xh + recurrent_h)
  kernels::add_block<T>(b, u, xp + oh, w, candidate, w, candidate, w);
  if (record) kernels::copy_block<T>(b, u, candidate, w, s.tape[kTapeCandidatePre], u);
  kernels::activate_block<T>(options_.activation, candidate, b, u, w);
  if (record) kernels::copy_block<T>(b, u, candidate, w, s.tape[kTapeCandidate], u);
  // h' = z * h + (1 - z) * hh
  kernels::blend_block<T>(b, u, z, w, h, u, candidate, w, h_new, u);
  kernels::copy_block<T>(b, u, h_new, u, s.output, u);
}

template <class T>
std::vector<int64_t> GRUCell<T>::tape_widths() const {
  const int64_t u = options_.units;
  return {2 * u, 2 * u, u, u, u};  // kTapeZRPre, kTapeZR, kTapeReset, kTapeCandidatePre, kTapeCandidate
}

template <class T>
int64_t GRUCell<T>::grad_width() const {
  return (options_.reset_after ? kGRUGates + 1 : kGRUGates) * options_.units;
}

template <class T>
int64_t GRUCell<T>::backward_scratch_size(int64_t batch) const {
  return 4 * batch * options_.units;  // dh, two products, the masked recurrent term
}

template <class T>
void GRUCell<T>::begin_backward() {
  cd::transpose_into(kernel_, kernel_t_);
  cd::transpose_into(recurrent_kernel_, recurrent_kernel_t_);
}

template <class T>
void GRUCell<T>::step_backward(const CellStepGrad<T>& g) const {
  const int64_t b = g.batch, u = options_.units, w = kGRUGates * u, ldz = g.ldz;
  cd::ScratchCursor<T> scratch(g.scratch);
  T* dh = scratch.take(b * u);
  T* p1 = scratch.take(b * u);
  T* p2 = scratch.take(b * u);
  T* h_tmp = scratch.take(b * u);
  const T* pre = g.tape[kTapeZRPre];
  const T* zr = g.tape[kTapeZR];
  const T* reset = g.tape[kTapeReset];
  const T* cand_pre = g.tape[kTapeCandidatePre];
  const T* cand = g.tape[kTapeCandidate];
  const T* h = g.states[0];
  T* dh_prev = g.d_states[0];
  const int64_t oz = block_offset(GRUGate::update, u), orr = block_offset(GRUGate::reset, u),
                oh = block_offset(GRUGate::candidate, u);
  const Activation& act = options_.activation;
  const Activation& rec_act = options_.recurrent_activation;
  const std::span<const T* const> rec_masks(g.dropout.recurrent);
  const T* mask_h = cd::gate_mask<T>(rec_masks, block_index(GRUGate::candidate));
  const std::span<const T* const> zr_masks = rec_masks.first(std::min<size_t>(rec_masks.size(), 2));
  const std::span<const T* const> h_masks(&mask_h, mask_h != nullptr ? 1 : 0);
  T* dz = g.dz;
  const T* rt = recurrent_kernel_t_.data();  // [3U, U]: block k is rows k*U..

  // h' = z * h + (1 - z) * hh, and the output is h'.
  kernels::add_block<T>(b, u, g.d_output, u, g.d_new_states[0], u, dh, u);
  // dz_z = dh * (h - hh) * σr'(z)
  kernels::copy_block<T>(b, u, cand, u, p1, u);
  kernels::scale_block<T>(p1, b, u, u, T(-1));
  kernels::add_block<T>(b, u, h, u, p1, u, p1, u);
  kernels::multiply_block<T>(b, u, p1, u, dh, u, p1, u);
  kernels::activation_backward_block<T>(rec_act, b, u, pre + oz, 2 * u, zr + oz, 2 * u, p1, u, dz + oz, ldz);
  // dz_h (input side) = dh * (1 - z) * φ'(a_h), with (1 - z) * dh = dh - z * dh
  kernels::multiply_block<T>(b, u, zr + oz, 2 * u, dh, u, p1, u);
  kernels::scale_block<T>(p1, b, u, u, T(-1));
  kernels::add_block<T>(b, u, dh, u, p1, u, p1, u);
  kernels::activation_backward_block<T>(act, b, u, cand_pre, u, cand, u, p1, u, dz + oh, ldz);
  const T* da_h = dz + oh;

  if (options_.reset_after) {
    // a_h = xh + r * rh: dz_r = da_h * rh * σr'(r); d rh = da_h * r (the recurrent h block).
    T* drh = dz + w;
    kernels::multiply_block<T>(b, u, da_h, ldz, reset, u, p1, u);
    kernels::activation_backward_block<T>(rec_act, b, u, pre + orr, 2 * u, zr + orr, 2 * u, p1, u, dz + orr, ldz);
    kernels::multiply_block<T>(b, u, da_h, ldz, zr + orr, 2 * u, drh, ldz);
    // dh_prev = Σ_{z, r} (dz_g @ R_gᵀ) * m_g + (drh @ R_hᵀ) * m_h + dh * z
    cd::backprop_gates<T>(dz, ldz, b, b, u, rt, 2, u, zr_masks, T(0), dh_prev, u, h_tmp);
    cd::backprop_gates<T>(drh, ldz, b, b, u, rt + oh * u, 1, u, h_masks, T(1), dh_prev, u, h_tmp);
  } else {
    // a_h = xh + (r * h_m) @ R_h with h_m = h * m_h: d(r * h_m) = da_h @ R_hᵀ (p2),
    // dz_r = p2 * h_m * σr'(r).
    kernels::gemm<T>(false, false, b, u, u, T(1), da_h, ldz, rt + oh * u, u, T(0), p2, u);
    if (mask_h != nullptr) {
      kernels::multiply_block<T>(b, u, h, u, mask_h, u, p1, u);
      kernels::multiply_block<T>(b, u, p1, u, p2, u, p1, u);
    } else {
      kernels::multiply_block<T>(b, u, h, u, p2, u, p1, u);
    }
    kernels::activation_backward_block<T>(rec_act, b, u, pre + orr, 2 * u, zr + orr, 2 * u, p1, u, dz + orr, ldz);
    // dh_prev = Σ_{z, r} (dz_g @ R_gᵀ) * m_g + p2 * r * m_h + dh * z
    cd::backprop_gates<T>(dz, ldz, b, b, u, rt, 2, u, zr_masks, T(0), dh_prev, u, h_tmp);
    kernels::multiply_block<T>(b, u, p2, u, zr + orr, 2 * u, p1, u);
    if (mask_h != nullptr) kernels::multiply_block<T>(b, u, p1, u, mask_h, u, p1, u);
    kernels::add_block<T>(b, u, dh_prev, u, p1, u, dh_prev, u);
  }
  kernels::multiply_accumulate_block<T>(b, u, dh, u, zr + oz, 2 * u, dh_prev, u);
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
