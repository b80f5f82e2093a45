// Training checkpoints (Trainer::make/save/restore/load_checkpoint, Optimizer::state/set_state,
// ModelCheckpoint ".ckpt"): a run stopped after 2 epochs and resumed from its checkpoint in a
// fresh model and trainer gives bit for bit the run that did not stop, for each optimizer
// kind, with shuffling and LSTM and Dropout dropout all drawing random numbers; mismatched
// optimizer state, another model and another scalar type are refused by name, changing
// nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "layer_test_helpers.h"
#include "rnnx/io/checkpoint.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/dropout.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/pooling.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/sequential.h"
#include "rnnx/train/adagrad.h"
#include "rnnx/train/adam.h"
#include "rnnx/train/model_checkpoint.h"
#include "rnnx/train/rmsprop.h"
#include "rnnx/train/schedules.h"
#include "rnnx/train/sgd.h"
#include "rnnx/train/trainer.h"

namespace rnnx::test {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("rnnx_train_ckpt_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// LSTM (input and recurrent dropout) -> Dropout -> Dense, fixed seeds: every random draw of
// a training step comes from the generators a checkpoint must carry.
std::unique_ptr<Sequential<float>> lstm_model(int64_t units = 4, const std::string& lstm_name = "lstm",
                                              bool dropout_layer = true) {
  auto m = std::make_unique<Sequential<float>>();
  m->add(std::make_shared<InputLayer<float>>(Shape{-1, 5, 3}));
  LSTMOptions o;
  o.units = units;
  o.dropout = 0.2;
  o.recurrent_dropout = 0.3;
  o.seed = 3;
  m->add(std::make_shared<LSTM<float>>(o, lstm_name));
  auto drop = std::make_shared<Dropout<float>>(DropoutOptions{.rate = 0.25});
  drop->set_seed(4);
  if (dropout_layer) m->add(drop);
  auto dense = std::make_shared<Dense<float>>(DenseOptions{.units = 2});
  dense->set_seed(5);
  m->add(dense);
  return m;
}

struct OptimizerCase {
  std::string name;
  std::function<std::shared_ptr<Optimizer<float>>()> make;
};

std::vector<OptimizerCase> optimizer_cases() {
  return {
      {"SGD momentum",
       [] { return std::make_shared<SGD<float>>(SGDOptions{.learning_rate = 0.05, .momentum = 0.9}); }},
      {"Adam amsgrad",
       [] { return std::make_shared<Adam<float>>(AdamOptions{.learning_rate = 0.01, .amsgrad = true}); }},
      {"RMSprop centered momentum",
       [] { return std::make_shared<RMSprop<float>>(RMSpropOptions{.momentum = 0.5, .centered = true}); }},
      {"Adagrad", [] { return std::make_shared<Adagrad<float>>(AdagradOptions{.learning_rate = 0.05}); }},
  };
}

void compile(Trainer<float>& t, std::shared_ptr<Optimizer<float>> opt) {
  t.compile(std::shared_ptr<const Loss<float>>(make_loss<float>("mse")), std::move(opt));
}

FitOptions<float> fit_options(int64_t epochs, int64_t initial_epoch = 0) {
  return {.batch_size = 7, .epochs = epochs, .verbose = 0, .validation_split = 0.2, .seed = 11,
          .initial_epoch = initial_epoch};
}

void expect_same_weights(Sequential<float>& a, Sequential<float>& b, const std::string& what) {
  const auto wa = a.get_weights(), wb = b.get_weights();
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_EQ(wa[i].storage(), wb[i].storage()) << what << ", weight " << i;
}

const Tensor<float> kX = random_tensor<float>({30, 5, 3}, 21);
const Tensor<float> kY = random_tensor<float>({30, 2}, 22);

// Fits 4 epochs straight; and 2 epochs with a ModelCheckpoint(".ckpt") after each, then a
// fresh model and trainer load the last checkpoint and fit epochs 3 and 4. Both runs must
// give the same per-epoch losses, weights and optimizer state, bit for bit.
void expect_resume_is_exact(const std::function<std::unique_ptr<Sequential<float>>()>& make_model,
                            const std::function<std::shared_ptr<Optimizer<float>>()>& make_optimizer) {
  const TempDir dir;
  auto straight = make_model();
  Trainer<float> t0(*straight);
  compile(t0, make_optimizer());
  const History full = t0.fit(kX, kY, fit_options(4));

  auto first = make_model();
  Trainer<float> t1(*first);
  compile(t1, make_optimizer());
  FitOptions<float> o = fit_options(2);
  o.callbacks = {std::make_shared<ModelCheckpoint<float>>(dir.file("run-{epoch}.ckpt"))};
  t1.fit(kX, kY, o);
  EXPECT_EQ(read_checkpoint<float>(dir.file("run-1.ckpt")).epoch, 1);

  auto second = make_model();
  Trainer<float> t2(*second);
  compile(t2, make_optimizer());
  const int64_t done = t2.load_checkpoint(dir.file("run-2.ckpt"));
  ASSERT_EQ(done, 2);
  EXPECT_EQ(t2.optimizer().iterations(), t1.optimizer().iterations());
  const History rest = t2.fit(kX, kY, fit_options(4, done));

  ASSERT_EQ(rest.epochs(), (std::vector<int64_t>{2, 3}));
  for (const std::string key : {"loss", "val_loss"})
    for (size_t e = 0; e < 2; ++e) EXPECT_EQ(rest.at(key)[e], full.at(key)[e + 2]) << key << " epoch " << e + 2;
  expect_same_weights(*second, *straight, "resumed vs straight");
  const auto s0 = t0.optimizer().state(), s2 = t2.optimizer().state();
  ASSERT_EQ(s2.size(), s0.size());
  for (size_t i = 0; i < s0.size(); ++i) EXPECT_EQ(s2[i].value.storage(), s0[i].value.storage()) << s0[i].name;
}

TEST(TrainerCheckpoint, ResumingGivesTheRunThatDidNotStopForEveryOptimizer) {
  for (const OptimizerCase& c : optimizer_cases()) {
    SCOPED_TRACE(c.name);
    expect_resume_is_exact([] { return lstm_model(); }, c.make);
  }
}

// Bidirectional(LSTM with dropout) -> TimeDistributed(Dropout) -> pooling -> Dense: the
// generators inside wrappers are found and carried too.
std::unique_ptr<Sequential<float>> wrapped_model() {
  auto m = std::make_unique<Sequential<float>>();
  m->add(std::make_shared<InputLayer<float>>(Shape{-1, 5, 3}));
  LSTMOptions o;
  o.units = 3;
  o.dropout = 0.2;
  o.recurrent_dropout = 0.2;
  o.return_sequences = true;
  auto bidi = std::make_shared<Bidirectional<float>>(LSTM<float>(o));
  bidi->set_seed(6);
  m->add(bidi);
  auto td = std::make_shared<TimeDistributed<float>>(std::make_shared<Dropout<float>>(DropoutOptions{.rate = 0.3}));
  td->set_seed(8);
  m->add(td);
  m->add(std::make_shared<GlobalAveragePooling1D<float>>());
  auto dense = std::make_shared<Dense<float>>(DenseOptions{.units = 2});
  dense->set_seed(5);
  m->add(dense);
  return m;
}

TEST(TrainerCheckpoint, GeneratorsInsideWrappersAreCarried) {
  auto m = wrapped_model();
  Trainer<float> t(*m);
  compile(t, std::make_shared<Adam<float>>());
  std::vector<std::string> names;
  for (const auto& r : t.make_checkpoint(0).layer_rngs) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bidirectional/forward_lstm", "bidirectional/backward_lstm",
                                             "time_distributed/dropout"}));
  expect_resume_is_exact(wrapped_model, [] { return std::make_shared<Adam<float>>(); });
}

