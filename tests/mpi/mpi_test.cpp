// Data-parallel training over MPI (include/rnnx/train/data_parallel.h), run for real: each
// test launches mpirun with local ranks (as root with --allow-run-as-root; always with
// --oversubscribe, since the machine may have fewer cores than ranks) on the worker program
// (tests/mpi/worker/mpi_worker.cpp) or on the rnnx tool, and checks what they wrote:
//  - 1, 2 and 4 ranks give the same weights after every step, bit for bit, and the same
//    losses and metrics, on a model with masking, dropout, noise and a Bidirectional layer;
//    and those weights equal the single-process Trainer's within float tolerance; also with
//    a BatchNormalization layer (moving statistics included);
//  - a run checkpointed on 2 ranks and resumed on 4 gives the uninterrupted 1-rank run;
//  - a rank killed with SIGKILL ends the job with an error within seconds, and the last
//    checkpoint stays intact;
//  - predict on 4 ranks returns every sample's output in the original order;
//  - `mpirun -np 2 rnnx train` gives the weights of `mpirun -np 1 rnnx train`, with one
//    progress display, and `mpirun -np 2 rnnx predict` writes one file in order.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mpi/dp_test_model.h"
#include "rnnx/io/checkpoint.h"
#include "rnnx/io/npy.h"
#include "rnnx/train/trainer.h"

namespace rnnx::test {
namespace {

namespace fs = std::filesystem;

struct Launch {
  int status = -1;  // exit status; -1 when killed by a signal or timed out
  bool timed_out = false;
  double seconds = 0;
  std::string output;  // stdout and stderr together
};

// Runs argv as a child process (its own process group, stdout and stderr to a file), killing
// the group after timeout_s.
Launch run_process(const std::vector<std::string>& argv, const std::string& log, double timeout_s) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    if (f == nullptr || dup2(fileno(stdout), 2) < 0) _exit(127);
    setenv("OMP_NUM_THREADS", "1", 1);  // ranks share 2 cores
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  Launch r;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (done == pid) break;
    if (r.seconds > timeout_s) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!r.timed_out && WIFEXITED(status)) r.status = WEXITSTATUS(status);
  std::ifstream f(log);
  std::stringstream s;
  s << f.rdbuf();
  r.output = s.str();
  return r;
}

