// Keras 3 model configs from rnnx models (spec §8.3): Sequential, and Functional graphs
// with Keras 3 nodes (the inverse of keras_config_model.cpp). Layer entries come from
// keras_config_write.cpp.
#include <algorithm>
#include <map>
#include <set>

#include "io/keras_config/keras_config_impl.h"  // passes_mask_through
#include "io/keras_config_write/keras_config_write_impl.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/embedding.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/masking.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/sequential.h"

namespace rnnx::detail::keras_write {
namespace {

template <class T>
std::string where_of(const Layer<T>& l) {
  return l.class_name() + " '" + l.name() + "'";
}

// ---- Functional graphs

// The mask rnnx attaches to a tensor, as Keras 3 would record it (keras_config_model.cpp,
// FunctionalBuild::implicit_mask, is the reading side of the same rule).
struct MaskSource {
  enum Kind { none, not_equal, any_not_equal } kind = none;
  TensorKey source;  // the compared tensor (new node numbering)
  double value = 0.0;
  std::string key() const {
    return std::to_string(kind) + source.layer + "/" + std::to_string(source.node_index) + "/" +
           std::to_string(source.tensor_index) + "/" + std::to_string(value);
  }
};

// A flat list (input_layers / output_layers triples, or the tensors a nested model is called
// on) nested as a model's structure (model/tensor_structure.h), the items at the leaves in
// keras.tree.flatten order, as Keras 3 get_config writes them (dict keys sorted; Keras 3
// flattens dicts in that order whatever the order).
void nest_io_into(const J& flat, const TensorStructure& s, size_t& next, J& out, const std::string& where) {
  switch (s.kind) {
    case TensorStructure::Kind::leaf:
      if (next >= flat.size())
        throw ConfigError(where + ": the structure " + s.to_string() + " holds more than the " +
                          std::to_string(flat.size()) + " tensors given");
      out = flat[next++];
      return;
    case TensorStructure::Kind::list:
      out = J::array();
      for (const auto& item : s.items) {
        J e;
        nest_io_into(flat, item, next, e, where);
        out.push_back(std::move(e));
      }
      return;
    case TensorStructure::Kind::dict:
      s.validate(where);
      out = J::object();
      for (size_t i = 0; i < s.items.size(); ++i) nest_io_into(flat, s.items[i], next, out[s.keys[i]], where);
      return;
  }
}

J nest_io(const J& flat, const TensorStructure& s, const std::string& where) {
  J out;
  size_t next = 0;
  nest_io_into(flat, s, next, out, where);
  if (next != flat.size())
    throw ConfigError(where + ": the structure " + s.to_string() + " holds " + std::to_string(next) + " tensors, " +
                      std::to_string(flat.size()) + " given");
  return out;
}

template <class T>
class GraphWriter {
 public:
  explicit GraphWriter(const Model<T>& model) : model_(model), nodes_(model.graph_nodes()) {
    // Keras numbers a layer's calls among those the model uses; rnnx counts every call.
    std::map<std::string, std::vector<int64_t>> per_layer;
    for (const auto& n : nodes_) per_layer[n.layer->name()].push_back(n.node_index);
    for (auto& [name, indices] : per_layer) {
      std::sort(indices.begin(), indices.end());
      for (size_t i = 0; i < indices.size(); ++i) renumber_[{name, indices[i]}] = static_cast<int64_t>(i);
    }
    for (size_t i = 0; i < nodes_.size(); ++i) by_key_[{nodes_[i].layer->name(), nodes_[i].node_index}] = i;
    for (const auto& l : model.layers()) names_.insert(l->name());
  }

  TensorKey key(const ModelTensor& t) const {
    TensorKey k = model_.key_of(t);
    auto it = renumber_.find({k.layer, k.node_index});
    if (it != renumber_.end()) k.node_index = it->second;
    return k;
  }

  J tensor(const ModelTensor& t, const char* dtype = nullptr) const {
    const TensorKey k = key(t);
    return tensor_json(k, model_.shape(t), dtype ? dtype : dtype_name<T>());
  }

  static J tensor_json(const TensorKey& k, const Shape& shape, const std::string& dtype) {
    return J{
        {"class_name", "__keras_tensor__"},
        {"config",
         {{"shape", shape_json(shape)}, {"dtype", dtype}, {"keras_history", {k.layer, k.node_index, k.tensor_index}}}}};
  }

