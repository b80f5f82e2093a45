#pragma once
// ReduceLROnPlateau (K3 keras/src/callbacks/reduce_lr_on_plateau.py).
//
// At each epoch end it adds "learning_rate" (the optimizer's current rate) to the epoch logs,
// then: during cooldown the counter runs down and wait is 0; an improvement of the monitored
// value (min_delta default 1e-4) resets wait; otherwise (outside cooldown) wait grows and at
// `patience` the rate becomes max(lr·factor, min_lr) if lr > min_lr, and cooldown starts.
// The optimizer must have a constant learning rate (ConfigError for a schedule, from
// Optimizer::set_learning_rate). ConfigError for factor >= 1.
#include <cstdint>
#include <string>

#include "rnnx/train/monitor_callback.h"

namespace rnnx {

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int64_t patience = 10;
  std::string mode = "auto";
  double min_delta = 1e-4;
  int64_t cooldown = 0;
  double min_lr = 0.0;
};

template <class T>
class ReduceLROnPlateau : public MonitorCallback<T> {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});

  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;

  int64_t wait() const { return wait_; }
  int64_t cooldown_counter() const { return cooldown_counter_; }

 private:
  ReduceLROnPlateauOptions options_;
  int64_t wait_ = 0, cooldown_counter_ = 0;
};

extern template class ReduceLROnPlateau<float>;
extern template class ReduceLROnPlateau<double>;

}  // namespace rnnx
