// Gradient checks of the recurrent layer's options (spec §2.5, §3): masks (right, left,
// holes) x go_backwards x return_sequences x zero_output_for_mask, return_state,
// initial_state, dropout with fixed masks (shared, per gate, whole sequence) and stateful
// (truncated BPTT), for every built-in cell.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gradcheck/recurrent_cases.h"
#include "gradcheck/recurrent_kinds.h"
#include "rnnx/cells/tf1_cells.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/simple_rnn.h"
#include "support/close.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

std::string describe(const RNNOptions& o) {
  return std::string("return_sequences ") + (o.return_sequences ? "1" : "0") + ", return_state " +
         (o.return_state ? "1" : "0") + ", go_backwards " + (o.go_backwards ? "1" : "0") + ", zero_output_for_mask " +
         (o.zero_output_for_mask ? "1" : "0");
}

TEST(RNNGradcheck, OutputsAndDirectionWithoutMask) {
  for (const Kind& kind : recurrent_kinds())
    for (bool sequences : {false, true})
      for (bool state : {false, true})
        for (bool backwards : {false, true}) {
          RNNOptions o;
          o.return_sequences = sequences;
          o.return_state = state;
          o.go_backwards = backwards;
          SCOPED_TRACE(kind.name + ": " + describe(o));
          auto layer = kind.make(o);
          GradcheckCall call = sequence_call(2, 4, 3, 101, 1.5);
          prepare(*layer, call, 102);
          EXPECT_TRUE(gradcheck(*layer, call));
        }
}

TEST(RNNGradcheck, MasksDirectionsSequencesAndZeroOutput) {
  for (const Kind& kind : recurrent_kinds())
    for (MaskKind mk : {MaskKind::right, MaskKind::left, MaskKind::holes})
      for (bool backwards : {false, true})
        for (bool sequences : {false, true})
          for (bool zero_output : {false, true}) {
            RNNOptions o;
            o.return_sequences = sequences;
            o.return_state = true;
            o.go_backwards = backwards;
            o.zero_output_for_mask = zero_output;
            SCOPED_TRACE(kind.name + ", mask " + mask_name(mk) + ": " + describe(o));
            auto layer = kind.make(o);
            GradcheckCall call = sequence_call(4, 5, 2, 111, 1.5);
            call.mask = make_mask(mk);
            prepare(*layer, call, 112);
            EXPECT_TRUE(gradcheck(*layer, call));
          }
}

TEST(RNNGradcheck, InitialStateWithAndWithoutMask) {
  for (const Kind& kind : recurrent_kinds())
    for (bool masked : {false, true})
      for (bool backwards : {false, true}) {
        RNNOptions o;
        o.return_sequences = true;
        o.return_state = true;
        o.go_backwards = backwards;
        SCOPED_TRACE(kind.name + (masked ? ", masked: " : ": ") + describe(o));
        auto layer = kind.make(o);
        GradcheckCall call = sequence_call(4, 5, 2, 121, 1.5);
        if (masked) call.mask = make_mask(MaskKind::holes);
        for (size_t i = 0; i < kind.state_sizes.size(); ++i)
          call.initial_state.push_back(uniform({4, kind.state_sizes[i]}, 130 + i));
        prepare(*layer, call, 122);
        EXPECT_TRUE(gradcheck(*layer, call));
      }
}

// Dropout: every mask layout of spec §2.4 / §3.5 with fixed random masks.
TEST(RNNGradcheck, DropoutWithFixedMasks) {
  struct Case {
    std::string name;
    std::function<std::unique_ptr<RNN<double>>(const RNNOptions&)> make;
  };
  std::vector<Case> cases;
  for (int implementation : {1, 2})
    for (bool per_gate : {true, false})
      for (double recurrent : {0.0, 0.4}) {
        const std::string masks = std::string(per_gate ? " per-gate" : " shared") + " recurrent_dropout " +
                                  std::to_string(recurrent);
        cases.push_back({"LSTM implementation " + std::to_string(implementation) + masks,
                         [=](const RNNOptions& r) {
                           LSTMOptions o;
                           static_cast<RNNOptions&>(o) = r;
                           o.units = 3;
                           o.implementation = implementation;
                           o.per_gate_dropout_masks = per_gate;
                           o.dropout = 0.3;
                           o.recurrent_dropout = recurrent;
                           return std::make_unique<LSTM<double>>(o);
                         }});
        for (bool reset_after : {true, false})
          cases.push_back({std::string("GRU reset_after ") + (reset_after ? "1" : "0") + " implementation " +
                               std::to_string(implementation) + masks,
                           [=](const RNNOptions& r) {
                             GRUOptions o;
                             static_cast<RNNOptions&>(o) = r;
                             o.units = 3;
                             o.reset_after = reset_after;
                             o.implementation = implementation;
                             o.per_gate_dropout_masks = per_gate;
                             o.dropout = 0.3;
                             o.recurrent_dropout = recurrent;
                             return std::make_unique<GRU<double>>(o);
                           }});
      }
  cases.push_back({"SimpleRNN", [](const RNNOptions& r) {
                     SimpleRNNOptions o;
                     static_cast<RNNOptions&>(o) = r;
                     o.units = 3;
                     o.dropout = 0.3;
                     o.recurrent_dropout = 0.4;
                     return std::make_unique<SimpleRNN<double>>(o);
                   }});
  cases.push_back({"LSTM whole-sequence input dropout", [](const RNNOptions& r) {
                     LSTMOptions o;
                     static_cast<RNNOptions&>(o) = r;
                     o.units = 3;
                     o.dropout = 0.3;
                     o.whole_sequence_input_dropout = true;
                     return std::make_unique<LSTM<double>>(o);
                   }});
  cases.push_back({"GRU whole-sequence input dropout", [](const RNNOptions& r) {
                     GRUOptions o;
                     static_cast<RNNOptions&>(o) = r;
                     o.units = 3;
                     o.dropout = 0.3;
                     o.whole_sequence_input_dropout = true;
                     return std::make_unique<GRU<double>>(o);
                   }});
  for (const Case& c : cases)
    for (bool masked : {false, true}) {
      SCOPED_TRACE(c.name + (masked ? ", masked" : ""));
      RNNOptions o;
      o.return_sequences = true;
      o.return_state = true;
      o.go_backwards = masked;
      auto layer = c.make(o);
      GradcheckCall call = sequence_call(4, 5, 3, 141, 1.5);
      if (masked) call.mask = make_mask(MaskKind::holes);
      prepare(*layer, call, 142);
      fix_dropout_masks(*layer, 4, 5, 143);
      EXPECT_TRUE(gradcheck(*layer, call));
    }
}

