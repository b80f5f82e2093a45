#include "rnnx/layers/merge_ops.h"

#include <algorithm>
#include <cmath>

#include "layers/call_tape.h"
#include "layers/shape_checks.h"

namespace rnnx {
namespace {

std::string shapes_list(const std::vector<Shape> &shapes) {
  std::string s;
  for (size_t i = 0; i < shapes.size(); ++i) s += (i ? ", " : "") + to_string(shapes[i]);
  return s;
}

template <class T>
std::vector<Shape> shapes_of(const std::string &where, const std::vector<const Tensor<T> *> &inputs) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < inputs.size(); ++i) shapes.push_back(detail::input_at(where, inputs, i).shape());
  return shapes;
}

// The mask of positional input i (LayerInputs::input_masks, else
// LayerInputs::mask for i = 0).
template <class T>
const Mask *mask_at(const LayerInputs<T> &in, size_t i) {
  if (i < in.input_masks.size()) return in.input_masks[i];
  return i == 0 ? in.mask : nullptr;
}

// Per element of an input of `shape`, whether its mask keeps it: a [batch,
// steps] mask is broadcast over the last axis (as Keras' expand_dims +
// broadcast_to); a full-shape mask is used as is. Empty = the input has no
// mask.
std::vector<uint8_t> element_mask(const std::string &where, const Mask *m, const Shape &shape) {
  if (!m) return {};
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  std::vector<uint8_t> out(static_cast<size_t>(total));
  const Shape prefix(shape.begin(), shape.end() - 1);
  if (m->shape() == shape) {
    for (int64_t i = 0; i < total; ++i) out[i] = (*m)[i] != 0;
  } else if (m->shape() == prefix && !shape.empty() && shape.back() > 0) {
    for (int64_t i = 0; i < total; ++i) out[i] = (*m)[i / shape.back()] != 0;
  } else {
    throw ShapeError(where + ": an input mask has shape " + to_string(m->shape()) + ", expected " + to_string(prefix) +
                     " for an input of shape " + to_string(shape));
  }
  return out;
}

// The output mask from per-element keep flags: "any" over the last axis.
Mask reduce_mask(const std::vector<uint8_t> &keep, const Shape &shape) {
  Mask m(Shape(shape.begin(), shape.end() - 1));
  const int64_t f = shape.back();
  for (int64_t r = 0; r < m.size(); ++r) {
    uint8_t any = 0;
    for (int64_t j = 0; j < f; ++j) any = any || keep[r * f + j];
    m[r] = any;
  }
  return m;
}

}  // namespace

template <class T>
ElementwiseMerge<T>::ElementwiseMerge(ElementwiseMergeOp op, std::string name) : Layer<T>(std::move(name)), op_(op) {}

template <class T>
std::string ElementwiseMerge<T>::class_name() const {
  switch (op_) {
    case ElementwiseMergeOp::subtract:
      return "Subtract";
    case ElementwiseMergeOp::multiply:
      return "Multiply";
    case ElementwiseMergeOp::average:
      return "Average";
    case ElementwiseMergeOp::maximum:
      return "Maximum";
    case ElementwiseMergeOp::minimum:
      return "Minimum";
  }
  return "Merge";
}

template <class T>
void ElementwiseMerge<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> ElementwiseMerge<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  if (op_ == ElementwiseMergeOp::subtract && input_shapes.size() != 2)
    throw ShapeError(this->where() + ": expected exactly 2 inputs, got " + std::to_string(input_shapes.size()));
  if (input_shapes.empty()) throw ShapeError(this->where() + ": expected a list of at least 1 input, got none");
  Shape out = input_shapes[0];
  for (const Shape &s : input_shapes) {
    bool same = s.size() == out.size() && !s.empty();
    for (size_t a = 0; same && a < s.size(); ++a) same = detail::dims_compatible(out[a], s[a]);
    if (!same)
      throw ShapeError(this->where() +
                       ": all inputs must have the same shape (rnnx does not "
                       "broadcast), got shapes " +
                       shapes_list(input_shapes));
    for (size_t a = 0; a < s.size(); ++a)
      if (out[a] < 0) out[a] = s[a];
  }
  return {out};
}

