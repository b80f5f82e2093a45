// Gradient checks of every cell (spec §2.5, §6): each activation, both hard_sigmoid
// formulas, implementation 1 and 2, use_bias, GRU reset_after, the TF1 options, a user cell
// with constants and stacked cells. Inputs are scaled so pre-activations fall on both sides
// of the hard_sigmoid and clip bounds; random values sit at a kink with probability ~0.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gradcheck/recurrent_cases.h"
#include "parity/minimal_cells.h"
#include "rnnx/cells/gru_cell.h"
#include "rnnx/cells/lstm_cell.h"
#include "rnnx/cells/simple_rnn_cell.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/cells/tf1_cells.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/simple_rnn.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

std::vector<Activation> every_activation() {
  std::vector<Activation> out;
  for (auto kind : {ActivationKind::linear, ActivationKind::tanh, ActivationKind::sigmoid, ActivationKind::relu,
                    ActivationKind::elu, ActivationKind::selu, ActivationKind::softplus, ActivationKind::softsign,
                    ActivationKind::swish, ActivationKind::gelu, ActivationKind::exponential})
    out.push_back(Activation{kind});
  out.push_back(Activation{ActivationKind::hard_sigmoid, HardSigmoidFormula::keras3});
  out.push_back(Activation{ActivationKind::hard_sigmoid, HardSigmoidFormula::keras2});
  return out;
}

std::string describe(const Activation& a) {
  if (a.kind != ActivationKind::hard_sigmoid) return a.name();
  return a.hard_sigmoid == HardSigmoidFormula::keras3 ? "hard_sigmoid (x/6 + 0.5)" : "hard_sigmoid (0.2x + 0.5)";
}

RNNOptions all_outputs() {
  RNNOptions o;
  o.return_sequences = true;
  o.return_state = true;
  return o;
}

// Checks one layer on a [2, 4, 3] sequence with inputs in [-scale, scale) and weights in
// [-0.6, 0.6).
::testing::AssertionResult check(RNN<double>& layer, double scale = 2.0, uint64_t seed = 7) {
  GradcheckCall call = sequence_call(2, 4, 3, seed, scale);
  prepare(layer, call, seed + 100);
  return gradcheck(layer, call);
}

// The exponential activation compounds over steps (LSTM: exp of a cell state that holds
// exp values): small inputs and weights keep every value finite.
::testing::AssertionResult check_exponential(RNN<double>& layer) {
  GradcheckCall call = sequence_call(2, 4, 3, 9, 0.3);
  prepare(layer, call, 109);
  randomize_weights(layer, 110, 0.2);
  return gradcheck(layer, call);
}

::testing::AssertionResult check_with(RNN<double>& layer, const Activation& a) {
  return a.kind == ActivationKind::exponential ? check_exponential(layer) : check(layer);
}

TEST(CellGradcheck, LSTMEveryActivation) {
  for (const Activation& a : every_activation()) {
    SCOPED_TRACE("activation " + describe(a));
    LSTMOptions o;
    static_cast<RNNOptions&>(o) = all_outputs();
    o.units = 3;
    o.activation = a;
    LSTM<double> layer(o);
    EXPECT_TRUE(check_with(layer, a));
  }
}

TEST(CellGradcheck, LSTMEveryRecurrentActivation) {
  for (const Activation& a : every_activation()) {
    SCOPED_TRACE("recurrent_activation " + describe(a));
    LSTMOptions o;
    static_cast<RNNOptions&>(o) = all_outputs();
    o.units = 3;
    o.recurrent_activation = a;
    LSTM<double> layer(o);
    EXPECT_TRUE(check_with(layer, a));
  }
}

TEST(CellGradcheck, LSTMImplementationsAndBias) {
  for (int implementation : {1, 2})
    for (bool use_bias : {true, false})
      for (bool unit_forget_bias : {true, false}) {
        SCOPED_TRACE("implementation " + std::to_string(implementation) + ", use_bias " + std::to_string(use_bias) +
                     ", unit_forget_bias " + std::to_string(unit_forget_bias));
        LSTMOptions o;
        static_cast<RNNOptions&>(o) = all_outputs();
        o.units = 4;
        o.implementation = implementation;
        o.use_bias = use_bias;
        o.unit_forget_bias = unit_forget_bias;
        o.seed = 5;
        LSTM<double> layer(o);
        // The initialised weights (unit_forget_bias only changes them), then random ones.
        GradcheckCall call = sequence_call(2, 3, 2, 17);
        EXPECT_TRUE(gradcheck(layer, call));
        randomize_weights(layer, 31);
        EXPECT_TRUE(gradcheck(layer, call));
      }
}

