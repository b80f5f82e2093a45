// Model planning (Keras map_graph: layer order, execution order) and execution.
#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "model/model_internal.h"
#include "rnnx/core/error.h"
#include "rnnx/train/regularization.h"

namespace rnnx {

// Follows K3 keras/src/ops/function.py (_build_map, map_graph): a depth-first walk from the
// outputs lists the nodes in post-order (a valid execution order) and numbers the layers in
// order of first visit; depths then count back from the outputs, and layers are sorted by
// decreasing depth, ties by that number. Inputs not connected to any output come at depth 0
// with number -1.
template <class T>
const typename Model<T>::Plan& Model<T>::plan() const {
  if (plan_) return *plan_;
  if (!pending_.empty())
    throw StateError(this->where() + ": " + std::to_string(pending_.size()) +
                     " declared node(s) are not connected yet (resolve them with tensor(), set_inputs or set_outputs)");
  auto p = std::make_shared<Plan>();
  const std::vector<ModelTensor> ins = inputs();
  if (outputs_.empty()) {  // not a Keras model yet: layers in order of first use
    p->layers = registry_;
    plan_ = p;
    return *plan_;
  }
  std::unordered_set<int64_t> input_set;
  for (const auto& t : ins) input_set.insert(t.node);

  std::vector<int64_t> post;
  std::vector<char> finished(nodes_.size(), 0);
  std::unordered_map<const Layer<T>*, int64_t> layer_index;
  std::function<void(const ModelTensor&)> visit = [&](const ModelTensor& t) {
    const size_t n = static_cast<size_t>(t.node);
    if (finished[n]) return;
    const Node& node = nodes_[n];
    layer_index.emplace(node.layer.get(), static_cast<int64_t>(layer_index.size()));
    if (!node.is_input && !input_set.count(t.node)) node.for_each_input(visit);
    finished[n] = 1;
    post.push_back(t.node);
  };
  for (const auto& t : outputs_) visit(t);

  std::unordered_map<int64_t, int64_t> node_depth;
  std::unordered_map<const Layer<T>*, int64_t> layer_depth;
  for (auto it = post.rbegin(); it != post.rend(); ++it) {
    const Node& node = nodes_[static_cast<size_t>(*it)];
    int64_t depth = node_depth.emplace(*it, 0).first->second;
    depth = std::max(depth, layer_depth.emplace(node.layer.get(), 0).first->second);
    layer_depth[node.layer.get()] = depth;
    node_depth[*it] = depth;
    node.for_each_input([&](const ModelTensor& parent) {
      int64_t& d = node_depth.emplace(parent.node, 0).first->second;
      d = std::max(d, depth + 1);
    });
  }
  for (const auto& t : ins) {
    const Layer<T>* l = nodes_[static_cast<size_t>(t.node)].layer.get();
    if (!layer_depth.count(l)) {
      layer_depth[l] = 0;
      layer_index[l] = -1;
    }
  }
  for (const auto& l : registry_)
    if (layer_depth.count(l.get())) p->layers.push_back(l);
  std::stable_sort(p->layers.begin(), p->layers.end(), [&](const auto& a, const auto& b) {
    const int64_t da = layer_depth[a.get()], db = layer_depth[b.get()];
    return da != db ? da > db : layer_index[a.get()] < layer_index[b.get()];
  });

  // Graph disconnected: an output needs an InputLayer that is not a model input.
  for (int64_t n : post) {
    const Node& node = nodes_[static_cast<size_t>(n)];
    if (node.is_input && !input_set.count(n))
      throw ConfigError(this->where() + ": graph disconnected: the outputs depend on input '" + node.layer->name() +
                        "', which is not one of the model inputs (" + detail::quoted_list(input_names()) + ")");
    if (!node.is_input) p->order.push_back(n);
  }
  p->last_use.assign(nodes_.size(), -1);
  for (size_t pos = 0; pos < p->order.size(); ++pos)
    nodes_[static_cast<size_t>(p->order[pos])].for_each_input(
        [&](const ModelTensor& t) { p->last_use[static_cast<size_t>(t.node)] = static_cast<int64_t>(pos); });
  for (const auto& t : outputs_) p->last_use[static_cast<size_t>(t.node)] = Plan::kKeep;
  plan_ = p;
  return *plan_;
}

template <class T>
std::vector<std::shared_ptr<Layer<T>>> Model<T>::layers() const {
  return plan().layers;
}

template <class T>
std::vector<Param<T>> Model<T>::params() {
  std::vector<Param<T>> ps;
  std::unordered_set<const Tensor<T>*> seen;
  for (const auto& l : layers())
    for (Param<T> p : l->params())
      if (seen.insert(p.value).second) {
        p.name = l->name() + "/" + p.name;
        ps.push_back(std::move(p));
      }
  return ps;
}

template <class T>
void Model<T>::reset_states() {
  for (const auto& l : layers()) l->reset_states();
}

// ---- running ---------------------------------------------------------------------------------
template <class T>
void Model<T>::check_input_shapes(const std::vector<Shape>& shapes) const {
  const std::vector<ModelTensor> ins = inputs();
  if (shapes.size() != ins.size()) {
    std::string names;
    for (const auto& n : input_names()) names += (names.empty() ? "" : ", ") + n;
    throw ShapeError(this->where() + ": expected " + std::to_string(ins.size()) + " input" +
                     (ins.size() == 1 ? "" : "s") + " (" + names + "), got " + std::to_string(shapes.size()));
  }
  for (size_t i = 0; i < ins.size(); ++i) {
    const auto& in = static_cast<const InputLayer<T>&>(*nodes_[static_cast<size_t>(ins[i].node)].layer);
    if (!in.accepts(shapes[i]))
      throw ShapeError(this->where() + ": input '" + in.name() + "' expects shape " + to_string(in.batch_shape()) +
                       ", got " + to_string(shapes[i]));
  }
}

template <class T>
ModelOutputs<T> Model<T>::run_graph(const std::vector<const Tensor<T>*>& inputs, const std::vector<const Mask*>& masks,
                                    Mode mode) {
  prepare_run(inputs);
  const Plan& p = plan();
  if (outputs_.empty()) throw StateError(this->where() + ": the model has no outputs (call set_outputs first)");
  std::vector<Shape> shapes;
  for (const Tensor<T>* x : inputs) shapes.push_back(x->shape());
  check_input_shapes(shapes);
  if (!masks.empty() && masks.size() != inputs.size())
    throw ShapeError(this->where() + ": got " + std::to_string(masks.size()) + " input masks for " +
                     std::to_string(inputs.size()) + " inputs");

  // Values live in `owned` (node outputs) or are borrowed (model inputs); only output 0 of a
  // node carries a mask.
  std::vector<std::vector<Tensor<T>>> owned(nodes_.size());
  std::vector<std::vector<const Tensor<T>*>> value(nodes_.size());
  std::vector<Mask> mask(nodes_.size());
  const std::vector<ModelTensor> ins = this->inputs();
  for (size_t i = 0; i < ins.size(); ++i) {
    value[static_cast<size_t>(ins[i].node)] = {inputs[i]};
    if (!masks.empty() && masks[i]) mask[static_cast<size_t>(ins[i].node)] = *masks[i];
  }
  auto tensor_of = [&](const ModelTensor& t) {
    return value[static_cast<size_t>(t.node)][static_cast<size_t>(t.index)];
  };
  auto mask_of = [&](const ModelTensor& t) -> const Mask* {
    const Mask& m = mask[static_cast<size_t>(t.node)];
    return t.index == 0 && !m.empty() ? &m : nullptr;
  };
  T activity = T(0);
  std::unordered_map<int64_t, typename Run::Activity> kept;  // training runs only

  for (size_t pos = 0; pos < p.order.size(); ++pos) {
    const size_t n = static_cast<size_t>(p.order[pos]);
    const Node& node = nodes_[n];
    LayerInputs<T> in;
    for (const auto& t : node.args) in.inputs.push_back(tensor_of(t));
    for (const auto& t : node.initial_state) in.initial_state.push_back(tensor_of(t));
    for (const auto& t : node.constants) in.constants.push_back(tensor_of(t));
    if (node.pass_mask) {
      for (const auto& t : node.args) in.input_masks.push_back(mask_of(t));
      in.mask = in.input_masks[0];
    }
    in.mode = mode;
    LayerOutputs<T> out = node.layer->call(in);
    if (out.outputs.size() != node.output_shapes.size())
      throw StateError(this->where() + ": " + node.layer->class_name() + " '" + node.layer->name() + "' returned " +
                       std::to_string(out.outputs.size()) + " tensors, but its compute_output_shapes gives " +
                       std::to_string(node.output_shapes.size()));
    owned[n] = std::move(out.outputs);
    for (const Tensor<T>& t : owned[n]) value[n].push_back(&t);
    const Regularizer reg = node.layer->activity_regularizer();
    if (reg.active()) {
      activity += activity_penalty(reg, owned[n]);
      if (mode == Mode::training) kept[static_cast<int64_t>(n)] = {reg, owned[n]};
    }
    if (const auto* inner = dynamic_cast<const Model<T>*>(node.layer.get())) activity += inner->activity_loss();
    mask[n] = std::move(out.mask);
    // Release what no later node reads.
    node.for_each_input([&](const ModelTensor& t) {
      const size_t src = static_cast<size_t>(t.node);
      if (p.last_use[src] == static_cast<int64_t>(pos) && !owned[src].empty()) {
        owned[src].clear();
        value[src].clear();
        mask[src] = Mask();
      }
    });
  }
  ModelOutputs<T> result;
  for (const auto& t : outputs_) {
    result.outputs.push_back(*tensor_of(t));
    const Mask* m = mask_of(t);
    result.masks.push_back(m ? *m : Mask());
  }
  if (mode == Mode::training) {  // the layers keep their own tapes; the model only the plan
    Run run{plan_, ins, outputs_, std::move(shapes), {}, std::move(kept)};
    for (const Tensor<T>& y : result.outputs) run.output_shapes.push_back(y.shape());
    runs_.push_back(std::move(run));
  }
  activity_loss_.store(activity, std::memory_order_relaxed);
  return result;
}

template <class T>
ModelOutputs<T> Model<T>::run(const std::vector<Tensor<T>>& inputs, Mode mode, const std::vector<const Mask*>& masks) {
  std::vector<const Tensor<T>*> ptrs;
  for (const auto& x : inputs) ptrs.push_back(&x);
  return run_graph(ptrs, masks, mode);
}

template <class T>
std::vector<Tensor<T>> Model<T>::call(const std::vector<Tensor<T>>& inputs, Mode mode) {
  return run(inputs, mode).outputs;
}

template <class T>
std::vector<Tensor<T>> Model<T>::predict(const std::vector<Tensor<T>>& inputs) {
  return run(inputs, Mode::inference).outputs;
}

// ---- Layer interface -------------------------------------------------------------------------
template <class T>
void Model<T>::build(const std::vector<Shape>& input_shapes) {
  check_input_shapes(input_shapes);
}

template <class T>
std::vector<Shape> Model<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  const Plan& p = plan();
  if (outputs_.empty()) throw StateError(this->where() + ": the model has no outputs (call set_outputs first)");
  check_input_shapes(input_shapes);
  std::vector<std::vector<Shape>> shapes(nodes_.size());
  const std::vector<ModelTensor> ins = inputs();
  for (size_t i = 0; i < ins.size(); ++i) shapes[static_cast<size_t>(ins[i].node)] = {input_shapes[i]};
  for (int64_t n : p.order) {
    const Node& node = nodes_[static_cast<size_t>(n)];
    std::vector<Shape> arg_shapes;
    for (const auto* ts : {&node.args, &node.constants})  // as in add_node
      for (const auto& t : *ts) arg_shapes.push_back(shapes[static_cast<size_t>(t.node)][static_cast<size_t>(t.index)]);
    shapes[static_cast<size_t>(n)] = node.layer->compute_output_shapes(arg_shapes);
  }
  std::vector<Shape> out;
  for (const auto& t : outputs_) out.push_back(shapes[static_cast<size_t>(t.node)][static_cast<size_t>(t.index)]);
  return out;
}

template <class T>
LayerOutputs<T> Model<T>::call(const LayerInputs<T>& in) {
  if (!in.initial_state.empty() || !in.constants.empty())
    throw ConfigError(this->where() + ": a model takes no initial_state or constants");
  std::vector<const Mask*> masks = in.input_masks;
  if (masks.empty() && in.mask) {
    masks.assign(in.inputs.size(), nullptr);
    masks[0] = in.mask;
  }
  ModelOutputs<T> r = run_graph(in.inputs, masks, in.mode);
  LayerOutputs<T> out;
  out.outputs = std::move(r.outputs);
  out.mask = std::move(r.masks.at(0));
  return out;
}

template class Model<float>;
template class Model<double>;

}  // namespace rnnx
