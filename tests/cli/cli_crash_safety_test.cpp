// Crash-safe training (issue 11): `rnnx train` killed with SIGKILL at random points, also in
// the middle of a checkpoint write, then resumed, ends with the weights of an uninterrupted
// run, bit for bit, and no checkpoint on disk is ever unreadable. A full disk, a read-only
// output folder and a diverging loss give a clear error and leave the previous checkpoint
// and model file as they were.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "cli/cli_data.h"
#include "cli/cli_fixture.h"
#include "rnnx/io/checkpoint.h"
#include "rnnx/io/npy.h"

namespace rnnx::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Names of the temporary files "<stem>.tmp.<pid>.<n>" in `dir`.
std::set<std::string> temporary_files(const std::string& dir, const std::string& stem) {
  std::set<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(stem + ".tmp.", 0) == 0) names.insert(name);
  }
  return names;
}

bool has_temporary_file(const std::string& dir, const std::string& stem) {
  return !temporary_files(dir, stem).empty();
}

// Starts `rnnx <args>` with RNNX_TEST_WRITE_PAUSE_MS set, so that every file write pauses
// halfway (a kill can land inside it). stdout/stderr go to /dev/null.
pid_t start_rnnx(const std::vector<std::string>& args, int write_pause_ms) {
  const pid_t child = fork();
  if (child != 0) return child;
  setenv("RNNX_TEST_WRITE_PAUSE_MS", std::to_string(write_pause_ms).c_str(), 1);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>("rnnx"));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  freopen("/dev/null", "w", stdout);
  freopen("/dev/null", "w", stderr);
  execv(RNNX_CLI, argv.data());
  _exit(127);
}

