// rnnx on one benchmark case (rnnx_runner.h).
#include "rnnx_runner.h"

#include <algorithm>
#include <stdexcept>

#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"

namespace rnnx::bench {

namespace {

// The layer of one case: its weights are set right after build, so the initializers are
// the cheapest ones (the default orthogonal one would only slow the setup down).
std::unique_ptr<RNN<float>> make_layer(const Case& c, bool return_state, int64_t l) {
  RNNOptions ro;
  ro.return_sequences = true;
  ro.return_state = return_state;
  const std::string name = c.cell + "_" + std::to_string(l);
  if (c.cell == "lstm") {
    LSTMCellOptions co;
    co.units = c.units;
    co.kernel_initializer = co.recurrent_initializer = Initializer::from_name("zeros");
    return std::make_unique<LSTM<float>>(co, ro, name);
  }
  GRUCellOptions co;
  co.units = c.units;
  co.reset_after = true;
  co.kernel_initializer = co.recurrent_initializer = Initializer::from_name("zeros");
  return std::make_unique<GRU<float>>(co, ro, name);
}

Tensor<float> tensor(Shape s, const std::vector<float>& v) { return Tensor<float>(std::move(s), v); }

}  // namespace

RnnxRunner::RnnxRunner(const Case& c, const CaseData& data) : case_(c) {
  const int64_t g = gate_count(c), h = c.units;
  const bool step = c.mode == "step";
  x_ = tensor({c.batch, c.steps, c.features}, data.x);
  for (int64_t l = 0; l < c.layers; ++l) {
    auto layer = make_layer(c, step, l);
    const int64_t in = layer_input(c, l);
    layer->build({Shape{c.batch, step ? 1 : c.steps, in}});
    const LayerWeights& w = data.layers[static_cast<size_t>(l)];
    const Shape bias_shape = c.cell == "gru" ? Shape{2, g * h} : Shape{g * h};
    layer->set_weights({tensor({in, g * h}, w.kernel), tensor({h, g * h}, w.recurrent), tensor(bias_shape, w.bias)});
    layers_.push_back(std::move(layer));
  }
  if (c.mode == "train") ones_ = Tensor<float>(Shape{c.batch, c.steps, h}, 1.0f);
  if (step) {
    for (int64_t t = 0; t < c.steps; ++t) {
      Tensor<float> xt(Shape{c.batch, 1, c.features});
      for (int64_t b = 0; b < c.batch; ++b)
        std::copy_n(data.x.data() + (b * c.steps + t) * c.features, c.features, xt.data() + b * c.features);
      step_x_.push_back(std::move(xt));
    }
    step_out_.assign(static_cast<size_t>(c.batch * c.steps * h), 0.0f);
  }
}

void RnnxRunner::forward(Mode mode) {
  y_ = (*layers_[0])(x_, mode);
  for (size_t l = 1; l < layers_.size(); ++l) y_ = (*layers_[l])(y_, mode);
}

void RnnxRunner::train_step() {
  for (auto& layer : layers_) layer->zero_grads();
  forward(Mode::training);
  Tensor<float> g = ones_;
  for (size_t l = layers_.size(); l-- > 0;) g = std::move(layers_[l]->backward({g}).inputs.at(0));
  dx_ = std::move(g);
}

void RnnxRunner::stream() {
  const int64_t h = case_.units, n_states = case_.cell == "lstm" ? 2 : 1;
  states_.assign(static_cast<size_t>(n_states), Tensor<float>(Shape{case_.batch, h}, 0.0f));
  RNN<float>& layer = *layers_[0];
  for (int64_t t = 0; t < case_.steps; ++t) {
    LayerInputs<float> in;
    in.inputs = {&step_x_[static_cast<size_t>(t)]};
    for (const Tensor<float>& s : states_) in.initial_state.push_back(&s);
    LayerOutputs<float> out = layer.call(in);
    for (int64_t s = 0; s < n_states; ++s) states_[static_cast<size_t>(s)] = std::move(out.outputs[1 + s]);
    const float* ht = states_[0].data();
    for (int64_t b = 0; b < case_.batch; ++b) std::copy_n(ht + b * h, h, step_out_.data() + (b * case_.steps + t) * h);
  }
}

void RnnxRunner::run() {
  if (case_.mode == "infer")
    forward(Mode::inference);
  else if (case_.mode == "train")
    train_step();
  else
    stream();
}

void RnnxRunner::dump(const std::string& dir) {
  if (case_.mode == "step") {
    write_floats(dir + "/out.bin", step_out_);
    return;
  }
  write_floats(dir + "/out.bin", y_.storage());
  if (case_.mode != "train") return;
  write_floats(dir + "/dx.bin", dx_.storage());
  const char* names[] = {"dk", "dr", "db"};
  for (size_t l = 0; l < layers_.size(); ++l) {
    const std::vector<Param<float>> params = layers_[l]->params();
    if (params.size() != 3) throw std::runtime_error("rnnx runner: expected 3 weights per layer");
    for (size_t p = 0; p < 3; ++p)
      write_floats(dir + "/" + names[p] + std::to_string(l) + ".bin", params[p].grad->storage());
  }
}

}  // namespace rnnx::bench
