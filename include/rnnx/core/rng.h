#pragma once
// Seeded random numbers. Everything random in rnnx (initializers, dropout masks,
// shuffling) draws from an Rng built from an explicit seed, so the same seed gives the same
// numbers on every platform: the generator (xoshiro256**) and the distributions are
// written out here rather than taken from <random>, whose distributions are
// implementation-defined.
#include <cstdint>

namespace rnnx {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();
  // Uniform in [low, high).
  double uniform(double low, double high);
  // Standard normal N(0, 1) (Box-Muller; the second draw is cached).
  double normal();
  // Uniform integer in [0, n); requires n > 0.
  uint64_t below(uint64_t n);
  // A new, independent generator derived from this one (for sub-streams).
  Rng split();

  // The whole generator state (for training checkpoints): set_state(state()) continues
  // the same stream, cached normal draw included.
  struct State {
    uint64_t words[4] = {0, 0, 0, 0};
    bool has_spare = false;
    double spare = 0.0;
  };
  State state() const;
  void set_state(const State& state);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace rnnx
