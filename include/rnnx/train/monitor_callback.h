#pragma once
// The base of callbacks that watch one logged value (K3 keras/src/callbacks/monitor_callback.py):
// EarlyStopping, ModelCheckpoint, ReduceLROnPlateau.
//
// mode "min" / "max" / "auto": auto picks "min" for "loss"/"val_loss" and for errors, "max"
// for accuracies (Trainer::direction_of); a name it cannot place is a ConfigError asking for
// an explicit mode. An improvement is  current - min_delta·sign < best  (min) or
// current - min_delta > best (max), with min_delta taken as |min_delta|; the first value
// always improves on "no best yet" (or on `baseline` / initial_value_threshold when given).
// A monitored name missing from the epoch logs is a ConfigError listing the available names
// (Keras only warns; here a misspelt monitor would otherwise silently do nothing).
#include <optional>
#include <string>

#include "rnnx/train/callback.h"

namespace rnnx {

template <class T>
class MonitorCallback : public Callback<T> {
 public:
  // Throws ConfigError for a mode other than auto, min, max.
  MonitorCallback(std::string monitor, std::string mode, double min_delta, std::optional<double> baseline);

  const std::string& monitor() const { return monitor_; }
  std::optional<double> best() const { return best_; }

 protected:
  // The monitored value from the logs (ConfigError if missing; `who` names the callback).
  double monitored_value(const Logs& logs, const std::string& who) const;
  // Resolves "auto" (on first use, when the trainer's metrics are known).
  void resolve_mode(const std::string& who);
  bool is_improvement(double current, std::optional<double> reference) const;
  void reset_best() { best_ = baseline_; }

  std::optional<double> best_;

 private:
  std::string monitor_;
  std::string mode_;
  double min_delta_;
  std::optional<double> baseline_;
  bool lower_is_better_ = true;
  bool resolved_ = false;
};

extern template class MonitorCallback<float>;
extern template class MonitorCallback<double>;

}  // namespace rnnx
