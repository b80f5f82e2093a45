#pragma once
// A tiny hand-written trainable layer for the training tests: y = x·W + b over the last axis
// (any rank >= 2), with its own backward, so the trainer is tested without depending on the
// library's layers. With mask_zero_rows, a rank-3 input gets the mask "some feature != 0"
// per (sample, step), attached to the output (as Keras Masking(0) would give).
#include <vector>

#include "layer_test_helpers.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/layer.h"

namespace rnnx::test {

template <class T>
class TestLinear : public Layer<T> {
 public:
  TestLinear(int64_t in, int64_t out, uint64_t seed, bool mask_zero_rows = false)
      : Layer<T>("test_linear"),
        kernel_(random_tensor<T>({in, out}, seed, -0.5, 0.5)),
        bias_(random_tensor<T>({out}, seed + 1, -0.1, 0.1)),
        kernel_grad_(Shape{in, out}),
        bias_grad_(Shape{out}),
        mask_zero_rows_(mask_zero_rows) {
    this->set_built();
  }
  std::string class_name() const override { return "TestLinear"; }
  void build(const std::vector<Shape>&) override {}
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& s) const override {
    Shape o = s.at(0);
    o.back() = kernel_.dim(1);
    return {o};
  }
  LayerOutputs<T> call(const LayerInputs<T>& in) override {
    const Tensor<T>& x = *in.inputs.at(0);
    const int64_t d = kernel_.dim(0), u = kernel_.dim(1), rows = x.size() / d;
    Shape s = x.shape();
    s.back() = u;
    LayerOutputs<T> out;
    Tensor<T> y(s);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < u; ++j) {
        T z = bias_[j];
        for (int64_t k = 0; k < d; ++k) z += x[r * d + k] * kernel_[k * u + j];
        y[r * u + j] = z;
      }
    out.outputs.push_back(std::move(y));
    if (mask_zero_rows_ && x.rank() == 3) {
      out.mask = Mask({x.dim(0), x.dim(1)});
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < d; ++k)
          if (x[r * d + k] != T(0)) out.mask[r] = 1;
    }
    if (in.mode == Mode::training) tape_.push_back(x);
    return out;
  }
  LayerGrads<T> backward(const std::vector<Tensor<T>>& g) override {
    if (tape_.empty()) throw StateError("TestLinear: nothing to backpropagate");
    const Tensor<T> x = std::move(tape_.back());
    tape_.pop_back();
    const int64_t d = kernel_.dim(0), u = kernel_.dim(1), rows = x.size() / d;
    LayerGrads<T> out;
    Tensor<T> dx(x.shape());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < u; ++j) {
        const T gr = g.at(0)[r * u + j];
        bias_grad_[j] += gr;
        for (int64_t k = 0; k < d; ++k) {
          kernel_grad_[k * u + j] += x[r * d + k] * gr;
          dx[r * d + k] += gr * kernel_[k * u + j];
        }
      }
    out.inputs.push_back(std::move(dx));
    return out;
  }
  void clear_tape() override { tape_.clear(); }
  std::vector<Param<T>> params() override {
    return {{"kernel", &kernel_, &kernel_grad_, true, kernel_regularizer, kernel_constraint},
            {"bias", &bias_, &bias_grad_, true, {}, {}}};
  }
  size_t tape_size() const { return tape_.size(); }

  Regularizer kernel_regularizer{};
  Constraint kernel_constraint{};

 private:
  Tensor<T> kernel_, bias_, kernel_grad_, bias_grad_;
  bool mask_zero_rows_;
  std::vector<Tensor<T>> tape_;
};

}  // namespace rnnx::test
