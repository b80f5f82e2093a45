#include "rnnx/layers/merge.h"

#include <algorithm>

#include "layers/call_tape.h"
#include "layers/shape_checks.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {
namespace {

std::string shapes_list(const std::vector<Shape>& shapes) {
  std::string s;
  for (size_t i = 0; i < shapes.size(); ++i) s += (i ? ", " : "") + to_string(shapes[i]);
  return s;
}

template <class T>
std::vector<Shape> shapes_of(const std::string& where, const std::vector<const Tensor<T>*>& inputs) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < inputs.size(); ++i) shapes.push_back(detail::input_at(where, inputs, i).shape());
  return shapes;
}

// Joins row-major blocks along `axis`: out = concatenate(parts, axis). Each part's shape
// equals the output's except on `axis`.
template <class U>
void concat_along(size_t axis, const std::vector<const U*>& parts, const std::vector<Shape>& shapes, U* out) {
  const Shape& s0 = shapes[0];
  int64_t outer = 1;
  for (size_t a = 0; a < axis; ++a) outer *= s0[a];
  const int64_t inner = detail::trailing_size(s0, axis + 1);
  for (int64_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < parts.size(); ++i) {
      const int64_t chunk = shapes[i][axis] * inner;
      out = std::copy(parts[i] + o * chunk, parts[i] + (o + 1) * chunk, out);
    }
}

// The inverse of concat_along: cuts `in` along `axis` into parts of the given shapes.
template <class U>
void split_along(size_t axis, const U* in, const std::vector<Shape>& shapes, const std::vector<U*>& parts) {
  const Shape& s0 = shapes[0];
  int64_t outer = 1;
  for (size_t a = 0; a < axis; ++a) outer *= s0[a];
  const int64_t inner = detail::trailing_size(s0, axis + 1);
  for (int64_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < parts.size(); ++i) {
      const int64_t chunk = shapes[i][axis] * inner;
      std::copy(in, in + chunk, parts[i] + o * chunk);
      in += chunk;
    }
}

// A mask widened to the full shape of its input (see merge.h).
Mask widen_mask(const std::string& where, const Mask* m, const Shape& input_shape) {
  Mask full(input_shape, uint8_t(1));
  if (!m) return full;
  const Shape prefix(input_shape.begin(), input_shape.end() - 1);
  if (m->shape() == input_shape) {
    for (int64_t i = 0; i < full.size(); ++i) full[i] = (*m)[i] != 0;
  } else if (m->shape() == prefix) {
    const int64_t features = input_shape.back();
    for (int64_t i = 0; i < full.size(); ++i) full[i] = (*m)[i / features] != 0;
  } else {
    throw ShapeError(where + ": an input mask has shape " + to_string(m->shape()) + ", expected " + to_string(prefix) +
                     " for an input of shape " + to_string(input_shape));
  }
  return full;
}

// The mask of positional input i (LayerInputs::input_masks, else LayerInputs::mask for i = 0).
template <class T>
const Mask* mask_at(const LayerInputs<T>& in, size_t i) {
  if (i < in.input_masks.size()) return in.input_masks[i];
  return i == 0 ? in.mask : nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
template <class T>
Concatenate<T>::Concatenate(ConcatenateOptions options, std::string name)
    : Layer<T>(std::move(name)), options_(options) {}

template <class T>
size_t Concatenate<T>::resolve_axis(size_t rank, const std::vector<Shape>& shapes) const {
  const int64_t r = static_cast<int64_t>(rank);
  const int64_t axis = options_.axis < 0 ? options_.axis + r : options_.axis;
  if (axis < 0 || axis >= r)
    throw ShapeError(this->where() + ": axis " + std::to_string(options_.axis) +
                     " is out of range for inputs of rank " + std::to_string(rank) + " (input shapes " +
                     shapes_list(shapes) + ")");
  return static_cast<size_t>(axis);
}

template <class T>
void Concatenate<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Concatenate<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  if (input_shapes.empty()) throw ShapeError(this->where() + ": expected a list of at least 1 input, got none");
  const size_t rank = input_shapes[0].size();
  for (const Shape& s : input_shapes)
    if (s.size() != rank)
      throw ShapeError(this->where() + ": all inputs must have the same rank, got shapes " + shapes_list(input_shapes));
  const size_t axis = resolve_axis(rank, input_shapes);
  Shape out = input_shapes[0];
  for (size_t i = 1; i < input_shapes.size(); ++i) {
    const Shape& s = input_shapes[i];
    for (size_t a = 0; a < rank; ++a) {
      if (a == axis) {
        out[a] = (out[a] < 0 || s[a] < 0) ? -1 : out[a] + s[a];
      } else if (!detail::dims_compatible(out[a], s[a])) {
        throw ShapeError(this->where() + ": inputs must have equal dimensions except on the concatenation axis " +
                         std::to_string(axis) + ", got shapes " + shapes_list(input_shapes));
      } else if (out[a] < 0) {
        out[a] = s[a];
      }
    }
  }
  return {out};
}

