#pragma once
// RMSprop (K3 keras/src/optimizers/rmsprop.py). State v (and a, mom) starting at zero:
//   v = ρ·v + (1-ρ)·g²
//   centered: a = ρ·a + (1-ρ)·g;  denominator = v - a² + ε;   else denominator = v + ε
//   increment = lr·g / sqrt(denominator)
//   momentum μ > 0: mom = μ·mom + increment;  w -= mom;   else w -= increment
// Defaults: learning_rate 0.001, ρ 0.9, momentum 0, ε 1e-7, centered false.
#include <vector>

#include "rnnx/train/optimizer.h"

namespace rnnx {

struct RMSpropOptions {
  LearningRate learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
};

template <class T>
class RMSprop : public Optimizer<T> {
 public:
  explicit RMSprop(RMSpropOptions options = {}, OptimizerOptions base = {});
  std::string class_name() const override { return "RMSprop"; }
  const RMSpropOptions& rmsprop_options() const { return options_; }
  const std::vector<Tensor<T>>& velocities() const { return v_; }
  const std::vector<Tensor<T>>& momentums() const { return mom_; }          // empty unless momentum > 0
  const std::vector<Tensor<T>>& average_gradients() const { return avg_; }  // empty unless centered

 protected:
  void build(const std::vector<Shape>& shapes) override;
  void update_step(size_t index, const Tensor<T>& grad, Tensor<T>& variable, T lr) override;

 private:
  RMSpropOptions options_;
  std::vector<Tensor<T>> v_, mom_, avg_;
};

extern template class RMSprop<float>;
extern template class RMSprop<double>;

}  // namespace rnnx