// The test above can fail: the weights alone do not give the same run, nor do the weights
// and optimizer state without the generators.
TEST(TrainerCheckpoint, WeightsAloneOrWithoutGeneratorsGiveAnotherRun) {
  auto straight = lstm_model();
  Trainer<float> t0(*straight);
  compile(t0, std::make_shared<Adam<float>>());
  t0.fit(kX, kY, fit_options(4));

  auto first = lstm_model();
  Trainer<float> t1(*first);
  compile(t1, std::make_shared<Adam<float>>());
  t1.fit(kX, kY, fit_options(2));
  const Checkpoint<float> ck = t1.make_checkpoint(2);

  auto weights_only = lstm_model();
  Trainer<float> t2(*weights_only);
  compile(t2, std::make_shared<Adam<float>>());
  restore_weights(*weights_only, ck.weights);
  t2.fit(kX, kY, fit_options(4, 2));
  EXPECT_NE(weights_only->get_weights()[0].storage(), straight->get_weights()[0].storage());

  Checkpoint<float> fresh_rngs = ck;
  auto blank = lstm_model();
  Trainer<float> tb(*blank);
  compile(tb, std::make_shared<Adam<float>>());
  const Checkpoint<float> initial = tb.make_checkpoint(0);
  fresh_rngs.rng = Rng(11).state();
  fresh_rngs.layer_rngs = initial.layer_rngs;
  auto no_rngs = lstm_model();
  Trainer<float> t3(*no_rngs);
  compile(t3, std::make_shared<Adam<float>>());
  t3.restore_checkpoint(fresh_rngs);
  t3.fit(kX, kY, fit_options(4, 2));
  EXPECT_NE(no_rngs->get_weights()[0].storage(), straight->get_weights()[0].storage());
}