template <class T>
LayerOutputs<T> Concatenate<T>::call(const LayerInputs<T>& in) {
  const std::vector<Shape> shapes = shapes_of(this->where(), in.inputs);
  const Shape out_shape = compute_output_shapes(shapes)[0];
  this->set_built();
  const size_t axis = resolve_axis(out_shape.size(), shapes);
  LayerOutputs<T> out;
  Tensor<T>& y = out.outputs.emplace_back(out_shape);
  std::vector<const T*> parts;
  for (const Tensor<T>* x : in.inputs) parts.push_back(x->data());
  concat_along<T>(axis, parts, shapes, y.data());
  // Kept only once the call cannot throw any more (at each return).
  const bool keep = in.mode == Mode::training;

  bool any_mask = false;
  for (size_t i = 0; i < in.inputs.size(); ++i) any_mask = any_mask || mask_at(in, i) != nullptr;
  if (!any_mask) {
    if (keep) tape_.push_back(shapes);
    return out;
  }
  std::vector<Mask> wide;
  std::vector<const uint8_t*> mask_parts;
  for (size_t i = 0; i < in.inputs.size(); ++i) wide.push_back(widen_mask(this->where(), mask_at(in, i), shapes[i]));
  for (const Mask& m : wide) mask_parts.push_back(m.data());
  Mask joined(out_shape);
  concat_along<uint8_t>(axis, mask_parts, shapes, joined.data());
  const int64_t features = out_shape.back();
  out.mask = Mask(Shape(out_shape.begin(), out_shape.end() - 1));
  for (int64_t i = 0; i < out.mask.size(); ++i)
    out.mask[i] =
        std::any_of(joined.data() + i * features, joined.data() + (i + 1) * features, [](uint8_t v) { return v != 0; });
  if (keep) tape_.push_back(shapes);
  return out;
}

template <class T>
LayerGrads<T> Concatenate<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const std::vector<Shape>& top = detail::tape_top(tape_, this->where());
  detail::check_grad_outputs(this->where(), grad_outputs, compute_output_shapes(top));
  const std::vector<Shape> shapes = detail::tape_pop(tape_);
  LayerGrads<T> g;
  std::vector<T*> parts;
  for (const Shape& s : shapes) parts.push_back(g.inputs.emplace_back(s).data());
  const Tensor<T>& dy = grad_outputs[0];
  if (!dy.empty()) split_along<T>(resolve_axis(shapes[0].size(), shapes), dy.data(), shapes, parts);
  return g;
}

// ---------------------------------------------------------------------------------------------
template <class T>
Add<T>::Add(std::string name) : Layer<T>(std::move(name)) {}

template <class T>
void Add<T>::build(const std::vector<Shape>& input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Add<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  if (input_shapes.empty()) throw ShapeError(this->where() + ": expected a list of at least 1 input, got none");
  Shape out = input_shapes[0];
  for (const Shape& s : input_shapes) {
    bool same = s.size() == out.size();
    for (size_t a = 0; same && a < s.size(); ++a) same = detail::dims_compatible(out[a], s[a]);
    if (!same)
      throw ShapeError(this->where() + ": all inputs must have the same shape, got shapes " +
                       shapes_list(input_shapes));
    for (size_t a = 0; a < s.size(); ++a)
      if (out[a] < 0) out[a] = s[a];
  }
  return {out};
}

template <class T>
LayerOutputs<T> Add<T>::call(const LayerInputs<T>& in) {
  const std::vector<Shape> shapes = shapes_of(this->where(), in.inputs);
  compute_output_shapes(shapes);  // checks the shapes
  this->set_built();
  const bool keep = in.mode == Mode::training;  // kept at each return, once nothing can throw
  LayerOutputs<T> out;
  Tensor<T>& y = out.outputs.emplace_back(*in.inputs[0]);
  for (size_t i = 1; i < in.inputs.size(); ++i)
    kernels::add_block<T>(1, y.size(), y.data(), y.size(), in.inputs[i]->data(), y.size(), y.data(), y.size());
  bool all_masked = true;
  for (size_t i = 0; i < in.inputs.size(); ++i) all_masked = all_masked && mask_at(in, i) != nullptr;
  if (!all_masked) {
    if (keep) tape_.push_back(shapes);
    return out;
  }
  out.mask = *mask_at(in, 0);
  for (size_t i = 1; i < in.inputs.size(); ++i) {
    const Mask& m = *mask_at(in, i);
    if (m.shape() != out.mask.shape())
      throw ShapeError(this->where() + ": input masks have different shapes, " + to_string(out.mask.shape()) + " and " +
                       to_string(m.shape()));
    for (int64_t j = 0; j < m.size(); ++j) out.mask[j] = out.mask[j] || m[j];
  }
  if (keep) tape_.push_back(shapes);
  return out;
}

template <class T>
LayerGrads<T> Add<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  const std::vector<Shape>& top = detail::tape_top(tape_, this->where());
  detail::check_grad_outputs(this->where(), grad_outputs, {top[0]});
  const std::vector<Shape> shapes = detail::tape_pop(tape_);
  LayerGrads<T> g;
  for (const Shape& s : shapes) {
    if (grad_outputs[0].empty())
      g.inputs.emplace_back(s);
    else
      g.inputs.push_back(grad_outputs[0]);
  }
  return g;
}

template class Concatenate<float>;
template class Concatenate<double>;
template class Add<float>;
template class Add<double>;

}  // namespace rnnx
