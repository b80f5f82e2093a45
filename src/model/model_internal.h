#pragma once
// Internal types of rnnx::Model (not installed): graph nodes, declared nodes, and the plan
// derived from the outputs.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "rnnx/model/model.h"

namespace rnnx {

namespace detail {
// "'a', 'b'" (or "none"), for error messages.
inline std::string quoted_list(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
  return s.empty() ? "none" : s;
}
}  // namespace detail

template <class T>
struct Model<T>::Node {
  std::shared_ptr<Layer<T>> layer;
  bool is_input = false;   // an InputLayer node: no arguments, fed by run()
  int64_t node_index = 0;  // which call of `layer` this is (Keras node_index)
  std::vector<ModelTensor> args, initial_state, constants;
  std::vector<Shape> output_shapes;
  bool pass_mask = true;

  // Keras Node.input_tensors order: positional, then keyword tensors by sorted keyword
  // ("constants" < "initial_state"), as tree.flatten orders a dict.
  template <class F>
  void for_each_input(F&& f) const {
    for (const auto* ts : {&args, &constants, &initial_state})
      for (const ModelTensor& t : *ts) f(t);
  }
};

template <class T>
struct Model<T>::Pending {
  std::shared_ptr<Layer<T>> layer;
  int64_t node_index = 0;
  std::vector<TensorKey> args;
  ConnectOptions options;
};

template <class T>
struct Model<T>::Plan {
  std::vector<int64_t> order;                     // nodes to run (no inputs), topological
  std::vector<std::shared_ptr<Layer<T>>> layers;  // Keras model.layers order
  std::vector<int64_t> last_use;                  // per node: last position in `order` that reads it
  static constexpr int64_t kKeep = std::numeric_limits<int64_t>::max();  // model outputs
};

// One training run, for backward: the plan it followed (kept alive even if the graph changes
// afterwards), the shapes of its inputs and outputs, and the outputs of the nodes whose layer
// has an activity regularizer (with that regularizer), for the penalty's gradient.
template <class T>
struct Model<T>::Run {
  struct Activity {
    Regularizer regularizer;
    std::vector<Tensor<T>> outputs;
  };
  std::shared_ptr<const Plan> plan;
  std::vector<ModelTensor> inputs, outputs;
  std::vector<Shape> input_shapes, output_shapes;
  std::unordered_map<int64_t, Activity> activity;  // by node
};

}  // namespace rnnx