  const ModelNode<T>* producer(const ModelTensor& t) const {
    const TensorKey k = model_.key_of(t);
    auto it = by_key_.find({k.layer, k.node_index});
    return it == by_key_.end() ? nullptr : &nodes_[it->second];
  }

  MaskSource mask_of(const ModelTensor& t, int depth = 0) const {
    if (depth > 10000 || t.index != 0) return {};
    const ModelNode<T>* n = producer(t);
    if (!n || n->args.empty()) return {};  // a model input
    const Layer<T>& layer = *n->layer;
    const ModelTensor& in = n->args[0];
    if (auto* m = dynamic_cast<const Masking<T>*>(&layer))
      return {MaskSource::any_not_equal, key(in), m->options().mask_value};
    if (auto* e = dynamic_cast<const Embedding<T>*>(&layer))
      return e->options().mask_zero ? MaskSource{MaskSource::not_equal, key(in), 0.0} : MaskSource{};
    if (!n->pass_mask) return {};
    if (auto* r = dynamic_cast<const RNN<T>*>(&layer))
      return r->rnn_options().return_sequences ? mask_of(in, depth + 1) : MaskSource{};
    if (auto* b = dynamic_cast<const Bidirectional<T>*>(&layer))
      return b->forward_layer().rnn_options().return_sequences ? mask_of(in, depth + 1) : MaskSource{};
    const std::string cn = layer.class_name();
    if (cn == "Dense" || cn == "Dropout" || cn == "Activation" || cn == "TimeDistributed")
      return mask_of(in, depth + 1);
    if (passes_mask_through(cn)) return mask_of(in, depth + 1);  // activation / noise layers
    if (is_attention_class(cn)) return mask_of(in, depth + 1);   // the query's mask
    return {};
  }

  // A fresh operation name that no layer uses.
  std::string fresh_name(const std::string& base) {
    std::string n = base;
    for (int k = 1; names_.count(n); ++k) n = base + "_" + std::to_string(k);
    names_.insert(n);
    return n;
  }

  // Appends the NotEqual (and Any) entries that compute `m` to `layers` (once per mask) and
  // returns the tensor holding the mask.
  J mask_tensor(const MaskSource& m, const Shape& source_shape, J& layers) {
    auto it = mask_ops_.find(m.key());
    if (it != mask_ops_.end()) return it->second;
    const std::string src_dtype =
        m.kind == MaskSource::not_equal && source_dtype_int(m.source) ? "int32" : dtype_name<T>();
    const std::string ne = fresh_name("rnnx_mask_not_equal");  // not Keras' own auto-names
    // Keras writes Embedding's comparison with the integer 0, Masking's with a float.
    const J value = m.kind == MaskSource::not_equal ? J(0) : J(m.value);
    layers.push_back(
        J{{"module", "keras.src.ops.numpy"},
          {"class_name", "NotEqual"},
          {"config", {{"name", ne}}},
          {"registered_name", "NotEqual"},
          {"name", ne},
          {"inbound_nodes", J::array({J{{"args", J::array({tensor_json(m.source, source_shape, src_dtype), value})},
                                        {"kwargs", J::object()}}})}});
    J out = tensor_json({ne, 0, 0}, source_shape, "bool");
    if (m.kind == MaskSource::any_not_equal) {
      const std::string any = fresh_name("rnnx_mask_any");
      layers.push_back(J{{"module", "keras.src.ops.numpy"},
                         {"class_name", "Any"},
                         {"config", {{"name", any}, {"axis", -1}, {"keepdims", false}}},
                         {"registered_name", "Any"},
                         {"name", any},
                         {"inbound_nodes", J::array({J{{"args", J::array({out})}, {"kwargs", J::object()}}})}});
      Shape reduced = source_shape;
      if (!reduced.empty()) reduced.pop_back();
      out = tensor_json({any, 0, 0}, reduced, "bool");
    }
    mask_ops_[m.key()] = out;
    return out;
  }

  bool source_dtype_int(const TensorKey& k) const { return int_inputs_.count(k.layer) > 0; }
  void set_int_inputs(std::set<std::string> names) { int_inputs_ = std::move(names); }

