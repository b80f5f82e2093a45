// rnnx: run, convert and check Keras recurrent models from the command line.
//   rnnx predict MODEL INPUT.npy|INPUT.npz [--output OUT.npz]
//   rnnx convert IN OUT.keras [--with-test-vector INPUT.npy|INPUT.npz]
//   rnnx verify MODEL [--test-vector V.npz] [--atol A] [--rtol R]
//   rnnx summary MODEL
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "cli.h"
#include "rnnx/core/error.h"

namespace {

const char* const kUsage =
    "usage: rnnx <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  predict MODEL INPUT.npy|INPUT.npz [--output OUT.npz]\n"
    "      run a model; .npz inputs are keyed by the model's input names; outputs are\n"
    "      written as output_0, output_1, ... (Keras order), or printed without --output\n"
    "  convert IN OUT.keras [--with-test-vector INPUT.npy|INPUT.npz]\n"
    "      write any model rnnx reads (.keras, .h5, PyTorch LSTM/GRU weights) as a Keras 3\n"
    "      .keras file\n"
    "  verify MODEL [--test-vector V.npz] [--atol A] [--rtol R]\n"
    "      rerun the test vector a .keras file carries; exit 1 if an output differs\n"
    "  summary MODEL\n"
    "      print the model's layers, shapes and parameter counts\n"
    "\n"
    "exit status: 0 ok, 1 error or failed verification, 2 usage error\n";

int dispatch(int argc, char** argv) {
  using namespace rnnx::cli;
  if (argc < 2) throw UsageError("no command given");
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  struct Command {
    const char* name;
    int (*run)(const Args&);
    const char* usage;
    std::vector<std::string> options;
  };
  const Command commands[] = {
      {"predict", predict_main, kPredictUsage, {"--output", "--pytorch-prefix"}},
      {"convert", convert_main, kConvertUsage, {"--with-test-vector", "--pytorch-prefix"}},
      {"verify", verify_main, kVerifyUsage, {"--test-vector", "--atol", "--rtol"}},
      {"summary", summary_main, kSummaryUsage, {"--pytorch-prefix"}},
  };
  for (const auto& c : commands) {
    if (cmd != c.name) continue;
    const Args args = Args::parse(argc, argv, 2, c.options);
    if (args.help) {
      std::cout << c.usage;
      return 0;
    }
    return c.run(args);
  }
  throw UsageError("unknown command '" + cmd + "'");
}

}  // namespace

int run_command(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const rnnx::cli::UsageError& e) {
    std::cerr << "rnnx: " << e.what() << "\n\n" << kUsage;
    return 2;
  } catch (const rnnx::Error& e) {
    std::cerr << "rnnx: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "rnnx: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "rnnx: internal error: " << e.what() << "\n";
    return 1;
  }
}

// Model files are untrusted input, and Debian's libhdf5 1.10 can crash inside its own code
// on some damaged .h5 files (a corrupt global heap makes H5HG_read copy out of bounds), where
// rnnx cannot catch anything. So the command runs in a child process: such a crash becomes
// an error message and exit status 1, like every other broken file. Outputs are written
// atomically, so a crash leaves no partial file behind.
int main(int argc, char** argv) {
  std::cout.flush();
  const pid_t child = fork();
  if (child < 0) return run_command(argc, argv);  // no process to spare: run here
  if (child == 0) {
    const int code = run_command(argc, argv);
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(code);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR) {
      std::cerr << "rnnx: internal error: lost the command's process (" << std::strerror(errno) << ")\n";
      return 1;
    }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  std::cerr << "rnnx: error: reading the input crashed the process (signal " << sig << ", " << strsignal(sig)
            << "): the file is damaged. Debian's libhdf5 1.10 cannot read some corrupt .h5 files safely; "
               "rnnx's own checks did not get to reject it first\n";
  return 1;
}
