// Recurrent layer micro benchmark (not a CI test; issue 10): times one layer call on one
// shape, for LSTM, GRU and SimpleRNN, inference and training step (forward in training mode
// plus the full backward of sum(output)), at each requested thread count, all in one process
// so the ratios between rows are measured back to back. Prints one line per case: median
// and minimum milliseconds over the repetitions and GFLOP/s of the matrix products.
//
// Usage: recurrent_micro [--shape B,T,I,H] [--threads 1,2] [--reps N] [--seq 0|1]
//                        [--cells lstm,gru,simple] [--stream I,H]
// --stream times the batch-1 streaming step instead (RecurrentStream, microseconds per step).
// Defaults: shape A (64,28,28,128), threads 1,2, 30 repetitions, return_sequences 0.
// Thread counts go to rnnx::kernels::set_num_threads (RNNX_MICRO_NEW_API, the default), or
// with -DRNNX_MICRO_NEW_API=0 (to time an older rnnx) to OpenMP, which oneDNN's products use.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/simple_rnn.h"

#ifndef RNNX_MICRO_NEW_API
#define RNNX_MICRO_NEW_API 1
#endif
#if RNNX_MICRO_NEW_API
#include "rnnx/kernels/threads.h"
#include "rnnx/layers/recurrent_stream.h"
#endif
#if RNNX_MICRO_OPENMP
#include <omp.h>
#endif

namespace {

using rnnx::Shape;
using rnnx::Tensor;
using Clock = std::chrono::steady_clock;

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoll(item));
  return out;
}

std::vector<std::string> parse_names(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

void set_threads(int n) {
#if RNNX_MICRO_NEW_API
  rnnx::kernels::set_num_threads(n);
#elif RNNX_MICRO_OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

std::unique_ptr<rnnx::RNN<float>> make_layer(const std::string& kind, int64_t units, bool seq) {
  if (kind == "lstm") {
    rnnx::LSTMOptions o;
    o.units = units;
    o.return_sequences = seq;
    return std::make_unique<rnnx::LSTM<float>>(o);
  }
  if (kind == "gru") {
    rnnx::GRUOptions o;
    o.units = units;
    o.return_sequences = seq;
    return std::make_unique<rnnx::GRU<float>>(o);
  }
  rnnx::SimpleRNNOptions o;
  o.units = units;
  o.return_sequences = seq;
  return std::make_unique<rnnx::SimpleRNN<float>>(o);
}

int gates_of(const std::string& kind) { return kind == "lstm" ? 4 : kind == "gru" ? 3 : 1; }

struct Timing {
  double median_ms, min_ms;
};

template <class F>
Timing time_it(int reps, F&& f) {
  for (int i = 0; i < 3; ++i) f();  // warm-up: workspaces, caches
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front()};
}

#if RNNX_MICRO_NEW_API
// Microseconds per step of one stream over 2000-step runs (median of `reps` runs).
int time_stream(const std::vector<std::string>& cells, int64_t input, int64_t units, int reps) {
  set_threads(1);
  for (const std::string& kind : cells) {
    auto layer = make_layer(kind, units, false);
    layer->set_seed(3);
    layer->build({Shape{1, -1, input}});
    rnnx::RecurrentStream<float> stream(*layer);
    std::vector<float> frame(static_cast<size_t>(input), 0.25f);
    float sink = 0;
    const Timing t = time_it(reps, [&] {
      for (int i = 0; i < 2000; ++i) sink += stream.step(frame)[0];
    });
    std::printf("%-6s stream I=%lld H=%lld  %.3f us/step (min %.3f)  [%g]\n", kind.c_str(), (long long)input,
                (long long)units, t.median_ms * 1e3 / 2000, t.min_ms * 1e3 / 2000, sink);
  }
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> shape{64, 28, 28, 128}, threads{1, 2};
  std::vector<std::string> cells{"lstm", "gru", "simple"};
  int reps = 30;
  bool seq = false;
  std::vector<int64_t> stream;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--shape")
      shape = parse_list(v);
    else if (k == "--threads")
      threads = parse_list(v);
    else if (k == "--reps")
      reps = std::stoi(v);
    else if (k == "--seq")
      seq = v == "1";
    else if (k == "--cells")
      cells = parse_names(v);
    else if (k == "--stream")
      stream = parse_list(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
#if RNNX_MICRO_NEW_API
  if (stream.size() == 2) return time_stream(cells, stream[0], stream[1], reps);
#endif
  if (shape.size() != 4) {
    std::fprintf(stderr, "--shape needs B,T,I,H\n");
    return 2;
  }
  const int64_t B = shape[0], T = shape[1], I = shape[2], H = shape[3];
  Tensor<float> x(Shape{B, T, I});
  rnnx::Rng rng(7);
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.uniform(-1.0, 1.0));

  std::printf("shape (B,T,I,H) = (%lld,%lld,%lld,%lld), return_sequences %d, reps %d\n", (long long)B, (long long)T,
              (long long)I, (long long)H, seq ? 1 : 0, reps);
  for (const std::string& kind : cells) {
    auto layer = make_layer(kind, H, seq);
    layer->set_seed(3);
    const double g = gates_of(kind);
    // Forward products: x@K and h@R per step; backward: dX, dK, dH, dR (twice the forward).
    const double fwd_flop = 2.0 * B * T * g * H * (I + H);
    Tensor<float> ones;
    double checksum = 0;
    for (int64_t th : threads) {
      set_threads(static_cast<int>(th));
      const Timing inf = time_it(reps, [&] {
        Tensor<float> y = (*layer)(x, rnnx::Mode::inference);
        checksum = y.data()[0];
      });
      const Timing train = time_it(reps, [&] {
        rnnx::LayerInputs<float> in;
        in.inputs = {&x};
        in.mode = rnnx::Mode::training;
        auto out = layer->call(in);
        if (ones.shape() != out.outputs[0].shape()) ones = Tensor<float>(out.outputs[0].shape(), 1.0f);
        auto grads = layer->backward({ones});
        checksum += grads.inputs[0].data()[0];
      });
      std::printf(
          "%-6s threads %lld  inference %8.3f ms (min %8.3f, %6.1f GFLOP/s)  train %8.3f ms (min %8.3f, %6.1f "
          "GFLOP/s)  [%g]\n",
          kind.c_str(), (long long)th, inf.median_ms, inf.min_ms, fwd_flop / inf.min_ms * 1e-6, train.median_ms,
          train.min_ms, 3 * fwd_flop / train.min_ms * 1e-6, checksum);
      std::fflush(stdout);
    }
  }
  return 0;
}
