// Trainer checkpoints: make, save, restore, load (include/rnnx/train/trainer.h, "Checkpoints").
// Kept apart from the fit loop (trainer.cpp); fit only asks start_shuffle_rng() for its
// shuffling generator.
#include <algorithm>

#include "rnnx/core/error.h"
#include "rnnx/io/checkpoint.h"
#include "rnnx/io/save_model.h"
#include "rnnx/model/model.h"
#include "rnnx/train/trainer.h"
#include "train/layer_rngs.h"

namespace rnnx {
namespace {

using detail::layer_rngs;
using detail::LayerRng;

// The model's Keras JSON, or "" when it has none: a plain layer, or a model Keras 3 could
// not load (ConfigError from model_to_keras_json), which can still be trained and resumed.
template <class T>
std::string model_config_of(Layer<T>& layer) {
  auto* model = dynamic_cast<Model<T>*>(&layer);
  if (!model) return "";
  try {
    return model_to_keras_json(*model);
  } catch (const ConfigError&) {
    return "";
  }
}

bool all_zero(const Rng::State& state) {
  return std::all_of(std::begin(state.words), std::end(state.words), [](uint64_t w) { return w == 0; });
}

}  // namespace

template <class T>
Rng& Trainer<T>::start_shuffle_rng(uint64_t seed) {
  if (!resume_shuffle_rng_) shuffle_rng_ = Rng(seed);
  resume_shuffle_rng_ = false;
  return shuffle_rng_;
}

template <class T>
Checkpoint<T> Trainer<T>::make_checkpoint(int64_t completed_epochs) {
  check_compiled("make_checkpoint");
  if (completed_epochs < 0)
    throw ConfigError("make_checkpoint: completed_epochs must be >= 0, got " + std::to_string(completed_epochs));
  const Optimizer<T>& opt = optimizer();
  Checkpoint<T> ck;
  ck.epoch = completed_epochs;
  ck.step = opt.iterations();
  ck.rng = shuffle_rng_.state();
  for (const LayerRng<T>& r : layer_rngs(model_)) ck.layer_rngs.push_back({r.name, r.get()});
  ck.model_config = model_config_of(model_);
  if (!opt.has_schedule()) ck.scalars["learning_rate"] = static_cast<double>(opt.learning_rate());
  ck.weights = capture_weights(model_);
  ck.optimizer_tensors = opt.state();
  return ck;
}

template <class T>
void Trainer<T>::save_checkpoint(const std::string& path, int64_t completed_epochs) {
  write_checkpoint(path, make_checkpoint(completed_epochs));
}

template <class T>
void Trainer<T>::restore_checkpoint(const Checkpoint<T>& ck) {
  check_compiled("restore_checkpoint");
  Optimizer<T>& opt = optimizer();
  const std::string where = "model '" + model_.name() + "'";

  // Checks that need neither the model nor the optimizer state.
  if (ck.epoch < 0 || ck.step < 0)
    throw FormatError(where + ": the checkpoint has a negative epoch or step (" + std::to_string(ck.epoch) + ", " +
                      std::to_string(ck.step) + ")");
  const auto lr = ck.scalars.find("learning_rate");
  const bool constant_lr = lr != ck.scalars.end();
  if (constant_lr == opt.has_schedule())
    throw FormatError(where + ": the checkpoint was made with " +
                      (constant_lr ? "a constant learning rate" : "a learning rate schedule") + ", but " +
                      opt.class_name() + " '" + opt.name() + "' has " +
                      (opt.has_schedule() ? "a schedule" : "a constant learning rate"));
  if (constant_lr && !(lr->second >= 0.0))
    throw FormatError(where + ": the checkpoint's learning_rate is " + std::to_string(lr->second));
  if (all_zero(ck.rng)) throw FormatError(where + ": the checkpoint's shuffling RNG state is all zeros");
  for (const NamedRngState& r : ck.layer_rngs)
    if (all_zero(r.state))
      throw FormatError(where + ": the checkpoint's RNG state of layer '" + r.name + "' is all zeros");

  // restore_weights first, so another model is named by its first differing weight; it
  // checks all weights before it sets any, and is undone if a later check fails.
  const std::vector<NamedTensor<T>> before = capture_weights(model_);
  restore_weights(model_, ck.weights);
  const std::vector<LayerRng<T>> rngs = layer_rngs(model_);
  try {
    for (size_t i = 0; i < std::min(rngs.size(), ck.layer_rngs.size()); ++i)
      if (rngs[i].name != ck.layer_rngs[i].name)
        throw FormatError(where + ": dropout generator " + std::to_string(i) + " belongs to layer '" + rngs[i].name +
                          "', the checkpoint's to layer '" + ck.layer_rngs[i].name + "'");
    if (rngs.size() != ck.layer_rngs.size())
      throw FormatError(where + ": the checkpoint holds " + std::to_string(ck.layer_rngs.size()) +
                        " layer dropout generators, the model has " + std::to_string(rngs.size()));
    opt.set_state(model_.params(), ck.optimizer_tensors);
  } catch (...) {
    restore_weights(model_, before);
    throw;
  }

  // Nothing below can fail.
  opt.set_iterations(ck.step);
  if (constant_lr) opt.set_learning_rate(lr->second);
  for (size_t i = 0; i < rngs.size(); ++i) rngs[i].set(ck.layer_rngs[i].state);
  shuffle_rng_.set_state(ck.rng);
  resume_shuffle_rng_ = true;
}

template <class T>
int64_t Trainer<T>::load_checkpoint(const std::string& path) {
  check_compiled("load_checkpoint");
  const Checkpoint<T> ck = read_checkpoint<T>(path);
  try {
    restore_checkpoint(ck);
  } catch (const FormatError& e) {
    throw FormatError("checkpoint '" + path + "': " + e.what());
  }
  return ck.epoch;
}

template Rng& Trainer<float>::start_shuffle_rng(uint64_t);
template Checkpoint<float> Trainer<float>::make_checkpoint(int64_t);
template void Trainer<float>::save_checkpoint(const std::string&, int64_t);
template void Trainer<float>::restore_checkpoint(const Checkpoint<float>&);
template int64_t Trainer<float>::load_checkpoint(const std::string&);
template Rng& Trainer<double>::start_shuffle_rng(uint64_t);
template Checkpoint<double> Trainer<double>::make_checkpoint(int64_t);
template void Trainer<double>::save_checkpoint(const std::string&, int64_t);
template void Trainer<double>::restore_checkpoint(const Checkpoint<double>&);
template int64_t Trainer<double>::load_checkpoint(const std::string&);

}  // namespace rnnx
