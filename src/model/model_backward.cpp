// Model backpropagation (model.h, "Training"): the reverse walk over a training run.
#include "layers/call_tape.h"
#include "model/model_internal.h"
#include "rnnx/core/error.h"
#include "rnnx/train/regularization.h"

namespace rnnx {

template <class T>
LayerGrads<T> Model<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, detail::tape_top(runs_, this->where()).output_shapes);
  const Run run = detail::tape_pop(runs_);

  // Gradient of every node output, summed over the nodes that read it; empty = none yet.
  std::vector<std::vector<Tensor<T>>> grads(nodes_.size());
  auto add = [&](const ModelTensor& t, Tensor<T>&& g) {
    std::vector<Tensor<T>>& slot = grads[static_cast<size_t>(t.node)];
    if (slot.empty()) slot.resize(nodes_[static_cast<size_t>(t.node)].output_shapes.size());
    detail::accumulate_grad(slot[static_cast<size_t>(t.index)], std::move(g));
  };
  for (size_t i = 0; i < run.outputs.size(); ++i) add(run.outputs[i], Tensor<T>(grad_outputs[i]));

  const std::vector<int64_t>& order = run.plan->order;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node& node = nodes_[static_cast<size_t>(*it)];
    std::vector<Tensor<T>> g = std::move(grads[static_cast<size_t>(*it)]);
    g.resize(node.output_shapes.size());  // outputs nobody differentiated stay empty (zero)
    if (auto a = run.activity.find(*it); a != run.activity.end())
      add_activity_grads(a->second.regularizer, a->second.outputs, g);
    // Every node of the run is undone, even one that receives no gradient, so that each
    // layer's tape is unwound in step with the walk.
    LayerGrads<T> lg = node.layer->backward(g);
    const std::string who = node.layer->class_name() + " '" + node.layer->name() + "'";
    auto route = [&](const std::vector<ModelTensor>& targets, std::vector<Tensor<T>>& got, const char* what) {
      if (got.size() != targets.size())
        throw StateError(this->where() + ": " + who + " returned " + std::to_string(got.size()) + " " + what +
                         " gradients from backward, expected " + std::to_string(targets.size()));
      for (size_t i = 0; i < targets.size(); ++i) add(targets[i], std::move(got[i]));
    };
    route(node.args, lg.inputs, "input");
    route(node.initial_state, lg.initial_state, "initial_state");
    route(node.constants, lg.constants, "constants");
  }

  LayerGrads<T> out;
  for (size_t i = 0; i < run.inputs.size(); ++i) {
    std::vector<Tensor<T>>& slot = grads[static_cast<size_t>(run.inputs[i].node)];
    if (!slot.empty() && !slot[0].empty())
      out.inputs.push_back(std::move(slot[0]));
    else
      out.inputs.emplace_back(run.input_shapes[i]);
  }
  return out;
}

template <class T>
void Model<T>::clear_tape() {
  runs_.clear();
  for (const auto& l : registry_) l->clear_tape();
}

template LayerGrads<float> Model<float>::backward(const std::vector<Tensor<float>>&);
template LayerGrads<double> Model<double>::backward(const std::vector<Tensor<double>>&);
template void Model<float>::clear_tape();
template void Model<double>::clear_tape();

}  // namespace rnnx
