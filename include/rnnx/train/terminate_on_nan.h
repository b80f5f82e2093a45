#pragma once
// TerminateOnNaN (K3 keras/src/callbacks/terminate_on_nan.py): after each training batch,
// a NaN or infinite "loss" stops training (the epoch still ends normally), or with
// raise_error throws rnnx::NumericError naming the epoch (counted from 1, as Keras prints
// it), the batch and the loss, before the epoch ends: callbacks that save at the end of an
// epoch (ModelCheckpoint) never see the diverged weights. Nothing is printed.
#include <cstdint>

#include "rnnx/train/callback.h"

namespace rnnx {

template <class T>
class TerminateOnNaN : public Callback<T> {
 public:
  explicit TerminateOnNaN(bool raise_error = false) : raise_error_(raise_error) {}
  void on_epoch_begin(int64_t epoch, const Logs& /*logs*/) override { epoch_ = epoch; }
  void on_batch_end(int64_t batch, const Logs& logs) override;

 private:
  bool raise_error_;
  int64_t epoch_ = 0;
};

extern template class TerminateOnNaN<float>;
extern template class TerminateOnNaN<double>;

}  // namespace rnnx
