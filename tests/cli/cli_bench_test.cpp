// `rnnx bench`: the output format of a tiny run (no timing assertions: the numbers depend on
// the machine), the FLOP count it reports, and its usage errors.
#include <regex>
#include <string>

#include "cli_fixture.h"

namespace rnnx::testing {
namespace {

using BenchCli = Cli;

// The value of the first capture of `pattern` in `text`, or "" when it does not match.
std::string capture(const std::string& text, const std::string& pattern) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(pattern)) ? m[1].str() : "";
}

TEST_F(BenchCli, PrintsTimeSpeedPeakAndCpuForOneShape) {
  const Result r = run("bench --cell gru --batch 2 --steps 3 --features 4 --units 5 --threads 1 --reps 3");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("rnnx bench: GRU B=2 T=3 I=4 H=5 L=1, inference, 1 thread\n"), std::string::npos) << r.out;
  EXPECT_FALSE(capture(r.out, "\ncpu: (\\S.*)\n").empty()) << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("\nfma peak: [0-9.]+ GFLOP/s \\((avx512|avx2|scalar), 1 thread\\)\n")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\ntime: median [0-9.e+-]+ ms, min [0-9.e+-]+ ms \\(3 calls after 1 "
                                                  "warm-up\\)\n")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\nspeed: [0-9.]+ GFLOP/s, [0-9.]+% of peak \\("))) << r.out;
  // 2*B*T*G*H*(I+H) = 2*2*3*3*5*(4+5) = 1620 FLOPs per inference call.
  EXPECT_EQ(capture(r.out, "of peak \\(([0-9.e+-]+) GFLOP per call\\)"), "1.62e-06") << r.out;
}

TEST_F(BenchCli, TrainingStepOnStackedLstmCountsThreeTimesTheForward) {
  const Result r = run("bench --batch 2 --steps 3 --features 4 --units 5 --layers 2 --train --threads 1 --reps 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("LSTM B=2 T=3 I=4 H=5 L=2, training step (forward + backward of sum(output))"),
            std::string::npos)
      << r.out;
  // 3 * (2*2*3*4*5*(4+5) + 2*2*3*4*5*(5+5)) = 3 * (2160 + 2400) = 13680.
  EXPECT_EQ(capture(r.out, "of peak \\(([0-9.e+-]+) GFLOP per call\\)"), "1.368e-05") << r.out;
}

TEST_F(BenchCli, RejectsBadOptions) {
  EXPECT_EQ(run("bench --cell rnn").code, 2);
  EXPECT_EQ(run("bench --units 0").code, 2);
  EXPECT_EQ(run("bench --reps -1").code, 2);
}

}  // namespace
}  // namespace rnnx::testing
