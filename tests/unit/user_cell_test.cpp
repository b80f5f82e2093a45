// A user-defined cell written against the public Cell interface (cell.h) and run inside the
// RNN layer and inside StackedCells: the example of the user-cell contract.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "recurrent_reference.h"
#include "rnnx/cells/cell.h"
#include "rnnx/cells/lstm_cell.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/initializers.h"
#include "rnnx/kernels/kernels.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/rnn.h"
#include "support/close.h"

namespace rnnx {
namespace {

namespace ref = reference;
using rnnx::testing::all_close;
using ::testing::HasSubstr;

// h' = tanh(x @ kernel + h @ recurrent_kernel + c @ constant_kernel), with one constant c
// per sequence (tf.keras `constants`). No input projection: step() reads x itself.
template <class T>
class MinimalConstantsCell : public Cell<T> {
 public:
  explicit MinimalConstantsCell(int64_t units) : units_(units) {}

  std::string class_name() const override { return "MinimalConstantsCell"; }
  std::vector<int64_t> state_sizes() const override { return {units_}; }
  int64_t output_size() const override { return units_; }
  bool accepts_constants() const override { return true; }

  void build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) override {
    if (constant_sizes.size() != 1)
      throw ConfigError("MinimalConstantsCell: needs exactly one constant, got " +
                        std::to_string(constant_sizes.size()));
    input_size_ = input_size;
    constant_size_ = constant_sizes[0];
    kernel_ = Tensor<T>({input_size, units_});
    recurrent_kernel_ = Tensor<T>({units_, units_});
    constant_kernel_ = Tensor<T>({constant_size_, units_});
    for (Tensor<T>* w : {&kernel_, &recurrent_kernel_, &constant_kernel_})
      initialize(Initializer::from_name("glorot_uniform"), *w, rng);
    built_ = true;
  }
  bool built() const override { return built_; }
  int64_t input_size() const override { return input_size_; }
  std::vector<Param<T>> params() override {
    return {{"kernel", &kernel_}, {"recurrent_kernel", &recurrent_kernel_}, {"constant_kernel", &constant_kernel_}};
  }

  void step(const CellStep<T>& s) const override {
    const int64_t b = s.batch, u = units_;
    kernels::gemm<T>(false, false, b, u, input_size_, T(1), s.x, input_size_, kernel_.data(), u, T(0), s.output, u);
    kernels::gemm<T>(false, false, b, u, u, T(1), s.states[0], u, recurrent_kernel_.data(), u, T(1), s.output, u);
    kernels::gemm<T>(false, false, b, u, constant_size_, T(1), s.constants[0], constant_size_, constant_kernel_.data(),
                     u, T(1), s.output, u);
    kernels::activate_block<T>(Activation{ActivationKind::tanh}, s.output, b, u, u);
    kernels::copy_block<T>(b, u, s.output, u, s.new_states[0], u);
  }

  std::unique_ptr<Cell<T>> clone_config() const override { return std::make_unique<MinimalConstantsCell>(units_); }

