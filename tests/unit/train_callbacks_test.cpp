// Callbacks (train/callback.h and the standard ones): hook order, EarlyStopping restoring
// the best weights, ModelCheckpoint files, ReduceLROnPlateau, TerminateOnNaN, CSVLogger.
// Monitored values are scripted by a callback placed before the one under test, which
// overwrites a log entry, so each test knows exactly which epoch is best.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "rnnx/io/npy.h"
#include "rnnx/train/csv_logger.h"
#include "rnnx/train/early_stopping.h"
#include "rnnx/train/model_checkpoint.h"
#include "rnnx/train/reduce_lr_on_plateau.h"
#include "rnnx/train/terminate_on_nan.h"
#include "rnnx/train/trainer.h"
#include "train_test_helpers.h"

namespace rnnx {
namespace {

namespace fs = std::filesystem;
using rnnx::test::random_tensor;
using rnnx::test::TestLinear;
using rnnx::test::throws_with;

struct Fixture {
  TestLinear<double> layer{3, 2, 1};
  Trainer<double> trainer{layer};
  Tensor<double> x = random_tensor<double>({8, 3}, 2), y = random_tensor<double>({8, 2}, 3);
  Fixture() { trainer.compile("mse", "sgd", {"mae"}); }
};

// Sets logs["score"] = script[epoch] and remembers the weights at each epoch end.
std::shared_ptr<LambdaCallback<double>> scripted(std::vector<double> script,
                                                 std::vector<std::vector<Tensor<double>>>* weights,
                                                 Layer<double>& model) {
  auto cb = std::make_shared<LambdaCallback<double>>();
  cb->epoch_end = [script, weights, &model](int64_t epoch, Logs& logs) {
    logs.set("score", script.at(size_t(epoch)));
    if (weights) weights->push_back(model.get_weights());
  };
  return cb;
}

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("rnnx_train_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Callbacks, HooksRunInKerasOrder) {
  Fixture f;
  std::vector<std::string> calls;
  struct Recorder : Callback<double> {
    std::vector<std::string>* calls;
    void on_train_begin(const Logs&) override { calls->push_back("train_begin"); }
    void on_train_end(const Logs& l) override { calls->push_back("train_end:" + std::to_string(l.keys().size())); }
    void on_epoch_begin(int64_t e, const Logs&) override { calls->push_back("epoch_begin" + std::to_string(e)); }
    void on_epoch_end(int64_t e, Logs& l) override {
      calls->push_back("epoch_end" + std::to_string(e) + ":" + std::to_string(l.keys().size()));
    }
    void on_batch_begin(int64_t b, const Logs&) override { calls->push_back("batch_begin" + std::to_string(b)); }
    void on_batch_end(int64_t b, const Logs& l) override {
      calls->push_back("batch_end" + std::to_string(b) + ":" + std::to_string(l.keys().size()));
    }
    void on_test_begin(const Logs&) override { calls->push_back("test_begin"); }
    void on_test_batch_end(int64_t b, const Logs&) override { calls->push_back("test_batch_end" + std::to_string(b)); }
    void on_test_end(const Logs&) override { calls->push_back("test_end"); }
    void set_params(const CallbackParams& p) override {
      calls->push_back("params:" + std::to_string(p.epochs) + "," + std::to_string(p.steps));
    }
  };
  auto rec = std::make_shared<Recorder>();
  rec->calls = &calls;
  f.trainer.fit(f.x, f.y, {.batch_size = 4, .epochs = 1, .verbose = 0, .callbacks = {rec}, .validation_split = 0.25});
  EXPECT_EQ(calls, (std::vector<std::string>{"params:1,2", "train_begin", "epoch_begin0", "batch_begin0",
                                             "batch_end0:2", "batch_begin1", "batch_end1:2", "test_begin",
                                             "test_batch_end0", "test_end", "epoch_end0:4", "train_end:4"}));
}

TEST(Callbacks, EarlyStoppingStopsAfterPatienceAndRestoresTheBestWeights) {
  Fixture f;
  std::vector<std::vector<Tensor<double>>> weights;
  auto stop = std::make_shared<EarlyStopping<double>>(
      EarlyStoppingOptions{.monitor = "score", .patience = 2, .mode = "min", .restore_best_weights = true});
  const History h = f.trainer.fit(f.x, f.y,
                                  {.batch_size = 4,
                                   .epochs = 10,
                                   .verbose = 0,
                                   .callbacks = {scripted({3, 1, 2, 2, 2, 0, 0, 0, 0, 0}, &weights, f.layer), stop}});
  EXPECT_EQ(h.epochs().size(), 4u);  // best at epoch 1, two epochs without improvement: stop at 3
  EXPECT_EQ(stop->stopped_epoch(), 3);
  EXPECT_EQ(stop->best_epoch(), 1);
  EXPECT_EQ(f.layer.get_weights()[0].storage(), weights[1][0].storage());
  EXPECT_NE(weights[3][0].storage(), weights[1][0].storage());
}

TEST(Callbacks, EarlyStoppingMinDeltaAndModeMax) {
  Fixture f;
  auto stop = std::make_shared<EarlyStopping<double>>(
      EarlyStoppingOptions{.monitor = "score", .min_delta = 0.5, .patience = 1, .mode = "max"});
  const History h = f.trainer.fit(f.x, f.y,
                                  {.batch_size = 8,
                                   .epochs = 10,
                                   .verbose = 0,
                                   .callbacks = {scripted({1, 1.4, 2, 2.2, 3}, nullptr, f.layer), stop}});
  EXPECT_EQ(h.epochs().size(), 2u);  // 1.4 is not better than 1 by 0.5
}

TEST(Callbacks, ModelCheckpointWritesTheBestWeightsAtomically) {
  Fixture f;
  const fs::path dir = temp_dir("checkpoint");
  std::vector<std::vector<Tensor<double>>> weights;
  auto ckpt = std::make_shared<ModelCheckpoint<double>>(
      (dir / "sub" / "best.npz").string(),
      ModelCheckpointOptions{.monitor = "score", .save_best_only = true, .mode = "min"});
  auto every = std::make_shared<ModelCheckpoint<double>>((dir / "w-{epoch:02d}-{score:.1f}.npz").string(),
                                                         ModelCheckpointOptions{.monitor = "score", .mode = "min"});
  f.trainer.fit(f.x, f.y,
                {.batch_size = 4,
                 .epochs = 4,
                 .verbose = 0,
                 .callbacks = {scripted({2, 1, 1.5, 3}, &weights, f.layer), ckpt, every}});
  // The best file holds the weights of epoch 1 (score 1).
  TestLinear<double> restored(3, 2, 99);
  load_weights_npz(restored, (dir / "sub" / "best.npz").string());
  EXPECT_EQ(restored.get_weights()[0].storage(), weights[1][0].storage());
  EXPECT_EQ(restored.get_weights()[1].storage(), weights[1][1].storage());
  EXPECT_EQ(ckpt->best(), 1.0);
  // One file per epoch with formatted names, and nothing else (no temporary files left).
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"w-01-2.0.npz", "w-02-1.0.npz", "w-03-1.5.npz", "w-04-3.0.npz"}));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "sub"), fs::directory_iterator()), 1);
  const std::map<std::string, NpyArray> arrays = read_npz((dir / "w-04-3.0.npz").string());
  EXPECT_EQ(arrays.size(), 2u);
  EXPECT_TRUE(arrays.count("kernel") && arrays.count("bias"));
  fs::remove_all(dir);
}

