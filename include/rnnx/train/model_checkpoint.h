#pragma once
// ModelCheckpoint (K3 keras/src/callbacks/model_checkpoint.py). By the file name ending:
//   ".ckpt"  the native training checkpoint of the running trainer (Trainer::save_checkpoint:
//            weights, optimizer state, RNG states, epoch; io/checkpoint.h), from which
//            Trainer::load_checkpoint resumes training exactly
//   ".npz"   the model's weights as a NumPy archive (layout below)
//
// At each epoch end the file path is formatted from `filepath` with Python format fields:
// {epoch} (1-based, e.g. "{epoch:02d}") and any log name ("{val_loss:.4f}"). With
// save_best_only the file is written only when the monitored value improves (see
// monitor_callback.h; initial_value_threshold is the initial best); otherwise every epoch.
// The write is atomic: a temporary file in the same directory renamed over the target
// (write_checkpoint, write_npz), so a reader never sees a half-written checkpoint. Missing
// directories are created. Errors: ConfigError for a filepath ending in neither ".ckpt" nor
// ".npz" or a bad format field, IoError when the file cannot be written.
//
// Archive layout (save_weights_npz / load_weights_npz): one array per weight, in params()
// order, keyed by the weight's name (a Model names them "<layer>/<weight>", e.g.
// "lstm/kernel"); a repeated name gets "_<index>" appended.
#include <optional>
#include <string>

#include "rnnx/layers/layer.h"
#include "rnnx/train/monitor_callback.h"

namespace rnnx {

// Writes all weights of `model` (params()) atomically to `path`.
template <class T>
void save_weights_npz(Layer<T>& model, const std::string& path);
// Reads weights written by save_weights_npz into `model` (built). FormatError for a missing
// key or a shape mismatch, naming the weight; IoError for an unreadable file.
template <class T>
void load_weights_npz(Layer<T>& model, const std::string& path);

struct ModelCheckpointOptions {
  std::string monitor = "val_loss";
  bool save_best_only = false;
  std::string mode = "auto";
  std::optional<double> initial_value_threshold{};
};

template <class T>
class ModelCheckpoint : public MonitorCallback<T> {
 public:
  ModelCheckpoint(std::string filepath, ModelCheckpointOptions options = {});

  void on_epoch_end(int64_t epoch, Logs& logs) override;

  // The path of the last file written ("" if none yet).
  const std::string& last_saved() const { return last_saved_; }

 private:
  std::string filepath_;
  bool native_ = false;  // ".ckpt" (else ".npz")
  ModelCheckpointOptions options_;
  std::string last_saved_;
};

extern template class ModelCheckpoint<float>;
extern template class ModelCheckpoint<double>;

}  // namespace rnnx