TEST(TrainerCheckpoint, CheckpointHoldsNamedStateOfEveryPart) {
  auto m = lstm_model();
  Trainer<float> t(*m);
  compile(t, std::make_shared<RMSprop<float>>(RMSpropOptions{.momentum = 0.5, .centered = true}));
  t.fit(kX, kY, fit_options(1));
  const Checkpoint<float> ck = t.make_checkpoint(1);
  EXPECT_EQ(ck.epoch, 1);
  EXPECT_EQ(ck.step, 4);  // 24 training samples in batches of 7
  ASSERT_EQ(ck.layer_rngs.size(), 2u);
  EXPECT_EQ(ck.layer_rngs[0].name, "lstm");
  EXPECT_EQ(ck.layer_rngs[1].name, "dropout");
  EXPECT_EQ(ck.scalars.at("learning_rate"), static_cast<double>(0.001f));
  EXPECT_NE(ck.model_config.find("\"LSTM\""), std::string::npos);
  ASSERT_EQ(ck.weights.size(), 5u);
  // Slot by slot (Keras order), each for every trainable variable.
  ASSERT_EQ(ck.optimizer_tensors.size(), 15u);
  EXPECT_EQ(ck.optimizer_tensors[0].name, "velocity/0/lstm/kernel");
  EXPECT_EQ(ck.optimizer_tensors[6].name, "momentum/1/lstm/recurrent_kernel");
  EXPECT_EQ(ck.optimizer_tensors[14].name, "average_gradient/4/dense/bias");
  EXPECT_EQ(ck.optimizer_tensors[14].value.shape(), (Shape{2}));
  // Without momentum, SGD keeps no state.
  auto plain = lstm_model();
  Trainer<float> ts(*plain);
  compile(ts, std::make_shared<SGD<float>>());
  ts.fit(kX, kY, fit_options(1));
  EXPECT_TRUE(ts.make_checkpoint(1).optimizer_tensors.empty());
}

