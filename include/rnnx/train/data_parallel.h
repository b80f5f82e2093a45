#pragma once
// Data-parallel training: every rank (process) of a job holds the whole model; each global
// batch is split across the ranks, and the gradients are summed before the optimizer step.
// Training on 1, 2, 4, ... ranks gives the same weights after every step, bit for bit (with
// the same build and the same thread count per rank: oneDNN's matrix products are
// bit-identical for the same OMP_NUM_THREADS, README).
//
//   auto comm = rnnx::mpi_communicator();                // train/mpi.h; under mpirun -np N
//   Sequential<float> model(...);                         // the same model on every rank
//   Trainer<float> trainer(model);
//   trainer.compile("sparse_categorical_crossentropy", "adam", {"accuracy"});
//   DataParallel<float> dp(trainer, comm, {.shards = 8});
//   History h = dp.fit(x, y, {.batch_size = 64, .epochs = 10});   // every rank: all of x, y
//
// The Trainer does the work: DataParallel installs itself as the trainer's BatchRunner
// (train/batch_runner.h) for its lifetime, so fit's loop, shuffling (the same order on every
// rank: the same seed), losses, penalties, metrics, callbacks, validation, history and the
// optimizer are the Trainer's own; only running the model on a batch changes:
//   1. The global batch of B samples is cut into S = options.shards contiguous shards
//      (shard k holds floor(B/S) + (k < B mod S ? 1 : 0) samples, so a batch smaller than S
//      leaves its last shards empty). Rank r of R runs shards [r·S/R, (r+1)·S/R), one model
//      call per shard, each in training mode with the layers' random generators rewound to
//      where the batch started and SampleOffset (core/sample_rng.h) set to the shard's first
//      sample: dropout masks and noise are drawn per sample, keyed by the sample's place in
//      the global batch, so they do not depend on R.
//   2. The outputs (and output masks) of all shards are gathered on every rank; the Trainer
//      computes the loss, its gradient, the metrics and the logs on the whole batch, once,
//      as a single process would (the same numbers on every rank).
//   3. Each rank backpropagates its shards (the rows of dL/d outputs that belong to them),
//      each shard into zeroed gradient buffers. The shard gradients are summed by one fixed
//      binary tree over the S shards: each rank sums its own (aligned) subtree, and the
//      ranks combine their partial sums up the same tree with a recursive-halving
//      reduce-scatter and a recursive-doubling allgather (Rabenseifner's all-reduce), whose
//      additions are exactly the tree's. The sum therefore does not depend on R; it differs
//      from the single-process Trainer (one backward over the whole batch) only by the
//      order of float additions. Embedding row gradients (Param::sparse_grad) are
//      concatenated in shard order, as one backward would list them.
//   4. Non-trainable weights that a training call changes (BatchNormalization's moving
//      statistics) start every shard from their value before the step; afterwards they are
//      set to the mean over the non-empty shards of the shards' results (the same tree).
//      BatchNormalization with synchronized=False thus uses per-shard statistics (Keras:
//      per-replica), which depend on S but not on R.
// What it costs (the price of bit-identity): S model calls per step instead of R (each
// shard is a separate forward and backward, smaller matrix products); S/R gradient buffers
// per rank (S/R · G bytes for G bytes of gradients); bytes sent per rank and step:
// 2·(R−1)/R · G for the gradients (the same as a ring all-reduce) plus the gathered
// outputs, (R−1)/R · B · (output bytes per sample) received; and the outputs' loss is
// computed on every rank. Nothing overlaps the all-reduce with backward: docs/mpi-scaling.md
// shows by measurement why it does not pay at these sizes.
//
// Requirements: every rank builds the same model (architecture and weight shapes) and
// compiles the same loss, optimizer and metrics, and calls the same DataParallel methods with
// the same arguments in the same order (they are collective); S is a power of two, and for
// fit and evaluate R is a power of two that divides S (ConfigError otherwise; predict takes
// any R). Not supported (ConfigError
// before anything runs): stateful RNN layers (the batch is split), activity regularizers
// (their per-call normalisation depends on the split), BatchNormalization with
// synchronized=True (needs statistics across shards inside the forward pass).
// Callbacks run on every rank and see the same logs, so EarlyStopping, ReduceLROnPlateau and
// TerminateOnNaN decide the same everywhere; give callbacks that write files
// (ModelCheckpoint, CSVLogger) to rank 0 only. fit and evaluate print progress on rank 0
// only (verbose is forced to 0 elsewhere).
// Errors: ConfigError as above; CommunicationError from the communicator; whatever the
// Trainer throws. An exception thrown on one rank only leaves the others waiting: end the job
// with Communicator::abort() (an uncaught one does that through mpi_communicator()).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/train/communicator.h"
#include "rnnx/train/trainer.h"