// Waits for `done()` (polling every 0.2 ms) up to `limit`; true if it happened.
template <class F>
bool wait_for(F done, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

class CrashSafety : public Cli {
 protected:
  // A checkpoint on disk (if any) must always be complete and readable.
  void expect_readable_checkpoint(const std::string& dir, const std::string& when) {
    const std::string ckpt = dir + "/checkpoint.ckpt";
    if (!fs::exists(ckpt)) return;
    try {
      (void)read_checkpoint<float>(ckpt);
    } catch (const std::exception& e) {
      ADD_FAILURE() << when << ": the checkpoint on disk is unreadable: " << e.what();
    }
  }
};

TEST_F(CrashSafety, KilledAtRandomPointsAndResumedGivesTheUninterruptedWeights) {
  write_tiny_idx(file("data"), 8000, 12);
  const std::vector<std::string> common = {"train",   file("data"), "--epochs",  "6",         "--batch-size", "8",
                                           "--units", "6",          "--dropout", "0.1",       "--verbose",    "0",
                                           "-o",      file("cut")};
  std::string whole = "train '" + file("data") + "' --epochs 6 --batch-size 8 --units 6 --dropout 0.1 --verbose 0";
  ASSERT_EQ(run(whole + " -o '" + file("whole") + "'").code, 0);

  std::vector<std::string> resume = common;
  resume.push_back("--resume");
  std::mt19937 rng(20261208);
  int kills_in_checkpoint_write = 0, kills = 0;
  // Trial plan: kill inside a checkpoint write, at a random moment, inside a write again, at
  // a random moment again; then let the last resume finish.
  for (int trial = 0; trial < 4; ++trial) {
    const bool first = !fs::exists(file("cut/checkpoint.ckpt"));
    const std::set<std::string> stale = temporary_files(file("cut"), "checkpoint.ckpt");  // a killed run's
    const pid_t child = start_rnnx(first ? common : resume, 150);
    bool in_write = false;
    if (trial % 2 == 0) {
      // The next checkpoint write after one checkpoint exists: the kill lands between the
      // temporary file's first and second half.
      in_write = wait_for(
          [&] {
            if (!fs::exists(file("cut/checkpoint.ckpt"))) return false;
            for (const auto& name : temporary_files(file("cut"), "checkpoint.ckpt"))
              if (!stale.count(name)) return true;
            return false;
          },
          std::chrono::seconds(60));
    } else {
      std::uniform_int_distribution<int> delay_ms(100, 900);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFEXITED(status)) continue;  // it finished first: nothing was cut
    ++kills;
    kills_in_checkpoint_write += in_write;
    expect_readable_checkpoint(file("cut"), "after kill " + std::to_string(trial + 1));
  }
  std::cout << kills << " kills, " << kills_in_checkpoint_write << " inside a checkpoint write\n";
  EXPECT_GE(kills, 3);
  EXPECT_GE(kills_in_checkpoint_write, 1) << "no kill landed inside a checkpoint write";

  const Result r = run(whole + " -o '" + file("cut") + "' --resume");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto a = weights_of(file("whole/model.keras")), b = weights_of(file("cut/model.keras"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "weight " << i;
  EXPECT_EQ(read(file("whole/history.csv")).size(), read(file("cut/history.csv")).size());
  EXPECT_FALSE(has_temporary_file(file("cut"), "checkpoint.ckpt")) << "a killed run's temporary file is left";
}

// Runs `script` with /bin/sh in a private mount namespace (unshare -m), where the test may
// mount a small tmpfs or a read-only bind; false if this machine does not allow it.
bool can_use_mount_namespace() {
  return geteuid() == 0 && std::system("unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs /mnt' 2>/dev/null") == 0;
}

std::string sh_quote(const std::string& s) { return "'" + s + "'"; }

// The first run of the disk-full and read-only tests: one epoch, a checkpoint and a model.
class Destination : public CrashSafety {
 protected:
  void first_run() {
    write_tiny_idx(file("data"), 600, 12);
    base_ = "'" + std::string(RNNX_CLI) + "' train '" + file("data") + "' --units 32 --verbose 0";
    ASSERT_EQ(std::system((base_ + " --epochs 1 -o '" + file("out") + "' >/dev/null").c_str()), 0);
    ckpt_ = read(file("out/checkpoint.ckpt"));
    model_ = read(file("out/model.keras"));
    ASSERT_GT(ckpt_.size(), 16u * 1024) << "the checkpoint must not fit in the space left free below";
  }
  // The command of the second run: two more epochs into `out` (resumed or from scratch).
  std::string second_run(const std::string& out, bool resume) const {
    return base_ + " --epochs 3 -o " + sh_quote(out) + (resume ? " --resume" : "") + " >/dev/null 2>" +
           sh_quote(file("err.txt"));
  }
  void expect_untouched(const std::string& out) {
    EXPECT_EQ(read(out + "/checkpoint.ckpt"), ckpt_) << "the previous checkpoint changed";
    EXPECT_EQ(read(out + "/model.keras"), model_) << "the previous model file changed";
    EXPECT_FALSE(has_temporary_file(out, "checkpoint.ckpt"));
    EXPECT_FALSE(has_temporary_file(out, "model.keras"));
  }
  std::string base_, ckpt_, model_;
};

TEST_F(Destination, FullDiskGivesAClearErrorAndKeepsThePreviousFiles) {
  first_run();
  const std::string err_file = file("err.txt");
  if (can_use_mount_namespace()) {
    // A 1 MiB tmpfs holding the previous run's files, filled up to 16 KiB below its size:
    // the history row still fits, the next checkpoint does not.
    const std::string mnt = file("small"), keep = file("kept");
    fs::create_directories(mnt);
    fs::create_directories(keep);
    const std::string script = "set -e; mount -t tmpfs -o size=1m tmpfs " + sh_quote(mnt) + "; cp " +
                               sh_quote(file("out")) + "/* " + sh_quote(mnt) + "/; dd if=/dev/zero of=" +
                               sh_quote(mnt + "/fill") + " bs=4k 2>/dev/null || true; truncate -s -16K " +
                               sh_quote(mnt + "/fill") + "; set +e; " + second_run(mnt, true) +
                               "; echo $? > " + sh_quote(keep + "/code") + "; cp " + sh_quote(mnt) +
                               "/checkpoint.ckpt " + sh_quote(mnt) + "/model.keras " + sh_quote(keep) + "/; ls -a " +
                               sh_quote(mnt) + " > " + sh_quote(keep + "/listing");
    ASSERT_EQ(std::system(("unshare -m sh -c " + sh_quote(script)).c_str()), 0);
    EXPECT_EQ(read(keep + "/code"), "1\n");
    EXPECT_EQ(read(keep + "/checkpoint.ckpt"), ckpt_);
    EXPECT_EQ(read(keep + "/model.keras"), model_);
    EXPECT_EQ(read(keep + "/listing").find(".tmp."), std::string::npos) << read(keep + "/listing");
    const std::string err = read(err_file);
    EXPECT_NE(err.find("checkpoint.ckpt"), std::string::npos) << err;
    EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  } else {
    // No mount namespace here: a file-size limit makes the same writes fail (EFBIG).
    const std::string cmd = "sh -c " + sh_quote("trap '' XFSZ; ulimit -f 16; " + second_run(file("out"), true));
    EXPECT_NE(std::system(cmd.c_str()), 0);
    expect_untouched(file("out"));
    const std::string err = read(err_file);
    EXPECT_NE(err.find("checkpoint.ckpt"), std::string::npos) << err;
    EXPECT_NE(err.find("File too large"), std::string::npos) << err;
  }
}

TEST_F(Destination, ReadOnlyFolderGivesAClearErrorBeforeTraining) {
  first_run();
  for (bool resume : {true, false}) {
    SCOPED_TRACE(resume ? "--resume" : "a new run");
    std::string cmd;
    if (can_use_mount_namespace()) {  // a read-only bind mount: EROFS, as on a read-only volume
      const std::string out = sh_quote(file("out"));
      cmd = "unshare -m sh -c " +
            sh_quote("mount --bind " + out + " " + out + " && mount -o remount,bind,ro " + out + " && " +
                     second_run(file("out"), resume));
    } else if (geteuid() == 0) {  // root ignores permissions: drop to nobody first
      fs::permissions(file("out"), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                       fs::perms::others_read | fs::perms::others_exec);
      cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups sh -c " + sh_quote(second_run(file("out"), resume));
    } else {
      fs::permissions(file("out"), fs::perms::owner_write, fs::perm_options::remove);
      cmd = "sh -c " + sh_quote(second_run(file("out"), resume));
    }
    const auto t0 = Clock::now();
    EXPECT_NE(std::system(cmd.c_str()), 0);
    const std::string err = read(file("err.txt"));
    EXPECT_NE(err.find("rnnx: error: "), std::string::npos) << err;
    EXPECT_TRUE(err.find("Read-only file system") != std::string::npos ||
                err.find("Permission denied") != std::string::npos)
        << err;
    // The refusal comes before the first epoch, not after minutes of training.
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 20.0);
    expect_untouched(file("out"));
  }
  fs::permissions(file("out"), fs::perms::owner_all, fs::perm_options::add);
}

TEST_F(CrashSafety, DivergingLossStopsAndKeepsTheLastGoodCheckpoint) {
  // A regression whose second run meets a target so large that the squared error overflows
  // float: the loss is Inf in the first batch of epoch 2.
  Rng rng(11);
  Tensor<float> x({64, 4, 3}), y({64, 1});
  for (auto& v : x.values()) v = static_cast<float>(rng.uniform());
  for (auto& v : y.values()) v = static_cast<float>(rng.uniform());
  write_npz(file("d.npz"), {{"x", NpyArray::from(x)}, {"y", NpyArray::from(y)}});
  const std::string cmd = "train '" + file("d.npz") +
                          "' --task regression --standardize off --units 4 --batch-size 16 --no-shuffle --verbose 0 "
                          "--validation-split 0 -o '" +
                          file("out") + "'";
  ASSERT_EQ(run(cmd + " --epochs 1").code, 0);
  const std::string ckpt = read(file("out/checkpoint.ckpt")), model = read(file("out/model.keras"));
  y[3] = 1e30f;
  write_npz(file("d.npz"), {{"x", NpyArray::from(x)}, {"y", NpyArray::from(y)}});
  const Result r = run(cmd + " --epochs 3 --resume");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("NaN or Inf loss encountered at epoch 2, batch 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the last good checkpoint"), std::string::npos) << r.err;
  EXPECT_EQ(read(file("out/checkpoint.ckpt")), ckpt);
  EXPECT_EQ(read(file("out/model.keras")), model);

  // NaN in the data itself is refused before training, naming where it is.
  x[2 * 12 + 5] = std::numeric_limits<float>::quiet_NaN();
  write_npz(file("nan.npz"), {{"x", NpyArray::from(x)}, {"y", NpyArray::from(y)}});
  const Result n = run("train '" + file("nan.npz") + "' --task regression --epochs 1 --verbose 0 -o '" +
                       file("nan") + "'");
  EXPECT_EQ(n.code, 1);
  EXPECT_NE(n.err.find("the training inputs holds nan at sample 2, element 5"), std::string::npos) << n.err;
}

}  // namespace
}  // namespace rnnx::testing
