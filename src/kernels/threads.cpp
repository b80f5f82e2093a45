// The thread count of the recurrent layers (rnnx/kernels/threads.h).
#include "rnnx/kernels/threads.h"

#include <atomic>

#if RNNX_HAVE_OPENMP
#include <omp.h>
#endif

namespace rnnx::kernels {
namespace {

std::atomic<int>& chosen() {
  static std::atomic<int> n{0};  // 0: the default
  return n;
}

int default_threads() {
#if RNNX_HAVE_OPENMP
  static const int n = omp_get_max_threads();
  return n > 0 ? n : 1;
#else
  return 1;
#endif
}

}  // namespace

int num_threads() {
  const int n = chosen().load(std::memory_order_relaxed);
  return n > 0 ? n : default_threads();
}

void set_num_threads(int n) {
  chosen().store(n > 0 ? n : 0, std::memory_order_relaxed);
#if RNNX_HAVE_OPENMP
  omp_set_num_threads(num_threads());
#endif
}

}  // namespace rnnx::kernels
