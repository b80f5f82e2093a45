// Data-parallel training in one process (no MPI needed; tests/mpi runs it on several ranks):
//  - per-sample random draws (core/sample_rng.h): a training call on a whole batch draws the
//    same masks and noise as calls on its shards with SampleOffset set and the generators
//    rewound, for Dropout (per sample and shared noise shape), the noise layers,
//    TimeDistributed and RNN dropout; without the offset they differ;
//  - DataParallel with one shard is the Trainer bit for bit; with 8 shards the same within
//    float tolerance (also with Embedding row gradients);
//  - BatchNormalization's moving statistics after a step are the mean over the shards;
//  - the shard rule, evaluate/predict, checkpoints, and what it refuses.
#include "rnnx/train/data_parallel.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "layer_test_helpers.h"
#include "mpi/dp_test_model.h"
#include "rnnx/core/sample_rng.h"
#include "rnnx/layers/embedding.h"
#include "rnnx/layers/normalization.h"
#include "rnnx/layers/time_distributed.h"
#include "support/close.h"
#include "train/batching.h"
#include "train/data_parallel_runner.h"
#include "train/layer_rngs.h"

namespace rnnx::test {
namespace {

namespace fs = std::filesystem;
using rnnx::testing::all_close;

std::shared_ptr<Communicator> solo() { return std::make_shared<SoloCommunicator>(); }

// A training call of `layer` on all of x, and on x[0, cut) and x[cut, n) with the layer's
// generators rewound before each (with or without SampleOffset), returned as
// {whole, shards joined}.
std::pair<Tensor<float>, Tensor<float>> whole_and_shards(Layer<float>& layer, const Tensor<float>& x, int64_t cut,
                                                         bool with_offset = true) {
  layer(x, Mode::inference);  // builds it: building seeds an RNN's generator
  const auto rngs = detail::layer_rngs(layer);
  std::vector<Rng::State> start;
  for (const auto& r : rngs) start.push_back(r.get());
  const Tensor<float> whole = layer(x, Mode::training);
  std::vector<std::vector<Tensor<float>>> parts;
  for (const auto& [begin, end] : {std::pair<int64_t, int64_t>{0, cut}, {cut, x.dim(0)}}) {
    for (size_t i = 0; i < rngs.size(); ++i) rngs[i].set(start[i]);
    const SampleOffset offset(with_offset ? begin : 0);
    parts.push_back({layer(detail::slice_rows(x, begin, end), Mode::training)});
  }
  layer.clear_tape();
  return {whole, detail::concat_batches(parts)[0]};
}

void expect_identical(const Tensor<float>& a, const Tensor<float>& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  EXPECT_EQ(a.storage(), b.storage()) << what;
}

TEST(SampleRng, AWholeBatchDrawsWhatItsShardsDraw) {
  const Tensor<float> x = random_tensor<float>({8, 5, 3}, 1, 0.5, 1.0);
  Dropout<float> drop(DropoutOptions{.rate = 0.4});
  drop.set_seed(3);
  auto [w1, s1] = whole_and_shards(drop, x, 3);
  expect_identical(w1, s1, "Dropout");
  Dropout<float> shared(DropoutOptions{.rate = 0.4, .noise_shape = {1, -1, -1}});
  shared.set_seed(3);
  auto [w2, s2] = whole_and_shards(shared, x, 5);
  expect_identical(w2, s2, "Dropout with noise_shape (1, None, None)");
  // A shared mask really is shared: sample 0 and 7 are dropped alike.
  for (int64_t e = 0; e < 15; ++e) EXPECT_EQ(w2[e] == 0.0f, w2[7 * 15 + e] == 0.0f) << e;
  GaussianNoise<float> noise(0.3);
  noise.set_seed(4);
  auto [w3, s3] = whole_and_shards(noise, x, 3);
  expect_identical(w3, s3, "GaussianNoise");
  AlphaDropout<float> alpha(0.3);
  alpha.set_seed(5);
  auto [w4, s4] = whole_and_shards(alpha, x, 6);
  expect_identical(w4, s4, "AlphaDropout");
  TimeDistributed<float> td(std::make_shared<Dropout<float>>(DropoutOptions{.rate = 0.5}));
  td.set_seed(6);
  auto [w5, s5] = whole_and_shards(td, x, 3);
  expect_identical(w5, s5, "TimeDistributed(Dropout)");
}

TEST(SampleRng, RnnDropoutDoesNotDependOnTheSplit) {
  const Tensor<float> x = random_tensor<float>({8, 5, 3}, 2);
  LSTMOptions o;
  o.units = 4;
  o.dropout = 0.3;
  o.recurrent_dropout = 0.3;
  o.return_sequences = true;
  o.seed = 7;
  LSTM<float> lstm(o);
  auto [whole, shards] = whole_and_shards(lstm, x, 3);
  EXPECT_TRUE(all_close(shards, whole, {1e-6, 1e-6}));
}

// The test above can fail: without the sample offset the second shard redraws the first
// shard's masks.
TEST(SampleRng, WithoutTheOffsetTheShardsDrawOtherMasks) {
  const Tensor<float> x = random_tensor<float>({8, 5, 3}, 1, 0.5, 1.0);
  Dropout<float> drop(DropoutOptions{.rate = 0.4});
  drop.set_seed(3);
  auto [whole, shards] = whole_and_shards(drop, x, 4, /*with_offset=*/false);
  EXPECT_NE(whole.storage(), shards.storage());
}

TEST(DataParallel, ShardsHoldNearlyEqualContiguousParts) {
  std::vector<int64_t> sizes;
  for (int64_t k = 0; k < 8; ++k) sizes.push_back(detail::shard_begin(20, 8, k + 1) - detail::shard_begin(20, 8, k));
  EXPECT_EQ(sizes, (std::vector<int64_t>{3, 3, 3, 3, 2, 2, 2, 2}));
  sizes.clear();
  for (int64_t k = 0; k < 8; ++k) sizes.push_back(detail::shard_begin(3, 8, k + 1) - detail::shard_begin(3, 8, k));
  EXPECT_EQ(sizes, (std::vector<int64_t>{1, 1, 1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(detail::shard_begin(20, 8, 8), 20);
}

struct FitResult {
  std::vector<Tensor<float>> weights;
  History history;
};

FitResult fit_test_model(int64_t shards) {  // shards 0: the plain Trainer
  auto model = dp_test_model();
  Trainer<float> trainer(*model);
  dp_compile(trainer);
  const DpData d = dp_test_data(45);
  const FitOptions<float> fo{.batch_size = 16, .epochs = 2, .verbose = 0, .validation_split = 0.2, .seed = 11};
  FitResult r;
  if (shards == 0) {
    r.history = trainer.fit(d.x, d.y, fo);
  } else {
    DataParallel<float> dp(trainer, solo(), {.shards = shards});
    r.history = dp.fit(d.x, d.y, fo);
  }
  r.weights = model->get_weights();
  return r;
}

TEST(DataParallel, OneShardIsTheTrainerBitForBit) {
  const FitResult plain = fit_test_model(0), one = fit_test_model(1);
  ASSERT_EQ(plain.weights.size(), one.weights.size());
  for (size_t i = 0; i < plain.weights.size(); ++i)
    EXPECT_EQ(one.weights[i].storage(), plain.weights[i].storage()) << i;
  for (const std::string key : {"loss", "accuracy", "val_loss", "val_accuracy"})
    EXPECT_EQ(one.history.at(key), plain.history.at(key)) << key;
}

TEST(DataParallel, EightShardsMatchTheTrainerWithinFloatTolerance) {
  const FitResult plain = fit_test_model(0), eight = fit_test_model(8);
  for (size_t i = 0; i < plain.weights.size(); ++i)
    EXPECT_TRUE(all_close(eight.weights[i], plain.weights[i], {1e-4, 1e-4})) << "weight " << i;
  for (const std::string key : {"loss", "val_loss"})
    for (size_t e = 0; e < 2; ++e) EXPECT_NEAR(eight.history.at(key)[e], plain.history.at(key)[e], 1e-5) << key;
}

// Embedding row gradients (Param::sparse_grad) are joined in shard order: Adam's per-row
// treatment of repeated rows (train/optimizer.h) sees the same list as one backward.
TEST(DataParallel, EmbeddingRowGradientsAreJoinedInShardOrder) {
  auto make = [] {
    auto m = std::make_unique<Sequential<float>>();
    m->add(std::make_shared<InputLayer<float>>(Shape{-1, 6}));
    auto emb = std::make_shared<Embedding<float>>(EmbeddingOptions{.input_dim = 7, .output_dim = 3, .mask_zero = true});
    emb->set_seed(1);
    m->add(emb);
    LSTMOptions o;
    o.units = 3;
    o.seed = 2;
    m->add(std::make_shared<LSTM<float>>(o));
    auto dense = std::make_shared<Dense<float>>(DenseOptions{.units = 1});
    dense->set_seed(3);
    m->add(dense);
    return m;
  };
  Tensor<float> x({24, 6}), y({24, 1});
  Rng rng(9);
  for (int64_t i = 0; i < 24; ++i) {
    for (int64_t t = 0; t < 6; ++t) x[i * 6 + t] = t < 2 + i % 4 ? static_cast<float>(1 + rng.below(6)) : 0.0f;
    y[i] = static_cast<float>(rng.uniform());
  }
  std::vector<std::vector<Tensor<float>>> results;
  for (int64_t shards : {0, 4}) {
    auto m = make();
    Trainer<float> t(*m);
    t.compile("mse", "adam");
    const FitOptions<float> fo{.batch_size = 12, .epochs = 3, .verbose = 0, .seed = 4};
    if (shards == 0) {
      t.fit(x, y, fo);
    } else {
      DataParallel<float> dp(t, solo(), {.shards = shards});
      dp.fit(x, y, fo);
    }
    results.push_back(m->get_weights());
  }
  for (size_t i = 0; i < results[0].size(); ++i)
    EXPECT_TRUE(all_close(results[1][i], results[0][i], {1e-5, 1e-5})) << "weight " << i;
}

TEST(DataParallel, BatchNormalizationStatisticsAreTheMeanOverShards) {
  auto dense = std::make_shared<Dense<float>>(DenseOptions{.units = 3});
  dense->set_seed(1);
  auto bn = std::make_shared<BatchNormalization<float>>(BatchNormalizationOptions{{}, -1, 0.9});
  auto m = std::make_unique<Sequential<float>>();
  m->add(std::make_shared<InputLayer<float>>(Shape{-1, 4}));
  m->add(dense);
  m->add(bn);
  const Tensor<float> x = random_tensor<float>({8, 4}, 3), y = random_tensor<float>({8, 3}, 4);
  m->build(Shape{-1, 4});
  // What each half of the batch makes of the moving mean, starting from the same value.
  std::vector<Tensor<float>> halves;
  for (int64_t begin : {0, 4}) {
    BatchNormalization<float> alone(BatchNormalizationOptions{{}, -1, 0.9});
    alone(dense->operator()(detail::slice_rows(x, begin, begin + 4)), Mode::training);
    alone.clear_tape();
    halves.push_back(alone.moving_mean());
  }
  Trainer<float> t(*m);
  t.compile("mse", "sgd");
  DataParallel<float> dp(t, solo(), {.shards = 2});
  t.train_on_batch(x, y);
  Tensor<float> want = halves[0];
  for (int64_t i = 0; i < want.size(); ++i) want[i] = (halves[0][i] + halves[1][i]) / 2.0f;
  EXPECT_TRUE(all_close(bn->moving_mean(), want, {1e-6, 1e-6}));
  EXPECT_FALSE(all_close(bn->moving_mean(), halves[0], {1e-6, 1e-6}));
}

TEST(DataParallel, EvaluateAndPredictMatchTheTrainer) {
  auto model = dp_test_model();
  Trainer<float> trainer(*model);
  dp_compile(trainer);
  const DpData d = dp_test_data(30);
  const Logs plain = trainer.evaluate(d.x, d.y, {.batch_size = 16, .verbose = 0});
  const Tensor<float> plain_y = trainer.predict(d.x, 16);
  DataParallel<float> dp(trainer, solo(), {.shards = 4});
  const Logs logs = dp.evaluate({d.x}, {d.y}, {.batch_size = 16, .verbose = 0});
  EXPECT_NEAR(*logs.get("loss"), *plain.get("loss"), 1e-6);
  EXPECT_EQ(*logs.get("accuracy"), *plain.get("accuracy"));
  EXPECT_TRUE(all_close(dp.predict({d.x}, 16).at(0), plain_y, {1e-6, 1e-6}));
}

TEST(DataParallel, CheckpointsRoundTripAndErrorsNameTheFile) {
  const fs::path dir = fs::temp_directory_path() / ("rnnx_dp_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "run.ckpt").string();
  const DpData d = dp_test_data(30);
  auto a = dp_test_model();
  Trainer<float> ta(*a);
  dp_compile(ta);
  DataParallel<float> dpa(ta, solo());
  dpa.fit(d.x, d.y, {.batch_size = 10, .epochs = 1, .verbose = 0});
  dpa.save_checkpoint(path, 1);
  auto b = dp_test_model();
  Trainer<float> tb(*b);
  dp_compile(tb);
  DataParallel<float> dpb(tb, solo());
  EXPECT_EQ(dpb.load_checkpoint(path), 1);
  const auto wa = a->get_weights(), wb = b->get_weights();
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_EQ(wa[i].storage(), wb[i].storage()) << i;
  try {
    dpb.load_checkpoint((dir / "missing.ckpt").string());
    ADD_FAILURE() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.ckpt"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(DataParallel, RefusesWhatItCannotSplit) {
  auto model = dp_test_model();
  Trainer<float> trainer(*model);
  dp_compile(trainer);
  EXPECT_THROW(DataParallel<float>(trainer, nullptr), ConfigError);
  EXPECT_THROW(DataParallel<float>(trainer, solo(), {.shards = 6}), ConfigError);
  {
    DataParallel<float> dp(trainer, solo());
    EXPECT_THROW(DataParallel<float>(trainer, solo()), StateError);  // one runner at a time
  }
  const DpData d = dp_test_data(8);
  auto fit_of = [&](std::shared_ptr<Layer<float>> layer) {
    auto m = std::make_unique<Sequential<float>>();
    m->add(std::make_shared<InputLayer<float>>(Shape{8, kDpSteps, kDpFeatures}));
    m->add(std::move(layer));
    m->add(std::make_shared<Dense<float>>(DenseOptions{.units = kDpClasses}));
    Trainer<float> t(*m);
    t.compile("sparse_categorical_crossentropy", "sgd");
    DataParallel<float> dp(t, solo());
    dp.fit(d.x, d.y, {.batch_size = 8, .verbose = 0});
  };
  LSTMOptions stateful;
  stateful.units = 2;
  stateful.stateful = true;
  try {
    fit_of(std::make_shared<LSTM<float>>(stateful));
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("stateful"), std::string::npos) << e.what();
  }
  LSTMOptions regularized;
  regularized.units = 2;
  regularized.activity_regularizer = Regularizer::make_l2();
  EXPECT_THROW(fit_of(std::make_shared<LSTM<float>>(regularized)), ConfigError);
  BatchNormalizationOptions sync;
  sync.synchronized = true;
  try {
    fit_of(std::make_shared<BatchNormalization<float>>(sync));
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("synchronized"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rnnx::test
