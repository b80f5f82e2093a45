#pragma once
// Keras-style training: compile, fit, evaluate, predict, train_on_batch (K3
// keras/src/trainers/trainer.py, backend/tensorflow/trainer.py, data_adapters/).
//
//   Sequential<float> model(...);
//   Trainer<float> trainer(model);
//   trainer.compile("mse", "adam", {"mae"});
//   History h = trainer.fit(x, y, {.batch_size = 16, .epochs = 10, .validation_split = 0.2});
//   Logs scores = trainer.evaluate(x_test, y_test);
//   Tensor<float> y_hat = trainer.predict(x_test);
//
// The trainer drives any Layer<T> (usually a Model or Sequential) through the backward
// contract of layers/layer.h: a training-mode call, then backward(dL/doutputs). It holds a
// reference: the model must outlive it.
//
// One training step (train_on_batch, and each batch of fit), as Keras's train_step:
//   1. zero the gradients; run the model in training mode on the batch (a Model reports the
//      mask of each output; the loss of a masked sequence output averages over unmasked steps)
//   2. loss = Σ_outputs loss_weight·loss(y, y_pred, sample_weight, mask)
//             + Σ_trainable weights regularizer penalty  (Param::regularizer, spec §3.9)
//             + activity penalties of the run (Model::activity_loss(); for a bare layer,
//               its activity_regularizer on all its outputs), as Keras also in evaluate
//   3. backward, plus the penalties' gradients; optimizer.apply(params) (clipping, weight
//      decay, update, constraints, iterations += 1; optimizer.h)
//   4. the "loss" log is the mean of the batch losses weighted by batch size; metrics get
//      y, y_pred and the output mask (no sample weights, as Keras `metrics=`).
// Logs names: "loss", each metric's name; with several outputs also "<output>_loss" (the
// unweighted loss of that output) and "<output>_<metric>", where <output> is the name of the
// layer producing the output (Model::key_of), or "output_<i>" for a plain layer.
//
// fit(): samples are the first axis of every x and y (and sample_weight); validation_split
// takes the LAST fraction of the samples (floor(n·(1-split)) stay for training) before any
// shuffling, as Keras; shuffle permutes the training samples every epoch with Rng(seed)
// (Fisher-Yates), so the same seed (and the same model seeds) gives a bit-identical run;
// the last batch of an epoch may be smaller. class_weight maps a class id (from y: the
// value, or argmax of a one-hot row) to a sample weight; it applies to training batches only
// and cannot be combined with sample_weight. Validation runs after each epoch (inference
// mode) and adds "val_<name>" entries. Callbacks: callback.h.
//
// Output: verbose 0 prints nothing; verbose 1 shows a Keras progress bar when the progress
// stream is a terminal (stdout checked with isatty), else one line per epoch; verbose 2 one
// line per epoch. The stream is `progress` (std::cout when null). Nothing else prints.
//
// Checkpoints (io/checkpoint.h; ModelCheckpoint writes them for a ".ckpt" path): a stopped
// run continues exactly, bit for bit, as if it had not stopped:
//   trainer.fit(x, y, {.epochs = 2, .callbacks = {ckpt_every_epoch}});     // run.ckpt
//   ... a new process, the same model built and compiled the same way ...
//   const int64_t done = trainer.load_checkpoint("run.ckpt");
//   trainer.fit(x, y, {.epochs = 4, .initial_epoch = done});               // epochs 3 and 4
// A checkpoint holds the weights, the optimizer's slot variables (Optimizer::state()),
// iterations (as step) and constant learning rate (scalar "learning_rate"), fit's shuffling
// generator, the random generators of the model's layers (RNN, Dropout, noise and attention
// layers, also inside Bidirectional, TimeDistributed and nested models; a user-defined
// layer's own randomness is not seen), and the model's Keras JSON when it has one. Not in it: the
// states of stateful layers, metric and callback state (ReduceLROnPlateau's patience, ...).
//
// Errors: StateError before compile(); ConfigError for invalid options (batch_size <= 0,
// epochs < 0, validation_split outside [0, 1) or leaving no training or validation samples,
// class_weight with sample_weight or several outputs, a loss with reduction "none");
// ShapeError for mismatched sample counts, a wrong number of x or y arrays, y that does not
// fit the predictions (from the loss, naming it).
#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/core/rng.h"
#include "rnnx/core/tensor.h"
#include "rnnx/io/checkpoint.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/batch_runner.h"
#include "rnnx/train/callback.h"
#include "rnnx/train/logs.h"
#include "rnnx/train/losses.h"
#include "rnnx/train/metrics.h"
#include "rnnx/train/optimizer.h"