std::vector<std::string> mpirun_prefix(int ranks) {
  std::vector<std::string> a{RNNX_MPIEXEC};
  if (geteuid() == 0) a.push_back("--allow-run-as-root");
  a.insert(a.end(), {"--oversubscribe", "-np", std::to_string(ranks)});
  return a;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<float> floats_of(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

class Mpi : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rnnx_mpi_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path folder(const std::string& name) const {
    fs::create_directories(dir_ / name);
    return dir_ / name;
  }

  // mpirun -np ranks rnnx_mpi_worker args...; the log goes into the worker's folder.
  Launch worker(int ranks, const std::vector<std::string>& args, double timeout_s = 120) const {
    std::vector<std::string> a = mpirun_prefix(ranks);
    a.push_back(RNNX_MPI_WORKER);
    a.insert(a.end(), args.begin(), args.end());
    return run_process(a, (dir_ / ("log_" + std::to_string(++runs_) + ".txt")).string(), timeout_s);
  }

  fs::path dir_;
  mutable int runs_ = 0;
};

// The weights of the test model after every step of a plain Trainer fit in this process.
std::vector<std::vector<float>> plain_trainer_steps(int64_t epochs) {
  struct Recorder : Callback<float> {
    std::vector<std::vector<float>> steps;
    void on_batch_end(int64_t, const Logs&) override {
      std::vector<float> all;
      for (const Tensor<float>& w : this->trainer().model().get_weights())
        all.insert(all.end(), w.values().begin(), w.values().end());
      steps.push_back(std::move(all));
    }
  };
  auto model = dp_test_model();
  Trainer<float> trainer(*model);
  dp_compile(trainer);
  auto rec = std::make_shared<Recorder>();
  const DpData data = dp_test_data(45);
  trainer.fit(
      {data.x}, {data.y},
      {.batch_size = 16, .epochs = epochs, .verbose = 0, .callbacks = {rec}, .validation_split = 0.2, .seed = 11});
  return rec->steps;
}

TEST_F(Mpi, OneTwoAndFourRanksGiveTheSameWeightsAfterEveryStep) {
  constexpr int64_t kEpochs = 3, kStepsPerEpoch = 3;  // 36 training samples: 16, 16, 4
  std::vector<std::string> steps, finals, histories;
  for (int ranks : {1, 2, 4}) {
    const fs::path out = folder("ranks" + std::to_string(ranks));
    const Launch r = worker(ranks, {"train", out.string(), std::to_string(kEpochs)});
    ASSERT_EQ(r.status, 0) << ranks << " ranks:\n" << r.output;
    steps.push_back(read_bytes(out / "steps.bin"));
    finals.push_back(read_bytes(out / "final.bin"));
    histories.push_back(read_bytes(out / "history.txt"));
  }
  const std::vector<std::vector<float>> plain = plain_trainer_steps(kEpochs);
  ASSERT_EQ(plain.size(), static_cast<size_t>(kEpochs * kStepsPerEpoch));
  const size_t per_step = plain[0].size() * sizeof(float);
  ASSERT_EQ(steps[0].size(), plain.size() * per_step);
  for (size_t i = 1; i < steps.size(); ++i) {
    EXPECT_EQ(histories[i], histories[0]) << "losses and metrics, run " << i;
    EXPECT_EQ(finals[i], finals[0]) << "final weights, run " << i;
    ASSERT_EQ(steps[i].size(), steps[0].size());
    for (size_t s = 0; s < plain.size(); ++s)
      EXPECT_EQ(steps[i].compare(s * per_step, per_step, steps[0], s * per_step, per_step), 0)
          << "weights after step " << s + 1 << " differ between 1 and " << (i == 1 ? 2 : 4) << " ranks";
  }
  // Training moved the weights, and every step changed them.
  for (size_t s = 1; s < plain.size(); ++s)
    EXPECT_NE(steps[0].compare(s * per_step, per_step, steps[0], (s - 1) * per_step, per_step), 0) << s;

  // The single-process Trainer draws the same masks and sums the gradients in another order:
  // the same weights within float tolerance after every step.
  double worst = 0;
  for (size_t s = 0; s < plain.size(); ++s) {
    const std::vector<float> dp = floats_of(steps[0].substr(s * per_step, per_step));
    for (size_t e = 0; e < dp.size(); ++e) {
      const double diff = std::abs(static_cast<double>(dp[e]) - plain[s][e]);
      worst = std::max(worst, diff);
      ASSERT_LE(diff, 1e-4 + 1e-4 * std::abs(plain[s][e])) << "step " << s + 1 << ", weight element " << e;
    }
  }
  std::cout << "largest difference to the single-process Trainer over " << plain.size() << " steps: " << worst << "\n";
}

// BatchNormalization: per-shard statistics, and moving statistics averaged over the shards
// in the fixed order, so they too do not depend on the rank count.
TEST_F(Mpi, BatchNormalizationStatisticsAreTheSameOnOneTwoAndFourRanks) {
  std::vector<std::string> steps;
  for (int ranks : {1, 2, 4}) {
    const fs::path out = folder("bn" + std::to_string(ranks));
    const Launch r = worker(ranks, {"train_bn", out.string(), "2"});
    ASSERT_EQ(r.status, 0) << ranks << " ranks:\n" << r.output;
    steps.push_back(read_bytes(out / "steps.bin"));
  }
  EXPECT_FALSE(steps[0].empty());
  EXPECT_EQ(steps[1], steps[0]) << "2 ranks";
  EXPECT_EQ(steps[2], steps[0]) << "4 ranks";
}

TEST_F(Mpi, ResumingOnFourRanksAfterTwoGivesTheUninterruptedOneRankRun) {
  const fs::path cut = folder("cut"), whole = folder("whole");
  Launch r = worker(2, {"train", cut.string(), "2"});
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(read_checkpoint<float>((cut / "run.ckpt").string()).epoch, 2);
  r = worker(4, {"resume", cut.string(), "4"});
  ASSERT_EQ(r.status, 0) << r.output;
  r = worker(1, {"train", whole.string(), "4"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_bytes(cut / "final.bin"), read_bytes(whole / "final.bin"));
  EXPECT_EQ(read_bytes(cut / "steps.bin"), read_bytes(whole / "steps.bin"));
  EXPECT_EQ(read_bytes(cut / "history.txt"), read_bytes(whole / "history.txt"));
  EXPECT_FALSE(read_bytes(whole / "steps.bin").empty());
}

TEST_F(Mpi, AKilledRankEndsTheJobWithAnErrorAndKeepsTheCheckpoint) {
  // 3 steps per epoch: the last rank kills itself at step 5, in epoch 2, after rank 0 wrote
  // the checkpoint of epoch 1; the rest of the 50 epochs would take far longer than the bound.
  const fs::path out = folder("die");
  const Launch r = worker(2, {"die", out.string(), "50", "5"}, 60);
  EXPECT_FALSE(r.timed_out) << "the job hung after a rank died:\n" << r.output;
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_LT(r.seconds, 30.0) << r.output;
  // mpirun names the failed process and why.
  EXPECT_TRUE(r.output.find("signal 9") != std::string::npos || r.output.find("Killed") != std::string::npos)
      << r.output;
  const Checkpoint<float> ck = read_checkpoint<float>((out / "run.ckpt").string());
  EXPECT_EQ(ck.epoch, 1);
  EXPECT_EQ(ck.step, 3);
  std::cout << "the job ended " << r.seconds << " s after it started (exit status " << r.status << ")\n";
}

TEST_F(Mpi, PredictOnFourRanksKeepsTheOriginalOrder) {
  const fs::path out = folder("predict");
  const Launch r = worker(4, {"predict", out.string()});
  ASSERT_EQ(r.status, 0) << r.output;
  auto model = dp_test_model();
  Trainer<float> trainer(*model);
  const Tensor<float> want = trainer.predict(dp_test_data(45).x, 7);
  const std::vector<float> got = floats_of(read_bytes(out / "predict.bin"));
  ASSERT_EQ(got.size(), static_cast<size_t>(want.size()));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[static_cast<int64_t>(i)], 1e-5) << i;
}

#ifdef RNNX_CLI
TEST_F(Mpi, TheCliTrainsTheSameOnTwoRanksWithOneDisplayAndPredictsInOrder) {
  Rng rng(5);
  Tensor<float> x({40, 5, 3}), y({40});
  for (auto& v : x.values()) v = static_cast<float>(rng.uniform());
  for (int64_t i = 0; i < 40; ++i) y[i] = static_cast<float>(i % 2);
  const fs::path data = dir_ / "d.npz";
  write_npz(data.string(), {{"x", NpyArray::from(x)}, {"y", NpyArray::from(y)}});
  std::vector<std::string> ckpts, outputs;
  for (int ranks : {1, 2}) {
    std::vector<std::string> a = mpirun_prefix(ranks);
    const fs::path out = dir_ / ("cli" + std::to_string(ranks));
    a.insert(a.end(), {RNNX_CLI, "train", data.string(), "--model", "bilstm", "--units", "4", "--dropout", "0.2",
                       "--recurrent-dropout", "0.2", "--epochs", "2", "--batch-size", "8", "--verbose", "2", "-o",
                       out.string()});
    const Launch r = run_process(a, (dir_ / ("cli_log" + std::to_string(ranks))).string(), 120);
    ASSERT_EQ(r.status, 0) << r.output;
    const Checkpoint<float> ck = read_checkpoint<float>((out / "checkpoint.ckpt").string());
    std::string w;
    for (const auto& t : ck.weights)
      w.append(reinterpret_cast<const char*>(t.value.data()), sizeof(float) * static_cast<size_t>(t.value.size()));
    ckpts.push_back(w);
    outputs.push_back(r.output);
  }
  EXPECT_EQ(ckpts[0], ckpts[1]) << "the weights after 2 epochs differ between 1 and 2 ranks";
  // One progress display: each epoch line once, and the model summary once.
  size_t epochs_shown = 0;
  for (size_t at = outputs[1].find("Epoch 1/2"); at != std::string::npos; at = outputs[1].find("Epoch 1/2", at + 1))
    ++epochs_shown;
  EXPECT_EQ(epochs_shown, 1u) << outputs[1];

  write_npy((dir_ / "x.npy").string(), x);
  const std::string model = (dir_ / "cli2" / "model.keras").string();
  std::vector<std::string> a = mpirun_prefix(2);
  a.insert(a.end(), {RNNX_CLI, "predict", model, (dir_ / "x.npy").string(), "--batch-size", "6", "-o",
                     (dir_ / "p2.npz").string()});
  Launch r = run_process(a, (dir_ / "predict_log").string(), 120);
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_process({RNNX_CLI, "predict", model, (dir_ / "x.npy").string(), "-o", (dir_ / "p1.npz").string()},
                  (dir_ / "predict_log1").string(), 120);
  ASSERT_EQ(r.status, 0) << r.output;
  const Tensor<float> p1 = read_npz((dir_ / "p1.npz").string()).at("output_0").as<float>();
  const Tensor<float> p2 = read_npz((dir_ / "p2.npz").string()).at("output_0").as<float>();
  ASSERT_EQ(p1.shape(), p2.shape());
  for (int64_t i = 0; i < p1.size(); ++i) EXPECT_NEAR(p1[i], p2[i], 1e-5) << i;
}
#endif

}  // namespace
}  // namespace rnnx::test
