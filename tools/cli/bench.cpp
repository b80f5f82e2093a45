// rnnx bench: a quick version of the recurrent benchmark (bench/recurrent) for one shape,
// rnnx only (the peers need Python; bench/recurrent/run.sh runs them side by side). Times
// LSTM or GRU layers (return_sequences=True, random weights and inputs) on one case, in
// inference or as a training step (forward + backward of sum(output)), and prints the median
// and min time, GFLOP/s and the share of this machine's FP32 FMA peak, with the CPU's name.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "cli.h"
#include "rnnx_runner.h"
#include "run_files.h"

namespace rnnx::cli {

namespace {

struct BenchOptions {
  bench::Case c;  // shape, cell and reps; mode set from `train`
  int threads = 0;
  bool train = false;
};

// The thread count the products will use: --threads, else OMP_NUM_THREADS, else all cores.
int effective_threads(int threads) {
  if (threads > 0) return threads;
  const char* env = std::getenv("OMP_NUM_THREADS");
  if (env && std::atoi(env) > 0) return std::atoi(env);
  return std::max(1u, std::thread::hardware_concurrency());
}

int run_bench(const BenchOptions& o) {
  set_threads(o.threads);
  bench::Case c = o.c;
  c.mode = o.train ? "train" : "infer";
  c.max_s = 1e9;  // exactly --reps timed calls
  const int threads = effective_threads(o.threads);
  std::printf("rnnx bench: %s B=%lld T=%lld I=%lld H=%lld L=%lld, %s, %d thread%s\n", c.cell == "lstm" ? "LSTM" : "GRU",
              static_cast<long long>(c.batch), static_cast<long long>(c.steps), static_cast<long long>(c.features),
              static_cast<long long>(c.units), static_cast<long long>(c.layers),
              o.train ? "training step (forward + backward of sum(output))" : "inference", threads,
              threads == 1 ? "" : "s");
  std::printf("cpu: %s\n", cpu_name().c_str());
  std::fflush(stdout);
  const bench::Peak peak = bench::fma_peak(threads, 0.3);
  std::printf("fma peak: %.1f GFLOP/s (%s, %d thread%s)\n", peak.gflops, peak.isa.c_str(), threads,
              threads == 1 ? "" : "s");
  std::fflush(stdout);
  bench::RnnxRunner runner(c, bench::make_case_data(c, 1));
  const std::vector<double> ms = bench::time_calls([&runner] { runner.run(); }, c.reps, c.max_s);
  double min_ms = ms[0];
  for (double m : ms) min_ms = std::min(min_ms, m);
  const double med = bench::median(ms);
  const double gflops = bench::case_flops(c) / (med * 1e-3) / 1e9;
  std::printf("time: median %.4g ms, min %.4g ms (%zu calls after 1 warm-up)\n", med, min_ms, ms.size());
  std::printf("speed: %.1f GFLOP/s, %.1f%% of peak (%.4g GFLOP per call)\n", gflops, 100 * gflops / peak.gflops,
              bench::case_flops(c) / 1e9);
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<BenchOptions>();
  o->c.batch = 64;
  o->c.steps = 28;
  o->c.features = 28;
  o->c.units = 128;
  o->c.reps = 10;
  CLI::App* sub = app.add_subcommand(
      "bench",
      "Time rnnx's LSTM or GRU layers (return_sequences=True, random weights) on one shape: inference, or a\n"
      "training step with --train (forward + backward of sum(output)). Prints the median and min time,\n"
      "GFLOP/s (2*B*T*G*H*(I+H) per layer forward, x3 for training; G = 4 LSTM, 3 GRU) and the share of\n"
      "this machine's measured FP32 FMA peak. The side-by-side comparison with oneDNN, ONNX Runtime, Keras\n"
      "and PyTorch is bench/recurrent/run.sh.");
  sub->add_option("--cell", o->c.cell, "lstm or gru (default lstm)")->check(CLI::IsMember({"lstm", "gru"}));
  sub->add_option("--batch", o->c.batch, "batch size B (default 64)")->check(CLI::PositiveNumber);
  sub->add_option("--steps", o->c.steps, "time steps T (default 28)")->check(CLI::PositiveNumber);
  sub->add_option("--features", o->c.features, "input features I (default 28)")->check(CLI::PositiveNumber);
  sub->add_option("--units", o->c.units, "units H (default 128)")->check(CLI::PositiveNumber);
  sub->add_option("--layers", o->c.layers, "stacked layers (default 1)")->check(CLI::PositiveNumber);
  sub->add_option("--threads", o->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
  sub->add_flag("--train", o->train, "time a training step instead of inference");
  sub->add_option("--reps", o->c.reps, "timed calls after one warm-up (default 10)")->check(CLI::PositiveNumber);
  sub->callback([o, &exit_code] { exit_code = run_bench(*o); });
}

}  // namespace rnnx::cli