  // The Keras 3 inbound-node entry of `n`; may append mask operations to `layers`.
  J node_json(const ModelNode<T>& n, J& layers) {
    const std::string where = where_of(*n.layer);
    if (!n.constants.empty()) throw ConfigError(where + ": is called with `constants`, which Keras 3 does not support");
    J args = J::array();
    const auto* nested = dynamic_cast<const Model<T>*>(n.layer.get());
    if (nested && nested->input_structure()) {  // a model called on a list / dict structure
      J list = J::array();
      for (const auto& t : n.args) list.push_back(tensor(t, arg_dtype(t)));
      args.push_back(nest_io(list, *nested->input_structure(), where + ": call arguments"));
    } else if (n.args.size() == 1) {
      args.push_back(tensor(n.args[0], arg_dtype(n.args[0])));
    } else {
      J list = J::array();
      for (const auto& t : n.args) list.push_back(tensor(t, arg_dtype(t)));
      args.push_back(std::move(list));
    }
    J kwargs = J::object();
    const bool keyword_tensors = !n.initial_state.empty();
    if (keyword_tensors) {
      J states = J::array();
      for (const auto& t : n.initial_state) states.push_back(tensor(t));
      kwargs["initial_state"] = nest_stacked_states(*n.layer, std::move(states));
    }
    const MaskSource m = n.args.empty() ? MaskSource{} : mask_of(n.args[0]);
    // A nested model's output mask is rnnx's to propagate at run time; it cannot be recorded.
    const bool mask_differs = (keyword_tensors && n.pass_mask) || (!keyword_tensors && !n.pass_mask);
    if (m.kind == MaskSource::none && mask_differs && !n.args.empty())
      if (const ModelNode<T>* p = producer(n.args[0]); p && may_carry_mask(*p))
        throw ConfigError(where + ": its input comes from nested model '" + p->layer->name() +
                          "' and may carry a mask, which Keras 3 cannot record for this call" +
                          (keyword_tensors ? " (it has initial_state)" : ""));
    if (m.kind != MaskSource::none) {
      // Keras 3 passes the implicit mask only to calls with a single tensor argument.
      if (keyword_tensors && n.pass_mask) {
        kwargs["mask"] = mask_tensor(m, shape_of_key(m.source), layers);
      } else if (!keyword_tensors && !n.pass_mask) {
        throw ConfigError(where + ": the call ignores the mask of its input, which Keras 3 cannot record");
      }
    }
    attention_node_call(*n.layer, args, kwargs);  // keras_config_write_attention.cpp
    return J{{"args", std::move(args)}, {"kwargs", std::move(kwargs)}};
  }

  // True when `n` calls a nested model whose first output may carry a mask: its input has
  // one, or a layer inside makes one (Masking, Embedding with mask_zero).
  bool may_carry_mask(const ModelNode<T>& n) const {
    const auto* model = dynamic_cast<const Model<T>*>(n.layer.get());
    if (!model) return false;
    if (!n.args.empty() && mask_of(n.args[0]).kind != MaskSource::none) return true;
    return makes_mask(*model);
  }

  static bool makes_mask(const Model<T>& model) {
    for (const auto& l : model.layers()) {
      const Layer<T>* inner = l.get();
      if (auto* td = dynamic_cast<const TimeDistributed<T>*>(inner)) inner = td->layer().get();
      if (dynamic_cast<const Masking<T>*>(inner)) return true;
      if (auto* e = dynamic_cast<const Embedding<T>*>(inner); e && e->options().mask_zero) return true;
      if (auto* m = dynamic_cast<const Model<T>*>(inner); m && makes_mask(*m)) return true;
    }
    return false;
  }

  // Keras 3 StackedRNNCells takes its initial states nested per cell ([[h1, c1], [h2, c2]]);
  // a flat list passes symbolic tracing but fails when the model runs.
  static J nest_stacked_states(const Layer<T>& layer, J flat) {
    auto* r = dynamic_cast<const RNN<T>*>(&layer);
    auto* st = r ? dynamic_cast<const StackedCells<T>*>(&r->cell()) : nullptr;
    if (!st) return flat;
    J nested = J::array();
    size_t pos = 0;
    for (size_t k = 0; k < st->size() && pos < flat.size(); ++k) {
      J group = J::array();
      for (size_t i = 0; i < st->cell(k).state_sizes().size() && pos < flat.size(); ++i) group.push_back(flat[pos++]);
      nested.push_back(std::move(group));
    }
    return nested;
  }

  const char* arg_dtype(const ModelTensor& t) const {
    const TensorKey k = model_.key_of(t);
    return int_inputs_.count(k.layer) ? "int32" : dtype_name<T>();
  }

  Shape shape_of_key(const TensorKey& k) const {
    for (const auto& n : nodes_)
      for (const auto* ts : {&n.args, &n.initial_state})
        for (const auto& t : *ts)
          if (const TensorKey kk = key(t);
              kk.layer == k.layer && kk.node_index == k.node_index && kk.tensor_index == k.tensor_index)
            return model_.shape(t);
    return {};
  }

