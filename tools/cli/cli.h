#pragma once
// The `rnnx` command-line tool: shared pieces of the subcommands (one file each).
//
// Exit codes: 0 success, 1 failure (an rnnx error: its message goes to stderr; or a failed
// verification), 2 usage error (unknown subcommand or option, wrong argument count).
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/model/model.h"

namespace rnnx::cli {

// A mistake in the command line; main() prints it with the usage text and exits with 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Command-line arguments after the subcommand: positional ones and --name value options.
struct Args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;  // in order given
  bool help = false;

  // Parses argv[first..]; `known` lists the options that take a value (e.g. "--output").
  // UsageError for an unknown option or an option without its value.
  static Args parse(int argc, char** argv, int first, const std::vector<std::string>& known);
  // The value of an option, or `fallback` when absent.
  std::string get(const std::string& name, const std::string& fallback = "") const;
  double get_double(const std::string& name, double fallback) const;
  // UsageError unless there are between min and max positional arguments.
  void expect_positional(size_t min, size_t max, const std::string& usage) const;
};

int predict_main(const Args& args);
int convert_main(const Args& args);
int verify_main(const Args& args);
int summary_main(const Args& args);

extern const char* const kPredictUsage;
extern const char* const kConvertUsage;
extern const char* const kVerifyUsage;
extern const char* const kSummaryUsage;

// MODEL of predict, convert and summary: a Keras model file (load_model), or a PyTorch
// nn.LSTM / nn.GRU weights file (safetensors or torch.save zip) mapped to Keras layers by
// load_pytorch_rnn (option --pytorch-prefix selects the module in a file holding several).
// FormatError naming both readings when the file is neither.
std::unique_ptr<Model<float>> load_cli_model(const std::string& path, const Args& args);

// The model's inputs from an .npy file (single-input models) or an .npz archive keyed by the
// model's input names (or input_0, input_1, ...; a single-input model also takes an
// archive's only array). rnnx::FormatError naming the missing input otherwise.
std::vector<Tensor<float>> read_model_inputs(Model<float>& model, const std::string& path);

}  // namespace rnnx::cli
