#pragma once
// Helpers for the backward pass of the non-recurrent layers and the model (internal; not
// installed). A layer keeps one entry per training-mode call in a std::vector used as a
// stack (layer.h: backward undoes the most recent call first).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rnnx/activations.h"
#include "rnnx/core/error.h"
#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"
#include "rnnx/kernels/kernels.h"
#include "rnnx/layers/layer.h"

namespace rnnx::detail {

// The most recent entry of a layer's tape; StateError naming the layer when there is none.
template <class Entry>
Entry& tape_top(std::vector<Entry>& tape, const std::string& where) {
  if (tape.empty())
    throw StateError(where +
                     ": backward without a training-mode call to undo (call it with Mode::training first; "
                     "inference calls keep nothing)");
  return tape.back();
}

// Removes and returns the most recent entry (after tape_top checked there is one).
template <class Entry>
Entry tape_pop(std::vector<Entry>& tape) {
  Entry e = std::move(tape.back());
  tape.pop_back();
  return e;
}

// Checks backward's grad_outputs against the shapes of the call's outputs: one entry per
// output, each empty (no gradient) or of the output's shape. Throws ShapeError.
template <class T>
void check_grad_outputs(const std::string& where, const std::vector<Tensor<T>>& grads,
                        const std::vector<Shape>& output_shapes) {
  if (grads.size() != output_shapes.size())
    throw ShapeError(where + ": backward got " + std::to_string(grads.size()) + " output gradient" +
                     (grads.size() == 1 ? "" : "s") + ", expected " + std::to_string(output_shapes.size()) +
                     " (one per output of the call)");
  for (size_t i = 0; i < grads.size(); ++i)
    if (!grads[i].empty() && grads[i].shape() != output_shapes[i])
      throw ShapeError(where + ": the gradient of output " + std::to_string(i) + " has shape " +
                       to_string(grads[i].shape()) + ", expected " + to_string(output_shapes[i]) +
                       " (the shape of that output)");
}

// acc += g, where an empty `acc` takes g as is and an empty g adds nothing.
template <class T>
void accumulate_grad(Tensor<T>& acc, const Tensor<T>& g) {
  if (g.empty()) return;
  if (acc.empty()) {
    acc = g;
    return;
  }
  kernels::add_block<T>(1, acc.size(), acc.data(), acc.size(), g.data(), g.size(), acc.data(), acc.size());
}

template <class T>
void accumulate_grad(Tensor<T>& acc, Tensor<T>&& g) {
  if (g.empty()) return;
  if (acc.empty()) {
    acc = std::move(g);
    return;
  }
  kernels::add_block<T>(1, acc.size(), acc.data(), acc.size(), g.data(), g.size(), acc.data(), acc.size());
}

// The start of backward for a one-input layer whose tape holds the input shape of each
// training call: checks grad_outputs against the outputs that input gives, then pops it.
// `where` is the layer's where().
template <class T>
Shape pop_input_shape(const Layer<T>& layer, const std::string& where, std::vector<Shape>& tape,
                      const std::vector<Tensor<T>>& grad_outputs) {
  check_grad_outputs(where, grad_outputs, layer.compute_output_shapes({tape_top(tape, where)}));
  return tape_pop(tape);
}

// ---- Layers whose output is their input (InputLayer, ActivityRegularization): the tape
// holds the input shape of each training call.

// The call: the output is x itself and the mask passes on; a training call records x's shape.
template <class T>
LayerOutputs<T> identity_call(const LayerInputs<T>& in, const Tensor<T>& x, std::vector<Shape>& tape) {
  LayerOutputs<T> out;
  out.outputs.push_back(x);
  if (in.mask) out.mask = *in.mask;
  if (in.mode == Mode::training) tape.push_back(x.shape());
  return out;
}

// The backward: dx = dy (zeros of the input's shape when dy is empty), undoing the last call.
template <class T>
LayerGrads<T> identity_backward(const std::string& where, std::vector<Shape>& tape,
                                const std::vector<Tensor<T>>& grad_outputs) {
  check_grad_outputs(where, grad_outputs, {tape_top(tape, where)});
  const Shape shape = tape_pop(tape);
  LayerGrads<T> g;
  if (grad_outputs[0].empty())
    g.inputs.emplace_back(shape);
  else
    g.inputs.push_back(grad_outputs[0]);
  return g;
}

// dx = dy back through `a` applied to a contiguous rows x cols block (softmax per row),
// given the activation's input x and output y. dx may alias dy.
template <class T>
void activation_backward(const Activation& a, int64_t rows, int64_t cols, const T* x, const T* y, const T* dy, T* dx) {
  if (a.kind == ActivationKind::linear)
    kernels::copy_block<T>(rows, cols, dy, cols, dx, cols);
  else if (a.kind == ActivationKind::softmax)
    kernels::softmax_backward_block<T>(rows, cols, y, cols, dy, cols, dx, cols);
  else
    kernels::activation_backward_block<T>(a, rows, cols, x, cols, y, cols, dy, cols, dx, cols);
}

}  // namespace rnnx::detail
