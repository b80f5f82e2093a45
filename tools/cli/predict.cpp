// rnnx predict MODEL INPUT.npy|INPUT.npz [--output OUT.npz]
#include <cstdio>
#include <iostream>
#include <map>

#include "cli.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"

namespace rnnx::cli {

const char* const kPredictUsage =
    "usage: rnnx predict MODEL INPUT.npy|INPUT.npz [--output OUT.npz] [--pytorch-prefix P]\n"
    "  Runs MODEL (.keras, .h5, or PyTorch nn.LSTM / nn.GRU weights: see `rnnx convert`) on\n"
    "  the inputs, in Keras layout (batch, steps, features). An .npy file feeds a\n"
    "  single-input model; an .npz archive is keyed by the model's input names (or input_0, input_1, ...).\n"
    "  Outputs go to OUT.npz as output_0, output_1, ... in Keras order (written atomically),\n"
    "  or are printed when --output is not given.\n";

namespace {

void print_tensor(std::ostream& out, const std::string& name, const Tensor<float>& t) {
  out << name << " shape " << to_string(t.shape()) << "\n";
  const int64_t row = t.rank() > 0 ? std::max<int64_t>(t.dim(-1), 1) : 1;
  char buf[32];
  for (int64_t i = 0; i < t.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(t[i]));
    out << buf << ((i + 1) % row == 0 ? "\n" : " ");
  }
}

}  // namespace

int predict_main(const Args& args) {
  args.expect_positional(2, 2, kPredictUsage);
  auto model = load_cli_model(args.positional[0], args);
  const std::vector<Tensor<float>> inputs = read_model_inputs(*model, args.positional[1]);
  const std::vector<Tensor<float>> outputs = model->predict(inputs);
  const std::string out_path = args.get("--output");
  if (out_path.empty()) {
    for (size_t i = 0; i < outputs.size(); ++i) print_tensor(std::cout, "output_" + std::to_string(i), outputs[i]);
    return 0;
  }
  std::map<std::string, NpyArray> arrays;
  for (size_t i = 0; i < outputs.size(); ++i) arrays["output_" + std::to_string(i)] = NpyArray::from(outputs[i]);
  write_npz(out_path, arrays);
  return 0;
}

}  // namespace rnnx::cli
