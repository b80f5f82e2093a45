// Prints the machine's FP32 FMA peak (bench_support.h fma_peak) as one JSON line:
//   {"threads":2,"gflops":...,"isa":"avx512"}
// Usage: bench_peak THREADS [SECONDS]   (default 1 second)
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_support.h"

int main(int argc, char** argv) {
  if (argc < 2 || std::atoi(argv[1]) < 1) {
    std::fprintf(stderr, "usage: bench_peak THREADS [SECONDS]\n");
    return 2;
  }
  const int threads = std::atoi(argv[1]);
  const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  const rnnx::bench::Peak p = rnnx::bench::fma_peak(threads, seconds > 0 ? seconds : 1.0);
  std::printf("{\"threads\":%d,\"gflops\":%.2f,\"isa\":\"%s\"}\n", threads, p.gflops, p.isa.c_str());
  return 0;
}
