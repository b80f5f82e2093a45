#pragma once
// The recurrent layer kinds the gradient checks run every layer option on.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rnnx/cells/tf1_cells.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/simple_rnn.h"

namespace rnnx::testing {

// A layer factory per built-in cell kind (LSTM, GRU reset_after / reset_before, SimpleRNN,
// TF1LSTMCell with peepholes and a projection), given the layer options; units 3.
struct Kind {
  std::string name;
  std::function<std::unique_ptr<RNN<double>>(const RNNOptions&)> make;
  std::vector<int64_t> state_sizes;
};

inline std::vector<Kind> recurrent_kinds() {
  std::vector<Kind> out;
  out.push_back({"LSTM",
                 [](const RNNOptions& r) {
                   LSTMOptions o;
                   static_cast<RNNOptions&>(o) = r;
                   o.units = 3;
                   return std::make_unique<LSTM<double>>(o);
                 },
                 {3, 3}});
  for (bool reset_after : {true, false})
    out.push_back({reset_after ? "GRU reset_after" : "GRU reset_before",
                   [reset_after](const RNNOptions& r) {
                     GRUOptions o;
                     static_cast<RNNOptions&>(o) = r;
                     o.units = 3;
                     o.reset_after = reset_after;
                     return std::make_unique<GRU<double>>(o);
                   },
                   {3}});
  out.push_back({"SimpleRNN",
                 [](const RNNOptions& r) {
                   SimpleRNNOptions o;
                   static_cast<RNNOptions&>(o) = r;
                   o.units = 3;
                   return std::make_unique<SimpleRNN<double>>(o);
                 },
                 {3}});
  out.push_back({"TF1LSTMCell",
                 [](const RNNOptions& r) {
                   TF1LSTMCellOptions o;
                   o.num_units = 3;
                   o.use_peepholes = true;
                   o.num_proj = 2;
                   return std::make_unique<RNN<double>>(std::make_unique<TF1LSTMCell<double>>(o), r);
                 },
                 {3, 2}});
  return out;
}

}  // namespace rnnx::testing
