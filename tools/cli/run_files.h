#pragma once
// Small helpers of the commands that write run outputs (train, evaluate, explain).
#include <cstdint>
#include <string>

#include "rnnx/core/tensor.h"

namespace rnnx::cli {

// Writes `text` to a temporary file beside `path` and renames it over `path`, so a reader
// sees the old file or the whole new one. IoError naming the path on failure.
void write_text_atomic(const std::string& path, const std::string& text);

// Sets the thread count of the matrix products (OpenMP, which oneDNN uses); 0 keeps the
// default (all cores, or OMP_NUM_THREADS).
void set_threads(int threads);

// A number as Keras prints it in logs: 4 decimals, or %.4e when |v| < 1e-3.
std::string format_value(double v);

// Samples [begin, begin + count) of a [samples, ...] tensor (count clipped to what is there).
Tensor<float> sample_rows(const Tensor<float>& t, int64_t begin, int64_t count);

// The command line as given to main() (recorded by main), for settings files.
void record_command_line(int argc, char** argv);
std::string command_line();

// The CPU's model name from /proc/cpuinfo ("unknown CPU" if not found).
std::string cpu_name();

}  // namespace rnnx::cli
