// MODEL arguments of the subcommands: a Keras file (.keras, legacy .h5) or the weights of a
// PyTorch nn.LSTM / nn.GRU / nn.RNN (safetensors or torch.save zip), recognised from the
// content; and model inputs from .npy / .npz files.
#include <CLI/CLI.hpp>
#include <string>

#include "cli.h"
#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/pytorch.h"

namespace rnnx::cli {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void add_model_source_options(CLI::App& sub, ModelSource& source) {
  sub.add_option("--pytorch-prefix", source.pytorch_prefix,
                 "PyTorch weights: the RNN module whose keys start with this prefix (a file holding several)");
  sub.add_option("--pytorch-nonlinearity", source.pytorch_nonlinearity,
                 "PyTorch nn.RNN weights: the module's nonlinearity (not stored in the file)")
      ->check(CLI::IsMember({"tanh", "relu"}));
}

std::unique_ptr<Model<float>> load_cli_model(const ModelSource& source) {
  const std::string& path = source.path;
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
  if (!source.pytorch_prefix.empty()) description.prefix = source.pytorch_prefix;
  if (!source.pytorch_nonlinearity.empty()) description.nonlinearity = source.pytorch_nonlinearity;
  return load_pytorch_rnn<float>(path, description);
}

std::vector<Tensor<float>> read_model_inputs(Model<float>& model, const std::string& path) {
  const std::vector<std::string> names = model.input_names();
  if (!ends_with(path, ".npz")) {
    if (names.size() != 1)
      throw FormatError("'" + path + "': the model has " + std::to_string(names.size()) +
                        " inputs; give them in an .npz archive keyed by the input names");
    return {read_npy(path).as<float>()};
  }
  const auto arrays = read_npz(path);
  std::string keys;
  for (const auto& [k, v] : arrays) keys += (keys.empty() ? "" : ", ") + k;
  std::vector<Tensor<float>> out;
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = arrays.find(names[i]);
    if (it == arrays.end()) it = arrays.find("input_" + std::to_string(i));
    if (it == arrays.end() && names.size() == 1) it = arrays.find("x");
    if (it == arrays.end() && names.size() == 1 && arrays.size() == 1) it = arrays.begin();
    if (it == arrays.end())
      throw FormatError("'" + path + "' has no array for model input '" + names[i] + "' (nor 'input_" +
                        std::to_string(i) + "'); it holds: " + (keys.empty() ? "nothing" : keys));
    out.push_back(it->second.as<float>());
  }
  return out;
}

}  // namespace rnnx::cli
