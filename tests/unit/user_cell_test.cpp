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
#include "support/gradcheck.h"

namespace rnnx {
namespace {

namespace ref = reference;
using rnnx::testing::all_close;
using ::testing::HasSubstr;

// h' = tanh(x @ kernel + h @ recurrent_kernel + c @ constant_kernel), with one constant c
// per sequence (tf.keras `constants`). No input projection: step() reads x itself.
// It can be trained (cell.h, "Training"): step() records h' on the tape; step_backward()
// turns the gradients of h' into da = dh' * (1 - h'^2), the dZ row, and dh_prev = da Rᵀ;
// backward_params() and backward_inputs() are whole-sequence matrix products.
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
    // One gradient per weight, shaped like it (Param::grad is never null after build).
    kernel_grad_ = Tensor<T>(kernel_.shape());
    recurrent_kernel_grad_ = Tensor<T>(recurrent_kernel_.shape());
    constant_kernel_grad_ = Tensor<T>(constant_kernel_.shape());
    built_ = true;
  }
  bool built() const override { return built_; }
  int64_t input_size() const override { return input_size_; }
  std::vector<Param<T>> params() override {
    return {{"kernel", &kernel_, &kernel_grad_},
            {"recurrent_kernel", &recurrent_kernel_, &recurrent_kernel_grad_},
            {"constant_kernel", &constant_kernel_, &constant_kernel_grad_}};
  }

  void step(const CellStep<T>& s) const override {
    const int64_t b = s.batch, u = units_;
    kernels::gemm<T>(false, false, b, u, input_size_, T(1), s.x, input_size_, kernel_.data(), u, T(0), s.output, u);
    kernels::gemm<T>(false, false, b, u, u, T(1), s.states[0], u, recurrent_kernel_.data(), u, T(1), s.output, u);
    kernels::gemm<T>(false, false, b, u, constant_size_, T(1), s.constants[0], constant_size_, constant_kernel_.data(),
                     u, T(1), s.output, u);
    kernels::activate_block<T>(Activation{ActivationKind::tanh}, s.output, b, u, u);
    kernels::copy_block<T>(b, u, s.output, u, s.new_states[0], u);
    if (!s.tape.empty()) kernels::copy_block<T>(b, u, s.output, u, s.tape[0], u);
  }

  std::unique_ptr<Cell<T>> clone_config() const override { return std::make_unique<MinimalConstantsCell>(units_); }

  // ---- Training ----
  bool supports_backward() const override { return true; }
  std::vector<int64_t> tape_widths() const override { return {units_}; }  // h'
  int64_t grad_width() const override { return units_; }                 // da
  int64_t backward_scratch_size(int64_t batch) const override { return 2 * batch * units_; }

  void step_backward(const CellStepGrad<T>& g) const override {
    const int64_t b = g.batch, u = units_;
    T* dh = g.scratch;
    T* one_minus_h2 = g.scratch + b * u;
    const T* h = g.tape[0];
    kernels::add_block<T>(b, u, g.d_output, u, g.d_new_states[0], u, dh, u);
    // tanh'(a) = 1 - h'^2
    kernels::multiply_block<T>(b, u, h, u, h, u, one_minus_h2, u);
    kernels::scale_block<T>(one_minus_h2, b, u, u, T(-1));
    kernels::add_scalar_block<T>(one_minus_h2, b, u, u, T(1));
    kernels::multiply_block<T>(b, u, dh, u, one_minus_h2, u, g.dz, g.ldz);
    kernels::gemm<T>(false, true, b, u, u, T(1), g.dz, g.ldz, recurrent_kernel_.data(), u, T(0), g.d_states[0], u);
  }

  void backward_params(const CellSequenceGrad<T>& g) override {
    const int64_t u = units_;
    kernels::gemm<T>(true, false, input_size_, u, g.rows, T(1), g.x, input_size_, g.dz, g.ldz, T(1),
                     kernel_grad_.data(), u);
    kernels::gemm<T>(true, false, u, u, g.rows, T(1), g.states[0], u, g.dz, g.ldz, T(1),
                     recurrent_kernel_grad_.data(), u);
    // The constant is the same at every step: sum da over the steps of each sample.
    Tensor<T> da_sum({g.batch, u});
    for (int64_t r = 0; r < g.rows; r += g.batch)
      kernels::add_block<T>(g.batch, u, da_sum.data(), u, g.dz + r * g.ldz, g.ldz, da_sum.data(), u);
    kernels::gemm<T>(true, false, constant_size_, u, g.batch, T(1), g.constants[0], constant_size_, da_sum.data(), u,
                     T(1), constant_kernel_grad_.data(), u);
    kernels::gemm<T>(false, true, g.batch, constant_size_, u, T(1), da_sum.data(), u, constant_kernel_.data(), u,
                     T(1), g.d_constants[0], constant_size_);
  }

  void backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t, const DropoutMasks<T>&, T* d_x,
                       T*) const override {
    kernels::gemm<T>(false, true, rows, input_size_, units_, T(1), dz, ldz, kernel_.data(), units_, T(0), d_x,
                     input_size_);
  }

 private:
  int64_t units_;
  int64_t input_size_ = 0, constant_size_ = 0;
  bool built_ = false;
  Tensor<T> kernel_, recurrent_kernel_, constant_kernel_;
  Tensor<T> kernel_grad_, recurrent_kernel_grad_, constant_kernel_grad_;
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

// The user cell's backward, alone and inside a stack with a built-in cell, matches finite
// differences on the input, the initial state, the constant and every weight.
TEST(UserCell, BackwardMatchesFiniteDifferences) {
  RNN<double> layer(std::make_unique<MinimalConstantsCell<double>>(3), sequences_and_state(), "user");
  rnnx::testing::GradcheckCall c;
  c.inputs.push_back(ref::random_tensor<double>({2, 4, 3}, 55));
  c.constants.push_back(ref::random_tensor<double>({2, 2}, 56));
  c.initial_state.push_back(ref::random_tensor<double>({2, 3}, 57));
  c.mask = ref::make_mask({{1, 1, 0, 1}, {0, 1, 1, 1}});
  EXPECT_TRUE(rnnx::testing::gradcheck(layer, c));

  LSTMCellOptions lc;
  lc.units = 2;
  std::vector<std::unique_ptr<Cell<double>>> cells;
  cells.push_back(std::make_unique<MinimalConstantsCell<double>>(3));
  cells.push_back(std::make_unique<LSTMCell<double>>(lc));
  RNN<double> stacked(std::make_unique<StackedCells<double>>(std::move(cells)), sequences_and_state(), "stack");
  c.initial_state.push_back(ref::random_tensor<double>({2, 2}, 58));
  c.initial_state.push_back(ref::random_tensor<double>({2, 2}, 59));
  EXPECT_TRUE(rnnx::testing::gradcheck(stacked, c));
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
