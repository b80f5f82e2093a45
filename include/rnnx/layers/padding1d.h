#pragma once
// Layers that move whole steps (K3 keras/src/layers/reshaping/up_sampling1d.py,
// zero_padding1d.py, cropping1d.py):
//   UpSampling1D(size)            repeats every step `size` times: steps * size
//   ZeroPadding1D(padding)        adds (left, right) zero steps: steps + left +
//   right;
//                                 data_format "channels_first" pads the last
//                                 axis
//   Cropping1D(cropping)          drops (left, right) steps: steps - left -
//   right (must be > 0)
// Input: a rank-3 tensor (batch, steps, features) ((batch, features, steps) for
// ZeroPadding1D with channels_first). No weights. Masks are not propagated
// (these Keras layers do not support masking). Backward sends each output
// step's gradient back to the step it came from (UpSampling1D sums the `size`
// copies).
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/layers/layer.h"

namespace rnnx {

// The shared machinery; use UpSampling1D / ZeroPadding1D / Cropping1D.
template <class T>
class StepMap1D : public Layer<T> {
 public:
  std::string class_name() const override { return class_name_; }
  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 protected:
  // repeat > 1 (UpSampling1D) or left/right > 0 padding (pad = true) or
  // cropping (pad = false).
  StepMap1D(std::string class_name, std::string name, int64_t repeat, int64_t left, int64_t right, bool pad,
            bool channels_first);

 private:
  int64_t out_steps(int64_t steps) const;
  int64_t source(int64_t out_step,
                 int64_t steps) const;  // input step, -1 for a padded one

  std::string class_name_;
  int64_t repeat_, left_, right_;
  bool pad_, channels_first_;
  std::vector<Shape> tape_;  // input shapes of the training calls
};

template <class T>
class UpSampling1D : public StepMap1D<T> {
 public:
  // Throws ConfigError unless size > 0.
  explicit UpSampling1D(int64_t size = 2, std::string name = "up_sampling1d");
  int64_t size() const { return size_; }

 private:
  int64_t size_;
};

template <class T>
class ZeroPadding1D : public StepMap1D<T> {
 public:
  // Throws ConfigError for negative padding or an unknown data_format.
  ZeroPadding1D(int64_t left, int64_t right, std::string data_format = "channels_last",
                std::string name = "zero_padding1d");
  int64_t left() const { return left_; }
  int64_t right() const { return right_; }
  const std::string &data_format() const { return data_format_; }

 private:
  int64_t left_, right_;
  std::string data_format_;
};

template <class T>
class Cropping1D : public StepMap1D<T> {
 public:
  // Throws ConfigError for negative cropping.
  Cropping1D(int64_t left, int64_t right, std::string name = "cropping1d");
  int64_t left() const { return left_; }
  int64_t right() const { return right_; }

 private:
  int64_t left_, right_;
};

extern template class StepMap1D<float>;
extern template class StepMap1D<double>;
extern template class UpSampling1D<float>;
extern template class UpSampling1D<double>;
extern template class ZeroPadding1D<float>;
extern template class ZeroPadding1D<double>;
extern template class Cropping1D<float>;
extern template class Cropping1D<double>;

}  // namespace rnnx
