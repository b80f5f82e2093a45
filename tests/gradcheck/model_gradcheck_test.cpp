// Finite-difference checks of Model::backward (model.h "Training"): the model is checked as
// a layer, so every model input and every weight of every layer is perturbed. The graphs
// cover what the reverse walk has to get right: tensors read by several nodes, a layer and
// a nested model shared by several nodes (LIFO tapes), several outputs, masks along the
// graph, and gradients routed through initial_state (encoder-decoder).
#include <gtest/gtest.h>

#include <memory>

#include "frozen_gradcheck.h"
#include "recurrent_cases.h"
#include "rnnx/layers/activation_layer.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/embedding.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/masking.h"
#include "rnnx/layers/merge.h"
#include "rnnx/layers/pooling.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/model.h"
#include "rnnx/model/sequential.h"
#include "support/gradcheck.h"

namespace rnnx::testing {
namespace {

std::shared_ptr<Dense<double>> dense(int64_t units, ActivationKind act = ActivationKind::linear) {
  return std::make_shared<Dense<double>>(DenseOptions{.units = units, .activation = {act}});
}

std::shared_ptr<LSTM<double>> lstm(int64_t units, bool sequences, bool state) {
  LSTMOptions o;
  o.units = units;
  o.return_sequences = sequences;
  o.return_state = state;
  return std::make_shared<LSTM<double>>(o);
}

GradcheckCall inputs(std::vector<Tensor<double>> xs) {
  GradcheckCall call;
  call.inputs = std::move(xs);
  return call;
}

// ---- graphs of non-recurrent layers -----------------------------------------------------------
TEST(ModelGradcheck, SharedLayerUsedTwice) {
  Model<double> m;
  auto a = m.input({-1, 3});
  auto b = m.input({-1, 3});
  auto shared = dense(4, ActivationKind::tanh);
  auto sum = m.call(std::make_shared<Add<double>>(), {m.call(shared, {a})[0], m.call(shared, {b})[0]});
  m.set_outputs({m.call(dense(2), sum)[0]});
  randomize_weights(m, 1);
  EXPECT_TRUE(gradcheck(m, inputs({uniform({2, 3}, 2), uniform({2, 3}, 3)})));
}

TEST(ModelGradcheck, MultipleOutputsAndATensorReadTwice) {
  Model<double> m;
  auto x = m.input({-1, 3, 2});
  auto h = m.call(dense(4, ActivationKind::tanh), {x});  // read by three nodes and an output
  auto probs = m.call(dense(3, ActivationKind::softmax), h);
  auto pooled = m.call(std::make_shared<GlobalMaxPooling1D<double>>(), h);
  auto joined = m.call(std::make_shared<Concatenate<double>>(), {x, h[0]});
  m.set_outputs({probs[0], pooled[0], h[0], joined[0]});
  randomize_weights(m, 4);
  EXPECT_TRUE(gradcheck(m, inputs({uniform({2, 3, 2}, 5)})));
}

TEST(ModelGradcheck, NestedModelSharedTwice) {
  auto inner = std::make_shared<Sequential<double>>(
      std::vector<std::shared_ptr<Layer<double>>>{dense(3, ActivationKind::sigmoid), dense(2)}, "inner");
  inner->build(Shape{-1, 4});
  Model<double> m;
  auto a = m.input({-1, 4});
  auto b = m.input({-1, 4});
  auto joined = m.call(std::make_shared<Concatenate<double>>(), {m.call(inner, {a})[0], m.call(inner, {b})[0]});
  m.set_outputs({m.call(std::make_shared<ActivationLayer<double>>(Activation{ActivationKind::softmax}), joined)[0]});
  randomize_weights(m, 6);
  EXPECT_TRUE(gradcheck(m, inputs({uniform({2, 4}, 7), uniform({2, 4}, 8)})));
}

TEST(ModelGradcheck, EmbeddingMaskReachesAveragePooling) {
  Sequential<double> m(
      {std::make_shared<Embedding<double>>(EmbeddingOptions{.input_dim = 5, .output_dim = 3, .mask_zero = true}),
       std::make_shared<TimeDistributed<double>>(dense(3, ActivationKind::tanh)),
       std::make_shared<GlobalAveragePooling1D<double>>(), dense(2)});
  m.build(Shape{-1, 4});
  randomize_weights(m, 9);
  GradcheckOptions opts;
  opts.integer_inputs = {0};
  EXPECT_TRUE(gradcheck(m, inputs({Tensor<double>({2, 4}, {3, 1, 0, 0, 4, 4, 2, 0})}), opts));
}

TEST(ModelGradcheck, MaskingThenMaskedAveragePooling) {
  Sequential<double> m({std::make_shared<Masking<double>>(), dense(3, ActivationKind::elu),
                        std::make_shared<GlobalAveragePooling1D<double>>(), dense(2)});
  m.build(Shape{-1, 4, 2});
  randomize_weights(m, 10);
  GradcheckCall call = inputs({uniform({2, 4, 2}, 11)});
  Mask mask({2, 4}, {1, 1, 0, 0, 1, 0, 1, 0});
  for (int64_t s = 0; s < 8; ++s)
    if (!mask[s]) call.inputs[0][2 * s] = call.inputs[0][2 * s + 1] = 0.0;
  EXPECT_TRUE(gradcheck_frozen(m, call, frozen_steps(mask, 2)));
}

// ---- recurrent models (need the recurrent layers' backward) ---------------------------------
TEST(ModelGradcheck, StackedBidirectionalMasked) {
  // Masking -> Bidirectional(LSTM, return_sequences) -> LSTM -> Dense; left and right padding
  // and a hole, so masks reach both directions and the second LSTM.
  Model<double> m;
  auto x = m.input({-1, 4, 2});
  auto masked = m.call(std::make_shared<Masking<double>>(), {x});
  LSTMOptions o;
  o.units = 3;
  o.return_sequences = true;
  auto bi = m.call(std::make_shared<Bidirectional<double>>(LSTM<double>(o)), masked);
  auto top = m.call(lstm(2, false, false), bi);
  m.set_outputs({m.call(dense(2), top)[0]});
  randomize_weights(m, 12);
  GradcheckCall call = inputs({uniform({3, 4, 2}, 13)});
  const Mask mask({3, 4}, {1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1});
  for (int64_t s = 0; s < mask.size(); ++s)
    if (!mask[s]) call.inputs[0][2 * s] = call.inputs[0][2 * s + 1] = 0.0;
  EXPECT_TRUE(gradcheck_frozen(m, call, frozen_steps(mask, 2)));
}

TEST(ModelGradcheck, EncoderDecoderTrainsEndToEnd) {
  // The decoder's initial_state gradients must reach the encoder's returned states.
  Model<double> m;
  auto enc_in = m.input({-1, 4, 3}, "enc_in");
  auto dec_in = m.input({-1, 3, 2}, "dec_in");
  auto enc = m.call(lstm(3, false, true), {enc_in});  // out, h, c
  auto dec = m.call(lstm(3, true, false), {dec_in}, {.initial_state = {enc[1], enc[2]}});
  m.set_outputs({m.call(dense(4, ActivationKind::softmax), dec)[0]});
  randomize_weights(m, 14);
  EXPECT_TRUE(gradcheck(m, inputs({uniform({2, 4, 3}, 15), uniform({2, 3, 2}, 16)})));
}

TEST(ModelGradcheck, InitialStateFromModelInputsAndReturnedStates) {
  // States that are model inputs get their gradients; returned states are outputs too.
  Model<double> m;
  auto x = m.input({-1, 3, 2});
  auto h0 = m.input({-1, 3});
  auto c0 = m.input({-1, 3});
  auto y = m.call(lstm(3, true, true), {x}, {.initial_state = {h0, c0}});
  m.set_outputs({m.call(dense(2), {y[0]})[0], y[1], y[2]});
  randomize_weights(m, 17);
  EXPECT_TRUE(gradcheck(m, inputs({uniform({2, 3, 2}, 18), uniform({2, 3}, 19), uniform({2, 3}, 20)})));
}

// ---- activity regularizers (spec §3.9) -------------------------------------------------------
TEST(ModelGradcheck, ActivityRegularizersOnEveryReturnedTensor) {
  // LSTM(return_sequences, return_state) with an activity_regularizer: the penalty covers the
  // sequence and both states, also the c state nobody reads; Dense adds its own on its output.
  // The objective includes Model::activity_loss(); Model::backward must add its gradient.
  Model<double> m;
  auto x = m.input({-1, 3, 2});
  LSTMOptions o;
  o.units = 3;
  o.return_sequences = true;
  o.return_state = true;
  o.activity_regularizer = Regularizer::make_l1_l2(0.3, 0.4);
  auto y = m.call(std::make_shared<LSTM<double>>(o), {x});  // out, h, c
  auto d = m.call(std::make_shared<Dense<double>>(DenseOptions{
                      .units = 2, .activation = {ActivationKind::tanh}, .activity_regularizer = {0.2, 0.5}}),
                  {y[0]});
  m.set_outputs({d[0], y[1]});
  randomize_weights(m, 21);
  const GradcheckCall call = inputs({uniform({2, 3, 2}, 22)});
  m.run(call.inputs, Mode::training);
  m.clear_tape();
  ASSERT_GT(m.activity_loss(), 0.1);  // large enough that a missing gradient shows
  GradcheckOptions opts;
  opts.extra_objective = [](Layer<double>& l) { return dynamic_cast<Model<double>&>(l).activity_loss(); };
  EXPECT_TRUE(gradcheck(m, call, opts));
}

}  // namespace
}  // namespace rnnx::testing
