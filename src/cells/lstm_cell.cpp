#include "rnnx/cells/lstm_cell.h"

#include "cells/gate_math.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/core/error.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

using keras::block_offset;
using keras::kLSTMGates;
using keras::LSTMGate;
namespace cd = cells_detail;

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
  return options_.recurrent_dropout > 0.0 ? 1 : options_.implementation;
}

template <class T>
bool LSTMCell<T>::per_gate_masks() const {
  return options_.per_gate_dropout_masks && implementation() == 1;
}

template <class T>
int LSTMCell<T>::input_mask_count() const {
  if (options_.whole_sequence_input_dropout) return 0;
  return cd::mask_count(options_.dropout, per_gate_masks(), kLSTMGates);
}

template <class T>
double LSTMCell<T>::sequence_input_dropout() const {
  return options_.whole_sequence_input_dropout ? options_.dropout : 0.0;
}

template <class T>
int LSTMCell<T>::recurrent_mask_count() const {
  return cd::mask_count(options_.recurrent_dropout, per_gate_masks(), kLSTMGates);
}

template <class T>
void LSTMCell<T>::build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) {
  if (!constant_sizes.empty())
    throw ConfigError("LSTMCell: takes no constants, got " + std::to_string(constant_sizes.size()));
  if (built_) {
    if (input_size != input_size_)
      throw ShapeError("LSTMCell: built for " + std::to_string(input_size_) + " input features, got " +
                       std::to_string(input_size));
    return;
  }
  cd::check_units(input_size, "LSTMCell", "input size");
  const int64_t u = options_.units;
  kernel_ = Tensor<T>(keras::lstm_kernel_shape(input_size, u));
  initialize(options_.kernel_initializer, kernel_, rng);
  recurrent_kernel_ = Tensor<T>(keras::lstm_recurrent_kernel_shape(u));
  initialize(options_.recurrent_initializer, recurrent_kernel_, rng);
  if (options_.use_bias) {
    bias_ = Tensor<T>(keras::lstm_bias_shape(u));
    if (options_.unit_forget_bias) {
      // [bias_init(U), ones(U), bias_init(2U)]: blocks i | f | c, o (spec §2.1).
      static_assert(block_offset(LSTMGate::forget, 1) == 1 && block_offset(LSTMGate::cell, 1) == 2 &&
                    block_offset(LSTMGate::output, 1) == 3);
      Tensor<T> input_part({u}), forget_part({u}, T(1)), cell_output_part({2 * u});
      initialize(options_.bias_initializer, input_part, rng);
      initialize(options_.bias_initializer, cell_output_part, rng);
      cd::concat_vectors<T>({&input_part, &forget_part, &cell_output_part}, bias_);
    } else {
      initialize(options_.bias_initializer, bias_, rng);
    }
  }
  input_size_ = input_size;
  built_ = true;
}

template <class T>
std::vector<Param<T>> LSTMCell<T>::params() {
  std::vector<Param<T>> out{{"kernel", &kernel_}, {"recurrent_kernel", &recurrent_kernel_}};
  if (options_.use_bias) out.push_back({"bias", &bias_});
  return out;
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

  T* zi = z + block_offset(LSTMGate::input, u);
  T* zf = z + block_offset(LSTMGate::forget, u);
  T* zc = z + block_offset(LSTMGate::cell, u);
  T* zo = z + block_offset(LSTMGate::output, u);
  kernels::activate_block<T>(options_.recurrent_activation, zi, b, u, w);
  kernels::activate_block<T>(options_.recurrent_activation, zf, b, u, w);
  kernels::activate_block<T>(options_.activation, zc, b, u, w);
  kernels::activate_block<T>(options_.recurrent_activation, zo, b, u, w);

  // c' = f * c + i * g
  kernels::multiply_block<T>(b, u, zf, w, c, u, c_new, u);
  kernels::multiply_accumulate_block<T>(b, u, zi, w, zc, w, c_new, u);
  // h' = o * φ(c')
  kernels::copy_block<T>(b, u, c_new, u, h_new, u);
  kernels::activate_block<T>(options_.activation, h_new, b, u, u);
  kernels::multiply_block<T>(b, u, zo, w, h_new, u, h_new, u);
  kernels::copy_block<T>(b, u, h_new, u, s.output, u);
}

template <class T>
std::unique_ptr<Cell<T>> LSTMCell<T>::clone_config() const {
  return std::make_unique<LSTMCell<T>>(options_);
}

template class LSTMCell<float>;
template class LSTMCell<double>;

}  // namespace rnnx
