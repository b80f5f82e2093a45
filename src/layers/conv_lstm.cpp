#include "rnnx/layers/conv_lstm.h"

#include <algorithm>

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

const char* class_of(int rank) { return rank == 1 ? "ConvLSTM1D" : "ConvLSTM2D"; }

template <class T>
std::unique_ptr<Cell<T>> make_cell(ConvLSTMOptions options, const std::string& name) {
  const std::string where = std::string(class_of(options.rank)) + " '" + name + "'";
  if (options.time_major) throw ConfigError(where + ": time_major is not an argument of " + class_of(options.rank));
  ConvLSTMCell<T>::validate(options, where);
  return std::make_unique<ConvLSTMCell<T>>(static_cast<const ConvLSTMCellOptions&>(options));
}

ConvLSTMOptions combine(const ConvLSTMCellOptions& cell_options, const RNNOptions& layer_options) {
  ConvLSTMOptions out;
  static_cast<ConvLSTMCellOptions&>(out) = cell_options;
  static_cast<RNNOptions&>(out) = layer_options;
  return out;
}

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t e : v) p *= e;
  return p;
}

// The same values under a new shape, moving the storage (no copy).
template <class T>
Tensor<T> reshape_moved(Tensor<T>&& t, Shape shape) {
  return Tensor<T>(std::move(shape), std::move(t.storage()));
}

}  // namespace

template <class T>
ConvLSTM<T>::ConvLSTM(ConvLSTMOptions options, std::string name) : RNN<T>(make_cell<T>(options, name), options, name) {
  if (options.seed) this->set_seed(*options.seed);
}

template <class T>
ConvLSTM<T>::ConvLSTM(const ConvLSTMCellOptions& cell_options, const RNNOptions& layer_options, std::string name)
    : ConvLSTM(combine(cell_options, layer_options), std::move(name)) {}

template <class T>
std::string ConvLSTM<T>::class_name() const {
  return class_of(rank());
}

template <class T>
ConvLSTMOptions ConvLSTM<T>::options() const {
  return combine(conv_lstm_cell().options(), this->rnn_options());
}

template <class T>
void ConvLSTM<T>::split_input_shape(const Shape& shape, std::vector<int64_t>& spatial, int64_t& channels) const {
  const size_t want = static_cast<size_t>(rank()) + 3;
  if (shape.size() != want)
    throw ShapeError(this->where() + ": expected a " + std::to_string(want) + "-D input " +
                     (rank() == 1 ? "[batch, time, steps, channels]" : "[batch, time, rows, cols, channels]") +
                     ", got shape " + to_string(shape));
  spatial.assign(shape.begin() + 2, shape.end() - 1);
  channels = shape.back();
  for (int64_t d : spatial)
    if (d <= 0)
      throw ShapeError(this->where() + ": ConvLSTM layers need known spatial dimensions (as Keras), got shape " +
                       to_string(shape));
  if (channels <= 0)
    throw ShapeError(this->where() + ": the channel dimension (last axis) must be known, got shape " +
                     to_string(shape));
}

template <class T>
Shape ConvLSTM<T>::state_shape(int64_t batch) const {
  Shape s{batch};
  const auto& out = conv_lstm_cell().geometry().out_spatial;
  s.insert(s.end(), out.begin(), out.end());
  s.push_back(conv_lstm_cell().options().filters);
  return s;
}

template <class T>
void ConvLSTM<T>::build(const std::vector<Shape>& input_shapes) {
  if (input_shapes.empty()) throw ShapeError(this->where() + ": build needs the shape of the input sequence");
  if (input_shapes.size() > 1)
    throw ConfigError(this->where() + ": takes no constants, got " + std::to_string(input_shapes.size() - 1));
  std::vector<int64_t> spatial;
  int64_t channels = 0;
  split_input_shape(input_shapes[0], spatial, channels);
  mutable_cell().set_input_geometry(spatial, channels, this->where());
  const Shape& s = input_shapes[0];
  RNN<T>::build({Shape{s[0], s[1], product(spatial) * channels}});
}

template <class T>
std::vector<Shape> ConvLSTM<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  if (input_shapes.empty()) throw ShapeError(this->where() + ": needs the shape of the input sequence");
  std::vector<int64_t> spatial;
  int64_t channels = 0;
  const Shape& s = input_shapes[0];
  split_input_shape(s, spatial, channels);
  const auto& o = conv_lstm_cell().options();
  Shape state{s[0]};
  for (int64_t d : ConvLSTMCell<T>::output_spatial(o, spatial, this->where())) state.push_back(d);
  state.push_back(o.filters);
  std::vector<Shape> shapes;
  if (this->rnn_options().return_sequences) {
    Shape seq = state;
    seq.insert(seq.begin() + 1, s[1]);
    shapes.push_back(seq);
  } else {
    shapes.push_back(state);
  }
  if (this->rnn_options().return_state) {
    shapes.push_back(state);
    shapes.push_back(state);
  }
  return shapes;
}

