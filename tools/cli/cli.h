#pragma once
// The `rnnx` command-line tool: shared pieces of the subcommands (one file each).
//
// Each subcommand file defines add_<name>_command(app, exit_code): it adds a CLI11
// subcommand with its options (so `rnnx <name> --help` is generated) and a callback that
// runs the command and stores its exit status in `exit_code`. Commands throw rnnx::Error
// (or UsageError for option combinations CLI11 cannot check); main() prints them.
//
// Exit codes: 0 success, 1 failure (an rnnx error: its message goes to stderr; or a failed
// verification), 2 usage error (unknown subcommand or option, wrong argument count, a value
// of the wrong type).
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/model/model.h"

namespace CLI {
class App;
}

namespace rnnx::cli {

// A mistake in the command line that CLI11 cannot see (e.g. two options that exclude each
// other); main() prints it with a pointer to --help and exits with 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void add_train_command(CLI::App& app, int& exit_code);
void add_evaluate_command(CLI::App& app, int& exit_code);
void add_predict_command(CLI::App& app, int& exit_code);
void add_explain_command(CLI::App& app, int& exit_code);
void add_convert_command(CLI::App& app, int& exit_code);
void add_verify_command(CLI::App& app, int& exit_code);
void add_summary_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);

// MODEL of the subcommands: a Keras model file (load_model), or PyTorch nn.LSTM / nn.GRU /
// nn.RNN weights (safetensors or torch.save zip) mapped to Keras layers by load_pytorch_rnn.
struct ModelSource {
  std::string path;
  std::string pytorch_prefix;        // the module whose keys start with this, in a file of several
  std::string pytorch_nonlinearity;  // nn.RNN only: tanh (default) or relu
};
// Adds --pytorch-prefix and --pytorch-nonlinearity (not MODEL itself) to a subcommand.
void add_model_source_options(CLI::App& sub, ModelSource& source);
// FormatError naming both readings when the file is neither a Keras nor a PyTorch file.
std::unique_ptr<Model<float>> load_cli_model(const ModelSource& source);

// The model's inputs from an .npy file (single-input models) or an .npz archive keyed by the
// model's input names (or input_0, input_1, ...; a single-input model also takes an
// archive's only array, or its "x"). rnnx::FormatError naming the missing input otherwise.
std::vector<Tensor<float>> read_model_inputs(Model<float>& model, const std::string& path);

bool ends_with(const std::string& s, const std::string& suffix);

}  // namespace rnnx::cli
