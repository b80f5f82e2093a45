#pragma once
// SGD (K3 keras/src/optimizers/sgd.py). With momentum m (state v, zero at start):
//   v = m·v - lr·g;   w += v                      (nesterov: w += m·v - lr·g, with the new v)
// and without momentum w -= lr·g. Defaults: learning_rate 0.01, momentum 0, nesterov false.
#include <vector>

#include "rnnx/train/optimizer.h"

namespace rnnx {

struct SGDOptions {
  LearningRate learning_rate = 0.01;
  double momentum = 0.0;  // in [0, 1]
  bool nesterov = false;
};

template <class T>
class SGD : public Optimizer<T> {
 public:
  // Throws ConfigError when momentum is outside [0, 1] (and as Optimizer).
  explicit SGD(SGDOptions options = {}, OptimizerOptions base = {});
  std::string class_name() const override { return "SGD"; }
  const SGDOptions& sgd_options() const { return options_; }
  // The momentum buffers (empty when momentum is 0), parallel to the trainable params.
  const std::vector<Tensor<T>>& momentums() const { return momentums_; }

 protected:
  void build(const std::vector<Shape>& shapes) override;
  void update_step(size_t index, const Tensor<T>& grad, Tensor<T>& variable, T lr) override;

 private:
  SGDOptions options_;
  std::vector<Tensor<T>> momentums_;
};

extern template class SGD<float>;
extern template class SGD<double>;

}  // namespace rnnx
