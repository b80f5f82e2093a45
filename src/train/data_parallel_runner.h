#pragma once
// The batch runner of data-parallel training (internal; include/rnnx/train/data_parallel.h
// describes what it does, step by step, and what it costs).
#include <cstdint>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/batch_runner.h"
#include "rnnx/train/communicator.h"
#include "rnnx/train/data_parallel.h"

namespace rnnx::detail {

inline bool power_of_two(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

// The first sample of shard k of S in a batch of B: shards hold floor(B/S) samples, the
// first B mod S one more; k == S gives B.
inline int64_t shard_begin(int64_t batch, int64_t shards, int64_t k) {
  return k * (batch / shards) + (k < batch % shards ? k : batch % shards);
}

// Rank `rank` of `ranks` owns the samples [first, end) of a batch of `total`: the r-th of
// nearly equal contiguous blocks (predict).
inline int64_t block_begin(int64_t total, int ranks, int rank) { return shard_begin(total, ranks, rank); }

template <class T>
class ShardRunner final : public BatchRunner<T> {
 public:
  // Requires: shards a power of two. forward() throws ConfigError unless the communicator's
  // size is a power of two that divides it.
  ShardRunner(Layer<T>& model, Communicator& comm, int64_t shards);

  BatchOutputs<T> forward(const std::vector<Tensor<T>>& x, Mode mode) override;
  void backward(const std::vector<Tensor<T>>& grad_outputs) override;
  void discard() override;

  DataParallelTimes times{};

  // Communicator calls that also count the bytes this rank hands over.
  std::vector<std::vector<uint8_t>> allgather(const std::vector<uint8_t>& mine);
  void broadcast(std::vector<uint8_t>& bytes, int root);

 private:
  // What one training step keeps between forward and backward.
  struct Step {
    int64_t batch = 0;
    std::vector<Tensor<T>> frozen_before;              // non-trainable weights before the step
    std::vector<std::vector<Tensor<T>>> frozen_after;  // per local shard (empty: shard empty)
  };

  int64_t local_shards() const { return shards_ / comm_.size(); }
  int64_t first_local_shard() const { return comm_.rank() * local_shards(); }
  // Whether some rank has only empty shards in a batch of `batch` samples.
  bool some_rank_idle(int64_t batch) const;
  // One model call on x[begin, end).
  BatchOutputs<T> call_model(const std::vector<Tensor<T>>& x, int64_t begin, int64_t end, Mode mode);
  // The whole batch's outputs from every rank's part (in rank order).
  BatchOutputs<T> gather_outputs(const BatchOutputs<T>& mine);
  void set_frozen(const std::vector<Tensor<T>>& values);
  std::vector<Tensor<T>> frozen_values();
  // Sums v over the ranks by the fixed tree (recursive halving, then doubling).
  void allreduce_tree(std::vector<T>& v);
  void sync_layer_rngs();

  Layer<T>& model_;
  Communicator& comm_;
  int64_t shards_;
  bool pending_ = false;
  Step step_;
};

extern template class ShardRunner<float>;
extern template class ShardRunner<double>;

}  // namespace rnnx::detail
