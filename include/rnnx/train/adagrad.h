#pragma once
// Adagrad (K3 keras/src/optimizers/adagrad.py). State acc starts at initial_accumulator_value:
//   acc += g²;   w -= lr·g / sqrt(acc + ε)
// Defaults: learning_rate 0.001, initial_accumulator_value 0.1, ε 1e-7.
#include <vector>

#include "rnnx/train/optimizer.h"

namespace rnnx {

struct AdagradOptions {
  LearningRate learning_rate = 0.001;
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
};

template <class T>
class Adagrad : public Optimizer<T> {
 public:
  // Throws ConfigError for a negative initial_accumulator_value (and as Optimizer).
  explicit Adagrad(AdagradOptions options = {}, OptimizerOptions base = {});
  std::string class_name() const override { return "Adagrad"; }
  const AdagradOptions& adagrad_options() const { return options_; }
  const std::vector<Tensor<T>>& accumulators() const { return acc_; }

 protected:
  void build(const std::vector<Shape>& shapes) override;
  void update_step(size_t index, const Tensor<T>& grad, Tensor<T>& variable, T lr) override;

 private:
  AdagradOptions options_;
  std::vector<Tensor<T>> acc_;
};

extern template class Adagrad<float>;
extern template class Adagrad<double>;

}  // namespace rnnx
