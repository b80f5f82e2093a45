// Model building: inputs, nodes (immediate and declared by key), names, seeds, resolution of
// declared nodes, and introspection. Planning and execution are in model_run.cpp.
#include "rnnx/model/model.h"

#include <algorithm>
#include <atomic>
#include <cctype>

#include "core/keras_naming.h"
#include "model/model_internal.h"
#include "rnnx/core/error.h"

namespace rnnx {
namespace {

std::atomic<uint64_t> next_model_id{1};

// "dense" or "dense_<digits>" for base "dense".
bool is_default_name(const std::string& name, const std::string& base) {
  if (name == base) return true;
  if (name.size() <= base.size() + 1 || name.compare(0, base.size() + 1, base + "_") != 0) return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(base.size() + 1), name.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

uint64_t derive_seed(uint64_t base, uint64_t k) {
  uint64_t z = base + 0x9e3779b97f4a7c15ULL * (k + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string key_string(const TensorKey& k) {
  return "['" + k.layer + "', " + std::to_string(k.node_index) + ", " + std::to_string(k.tensor_index) + "]";
}

}  // namespace

template <class T>
Model<T>::Model(std::string name) : Layer<T>(std::move(name)), id_(next_model_id++) {
  this->set_built();
}

template <class T>
Model<T>::~Model() = default;

// ---- registry --------------------------------------------------------------------------------
template <class T>
void Model<T>::prepare_layer(const std::shared_ptr<Layer<T>>& layer) {
  if (!layer) throw ConfigError(this->where() + ": cannot call a null layer");
  if (calls_.count(layer.get())) return;
  if (layer.get() == this) throw ConfigError(this->where() + ": a model cannot be a layer of itself");
  auto taken = [&](const std::string& n) {
    return std::any_of(registry_.begin(), registry_.end(), [&](const auto& l) { return l->name() == n; });
  };
  const std::string base = detail::keras_snake_case(layer->class_name());
  if (layer->name().empty() || taken(layer->name())) {
    if (!layer->name().empty() && !is_default_name(layer->name(), base))
      throw ConfigError(this->where() + ": two different layers are named '" + layer->name() +
                        "'; layer names must be unique in a model");
    std::string candidate = base;
    for (int k = 1; taken(candidate); ++k) candidate = base + "_" + std::to_string(k);
    layer->set_name(candidate);
  }
  if (!layer->built() && layer->seed() == 0) layer->set_seed(derive_seed(this->seed(), registry_.size()));
}

template <class T>
int64_t Model<T>::register_layer(const std::shared_ptr<Layer<T>>& layer) {
  auto it = calls_.find(layer.get());
  if (it != calls_.end()) return it->second++;
  registry_.push_back(layer);
  calls_[layer.get()] = 1;
  return 0;
}

template <class T>
void Model<T>::changed() {
  plan_.reset();
}

// ---- building --------------------------------------------------------------------------------
template <class T>
const typename Model<T>::Node& Model<T>::node_of(const ModelTensor& t, const std::string& context) const {
  if (t.model != id_ || t.node < 0 || t.node >= static_cast<int64_t>(nodes_.size()))
    throw ConfigError(this->where() + ": " + context + ": unknown tensor (node " + std::to_string(t.node) +
                      (t.model != id_ ? ", made by another model)" : ")"));
  const Node& n = nodes_[static_cast<size_t>(t.node)];
  if (t.index < 0 || t.index >= static_cast<int64_t>(n.output_shapes.size()))
    throw ConfigError(this->where() + ": " + context + ": unknown tensor: " + n.layer->class_name() + " '" +
                      n.layer->name() + "' has " + std::to_string(n.output_shapes.size()) + " outputs, index " +
                      std::to_string(t.index) + " requested");
  return n;
}

template <class T>
ModelTensor Model<T>::input(Shape batch_shape, std::string name) {
  if (name.empty()) name = "input_layer";  // made unique by prepare_layer
  return input(std::make_shared<InputLayer<T>>(std::move(batch_shape), std::move(name)));
}

template <class T>
ModelTensor Model<T>::input(std::shared_ptr<InputLayer<T>> layer) {
  prepare_layer(layer);
  if (calls_.count(layer.get()))
    throw ConfigError(this->where() + ": InputLayer '" + layer->name() + "' is already an input of this model");
  register_layer(layer);
  Node n;
  n.layer = layer;
  n.is_input = true;
  n.output_shapes = {layer->batch_shape()};
  nodes_.push_back(std::move(n));
  input_nodes_.push_back(static_cast<int64_t>(nodes_.size()) - 1);
  changed();
  return {id_, static_cast<int64_t>(nodes_.size()) - 1, 0};
}

template <class T>
// The vectors are moved into the node (clang-tidy misses the moves).
// NOLINTBEGIN(performance-unnecessary-value-param)
int64_t Model<T>::add_node(std::shared_ptr<Layer<T>> layer, int64_t node_index, std::vector<ModelTensor> args,
                           std::vector<ModelTensor> initial_state, std::vector<ModelTensor> constants, bool pass_mask) {
  // NOLINTEND(performance-unnecessary-value-param)
  const std::string context = layer->class_name() + " '" + layer->name() + "'";
  std::vector<Shape> shapes;  // args, then constants (layers/rnn.h)
  for (const auto& t : args) shapes.push_back(node_of(t, context).output_shapes[static_cast<size_t>(t.index)]);
  for (const auto& t : constants)
    shapes.push_back(node_of(t, context + " constants").output_shapes[static_cast<size_t>(t.index)]);
  for (const auto& t : initial_state) node_of(t, context + " initial_state");
  if (args.empty()) throw ConfigError(this->where() + ": " + context + " is called on no tensors");
  layer->build(shapes);
  Node n;
  n.output_shapes = layer->compute_output_shapes(shapes);
  if (n.output_shapes.empty())
    throw ConfigError(this->where() + ": " + context + " reports no outputs for input shapes");
  n.layer = std::move(layer);
  n.node_index = node_index;
  n.args = std::move(args);
  n.initial_state = std::move(initial_state);
  n.constants = std::move(constants);
  n.pass_mask = pass_mask;
  nodes_.push_back(std::move(n));
  changed();
  return static_cast<int64_t>(nodes_.size()) - 1;
}

template <class T>
std::vector<ModelTensor> Model<T>::call(std::shared_ptr<Layer<T>> layer, const std::vector<ModelTensor>& args,
                                        const CallOptions& options) {
  prepare_layer(layer);
  const auto known = calls_.find(layer.get());
  const int64_t node_index = known != calls_.end() ? known->second : 0;
  const int64_t node = add_node(layer, node_index, args, options.initial_state, options.constants, options.pass_mask);
  register_layer(layer);  // only once the node exists, so a failed call leaves no trace
  std::vector<ModelTensor> out;
  for (size_t i = 0; i < nodes_[static_cast<size_t>(node)].output_shapes.size(); ++i)
    out.push_back({id_, node, static_cast<int64_t>(i)});
  return out;
}

template <class T>
// NOLINTNEXTLINE(performance-unnecessary-value-param): both are moved into the pending node
void Model<T>::connect(std::shared_ptr<Layer<T>> layer, std::vector<TensorKey> args, ConnectOptions options) {
  prepare_layer(layer);
  Pending p;
  p.node_index = register_layer(layer);
  p.layer = std::move(layer);
  p.args = std::move(args);
  p.options = std::move(options);
  pending_.push_back(std::move(p));
  changed();
}

template <class T>
std::optional<ModelTensor> Model<T>::find(const TensorKey& key) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (n.layer->name() == key.layer && n.node_index == key.node_index) {
      if (key.tensor_index < 0 || key.tensor_index >= static_cast<int64_t>(n.output_shapes.size()))
        throw ConfigError(this->where() + ": unknown tensor " + key_string(key) + ": " + n.layer->class_name() + " '" +
                          key.layer + "' has " + std::to_string(n.output_shapes.size()) + " outputs");
      return ModelTensor{id_, static_cast<int64_t>(i), key.tensor_index};
    }
  }
  return std::nullopt;
}

template <class T>
void Model<T>::resolve_pending() {
  auto all_found = [&](const std::vector<TensorKey>& keys, std::vector<ModelTensor>& out) {
    out.clear();
    for (const auto& k : keys) {
      auto t = find(k);
      if (!t) return false;
      out.push_back(*t);
    }
    return true;
  };
  bool progress = true;
  while (!pending_.empty() && progress) {
    progress = false;
    for (size_t i = 0; i < pending_.size();) {
      Pending& p = pending_[i];
      std::vector<ModelTensor> args, state, consts;
      if (all_found(p.args, args) && all_found(p.options.initial_state, state) &&
          all_found(p.options.constants, consts)) {
        Pending done = std::move(p);
        pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
        add_node(done.layer, done.node_index, std::move(args), std::move(state), std::move(consts),
                 done.options.pass_mask);
        progress = true;
      } else {
        ++i;
      }
    }
  }
  if (pending_.empty()) return;
  // Whatever is left either refers to a node nobody declared, or waits on itself.
  auto declared = [&](const TensorKey& k) {
    return std::any_of(pending_.begin(), pending_.end(),
                       [&](const Pending& p) { return p.layer->name() == k.layer && p.node_index == k.node_index; });
  };
  std::string cycle;
  for (const Pending& p : pending_) {
    const std::string who =
        p.layer->class_name() + " '" + p.layer->name() + "' (node " + std::to_string(p.node_index) + ")";
    for (const auto* keys : {&p.args, &p.options.initial_state, &p.options.constants})
      for (const TensorKey& k : *keys)
        if (!find(k) && !declared(k)) {
          const bool layer_known =
              std::any_of(registry_.begin(), registry_.end(), [&](const auto& l) { return l->name() == k.layer; });
          const std::string message =
              this->where() + ": " + who + " refers to unknown tensor " + key_string(k) +
              (layer_known ? ": that layer has no node " + std::to_string(k.node_index) : ": no layer of that name");
          pending_.clear();
          throw ConfigError(message);
        }
    cycle += (cycle.empty() ? "" : ", ") + who;
  }
  pending_.clear();
  throw ConfigError(this->where() + ": the graph has a cycle: these nodes depend on each other: " + cycle);
}

template <class T>
ModelTensor Model<T>::tensor(const TensorKey& key) {
  resolve_pending();
  auto t = find(key);
  if (!t) throw ConfigError(this->where() + ": unknown tensor " + key_string(key));
  return *t;
}

template <class T>
void Model<T>::set_inputs(const std::vector<ModelTensor>& inputs) {
  resolve_pending();
  for (const auto& t : inputs)
    if (!node_of(t, "set_inputs").is_input)
      throw ConfigError(this->where() + ": set_inputs: tensor of " + nodes_[static_cast<size_t>(t.node)].layer->name() +
                        " is not a model input (make inputs with input())");
  inputs_ = inputs;
  input_structure_.reset();
  changed();
}

template <class T>
void Model<T>::set_inputs(const std::vector<TensorKey>& inputs) {
  std::vector<ModelTensor> ts;
  for (const auto& k : inputs) ts.push_back(tensor(k));
  set_inputs(ts);
}

template <class T>
void Model<T>::set_outputs(const std::vector<ModelTensor>& outputs) {
  resolve_pending();
  if (outputs.empty()) throw ConfigError(this->where() + ": set_outputs needs at least one tensor");
  for (const auto& t : outputs) node_of(t, "set_outputs");
  outputs_ = outputs;
  output_structure_.reset();
  changed();
}

template <class T>
void Model<T>::set_outputs(const std::vector<TensorKey>& outputs) {
  std::vector<ModelTensor> ts;
  for (const auto& k : outputs) ts.push_back(tensor(k));
  set_outputs(ts);
}

template <class T>
void Model<T>::set_input_structure(TensorStructure structure) {
  structure.validate(this->where() + ": set_input_structure");
  const size_t n = inputs().size();
  if (structure.leaf_count() != n)
    throw ConfigError(this->where() + ": set_input_structure: the structure " + structure.to_string() + " has " +
                      std::to_string(structure.leaf_count()) + " tensors, the model has " + std::to_string(n) +
                      " inputs");
  input_structure_ = std::move(structure);
}

template <class T>
void Model<T>::set_output_structure(TensorStructure structure) {
  structure.validate(this->where() + ": set_output_structure");
  if (structure.leaf_count() != outputs_.size())
    throw ConfigError(this->where() + ": set_output_structure: the structure " + structure.to_string() + " has " +
                      std::to_string(structure.leaf_count()) + " tensors, the model has " +
                      std::to_string(outputs_.size()) + " outputs");
  output_structure_ = std::move(structure);
}

// ---- introspection ---------------------------------------------------------------------------
template <class T>
std::vector<ModelTensor> Model<T>::inputs() const {
  if (inputs_) return *inputs_;
  std::vector<ModelTensor> ts;
  for (int64_t n : input_nodes_) ts.push_back({id_, n, 0});
  return ts;
}

template <class T>
std::vector<ModelTensor> Model<T>::outputs() const {
  return outputs_;
}

template <class T>
std::vector<std::string> Model<T>::input_names() const {
  std::vector<std::string> names;
  for (const auto& t : inputs()) names.push_back(nodes_[static_cast<size_t>(t.node)].layer->name());
  return names;
}

template <class T>
const Shape& Model<T>::shape(const ModelTensor& t) const {
  return node_of(t, "shape").output_shapes[static_cast<size_t>(t.index)];
}

template <class T>
std::shared_ptr<Layer<T>> Model<T>::layer(const std::string& name) const {
  for (const auto& l : registry_)
    if (l->name() == name) return l;
  std::vector<std::string> names;
  for (const auto& l : registry_) names.push_back(l->name());
  throw ConfigError(this->where() + ": no layer named '" + name + "' (layers: " + detail::quoted_list(names) + ")");
}

template <class T>
std::string Model<T>::summary() {
  return format_summary(this->name(), summary_rows(), true, sizeof(T));
}

template <class T>
std::vector<SummaryRow> Model<T>::summary_rows() {
  std::vector<SummaryRow> rows;
  for (const auto& l : layers()) {
    SummaryRow r;
    r.name = l->name();
    r.class_name = l->class_name();
    r.output_shape = "?";
    const Node* last = nullptr;
    for (const Node& n : nodes_) {
      if (n.layer != l) continue;
      last = &n;
      n.for_each_input([&](const ModelTensor& t) {
        const Node& src = nodes_[static_cast<size_t>(t.node)];
        r.connected_to += (r.connected_to.empty() ? "" : ", ") + src.layer->name() + "[" +
                          std::to_string(src.node_index) + "][" + std::to_string(t.index) + "]";
      });
    }
    if (last) r.output_shape = format_output_shapes(last->output_shapes);
    for (const auto& p : l->params()) {
      r.params += p.value->size();
      if (p.trainable) r.trainable_params += p.value->size();
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

template class Model<float>;
template class Model<double>;

}  // namespace rnnx