template <class T>
LayerOutputs<T> ElementwiseMerge<T>::call(const LayerInputs<T> &in) {
  const std::vector<Shape> shapes = shapes_of(this->where(), in.inputs);
  const Shape shape = compute_output_shapes(shapes)[0];
  this->set_built();
  const size_t n = in.inputs.size();
  std::vector<std::vector<uint8_t>> keep(n);
  bool all_masked = true;
  for (size_t i = 0; i < n; ++i) {
    keep[i] = element_mask(this->where(), mask_at(in, i), shape);
    all_masked = all_masked && !keep[i].empty();
  }
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(*in.inputs[0]);
  const int64_t total = y.size();
  Call call{shapes, {}, {}, {}, {}};
  std::vector<uint8_t> out_keep;  // the output's per-element mask; empty = none
  if (op_ == ElementwiseMergeOp::subtract || op_ == ElementwiseMergeOp::average) {
    for (size_t i = 1; i < n; ++i) {
      const Tensor<T> &x = *in.inputs[i];
      for (int64_t e = 0; e < total; ++e) y[e] = op_ == ElementwiseMergeOp::subtract ? y[e] - x[e] : y[e] + x[e];
    }
    if (op_ == ElementwiseMergeOp::average)
      for (int64_t e = 0; e < total; ++e) y[e] /= static_cast<T>(n);
    if (all_masked) {
      out_keep = keep[0];
      for (size_t i = 1; i < n; ++i)
        for (int64_t e = 0; e < total; ++e) out_keep[e] = out_keep[e] || keep[i][e];
    }
  } else if (op_ == ElementwiseMergeOp::multiply) {
    // A masked-out element counts as 1 (K3 multiply.py).
    call.keep_in = keep;
    for (size_t i = 0; i < n; ++i) {
      Tensor<T> &f = call.inputs.emplace_back(*in.inputs[i]);
      if (!keep[i].empty())
        for (int64_t e = 0; e < total; ++e)
          if (!keep[i][e]) f[e] = T(1);
    }
    y = call.inputs[0];
    for (size_t i = 1; i < n; ++i)
      for (int64_t e = 0; e < total; ++e) y[e] *= call.inputs[i][e];
    if (all_masked) {
      out_keep = keep[0];
      for (size_t i = 1; i < n; ++i)
        for (int64_t e = 0; e < total; ++e) out_keep[e] = out_keep[e] || keep[i][e];
      call.keep = Tensor<T>(shape);
      for (int64_t e = 0; e < total; ++e) {
        call.keep[e] = out_keep[e] ? T(1) : T(0);
        if (!out_keep[e]) y[e] = T(0);
      }
    }
  } else {
    // Maximum / Minimum: K3 _apply_merge_op_and_or_mask, tracking where each
    // value came from.
    const bool is_max = op_ == ElementwiseMergeOp::maximum;
    call.source.assign(static_cast<size_t>(total), 0);
    std::vector<uint8_t> run_keep = keep[0];
    for (size_t i = 1; i < n; ++i) {
      const Tensor<T> &x = *in.inputs[i];
      for (int64_t e = 0; e < total; ++e) {
        T xv = x[e];
        int32_t xs = static_cast<int32_t>(i);
        if (!keep[i].empty() && !keep[i][e]) {
          xv = y[e];
          xs = call.source[e];
        }
        T ov = y[e];
        int32_t os = call.source[e];
        if (!run_keep.empty() && !run_keep[e]) {
          ov = xv;
          os = xs;
        }
        // TensorFlow's maximum / minimum gradients go to the first operand on
        // ties.
        const bool first = is_max ? ov >= xv : ov <= xv;
        y[e] = first ? ov : xv;
        call.source[e] = first ? os : xs;
      }
      if (!keep[i].empty() && !run_keep.empty()) {
        for (int64_t e = 0; e < total; ++e) run_keep[e] = run_keep[e] || keep[i][e];
      } else {
        run_keep.clear();
      }
    }
    if (all_masked) out_keep = run_keep;
  }
  if (!out_keep.empty()) out.mask = reduce_mask(out_keep, shape);
  if (in.mode == Mode::training) tape_.push_back(std::move(call));
  return out;
}

template <class T>
LayerGrads<T> ElementwiseMerge<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  const Call &top = detail::tape_top(tape_, this->where());
  detail::check_grad_outputs(this->where(), grad_outputs, {top.shapes[0]});
  const Call call = detail::tape_pop(tape_);
  const size_t n = call.shapes.size();
  LayerGrads<T> g;
  for (const Shape &s : call.shapes) g.inputs.emplace_back(s);
  const Tensor<T> &dy = grad_outputs[0];
  if (dy.empty()) return g;
  const int64_t total = dy.size();
  switch (op_) {
    case ElementwiseMergeOp::subtract:
      for (int64_t e = 0; e < total; ++e) {
        g.inputs[0][e] = dy[e];
        g.inputs[1][e] = -dy[e];
      }
      break;
    case ElementwiseMergeOp::average:
      for (size_t i = 0; i < n; ++i)
        for (int64_t e = 0; e < total; ++e) g.inputs[i][e] = dy[e] / static_cast<T>(n);
      break;
    case ElementwiseMergeOp::multiply:
      for (int64_t e = 0; e < total; ++e) {
        const T d = call.keep.empty() ? dy[e] : dy[e] * call.keep[e];
        for (size_t i = 0; i < n; ++i) {
          T p = d;
          for (size_t j = 0; j < n; ++j)
            if (j != i) p *= call.inputs[j][e];
          // A masked-out factor was replaced by the constant 1: no gradient
          // reaches it.
          g.inputs[i][e] = call.keep_in[i].empty() || call.keep_in[i][e] ? p : T(0);
        }
      }
      break;
    case ElementwiseMergeOp::maximum:
    case ElementwiseMergeOp::minimum:
      for (int64_t e = 0; e < total; ++e) g.inputs[static_cast<size_t>(call.source[e])][e] = dy[e];
      break;
  }
  return g;
}