namespace rnnx {

template <class T>
struct CompileOptions {
  // One loss for all outputs, or one per output (a null entry leaves that output untrained).
  std::vector<std::shared_ptr<const Loss<T>>> loss{};
  std::shared_ptr<Optimizer<T>> optimizer{};
  // metrics[i] are the metrics of output i (fewer entries than outputs: the rest have none).
  std::vector<std::vector<std::shared_ptr<Metric<T>>>> metrics{};
  // Per output; empty means 1 for every output.
  std::vector<double> loss_weights{};
};

template <class T>
struct ValidationData {
  std::vector<Tensor<T>> x{};
  std::vector<Tensor<T>> y{};
  std::optional<Tensor<T>> sample_weight{};
};

template <class T>
struct FitOptions {
  int64_t batch_size = 32;
  int64_t epochs = 1;
  int verbose = 1;  // Keras "auto"
  std::vector<std::shared_ptr<Callback<T>>> callbacks{};
  double validation_split = 0.0;
  std::optional<ValidationData<T>> validation_data{};  // takes precedence over validation_split
  bool shuffle = true;
  uint64_t seed = 0;  // for shuffling
  std::map<int64_t, double> class_weight{};
  std::optional<Tensor<T>> sample_weight{};  // [samples] or the per-element loss shape
  int64_t initial_epoch = 0;
  std::optional<int64_t> validation_batch_size{};  // default: batch_size
  std::ostream* progress = nullptr;                // verbose output; null = std::cout
  std::optional<bool> progress_dynamic{};          // force/forbid the bar; default: isatty(stdout)
};

template <class T>
struct EvaluateOptions {
  int64_t batch_size = 32;
  int verbose = 1;  // Keras "auto": a bar on a terminal, else one line; 0 = silent
  std::optional<Tensor<T>> sample_weight{};
  std::vector<std::shared_ptr<Callback<T>>> callbacks{};
  std::ostream* progress = nullptr;
  std::optional<bool> progress_dynamic{};
};

template <class T>
class Trainer {
 public:
  explicit Trainer(Layer<T>& model);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // ---- setup ------------------------------------------------------------------------------
  // Throws ConfigError for a missing optimizer or loss, a loss with reduction "none", or
  // loss/metrics/loss_weights lists longer than the outputs (checked at the first step, when
  // the outputs are known).
  void compile(CompileOptions<T> options);
  // Single-output shorthand: one loss; metrics apply to the (first) output.
  void compile(std::shared_ptr<const Loss<T>> loss, std::shared_ptr<Optimizer<T>> optimizer,
               std::vector<std::shared_ptr<Metric<T>>> metrics = {});
  // By Keras names (make_loss, make_optimizer with defaults, make_metric); with several
  // outputs the loss and every metric apply to each output.
  void compile(const std::string& loss, const std::string& optimizer, const std::vector<std::string>& metrics = {});
  bool compiled() const;

