// rnnx: train, evaluate, explain, run, convert and check Keras recurrent models from the
// command line. Options are parsed by CLI11 (Debian libcli11-dev); every subcommand answers
// --help. See cli.h for the conventions and exit codes.
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "cli.h"
#include "parallel_job.h"
#include "rnnx/core/error.h"
#include "run_files.h"

namespace {

const char* const kDescription =
    "rnnx: recurrent neural networks as Keras computes them.\n"
    "Train an LSTM on Fashion-MNIST with `rnnx train`; run, inspect and convert Keras (.keras, .h5)\n"
    "and PyTorch (nn.LSTM / nn.GRU / nn.RNN) models.\n"
    "Exit status: 0 ok, 1 error or failed verification, 2 usage error.";

int run_command(int argc, char** argv) {
  int exit_code = 0;
  rnnx::cli::record_command_line(argc, argv);
  CLI::App app(kDescription, "rnnx");
  app.require_subcommand(1);
  rnnx::cli::add_train_command(app, exit_code);
  rnnx::cli::add_evaluate_command(app, exit_code);
  rnnx::cli::add_predict_command(app, exit_code);
  rnnx::cli::add_explain_command(app, exit_code);
  rnnx::cli::add_convert_command(app, exit_code);
  rnnx::cli::add_verify_command(app, exit_code);
  rnnx::cli::add_summary_command(app, exit_code);
  rnnx::cli::add_bench_command(app, exit_code);
  try {
    app.parse(argc, argv);  // runs the chosen subcommand's callback
    return exit_code;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, std::cout, std::cerr);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, std::cout, std::cerr);
  } catch (const CLI::ParseError& e) {
    std::cerr << "rnnx: " << e.what()
              << "\nusage: rnnx <command> [options]; run `rnnx --help` or `rnnx <command> --help`\n";
    return 2;
  } catch (const rnnx::cli::UsageError& e) {
    std::cerr << "rnnx: " << e.what() << "\nusage: run `rnnx <command> --help` for the options\n";
    return 2;
  } catch (const rnnx::Error& e) {
    std::cerr << "rnnx: error: " << e.what() << "\n";
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {  // the OS refused (read-only, full disk)
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

}  // namespace

// Model files are untrusted input, and Debian's libhdf5 1.10 can crash inside its own code
// on some damaged .h5 files (a corrupt global heap makes H5HG_read copy out of bounds), where
// rnnx cannot catch anything. So the command runs in a child process: such a crash becomes
// an error message and exit status 1, like every other broken file. Outputs are written
// atomically, so a crash leaves no partial file behind.
int main(int argc, char** argv) {
  std::cout.flush();
  const pid_t parent = getpid();
  const pid_t child = fork();
  if (child < 0) {  // no process to spare: run here
    const int code = run_command(argc, argv);
    rnnx::cli::end_parallel_job(code);
    return code;
  }
  if (child == 0) {
    // The command dies with the rnnx process: a killed `rnnx train` leaves no orphan running.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) std::_Exit(1);
    const int code = run_command(argc, argv);
    std::cout.flush();
    std::cerr.flush();
    rnnx::cli::end_parallel_job(code);  // under mpirun: MPI_Finalize, or MPI_Abort after an error
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
  if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
    std::cerr << "rnnx: error: the command was stopped by signal " << sig << " (" << strsignal(sig) << ")\n";
    return 1;
  }
  std::cerr << "rnnx: error: reading the input crashed the process (signal " << sig << ", " << strsignal(sig)
            << "): the file is damaged. Debian's libhdf5 1.10 cannot read some corrupt .h5 files safely; "
               "rnnx's own checks did not get to reject it first\n";
  return 1;
}