TEST(TrainerCheckpoint, LearningRateAndIterationsAreRestored) {
  auto a = lstm_model();
  Trainer<float> ta(*a);
  compile(ta, std::make_shared<Adam<float>>());
  ta.fit(kX, kY, fit_options(1));
  ta.optimizer().set_learning_rate(0.25);  // as ReduceLROnPlateau would
  const Checkpoint<float> ck = ta.make_checkpoint(1);

  auto b = lstm_model();
  Trainer<float> tb(*b);
  compile(tb, std::make_shared<Adam<float>>());
  tb.restore_checkpoint(ck);
  EXPECT_EQ(tb.optimizer().learning_rate(), 0.25f);
  EXPECT_EQ(tb.optimizer().iterations(), 4);

  auto c = lstm_model();
  Trainer<float> tc(*c);
  compile(tc, std::make_shared<Adam<float>>(
                  AdamOptions{.learning_rate = std::make_shared<ExponentialDecay>(0.1, 10, 0.5)}));
  EXPECT_TRUE(throws_with<FormatError>(
      [&] { tc.restore_checkpoint(ck); },
      "model 'sequential': the checkpoint was made with a constant learning rate, but Adam 'adam' has a schedule"));
}

// Adam on Dense(2) over 3 features: momentum/0..1 then velocity/0..1 for dense/kernel, dense/bias.
struct DenseFixture {
  Sequential<float> model;
  Adam<float> adam;
  DenseFixture() {
    model.add(std::make_shared<InputLayer<float>>(Shape{-1, 3}));
    model.add(std::make_shared<Dense<float>>(DenseOptions{.units = 2}));
  }
  std::vector<NamedTensor<float>> good_state() const {
    std::vector<NamedTensor<float>> s;
    for (const char* slot : {"momentum", "velocity"}) {
      s.push_back({std::string(slot) + "/0/dense/kernel", Tensor<float>({3, 2}, 0.5f)});
      s.push_back({std::string(slot) + "/1/dense/bias", Tensor<float>({2}, 0.25f)});
    }
    return s;
  }
};

TEST(OptimizerState, SetStateBuildsChecksAndChangesNothingOnError) {
  DenseFixture f;
  auto bad_count = f.good_state();
  bad_count.pop_back();
  EXPECT_TRUE(throws_with<FormatError>(
      [&] { f.adam.set_state(f.model.params(), bad_count); },
      "Adam 'adam': the optimizer state has 3 tensors, expected 4 (momentum, velocity for 2 trainable variables)"));
  auto bad_shape = f.good_state();
  bad_shape[1].value = Tensor<float>({3});
  EXPECT_TRUE(
      throws_with<FormatError>([&] { f.adam.set_state(f.model.params(), bad_shape); },
                               "Adam 'adam': optimizer state 'momentum/1/dense/bias' has shape [3], expected [2]"));
  auto bad_name = f.good_state();
  bad_name[2].name = "m/0";
  EXPECT_TRUE(
      throws_with<FormatError>([&] { f.adam.set_state(f.model.params(), bad_name); },
                               "Adam 'adam': optimizer state entry 2 is 'm/0', expected 'velocity/0/dense/kernel'"));
  EXPECT_FALSE(f.adam.built());  // the failed calls did not build it
  EXPECT_TRUE(f.adam.state().empty());

  f.adam.set_state(f.model.params(), f.good_state());
  ASSERT_TRUE(f.adam.built());
  const auto back = f.adam.state();
  ASSERT_EQ(back.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(back[i].name, f.good_state()[i].name);
    EXPECT_EQ(back[i].value.storage(), f.good_state()[i].value.storage());
  }
  EXPECT_EQ(f.adam.momentums()[1].storage(), std::vector<float>(2, 0.25f));

  // Built now: a wrong entry still changes nothing, and other variables are a StateError.
  EXPECT_THROW(f.adam.set_state(f.model.params(), bad_name), FormatError);
  EXPECT_EQ(f.adam.state()[2].value.storage(), back[2].value.storage());
  Sequential<float> other;
  other.add(std::make_shared<InputLayer<float>>(Shape{-1, 4}));
  other.add(std::make_shared<Dense<float>>(DenseOptions{.units = 2}));
  EXPECT_TRUE(throws_with<StateError>(
      [&] { f.adam.set_state(other.params(), f.good_state()); },
      "Adam 'adam': trainable variable 0 ('dense/kernel') has shape [4, 2], but the optimizer was built for [3, 2]"));
}

