#include "rnnx/layers/time_distributed.h"

#include "layers/call_tape.h"
#include "layers/shape_checks.h"
#include "rnnx/core/sample_rng.h"

namespace rnnx {

template <class T>
TimeDistributed<T>::TimeDistributed(std::shared_ptr<Layer<T>> layer, std::string name)
    : Layer<T>(std::move(name)), layer_(std::move(layer)) {
  if (!layer_) throw ConfigError(this->where() + ": the wrapped layer is null");
}

template <class T>
Shape TimeDistributed<T>::inner_shape(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  const Shape& s = input_shapes[0];
  detail::expect_min_rank(this->where(), s, 3, "(batch, steps, ...)");
  Shape inner{s[0]};
  inner.insert(inner.end(), s.begin() + 2, s.end());
  return inner;
}

template <class T>
void TimeDistributed<T>::build(const std::vector<Shape>& input_shapes) {
  const Shape inner = inner_shape(input_shapes);
  if (!layer_->built() && layer_->seed() == 0) layer_->set_seed(this->seed());
  layer_->build({inner});
  this->set_built();
}

template <class T>
std::vector<Shape> TimeDistributed<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  const Shape inner = inner_shape(input_shapes);
  const std::vector<Shape> inner_out = layer_->compute_output_shapes({inner});
  if (inner_out.size() != 1)
    throw ConfigError(this->where() + ": the wrapped layer " + layer_->class_name() + " '" + layer_->name() +
                      "' returns " + std::to_string(inner_out.size()) + " tensors; TimeDistributed needs exactly 1");
  Shape out{input_shapes[0][0], input_shapes[0][1]};
  out.insert(out.end(), inner_out[0].begin() + 1, inner_out[0].end());
  return {out};
}

template <class T>
LayerOutputs<T> TimeDistributed<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x = detail::input_at(this->where(), in.inputs, 0);
  const Shape out_shape = compute_output_shapes({x.shape()})[0];
  build({x.shape()});
  const int64_t batch = x.dim(0), steps = x.dim(1);

  Shape flat_shape{batch * steps};
  flat_shape.insert(flat_shape.end(), x.shape().begin() + 2, x.shape().end());
  const Tensor<T> flat = x.reshaped(flat_shape);
  Mask flat_mask;
  LayerInputs<T> inner_in;
  inner_in.inputs = {&flat};
  inner_in.mode = in.mode;
  if (in.mask) {
    const Shape& ms = in.mask->shape();
    if (ms.size() < 2 || ms[0] != batch || ms[1] != steps)
      throw ShapeError(this->where() + ": mask has shape " + to_string(ms) + ", expected (batch, steps, ...) = [" +
                       std::to_string(batch) + ", " + std::to_string(steps) + ", ...] (input shape " +
                       to_string(x.shape()) + ")");
    // A (batch, steps) mask gives one flag per inner sample, which no inner layer reads
    // (Keras hands it mask[:, t] of shape (batch,)); only richer masks are passed down.
    if (ms.size() >= 3) {
      Shape flat_ms{batch * steps};
      flat_ms.insert(flat_ms.end(), ms.begin() + 2, ms.end());
      flat_mask = in.mask->reshaped(flat_ms);
      inner_in.mask = &flat_mask;
    }
  }
  // Inner row b·steps + t is sample b's step t: its global place keeps per-sample random
  // draws (core/sample_rng.h) independent of how the batch was split.
  const SampleOffset offset(first_sample() * steps);
  LayerOutputs<T> inner_out = layer_->call(inner_in);
  LayerOutputs<T> out;
  out.outputs.push_back(inner_out.outputs.at(0).reshaped(out_shape));
  if (in.mask) out.mask = *in.mask;
  if (in.mode == Mode::training) tape_.push_back({x.shape(), out_shape, inner_out.outputs[0].shape()});
  return out;
}

template <class T>
LayerGrads<T> TimeDistributed<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where()).output_shape});
  const Call call = detail::tape_pop(tape_);
  std::vector<Tensor<T>> inner_grads(1);
  if (!grad_outputs[0].empty()) inner_grads[0] = grad_outputs[0].reshaped(call.inner_output_shape);
  LayerGrads<T> inner = layer_->backward(inner_grads);
  LayerGrads<T> g;
  g.inputs.push_back(inner.inputs.at(0).reshaped(call.input_shape));
  return g;
}

template <class T>
void TimeDistributed<T>::clear_tape() {
  tape_.clear();
  layer_->clear_tape();
}

template class TimeDistributed<float>;
template class TimeDistributed<double>;

}  // namespace rnnx
