// rnnx convert IN OUT.keras [--with-test-vector INPUT.npy|INPUT.npz]
#include "cli.h"
#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/save_model.h"

namespace rnnx::cli {

const char* const kConvertUsage =
    "usage: rnnx convert IN OUT.keras [--with-test-vector INPUT.npy|INPUT.npz] [--pytorch-prefix P]\n"
    "  Reads IN (.keras, a legacy Keras .h5 model, or PyTorch nn.LSTM / nn.GRU weights in a\n"
    "  safetensors or torch.save file) and writes it as a Keras 3 .keras file (atomically).\n"
    "  PyTorch weights become Keras LSTM / GRU / Bidirectional layers, one per PyTorch\n"
    "  layer, with outputs [output, h_n..., c_n...]; --pytorch-prefix P picks the module\n"
    "  whose keys start with P when the file holds several. A test vector IN carries is carried over; --with-test-vector\n"
    "  stores the given inputs with the outputs rnnx computes for them, so that\n"
    "  `rnnx verify OUT.keras` (or Keras itself) can check the file later.\n";

namespace {

bool is_keras_archive(const std::string& path) {
  try {
    return inspect_keras_file(path).kind == KerasFileKind::keras_archive;
  } catch (const FormatError&) {
    return false;  // a PyTorch file
  }
}

}  // namespace

int convert_main(const Args& args) {
  args.expect_positional(2, 2, kConvertUsage);
  const std::string& in = args.positional[0];
  const std::string& out = args.positional[1];
  if (out.size() < 6 || out.compare(out.size() - 6, 6, ".keras") != 0)
    throw UsageError("the output file must end in .keras (Keras 3 refuses other names), got '" + out + "'");
  auto model = load_cli_model(in, args);
  const std::string tv_inputs = args.get("--with-test-vector");
  if (!tv_inputs.empty()) {
    const TestVector<float> tv = make_test_vector(*model, read_model_inputs(*model, tv_inputs));
    save_model(*model, out, &tv);
  } else if (is_keras_archive(in) && has_test_vector(in)) {
    const TestVector<float> tv = read_test_vector(in);
    save_model(*model, out, &tv);
  } else {
    save_model(*model, out);
  }
  return 0;
}

}  // namespace rnnx::cli
