#pragma once
// BatchRunner: how a trainer step runs the model (train/trainer.h, Trainer::set_batch_runner).
// It is the seam data-parallel training (train/data_parallel.h) uses to run each batch in
// shards, over several processes, while the Trainer keeps everything else: its loop,
// shuffling, losses, metrics, penalties, callbacks, validation and the optimizer.
//
// One step of fit / evaluate / train_on_batch / test_on_batch with a runner installed:
//   1. forward(x, mode) returns the model's outputs and output masks for ALL samples of x, in
//      order, as the model's own call would (a plain layer: its outputs and the mask of
//      output 0); in training mode it keeps what backward needs.
//   2. The trainer computes the losses and their gradients dL/d outputs over the whole batch.
//   3. Training only: backward(grad_outputs) (parallel to the outputs, whole batch) leaves in
//      every trainable Param::grad (and Param::sparse_grad) the gradient of the loss over the
//      whole batch, as zero_grads() and the model's backward would.
//   4. The trainer adds the weight penalties' gradients and applies the optimizer.
// After an exception between forward and backward the trainer calls discard(), which drops
// what forward kept (the model's tapes).
//
// Requires: the runner outlives its installation in the trainer. Errors: whatever the model
// throws, plus the runner's own (documented by the implementation).
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/layers/layer.h"

namespace rnnx {

template <class T>
struct BatchOutputs {
  std::vector<Tensor<T>> outputs;  // in the model's output order
  std::vector<Mask> masks;         // parallel to outputs; an empty Mask = none
};

template <class T>
class BatchRunner {
 public:
  virtual ~BatchRunner() = default;
  virtual BatchOutputs<T> forward(const std::vector<Tensor<T>>& x, Mode mode) = 0;
  virtual void backward(const std::vector<Tensor<T>>& grad_outputs) = 0;
  virtual void discard() = 0;
};

}  // namespace rnnx
