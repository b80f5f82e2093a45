#pragma once
// Adam and AdamW (K3 keras/src/optimizers/adam.py, adamw.py; spec §3.9). At update t
// (t = iterations + 1), with state m, v (and v̂ for amsgrad) starting at zero:
//   α = lr·sqrt(1 - β2^t) / (1 - β1^t)
//   m += (g - m)(1 - β1);   v += (g² - v)(1 - β2);   amsgrad: v̂ = max(v̂, v), use v̂ for v
//   w -= α·m / (sqrt(v) + ε)          (ε added to the uncorrected sqrt(v))
// Defaults: learning_rate 0.001, β1 0.9, β2 0.999, ε 1e-7, amsgrad false.
// AdamW is Adam whose weight_decay (OptimizerOptions) defaults to 0.004; the decay is the
// base optimizer's decoupled step w -= w·weight_decay·lr before the Adam update.
#include <vector>

#include "rnnx/train/optimizer.h"

namespace rnnx {

struct AdamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
};

template <class T>
class Adam : public Optimizer<T> {
 public:
  explicit Adam(AdamOptions options = {}, OptimizerOptions base = {});
  std::string class_name() const override { return "Adam"; }
  const AdamOptions& adam_options() const { return options_; }
  // State parallel to the trainable params (velocity_hats empty unless amsgrad).
  const std::vector<Tensor<T>>& momentums() const { return m_; }
  const std::vector<Tensor<T>>& velocities() const { return v_; }
  const std::vector<Tensor<T>>& velocity_hats() const { return v_hat_; }

 protected:
  Adam(std::string name, AdamOptions options, OptimizerOptions base);
  void build(const std::vector<Shape>& shapes) override;
  void update_step(size_t index, const Tensor<T>& grad, Tensor<T>& variable, T lr) override;

 private:
  AdamOptions options_;
  std::vector<Tensor<T>> m_, v_, v_hat_;
};

template <class T>
class AdamW : public Adam<T> {
 public:
  // base.weight_decay unset means 0.004 (the Keras AdamW default).
  explicit AdamW(AdamOptions options = {}, OptimizerOptions base = {});
  std::string class_name() const override { return "AdamW"; }
};

extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;

}  // namespace rnnx
