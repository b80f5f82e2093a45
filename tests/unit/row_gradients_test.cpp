// Row-lookup gradients (core/indexed_slices.h, train/optimizer.h RowGradients): Embedding
// records one row per lookup, zero_grads() clears them, and the optimizers square rows one by
// one (Keras on TensorFlow) or use the summed gradient (RowGradients::dense). The Keras numbers
// are in the training goldens tests/data/training/embed_*; these tests pin the contract.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/layers/embedding.h"
#include "rnnx/train/adagrad.h"
#include "rnnx/train/adam.h"
#include "rnnx/train/optimizer.h"
#include "rnnx/train/rmsprop.h"

namespace rnnx::testing {
namespace {

// An Embedding(4, 2) after one backward over ids `ids` with output gradients 1, 2, 3, ...
struct Looked {
  std::unique_ptr<Embedding<double>> layer = std::make_unique<Embedding<double>>(
      EmbeddingOptions{.input_dim = 4, .output_dim = 2, .embeddings_initializer = Initializer::from_name("ones")});
  explicit Looked(const std::vector<double>& ids) {
    Tensor<double> x({1, static_cast<int64_t>(ids.size())});
    for (size_t i = 0; i < ids.size(); ++i) x[static_cast<int64_t>(i)] = ids[i];
    (*layer)(x, Mode::training);
    Tensor<double> dy({1, static_cast<int64_t>(ids.size()), 2});
    for (int64_t i = 0; i < dy.size(); ++i) dy[i] = 0.1 * static_cast<double>(i + 1);
    layer->backward({dy});
  }
  Param<double> param() { return layer->params().at(0); }
};

// The embeddings after two updates (the same rows twice: the moments' second step).
std::vector<double> after_two_steps(const std::string& optimizer, const std::vector<double>& ids, RowGradients mode) {
  Looked e(ids);
  const OptimizerOptions o{.row_gradients = mode};
  std::unique_ptr<Optimizer<double>> opt;
  if (optimizer == "adam") opt = std::make_unique<Adam<double>>(AdamOptions{}, o);
  if (optimizer == "rmsprop") opt = std::make_unique<RMSprop<double>>(RMSpropOptions{}, o);
  if (optimizer == "adagrad") opt = std::make_unique<Adagrad<double>>(AdagradOptions{}, o);
  opt->apply({e.param()});
  opt->apply({e.param()});
  const Tensor<double>& w = e.layer->embeddings();
  return {w.values().begin(), w.values().end()};
}

TEST(RowGradients, EmbeddingRecordsOneRowPerLookupAndZeroGradsClearsThem) {
  Looked e({2, 0, 2});
  const Param<double> p = e.param();
  ASSERT_NE(p.sparse_grad, nullptr);
  EXPECT_EQ(p.sparse_grad->row_size, 2);
  EXPECT_EQ(p.sparse_grad->indices, (std::vector<int64_t>{2, 0, 2}));
  ASSERT_EQ(p.sparse_grad->values.size(), 6u);
  // The dense gradient is the sum of the rows at their indices.
  EXPECT_DOUBLE_EQ((*p.grad)[4], p.sparse_grad->values[0] + p.sparse_grad->values[4]);
  e.layer->zero_grads();
  EXPECT_TRUE(p.sparse_grad->indices.empty());
  EXPECT_TRUE(p.sparse_grad->values.empty());
}

TEST(RowGradients, WithoutRepeatedIdsBothFormsAgree) {
  for (const char* name : {"adam", "rmsprop", "adagrad"})
    EXPECT_EQ(after_two_steps(name, {1, 3, 0}, RowGradients::tensorflow),
              after_two_steps(name, {1, 3, 0}, RowGradients::dense))
        << name;
}

TEST(RowGradients, RepeatedIdsSquareRowsOneByOne) {
  for (const char* name : {"adam", "rmsprop", "adagrad"}) {
    const auto tf = after_two_steps(name, {2, 0, 2}, RowGradients::tensorflow);
    const auto dense = after_two_steps(name, {2, 0, 2}, RowGradients::dense);
    EXPECT_NE(tf[4], dense[4]) << name << ": row 2 was looked up twice";
    EXPECT_EQ(tf[0], dense[0]) << name << ": row 0 once";
    EXPECT_EQ(tf[2], dense[2]) << name << ": row 1 not at all";
  }
}

TEST(RowGradients, AdamSecondMomentSumsTheRowSquares) {
  Looked e({2, 2});
  AdamOptions a;
  a.beta_2 = 0.5;
  Adam<double> adam(a);
  adam.apply({e.param()});
  const std::vector<double>& r = e.param().sparse_grad->values;  // rows (0.1, 0.2), (0.3, 0.4)
  EXPECT_DOUBLE_EQ(adam.velocities()[0][4], 0.5 * (r[0] * r[0] + r[2] * r[2]));
  EXPECT_DOUBLE_EQ(adam.momentums()[0][4], (1.0 - 0.9) * (r[0] + r[2]));
}

TEST(RowGradients, RowsThatDoNotFitTheWeightAreAShapeError) {
  Looked e({1});
  Param<double> p = e.param();
  p.sparse_grad->indices[0] = 9;
  Adam<double> adam;
  try {
    adam.apply({p});
    ADD_FAILURE() << "no ShapeError";
  } catch (const ShapeError& err) {
    const std::string msg = err.what();
    EXPECT_NE(msg.find("Adam 'adam'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("names row 9, outside the weight of shape [4, 2]"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace rnnx::testing
