#include "rnnx/layers/gru.h"

namespace rnnx {
namespace {

template <class T>
std::unique_ptr<Cell<T>> make_cell(const GRUOptions& options, const std::string& name) {
  GRUCell<T>::validate(options, "GRU '" + name + "'");
  return std::make_unique<GRUCell<T>>(options);
}

GRUOptions combine(const GRUCellOptions& cell_options, const RNNOptions& layer_options) {
  GRUOptions out;
  static_cast<GRUCellOptions&>(out) = cell_options;
  static_cast<RNNOptions&>(out) = layer_options;
  return out;
}

}  // namespace

template <class T>
GRU<T>::GRU(const GRUOptions& options, std::string name) : RNN<T>(make_cell<T>(options, name), options, name) {
  if (options.seed) this->set_seed(*options.seed);
}

template <class T>
GRU<T>::GRU(const GRUCellOptions& cell_options, const RNNOptions& layer_options, std::string name)
    : GRU(combine(cell_options, layer_options), std::move(name)) {}

template <class T>
GRUOptions GRU<T>::options() const {
  return combine(gru_cell().options(), this->rnn_options());
}

template <class T>
std::unique_ptr<RNN<T>> GRU<T>::clone_config() const {
  auto copy = std::make_unique<GRU<T>>(options(), this->name());
  copy->set_seed(this->seed());
  return copy;
}

template class GRU<float>;
template class GRU<double>;

}  // namespace rnnx