template class ElementwiseMerge<float>;
template class ElementwiseMerge<double>;

}  // namespace rnnx

// ---------------------------------------------------------------------------------------------
namespace rnnx {
namespace {

// How Dot walks one input of rank 2 or 3: element (b, free index f, dot index
// k) sits at b * batch_stride + f * free_stride + k * k_stride.
struct DotView {
  int64_t batch_stride = 0, free_n = 1, free_stride = 0, k_n = 0, k_stride = 0;
};

DotView dot_view(const Shape &s, size_t axis) {
  DotView v;
  v.batch_stride = s.size() == 3 ? s[1] * s[2] : s[1];
  v.k_n = s[axis];
  v.k_stride = (s.size() == 3 && axis == 1) ? s[2] : 1;
  if (s.size() == 3) {
    const size_t free = 3 - axis;
    v.free_n = s[free];
    v.free_stride = free == 1 ? s[2] : 1;
  }
  return v;
}

// Keras' l2 normalisation along the dot axis: x * min(1/sqrt(sum x^2),
// 1/epsilon), epsilon = 1e-7.
constexpr double kDotEpsilon = 1e-7;

template <class T>
void normalize_along(const Tensor<T> &x, const DotView &v, int64_t batch, Tensor<T> &out) {
  out = x;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t f = 0; f < v.free_n; ++f) {
      const int64_t base = b * v.batch_stride + f * v.free_stride;
      T ss = 0;
      for (int64_t k = 0; k < v.k_n; ++k) ss += x[base + k * v.k_stride] * x[base + k * v.k_stride];
      const T inv = std::min(T(1) / std::sqrt(ss), static_cast<T>(1.0 / kDotEpsilon));
      for (int64_t k = 0; k < v.k_n; ++k) out[base + k * v.k_stride] *= inv;
    }
}

// The gradient back through normalize_along: dx = (dn - n <n, dn>) / |x| per
// vector, or dn / epsilon where the clamp was active.
template <class T>
void normalize_backward(const Tensor<T> &x, const Tensor<T> &n, const DotView &v, int64_t batch, Tensor<T> &d) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t f = 0; f < v.free_n; ++f) {
      const int64_t base = b * v.batch_stride + f * v.free_stride;
      T ss = 0, nd = 0;
      for (int64_t k = 0; k < v.k_n; ++k) {
        const int64_t i = base + k * v.k_stride;
        ss += x[i] * x[i];
        nd += n[i] * d[i];
      }
      const T inv = T(1) / std::sqrt(ss);
      if (inv >= static_cast<T>(1.0 / kDotEpsilon)) {
        for (int64_t k = 0; k < v.k_n; ++k) d[base + k * v.k_stride] *= static_cast<T>(1.0 / kDotEpsilon);
      } else {
        for (int64_t k = 0; k < v.k_n; ++k) {
          const int64_t i = base + k * v.k_stride;
          d[i] = (d[i] - n[i] * nd) * inv;
        }
      }
    }
}

}  // namespace

template <class T>
Dot<T>::Dot(DotOptions options, std::string name) : Layer<T>(std::move(name)), options_(std::move(options)) {
  if (options_.axes.empty() || options_.axes.size() > 2)
    throw ConfigError(this->where() + ": axes must be one integer or a list of two, got " + to_string(options_.axes));
}

template <class T>
std::vector<size_t> Dot<T>::resolve_axes(const std::vector<Shape> &shapes) const {
  if (shapes.size() != 2)
    throw ShapeError(this->where() + ": expected exactly 2 inputs, got " + std::to_string(shapes.size()));
  std::vector<size_t> axes;
  for (size_t i = 0; i < 2; ++i) {
    const Shape &s = shapes[i];
    if (s.size() != 2 && s.size() != 3)
      throw ShapeError(this->where() + ": rnnx supports Dot on inputs of rank 2 or 3, got shapes " +
                       shapes_list(shapes));
    const int64_t r = static_cast<int64_t>(s.size());
    const int64_t a = options_.axes[options_.axes.size() == 1 ? 0 : i];
    const int64_t resolved = ((a % r) + r) % r;  // Python's a % rank, as Keras
    if (resolved == 0)
      throw ShapeError(this->where() + ": cannot take the dot product over the batch axis 0 (axes " +
                       to_string(options_.axes) + ", input shapes " + shapes_list(shapes) + ")");
    axes.push_back(static_cast<size_t>(resolved));
  }
  if (!detail::dims_compatible(shapes[0][axes[0]], shapes[1][axes[1]]) ||
      !detail::dims_compatible(shapes[0][0], shapes[1][0]))
    throw ShapeError(this->where() + ": input 0 axis " + std::to_string(axes[0]) + " and input 1 axis " +
                     std::to_string(axes[1]) +
                     " must have the same size (and the batch sizes must "
                     "match), got shapes " +
                     shapes_list(shapes));
  return axes;
}

