#pragma once
// Native training checkpoints: everything needed to resume training where it stopped.
//
//   trainer.save_checkpoint("run.ckpt", 3);            // train/trainer.h fills every field
//   ...
//   const int64_t done = trainer.load_checkpoint("run.ckpt");
//   trainer.fit(x, y, {.epochs = 10, .initial_epoch = done});
//
// or by hand:
//   rnnx::Checkpoint<float> ck;
//   ck.epoch = 3;  ck.step = optimizer.iterations();
//   ck.weights = rnnx::capture_weights(model);
//   ck.optimizer_tensors = optimizer.state();  ck.scalars = {{"learning_rate", 1e-3}};
//   ck.rng = rng.state();
//   rnnx::write_checkpoint("run.ckpt", ck);
//   auto back = rnnx::read_checkpoint<float>("run.ckpt");
//   rnnx::restore_weights(model, back.weights);
//
// The file itself does not interpret the optimizer tensors and scalars: Trainer stores
// Optimizer::state() and "learning_rate" there (trainer.h says what it stores where).
//
// File format (little-endian), version 2:
//   "RNNXCKPT"  u32 version  u32 scalar bytes (4 float, 8 double)  u64 body bytes
//   body: i64 epoch, i64 step, rng (4 x u64, u8 has_spare, f64 spare),
//         u32 n + n x (string name, rng)                      layer rngs
//         string model_config,
//         u32 n + n x (string name, f64 value)               scalars
//         u32 n + n x (string name, u32 rank, rank x i64 dims, values)   weights
//         u32 n + n x (the same)                              optimizer tensors
//   u32 CRC-32 of everything before it.      (string = u64 length + bytes)
// Version 1 (no layer rngs) was never released; it is refused like any other version.
// Writing is atomic (temporary file + rename). Reading checks everything before it
// allocates or returns: magic, version, scalar type (a float checkpoint is not read as
// double, or the reverse), sizes against the file, dimension sanity, the CRC, an all-zero
// RNG state, trailing bytes. Any defect raises FormatError naming the file and what is
// wrong; the operating system's refusals raise IoError.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rnnx/core/named_tensor.h"
#include "rnnx/core/rng.h"
#include "rnnx/core/tensor.h"
#include "rnnx/layers/layer.h"

namespace rnnx {

inline constexpr uint32_t kCheckpointVersion = 2;

// The state of one layer's random generator (dropout), named by the layer's path in the
// model ("lstm", "bidirectional/forward_lstm").
struct NamedRngState {
  std::string name;
  Rng::State state{};
};

template <class T>
struct Checkpoint {
  int64_t epoch = 0;  // completed epochs
  int64_t step = 0;   // completed optimizer steps
  Rng::State rng{};   // the training RNG (fit's shuffling), Rng::state()
  std::vector<NamedRngState> layer_rngs;  // the layers' dropout generators
  // Keras JSON of the architecture (model_to_keras_json), or "" to store none.
  std::string model_config;
  std::map<std::string, double> scalars;          // caller-defined (optimizer scalars, ...)
  std::vector<NamedTensor<T>> weights;            // capture_weights(model)
  std::vector<NamedTensor<T>> optimizer_tensors;  // caller-defined
};

template <class T>
void write_checkpoint(const std::string& path, const Checkpoint<T>& checkpoint);
template <class T>
Checkpoint<T> read_checkpoint(const std::string& path);
// The same, in memory (`where` names the content in errors).
template <class T>
std::vector<uint8_t> serialize_checkpoint(const Checkpoint<T>& checkpoint);
template <class T>
Checkpoint<T> parse_checkpoint(const std::vector<uint8_t>& bytes, const std::string& where = "<memory>");

// Copies of the model's weights in params() order (a Model names them "<layer>/<weight>").
template <class T>
std::vector<NamedTensor<T>> capture_weights(Layer<T>& model);
// Sets the model's weights from capture_weights() output. Checks names and shapes of all of
// them, then the count, first (FormatError naming the first mismatching weight); on error
// the model is unchanged.
template <class T>
void restore_weights(Layer<T>& model, const std::vector<NamedTensor<T>>& weights);

}  // namespace rnnx
