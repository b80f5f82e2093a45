// rnnx evaluate MODEL [DATA]: loss and metrics of a model on a data source (data.h); for
// classification also the confusion matrix, printed and drawn as PNG.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "data.h"
#include "plot.h"
#include "rnnx/core/error.h"
#include "rnnx/train/losses.h"
#include "rnnx/train/metrics.h"
#include "rnnx/train/optimizer.h"
#include "rnnx/train/trainer.h"
#include "run_files.h"

namespace rnnx::cli {

namespace fs = std::filesystem;

namespace {

struct EvaluateCommand {
  ModelSource model;
  DataOptions data;
  std::string loss;
  std::vector<std::string> metrics;
  bool from_logits = false;
  int64_t batch_size = 256;
  std::string output = "rnnx-evaluate";
  int threads = 0;
};

// counts[true][predicted] from class probabilities (or logits) [n, K] and labels.
std::vector<std::vector<int64_t>> confusion(const Tensor<float>& scores, const Tensor<float>& y, bool one_hot) {
  const int64_t n = scores.dim(0), k = scores.dim(1);
  std::vector<std::vector<int64_t>> c(static_cast<size_t>(k), std::vector<int64_t>(static_cast<size_t>(k), 0));
  for (int64_t i = 0; i < n; ++i) {
    const float* row = scores.data() + i * k;
    const int64_t pred = std::max_element(row, row + k) - row;
    int64_t truth = 0;
    if (one_hot) {
      const float* yr = y.data() + i * k;
      truth = std::max_element(yr, yr + k) - yr;
    } else {
      truth = static_cast<int64_t>(y[i]);
    }
    ++c[static_cast<size_t>(truth)][static_cast<size_t>(pred)];
  }
  return c;
}

void print_confusion(std::ostream& out, const std::vector<std::vector<int64_t>>& c,
                     const std::vector<std::string>& names) {
  size_t name_w = 4;
  for (const auto& n : names) name_w = std::max(name_w, n.size());
  int64_t top = 1;
  for (const auto& r : c)
    for (int64_t v : r) top = std::max(top, v);
  const int cell = std::max<int>(static_cast<int>(std::to_string(top).size()), 3) + 1;
  out << "confusion matrix (rows: true class, columns: predicted class):\n" << std::string(name_w + 1, ' ');
  for (size_t j = 0; j < c.size(); ++j) out << std::setw(cell) << j;
  out << "   recall\n";
  for (size_t i = 0; i < c.size(); ++i) {
    int64_t row_sum = 0;
    out << std::left << std::setw(static_cast<int>(name_w)) << names[i] << std::right << " ";
    for (size_t j = 0; j < c.size(); ++j) {
      out << std::setw(cell) << c[i][j];
      row_sum += c[i][j];
    }
    out << "   " << (row_sum ? format_value(static_cast<double>(c[i][i]) / static_cast<double>(row_sum)) : "n/a")
        << "\n";
  }
}

int run_evaluate(const EvaluateCommand& o) {
  set_threads(o.threads);
  auto model = load_cli_model(o.model);
  if (model->outputs().size() != 1)
    throw ConfigError("'" + o.model.path + "' has " + std::to_string(model->outputs().size()) +
                      " outputs; rnnx evaluate scores single-output models");
  const Dataset data = load_dataset(o.data, DataUse::evaluate);
  std::cout << "data: " << data.description << "\n";
  const Shape out_shape = model->shape(model->outputs()[0]);
  const int64_t units = out_shape.back();
  if (data.task == Task::classification && !data.one_hot && units > 1)
    for (int64_t i = 0; i < data.data.y.size(); ++i)
      if (data.data.y[i] >= static_cast<float>(units))
        throw FormatError("'" + (o.data.data.empty() ? std::string(kFashionMnistDir) : o.data.data) + "': label " +
                          std::to_string(static_cast<int64_t>(data.data.y[i])) + " of sample " + std::to_string(i) +
                          " is out of range for the model's " + std::to_string(units) + " outputs (classes 0.." +
                          std::to_string(units - 1) + ")");
  const bool classify = data.task == Task::classification && units > 1;
  std::string loss = o.loss;
  if (loss.empty())
    loss = !classify ? "mse" : data.one_hot ? "categorical_crossentropy" : "sparse_categorical_crossentropy";
  std::vector<std::string> metric_names = o.metrics;
  if (metric_names.empty()) metric_names = {classify ? std::string("accuracy") : std::string("mae")};

  Trainer<float> trainer(*model);
  LossOptions lo;
  lo.from_logits = o.from_logits;
  std::vector<std::shared_ptr<Metric<float>>> metrics;
  for (const auto& m : metric_names) metrics.push_back(make_metric<float>(m));
  trainer.compile(std::shared_ptr<const Loss<float>>(make_loss<float>(loss, lo)),
                  std::shared_ptr<Optimizer<float>>(make_optimizer<float>("sgd")), metrics);
  EvaluateOptions<float> eo;
  eo.verbose = 0;
  eo.batch_size = o.batch_size;
  const Logs scores = trainer.evaluate({data.data.x}, {data.data.y}, eo);
  nlohmann::json results;
  std::cout << o.model.path << " on " << data.data.samples() << " samples:";
  bool first = true;
  for (const auto& [k, v] : scores.items()) {
    std::cout << (first ? " " : " - ") << k << ": " << format_value(v);
    results[k] = v;
    first = false;
  }
  std::cout << "\n";
  fs::create_directories(o.output);
  if (classify) {
    const Tensor<float> pred = trainer.predict(data.data.x, o.batch_size);
    const auto c = confusion(pred.reshaped({pred.dim(0), units}), data.data.y, data.one_hot);
    std::vector<std::string> names = data.class_names;
    while (static_cast<int64_t>(names.size()) < units) names.push_back(std::to_string(names.size()));
    names.resize(static_cast<size_t>(units));
    print_confusion(std::cout, c, names);
    const std::string png = (fs::path(o.output) / "confusion_matrix.png").string();
    write_confusion_png(
        png, c, names,
        fs::path(o.model.path).filename().string() + " on " + data.description.substr(0, data.description.find(':')));
    results["confusion_matrix"] = c;
    std::cout << "wrote " << png << "\n";
  }
  write_text_atomic((fs::path(o.output) / "evaluation.json").string(), results.dump(2) + "\n");
  return 0;
}

}  // namespace

void add_evaluate_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EvaluateCommand>();
  CLI::App* sub = app.add_subcommand(
      "evaluate",
      "Loss and metrics of MODEL on DATA (the same data sources as `rnnx train`; an IDX directory or an .npz\n"
      "with x_test gives its test set). For classification also the confusion matrix, printed and drawn\n"
      "as OUTPUT/confusion_matrix.png; the numbers go to OUTPUT/evaluation.json.");
  sub->add_option("MODEL", o->model.path, "a .keras / .h5 file or PyTorch RNN weights")->required();
  sub->add_option("DATA", o->data.data, "the data source (default: the Fashion-MNIST test set)");
  add_data_options(*sub, o->data, DataUse::evaluate);
  add_model_source_options(*sub, o->model);
  sub->add_option("--loss", o->loss, "a Keras loss name (default from the labels)");
  sub->add_flag("--from-logits", o->from_logits, "the model outputs logits, not probabilities");
  sub->add_option("--metrics", o->metrics, "Keras metric names (default: accuracy, or mae)")->delimiter(',');
  sub->add_option("--batch-size", o->batch_size, "samples per step")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--threads", o->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
  sub->add_option("-o,--output", o->output, "the output folder")->capture_default_str();
  sub->callback([o, &exit_code] { exit_code = run_evaluate(*o); });
}

}  // namespace rnnx::cli
