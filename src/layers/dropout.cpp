#include "rnnx/layers/dropout.h"

#include <cmath>

#include "layers/call_tape.h"
#include "layers/shape_checks.h"
#include "rnnx/core/sample_rng.h"

namespace rnnx {

template <class T>
Dropout<T>::Dropout(DropoutOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(std::move(options)) {
  if (!(options_.rate >= 0.0 && options_.rate <= 1.0))
    throw ConfigError(this->where() + ": rate must be in [0, 1], got " + std::to_string(options_.rate));
  for (int64_t d : options_.noise_shape)
    if (d == 0 || d < -1)
      throw ConfigError(this->where() + ": noise_shape entries must be > 0 or -1 (None), got " +
                        to_string(options_.noise_shape));
}

template <class T>
Shape Dropout<T>::noise_shape_for(const Shape& input_shape) const {
  if (options_.noise_shape.empty()) return input_shape;
  if (options_.noise_shape.size() != input_shape.size())
    throw ShapeError(this->where() + ": noise_shape " + to_string(options_.noise_shape) + " has rank " +
                     std::to_string(options_.noise_shape.size()) + ", the input has rank " +
                     std::to_string(input_shape.size()) + " (input shape " + to_string(input_shape) + ")");
  Shape s = options_.noise_shape;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] < 0) s[i] = input_shape[i];
    if (s[i] != 1 && input_shape[i] >= 0 && s[i] != input_shape[i])
      throw ShapeError(this->where() + ": noise_shape " + to_string(options_.noise_shape) +
                       " does not broadcast to the input shape " + to_string(input_shape) + " (axis " +
                       std::to_string(i) + ")");
  }
  return s;
}

template <class T>
void Dropout<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Dropout<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  detail::expect_input_count(this->where(), input_shapes.size(), 1);
  noise_shape_for(input_shapes[0]);
  return {input_shapes[0]};
}

template <class T>
void Dropout<T>::apply_mask(const Tensor<T>& x, const Tensor<T>& mask, Tensor<T>& y) {
  // y[i] = x[i] * mask[broadcast index of i]; walk the input in row-major order and map each
  // multi-index to the noise tensor (size-1 noise axes repeat).
  const Shape& noise = mask.shape();
  const size_t rank = x.shape().size();
  std::vector<int64_t> index(rank, 0), noise_stride(rank, 0);
  int64_t stride = 1;
  for (size_t a = rank; a-- > 0;) {
    noise_stride[a] = noise[a] == 1 ? 0 : stride;
    stride *= noise[a];
  }
  for (int64_t i = 0; i < x.size(); ++i) {
    int64_t j = 0;
    for (size_t a = 0; a < rank; ++a) j += index[a] * noise_stride[a];
    y[i] = x[i] * mask[j];
    for (size_t a = rank; a-- > 0;) {
      if (++index[a] < x.shape()[a]) break;
      index[a] = 0;
    }
  }
}

template <class T>
LayerOutputs<T> Dropout<T>::call(const LayerInputs<T>& in) {
  detail::expect_input_count(this->where(), in.inputs.size(), 1);
  const Tensor<T>& x = detail::input_at(this->where(), in.inputs, 0);
  build({x.shape()});
  LayerOutputs<T> out;
  if (in.mask) out.mask = *in.mask;
  if (in.mode != Mode::training) {  // writes no member: concurrent inference calls are safe
    out.outputs.push_back(x);
    return out;
  }
  last_mask_ = Tensor<T>();
  if (options_.rate == 0.0) {
    out.outputs.push_back(x);
    tape_.push_back({x.shape(), Tensor<T>()});
    return out;
  }
  const Shape noise = noise_shape_for(x.shape());
  if (!fixed_mask_.empty()) {
    if (fixed_mask_.shape() != noise)
      throw ShapeError(this->where() + ": the fixed dropout mask has shape " + to_string(fixed_mask_.shape()) +
                       ", expected the noise shape " + to_string(noise) + " (input shape " + to_string(x.shape()) +
                       ")");
    last_mask_ = fixed_mask_;
  } else {
    if (!rng_) rng_.emplace(this->seed());
    const double keep = 1.0 - options_.rate;
    const T scale = keep > 0.0 ? static_cast<T>(1.0 / keep) : T(0);
    last_mask_ = Tensor<T>(noise);
    // One key per call, then each sample's part from its own generator (core/sample_rng.h),
    // so the masks do not depend on how a batch is split into calls.
    const uint64_t key = rng_->next_u64();
    const auto draw = [&](Rng& r) { return r.uniform() < keep ? scale : T(0); };
    if (options_.noise_shape.empty() || options_.noise_shape[0] != 1)
      fill_per_sample(last_mask_, key, 0, draw);
    else
      fill_shared(last_mask_, key, draw);  // noise_shape (1, ...): one mask for all samples
  }
  apply_mask(x, last_mask_, out.outputs.emplace_back(x.shape()));
  tape_.push_back({x.shape(), last_mask_});
  return out;
}

template <class T>
LayerGrads<T> Dropout<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, {detail::tape_top(tape_, this->where()).shape});
  const Call call = detail::tape_pop(tape_);
  LayerGrads<T> g;
  const Tensor<T>& dy = grad_outputs[0];
  if (dy.empty())
    g.inputs.emplace_back(call.shape);
  else if (call.mask.empty())
    g.inputs.push_back(dy);
  else
    apply_mask(dy, call.mask, g.inputs.emplace_back(call.shape));
  return g;
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace rnnx
