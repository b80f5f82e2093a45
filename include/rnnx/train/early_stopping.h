#pragma once
// EarlyStopping (K3 keras/src/callbacks/early_stopping.py).
//
// At each epoch end (from start_from_epoch on): the monitored value either improves on the
// best so far (best and, with restore_best_weights, the weights are remembered; the wait
// counter restarts unless a baseline is set and not beaten) or the wait counter grows; when
// it reaches `patience` (and epoch > 0) training stops. With restore_best_weights, the
// weights of the best epoch are put back when training ends — also when it ran to the end
// without stopping early (Keras >= 3). Nothing is printed.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/train/monitor_callback.h"

namespace rnnx {

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0.0;
  int64_t patience = 0;
  std::string mode = "auto";
  std::optional<double> baseline{};
  bool restore_best_weights = false;
  int64_t start_from_epoch = 0;
};

template <class T>
class EarlyStopping : public MonitorCallback<T> {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});

  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  void on_train_end(const Logs& logs) override;

  // 0-based epoch at which training was stopped (0 if it was not).
  int64_t stopped_epoch() const { return stopped_epoch_; }
  int64_t best_epoch() const { return best_epoch_; }
  int64_t wait() const { return wait_; }

 private:
  EarlyStoppingOptions options_;
  int64_t wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  std::optional<std::vector<Tensor<T>>> best_weights_;
};

extern template class EarlyStopping<float>;
extern template class EarlyStopping<double>;

}  // namespace rnnx
