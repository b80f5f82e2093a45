// Read-only views of a model's graph for serializers (io/keras_config_write/keras_config_write.cpp): the nodes
// the outputs depend on and the Keras keras_history of a tensor.
#include "model/model_internal.h"
#include "rnnx/core/error.h"

namespace rnnx {

template <class T>
std::vector<ModelNode<T>> Model<T>::graph_nodes() const {
  if (outputs_.empty()) throw StateError(this->where() + ": the model has no outputs (call set_outputs first)");
  std::vector<ModelNode<T>> out;
  for (int64_t id : plan().order) {
    const Node& n = nodes_[static_cast<size_t>(id)];
    if (n.is_input) continue;
    out.push_back({n.layer, n.node_index, n.args, n.initial_state, n.constants, n.pass_mask});
  }
  return out;
}

template <class T>
TensorKey Model<T>::key_of(const ModelTensor& t) const {
  const Node& n = node_of(t, "key_of");
  return {n.layer->name(), n.node_index, t.index};
}

template std::vector<ModelNode<float>> Model<float>::graph_nodes() const;
template std::vector<ModelNode<double>> Model<double>::graph_nodes() const;
template TensorKey Model<float>::key_of(const ModelTensor&) const;
template TensorKey Model<double>::key_of(const ModelTensor&) const;

}  // namespace rnnx
