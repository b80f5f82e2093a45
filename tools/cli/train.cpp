// rnnx train [DATA] [options]: fit a model (train_model.h) on a data source (data.h) and
// write the run's outputs to a folder: model.keras, history.csv, curves.png, settings.json
// and (unless --no-checkpoint) checkpoint.ckpt, from which --resume continues bit for bit.
// Under `mpirun -np N` it trains data-parallel (parallel_job.h, train/data_parallel.h): the
// same weights for every N; rank 0 prints and writes; --resume works with another N.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"
#include "data.h"
#include "parallel_job.h"
#include "plot.h"
#include "rnnx/core/error.h"
#include "rnnx/io/csv.h"
#include "rnnx/io/save_model.h"
#include "rnnx/train/csv_logger.h"
#include "rnnx/train/data_parallel.h"
#include "rnnx/train/early_stopping.h"
#include "rnnx/train/losses.h"
#include "rnnx/train/metrics.h"
#include "rnnx/train/model_checkpoint.h"
#include "rnnx/train/terminate_on_nan.h"
#include "rnnx/train/optimizer.h"
#include "rnnx/train/reduce_lr_on_plateau.h"
#include "rnnx/train/trainer.h"
#include "run_files.h"
#include "train_model.h"

namespace rnnx::cli {

namespace fs = std::filesystem;

namespace {

struct TrainCommand {
  DataOptions data;
  ModelChoice model;
  std::string output = "rnnx-train";
  int64_t epochs = 15, batch_size = 32;
  std::string optimizer = "adam";
  double learning_rate = 0;  // 0 = the optimizer's Keras default
  double clipnorm = 0, clipvalue = 0;
  std::string loss;
  std::vector<std::string> metrics;
  double validation_split = 0.1;
  std::string validation_data;
  bool no_shuffle = false;
  int threads = 0;
  int64_t early_stopping = 0;
  bool restore_best_weights = false;
  int64_t reduce_lr = 0;
  double reduce_lr_factor = 0.5;
  bool no_checkpoint = false, resume = false;
  std::string class_weight;
  std::string standardize = "auto";
  int verbose = 1;
  int64_t shards = 8;  // under mpirun: DataParallelOptions::shards
};

std::map<int64_t, double> parse_class_weight(const std::string& text, const Dataset& d) {
  std::map<int64_t, double> w;
  if (text.empty()) return w;
  if (d.task != Task::classification || d.one_hot)
    throw UsageError("--class-weight needs classification with integer labels");
  if (text == "balanced") {  // n / (K * count_k), as scikit-learn's compute_class_weight
    std::vector<int64_t> count(static_cast<size_t>(d.classes), 0);
    for (float v : d.data.y.values()) ++count[static_cast<size_t>(v)];
    const double n = static_cast<double>(d.data.y.size());
    for (int64_t k = 0; k < d.classes; ++k)
      if (count[static_cast<size_t>(k)] > 0)
        w[k] = n / (static_cast<double>(d.classes) * static_cast<double>(count[static_cast<size_t>(k)]));
    return w;
  }
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t colon = item.find(':');
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      size_t used = 0;
      const int64_t k = std::stoll(item.substr(0, colon), &used);
      const double v = std::stod(item.substr(colon + 1));
      if (k < 0 || k >= d.classes || !(v >= 0)) throw std::out_of_range("range");
      w[k] = v;
    } catch (const std::logic_error&) {
      throw UsageError("--class-weight: '" + item + "' is not CLASS:WEIGHT with CLASS in 0.." +
                       std::to_string(d.classes - 1) + " and WEIGHT >= 0 (or use 'balanced')");
    }
  }
  return w;
}

std::string default_loss(const Dataset& d) {
  if (d.task == Task::regression) return "mse";
  return d.one_hot ? "categorical_crossentropy" : "sparse_categorical_crossentropy";
}