namespace rnnx {

namespace detail {
template <class T>
class ShardRunner;  // the BatchRunner (src/train/data_parallel_runner.h)
}  // namespace detail

struct DataParallelOptions {
  // S, the number of shards of every global batch; a power of two. Results depend on it (the
  // order of the gradient sum), never on the rank count. It bounds the rank count.
  int64_t shards = 8;
};

// Where the time of the steps went on this rank (seconds since construction or reset_times).
struct DataParallelTimes {
  int64_t steps = 0;        // training steps
  double forward = 0.0;     // the shards' forward calls (training and inference)
  double backward = 0.0;    // the shards' backward calls and copying their gradients
  double reduce = 0.0;      // summing the shard gradients: local tree and all-reduce
  double gather = 0.0;      // gathering the outputs and keeping the ranks in step
  uint64_t bytes_sent = 0;  // by this rank, all operations
};

template <class T>
class DataParallel {
 public:
  // Installs itself as trainer's batch runner until destroyed. ConfigError for a null
  // communicator or shards that are not a power of two; StateError when the trainer already
  // has a batch runner.
  DataParallel(Trainer<T>& trainer, std::shared_ptr<Communicator> communicator, DataParallelOptions options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const;
  int size() const;
  Communicator& communicator() { return *comm_; }

  // Trainer::fit on every rank, after checking the model (see above), building it if it is
  // not built yet (a call on the first sample) and broadcast_state(). Every rank passes the
  // whole data set and the same options.
  History fit(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y, FitOptions<T> options = {});
  History fit(const Tensor<T>& x, const Tensor<T>& y, FitOptions<T> options = {});
  // Trainer::evaluate, batches split across the ranks in the same shards; the same logs on
  // every rank.
  Logs evaluate(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y, EvaluateOptions<T> options = {});
  // Rank r predicts the r-th of R contiguous, nearly equal blocks of the samples (in batches
  // of batch_size); rank 0 returns the outputs of all samples in their original order, the
  // other ranks an empty vector. ConfigError for batch_size <= 0.
  std::vector<Tensor<T>> predict(const std::vector<Tensor<T>>& x, int64_t batch_size = 32);

  // Makes every rank's weights, optimizer state and iterations, constant learning rate,
  // layer generators and fit's shuffling generator those of rank 0 (as a checkpoint would
  // carry them). fit calls it first.
  void broadcast_state();
  // Rank 0 writes Trainer::save_checkpoint (atomically); every rank returns when it is
  // written, or throws the same error (IoError) if it could not be.
  void save_checkpoint(const std::string& path, int64_t completed_epochs);
  // Rank 0 reads the checkpoint (written with any rank count) and sends it to all; every
  // rank restores it (Trainer::restore_checkpoint) and returns its completed epochs, or
  // every rank throws the same error (IoError, FormatError naming the file).
  int64_t load_checkpoint(const std::string& path);

  const DataParallelTimes& times() const;
  void reset_times();

 private:
  void check_model() const;

  Trainer<T>& trainer_;
  std::shared_ptr<Communicator> comm_;
  DataParallelOptions options_;
  std::unique_ptr<detail::ShardRunner<T>> runner_;
};

extern template class DataParallel<float>;
extern template class DataParallel<double>;

}  // namespace rnnx