template <class T>
LayerOutputs<T> ConvLSTM<T>::call(const LayerInputs<T>& in) {
  if (in.inputs.size() != 1)
    throw ShapeError(this->where() + ": takes exactly one input sequence, got " + std::to_string(in.inputs.size()));
  if (!in.constants.empty())
    throw ConfigError(this->where() + ": takes no constants, got " + std::to_string(in.constants.size()));
  const Tensor<T>& x = *in.inputs[0];
  build({x.shape()});
  const int64_t batch = x.dim(0), steps = x.dim(1);
  const Tensor<T> flat = x.reshaped({batch, steps, x.size() / std::max<int64_t>(batch * steps, 1)});
  const Shape want = state_shape(batch);
  std::vector<Tensor<T>> states;
  for (size_t i = 0; i < in.initial_state.size(); ++i) {
    const Tensor<T>& s = *in.initial_state[i];
    if (s.shape() != want)
      throw ShapeError(this->where() + ": initial_state " + std::to_string(i) + " must have shape " + to_string(want) +
                       ", got " + to_string(s.shape()));
    states.push_back(s.reshaped({batch, s.size() / std::max<int64_t>(batch, 1)}));
  }
  LayerInputs<T> flat_in = in;
  flat_in.inputs = {&flat};
  flat_in.initial_state.clear();
  for (const auto& s : states) flat_in.initial_state.push_back(&s);
  LayerOutputs<T> out = RNN<T>::call(flat_in);
  for (size_t i = 0; i < out.outputs.size(); ++i) {
    Shape shape = want;
    if (i == 0 && this->rnn_options().return_sequences) shape.insert(shape.begin() + 1, steps);
    out.outputs[i] = reshape_moved(std::move(out.outputs[i]), shape);
  }
  return out;
}

template <class T>
LayerGrads<T> ConvLSTM<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  std::vector<Tensor<T>> flat;
  flat.reserve(grad_outputs.size());
  for (size_t i = 0; i < grad_outputs.size(); ++i) {
    const Tensor<T>& g = grad_outputs[i];
    if (g.empty()) {
      flat.emplace_back();
      continue;
    }
    const bool seq = i == 0 && this->rnn_options().return_sequences;
    const int64_t lead = seq ? 2 : 1;
    if (g.rank() < lead + 1)
      throw ShapeError(this->where() + ": gradient " + std::to_string(i) + " has shape " + to_string(g.shape()) +
                       ", which does not match the output");
    Shape shape(g.shape().begin(), g.shape().begin() + lead);
    int64_t lead_size = 1;
    for (int64_t d : shape) lead_size *= d;
    shape.push_back(g.size() / std::max<int64_t>(lead_size, 1));
    // Only a gradient shaped like the output passes (RNN checks the flat shape it gets).
    const Shape want = state_shape(g.dim(0));
    Shape full = want;
    if (seq) full.insert(full.begin() + 1, g.dim(1));
    if (g.shape() != full)
      throw ShapeError(this->where() + ": gradient " + std::to_string(i) + " must have shape " + to_string(full) +
                       ", got " + to_string(g.shape()));
    flat.push_back(g.reshaped(shape));
  }
  LayerGrads<T> grads = RNN<T>::backward(flat);
  if (!grads.inputs.empty() && !grads.inputs[0].empty()) {
    Tensor<T>& dx = grads.inputs[0];
    const auto& geo = conv_lstm_cell().geometry();
    Shape shape{dx.dim(0), dx.dim(1)};
    shape.insert(shape.end(), geo.in_spatial.begin(), geo.in_spatial.end());
    shape.push_back(geo.in_channels);
    dx = reshape_moved(std::move(dx), shape);
  }
  for (auto& ds : grads.initial_state)
    if (!ds.empty()) ds = reshape_moved(std::move(ds), state_shape(ds.dim(0)));
  return grads;
}

template <class T>
std::unique_ptr<RNN<T>> ConvLSTM<T>::clone_config() const {
  auto copy = std::make_unique<ConvLSTM<T>>(options(), this->name());
  copy->set_seed(this->seed());
  return copy;
}

template class ConvLSTM<float>;
template class ConvLSTM<double>;

}  // namespace rnnx
