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
  return options_.recurrent_dropout > 0.0 ? 1 : options_.implementation;
}

template <class T>
bool GRUCell<T>::per_gate_masks() const {
  return options_.per_gate_dropout_masks && implementation() == 1;
}

template <class T>
int GRUCell<T>::input_mask_count() const {
  if (options_.whole_sequence_input_dropout) return 0;
  return cd::mask_count(options_.dropout, per_gate_masks(), kGRUGates);
}

template <class T>
double GRUCell<T>::sequence_input_dropout() const {
  return options_.whole_sequence_input_dropout ? options_.dropout : 0.0;
}

template <class T>
int GRUCell<T>::recurrent_mask_count() const {
  return cd::mask_count(options_.recurrent_dropout, per_gate_masks(), kGRUGates);
}

template <class T>
void GRUCell<T>::build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) {
  if (!constant_sizes.empty())
    throw ConfigError("GRUCell: takes no constants, got " + std::to_string(constant_sizes.size()));
  if (built_) {
    if (input_size != input_size_)
      throw ShapeError("GRUCell: built for " + std::to_string(input_size_) + " input features, got " +
                       std::to_string(input_size));
    return;
  }
  cd::check_units(input_size, "GRUCell", "input size");
  const int64_t u = options_.units;
  kernel_ = Tensor<T>(keras::gru_kernel_shape(input_size, u));
  initialize(options_.kernel_initializer, kernel_, rng);
  recurrent_kernel_ = Tensor<T>(keras::gru_recurrent_kernel_shape(u));
  initialize(options_.recurrent_initializer, recurrent_kernel_, rng);
  if (options_.use_bias) {
    bias_ = Tensor<T>(keras::gru_bias_shape(u, options_.reset_after));
    initialize(options_.bias_initializer, bias_, rng);
  }
  input_size_ = input_size;
  built_ = true;
}

template <class T>
std::vector<Param<T>> GRUCell<T>::params() {
  std::vector<Param<T>> out{{"kernel", &kernel_}, {"recurrent_kernel", &recurrent_kernel_}};
  if (options_.use_bias) out.push_back({"bias", &bias_});
  return out;
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
  kernels::add_block<T>(b, oh, xp, w, inner, w, inner, w);  // the blocks before the candidate: z, r
  kernels::activate_block<T>(options_.recurrent_activation, inner + oz, b, u, w);
  kernels::activate_block<T>(options_.recurrent_activation, inner + orr, b, u, w);
  const T* z = inner + oz;
  const T* r = inner + orr;
  T* candidate = inner + oh;

  if (options_.reset_after) {
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
    kernels::gemm<T>(false, false, b, u, u, T(1), reset_h, u, r_kernel + oh, w, T(0), candidate, w);
  }
  // hh = φ(xh + recurrent_h)
  kernels::add_block<T>(b, u, xp + oh, w, candidate, w, candidate, w);
  kernels::activate_block<T>(options_.activation, candidate, b, u, w);
  // h' = z * h + (1 - z) * hh
  kernels::blend_block<T>(b, u, z, w, h, u, candidate, w, h_new, u);
  kernels::copy_block<T>(b, u, h_new, u, s.output, u);
}

template <class T>
std::unique_ptr<Cell<T>> GRUCell<T>::clone_config() const {
  return std::make_unique<GRUCell<T>>(options_);
}

template class GRUCell<float>;
template class GRUCell<double>;

}  // namespace rnnx
