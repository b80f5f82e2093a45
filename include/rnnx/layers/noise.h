#pragma once
// Regularisation layers (K3 keras/src/layers/regularization/):
// SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout,
// ActivityRegularization. All are the identity in inference and pass the input
// mask through.
//
// Training mode (Keras' random numbers cannot be reproduced; rnnx draws from
// the layer's own Rng, seeded from seed() on the first training call, as
// Dropout: one call key per call, then each sample's noise from its own
// generator, core/sample_rng.h, so the noise does not depend on how a batch is
// split into calls):
//  - SpatialDropout1D(rate): Dropout with noise shape (batch, 1, features): a
//  whole feature
//    channel of a sample is dropped at every step (kept ones scaled by
//    1/(1-rate)); requires a 3-D input.
//  - GaussianNoise(stddev): y = x + N(0, stddev^2).
//  - GaussianDropout(rate): y = x * N(1, rate / (1 - rate)).
//  - AlphaDropout(rate, noise_shape): keeps each element with probability 1 -
//  rate, sets the
//    others to alpha' = -1.6733 * 1.0507 (SELU's negative saturation), then y =
//    a * x' + b with a = ((1 - rate)(1 + rate alpha'^2))^-1/2, b = -a alpha'
//    rate, which keeps SELU's mean and variance. noise_shape as Dropout's (-1 =
//    the input's dimension).
//  - ActivityRegularization(l1, l2): the identity; its activity_regularizer()
//  is L1L2(l1, l2),
//    which the Model adds to its activity loss (layer.h).
// Training calls with rate / stddev 0 are the identity. backward: dx = dy times
// the call's multiplicative noise (GaussianNoise and ActivityRegularization: dx
// = dy).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/layers/dropout.h"
#include "rnnx/layers/layer.h"

namespace rnnx {

template <class T>
class SpatialDropout1D : public Dropout<T> {
 public:
  // Throws ConfigError when rate is outside [0, 1].
  explicit SpatialDropout1D(double rate, std::string name = "spatial_dropout1d");
  std::string class_name() const override { return "SpatialDropout1D"; }
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
};

enum class NoiseKind { gaussian_noise, gaussian_dropout, alpha_dropout };

struct NoiseOptions {
  double rate = 0.0;                   // GaussianNoise: stddev; in [0, 1]
  std::vector<int64_t> noise_shape{};  // AlphaDropout only; empty = the input's shape
};

template <class T>
class NoiseLayer : public Layer<T> {
 public:
  // Throws ConfigError when the rate (stddev) is outside [0, 1] or noise_shape
  // is given for another kind than AlphaDropout or has entries < -1 or 0.
  NoiseLayer(NoiseKind kind, NoiseOptions options, std::string name);

  std::string class_name() const override;
  NoiseKind kind() const { return kind_; }
  const NoiseOptions &options() const { return options_; }

  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

  // Every following training call with a rate > 0 uses `noise` instead of
  // drawing it: the additive noise (GaussianNoise), the multiplicative factors
  // (GaussianDropout) or the keep flags 0 / 1 in the resolved noise shape
  // (AlphaDropout). Its shape is checked at the call (ShapeError). For gradient
  // checks and reproducing given draws.
  void set_fixed_noise(Tensor<T> noise) { fixed_noise_ = std::move(noise); }
  // The noise of the last training call (empty after an inference call).
  const Tensor<T> &last_noise() const { return last_noise_; }

  // The generator the noise is drawn from (one call key per training call, then per-sample
  // draws: core/sample_rng.h), for training checkpoints, as Dropout's. Before the first
  // training call this is the state Rng(seed()) starts with.
  Rng::State noise_rng_state() const { return rng_ ? rng_->state() : Rng(this->seed()).state(); }
  void set_noise_rng_state(const Rng::State &state) {
    if (!rng_) rng_.emplace(this->seed());
    rng_->set_state(state);
  }

 private:
  Shape noise_shape_for(const Shape &input_shape) const;

  struct Call {
    Shape shape;
    Tensor<T> noise;  // empty = identity
  };
  NoiseKind kind_;
  NoiseOptions options_;
  std::optional<Rng> rng_;
  Tensor<T> fixed_noise_, last_noise_;
  std::vector<Call> tape_;
};

template <class T>
class GaussianNoise : public NoiseLayer<T> {
 public:
  explicit GaussianNoise(double stddev, std::string name = "gaussian_noise")
      : NoiseLayer<T>(NoiseKind::gaussian_noise, NoiseOptions{stddev, {}}, std::move(name)) {}
};
template <class T>
class GaussianDropout : public NoiseLayer<T> {
 public:
  explicit GaussianDropout(double rate, std::string name = "gaussian_dropout")
      : NoiseLayer<T>(NoiseKind::gaussian_dropout, NoiseOptions{rate, {}}, std::move(name)) {}
};
template <class T>
class AlphaDropout : public NoiseLayer<T> {
 public:
  explicit AlphaDropout(double rate, std::vector<int64_t> noise_shape = {}, std::string name = "alpha_dropout")
      : NoiseLayer<T>(NoiseKind::alpha_dropout, NoiseOptions{rate, std::move(noise_shape)}, std::move(name)) {}
};

template <class T>
class ActivityRegularization : public Layer<T> {
 public:
  // Throws ConfigError for a negative factor.
  explicit ActivityRegularization(double l1 = 0.0, double l2 = 0.0, std::string name = "activity_regularization");

  std::string class_name() const override { return "ActivityRegularization"; }
  double l1() const { return l1_; }
  double l2() const { return l2_; }
  Regularizer activity_regularizer() const override { return {l1_, l2_}; }

  void build(const std::vector<Shape> &input_shapes) override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape> &input_shapes) const override;
  LayerOutputs<T> call(const LayerInputs<T> &in) override;
  LayerGrads<T> backward(const std::vector<Tensor<T>> &grad_outputs) override;
  void clear_tape() override { tape_.clear(); }

 private:
  double l1_, l2_;
  std::vector<Shape> tape_;
};

extern template class SpatialDropout1D<float>;
extern template class SpatialDropout1D<double>;
extern template class NoiseLayer<float>;
extern template class NoiseLayer<double>;
extern template class ActivityRegularization<float>;
extern template class ActivityRegularization<double>;

}  // namespace rnnx
