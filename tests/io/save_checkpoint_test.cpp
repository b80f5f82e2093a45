// Native training checkpoints (rnnx/io/checkpoint.h): every field survives a round trip in
// float and double; every truncation and every corrupted byte is a FormatError; the scalar
// type, version and RNG state are checked; restore_weights checks before it changes anything.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "rnnx/core/error.h"
#include "rnnx/io/checkpoint.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/gru.h"
#include "rnnx/model/model.h"

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;

template <class T>
Checkpoint<T> sample() {
  Checkpoint<T> ck;
  ck.epoch = 3;
  ck.step = 120;
  Rng rng(42);
  rng.normal();  // leaves a cached normal draw in the state
  ck.rng = rng.state();
  ck.layer_rngs = {{"lstm", Rng(7).state()}, {"bidirectional/forward_gru", rng.state()}};
  ck.model_config = R"({"class_name": "Functional"})";
  ck.scalars = {{"learning_rate", 1e-3}, {"beta_1", 0.9}};
  ck.weights.push_back({"gru/kernel", Tensor<T>({2, 3}, std::vector<T>{1, 2, 3, 4, 5, 6})});
  ck.weights.push_back({"gru/bias", Tensor<T>({3}, std::vector<T>{-1, 0.5, 0})});
  ck.optimizer_tensors.push_back({"m/0", Tensor<T>({2, 3}, T(0.25))});
  ck.optimizer_tensors.push_back({"scalar", Tensor<T>(Shape{}, std::vector<T>{7})});
  return ck;
}

template <class T>
void expect_equal(const std::vector<NamedTensor<T>>& a, const std::vector<NamedTensor<T>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].value.shape(), b[i].value.shape());
    EXPECT_EQ(a[i].value.storage(), b[i].value.storage()) << a[i].name;
  }
}

template <class T>
void round_trip() {
  const Checkpoint<T> ck = sample<T>();
  const Checkpoint<T> back = parse_checkpoint<T>(serialize_checkpoint(ck));
  EXPECT_EQ(back.epoch, 3);
  EXPECT_EQ(back.step, 120);
  EXPECT_EQ(back.model_config, ck.model_config);
  EXPECT_EQ(back.scalars, ck.scalars);
  expect_equal(back.weights, ck.weights);
  expect_equal(back.optimizer_tensors, ck.optimizer_tensors);
  // The restored generator continues the same stream, cached normal included.
  Rng a(1), b(1);
  a.set_state(ck.rng);
  b.set_state(back.rng);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.normal(), b.normal());
  ASSERT_EQ(back.layer_rngs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.layer_rngs[i].name, ck.layer_rngs[i].name);
    a.set_state(ck.layer_rngs[i].state);
    b.set_state(back.layer_rngs[i].state);
    EXPECT_EQ(a.normal(), b.normal());
  }
}

TEST(Checkpoint, RoundTripFloatAndDouble) {
  round_trip<float>();
  round_trip<double>();
}

TEST(Checkpoint, FileRoundTripAndMissingFile) {
  const std::string path = (fs::temp_directory_path() / ("rnnx_ckpt_" + std::to_string(::getpid()) + ".ckpt")).string();
  write_checkpoint(path, sample<float>());
  EXPECT_EQ(read_checkpoint<float>(path).step, 120);
  fs::remove(path);
  EXPECT_THROW(read_checkpoint<float>(path), IoError);
}

TEST(Checkpoint, EveryTruncationIsAFormatError) {
  const std::vector<uint8_t> bytes = serialize_checkpoint(sample<float>());
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(parse_checkpoint<float>(cut, "cut"), FormatError) << "truncated to " << n << " bytes";
  }
}

TEST(Checkpoint, EveryCorruptedByteIsAFormatError) {
  const std::vector<uint8_t> bytes = serialize_checkpoint(sample<float>());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::vector<uint8_t> bad = bytes;
    bad[i] ^= 0x5a;
    EXPECT_THROW(parse_checkpoint<float>(bad, "bad"), FormatError) << "byte " << i;
  }
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_THROW(parse_checkpoint<float>(longer, "long"), FormatError);
}

TEST(Checkpoint, ScalarTypeVersionAndRngAreChecked) {
  const std::vector<uint8_t> f = serialize_checkpoint(sample<float>());
  try {
    parse_checkpoint<double>(f, "ck");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("float32"), std::string::npos) << e.what();
  }
  Checkpoint<float> zero = sample<float>();
  zero.rng = Rng::State{};
  EXPECT_THROW(parse_checkpoint<float>(serialize_checkpoint(zero)), FormatError);
  zero = sample<float>();
  zero.layer_rngs[1].state = Rng::State{};
  EXPECT_THROW(parse_checkpoint<float>(serialize_checkpoint(zero)), FormatError);
  Checkpoint<float> negative = sample<float>();
  negative.epoch = -1;
  EXPECT_THROW(parse_checkpoint<float>(serialize_checkpoint(negative)), FormatError);
}

TEST(Checkpoint, CaptureAndRestoreWeights) {
  Model<float> m("m");
  m.set_seed(1);
  const auto x = m.input({-1, 4, 3});
  GRUOptions g;
  g.units = 2;
  const auto h = m.call(std::make_shared<GRU<float>>(g), {x});
  DenseOptions d;
  d.units = 1;
  m.set_outputs(m.call(std::make_shared<Dense<float>>(d), h));
  const auto saved = capture_weights(m);
  ASSERT_EQ(saved.size(), 5u);
  EXPECT_EQ(saved[0].name, "gru/kernel");

  Checkpoint<float> ck;
  ck.rng = Rng(3).state();
  ck.weights = saved;
  const auto back = parse_checkpoint<float>(serialize_checkpoint(ck)).weights;
  for (auto& p : m.params()) *p.value = Tensor<float>(p.value->shape(), 9.0f);
  restore_weights(m, back);
  expect_equal(capture_weights(m), saved);

  // Mismatches are refused before any weight changes.
  auto wrong_shape = saved;
  wrong_shape[4].value = Tensor<float>({2});
  for (auto& p : m.params()) *p.value = Tensor<float>(p.value->shape(), 9.0f);
  EXPECT_THROW(restore_weights(m, wrong_shape), FormatError);
  EXPECT_EQ(m.params()[0].value->storage()[0], 9.0f);
  auto wrong_name = saved;
  wrong_name[1].name = "other";
  EXPECT_THROW(restore_weights(m, wrong_name), FormatError);
  EXPECT_THROW(restore_weights(m, std::vector<NamedTensor<float>>(saved.begin(), saved.end() - 1)), FormatError);
}

}  // namespace
}  // namespace rnnx::testing