// stateful (spec §3.6): a call starts from the states the previous call stored; its gradient
// stops there (truncated BPTT) and nothing comes back for the stored states.
TEST(RNNGradcheck, StatefulTruncatesAtTheCallBoundary) {
  for (const Kind& kind : recurrent_kinds()) {
    SCOPED_TRACE(kind.name);
    RNNOptions o;
    o.stateful = true;
    o.return_sequences = true;
    o.return_state = true;
    auto layer = kind.make(o);
    GradcheckCall first = sequence_call(2, 4, 3, 151, 1.5), second = sequence_call(2, 4, 3, 152, 1.5);
    prepare(*layer, first, 153);
    LayerInputs<double> in;
    in.inputs = {&first.inputs[0]};
    in.mode = Mode::training;
    layer->call(in);  // stores non-zero states
    layer->clear_tape();
    const std::vector<Tensor<double>> stored = layer->states();

    GradcheckOptions opts;
    opts.before_call = [&](Layer<double>& l) { static_cast<RNN<double>&>(l).reset_states(stored); };
    EXPECT_TRUE(gradcheck(*layer, second, opts));
    const GradcheckResult r = analytic_gradients(*layer, second, opts);
    EXPECT_TRUE(r.grads.initial_state.empty());
    layer->clear_tape();

    // Two training calls, undone last first: the second call's parameter gradients are
    // those of a non-stateful twin started from the stored states (nothing reaches the
    // first call), and the first call's come on top.
    RNNOptions plain = o;
    plain.stateful = false;
    auto twin = kind.make(plain);
    twin->build({second.inputs[0].shape()});
    twin->set_weights(layer->get_weights());
    layer->reset_states();
    layer->zero_grads();
    in.inputs = {&first.inputs[0]};
    layer->call(in);
    const std::vector<Tensor<double>> after_first = layer->states();
    in.inputs = {&second.inputs[0]};
    const auto out = layer->call(in);
    std::vector<Tensor<double>> w;
    for (size_t k = 0; k < out.outputs.size(); ++k) w.push_back(uniform(out.outputs[k].shape(), 160 + k));
    const LayerGrads<double> g2 = layer->backward(w);
    EXPECT_TRUE(g2.initial_state.empty());
    const std::vector<Tensor<double>> grads_second = [&] {
      std::vector<Tensor<double>> g;
      for (auto& p : layer->params()) g.push_back(*p.grad);
      return g;
    }();

    GradcheckCall twin_call = second;
    twin_call.initial_state = after_first;
    LayerInputs<double> tin;
    tin.inputs = {&twin_call.inputs[0]};
    for (const auto& s : twin_call.initial_state) tin.initial_state.push_back(&s);
    tin.mode = Mode::training;
    twin->zero_grads();
    twin->call(tin);
    const LayerGrads<double> gt = twin->backward(w);
    EXPECT_TRUE(all_close(g2.inputs[0], gt.inputs[0], {1e-13, 1e-12}, "input gradient"));
    auto twin_params = twin->params();
    for (size_t k = 0; k < twin_params.size(); ++k)
      EXPECT_TRUE(all_close(grads_second[k], *twin_params[k].grad, {1e-13, 1e-12}, twin_params[k].name));

    // Undo the first call too: its gradients are added.
    EXPECT_EQ(layer->tape_depth(), 1u);
    layer->backward(w);
    EXPECT_EQ(layer->tape_depth(), 0u);
    bool changed = false;
    auto params = layer->params();
    for (size_t k = 0; k < params.size(); ++k)
      for (int64_t i = 0; i < params[k].grad->size(); ++i) changed |= (*params[k].grad)[i] != grads_second[k][i];
    EXPECT_TRUE(changed);
  }
}

}  // namespace
}  // namespace rnnx::testing
