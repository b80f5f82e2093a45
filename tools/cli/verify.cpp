// rnnx verify MODEL [--test-vector V.npz] [--atol A] [--rtol R]
#include <iostream>

#include "cli.h"
#include "rnnx/io/save_model.h"

namespace rnnx::cli {

const char* const kVerifyUsage =
    "usage: rnnx verify MODEL [--test-vector V.npz] [--atol A] [--rtol R]\n"
    "  Loads MODEL, runs the inputs of its test vector (the file's rnnx_test_vector.npz\n"
    "  member, or V.npz with input_0.., output_0..) and reports the worst absolute and\n"
    "  relative error of each output. An output passes when every element satisfies\n"
    "  |got - expected| <= atol + rtol * |expected| (defaults 1e-5, 1e-4).\n"
    "  Exit status 1 when an output fails.\n";

int verify_main(const Args& args) {
  args.expect_positional(1, 1, kVerifyUsage);
  VerifyOptions options;
  options.atol = args.get_double("--atol", options.atol);
  options.rtol = args.get_double("--rtol", options.rtol);
  const VerifyReport r = verify_model(args.positional[0], options, args.get("--test-vector"));
  std::cout << args.positional[0] << "\n" << r.to_string() << "\n";
  return r.passed ? 0 : 1;
}

}  // namespace rnnx::cli