TEST(TrainerCheckpoint, BadOptimizerStateLeavesTheWeightsAlone) {
  auto a = lstm_model();
  Trainer<float> ta(*a);
  compile(ta, std::make_shared<Adam<float>>());
  ta.fit(kX, kY, fit_options(1));
  Checkpoint<float> ck = ta.make_checkpoint(1);
  ck.optimizer_tensors.back().value = Tensor<float>({7});

  auto b = lstm_model();
  Trainer<float> tb(*b);
  compile(tb, std::make_shared<Adam<float>>());
  const auto before = b->get_weights();
  EXPECT_TRUE(throws_with<FormatError>(
      [&] { tb.restore_checkpoint(ck); },
      "Adam 'adam': optimizer state 'velocity/4/dense/bias' has shape [7], expected [2]"));
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(b->get_weights()[i].storage(), before[i].storage()) << i;
  EXPECT_FALSE(tb.optimizer().built());
}

TEST(TrainerCheckpoint, AnotherModelOrScalarTypeIsRefusedByName) {
  const TempDir dir;
  auto a = lstm_model();
  Trainer<float> ta(*a);
  compile(ta, std::make_shared<Adam<float>>());
  ta.save_checkpoint(dir.file("a.ckpt"), 0);

  auto wider = lstm_model(5);
  Trainer<float> tw(*wider);
  compile(tw, std::make_shared<Adam<float>>());
  const auto before = wider->get_weights();
  EXPECT_TRUE(throws_with<FormatError>([&] { tw.load_checkpoint(dir.file("a.ckpt")); },
                                       "checkpoint '" + dir.file("a.ckpt") +
                                           "': model 'sequential': weight 'lstm/kernel' has shape [3, 20], the "
                                           "checkpoint has [3, 16]"));
  EXPECT_EQ(wider->get_weights()[0].storage(), before[0].storage());
  auto renamed = lstm_model(4, "encoder");
  Trainer<float> tr(*renamed);
  compile(tr, std::make_shared<Adam<float>>());
  EXPECT_TRUE(throws_with<FormatError>(
      [&] { tr.load_checkpoint(dir.file("a.ckpt")); },
      "checkpoint '" + dir.file("a.ckpt") +
          "': model 'sequential': weight 0 is 'encoder/kernel' but the checkpoint has 'lstm/kernel'"));
  // The same weights, one dropout generator fewer: refused after the weights were set, which
  // are then put back.
  auto no_dropout = lstm_model(4, "lstm", false);
  Trainer<float> tn(*no_dropout);
  compile(tn, std::make_shared<Adam<float>>());
  for (auto& p : no_dropout->params()) *p.value = Tensor<float>(p.value->shape(), 9.0f);
  EXPECT_TRUE(throws_with<FormatError>([&] { tn.load_checkpoint(dir.file("a.ckpt")); },
                                       "checkpoint '" + dir.file("a.ckpt") +
                                           "': model 'sequential': the checkpoint holds 2 layer dropout generators, "
                                           "the model has 1"));
  for (const auto& w : no_dropout->get_weights()) EXPECT_EQ(w.storage(), std::vector<float>(w.size(), 9.0f));

  Sequential<double> d;
  d.add(std::make_shared<InputLayer<double>>(Shape{-1, 3}));
  d.add(std::make_shared<Dense<double>>(DenseOptions{.units = 2}));
  Trainer<double> td(d);
  td.compile("mse", "adam");
  EXPECT_TRUE(throws_with<FormatError>(
      [&] { td.load_checkpoint(dir.file("a.ckpt")); },
      "checkpoint '" + dir.file("a.ckpt") + "': the checkpoint holds float32 values, read as float64"));
  EXPECT_TRUE(throws_with<StateError>(
      [] {
        Sequential<float> m;
        Trainer<float>(m).load_checkpoint("x.ckpt");
      },
      "load_checkpoint: the trainer is not compiled; call compile() first"));
}

}  // namespace
}  // namespace rnnx::test
