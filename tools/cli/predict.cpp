// rnnx predict MODEL [DATA] [--output OUT.npz|OUT.csv]
// Under `mpirun -np N`, rank r predicts the r-th contiguous block of the samples and rank 0
// writes all outputs in the original order (parallel_job.h; every rank reads the inputs).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "cli.h"
#include "data.h"
#include "parallel_job.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/train/data_parallel.h"
#include "rnnx/train/trainer.h"
#include "run_files.h"

namespace rnnx::cli {

namespace {

struct PredictCommand {
  ModelSource model;
  DataOptions data;
  std::string output;
  int64_t batch_size = 256;
  int threads = 0;
};

std::string number(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

void print_tensor(std::ostream& out, const std::string& name, const Tensor<float>& t) {
  out << name << " shape " << to_string(t.shape()) << "\n";
  const int64_t row = t.rank() > 0 ? std::max<int64_t>(t.dim(-1), 1) : 1;
  for (int64_t i = 0; i < t.size(); ++i) out << number(t[i]) << ((i + 1) % row == 0 ? "\n" : " ");
}

// One row per sample: the flattened outputs, and for a [samples, K] output with K > 1 the
// predicted class (argmax) first.
std::string outputs_csv(const std::vector<Tensor<float>>& outputs) {
  std::string text;
  const int64_t n = outputs.empty() ? 0 : outputs[0].dim(0);
  const bool with_class = outputs.size() == 1 && outputs[0].rank() == 2 && outputs[0].dim(1) > 1;
  std::vector<int64_t> per;
  for (const auto& t : outputs) per.push_back(t.dim(0) > 0 ? t.size() / t.dim(0) : 0);
  if (with_class) text += "class,";
  for (size_t o = 0; o < outputs.size(); ++o)
    for (int64_t j = 0; j < per[o]; ++j) {
      if (o || j) text += ',';
      text += "output_" + std::to_string(o) + "_" + std::to_string(j);
    }
  text += "\n";
  for (int64_t i = 0; i < n; ++i) {
    if (with_class) {
      const float* r = outputs[0].data() + i * per[0];
      text += std::to_string(std::max_element(r, r + per[0]) - r) + ",";
    }
    for (size_t o = 0; o < outputs.size(); ++o)
      for (int64_t j = 0; j < per[o]; ++j) {
        if (o || j) text += ',';
        text += number(outputs[o][i * per[o] + j]);
      }
    text += "\n";
  }
  return text;
}

int run_predict(const PredictCommand& o) {
  set_threads(o.threads);
  const std::shared_ptr<Communicator> job = parallel_job();
  auto model = load_cli_model(o.model);
  const std::string& path = o.data.data;
  std::vector<Tensor<float>> inputs;
  if ((ends_with(path, ".npz") || ends_with(path, ".npy")) && o.data.labels.empty()) {
    inputs = read_model_inputs(*model, path);  // keyed by input name: multi-input models too
  } else {
    inputs = {load_dataset(o.data, DataUse::predict).data.x};
  }
  // In batches, so a large data set does not hold every layer's activations at once.
  Trainer<float> trainer(*model);
  std::vector<Tensor<float>> outputs;
  if (job) {
    DataParallel<float> dp(trainer, job);
    outputs = dp.predict(inputs, o.batch_size);
    if (dp.rank() != 0) return 0;
  } else {
    outputs = trainer.predict(inputs, o.batch_size);
  }
  if (o.output.empty()) {
    for (size_t i = 0; i < outputs.size(); ++i) print_tensor(std::cout, "output_" + std::to_string(i), outputs[i]);
  } else if (ends_with(o.output, ".csv")) {
    write_text_atomic(o.output, outputs_csv(outputs));
  } else if (ends_with(o.output, ".npz")) {
    std::map<std::string, NpyArray> arrays;
    for (size_t i = 0; i < outputs.size(); ++i) arrays["output_" + std::to_string(i)] = NpyArray::from(outputs[i]);
    write_npz(o.output, arrays);
  } else {
    throw UsageError("--output must end in .npz or .csv, got '" + o.output + "'");
  }
  return 0;
}

}  // namespace

void add_predict_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<PredictCommand>();
  CLI::App* sub = app.add_subcommand(
      "predict",
      "Run MODEL (.keras, .h5, or PyTorch nn.LSTM / nn.GRU / nn.RNN weights) on inputs in Keras layout\n"
      "(batch, steps, features). DATA: an .npy file (a single-input model), an .npz archive keyed by\n"
      "the model's input names (or input_0, input_1, ..., or x), or any data source of `rnnx train`\n"
      "(IDX directory, CSV table, CSV series with --window). Outputs go to OUT.npz as output_0,\n"
      "output_1, ... in Keras order, or to OUT.csv one row per sample (with the predicted class first\n"
      "for a [samples, K] output), written atomically; without --output they are printed.");
  sub->add_option("MODEL", o->model.path, "a .keras / .h5 file or PyTorch RNN weights")->required();
  sub->add_option("DATA", o->data.data, "the inputs (default: the Fashion-MNIST test set)");
  add_data_options(*sub, o->data, DataUse::predict);
  add_model_source_options(*sub, o->model);
  sub->add_option("-o,--output", o->output, "OUT.npz or OUT.csv");
  sub->add_option("--batch-size", o->batch_size, "samples per step")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--threads", o->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
  sub->callback([o, &exit_code] { exit_code = run_predict(*o); });
}

}  // namespace rnnx::cli
