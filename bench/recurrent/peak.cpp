// The FP32 FMA peak of bench_support.h: every thread runs 16 independent FMA chains
// (acc = acc * m + a, which stays bounded), enough to cover the FMA latency times the
// number of FMA ports on current x86 cores (4-5 cycles x 2 ports). The widest vector unit
// the CPU reports is used (runtime dispatch, so one binary runs on every x86-64 machine).
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "bench_support.h"

namespace rnnx::bench {

namespace {

volatile float g_sink;  // keeps the chains' results alive

#if defined(__x86_64__)
__attribute__((target("avx512f"))) void chains_avx512(int64_t iters) {
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-6f);
  __m512 v[16];
  for (int i = 0; i < 16; ++i) v[i] = _mm512_set1_ps(static_cast<float>(i));
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 16; ++i) v[i] = _mm512_fmadd_ps(v[i], m, a);
  __m512 s = v[0];
  for (int i = 1; i < 16; ++i) s = _mm512_add_ps(s, v[i]);
  float out[16];  // (not _mm512_reduce_add_ps: GCC 12's version warns about an undefined register)
  _mm512_storeu_ps(out, s);
  g_sink = out[0] + out[15];
}

__attribute__((target("avx2,fma"))) void chains_avx2(int64_t iters) {
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-6f);
  __m256 v[16];
  for (int i = 0; i < 16; ++i) v[i] = _mm256_set1_ps(static_cast<float>(i));
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 16; ++i) v[i] = _mm256_fmadd_ps(v[i], m, a);
  __m256 s = v[0];
  for (int i = 1; i < 16; ++i) s = _mm256_add_ps(s, v[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  g_sink = out[0] + out[7];
}
#endif

void chains_scalar(int64_t iters) {
  float v[16];
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 16; ++i) v[i] = v[i] * 0.999999f + 1e-6f;
  float s = 0;
  for (float x : v) s += x;
  g_sink = s;
}

struct Kernel {
  void (*run)(int64_t);
  int lanes;
  const char* isa;
};

Kernel pick_kernel() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {chains_avx512, 16, "avx512"};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {chains_avx2, 8, "avx2"};
#endif
  return {chains_scalar, 1, "scalar"};
}

// Seconds for `threads` threads each running `iters` iterations at once.
double run_threads(const Kernel& k, int threads, int64_t iters) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(k.run, iters);
  k.run(iters);
  for (std::thread& t : pool) t.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Peak fma_peak(int threads, double seconds) {
  const Kernel k = pick_kernel();
  threads = std::max(threads, 1);
  const double flops_per_iter = 16.0 * k.lanes * 2;  // 16 chains, one multiply and one add per lane
  // Calibrate the iteration count so one try takes about seconds / 3.
  int64_t iters = 1 << 14;
  double s = run_threads(k, 1, iters);
  while (s < 0.01) {
    iters *= 4;
    s = run_threads(k, 1, iters);
  }
  iters = std::max<int64_t>(1, static_cast<int64_t>(iters * (seconds / 3) / s));
  double best = 0;
  for (int r = 0; r < 3; ++r)
    best = std::max(best, flops_per_iter * static_cast<double>(iters) * threads / run_threads(k, threads, iters) / 1e9);
  return {best, k.isa};
}

}  // namespace rnnx::bench
