#include "rnnx/layers/simple_rnn.h"

namespace rnnx {
namespace {

template <class T>
std::unique_ptr<Cell<T>> make_cell(const SimpleRNNOptions& options, const std::string& name) {
  SimpleRNNCell<T>::validate(options, "SimpleRNN '" + name + "'");
  return std::make_unique<SimpleRNNCell<T>>(options);
}

SimpleRNNOptions combine(const SimpleRNNCellOptions& cell_options, const RNNOptions& layer_options) {
  SimpleRNNOptions out;
  static_cast<SimpleRNNCellOptions&>(out) = cell_options;
  static_cast<RNNOptions&>(out) = layer_options;
  return out;
}

}  // namespace

template <class T>
SimpleRNN<T>::SimpleRNN(const SimpleRNNOptions& options, std::string name)
    : RNN<T>(make_cell<T>(options, name), options, name) {
  if (options.seed) this->set_seed(*options.seed);
}

template <class T>
SimpleRNN<T>::SimpleRNN(const SimpleRNNCellOptions& cell_options, const RNNOptions& layer_options, std::string name)
    : SimpleRNN(combine(cell_options, layer_options), std::move(name)) {}

template <class T>
SimpleRNNOptions SimpleRNN<T>::options() const {
  return combine(simple_rnn_cell().options(), this->rnn_options());
}

template <class T>
std::unique_ptr<RNN<T>> SimpleRNN<T>::clone_config() const {
  auto copy = std::make_unique<SimpleRNN<T>>(options(), this->name());
  copy->set_seed(this->seed());
  return copy;
}

template class SimpleRNN<float>;
template class SimpleRNN<double>;

}  // namespace rnnx
