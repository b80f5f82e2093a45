// Keras configs of the attention layers (issue 9): Attention, AdditiveAttention,
// MultiHeadAttention. Keys and defaults follow K3 get_config()
// (keras/src/layers/attention/). The call arguments use_causal_mask and
// return_attention_scores live on the functional node (keras_config_model.cpp sets them
// through set_attention_call_flag).
#include "io/keras_config/keras_config_impl.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/attention.h"
#include "rnnx/layers/multi_head_attention.h"

namespace rnnx::detail {
namespace {

std::optional<int64_t> optional_seed(const KerasConfig& c) { return c.get_optional_int("seed"); }

template <class T>
void apply_seed(const std::optional<int64_t>& seed, Layer<T>& layer) {
  if (seed) layer.set_seed(static_cast<uint64_t>(*seed));
}

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_attention_layer(const std::string& cn, const KerasConfig& c, const std::string& name) {
  if (cn == "Attention" || cn == "AdditiveAttention") {
    AttentionOptions o;
    const bool additive = cn == "AdditiveAttention";
    o.use_scale = c.get_bool("use_scale", additive);
    if (!additive) o.score_mode = c.get_string("score_mode", "dot");
    if (o.score_mode != "dot" && o.score_mode != "concat")
      c.fail("score_mode", "must be 'dot' or 'concat', got " + c.json("score_mode"));
    o.dropout = c.get_double("dropout", 0.0);
    if (!(o.dropout >= 0.0 && o.dropout < 1.0)) c.fail("dropout", "must be in [0, 1), got " + c.json("dropout"));
    o.seed = optional_seed(c);
    // tf_keras wrote `causal` (deprecated) in the layer config.
    if (c.has("causal") && c.get_bool("causal")) o.use_causal_mask = true;
    c.ignore("causal");
    std::unique_ptr<Layer<T>> layer;
    if (additive) {
      layer = std::make_unique<AdditiveAttention<T>>(o, name);
    } else {
      layer = std::make_unique<Attention<T>>(o, name);
    }
    apply_seed(o.seed, *layer);
    return layer;
  }
  if (cn == "MultiHeadAttention") {
    MultiHeadAttentionOptions o;
    o.num_heads = c.get_int("num_heads");
    o.key_dim = c.get_int("key_dim");
    o.value_dim = c.get_optional_int("value_dim");
    if (o.num_heads <= 0) c.fail("num_heads", "must be a positive integer, got " + c.json("num_heads"));
    if (o.key_dim <= 0) c.fail("key_dim", "must be a positive integer, got " + c.json("key_dim"));
    if (o.value_dim && *o.value_dim <= 0)
      c.fail("value_dim", "must be a positive integer or null, got " + c.json("value_dim"));
    o.dropout = c.get_double("dropout", 0.0);
    if (!(o.dropout >= 0.0 && o.dropout < 1.0)) c.fail("dropout", "must be in [0, 1), got " + c.json("dropout"));
    o.use_bias = c.get_bool("use_bias", true);
    if (c.has("output_shape")) {
      const std::string j = c.json("output_shape");
      const std::vector<int64_t> s =
          j.front() == '[' ? c.get_int_list("output_shape") : std::vector<int64_t>{c.get_int("output_shape")};
      if (s.size() != 1 || s[0] <= 0)
        c.fail("output_shape", "= " + j + " is not supported by rnnx (only one positive dimension, e.g. 16 or [16])");
      o.output_shape = s[0];
    }
    c.ignore("output_shape");
    if (c.has("attention_axes")) {
      const std::string j = c.json("attention_axes");
      const std::vector<int64_t> axes =
          j.front() == '[' ? c.get_int_list("attention_axes") : std::vector<int64_t>{c.get_int("attention_axes")};
      // On 3-D inputs the projected tensors are (B, T, N, H): axis 1 (or -2) is time.
      if (axes.size() != 1 || (axes[0] != 1 && axes[0] != -2))
        c.fail("attention_axes",
               "= " + j + " is not supported by rnnx (it attends over the time axis of 3-D inputs: null or [1])");
    }
    c.ignore("attention_axes");
    if (c.get_bool("use_gate", false)) c.fail("use_gate", "= true is not supported by rnnx");
    if (c.has("sliding_window"))
      c.fail("sliding_window", "= " + c.json("sliding_window") + " is not supported by rnnx");
    c.ignore("sliding_window");
    if (c.has("flash_attention") && c.get_bool("flash_attention"))
      c.fail("flash_attention", "= true is not supported by rnnx (it changes no numbers; set it to null)");
    c.ignore("flash_attention");
    o.kernel_initializer = c.get_initializer("kernel_initializer", Initializer::from_name("glorot_uniform"));
    o.bias_initializer = c.get_initializer("bias_initializer", Initializer::from_name("zeros"));
    o.kernel_regularizer = c.get_regularizer("kernel_regularizer");
    o.bias_regularizer = c.get_regularizer("bias_regularizer");
    o.kernel_constraint = c.get_constraint("kernel_constraint");
    o.bias_constraint = c.get_constraint("bias_constraint");
    if (c.has("activity_regularizer"))
      c.fail("activity_regularizer",
             "is not supported by rnnx on MultiHeadAttention (Keras applies it to each projection's output)");
    c.ignore("activity_regularizer");
    // tf_keras records the shapes of the first call (it builds the projections from them in
    // from_config); rnnx builds at the first call and checks the weights' shapes on load.
    // Keras 3 has no such arguments (it keeps build_config) and its Layer refuses them.
    for (const char* key : {"query_shape", "key_shape", "value_shape"})
      if (c.version().tf_keras) c.ignore(key);
    // tf_keras' softmax_robust_masking = false adds -1e9 to masked scores, as Keras 3 does;
    // true (tf.where on the mask) is refused.
    if (c.version().tf_keras && c.get_bool("softmax_robust_masking", false))
      c.fail("softmax_robust_masking", "= true is not supported by rnnx (Keras 3 and rnnx add -1e9 to masked scores)");
    o.seed = optional_seed(c);
    auto layer = std::make_unique<MultiHeadAttention<T>>(o, name);
    apply_seed(o.seed, *layer);
    return layer;
  }
  return nullptr;
}

template <class T>
bool set_attention_call_flag(Layer<T>& layer, const std::string& key, bool value) {
  if (auto* a = dynamic_cast<Attention<T>*>(&layer)) {
    (key == "use_causal_mask" ? a->mutable_options().use_causal_mask : a->mutable_options().return_attention_scores) =
        value;
    return true;
  }
  if (auto* m = dynamic_cast<MultiHeadAttention<T>*>(&layer)) {
    (key == "use_causal_mask" ? m->mutable_options().use_causal_mask : m->mutable_options().return_attention_scores) =
        value;
    return true;
  }
  return false;
}

bool is_attention_class(const std::string& class_name) {
  return class_name == "Attention" || class_name == "AdditiveAttention" || class_name == "MultiHeadAttention";
}

template std::unique_ptr<Layer<float>> make_attention_layer<float>(const std::string&, const KerasConfig&,
                                                                   const std::string&);
template std::unique_ptr<Layer<double>> make_attention_layer<double>(const std::string&, const KerasConfig&,
                                                                     const std::string&);
template bool set_attention_call_flag<float>(Layer<float>&, const std::string&, bool);
template bool set_attention_call_flag<double>(Layer<double>&, const std::string&, bool);

}  // namespace rnnx::detail