TEST(CellGradcheck, GRUEveryActivationBothResetPositions) {
  for (bool reset_after : {true, false})
    for (const Activation& a : every_activation()) {
      SCOPED_TRACE("reset_after " + std::to_string(reset_after) + ", activation " + describe(a));
      GRUOptions o;
      static_cast<RNNOptions&>(o) = all_outputs();
      o.units = 3;
      o.reset_after = reset_after;
      o.activation = a;
      GRU<double> layer(o);
      EXPECT_TRUE(check_with(layer, a));

      GRUOptions r = o;
      r.activation = Activation{ActivationKind::tanh};
      r.recurrent_activation = a;
      GRU<double> rec(r);
      SCOPED_TRACE("as recurrent_activation");
      EXPECT_TRUE(check_with(rec, a));
    }
}

TEST(CellGradcheck, GRUImplementationsAndBias) {
  for (bool reset_after : {true, false})
    for (int implementation : {1, 2})
      for (bool use_bias : {true, false}) {
        SCOPED_TRACE("reset_after " + std::to_string(reset_after) + ", implementation " +
                     std::to_string(implementation) + ", use_bias " + std::to_string(use_bias));
        GRUOptions o;
        static_cast<RNNOptions&>(o) = all_outputs();
        o.units = 4;
        o.reset_after = reset_after;
        o.implementation = implementation;
        o.use_bias = use_bias;
        GRU<double> layer(o);
        EXPECT_TRUE(check(layer));
      }
}

TEST(CellGradcheck, SimpleRNNEveryActivation) {
  for (const Activation& a : every_activation())
    for (bool use_bias : {true, false}) {
      SCOPED_TRACE("activation " + describe(a) + ", use_bias " + std::to_string(use_bias));
      SimpleRNNOptions o;
      static_cast<RNNOptions&>(o) = all_outputs();
      o.units = 3;
      o.activation = a;
      o.use_bias = use_bias;
      SimpleRNN<double> layer(o);
      EXPECT_TRUE(check_with(layer, a));
    }
}

TEST(CellGradcheck, TF1BasicLSTMCell) {
  for (double forget_bias : {1.0, 0.0})
    for (const Activation& a : {Activation{ActivationKind::tanh}, Activation{ActivationKind::softsign},
                                Activation{ActivationKind::relu}}) {
      SCOPED_TRACE("forget_bias " + std::to_string(forget_bias) + ", activation " + a.name());
      RNN<double> layer(std::make_unique<TF1BasicLSTMCell<double>>(3, forget_bias, a), all_outputs());
      EXPECT_TRUE(check(layer));
    }
}

TEST(CellGradcheck, TF1LSTMCellOptionsAloneAndTogether) {
  struct Case {
    const char* name;
    bool peepholes;
    std::optional<double> cell_clip;
    std::optional<int64_t> num_proj;
    std::optional<double> proj_clip;
  };
  // The clips are small enough that some values are clipped and others not (the check
  // below asserts both happen for the cell clip).
  const std::vector<Case> cases{{"plain", false, {}, {}, {}},
                                {"peepholes", true, {}, {}, {}},
                                {"cell_clip", false, 0.3, {}, {}},
                                {"num_proj", false, {}, 2, {}},
                                {"num_proj + proj_clip", false, {}, 2, 0.15},
                                {"everything", true, 0.3, 2, 0.15},
                                {"peepholes + cell_clip", true, 0.25, {}, {}}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TF1LSTMCellOptions o;
    o.num_units = 3;
    o.use_peepholes = c.peepholes;
    o.cell_clip = c.cell_clip;
    o.num_proj = c.num_proj;
    o.proj_clip = c.proj_clip;
    o.forget_bias = 0.5;
    RNN<double> layer(std::make_unique<TF1LSTMCell<double>>(o), all_outputs());
    EXPECT_TRUE(check(layer, 2.0, 23));
    if (c.cell_clip) {
      // Both sides of the clip are exercised: some |c| reach the clip, some do not.
      GradcheckCall call = sequence_call(2, 4, 3, 23, 2.0);
      LayerInputs<double> in;
      in.inputs = {&call.inputs[0]};
      const auto out = layer.call(in);
      const Tensor<double>& c_state = out.outputs[1];  // TF1 states are (c, h)
      int clipped = 0;
      for (double v : c_state.values()) clipped += std::abs(std::abs(v) - *c.cell_clip) < 1e-12;
      EXPECT_GT(clipped, 0);
      EXPECT_LT(clipped, c_state.size());
    }
  }
}

