// rnnx verify MODEL [--test-vector V.npz] [--atol A] [--rtol R]
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli.h"
#include "rnnx/io/save_model.h"

namespace rnnx::cli {

namespace {

struct VerifyCommand {
  std::string model, test_vector;
  VerifyOptions options;
};

int run_verify(const VerifyCommand& c) {
  const VerifyReport r = verify_model(c.model, c.options, c.test_vector);
  std::cout << c.model << "\n" << r.to_string() << "\n";
  return r.passed ? 0 : 1;
}

}  // namespace

void add_verify_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<VerifyCommand>();
  CLI::App* sub = app.add_subcommand(
      "verify",
      "Load MODEL, run the inputs of its test vector (the file's rnnx_test_vector.npz member, or V.npz\n"
      "with input_0.., output_0..) and report the worst absolute and relative error of each output. An\n"
      "output passes when every element satisfies |got - expected| <= atol + rtol * |expected|.\n"
      "Exit status 1 when an output fails.");
  sub->add_option("MODEL", c->model, "a .keras file (or any model file with --test-vector)")->required();
  sub->add_option("--test-vector", c->test_vector, "V.npz with input_0.., output_0..");
  sub->add_option("--atol", c->options.atol, "absolute tolerance")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--rtol", c->options.rtol, "relative tolerance")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->callback([c, &exit_code] { exit_code = run_verify(*c); });
}

}  // namespace rnnx::cli
