// Helpers of the commands that write run outputs (run_files.h).
#include "run_files.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <span>

#include "io/file_io.h"
#include "rnnx/core/error.h"

#ifdef RNNX_CLI_OPENMP
#include <omp.h>
#endif

namespace rnnx::cli {

namespace {
std::string g_command_line;
}

void write_text_atomic(const std::string& path, const std::string& text) {
  detail::write_file_atomic(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void set_threads(int threads) {
#ifdef RNNX_CLI_OPENMP
  if (threads > 0) omp_set_num_threads(threads);
#else
  (void)threads;
#endif
}

std::string format_value(double v) {
  char buf[64];
  if (v != 0 && std::abs(v) < 1e-3)
    std::snprintf(buf, sizeof buf, "%.4e", v);
  else
    std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

Tensor<float> sample_rows(const Tensor<float>& t, int64_t begin, int64_t count) {
  Shape s = t.shape();
  const int64_t per = s[0] > 0 ? t.size() / s[0] : 0;
  s[0] = std::max<int64_t>(0, std::min(count, s[0] - begin));
  return Tensor<float>(s,
                       std::vector<float>(t.values().begin() + begin * per, t.values().begin() + (begin + s[0]) * per));
}

void record_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) {
    if (i) g_command_line += ' ';
    g_command_line += argv[i];
  }
}

std::string command_line() { return g_command_line; }

std::string cpu_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown CPU";
}

}  // namespace rnnx::cli
