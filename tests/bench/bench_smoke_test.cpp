// bench-smoke: the recurrent benchmark's C++ pieces (bench/recurrent) on tiny cases, in
// seconds and without Python. The rnnx runner (public LSTM/GRU layers) and the oneDNN runner
// (RNN primitives, with their own layouts, gate-bias folding and gradient mapping) must give
// the same outputs and gradients, so the benchmark's oneDNN peer computes what rnnx does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_support.h"
#include "onednn_runner.h"
#include "rnnx_runner.h"
#include "support/close.h"

namespace rnnx::bench {
namespace {

namespace fs = std::filesystem;

class BenchSmoke : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rnnx_bench_smoke_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rnnx");
    fs::create_directories(dir_ / "onednn");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// The files a run of `c` dumps (bench_support.h) with their element counts.
std::vector<std::pair<std::string, int64_t>> dumped(const Case& c) {
  std::vector<std::pair<std::string, int64_t>> f{{"out.bin", c.batch * c.steps * c.units}};
  if (c.mode != "train") return f;
  f.push_back({"dx.bin", c.batch * c.steps * c.features});
  const int64_t g = gate_count(c);
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string n = std::to_string(l);
    f.push_back({"dk" + n + ".bin", layer_input(c, l) * g * c.units});
    f.push_back({"dr" + n + ".bin", c.units * g * c.units});
    f.push_back({"db" + n + ".bin", bias_size(c)});
  }
  return f;
}

TEST_P(BenchSmoke, RnnxAndOnednnAgree) {
  const Case c = parse_case(GetParam());
  const CaseData data = make_case_data(c, 7);
  RnnxRunner r(c, data);
  OnednnRunner o(c, data);
  for (int call = 0; call < 2; ++call) {  // twice: state must not leak from one call to the next
    r.run();
    o.run();
  }
  r.dump((dir_ / "rnnx").string());
  o.dump((dir_ / "onednn").string());
  for (const auto& [name, n] : dumped(c)) {
    const Tensor<float> got(Shape{n}, read_floats((dir_ / "onednn" / name).string(), n));
    const Tensor<float> want(Shape{n}, read_floats((dir_ / "rnnx" / name).string(), n));
    EXPECT_TRUE(testing::all_close(got, want, {1e-5, 1e-4}, name)) << GetParam();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BenchSmoke,
    ::testing::Values("cell=lstm B=3 T=5 I=4 H=6 mode=infer", "cell=gru B=3 T=5 I=4 H=6 mode=infer",
                      "cell=lstm B=3 T=5 I=4 H=6 mode=train", "cell=gru B=3 T=5 I=4 H=6 mode=train",
                      "cell=lstm B=2 T=4 I=3 H=5 L=2 mode=train", "cell=gru B=2 T=4 I=3 H=5 L=2 mode=train",
                      "cell=lstm B=1 T=6 I=4 H=8 mode=step", "cell=gru B=2 T=6 I=4 H=8 mode=step"));

TEST(BenchCase, LineRoundTripsAndBadLinesAreRejected) {
  const Case c = parse_case("cell=gru B=2 T=3 I=4 H=5 L=2 mode=train reps=7 max_s=0.5 dump=/tmp/x impl=xla");
  EXPECT_EQ(format_case(parse_case(format_case(c))), format_case(c));
  EXPECT_EQ(c.layers, 2);
  EXPECT_EQ(c.impl, "xla");
  EXPECT_THROW(parse_case("cell=rnn"), std::runtime_error);
  EXPECT_THROW(parse_case("B=0"), std::runtime_error);
  EXPECT_THROW(parse_case("B=2x"), std::runtime_error);
  EXPECT_THROW(parse_case("color=red"), std::runtime_error);
  EXPECT_THROW(parse_case("mode=step L=2"), std::runtime_error);
}

TEST(BenchCase, FlopsCountEveryLayerAndTripleForTraining) {
  Case c = parse_case("cell=lstm B=2 T=3 I=4 H=5 L=2 mode=infer");
  // layer 0 reads I features, layer 1 reads H.
  const double layer0 = 2.0 * 2 * 3 * 4 * 5 * (4 + 5), layer1 = 2.0 * 2 * 3 * 4 * 5 * (5 + 5);
  EXPECT_DOUBLE_EQ(case_flops(c), layer0 + layer1);
  c.mode = "train";
  EXPECT_DOUBLE_EQ(case_flops(c), 3 * (layer0 + layer1));
  c.cell = "gru";
  EXPECT_DOUBLE_EQ(case_flops(c), 3 * (layer0 + layer1) * 3 / 4);
}

TEST(BenchTiming, TimeCallsStopsAtTheBudgetAndCountsOnlyTimedCalls) {
  int calls = 0;
  const std::vector<double> ms = time_calls([&calls] { ++calls; }, 5, 10.0);
  EXPECT_EQ(ms.size(), 5u);
  EXPECT_EQ(calls, 6);  // one untimed warm-up
  calls = 0;
  const std::vector<double> one = time_calls(
      [&calls] {
        ++calls;
        ::usleep(2000);
      },
      50, 0.001);
  EXPECT_EQ(one.size(), 1u);  // the first timed call already exceeds the budget
  EXPECT_GE(one[0], 1.0);
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(median({4, 1, 2, 3}), 2.5);
}

TEST(BenchPeak, MeasuresAPositiveRateWithTheWidestUnit) {
  const Peak p = fma_peak(1, 0.05);
  EXPECT_GT(p.gflops, 0.1);
  EXPECT_TRUE(p.isa == "avx512" || p.isa == "avx2" || p.isa == "scalar") << p.isa;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) {
    EXPECT_EQ(p.isa, "avx512");
  }
#endif
}

}  // namespace
}  // namespace rnnx::bench
