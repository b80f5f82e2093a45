// Trace (model/trace.h): the traced states are the layer's own outputs, the traced gates
// equal a direct recomputation from the weights and satisfy the cell equations, for LSTM,
// GRU (both reset_after forms) and SimpleRNN, with masks, go_backwards, dropout,
// Bidirectional and nested models; and nothing is recorded without a scope.
#include "rnnx/model/trace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>

#include "layer_test_helpers.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/simple_rnn.h"
#include "rnnx/model/model.h"
#include "rnnx/model/sequential.h"
#include "support/close.h"

namespace rnnx {
namespace {

using rnnx::test::call_with_mask;
using rnnx::test::random_tensor;
using rnnx::testing::all_close;
using rnnx::testing::Tolerance;
using ::testing::HasSubstr;

constexpr int64_t kBatch = 3, kSteps = 5, kFeatures = 4, kUnits = 3;

enum class Kind { lstm, gru_after, gru_before, simple };

template <class T>
std::unique_ptr<RNN<T>> make_layer(Kind kind, bool go_backwards, double dropout = 0.0, int implementation = 2) {
  RNNOptions r;
  r.return_sequences = true;
  r.go_backwards = go_backwards;
  std::unique_ptr<RNN<T>> layer;
  if (kind == Kind::lstm) {
    LSTMCellOptions c;
    c.units = kUnits;
    c.dropout = c.recurrent_dropout = dropout;
    c.implementation = implementation;
    layer = std::make_unique<LSTM<T>>(c, r, "lstm");
  } else if (kind == Kind::simple) {
    SimpleRNNCellOptions c;
    c.units = kUnits;
    c.dropout = c.recurrent_dropout = dropout;
    layer = std::make_unique<SimpleRNN<T>>(SimpleRNNOptions{c, r}, "simple_rnn");
  } else {
    GRUCellOptions c;
    c.units = kUnits;
    c.reset_after = kind == Kind::gru_after;
    c.dropout = c.recurrent_dropout = dropout;
    c.implementation = implementation;
    layer = std::make_unique<GRU<T>>(c, r, "gru");
  }
  layer->set_seed(7);
  layer->build({{-1, kSteps, kFeatures}});
  // Non-zero biases, so that a bias in the wrong place shows.
  for (Param<T>& p : layer->params())
    if (p.name == "bias") *p.value = random_tensor<T>(p.value->shape(), 11, -0.5, 0.5);
  return layer;
}

const char* hidden_name(Kind kind) { return kind == Kind::lstm ? "hidden_state" : "state"; }

// Sample 1 has its first and fourth steps masked; sample 2 only its last.
Mask holey_mask() {
  Mask m(Shape{kBatch, kSteps}, 1);
  m[1 * kSteps + 0] = m[1 * kSteps + 3] = 0;
  m[2 * kSteps + kSteps - 1] = 0;
  return m;
}

template <class T>
T value(const Tensor<T>& t, int64_t b, int64_t s, int64_t u) {
  return t[(b * t.dim(1) + s) * t.dim(2) + u];
}

// The state a step read: the traced state after the step processed before it (zero first).
template <class T>
double prev(const Tensor<T>& state, int64_t b, int64_t t, int64_t u, bool backwards) {
  const int64_t p = backwards ? t + 1 : t - 1;
  return p < 0 || p >= state.dim(1) ? 0.0 : static_cast<double>(value(state, b, p, u));
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Σ_k in[k] · w[k, col] in double.
template <class T>
double dot_column(const std::function<double(int64_t)>& in, int64_t n, const Tensor<T>& w, int64_t col) {
  double s = 0.0;
  for (int64_t k = 0; k < n; ++k) s += in(k) * static_cast<double>(w[k * w.dim(1) + col]);
  return s;
}

// The gates recomputed here from the weights, the input and the traced previous states.
template <class T>
void expect_gates_recomputed(RNN<T>& layer, Kind kind, const TraceRecord<T>& r, Tolerance tol) {
  const Tensor<T>& K = *layer.params()[0].value;
  const Tensor<T>& R = *layer.params()[1].value;
  const Tensor<T>& bias = *layer.params()[2].value;
  const bool back = r.go_backwards;
  const int64_t U = kUnits, B = r.batch(), S = r.steps();
  auto shape = Shape{B, S, U};
  std::vector<std::pair<std::string, Tensor<double>>> want;
  auto slot = [&](const std::string& name) -> Tensor<double>& {
    for (auto& [n, t] : want)
      if (n == name) return t;
    want.emplace_back(name, Tensor<double>(shape));
    return want.back().second;
  };
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < S; ++t) {
      auto x = [&](int64_t k) { return static_cast<double>(value(r.input, b, t, k)); };
      const int64_t at = (b * S + t) * U;
      if (kind == Kind::lstm) {
        const Tensor<T>& h = r.get("hidden_state");
        auto hp = [&](int64_t k) { return prev(h, b, t, k, back); };
        const char* names[] = {"input_gate", "forget_gate", "cell_candidate", "output_gate"};
        for (int g = 0; g < 4; ++g)
          for (int64_t u = 0; u < U; ++u) {
            const int64_t col = g * U + u;
            const double z = dot_column<T>(x, kFeatures, K, col) + dot_column<T>(hp, U, R, col) + bias[col];
            slot(names[g])[at + u] = g == 2 ? std::tanh(z) : sigmoid(z);
          }
      } else if (kind == Kind::simple) {
        continue;  // nothing but the state
      } else {
        const Tensor<T>& h = r.get("state");
        auto hp = [&](int64_t k) { return prev(h, b, t, k, back); };
        const bool after = kind == Kind::gru_after;
        const int64_t w = 3 * U;
        auto b_in = [&](int64_t col) { return static_cast<double>(bias[col]); };
        auto b_rec = [&](int64_t col) { return after ? static_cast<double>(bias[w + col]) : 0.0; };
        for (int64_t u = 0; u < U; ++u) {
          const double z = sigmoid(dot_column<T>(x, kFeatures, K, u) + b_in(u) + dot_column<T>(hp, U, R, u) + b_rec(u));
          const double rr = sigmoid(dot_column<T>(x, kFeatures, K, U + u) + b_in(U + u) +
                                    dot_column<T>(hp, U, R, U + u) + b_rec(U + u));
          slot("update_gate")[at + u] = z;
          slot("reset_gate")[at + u] = rr;
        }
        for (int64_t u = 0; u < U; ++u) {
          const int64_t col = 2 * U + u;
          const double xh = dot_column<T>(x, kFeatures, K, col) + b_in(col);
          double rec = 0.0;
          if (after) {
            rec = slot("reset_gate")[at + u] * (dot_column<T>(hp, U, R, col) + b_rec(col));
          } else {
            auto rh = [&](int64_t k) { return slot("reset_gate")[at + k] * hp(k); };
            rec = dot_column<T>(rh, U, R, col);
          }
          slot("candidate")[at + u] = std::tanh(xh + rec);
        }
      }
    }
  for (const auto& [name, t] : want) EXPECT_TRUE(all_close(r.get(name), t, tol, name)) << layer.name();
}

// The cell equations hold between the traced gates and states at every real step.
template <class T>
void expect_cell_equations(Kind kind, const TraceRecord<T>& r, double tol) {
  const bool back = r.go_backwards;
  for (int64_t b = 0; b < r.batch(); ++b)
    for (int64_t t = 0; t < r.steps(); ++t) {
      if (!r.mask.empty() && r.mask[b * r.steps() + t] == 0) continue;
      for (int64_t u = 0; u < kUnits; ++u) {
        if (kind == Kind::lstm) {
          const double c = value(r.get("forget_gate"), b, t, u) * prev(r.get("cell_state"), b, t, u, back) +
                           value(r.get("input_gate"), b, t, u) * value(r.get("cell_candidate"), b, t, u);
          EXPECT_NEAR(value(r.get("cell_state"), b, t, u), c, tol);
          EXPECT_NEAR(value(r.get("hidden_state"), b, t, u), value(r.get("output_gate"), b, t, u) * std::tanh(c), tol);
        } else if (kind != Kind::simple) {
          const double z = value(r.get("update_gate"), b, t, u);
          const double h = z * prev(r.get("state"), b, t, u, back) + (1 - z) * value(r.get("candidate"), b, t, u);
          EXPECT_NEAR(value(r.get("state"), b, t, u), h, tol);
        }
      }
    }
}

// The traced hidden state at input step t is the output the layer returned for it.
template <class T>
void expect_hidden_is_output(Kind kind, const TraceRecord<T>& r, const Tensor<T>& y) {
  const Tensor<T>& h = r.get(hidden_name(kind));
  ASSERT_EQ(h.shape(), (Shape{r.batch(), r.steps(), kUnits}));
  for (int64_t b = 0; b < r.batch(); ++b)
    for (int64_t t = 0; t < r.steps(); ++t)
      for (int64_t u = 0; u < kUnits; ++u) {
        const int64_t s = r.go_backwards ? r.steps() - 1 - t : t;  // the output is in processing order
        ASSERT_EQ(value(h, b, t, u), value(y, b, s, u)) << "b " << b << " t " << t << " u " << u;
      }
}

template <class T>
class TraceTest : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(TraceTest, Scalars);

TYPED_TEST(TraceTest, StatesAreOutputsAndGatesAreRecomputedFromWeights) {
  using T = TypeParam;
  const Tolerance tol = std::is_same_v<T, float> ? Tolerance{2e-6, 2e-5} : Tolerance{1e-13, 1e-12};
  const Tensor<T> x = random_tensor<T>({kBatch, kSteps, kFeatures}, 3);
  const Mask mask = holey_mask();
  for (Kind kind : {Kind::lstm, Kind::gru_after, Kind::gru_before, Kind::simple})
    for (bool back : {false, true})
      for (const Mask* m : {static_cast<const Mask*>(nullptr), &mask}) {
        SCOPED_TRACE(::testing::Message()
                     << "kind " << static_cast<int>(kind) << " go_backwards " << back << " mask " << (m != nullptr));
        auto layer = make_layer<T>(kind, back);
        Trace<T> trace;
        LayerOutputs<T> y;
        {
          TraceScope<T> scope(trace);
          y = call_with_mask(*layer, x, m);
        }
        ASSERT_EQ(trace.records().size(), 1u);
        const TraceRecord<T>& r = trace.record(layer->name());
        EXPECT_EQ(r.layer, layer.get());
        EXPECT_EQ(r.mask.empty(), m == nullptr);
        EXPECT_TRUE(all_close(r.input, x, {0.0, 0.0}, "input"));
        expect_hidden_is_output(kind, r, y.outputs[0]);
        expect_gates_recomputed(*layer, kind, r, tol);
        expect_cell_equations(kind, r, std::is_same_v<T, float> ? 1e-5 : 1e-12);
      }
}

TYPED_TEST(TraceTest, TrainingCallsWithDropoutUseTheCallsMasks) {
  using T = TypeParam;
  const Tensor<T> x = random_tensor<T>({kBatch, kSteps, kFeatures}, 4);
  for (Kind kind : {Kind::lstm, Kind::gru_after, Kind::gru_before, Kind::simple})
    for (int implementation : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << "kind " << static_cast<int>(kind) << " implementation " << implementation);
      auto layer = make_layer<T>(kind, false, 0.3, implementation);
      Trace<T> trace;
      TraceScope<T> scope(trace);
      const LayerOutputs<T> y = call_with_mask(*layer, x, nullptr, Mode::training);
      layer->clear_tape();
      const TraceRecord<T>& r = trace.record(layer->name());
      EXPECT_EQ(r.mode, Mode::training);
      expect_hidden_is_output(kind, r, y.outputs[0]);
      expect_cell_equations(kind, r, std::is_same_v<T, float> ? 1e-5 : 1e-12);
    }
}

TEST(Trace, RecordsNothingWithoutAScopeAndChangesNoOutput) {
  for (Kind kind : {Kind::lstm, Kind::gru_after, Kind::simple}) {
    auto layer = make_layer<float>(kind, false);
    const Tensor<float> x = random_tensor<float>({kBatch, kSteps, kFeatures}, 5);
    Trace<float> trace;
    const Tensor<float> plain = (*layer)(x);
    Tensor<float> traced;
    {
      TraceScope<float> scope(trace);
      traced = (*layer)(x);
    }
    EXPECT_TRUE(all_close(traced, plain, {0.0, 0.0}));
    ASSERT_EQ(trace.records().size(), 1u);
    (*layer)(x);  // the scope has ended
    EXPECT_EQ(trace.records().size(), 1u);
    EXPECT_EQ(detail::active_trace<float>(), nullptr);
  }
}

TEST(Trace, ScopesNestAndCallsAreNumbered) {
  auto layer = make_layer<float>(Kind::gru_after, false);
  const Tensor<float> x = random_tensor<float>({kBatch, kSteps, kFeatures}, 6);
  Trace<float> outer, inner;
  {
    TraceScope<float> a(outer);
    (*layer)(x);
    {
      TraceScope<float> b(inner);
      (*layer)(x);
    }
    (*layer)(x);
  }
  EXPECT_EQ(inner.records().size(), 1u);
  ASSERT_EQ(outer.records().size(), 2u);
  EXPECT_EQ(outer.record("gru", 1).call_index, 1);
  EXPECT_EQ(&outer.record(*layer, 1), &outer.records()[1]);
  EXPECT_THAT([&] { outer.record("gru", 2); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("recorded layers: gru")));
  EXPECT_THAT([&] { outer.get("gru", "forget_gate"); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("it has: update_gate, reset_gate, candidate, state")));
}

TEST(Trace, BidirectionalRecordsBothDirectionsInInputTimeOrder) {
  LSTMOptions o;
  o.units = kUnits;
  o.return_sequences = true;
  Bidirectional<float> bi(LSTM<float>(o, "enc"));
  const Tensor<float> x = random_tensor<float>({kBatch, kSteps, kFeatures}, 8);
  const Mask mask = holey_mask();
  Trace<float> trace;
  TraceScope<float> scope(trace);
  const LayerOutputs<float> y = call_with_mask(bi, x, &mask);
  ASSERT_EQ(trace.records().size(), 2u);
  const TraceRecord<float>& f = trace.record("forward_enc");
  const TraceRecord<float>& b = trace.record("backward_enc");
  EXPECT_FALSE(f.go_backwards);
  EXPECT_TRUE(b.go_backwards);
  // concat: position t is [forward h after t, backward h after reading t] (zeros where masked).
  for (int64_t s = 0; s < kBatch; ++s)
    for (int64_t t = 0; t < kSteps; ++t)
      for (int64_t u = 0; u < kUnits; ++u) {
        const bool real = mask[s * kSteps + t] != 0;
        const float* row = y.outputs[0].data() + (s * kSteps + t) * 2 * kUnits;
        EXPECT_EQ(row[u], real ? value(f.get("hidden_state"), s, t, u) : 0.0f);
        EXPECT_EQ(row[kUnits + u], real ? value(b.get("hidden_state"), s, t, u) : 0.0f);
      }
  expect_cell_equations(Kind::lstm, b, 1e-5);
}

TEST(Trace, LayersOfNestedModelsAndTimeMajorLayersAreRecorded) {
  auto inner = std::make_shared<Sequential<float>>("inner");
  inner->add(std::make_shared<InputLayer<float>>(Shape{-1, kSteps, kFeatures}));
  auto gru = std::shared_ptr<RNN<float>>(make_layer<float>(Kind::gru_before, false));
  inner->add(gru);
  Model<float> outer("outer");
  auto in = outer.input({-1, kSteps, kFeatures});
  auto y = outer.call(inner, {in});
  outer.set_outputs({y[0]});
  const Tensor<float> x = random_tensor<float>({kBatch, kSteps, kFeatures}, 9);
  Trace<float> trace;
  std::vector<Tensor<float>> out;
  {
    TraceScope<float> scope(trace);
    out = outer.predict({x});
  }
  expect_hidden_is_output(Kind::gru_before, trace.record(*gru), out[0]);

  // A time-major layer's record is batch-major like any other.
  RNNOptions r;
  r.return_sequences = true;
  r.time_major = true;
  SimpleRNNCellOptions c;
  c.units = kUnits;
  SimpleRNN<float> tm(SimpleRNNOptions{c, r});
  Tensor<float> xt(Shape{kSteps, kBatch, kFeatures});
  for (int64_t t = 0; t < kSteps; ++t)
    for (int64_t b = 0; b < kBatch; ++b)
      for (int64_t k = 0; k < kFeatures; ++k) xt[(t * kBatch + b) * kFeatures + k] = value(x, b, t, k);
  Trace<float> trace2;
  TraceScope<float> scope(trace2);
  const Tensor<float> yt = tm(xt);
  const TraceRecord<float>& rec = trace2.record(tm.name());
  EXPECT_TRUE(all_close(rec.input, x, {0.0, 0.0}));
  for (int64_t b = 0; b < kBatch; ++b)
    for (int64_t t = 0; t < kSteps; ++t)
      for (int64_t u = 0; u < kUnits; ++u)
        EXPECT_EQ(value(rec.get("state"), b, t, u), yt[(t * kBatch + b) * kUnits + u]);
}

}  // namespace
}  // namespace rnnx