 private:
  int64_t units_;
  int64_t input_size_ = 0, constant_size_ = 0;
  bool built_ = false;
  Tensor<T> kernel_, recurrent_kernel_, constant_kernel_;
};

LayerOutputs<double> call(Layer<double>& layer, const Tensor<double>& x, const Tensor<double>* constant,
                          const Mask* mask = nullptr) {
  LayerInputs<double> in;
  in.inputs = {&x};
  if (constant != nullptr) in.constants = {constant};
  in.mask = mask;
  return layer.call(in);
}

RNNOptions sequences_and_state() {
  RNNOptions o;
  o.return_sequences = true;
  o.return_state = true;
  return o;
}

TEST(UserCell, RunsInsideRNNWithConstants) {
  const int64_t batch = 2, steps = 4, d = 3, u = 5, cs = 2;
  const Tensor<double> x = ref::random_tensor<double>({batch, steps, d}, 51);
  const Tensor<double> c = ref::random_tensor<double>({batch, cs}, 52);
  RNN<double> layer(std::make_unique<MinimalConstantsCell<double>>(u), sequences_and_state(), "user");
  const auto out = call(layer, x, &c).outputs;
  const auto w = layer.get_weights();

  // Naive loop.
  Tensor<double> want({batch, steps, u});
  for (int64_t b = 0; b < batch; ++b) {
    ref::Vec h(u, 0.0);
    const ref::Vec cb = ref::slice(c, b * cs, cs);
    for (int64_t t = 0; t < steps; ++t) {
      const ref::Vec a = ref::vecmat(ref::slice(x, (b * steps + t) * d, d), w[0], 0, u);
      const ref::Vec r = ref::vecmat(h, w[1], 0, u), k = ref::vecmat(cb, w[2], 0, u);
      for (int64_t j = 0; j < u; ++j) h[j] = std::tanh(a[j] + r[j] + k[j]);
      for (int64_t j = 0; j < u; ++j) want[(b * steps + t) * u + j] = h[j];
    }
  }
  EXPECT_TRUE(all_close(out[0], want, {1e-12, 1e-12}));
  EXPECT_EQ(out[1].shape(), Shape({batch, u}));
  EXPECT_EQ(layer.compute_output_shapes({{-1, steps, d}})[0], Shape({-1, steps, u}));
}

TEST(UserCell, ConstantsReachOnlyTheCellsThatTakeThemInAStack) {
  const Tensor<double> x = ref::random_tensor<double>({3, 5, 2}, 53);
  const Tensor<double> c = ref::random_tensor<double>({3, 4}, 54);
  const Mask mask = ref::make_mask({{1, 1, 0, 1, 1}, {1, 1, 1, 1, 1}, {0, 0, 1, 1, 1}});
  LSTMCellOptions lc;
  lc.units = 3;
  std::vector<std::unique_ptr<Cell<double>>> cells;
  cells.push_back(std::make_unique<LSTMCell<double>>(lc));
  cells.push_back(std::make_unique<MinimalConstantsCell<double>>(2));
  RNN<double> stacked(std::make_unique<StackedCells<double>>(std::move(cells)), sequences_and_state());
  const auto got = call(stacked, x, &c, &mask).outputs;
  const auto w = stacked.get_weights();

  LSTM<double> first(lc, sequences_and_state());
  RNN<double> second(std::make_unique<MinimalConstantsCell<double>>(2), sequences_and_state());
  first.build({x.shape()});
  second.build({{3, 5, 3}, {3, 4}});
  first.set_weights({w[0], w[1], w[2]});
  second.set_weights({w[3], w[4], w[5]});
  const auto a = call(first, x, nullptr, &mask);
  const auto b = call(second, a.outputs[0], &c, &mask).outputs;
  EXPECT_TRUE(all_close(got[0], b[0], {1e-14, 1e-14}));
  EXPECT_TRUE(all_close(got[3], b[1], {1e-14, 1e-14}));
}

TEST(UserCell, ConstantErrors) {
  const Tensor<double> x({2, 3, 4});
  RNN<double> missing(std::make_unique<MinimalConstantsCell<double>>(2), {}, "user");
  EXPECT_THROW(call(missing, x, nullptr), ConfigError);  // the cell's own check at build

  RNN<double> layer(std::make_unique<MinimalConstantsCell<double>>(2), {}, "user");
  const Tensor<double> c({2, 5}), wrong_size({2, 6}), wrong_batch({3, 5});
  call(layer, x, &c);
  try {
    call(layer, x, &wrong_size);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("RNN 'user': constant 0 has shape [2, 6], expected [2, 5]"));
  }
  try {
    call(layer, x, &wrong_batch);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("RNN 'user': constant 0 has shape [3, 5], expected [2, size]"));
  }
  try {
    call(layer, x, nullptr);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("RNN 'user': built with 1 constants, got 0"));
  }
}

}  // namespace
}  // namespace rnnx
