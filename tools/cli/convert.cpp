// rnnx convert IN OUT.keras [--with-test-vector INPUT.npy|INPUT.npz]
#include <CLI/CLI.hpp>

#include "cli.h"
#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/save_model.h"

namespace rnnx::cli {

namespace {

struct ConvertOptions {
  ModelSource in;
  std::string out;
  std::string test_vector_inputs;
};

bool is_keras_archive(const std::string& path) {
  try {
    return inspect_keras_file(path).kind == KerasFileKind::keras_archive;
  } catch (const FormatError&) {
    return false;  // a PyTorch file
  }
}

int run_convert(const ConvertOptions& o) {
  if (!ends_with(o.out, ".keras"))
    throw UsageError("the output file must end in .keras (Keras 3 refuses other names), got '" + o.out + "'");
  auto model = load_cli_model(o.in);
  if (!o.test_vector_inputs.empty()) {
    const TestVector<float> tv = make_test_vector(*model, read_model_inputs(*model, o.test_vector_inputs));
    save_model(*model, o.out, &tv);
  } else if (is_keras_archive(o.in.path) && has_test_vector(o.in.path)) {
    const TestVector<float> tv = read_test_vector(o.in.path);
    save_model(*model, o.out, &tv);
  } else {
    save_model(*model, o.out);
  }
  return 0;
}

}  // namespace

void add_convert_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* sub = app.add_subcommand(
      "convert",
      "Write any model rnnx reads (.keras, a legacy Keras .h5 model, or PyTorch nn.LSTM / nn.GRU / nn.RNN\n"
      "weights in a safetensors or torch.save file) as a Keras 3 .keras file (atomically). PyTorch weights\n"
      "become Keras LSTM / GRU / SimpleRNN / Bidirectional layers, one per PyTorch layer, with outputs\n"
      "[output, h_n..., c_n...]. A test vector IN carries is carried over; --with-test-vector stores the\n"
      "given inputs with the outputs rnnx computes for them, so that `rnnx verify OUT.keras` (or Keras\n"
      "itself) can check the file later.");
  sub->add_option("IN", o->in.path, "the model to read")->required();
  sub->add_option("OUT", o->out, "the .keras file to write")->required();
  sub->add_option("--with-test-vector", o->test_vector_inputs, "INPUT.npy|INPUT.npz: inputs of a test vector to store");
  add_model_source_options(*sub, o->in);
  sub->callback([o, &exit_code] { exit_code = run_convert(*o); });
}

}  // namespace rnnx::cli
