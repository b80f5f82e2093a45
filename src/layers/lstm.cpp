#include "rnnx/layers/lstm.h"

namespace rnnx {
namespace {

template <class T>
std::unique_ptr<Cell<T>> make_cell(const LSTMOptions& options, const std::string& name) {
  LSTMCell<T>::validate(options, "LSTM '" + name + "'");
  return std::make_unique<LSTMCell<T>>(options);
}

LSTMOptions combine(const LSTMCellOptions& cell_options, const RNNOptions& layer_options) {
  LSTMOptions out;
  static_cast<LSTMCellOptions&>(out) = cell_options;
  static_cast<RNNOptions&>(out) = layer_options;
  return out;
}

}  // namespace

template <class T>
LSTM<T>::LSTM(const LSTMOptions& options, std::string name) : RNN<T>(make_cell<T>(options, name), options, name) {
  if (options.seed) this->set_seed(*options.seed);
}

template <class T>
LSTM<T>::LSTM(const LSTMCellOptions& cell_options, const RNNOptions& layer_options, std::string name)
    : LSTM(combine(cell_options, layer_options), std::move(name)) {}

template <class T>
LSTMOptions LSTM<T>::options() const {
  return combine(lstm_cell().options(), this->rnn_options());
}

template <class T>
std::unique_ptr<RNN<T>> LSTM<T>::clone_config() const {
  auto copy = std::make_unique<LSTM<T>>(options(), this->name());
  copy->set_seed(this->seed());
  return copy;
}

template class LSTM<float>;
template class LSTM<double>;

}  // namespace rnnx
