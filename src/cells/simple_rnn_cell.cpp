#include "rnnx/cells/simple_rnn_cell.h"

#include "cells/gate_math.h"
#include "rnnx/cells/keras_layout.h"
#include "rnnx/core/error.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

namespace cd = cells_detail;

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
  if (!constant_sizes.empty())
    throw ConfigError("SimpleRNNCell: takes no constants, got " + std::to_string(constant_sizes.size()));
  if (built_) {
    if (input_size != input_size_)
      throw ShapeError("SimpleRNNCell: built for " + std::to_string(input_size_) + " input features, got " +
                       std::to_string(input_size));
    return;
  }
  cd::check_units(input_size, "SimpleRNNCell", "input size");
  const int64_t u = options_.units;
  kernel_ = Tensor<T>(keras::simple_rnn_kernel_shape(input_size, u));
  initialize(options_.kernel_initializer, kernel_, rng);
  recurrent_kernel_ = Tensor<T>(keras::simple_rnn_recurrent_kernel_shape(u));
  initialize(options_.recurrent_initializer, recurrent_kernel_, rng);
  if (options_.use_bias) {
    bias_ = Tensor<T>(keras::simple_rnn_bias_shape(u));
    initialize(options_.bias_initializer, bias_, rng);
  }
  input_size_ = input_size;
  built_ = true;
}

template <class T>
std::vector<Param<T>> SimpleRNNCell<T>::params() {
  std::vector<Param<T>> out{{"kernel", &kernel_}, {"recurrent_kernel", &recurrent_kernel_}};
  if (options_.use_bias) out.push_back({"bias", &bias_});
  return out;
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
  // projected x (when not given), masked x, masked h.
  return batch * (2 * options_.units + input_size_);
}

template <class T>
void SimpleRNNCell<T>::step(const CellStep<T>& s) const {
  const int64_t b = s.batch, u = options_.units;
  cd::ScratchCursor<T> scratch(s.scratch);
  T* x_proj = scratch.take(b * u);
  T* x_tmp = scratch.take(b * input_size_);
  T* h_tmp = scratch.take(b * u);
  const T* xp = s.x_proj;
  if (xp == nullptr) {
    project(s.x, b, b, s.dropout, x_proj, x_tmp);
    xp = x_proj;
  }
  // output = φ((x@K + b) + h@R)
  kernels::copy_block<T>(b, u, xp, u, s.output, u);
  cd::recurrent_gates<T>(s.states[0], b, u, recurrent_kernel_.data(), u, 1, u, s.dropout.recurrent, T(1), s.output, u,
                         h_tmp);
  kernels::activate_block<T>(options_.activation, s.output, b, u, u);
  kernels::copy_block<T>(b, u, s.output, u, s.new_states[0], u);
}

template <class T>
std::unique_ptr<Cell<T>> SimpleRNNCell<T>::clone_config() const {
  return std::make_unique<SimpleRNNCell<T>>(options_);
}

template class SimpleRNNCell<float>;
template class SimpleRNNCell<double>;

}  // namespace rnnx
