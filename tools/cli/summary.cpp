// rnnx summary MODEL
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli.h"
#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/pytorch.h"

namespace rnnx::cli {

namespace {

int run_summary(const ModelSource& source) {
  auto model = load_cli_model(source);
  std::string what;
  try {
    const KerasFileInfo info = inspect_keras_file(source.path);
    what = to_string(info.kind) + ", written by Keras " +
           (info.keras_version.empty() ? "1 (no version recorded)" : info.keras_version);
  } catch (const FormatError&) {
    what = "PyTorch weights, " + inspect_pytorch_file(source.path).format;  // load_cli_model accepted it
  }
  std::cout << "file: " << source.path << " (" << what << ")\n" << model->summary() << "\n";
  return 0;
}

}  // namespace

void add_summary_command(CLI::App& app, int& exit_code) {
  auto source = std::make_shared<ModelSource>();
  CLI::App* sub = app.add_subcommand(
      "summary",
      "Print what kind of model file MODEL is, the Keras version that wrote it, and the model's layers,\n"
      "output shapes and parameter counts (as Keras model.summary()).");
  sub->add_option("MODEL", source->path, "a .keras / .h5 file or PyTorch RNN weights")->required();
  add_model_source_options(*sub, *source);
  sub->callback([source, &exit_code] { exit_code = run_summary(*source); });
}

}  // namespace rnnx::cli