  const std::vector<ModelNode<T>>& nodes() const { return nodes_; }

 private:
  const Model<T>& model_;
  std::vector<ModelNode<T>> nodes_;
  std::map<std::pair<std::string, int64_t>, int64_t> renumber_;
  std::map<std::pair<std::string, int64_t>, size_t> by_key_;
  std::set<std::string> names_;
  std::map<std::string, J> mask_ops_;
  std::set<std::string> int_inputs_;
};

// The build_config shape of a node: its single positional argument's shape; for several
// arguments (merge layers) the list of shapes is written by the caller.
template <class T>
J node_build_config(const Model<T>& model, const ModelNode<T>& n) {
  if (n.args.size() == 1 && n.initial_state.empty()) return build_config(model.shape(n.args[0]));
  if (n.args.size() == 1) {
    J states = J::array();
    for (const auto& t : n.initial_state) states.push_back(shape_json(model.shape(t)));
    return J{{"shapes_dict",
              {{"sequences_shape", shape_json(model.shape(n.args[0]))}, {"initial_state_shape", std::move(states)}}}};
  }
  std::vector<Shape> arg_shapes;
  for (const auto& t : n.args) arg_shapes.push_back(model.shape(t));
  if (std::optional<J> att = attention_build_config(*n.layer, arg_shapes)) return *att;
  J shapes = J::array();
  for (const auto& s : arg_shapes) shapes.push_back(shape_json(s));
  return J{{"input_shape", std::move(shapes)}};
}

// Names of inputs that feed only Embedding layers (Keras declares such inputs int32).
template <class T>
std::set<std::string> integer_inputs(const Model<T>& model, const std::vector<ModelNode<T>>& nodes) {
  std::set<std::string> out;
  for (const auto& name : model.input_names()) {
    bool used = false, only_embedding = true;
    for (const auto& n : nodes)
      for (const auto* ts : {&n.args, &n.initial_state, &n.constants})
        for (const auto& t : *ts)
          if (model.key_of(t).layer == name) {
            used = true;
            if (!dynamic_cast<const Embedding<T>*>(n.layer.get())) only_embedding = false;
          }
    if (used && only_embedding) out.insert(name);
  }
  return out;
}

// ---- Nested models (a model used as a layer; the inverse of keras_config_model.cpp)
//
// A nested model is written as its own Sequential / Functional entry inside the outer
// model's layer list, as Keras 3 does; TimeDistributed may wrap one. Keras 3 numbers a
// nested Functional's calls from 1 in input_layers / output_layers (its own graph counts
// as call 0) and from 0 in node arguments.

// A layer's Keras 3 entry: a nested model, a TimeDistributed around one, or any other layer.
template <class T>
J entry_of(const Layer<T>& layer, const std::optional<Shape>& build_shape);

template <class T>
bool is_nested_functional(const Layer<T>& layer) {
  return dynamic_cast<const Model<T>*>(&layer) && !dynamic_cast<const Sequential<T>*>(&layer);
}

template <class T>
J functional_json(const Model<T>& model) {
  GraphWriter<T> g(model);
  const std::set<std::string> int_inputs = integer_inputs(model, g.nodes());
  g.set_int_inputs(int_inputs);
  J layers = J::array();
  for (const auto& layer : model.layers()) {
    if (auto* in = dynamic_cast<const InputLayer<T>*>(layer.get())) {
      J e = input_layer_entry(in->name(), in->batch_shape(), int_inputs.count(in->name()) ? "int32" : dtype_name<T>());
      e["name"] = in->name();
      e["inbound_nodes"] = J::array();
      layers.push_back(std::move(e));
      continue;
    }
    std::vector<const ModelNode<T>*> calls;
    for (const auto& n : g.nodes())
      if (n.layer == layer) calls.push_back(&n);
    std::sort(calls.begin(), calls.end(), [](auto* a, auto* b) { return a->node_index < b->node_index; });
    J nodes = J::array();
    for (const auto* n : calls) nodes.push_back(g.node_json(*n, layers));
    std::optional<Shape> first_shape;
    if (!calls.empty() && calls[0]->args.size() == 1) first_shape = model.shape(calls[0]->args[0]);
    J e = entry_of<T>(*layer, first_shape);
    // A nested model keeps the build_config of its own entry, as Keras writes it.
    if (!calls.empty() && !dynamic_cast<const Model<T>*>(layer.get()))
      e["build_config"] = node_build_config(model, *calls[0]);
    e["name"] = layer->name();
    e["inbound_nodes"] = std::move(nodes);
    layers.push_back(std::move(e));
  }
  auto io = [&](const std::vector<ModelTensor>& ts, const std::optional<TensorStructure>& structure, const char* what) {
    J list = J::array();
    for (const auto& t : ts) {
      const TensorKey k = g.key(t);
      const ModelNode<T>* producer = g.producer(t);
      const int64_t first_call = producer && is_nested_functional(*producer->layer) ? 1 : 0;
      list.push_back(J::array({k.layer, k.node_index + first_call, k.tensor_index}));
    }
    if (!structure) return ts.size() == 1 ? list[0] : list;
    return nest_io(list, *structure, where_of(model) + ": " + what);
  };
  J config = {{"name", model.name()},
              {"trainable", true},
              {"layers", std::move(layers)},
              {"input_layers", io(model.inputs(), model.input_structure(), "input_layers")},
              {"output_layers", io(model.outputs(), model.output_structure(), "output_layers")}};
  return J{{"module", "keras.src.models.functional"},
           {"class_name", "Functional"},
           {"config", std::move(config)},
           {"registered_name", "Functional"},
           {"build_config", {{"input_shape", nullptr}}}};
}

template <class T>
J sequential_json(const Sequential<T>& model) {
  if (!model.has_input())
    throw StateError("Sequential '" + model.name() + "': the model has no input shape yet (build it or call it first)");
  const auto ins = model.inputs();
  const Shape& shape = model.shape(ins.at(0));
  const auto layer_list = model.layers();
  const bool ids = !layer_list.empty() && dynamic_cast<const Embedding<T>*>(layer_list[0].get());
  J layers = J::array();
  layers.push_back(input_layer_entry(model.input_names().at(0), shape, ids ? "int32" : dtype_name<T>()));
  Shape s = shape;
  for (const auto& l : layer_list) {
    layers.push_back(entry_of<T>(*l, s));
    s = l->compute_output_shapes({s}).at(0);
  }
  J config = {{"name", model.name()},
              {"trainable", true},
              {"dtype", dtype_policy<T>()},
              {"layers", std::move(layers)},
              {"build_input_shape", shape_json(shape)}};
  return J{{"module", "keras"},
           {"class_name", "Sequential"},
           {"config", std::move(config)},
           {"registered_name", nullptr},
           {"build_config", {{"input_shape", shape_json(shape)}}}};
}

template <class T>
J model_json(const Model<T>& model) {
  if (auto* seq = dynamic_cast<const Sequential<T>*>(&model)) return sequential_json(*seq);
  return functional_json(model);
}

template <class T>
J entry_of(const Layer<T>& layer, const std::optional<Shape>& build_shape) {
  if (auto* m = dynamic_cast<const Model<T>*>(&layer)) return nested_model_entry(*m);
  auto* td = dynamic_cast<const TimeDistributed<T>*>(&layer);
  auto* inner = td ? dynamic_cast<const Model<T>*>(td->layer().get()) : nullptr;
  if (!inner) return layer_config_entry<T>(layer, build_shape);
  // Keras 3 Wrapper.get_config: the base layer keys, then the wrapped model's entry.
  J config = {
      {"name", layer.name()}, {"trainable", true}, {"dtype", dtype_policy<T>()}, {"layer", nested_model_entry(*inner)}};
  return J{{"module", "keras.layers"},
           {"class_name", "TimeDistributed"},
           {"config", std::move(config)},
           {"registered_name", nullptr},
           {"build_config", build_config(build_shape)}};
}

}  // namespace

template <class T>
J nested_model_entry(const Model<T>& model) {
  try {
    return model_json(model);
  } catch (const ConfigError& e) {  // what a nested model cannot write names the model
    throw ConfigError("in nested model " + where_of(model) + ": " + e.what());
  }
}

template J nested_model_entry<float>(const Model<float>&);
template J nested_model_entry<double>(const Model<double>&);

}  // namespace rnnx::detail::keras_write

namespace rnnx {

template <class T>
std::string model_to_keras_json(const Model<T>& model) {
  return detail::keras_write::model_json(model).dump();
}

template std::string model_to_keras_json<float>(const Model<float>&);
template std::string model_to_keras_json<double>(const Model<double>&);

}  // namespace rnnx
