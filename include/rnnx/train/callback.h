#pragma once
// The callback interface (K3 keras/src/callbacks/callback.py, callback_list.py).
//
// fit() calls, in this order: set_trainer, set_params, on_train_begin; per epoch
// on_epoch_begin, per batch on_batch_begin / on_batch_end (logs: the running means of loss
// and metrics over the epoch so far), then (with validation data) on_test_begin, per batch
// on_test_batch_begin / on_test_batch_end, on_test_end, then on_epoch_end (logs: the epoch's
// loss and metrics, then val_loss and val_<metric>); finally on_train_end (logs: the last
// epoch's). evaluate() calls the on_test_* hooks. Callbacks run in the order given; fit
// appends its own History recorder and (verbose > 0) progress writer after them, as Keras
// does, so they see anything the user callbacks added to the epoch logs.
//
// A callback stops training with trainer().stop_training(): fit finishes the current batch,
// still runs validation and on_epoch_end for that epoch, then stops (Keras semantics).
// Epoch logs are passed by non-const reference so a callback can add entries
// (ReduceLROnPlateau adds "learning_rate"); later callbacks and History see them.
#include <cstdint>
#include <functional>

#include "rnnx/core/error.h"
#include "rnnx/train/logs.h"

namespace rnnx {

template <class T>
class Trainer;

// What fit/evaluate tell callbacks about the run (Keras callback.params).
struct CallbackParams {
  int64_t epochs = 1;
  int64_t steps = 0;  // batches per epoch (per evaluation in evaluate)
  int verbose = 0;
};

template <class T>
class Callback {
 public:
  virtual ~Callback() = default;

  void set_trainer(Trainer<T>* trainer) { trainer_ = trainer; }
  virtual void set_params(const CallbackParams& params) { params_ = params; }

  virtual void on_train_begin(const Logs& /*logs*/) {}
  virtual void on_train_end(const Logs& /*logs*/) {}
  virtual void on_epoch_begin(int64_t /*epoch*/, const Logs& /*logs*/) {}
  virtual void on_epoch_end(int64_t /*epoch*/, Logs& /*logs*/) {}
  // Training batches (Keras on_train_batch_begin/end, alias on_batch_begin/end).
  virtual void on_batch_begin(int64_t /*batch*/, const Logs& /*logs*/) {}
  virtual void on_batch_end(int64_t /*batch*/, const Logs& /*logs*/) {}
  virtual void on_test_begin(const Logs& /*logs*/) {}
  virtual void on_test_end(const Logs& /*logs*/) {}
  virtual void on_test_batch_begin(int64_t /*batch*/, const Logs& /*logs*/) {}
  virtual void on_test_batch_end(int64_t /*batch*/, const Logs& /*logs*/) {}

 protected:
  // The trainer running this callback; StateError outside fit/evaluate.
  Trainer<T>& trainer() const {
    if (!trainer_) throw StateError("callback used outside fit/evaluate (no trainer set)");
    return *trainer_;
  }
  const CallbackParams& params() const { return params_; }

 private:
  Trainer<T>* trainer_ = nullptr;
  CallbackParams params_{};
};

// A callback made of functions (Keras LambdaCallback); unset functions do nothing.
template <class T>
class LambdaCallback : public Callback<T> {
 public:
  std::function<void(const Logs&)> train_begin, train_end;
  std::function<void(int64_t, Logs&)> epoch_end;
  std::function<void(int64_t, const Logs&)> epoch_begin, batch_begin, batch_end;

  void on_train_begin(const Logs& logs) override {
    if (train_begin) train_begin(logs);
  }
  void on_train_end(const Logs& logs) override {
    if (train_end) train_end(logs);
  }
  void on_epoch_begin(int64_t epoch, const Logs& logs) override {
    if (epoch_begin) epoch_begin(epoch, logs);
  }
  void on_epoch_end(int64_t epoch, Logs& logs) override {
    if (epoch_end) epoch_end(epoch, logs);
  }
  void on_batch_begin(int64_t batch, const Logs& logs) override {
    if (batch_begin) batch_begin(batch, logs);
  }
  void on_batch_end(int64_t batch, const Logs& logs) override {
    if (batch_end) batch_end(batch, logs);
  }
};

}  // namespace rnnx