  // ---- running ----------------------------------------------------------------------------
  History fit(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y, const FitOptions<T>& options = {});
  History fit(const Tensor<T>& x, const Tensor<T>& y, const FitOptions<T>& options = {});
  Logs evaluate(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y,
                const EvaluateOptions<T>& options = {});
  Logs evaluate(const Tensor<T>& x, const Tensor<T>& y, const EvaluateOptions<T>& options = {});
  // Inference in batches; outputs concatenated over batches. ConfigError for batch_size <= 0.
  std::vector<Tensor<T>> predict(const std::vector<Tensor<T>>& x, int64_t batch_size = 32);
  Tensor<T> predict(const Tensor<T>& x, int64_t batch_size = 32);  // first output
  // One step on exactly this batch (metrics are reset first, as Keras); returns its logs.
  Logs train_on_batch(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y,
                      const Tensor<T>* sample_weight = nullptr, const std::map<int64_t, double>& class_weight = {});
  Logs train_on_batch(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>* sample_weight = nullptr);
  Logs test_on_batch(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y,
                     const Tensor<T>* sample_weight = nullptr);
  Logs test_on_batch(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>* sample_weight = nullptr);

  // ---- for callbacks ----------------------------------------------------------------------
  Layer<T>& model() { return model_; }
  Optimizer<T>& optimizer();  // StateError before compile
  // Asks fit to stop after the current batch (Keras model.stop_training = True).
  void set_stop_training(bool stop = true) { stop_training_ = stop; }
  bool stop_training() const { return stop_training_; }
  // Whether larger is better for a logged name ("loss", "<output>_loss", a metric name, each
  // optionally prefixed "val_"); nullopt for names it does not know.
  std::optional<MetricDirection> direction_of(const std::string& log_name) const;

  // ---- checkpoints (see the top of this file) ---------------------------------------------
  // The training state now, with `completed_epochs` as its epoch. StateError before compile.
  Checkpoint<T> make_checkpoint(int64_t completed_epochs);
  // make_checkpoint written atomically to `path` (write_checkpoint; IoError if it cannot be).
  void save_checkpoint(const std::string& path, int64_t completed_epochs);
  // Restores a checkpoint into the (built, compiled) model and optimizer; the next fit()
  // then continues its shuffling generator instead of starting one from FitOptions::seed.
  // Checks everything first and changes nothing on error: StateError before compile or
  // when the optimizer was already built for other variables; FormatError naming the first
  // mismatch when the weights (restore_weights), the optimizer state (Optimizer::set_state),
  // the layers' generators or the learning rate kind (constant or schedule) do not fit
  // this model and optimizer.
  void restore_checkpoint(const Checkpoint<T>& checkpoint);
  // read_checkpoint + restore_checkpoint; returns the completed epochs, to pass as
  // FitOptions::initial_epoch. FormatError/IoError from reading name the file.
  int64_t load_checkpoint(const std::string& path);

  // ---- how steps run the model (train/batch_runner.h) -------------------------------------
  // Every following step of fit, evaluate, train_on_batch and test_on_batch runs the model
  // through `runner` (null: the model itself, the default); predict() is not affected.
  // DataParallel (train/data_parallel.h) installs one for its lifetime.
  void set_batch_runner(BatchRunner<T>* runner) { runner_ = runner; }
  BatchRunner<T>* batch_runner() const { return runner_; }

 private:
  template <class U>
  friend class DataParallel;  // shares the shuffling generator's state across processes

  struct Compiled;
  struct Batch;
  struct StepResult;

  StepResult run_step(const Batch& batch, bool training);
  void resolve_outputs(size_t n_out);
  void reset_metrics();
  Logs current_logs() const;
  Logs evaluate_batches(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y,
                        const std::optional<Tensor<T>>& sample_weight, int64_t batch_size,
                        const std::vector<Callback<T>*>& callbacks);
  void check_compiled(const char* what) const;
  // fit's shuffling generator: the restored one once after restore_checkpoint, else Rng(seed).
  Rng& start_shuffle_rng(uint64_t seed);

  Layer<T>& model_;
  std::unique_ptr<Compiled> compiled_;
  bool stop_training_ = false;
  Rng shuffle_rng_{0};               // fit's, kept here so a checkpoint can save it
  bool resume_shuffle_rng_ = false;  // set by restore_checkpoint, used by the next fit
  BatchRunner<T>* runner_ = nullptr;
};

extern template class Trainer<float>;
extern template class Trainer<double>;

}  // namespace rnnx
