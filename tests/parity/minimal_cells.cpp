#include "minimal_cells.h"

#include "rnnx/activations.h"
#include "rnnx/core/error.h"
#include "rnnx/initializers.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx::testing {

template <class T>
MinimalCell<T>::MinimalCell(int64_t units, bool with_constants) : units_(units), with_constants_(with_constants) {
  if (units <= 0) throw ConfigError(class_name() + ": units must be > 0, got " + std::to_string(units));
}

template <class T>
void MinimalCell<T>::build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) {
  if (with_constants_ && constant_sizes.size() != 1)
    throw ConfigError(class_name() + ": expects exactly one constants tensor, got " +
                      std::to_string(constant_sizes.size()));
  if (!with_constants_ && !constant_sizes.empty()) throw ConfigError(class_name() + ": takes no constants");
  input_size_ = input_size;
  const Initializer glorot = Initializer::from_name("glorot_uniform");
  kernel_ = Tensor<T>({input_size, units_});
  recurrent_kernel_ = Tensor<T>({units_, units_});
  initialize(glorot, kernel_, rng);
  initialize(glorot, recurrent_kernel_, rng);
  if (with_constants_) {
    constant_kernel_ = Tensor<T>({constant_sizes[0], units_});
    initialize(glorot, constant_kernel_, rng);
  }
  kernel_grad_ = Tensor<T>(kernel_.shape());
  recurrent_kernel_grad_ = Tensor<T>(recurrent_kernel_.shape());
  if (with_constants_) constant_kernel_grad_ = Tensor<T>(constant_kernel_.shape());
  built_ = true;
}

template <class T>
std::vector<Param<T>> MinimalCell<T>::params() {
  std::vector<Param<T>> p{{"kernel", &kernel_, &kernel_grad_},
                          {"recurrent_kernel", &recurrent_kernel_, &recurrent_kernel_grad_}};
  if (with_constants_) p.push_back({"constant_kernel", &constant_kernel_, &constant_kernel_grad_});
  return p;
}

template <class T>
void MinimalCell<T>::step(const CellStep<T>& s) const {
  const int64_t b = s.batch, u = units_;
  kernels::gemm<T>(false, false, b, u, input_size_, T(1), s.x, input_size_, kernel_.data(), u, T(0), s.output, u);
  kernels::gemm<T>(false, false, b, u, u, T(1), s.states[0], u, recurrent_kernel_.data(), u, T(1), s.output, u);
  if (with_constants_) {
    const int64_t c = constant_kernel_.dim(0);
    kernels::gemm<T>(false, false, b, u, c, T(1), s.constants[0], c, constant_kernel_.data(), u, T(1), s.output, u);
  }
  if (!s.tape.empty()) kernels::copy_block(b, u, s.output, u, s.tape[0], u);  // a
  kernels::activate_block(Activation{ActivationKind::tanh}, s.output, b, u, u);
  if (!s.tape.empty()) kernels::copy_block(b, u, s.output, u, s.tape[1], u);  // h = tanh(a)
  kernels::copy_block(b, u, s.output, u, s.new_states[0], u);
}

template <class T>
void MinimalCell<T>::step_backward(const CellStepGrad<T>& g) const {
  const int64_t b = g.batch, u = units_;
  // da = (dL/d output + dL/d h') * tanh'(a);  dh_prev = da @ recurrent_kernelᵀ
  kernels::add_block(b, u, g.d_output, u, g.d_new_states[0], u, g.scratch, u);
  kernels::activation_backward_block(Activation{ActivationKind::tanh}, b, u, g.tape[0], u, g.tape[1], u, g.scratch, u,
                                     g.dz, g.ldz);
  kernels::gemm<T>(false, true, b, u, u, T(1), g.dz, g.ldz, recurrent_kernel_.data(), u, T(0), g.d_states[0], u);
}

template <class T>
void MinimalCell<T>::backward_params(const CellSequenceGrad<T>& g) {
  const int64_t u = units_;
  kernels::gemm<T>(true, false, input_size_, u, g.rows, T(1), g.x, input_size_, g.dz, g.ldz, T(1), kernel_grad_.data(),
                   u);
  kernels::gemm<T>(true, false, u, u, g.rows, T(1), g.states[0], u, g.dz, g.ldz, T(1), recurrent_kernel_grad_.data(),
                   u);
  if (!with_constants_) return;
  // The constant is the same at every step: sum da over time per sample first.
  const int64_t c = constant_kernel_.dim(0);
  Tensor<T> da_sum({g.batch, u});
  for (int64_t r = 0; r < g.rows; r += g.batch)
    kernels::add_block(g.batch, u, da_sum.data(), u, g.dz + r * g.ldz, g.ldz, da_sum.data(), u);
  kernels::gemm<T>(true, false, c, u, g.batch, T(1), g.constants[0], c, da_sum.data(), u, T(1),
                   constant_kernel_grad_.data(), u);
  kernels::gemm<T>(false, true, g.batch, c, u, T(1), da_sum.data(), u, constant_kernel_.data(), u, T(1),
                   g.d_constants[0], c);
}

template <class T>
void MinimalCell<T>::backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t /*batch*/,
                                     const DropoutMasks<T>& /*masks*/, T* d_x, T* /*scratch*/) const {
  kernels::gemm<T>(false, true, rows, input_size_, units_, T(1), dz, ldz, kernel_.data(), units_, T(0), d_x,
                   input_size_);
}

template <class T>
std::unique_ptr<Cell<T>> MinimalCell<T>::clone_config() const {
  return std::make_unique<MinimalCell<T>>(units_, with_constants_);
}

template class MinimalCell<float>;
template class MinimalCell<double>;

namespace {
template <class T>
void register_for() {
  register_keras_cell<T>("MinimalConstantsCell", [](const KerasConfig& c) -> std::unique_ptr<Cell<T>> {
    return std::make_unique<MinimalCell<T>>(c.get_int("units"), true);
  });
  register_keras_cell<T>("MinimalCell", [](const KerasConfig& c) -> std::unique_ptr<Cell<T>> {
    return std::make_unique<MinimalCell<T>>(c.get_int("units"), false);
  });
}
}  // namespace

void register_minimal_cells() {
  register_for<float>();
  register_for<double>();
}

}  // namespace rnnx::testing