// Keeps the rows of epochs < `done` in the history file (a run killed after writing an
// epoch's row but before its checkpoint would otherwise repeat that row on --resume).
void truncate_history(const std::string& path, int64_t done) {
  if (!fs::exists(path)) return;
  std::ifstream f(path, std::ios::binary);
  std::string line, kept;
  bool header = true;
  size_t fields = 0;
  while (std::getline(f, line)) {
    const size_t n = static_cast<size_t>(std::count(line.begin(), line.end(), ',')) + 1;
    if (header) {
      kept += line + "\n";
      header = false;
      fields = n;
      continue;
    }
    // A row cut short by a kill in the middle of its write is dropped too.
    const int64_t epoch = std::strtoll(line.c_str(), nullptr, 10);
    if (epoch < done && n == fields) kept += line + "\n";
  }
  write_text_atomic(path, kept);
}

void draw_history(const std::string& csv, const std::string& png, const std::string& title) {
  const CsvTable t = read_csv(csv);
  std::vector<std::string> names;
  std::vector<std::vector<double>> columns;
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (t.columns[c] == "epoch") continue;
    std::vector<double> v;
    for (const auto& row : t.rows) {
      double x = NAN;
      if (!parse_csv_number(row[c], x)) x = NAN;
      v.push_back(x);
    }
    names.push_back(t.columns[c]);
    columns.push_back(std::move(v));
  }
  write_history_png(png, names, columns, title);
}

// Fails before any training if the folder cannot take files (read-only, no permission, no
// space), and removes temporary files that a killed run left behind (outputs are written to
// "<name>.tmp.<pid>.<n>" and renamed; one output folder belongs to one run at a time).
void prepare_output_folder(const std::string& dir) {
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.find(".tmp.") != std::string::npos) fs::remove(e.path());
  }
  write_text_atomic((fs::path(dir) / ".rnnx-write-check").string(), "");
  fs::remove(fs::path(dir) / ".rnnx-write-check");
}

// Training on a NaN or Inf only spreads it into every weight: refuse such data up front,
// naming the array and the first bad element (inference leaves NaN to IEEE arithmetic).
void require_finite(const Tensor<float>& t, const std::string& what) {
  for (int64_t i = 0; i < t.size(); ++i) {
    if (std::isfinite(t[i])) continue;
    const int64_t per_sample = t.rank() > 0 && t.dim(0) > 0 ? t.size() / t.dim(0) : 1;
    throw NumericError(what + " holds " + format_value(t[i]) + " at sample " + std::to_string(i / per_sample) +
                       ", element " + std::to_string(i % per_sample) +
                       " of the sample; training needs finite values (drop or fill those samples first)");
  }
}

void require_finite(const Dataset& d, const std::optional<ValidationData<float>>& validation) {
  require_finite(d.data.x, "the training inputs");
  require_finite(d.data.y, "the training labels");
  if (validation) {
    require_finite(validation->x[0], "the validation inputs");
    require_finite(validation->y[0], "the validation labels");
  }
}

