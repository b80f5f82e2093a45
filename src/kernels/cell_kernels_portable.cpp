// The fused cell kernels' float fast path for any CPU: cell_kernels_simd.h over one float at a
// time (the compiler may still vectorise it for the baseline instruction set).
#include <bit>
#include <cstdint>

#include "kernels/cell_kernels_table.h"

namespace rnnx::kernels::detail {
namespace {

struct Scalar {
  using reg = float;
  using mask = bool;
  static constexpr int width = 1;
  static reg load(const float* p, int) { return *p; }
  static void store(float* p, reg v, int) { *p = v; }
  static reg set1(float x) { return x; }
  static reg add(reg a, reg b) { return a + b; }
  static reg sub(reg a, reg b) { return a - b; }
  static reg mul(reg a, reg b) { return a * b; }
  static reg div(reg a, reg b) { return a / b; }
  static reg fmadd(reg a, reg b, reg c) { return a * b + c; }
  static reg neg(reg a) { return -a; }
  static reg abs(reg a) { return __builtin_fabsf(a); }
  // As the x86 instructions: the second operand when either is NaN.
  static reg min(reg a, reg b) { return a < b ? a : b; }
  static reg max(reg a, reg b) { return a > b ? a : b; }
  static mask lt(reg a, reg b) { return a < b; }
  static mask gt(reg a, reg b) { return a > b; }
  static mask ge(reg a, reg b) { return a >= b; }
  static mask isnan(reg a) { return a != a; }
  static mask both(mask a, mask b) { return a && b; }
  static reg select(mask m, reg a, reg b) { return m ? a : b; }
  static reg clamp01(reg x) { return x > 1.0f ? 1.0f : x < 0.0f ? 0.0f : x; }
  static reg pow2n(reg n) { return std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23); }
};

}  // namespace
}  // namespace rnnx::kernels::detail

#include "kernels/cell_kernels_simd.h"

namespace rnnx::kernels::detail {

CellKernelTable portable_cell_kernels() { return FastCellKernels<Scalar>::table(); }

}  // namespace rnnx::kernels::detail
