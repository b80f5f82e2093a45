#include "support/close.h"

#include <cmath>
#include <sstream>

namespace rnnx::testing {

template <class T, class U>
::testing::AssertionResult all_close(const Tensor<T>& got, const Tensor<U>& want, Tolerance tol,
                                     const std::string& what) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << what << ": shape " << to_string(got.shape()) << ", expected "
                                         << to_string(want.shape());
  int64_t worst = -1;
  double worst_excess = 0.0;
  for (int64_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    const double err = std::abs(g - w);
    const double allowed = tol.abs + tol.rel * std::abs(w);
    const double excess = std::isnan(g) != std::isnan(w) ? 1e300 : err - allowed;
    if (excess > 0 && (worst < 0 || excess > worst_excess)) {
      worst = i;
      worst_excess = excess;
    }
  }
  if (worst < 0) return ::testing::AssertionSuccess();
  const double g = static_cast<double>(got[worst]), w = static_cast<double>(want[worst]);
  return ::testing::AssertionFailure() << what << ": worst flat index " << worst << " of shape "
                                       << to_string(got.shape()) << ": got " << g << ", expected " << w
                                       << ", abs err " << std::abs(g - w) << ", rel err "
                                       << std::abs(g - w) / std::max(std::abs(w), 1e-30) << " (tolerance abs "
                                       << tol.abs << " + rel " << tol.rel << ")";
}

template ::testing::AssertionResult all_close(const Tensor<float>&, const Tensor<float>&, Tolerance,
                                              const std::string&);
template ::testing::AssertionResult all_close(const Tensor<double>&, const Tensor<double>&, Tolerance,
                                              const std::string&);
template ::testing::AssertionResult all_close(const Tensor<float>&, const Tensor<double>&, Tolerance,
                                              const std::string&);
template ::testing::AssertionResult all_close(const Tensor<double>&, const Tensor<float>&, Tolerance,
                                              const std::string&);

}  // namespace rnnx::testing
