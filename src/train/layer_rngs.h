#pragma once
// The random generators of a model's layers, found by walking the model (internal; used by
// the trainer's checkpoints, trainer_checkpoint.cpp, and by data-parallel training, which
// rewinds them before each shard of a batch, data_parallel.cpp).
//
// Seen: RNN layers (their dropout), Dropout (and SpatialDropout1D), the noise layers
// (GaussianNoise, GaussianDropout, AlphaDropout), Attention / AdditiveAttention and
// MultiHeadAttention (attention dropout); also inside Model, Bidirectional and
// TimeDistributed. A user-defined layer's own randomness is not seen.
#include <string>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/layers/attention.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/dropout.h"
#include "rnnx/layers/layer.h"
#include "rnnx/layers/multi_head_attention.h"
#include "rnnx/layers/noise.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/model.h"

namespace rnnx::detail {

// One layer's generator, named by the layer's path below the trained model
// ("bidirectional/forward_lstm"). Exactly one pointer is set.
template <class T>
struct LayerRng {
  std::string name;
  RNN<T>* rnn = nullptr;
  Dropout<T>* dropout = nullptr;
  NoiseLayer<T>* noise = nullptr;
  Attention<T>* attention = nullptr;
  MultiHeadAttention<T>* mha = nullptr;

  Rng::State get() const {
    if (rnn) return rnn->dropout_rng_state();
    if (dropout) return dropout->dropout_rng_state();
    if (noise) return noise->noise_rng_state();
    if (attention) return attention->dropout_rng_state();
    return mha->dropout_rng_state();
  }
  void set(const Rng::State& state) const {
    if (rnn)
      rnn->set_dropout_rng_state(state);
    else if (dropout)
      dropout->set_dropout_rng_state(state);
    else if (noise)
      noise->set_noise_rng_state(state);
    else if (attention)
      attention->set_dropout_rng_state(state);
    else
      mha->set_dropout_rng_state(state);
  }
};

// The generators of `layer` and of the layers inside it, depth first in layers() order.
template <class T>
void collect_layer_rngs(Layer<T>& layer, const std::string& path, std::vector<LayerRng<T>>& out) {
  const auto inner = [&](Layer<T>& child) {
    collect_layer_rngs(child, path.empty() ? child.name() : path + "/" + child.name(), out);
  };
  if (auto* model = dynamic_cast<Model<T>*>(&layer)) {
    for (const auto& child : model->layers()) inner(*child);
  } else if (auto* bidi = dynamic_cast<Bidirectional<T>*>(&layer)) {
    inner(bidi->forward_layer());
    inner(bidi->backward_layer());
  } else if (auto* td = dynamic_cast<TimeDistributed<T>*>(&layer)) {
    inner(*td->layer());
  } else if (auto* rnn = dynamic_cast<RNN<T>*>(&layer)) {
    out.push_back({path, rnn});
  } else if (auto* dropout = dynamic_cast<Dropout<T>*>(&layer)) {
    out.push_back({path, nullptr, dropout});
  } else if (auto* noise = dynamic_cast<NoiseLayer<T>*>(&layer)) {
    out.push_back({path, nullptr, nullptr, noise});
  } else if (auto* attention = dynamic_cast<Attention<T>*>(&layer)) {
    out.push_back({path, nullptr, nullptr, nullptr, attention});
  } else if (auto* mha = dynamic_cast<MultiHeadAttention<T>*>(&layer)) {
    out.push_back({path, nullptr, nullptr, nullptr, nullptr, mha});
  }
}

// All generators of the trained model; the model's own name is left out, as in weight names
// ("lstm/kernel").
template <class T>
std::vector<LayerRng<T>> layer_rngs(Layer<T>& model) {
  std::vector<LayerRng<T>> out;
  collect_layer_rngs(model, dynamic_cast<Model<T>*>(&model) ? "" : model.name(), out);
  return out;
}

}  // namespace rnnx::detail