// The wall time of each epoch, validation included (settings.json "epoch_seconds").
class EpochTimer : public Callback<float> {
 public:
  void on_epoch_begin(int64_t /*epoch*/, const Logs& /*logs*/) override { start_ = std::chrono::steady_clock::now(); }
  void on_epoch_end(int64_t /*epoch*/, Logs& /*logs*/) override {
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  std::vector<double> seconds;

 private:
  std::chrono::steady_clock::time_point start_;
};

int run_train(TrainCommand& o) {
  const auto t0 = std::chrono::steady_clock::now();
  set_threads(o.threads);
  // Under mpirun, data-parallel: every rank loads the data and builds the model; rank 0
  // prints and writes the outputs.
  const std::shared_ptr<Communicator> job = parallel_job();
  const bool writer = !job || job->rank() == 0;
  std::ostream& out = rank0_out();
  Dataset data = load_dataset(o.data, DataUse::train);
  out << "data: " << data.description << "\n";

  // Validation: --validation-data, else the source's own, else the last fraction.
  std::optional<ValidationData<float>> validation;
  if (!o.validation_data.empty()) {
    DataOptions vo = o.data;
    vo.data = o.validation_data;
    vo.limit = 0;
    const Dataset v = load_dataset(vo, DataUse::evaluate);
    validation = ValidationData<float>{{v.data.x}, {v.data.y}, std::nullopt};
  } else if (data.validation) {
    validation = ValidationData<float>{{data.validation->x}, {data.validation->y}, std::nullopt};
  }

  require_finite(data, validation);

  // Regression presets train on standardised data; the scaling is folded into the weights
  // afterwards, so the saved model takes and predicts raw values.
  BuiltModel built = build_train_model(o.model, data);
  Model<float>& model = *built.model;
  std::optional<Standardization> scaling;
  const bool want_scaling =
      o.standardize == "on" || (o.standardize == "auto" && data.task == Task::regression && built.preset);
  if (want_scaling) {
    if (data.task != Task::regression) throw UsageError("--standardize on applies to regression data");
    if (!can_fold_standardization(model))
      throw UsageError(
          "--standardize: the model has no first recurrent layer with a bias and last linear Dense "
          "layer to fold the scaling into; use --standardize off");
    scaling = fit_standardization(data.data.x, data.data.y);
    apply_standardization(*scaling, data.data.x, &data.data.y);
    if (validation) apply_standardization(*scaling, validation->x[0], &validation->y[0]);
  }
  out << "model: " << built.description << "\n" << model.summary() << "\n";

  std::map<std::string, double> kwargs;
  if (o.learning_rate > 0) kwargs["learning_rate"] = o.learning_rate;
  if (o.clipnorm > 0) kwargs["clipnorm"] = o.clipnorm;
  if (o.clipvalue > 0) kwargs["clipvalue"] = o.clipvalue;
  std::vector<std::string> metric_names = o.metrics;
  if (metric_names.empty())
    metric_names = {data.task == Task::classification ? std::string("accuracy") : std::string("mae")};
  const std::string loss = o.loss.empty() ? default_loss(data) : o.loss;
  Trainer<float> trainer(model);
  std::vector<std::shared_ptr<Metric<float>>> metrics;
  for (const auto& m : metric_names) metrics.push_back(make_metric<float>(m));
  trainer.compile(std::shared_ptr<const Loss<float>>(make_loss<float>(loss)),
                  std::shared_ptr<Optimizer<float>>(make_optimizer<float>(o.optimizer, kwargs)), metrics);

  if (writer) prepare_output_folder(o.output);
  const std::string ckpt = (fs::path(o.output) / "checkpoint.ckpt").string();
  const std::string history_csv = (fs::path(o.output) / "history.csv").string();
  int64_t initial_epoch = 0;
  std::unique_ptr<DataParallel<float>> dp;
  if (job) dp = std::make_unique<DataParallel<float>>(trainer, job, DataParallelOptions{.shards = o.shards});
  if (o.resume) {
    if (writer && !fs::exists(ckpt))
      throw IoError("--resume: no checkpoint '" + ckpt + "' (run the same command without --resume first)");
    initial_epoch = dp ? dp->load_checkpoint(ckpt) : trainer.load_checkpoint(ckpt);
    if (writer) truncate_history(history_csv, initial_epoch);
    out << "resuming after epoch " << initial_epoch << " from " << ckpt << "\n";
  } else if (writer) {
    fs::remove(history_csv);
  }

  FitOptions<float> fo;
  fo.batch_size = o.batch_size;
  fo.epochs = o.epochs;
  fo.initial_epoch = initial_epoch;
  fo.verbose = o.verbose;
  fo.shuffle = !o.no_shuffle;
  fo.seed = o.model.seed;
  fo.class_weight = parse_class_weight(o.class_weight, data);
  if (validation)
    fo.validation_data = validation;
  else
    fo.validation_split = o.validation_split;
  // First: a NaN loss stops the epoch before anything of it is logged or checkpointed.
  fo.callbacks.push_back(std::make_shared<TerminateOnNaN<float>>(/*raise_error=*/true));
  const auto epoch_timer = std::make_shared<EpochTimer>();
  fo.callbacks.push_back(epoch_timer);
  if (writer) fo.callbacks.push_back(std::make_shared<CSVLogger<float>>(history_csv, ",", o.resume));
  if (writer && !o.no_checkpoint) fo.callbacks.push_back(std::make_shared<ModelCheckpoint<float>>(ckpt));
  const bool has_validation = validation || o.validation_split > 0;
  const std::string monitor = has_validation ? "val_loss" : "loss";
  if (o.early_stopping > 0) {
    EarlyStoppingOptions es;
    es.monitor = monitor;
    es.patience = o.early_stopping;
    es.restore_best_weights = o.restore_best_weights;
    fo.callbacks.push_back(std::make_shared<EarlyStopping<float>>(es));
  }
  if (o.reduce_lr > 0) {
    ReduceLROnPlateauOptions rl;
    rl.monitor = monitor;
    rl.patience = o.reduce_lr;
    rl.factor = o.reduce_lr_factor;
    fo.callbacks.push_back(std::make_shared<ReduceLROnPlateau<float>>(rl));
  }
  if (initial_epoch < o.epochs) {
    try {
      if (dp)
        dp->fit({data.data.x}, {data.data.y}, fo);
      else
        trainer.fit({data.data.x}, {data.data.y}, fo);
    } catch (const NumericError& e) {
      const bool kept = !o.no_checkpoint && fs::exists(ckpt);
      throw NumericError(std::string(e.what()) + ". No model was written; " +
                         (kept ? "the last good checkpoint '" + ckpt +
                                     "' is kept (continue from it with --resume and a lower --learning-rate or "
                                     "--clipnorm)"
                               : "no epoch had finished, so there is no checkpoint") +
                         ". A NaN or Inf in the data also gives this: check the inputs and labels.");
    }
  } else
    out << "the checkpoint has all " << o.epochs << " epochs already\n";

  if (scaling) fold_standardization(model, *scaling);
  nlohmann::json results;
  std::string test_line;  // printed last: the run's result
  if (data.test) {
    EvaluateOptions<float> eo;
    eo.verbose = 0;
    eo.batch_size = std::max<int64_t>(o.batch_size, 256);
    const Logs scores =
        dp ? dp->evaluate({data.test->x}, {data.test->y}, eo) : trainer.evaluate({data.test->x}, {data.test->y}, eo);
    test_line = "test (" + std::to_string(data.test->samples()) + " samples):";
    for (const auto& [k, v] : scores.items()) {
      test_line += (k == scores.items().front().first ? " " : " - ") + k + ": " + format_value(v);
      results["test_" + k] = v;
    }
  }

  if (!writer) return 0;
  // Outputs: the model (with a test vector of a few samples, for `rnnx verify`), the curves,
  // the settings.
  const Split& sample_source = data.test ? *data.test : data.data;
  const std::string model_path = (fs::path(o.output) / "model.keras").string();
  const int64_t n_tv = std::min<int64_t>(4, sample_source.samples());
  const TestVector<float> tv = make_test_vector(model, {sample_rows(sample_source.x, 0, n_tv)});
  save_model(model, model_path, &tv);
  const std::string curves = (fs::path(o.output) / "curves.png").string();
  draw_history(history_csv, curves,
               model.name() + " on " + data.description.substr(0, data.description.find(':')) +
                   (scaling ? " (standardised units)" : ""));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  nlohmann::json s;
  s["command"] = command_line();
  s["data"] = data.description;
  s["task"] = data.task == Task::classification ? "classification" : "regression";
  if (data.task == Task::classification) s["class_names"] = data.class_names;
  s["model"] = built.description;
  s["epochs"] = o.epochs;
  s["initial_epoch"] = initial_epoch;
  s["batch_size"] = o.batch_size;
  s["optimizer"] = o.optimizer;
  s["learning_rate"] = trainer.optimizer().learning_rate();
  s["loss"] = loss;
  s["metrics"] = metric_names;
  s["validation"] = validation ? "given data" : "last " + std::to_string(o.validation_split) + " of the training data";
  s["shuffle"] = !o.no_shuffle;
  s["seed"] = o.model.seed;
  s["threads"] = o.threads;
  s["epoch_seconds"] = epoch_timer->seconds;
  if (dp) {  // where rank 0's training steps spent their time (docs/mpi-scaling.md)
    const DataParallelTimes& t = dp->times();
    s["data_parallel"] = {{"ranks", dp->size()},
                          {"shards", o.shards},
                          {"steps", t.steps},
                          {"forward_seconds", t.forward},
                          {"backward_seconds", t.backward},
                          {"reduce_seconds", t.reduce},
                          {"gather_seconds", t.gather},
                          {"bytes_sent", t.bytes_sent}};
  }
  if (scaling) {
    s["standardization"] = {{"x_mean", scaling->x_mean},
                            {"x_std", scaling->x_std},
                            {"y_mean", scaling->y_mean},
                            {"y_std", scaling->y_std},
                            {"folded_into_model", true}};
  }
  s["results"] = results;
  s["wall_seconds"] = seconds;
  s["cpu"] = cpu_name();
  write_text_atomic((fs::path(o.output) / "settings.json").string(), s.dump(2) + "\n");

  out << "wrote " << model_path << ", " << history_csv << ", " << curves << ", "
      << (fs::path(o.output) / "settings.json").string() << (o.no_checkpoint ? "" : ", " + ckpt) << " ("
      << format_value(seconds).substr(0, format_value(seconds).find('.') + 2) << " s)\n";
  if (!test_line.empty()) out << test_line << "\n";
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<TrainCommand>();
  CLI::App* sub = app.add_subcommand(
      "train",
      "Train a recurrent model with Keras semantics and write model.keras, history.csv, curves.png and\n"
      "settings.json to the output folder. With no arguments: LSTM(128) -> Dense(10, softmax) on\n"
      "Fashion-MNIST (Debian's dataset-fashion-mnist), images read row by row (28 steps x 28 features).\n"
      "DATA: a directory of MNIST-format IDX files, an .npz (x, y; x_val/y_val, x_test/y_test), an .npy\n"
      "with --labels, a CSV table of sequences with a label column, or a CSV time series cut into\n"
      "windows with --window.");
  sub->add_option("DATA", o->data.data, "the data source (default: Fashion-MNIST)");
  add_data_options(*sub, o->data, DataUse::train);
  const std::string m = "Model";
  sub->add_option("--model", o->model.model,
                  "lstm | gru | simple_rnn | bilstm | stacked, a Keras model .json (model.to_json()), or a .keras / "
                  ".h5 / PyTorch weights file to fine-tune")
      ->capture_default_str()
      ->group(m);
  sub->add_option("--units", o->model.units, "units of a preset's (first) recurrent layer")
      ->check(CLI::PositiveNumber)
      ->group(m);
  sub->add_option("--dropout", o->model.dropout, "a preset's input dropout")->check(CLI::Range(0.0, 0.99))->group(m);
  sub->add_option("--recurrent-dropout", o->model.recurrent_dropout, "a preset's recurrent dropout")
      ->check(CLI::Range(0.0, 0.99))
      ->group(m);
  sub->add_option("--pytorch-prefix", o->model.pytorch_prefix, "PyTorch weights: the RNN module's key prefix")
      ->group(m);
  sub->add_option("--pytorch-nonlinearity", o->model.pytorch_nonlinearity, "PyTorch nn.RNN weights: tanh or relu")
      ->check(CLI::IsMember({"tanh", "relu"}))
      ->group(m);
  sub->add_option("--standardize", o->standardize,
                  "auto (regression presets) | on | off: train on standardised inputs and targets, folded back "
                  "into the saved model's weights")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str()
      ->group(m);
  const std::string t = "Training";
  sub->add_option("--epochs", o->epochs, "number of epochs")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber)
      ->group(t);
  sub->add_option("--batch-size", o->batch_size, "samples per step")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->group(t);
  sub->add_option("--optimizer", o->optimizer, "sgd | adam | adamw | rmsprop | adagrad")
      ->capture_default_str()
      ->group(t);
  sub->add_option("--learning-rate", o->learning_rate, "learning rate (default: the optimizer's Keras default)")
      ->check(CLI::PositiveNumber)
      ->group(t);
  sub->add_option("--clipnorm", o->clipnorm, "clip each gradient to this norm")->check(CLI::PositiveNumber)->group(t);
  sub->add_option("--clipvalue", o->clipvalue, "clip gradient values to +-this")->check(CLI::PositiveNumber)->group(t);
  sub->add_option("--loss", o->loss,
                  "a Keras loss name (default: sparse_categorical_crossentropy, categorical_crossentropy for one-hot "
                  "labels, mse for regression)")
      ->group(t);
  sub->add_option("--metrics", o->metrics, "Keras metric names, comma-separated (default: accuracy, or mae)")
      ->delimiter(',')
      ->group(t);
  sub->add_option("--validation-split", o->validation_split, "the last fraction of the training data held out")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.95))
      ->group(t);
  sub->add_option("--validation-data", o->validation_data, "validation data (a data source read with the same options)")
      ->group(t);
  sub->add_flag("--no-shuffle", o->no_shuffle, "keep the sample order (default: shuffle every epoch)")->group(t);
  sub->add_option("--seed", o->model.seed, "seed of the initial weights, dropout and shuffling")
      ->capture_default_str()
      ->group(t);
  sub->add_option("--threads", o->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber)->group(t);
  sub->add_option("--shards", o->shards,
                  "under mpirun -np N: cut every batch into this many shards (a power of two that N divides); the "
                  "results depend on it, never on N")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->group(t);
  sub->add_option("--early-stopping", o->early_stopping, "stop after this many epochs without improvement (patience)")
      ->check(CLI::NonNegativeNumber)
      ->group(t);
  sub->add_flag("--restore-best-weights", o->restore_best_weights,
                "with --early-stopping: keep the best epoch's weights")
      ->group(t);
  sub->add_option("--reduce-lr", o->reduce_lr,
                  "multiply the learning rate by --reduce-lr-factor after this many "
                  "epochs without improvement")
      ->check(CLI::NonNegativeNumber)
      ->group(t);
  sub->add_option("--reduce-lr-factor", o->reduce_lr_factor, "factor of --reduce-lr")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0))
      ->group(t);
  sub->add_option("--class-weight", o->class_weight, "CLASS:WEIGHT,... or 'balanced'")->group(t);
  sub->add_option("--verbose", o->verbose,
                  "0 silent, 1 progress bar on a terminal (else a line per epoch), 2 a line "
                  "per epoch")
      ->capture_default_str()
      ->check(CLI::Range(0, 2))
      ->group(t);
  const std::string out = "Output";
  sub->add_option("-o,--output", o->output, "the output folder")->capture_default_str()->group(out);
  sub->add_flag("--no-checkpoint", o->no_checkpoint, "do not write checkpoint.ckpt after every epoch")->group(out);
  sub->add_flag("--resume", o->resume,
                "continue from the output folder's checkpoint.ckpt (give the same command; bit for bit the same "
                "result as an uninterrupted run)")
      ->group(out);
  sub->callback([o, &exit_code] { exit_code = run_train(*o); });
}

}  // namespace rnnx::cli
