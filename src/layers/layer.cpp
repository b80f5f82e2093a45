#include "rnnx/layers/layer.h"

#include "rnnx/core/error.h"

namespace rnnx {

template <class T>
Tensor<T> Layer<T>::operator()(const Tensor<T>& x, Mode mode) {
  LayerInputs<T> in;
  in.inputs = {&x};
  in.mode = mode;
  auto out = call(in);
  return std::move(out.outputs.at(0));
}

template <class T>
std::vector<Tensor<T>> Layer<T>::get_weights() {
  std::vector<Tensor<T>> out;
  for (auto& p : params()) out.push_back(*p.value);
  return out;
}

template <class T>
void Layer<T>::set_weights(const std::vector<Tensor<T>>& weights) {
  if (!built_) throw StateError(where() + ": set_weights before the layer is built (call build or the layer first)");
  auto ps = params();
  if (ps.size() != weights.size())
    throw ShapeError(where() + ": set_weights expected " + std::to_string(ps.size()) + " arrays, got " +
                     std::to_string(weights.size()));
  for (size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].value->shape() != weights[i].shape())
      throw ShapeError(where() + ": weight " + std::to_string(i) + " ('" + ps[i].name + "') has shape " +
                       to_string(ps[i].value->shape()) + ", got an array of shape " + to_string(weights[i].shape()));
  }
  for (size_t i = 0; i < ps.size(); ++i) *ps[i].value = weights[i];
}

template <class T>
LayerGrads<T> Layer<T>::backward(const std::vector<Tensor<T>>&) {
  throw ConfigError(where() + ": this layer does not implement backward, so it cannot be trained");
}

template <class T>
void Layer<T>::zero_grads() {
  for (auto& p : params()) {
    if (p.grad) p.grad->fill(T(0));
    if (p.sparse_grad) p.sparse_grad->clear();
  }
}

template <class T>
int64_t Layer<T>::count_params() {
  int64_t n = 0;
  for (auto& p : params()) n += p.value->size();
  return n;
}

template class Layer<float>;
template class Layer<double>;

}  // namespace rnnx