template <class T>
void Dot<T>::build(const std::vector<Shape> &input_shapes) {
  compute_output_shapes(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Dot<T>::compute_output_shapes(const std::vector<Shape> &input_shapes) const {
  const std::vector<size_t> axes = resolve_axes(input_shapes);
  Shape out{input_shapes[0][0]};
  for (size_t i = 0; i < 2; ++i)
    for (size_t a = 1; a < input_shapes[i].size(); ++a)
      if (a != axes[i]) out.push_back(input_shapes[i][a]);
  if (out.size() == 1) out.push_back(1);
  return {out};
}

template <class T>
LayerOutputs<T> Dot<T>::call(const LayerInputs<T> &in) {
  const std::vector<Shape> shapes = shapes_of(this->where(), in.inputs);
  const Shape out_shape = compute_output_shapes(shapes)[0];
  const std::vector<size_t> axes = resolve_axes(shapes);
  this->set_built();
  const Tensor<T> &x0 = *in.inputs[0];
  const Tensor<T> &x1 = *in.inputs[1];
  const DotView v0 = dot_view(shapes[0], axes[0]), v1 = dot_view(shapes[1], axes[1]);
  const int64_t batch = shapes[0][0];
  Call call;
  if (options_.normalize) {
    normalize_along(x0, v0, batch, call.n0);
    normalize_along(x1, v1, batch, call.n1);
  } else {
    call.n0 = x0;
    call.n1 = x1;
  }
  LayerOutputs<T> out;
  Tensor<T> &y = out.outputs.emplace_back(out_shape);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < v0.free_n; ++i)
      for (int64_t j = 0; j < v1.free_n; ++j) {
        T acc = 0;
        const int64_t p0 = b * v0.batch_stride + i * v0.free_stride, p1 = b * v1.batch_stride + j * v1.free_stride;
        for (int64_t k = 0; k < v0.k_n; ++k) acc += call.n0[p0 + k * v0.k_stride] * call.n1[p1 + k * v1.k_stride];
        y[(b * v0.free_n + i) * v1.free_n + j] = acc;
      }
  if (in.mode == Mode::training) {
    call.x0 = x0;
    call.x1 = x1;
    tape_.push_back(std::move(call));
  }
  return out;
}

template <class T>
LayerGrads<T> Dot<T>::backward(const std::vector<Tensor<T>> &grad_outputs) {
  const Call &top = detail::tape_top(tape_, this->where());
  const std::vector<Shape> shapes{top.x0.shape(), top.x1.shape()};
  detail::check_grad_outputs(this->where(), grad_outputs, compute_output_shapes(shapes));
  const Call call = detail::tape_pop(tape_);
  const std::vector<size_t> axes = resolve_axes(shapes);
  const DotView v0 = dot_view(shapes[0], axes[0]), v1 = dot_view(shapes[1], axes[1]);
  const int64_t batch = shapes[0][0];
  LayerGrads<T> g;
  Tensor<T> &d0 = g.inputs.emplace_back(shapes[0]);
  Tensor<T> &d1 = g.inputs.emplace_back(shapes[1]);
  const Tensor<T> &dy = grad_outputs[0];
  if (dy.empty()) return g;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < v0.free_n; ++i)
      for (int64_t j = 0; j < v1.free_n; ++j) {
        const T d = dy[(b * v0.free_n + i) * v1.free_n + j];
        const int64_t p0 = b * v0.batch_stride + i * v0.free_stride, p1 = b * v1.batch_stride + j * v1.free_stride;
        for (int64_t k = 0; k < v0.k_n; ++k) {
          d0[p0 + k * v0.k_stride] += d * call.n1[p1 + k * v1.k_stride];
          d1[p1 + k * v1.k_stride] += d * call.n0[p0 + k * v0.k_stride];
        }
      }
  if (options_.normalize) {
    normalize_backward(call.x0, call.n0, v0, batch, d0);
    normalize_backward(call.x1, call.n1, v1, batch, d1);
  }
  return g;
}

template class Dot<float>;
template class Dot<double>;

}  // namespace rnnx