TEST(CellGradcheck, UserCellWithConstants) {
  for (bool with_constants : {false, true}) {
    SCOPED_TRACE(with_constants ? "MinimalConstantsCell" : "MinimalCell");
    RNN<double> layer(std::make_unique<MinimalCell<double>>(3, with_constants), all_outputs(), "user");
    GradcheckCall call = sequence_call(2, 4, 3, 41);
    if (with_constants) call.constants.push_back(uniform({2, 2}, 42));
    call.initial_state.push_back(uniform({2, 3}, 43));
    prepare(layer, call, 44);
    EXPECT_TRUE(gradcheck(layer, call));
  }
}

std::unique_ptr<Cell<double>> lstm_cell(int64_t units) {
  LSTMCellOptions o;
  o.units = units;
  return std::make_unique<LSTMCell<double>>(o);
}

TEST(CellGradcheck, StackedCells) {
  std::vector<std::unique_ptr<Cell<double>>> cells;
  cells.push_back(lstm_cell(3));
  GRUCellOptions g;
  g.units = 2;
  g.reset_after = false;
  cells.push_back(std::make_unique<GRUCell<double>>(g));
  SimpleRNNCellOptions s;
  s.units = 3;
  cells.push_back(std::make_unique<SimpleRNNCell<double>>(s));
  TF1LSTMCellOptions t;
  t.num_units = 2;
  t.use_peepholes = true;
  t.num_proj = 3;
  cells.push_back(std::make_unique<TF1LSTMCell<double>>(t));
  RNN<double> layer(std::make_unique<StackedCells<double>>(std::move(cells)), all_outputs());
  GradcheckCall call = sequence_call(2, 4, 3, 51, 2.0);
  // States cell by cell: LSTM [h, c], GRU [h], SimpleRNN [h], TF1 (c, m).
  const std::vector<int64_t> state_sizes{3, 3, 2, 3, 2, 3};
  for (size_t i = 0; i < state_sizes.size(); ++i) call.initial_state.push_back(uniform({2, state_sizes[i]}, 60 + i));
  prepare(layer, call, 52);
  EXPECT_TRUE(gradcheck(layer, call));
}

TEST(CellGradcheck, StackedCellsWithConstantsMaskAndDropout) {
  for (bool go_backwards : {false, true}) {
    SCOPED_TRACE("go_backwards " + std::to_string(go_backwards));
    std::vector<std::unique_ptr<Cell<double>>> cells;
    LSTMCellOptions l;
    l.units = 3;
    l.dropout = 0.3;
    l.recurrent_dropout = 0.4;  // implementation 1, a mask per gate
    cells.push_back(std::make_unique<LSTMCell<double>>(l));
    cells.push_back(std::make_unique<MinimalCell<double>>(2, true));
    GRUCellOptions g;
    g.units = 2;
    g.dropout = 0.2;
    g.recurrent_dropout = 0.25;
    g.per_gate_dropout_masks = false;
    cells.push_back(std::make_unique<GRUCell<double>>(g));
    RNNOptions o = all_outputs();
    o.go_backwards = go_backwards;
    RNN<double> layer(std::make_unique<StackedCells<double>>(std::move(cells)), o);
    GradcheckCall call = sequence_call(4, 5, 2, 71);
    call.constants.push_back(uniform({4, 3}, 72));
    call.mask = make_mask(MaskKind::holes);
    prepare(layer, call, 73);
    fix_dropout_masks(layer, 4, 5, 74);
    EXPECT_TRUE(gradcheck(layer, call));
  }
}

}  // namespace
}  // namespace rnnx::testing
