// rnnx summary MODEL
#include <iostream>

#include "cli.h"
#include "rnnx/io/model_file.h"

namespace rnnx::cli {

const char* const kSummaryUsage =
    "usage: rnnx summary MODEL\n"
    "  Prints what kind of Keras file MODEL is, the Keras version that wrote it, and the\n"
    "  model's layers, output shapes and parameter counts (as Keras model.summary()).\n";

int summary_main(const Args& args) {
  args.expect_positional(1, 1, kSummaryUsage);
  const std::string& path = args.positional[0];
  const KerasFileInfo info = inspect_keras_file(path);
  auto model = load_model<float>(path);
  std::cout << "file: " << path << " (" << to_string(info.kind) << ", written by Keras "
            << (info.keras_version.empty() ? "1 (no version recorded)" : info.keras_version) << ")\n"
            << model->summary() << "\n";
  return 0;
}

}  // namespace rnnx::cli
