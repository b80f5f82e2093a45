// Steady state of the recurrent layers (issue 10; design.md principle 6): a second call with
// the same shapes allocates only the tensors it returns. This binary replaces the global
// operator new to count the bytes a call allocates (its own executable, so the other test
// binaries keep the library's allocator untouched); the threads test beside it checks the
// results of the multi-threaded time loops.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/kernels/threads.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/recurrent_stream.h"
#include "rnnx/layers/simple_rnn.h"

namespace {

std::atomic<bool> counting{false};
std::atomic<int64_t> allocated_bytes{0}, allocations{0};

void* counted(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) {
    allocated_bytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace rnnx {
namespace {

struct Count {
  int64_t bytes = 0, calls = 0;
};

template <class F>
Count count_allocations(F&& f) {
  allocated_bytes = 0;
  allocations = 0;
  counting = true;
  f();
  counting = false;
  return {allocated_bytes.load(), allocations.load()};
}

int64_t bytes_of(const std::vector<Tensor<float>>& ts) {
  int64_t n = 0;
  for (const auto& t : ts) n += t.size() * static_cast<int64_t>(sizeof(float));
  return n;
}

// Bookkeeping a call may allocate besides its results: the returned vectors, shapes and the
// shape checks of backward, and oneDNN's sgemm, which allocates 192 bytes per product when it
// runs inside a parallel region (the two-thread loop: 9 steps, 1.7 KB). Below any buffer of
// the loop's own: one step's states here are 3 KB, the sequence's 28 KB.
constexpr int64_t kBookkeeping = 4096;

std::unique_ptr<RNN<float>> make_layer(const std::string& kind, int64_t units, bool sequences, bool reset_after) {
  if (kind == "lstm") {
    LSTMOptions o;
    o.units = units, o.return_sequences = sequences, o.return_state = true;
    return std::make_unique<LSTM<float>>(o);
  }
  if (kind == "gru") {
    GRUOptions o;
    o.units = units, o.return_sequences = sequences, o.return_state = true, o.reset_after = reset_after;
    return std::make_unique<GRU<float>>(o);
  }
  SimpleRNNOptions o;
  o.units = units, o.return_sequences = sequences, o.return_state = true;
  return std::make_unique<SimpleRNN<float>>(o);
}

Tensor<float> random_input(int64_t b, int64_t t, int64_t f) {
  Tensor<float> x(Shape{b, t, f});
  Rng rng(5);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.uniform(-1, 1));
  return x;
}

// Inference, then a training call and its backward: the second round allocates only what it
// returns.
void check_steady_state(const std::string& kind, bool sequences, bool reset_after, int threads, bool masked) {
  SCOPED_TRACE(kind + (sequences ? " sequences" : " last") + (reset_after ? "" : " reset_before") + " threads " +
               std::to_string(threads) + (masked ? " masked" : ""));
  kernels::set_num_threads(threads);
  // Large enough for the multi-threaded loop (batch * steps * width² >= 2^20).
  const int64_t batch = 8, steps = 9, features = 5, units = 96;
  auto layer = make_layer(kind, units, sequences, reset_after);
  const Tensor<float> x = random_input(batch, steps, features);
  Mask mask(Shape{batch, steps}, 1);
  for (int64_t b = 0; b < batch; ++b) mask.at({b, steps - 1 - b % 3}) = 0;
  LayerInputs<float> inference, training;
  inference.inputs = training.inputs = {&x};
  if (masked) inference.mask = training.mask = &mask;
  training.mode = Mode::training;
  for (int round = 0; round < 2; ++round) {
    LayerOutputs<float> out;
    const Count c = count_allocations([&] { out = layer->call(inference); });
    if (round == 1) {
      EXPECT_LE(c.bytes, bytes_of(out.outputs) + kBookkeeping)
          << "inference allocated " << c.bytes << " bytes in " << c.calls << " allocations";
    }
    LayerOutputs<float> train_out;
    const Count ct = count_allocations([&] { train_out = layer->call(training); });
    std::vector<Tensor<float>> grads_in;
    for (const auto& t : train_out.outputs) grads_in.emplace_back(t.shape(), 1.0f);
    LayerGrads<float> grads;
    const Count cb = count_allocations([&] { grads = layer->backward(grads_in); });
    if (round == 1) {
      EXPECT_LE(ct.bytes, bytes_of(train_out.outputs) + kBookkeeping)
          << "training call allocated " << ct.bytes << " bytes in " << ct.calls << " allocations";
      EXPECT_LE(cb.bytes, bytes_of(grads.inputs) + kBookkeeping)
          << "backward allocated " << cb.bytes << " bytes in " << cb.calls << " allocations";
    }
  }
  kernels::set_num_threads(0);
}

TEST(RecurrentWorkspace, SecondCallAllocatesOnlyItsResults) {
  for (int threads : {1, 2})
    for (bool sequences : {false, true}) {
      check_steady_state("lstm", sequences, true, threads, false);
      check_steady_state("gru", sequences, true, threads, false);
      check_steady_state("gru", sequences, false, threads, false);
      check_steady_state("simple", sequences, true, threads, false);
    }
  check_steady_state("lstm", true, true, 2, true);
}

// A stream allocates nothing after construction, whatever the cell.
TEST(RecurrentWorkspace, StreamStepsAllocateNothing) {
  for (const std::string kind : {"lstm", "gru", "simple"}) {
    auto layer = make_layer(kind, 64, false, false);
    layer->build({Shape{1, -1, 16}});
    RecurrentStream<float> stream(*layer, 2);
    const std::vector<float> frame(32, 0.5f);
    stream.step(frame);
    const Count c = count_allocations([&] {
      for (int i = 0; i < 50; ++i) stream.step(frame);
    });
    EXPECT_EQ(c.bytes, 0) << kind << ": " << c.calls << " allocations";
  }
}

// The check can fail: a first call sizes the workspace, so it allocates far more.
TEST(RecurrentWorkspace, FirstCallSizesTheWorkspace) {
  auto layer = make_layer("lstm", 64, true, true);
  const Tensor<float> x = random_input(4, 6, 3);
  LayerOutputs<float> out;
  LayerInputs<float> in;
  in.inputs = {&x};
  const Count c = count_allocations([&] { out = layer->call(in); });
  EXPECT_GT(c.bytes, bytes_of(out.outputs) + kBookkeeping);
  // A longer sequence grows it again.
  const Tensor<float> longer = random_input(4, 12, 3);
  in.inputs = {&longer};
  const Count c2 = count_allocations([&] { out = layer->call(in); });
  EXPECT_GT(c2.bytes, bytes_of(out.outputs) + kBookkeeping);
}

}  // namespace
}  // namespace rnnx
