#pragma once
// Per-sample random numbers for training calls (dropout masks, noise layers).
//
// Why: the random numbers of a training call must not depend on how a batch is cut into
// calls. Data-parallel training (train/data_parallel.h) runs one global batch as several
// calls on contiguous shards of it, on one or several processes, and must draw exactly the
// numbers that one call on the whole batch draws. So a random layer
//   1. draws ONE 64-bit call key from its own generator per training call that needs random
//      numbers (that generator is what training checkpoints save, train/trainer.h), and
//   2. draws the numbers of sample b of the call from sample_rng(key, first_sample() + b),
//      a generator that depends only on the call key and the sample's index in the global
//      batch, in a fixed order within the sample (fill_per_sample).
// Numbers shared by all samples (a noise shape with batch dimension 1) come from
// sample_rng(key, kSharedSample).
//
// first_sample() is the index, in its global batch, of the first sample of the layer calls
// running on this thread now: 0 unless a SampleOffset is alive. The mechanism is explicit
// but out of band (a thread-local value), so that no layer signature changes: the code that
// runs a shard (train/data_parallel.h) holds a SampleOffset for the shard's first sample
// while it calls the model, and a layer that folds other axes into the batch of an inner
// layer (TimeDistributed: [batch, steps, ...] -> [batch·steps, ...]) holds
// SampleOffset(first_sample() · steps) around the inner call, so each inner row keeps its
// global place. Threads do not share it; a new thread starts at 0.
//
// Requires nothing; never throws.
#include <cstdint>

#include "rnnx/core/rng.h"
#include "rnnx/core/tensor.h"

namespace rnnx {

// The "sample" whose generator gives numbers shared by every sample of a call.
inline constexpr int64_t kSharedSample = -1;

// The generator of `sample` (its index in the global batch, or kSharedSample) in the call
// whose key is `call_key`: statistically independent streams for different pairs.
Rng sample_rng(uint64_t call_key, int64_t sample);

// The global index of the first sample of the current calls on this thread (see above).
int64_t first_sample();

// Sets first_sample() for its lifetime (the previous value comes back on destruction).
class SampleOffset {
 public:
  explicit SampleOffset(int64_t first);
  ~SampleOffset();
  SampleOffset(const SampleOffset&) = delete;
  SampleOffset& operator=(const SampleOffset&) = delete;

 private:
  int64_t previous_;
};

// Fills `t`, whose axis `sample_axis` is the samples of the call (0, or 1 for a time-major
// sequence), with draw(rng) per element: for each sample b in order, its generator
// sample_rng(call_key, first_sample() + b) draws the sample's elements in row-major order.
template <class T, class Draw>
void fill_per_sample(Tensor<T>& t, uint64_t call_key, int sample_axis, Draw draw) {
  if (t.size() == 0) return;
  int64_t outer = 1, inner = 1;
  for (int a = 0; a < sample_axis; ++a) outer *= t.dim(a);
  for (int64_t a = sample_axis + 1; a < t.rank(); ++a) inner *= t.dim(a);
  const int64_t samples = t.dim(sample_axis), first = first_sample();
  for (int64_t b = 0; b < samples; ++b) {
    Rng rng = sample_rng(call_key, first + b);
    for (int64_t o = 0; o < outer; ++o) {
      T* row = t.data() + (o * samples + b) * inner;
      for (int64_t i = 0; i < inner; ++i) row[i] = draw(rng);
    }
  }
}

// Fills all of `t` from the shared generator sample_rng(call_key, kSharedSample).
template <class T, class Draw>
void fill_shared(Tensor<T>& t, uint64_t call_key, Draw draw) {
  Rng rng = sample_rng(call_key, kSharedSample);
  for (T& v : t.values()) v = draw(rng);
}

}  // namespace rnnx
