// Keras 3 configs and calls of the attention layers (the inverse of
// keras_config_attention.cpp), keyed as K3 get_config() writes them. Keras keeps
// use_causal_mask / return_attention_scores and MultiHeadAttention's key / attention_mask
// on the call (the inbound node), not in the layer config.
#include "io/keras_config_write/keras_config_write_impl.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/attention.h"
#include "rnnx/layers/multi_head_attention.h"

namespace rnnx::detail::keras_write {
namespace {

J seed_json(const std::optional<int64_t>& seed) { return seed ? J(*seed) : J(nullptr); }

template <class T>
void call_flags(bool causal, bool scores, J& kwargs) {
  if (causal) kwargs["use_causal_mask"] = true;
  if (scores) kwargs["return_attention_scores"] = true;
}

}  // namespace

template <class T>
std::optional<J> attention_layer_config(const Layer<T>& layer) {
  if (auto* a = dynamic_cast<const Attention<T>*>(&layer)) {
    const AttentionOptions& o = a->options();
    J c = layer_head<T>(layer.name());
    c["use_scale"] = o.use_scale;
    if (!a->additive()) c["score_mode"] = o.score_mode;
    c["dropout"] = o.dropout;
    c["seed"] = seed_json(o.seed);
    return c;
  }
  if (auto* m = dynamic_cast<const MultiHeadAttention<T>*>(&layer)) {
    const MultiHeadAttentionOptions& o = m->options();
    J c = layer_head<T>(layer.name());
    c["num_heads"] = o.num_heads;
    c["key_dim"] = o.key_dim;
    c["value_dim"] = m->value_dim();
    c["dropout"] = o.dropout;
    c["use_bias"] = o.use_bias;
    c["use_gate"] = false;
    c["output_shape"] = o.output_shape ? J::array({*o.output_shape}) : J(nullptr);
    c["attention_axes"] = J::array({1});
    c["sliding_window"] = nullptr;
    c["kernel_initializer"] = value_json(o.kernel_initializer);
    c["bias_initializer"] = value_json(o.bias_initializer);
    c["kernel_regularizer"] = value_json(o.kernel_regularizer);
    c["bias_regularizer"] = value_json(o.bias_regularizer);
    c["activity_regularizer"] = nullptr;
    c["kernel_constraint"] = value_json(o.kernel_constraint);
    c["bias_constraint"] = value_json(o.bias_constraint);
    c["seed"] = seed_json(o.seed);
    return c;
  }
  return std::nullopt;
}

template <class T>
void attention_node_call(const Layer<T>& layer, J& args, J& kwargs) {
  if (auto* a = dynamic_cast<const Attention<T>*>(&layer)) {
    call_flags<T>(a->options().use_causal_mask, a->options().return_attention_scores, kwargs);
    return;
  }
  auto* m = dynamic_cast<const MultiHeadAttention<T>*>(&layer);
  if (!m) return;
  // args = [[query, value, key?, attention_mask?]] -> args = [query, value], the rest keywords.
  if (args.size() != 1 || !args[0].is_array() || args[0].size() < 2)
    throw ConfigError(layer.class_name() + " '" + layer.name() +
                      "': expected inputs [query, value(, key(, attention_mask))]");
  const J list = args[0];
  args = J::array({list[0], list[1]});
  if (list.size() >= 3) kwargs["key"] = list[2];
  if (list.size() >= 4) kwargs["attention_mask"] = list[3];
  call_flags<T>(m->options().use_causal_mask, m->options().return_attention_scores, kwargs);
}

template <class T>
std::optional<J> attention_build_config(const Layer<T>& layer, const std::vector<Shape>& shapes) {
  if (!dynamic_cast<const MultiHeadAttention<T>*>(&layer) || shapes.size() < 2) return std::nullopt;
  J d{{"query_shape", shape_json(shapes[0])}, {"value_shape", shape_json(shapes[1])}};
  if (shapes.size() >= 3) d["key_shape"] = shape_json(shapes[2]);
  return J{{"shapes_dict", std::move(d)}};
}

template std::optional<J> attention_layer_config<float>(const Layer<float>&);
template std::optional<J> attention_layer_config<double>(const Layer<double>&);
template void attention_node_call<float>(const Layer<float>&, J&, J&);
template void attention_node_call<double>(const Layer<double>&, J&, J&);
template std::optional<J> attention_build_config<float>(const Layer<float>&, const std::vector<Shape>&);
template std::optional<J> attention_build_config<double>(const Layer<double>&, const std::vector<Shape>&);

}  // namespace rnnx::detail::keras_write
