#include "rnnx/layers/embedding.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "layers/call_tape.h"
#include "layers/shape_checks.h"
#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {

template <class T>
Embedding<T>::Embedding(EmbeddingOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(std::move(options)) {
  if (options_.input_dim <= 0)
    throw ConfigError(this->where() + ": input_dim must be > 0, got " + std::to_string(options_.input_dim));
  if (options_.output_dim <= 0)
    throw ConfigError(this->where() + ": output_dim must be > 0, got " + std::to_string(options_.output_dim));
}

template <class T>
void Embedding<T>::check_input(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  detail::expect_min_rank(this->where(), input_shapes[0], 1, "(batch, ...) of integer ids");
}

template <class T>
void Embedding<T>::build(const std::vector<Shape>& input_shapes) {
  check_input(input_shapes);
  if (this->built()) return;
  Rng rng(this->seed());
  embeddings_ = Tensor<T>({options_.input_dim, options_.output_dim});
  initialize(options_.embeddings_initializer, embeddings_, rng);
  embeddings_grad_ = Tensor<T>(embeddings_.shape());
  embeddings_rows_.row_size = options_.output_dim;
  this->set_built();
}

template <class T>
std::vector<Shape> Embedding<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  check_input(input_shapes);
  Shape out = input_shapes[0];
  out.push_back(options_.output_dim);
  return {out};
}

template <class T>
LayerOutputs<T> Embedding<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& ids = detail::input_at(this->where(), in.inputs, 0);
  build({ids.shape()});
  const int64_t dim = options_.output_dim;
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  LayerOutputs<T> out;
  Tensor<T>& y = out.outputs.emplace_back(out_shape);
  for (int64_t i = 0; i < ids.size(); ++i) {
    const T v = ids[i];
    if (!(v >= T(0) && v < static_cast<T>(options_.input_dim)) || std::floor(v) != v) {
      std::ostringstream msg;
      msg << this->where() << ": input holds " << v << " at flat index " << i << "; ids must be integers in [0, "
          << options_.input_dim << ") (input shape " << to_string(ids.shape()) << ")";
      throw ShapeError(msg.str());
    }
    const T* row = embeddings_.data() + static_cast<int64_t>(v) * dim;
    std::copy(row, row + dim, y.data() + i * dim);
  }
  if (options_.mask_zero) {
    out.mask = Mask(ids.shape());
    for (int64_t i = 0; i < ids.size(); ++i) out.mask[i] = ids[i] != T(0);
  }
  if (in.mode == Mode::training) tape_.push_back(ids);
  return out;
}

template <class T>
LayerGrads<T> Embedding<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const int64_t dim = options_.output_dim;
  Shape out_shape = detail::tape_top(tape_, this->where()).shape();
  out_shape.push_back(dim);
  detail::check_grad_outputs(this->where(), grad_outputs, {out_shape});
  const Tensor<T> ids = detail::tape_pop(tape_);
  LayerGrads<T> g;
  g.inputs.emplace_back(ids.shape());  // ids are not differentiable
  const Tensor<T>& dy = grad_outputs[0];
  if (dy.empty()) return g;
  for (int64_t i = 0; i < ids.size(); ++i) {  // ids were checked by the call
    T* row = embeddings_grad_.data() + static_cast<int64_t>(ids[i]) * dim;
    kernels::add_block<T>(1, dim, row, dim, dy.data() + i * dim, dim, row, dim);
    embeddings_rows_.append(static_cast<int64_t>(ids[i]), dy.data() + i * dim);
  }
  return g;
}

template <class T>
std::vector<Param<T>> Embedding<T>::params() {
  if (!this->built()) return {};
  return {{"embeddings", &embeddings_, &embeddings_grad_, true, options_.embeddings_regularizer,
           options_.embeddings_constraint, &embeddings_rows_}};
}

template class Embedding<float>;
template class Embedding<double>;

}  // namespace rnnx