TEST(Callbacks, ReduceLROnPlateauReducesAfterPatienceWithCooldown) {
  Fixture f;
  auto reduce = std::make_shared<ReduceLROnPlateau<double>>(ReduceLROnPlateauOptions{
      .monitor = "score", .factor = 0.5, .patience = 1, .mode = "min", .cooldown = 2, .min_lr = 0.003});
  const History h = f.trainer.fit(f.x, f.y,
                                  {.batch_size = 8,
                                   .epochs = 6,
                                   .verbose = 0,
                                   .callbacks = {scripted({1, 1, 1, 1, 1, 1}, nullptr, f.layer), reduce}});
  // The lr is logged at each epoch end before that epoch's reduction: no improvement after
  // epoch 0, so epoch 1 reduces to 0.005 and starts a 2-epoch cooldown (epoch 2 skipped,
  // epoch 3 counts again and reduces to the 0.003 floor), then lr > min_lr no longer holds.
  const std::vector<double>& lr = h.at("learning_rate");
  ASSERT_EQ(lr.size(), 6u);
  EXPECT_FLOAT_EQ(float(lr[0]), 0.01f);
  EXPECT_FLOAT_EQ(float(lr[1]), 0.01f);
  EXPECT_FLOAT_EQ(float(lr[2]), 0.005f);
  EXPECT_FLOAT_EQ(float(lr[3]), 0.005f);
  EXPECT_FLOAT_EQ(float(lr[4]), 0.003f);
  EXPECT_FLOAT_EQ(float(lr[5]), 0.003f);
  EXPECT_FLOAT_EQ(f.trainer.optimizer().learning_rate(), 0.003f);
  EXPECT_TRUE(throws_with<ConfigError>([] { ReduceLROnPlateau<double>({.factor = 1.0}); },
                                       "ReduceLROnPlateau does not support a factor >= 1.0, got 1.0"));
}

