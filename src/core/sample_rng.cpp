// Per-sample random numbers for training calls (include/rnnx/core/sample_rng.h).
#include "rnnx/core/sample_rng.h"

namespace rnnx {
namespace {

// The SplitMix64 finalizer: a bijection that spreads every input bit over the output.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

thread_local int64_t t_first_sample = 0;

}  // namespace

Rng sample_rng(uint64_t call_key, int64_t sample) {
  // Two rounds of mixing, so that neighbouring samples (and neighbouring keys) get unrelated
  // seeds; Rng(seed) then expands the seed with SplitMix64 into the xoshiro state.
  return Rng(mix(call_key ^ mix(static_cast<uint64_t>(sample) + 0x9e3779b97f4a7c15ULL)));
}

int64_t first_sample() { return t_first_sample; }

SampleOffset::SampleOffset(int64_t first) : previous_(t_first_sample) { t_first_sample = first; }

SampleOffset::~SampleOffset() { t_first_sample = previous_; }

}  // namespace rnnx
