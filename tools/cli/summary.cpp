// rnnx summary MODEL
#include <iostream>

#include "cli.h"
#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/pytorch.h"

namespace rnnx::cli {

const char* const kSummaryUsage =
    "usage: rnnx summary MODEL [--pytorch-prefix P]\n"
    "  Prints what kind of Keras file MODEL is, the Keras version that wrote it, and the\n"
    "  model's layers, output shapes and parameter counts (as Keras model.summary()).\n";

int summary_main(const Args& args) {
  args.expect_positional(1, 1, kSummaryUsage);
  const std::string& path = args.positional[0];
  auto model = load_cli_model(path, args);
  std::string what;
  try {
    const KerasFileInfo info = inspect_keras_file(path);
    what = to_string(info.kind) + ", written by Keras " +
           (info.keras_version.empty() ? "1 (no version recorded)" : info.keras_version);
  } catch (const FormatError&) {
    what = "PyTorch weights, " + inspect_pytorch_file(path).format;  // load_cli_model accepted it
  }
  std::cout << "file: " << path << " (" << what << ")\n" << model->summary() << "\n";
  return 0;
}

}  // namespace rnnx::cli