TEST(Callbacks, TerminateOnNaNStopsOrRaises) {
  Fixture f;
  Tensor<double> y = f.y;
  y[0] = std::numeric_limits<double>::quiet_NaN();
  const History h = f.trainer.fit(f.x, y,
                                  {.batch_size = 2,
                                   .epochs = 5,
                                   .verbose = 0,
                                   .callbacks = {std::make_shared<TerminateOnNaN<double>>()},
                                   .shuffle = false});
  EXPECT_EQ(h.epochs().size(), 1u);
  EXPECT_TRUE(std::isnan(h.at("loss")[0]));
  EXPECT_TRUE(throws_with<NumericError>(
      [&] {
        f.trainer.fit(f.x, y,
                      {.batch_size = 2,
                       .verbose = 0,
                       .callbacks = {std::make_shared<TerminateOnNaN<double>>(true)},
                       .shuffle = false});
      },
      "TerminateOnNaN: NaN or Inf loss encountered at epoch 1, batch 0 (loss: nan); terminating training"));
}

TEST(Callbacks, CSVLoggerWritesKerasColumns) {
  Fixture f;
  const fs::path dir = temp_dir("csv");
  const std::string file = (dir / "log.csv").string();
  auto csv = std::make_shared<CSVLogger<double>>(file);
  auto fixed = std::make_shared<LambdaCallback<double>>();
  fixed->epoch_end = [](int64_t epoch, Logs& logs) {  // known values, to check the number format
    logs.set("loss", epoch == 0 ? 0.25 : 1e-05);
    logs.set("mae", 1.0 / 3.0);
  };
  f.trainer.fit(f.x, f.y, {.batch_size = 8, .epochs = 2, .verbose = 0, .callbacks = {fixed, csv}});
  EXPECT_EQ(read_file(file),
            "epoch,loss,mae,val_loss,val_mae\r\n"
            "0,0.25,0.3333333333333333,NA,NA\r\n"
            "1,1e-05,0.3333333333333333,NA,NA\r\n");
  // append: no second header; with validation data the val_ columns are real.
  auto more = std::make_shared<CSVLogger<double>>(file, ",", true);
  f.trainer.fit(f.x, f.y, {.batch_size = 8, .epochs = 1, .verbose = 0, .callbacks = {more}, .validation_split = 0.25});
  const std::string text = read_file(file);
  EXPECT_EQ(text.find("epoch", 10), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
  EXPECT_EQ(text.find("NA", text.rfind("\r\n0,")), std::string::npos) << text;
  fs::remove_all(dir);
}

TEST(Callbacks, Errors) {
  Fixture f;
  auto stop = std::make_shared<EarlyStopping<double>>(EarlyStoppingOptions{.monitor = "val_loss"});
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] { f.trainer.fit(f.x, f.y, {.verbose = 0, .callbacks = {stop}}); },
      "EarlyStopping monitors 'val_loss', which is not in the epoch logs (available: loss, mae)"));
  auto unsure = std::make_shared<EarlyStopping<double>>(EarlyStoppingOptions{.monitor = "score"});
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        f.trainer.fit(f.x, f.y, {.verbose = 0, .callbacks = {scripted({1}, nullptr, f.layer), unsure}});
      },
      "EarlyStopping received monitor='score', but cannot tell whether it should be minimized or maximized; pass mode "
      "\"min\" or \"max\""));
  EXPECT_TRUE(throws_with<ConfigError>([] { EarlyStopping<double>({.mode = "best"}); },
                                       "callback monitoring 'val_loss': mode must be auto, min or max, got 'best'"));
  EXPECT_TRUE(throws_with<ConfigError>(
      [] { ModelCheckpoint<double>("model.keras"); },
      "ModelCheckpoint: filepath must end in .ckpt (native training checkpoint) or .npz (weights as a NumPy "
      "archive), got 'model.keras'"));
  auto bad = std::make_shared<ModelCheckpoint<double>>("w-{nope}.npz");
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] { f.trainer.fit(f.x, f.y, {.verbose = 0, .callbacks = {bad}}); },
      "checkpoint filepath 'w-{nope}.npz': no value named 'nope' (available: epoch and the logs)"));
  TestLinear<double> other(4, 2, 5);
  const fs::path dir = temp_dir("load");
  save_weights_npz(f.layer, (dir / "w.npz").string());
  std::string expected = "'";
  expected.append((dir / "w.npz").string()).append("': weight 'kernel' has shape [3, 2], expected [4, 2]");
  EXPECT_TRUE(throws_with<FormatError>([&] { load_weights_npz(other, (dir / "w.npz").string()); }, expected));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rnnx
