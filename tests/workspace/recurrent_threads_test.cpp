// The multi-threaded time loops (rnnx/kernels/threads.h): with two threads a recurrent layer
// computes what it computes with one (the blocks of samples only change how the products are
// cut, so to rounding), the same bits on every run, through masks, go_backwards, initial
// states and dropout masks (each block reads its own rows of every per-sample buffer).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/kernels/threads.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/simple_rnn.h"

namespace rnnx {
namespace {

struct Result {
  std::vector<Tensor<float>> outputs, grads;
};

Tensor<float> random_tensor(Shape shape, uint64_t seed) {
  Tensor<float> t(std::move(shape));
  Rng rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.uniform(-1, 1));
  return t;
}

std::unique_ptr<RNN<float>> make_layer(const std::string& kind, bool go_backwards) {
  const int64_t units = 96;
  if (kind == "lstm") {
    LSTMOptions o;
    o.units = units, o.return_sequences = true, o.return_state = true, o.go_backwards = go_backwards;
    o.dropout = 0.25, o.recurrent_dropout = 0.2;
    return std::make_unique<LSTM<float>>(o);
  }
  if (kind == "gru") {
    GRUOptions o;
    o.units = units, o.return_sequences = true, o.return_state = true, o.go_backwards = go_backwards;
    o.dropout = 0.25, o.recurrent_dropout = 0.2, o.reset_after = false;
    return std::make_unique<GRU<float>>(o);
  }
  SimpleRNNOptions o;
  o.units = units, o.return_sequences = true, o.return_state = true, o.go_backwards = go_backwards;
  o.dropout = 0.25, o.recurrent_dropout = 0.2;
  return std::make_unique<SimpleRNN<float>>(o);
}

// One training call and its backward with `threads` threads, the dropout generator rewound
// to `rng` first so every run draws the same masks.
Result run(RNN<float>& layer, const LayerInputs<float>& in, const Rng::State& rng, int threads) {
  kernels::set_num_threads(threads);
  layer.set_dropout_rng_state(rng);
  Result r;
  r.outputs = layer.call(in).outputs;
  std::vector<Tensor<float>> d;
  for (size_t i = 0; i < r.outputs.size(); ++i) d.push_back(random_tensor(r.outputs[i].shape(), 40 + i));
  LayerGrads<float> g = layer.backward(d);
  r.grads = g.inputs;
  for (auto& t : g.initial_state) r.grads.push_back(std::move(t));
  for (auto& p : layer.params()) {
    r.grads.push_back(*p.grad);
    p.grad->fill(0.0f);
  }
  kernels::set_num_threads(0);
  return r;
}

void expect_same_bits(const std::vector<Tensor<float>>& a, const std::vector<Tensor<float>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape());
    EXPECT_EQ(std::memcmp(a[i].data(), b[i].data(), sizeof(float) * static_cast<size_t>(a[i].size())), 0)
        << "tensor " << i;
  }
}

void expect_close(const std::vector<Tensor<float>>& a, const std::vector<Tensor<float>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (int64_t j = 0; j < a[i].size(); ++j)
      ASSERT_NEAR(a[i][j], b[i][j], 1e-4 + 1e-4 * std::abs(b[i][j])) << "tensor " << i << " index " << j;
}

TEST(RecurrentThreads, TwoThreadsMatchOneAndRepeatTheirBits) {
  // batch * steps * width² >= 2^20: the loop takes the two-thread path.
  const int64_t batch = 9, steps = 8, features = 6;
  const Tensor<float> x = random_tensor(Shape{batch, steps, features}, 1);
  Mask mask(Shape{batch, steps}, 1);
  for (int64_t b = 0; b < batch; ++b) mask.at({b, (b * 3) % steps}) = 0;
  for (const std::string kind : {"lstm", "gru", "simple"})
    for (bool go_backwards : {false, true}) {
      SCOPED_TRACE(kind + (go_backwards ? " go_backwards" : ""));
      auto layer = make_layer(kind, go_backwards);
      layer->build({x.shape()});
      std::vector<Tensor<float>> init;
      for (int64_t size : layer->cell().state_sizes()) init.push_back(random_tensor(Shape{batch, size}, 7 + size));
      LayerInputs<float> in;
      in.inputs = {&x};
      in.mask = &mask;
      for (const auto& t : init) in.initial_state.push_back(&t);
      in.mode = Mode::training;
      const Rng::State rng = layer->dropout_rng_state();
      const Result one = run(*layer, in, rng, 1), two = run(*layer, in, rng, 2), again = run(*layer, in, rng, 2);
      expect_close(two.outputs, one.outputs);
      expect_close(two.grads, one.grads);
      expect_same_bits(again.outputs, two.outputs);
      expect_same_bits(again.grads, two.grads);
    }
}

TEST(RecurrentThreads, CountIsSettable) {
  kernels::set_num_threads(3);
  EXPECT_EQ(kernels::num_threads(), 3);
  kernels::set_num_threads(0);
  EXPECT_GE(kernels::num_threads(), 1);
}

}  // namespace
}  // namespace rnnx
