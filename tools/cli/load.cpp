// MODEL arguments of the subcommands: a Keras file (.keras, legacy .h5) or the weights of a
// PyTorch nn.LSTM / nn.GRU (safetensors or torch.save zip), recognised from the content.
#include <string>

#include "cli.h"
#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/pytorch.h"

namespace rnnx::cli {

std::unique_ptr<Model<float>> load_cli_model(const std::string& path, const Args& args) {
  std::string keras_problem;
  try {
    inspect_keras_file(path);
    return load_model<float>(path);
  } catch (const FormatError& e) {
    keras_problem = e.what();
  }
  // Not a Keras file: perhaps PyTorch weights. A file that is neither reports both readings.
  try {
    inspect_pytorch_file(path);
  } catch (const FormatError& e) {
    throw FormatError("'" + path + "' is neither a Keras model file (" + keras_problem +
                      ") nor a PyTorch weights file (" + e.what() + ")");
  }
  PyTorchRNNDescription description;
  const std::string prefix = args.get("--pytorch-prefix");
  if (!prefix.empty()) description.prefix = prefix;
  return load_pytorch_rnn<float>(path, description);
}

}  // namespace rnnx::cli
