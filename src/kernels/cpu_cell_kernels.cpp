// Dispatch of the fused cell kernels (cell_kernels.h): float with fast-path activations goes
// to the table of the active instruction set (cell_kernels_table.h), everything else to the
// reference kernels.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "kernels/cell_kernels_table.h"
#include "rnnx/kernels/cell_kernels.h"

namespace rnnx::kernels {
namespace {

Isa detect() {
#if RNNX_HAVE_X86_CELL_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
  return Isa::portable;
}

// The cap from RNNX_ISA (unknown values are ignored: no cap).
Isa environment_cap() {
  const char* v = std::getenv("RNNX_ISA");
  if (v == nullptr) return Isa::avx512;
  if (std::strcmp(v, "portable") == 0) return Isa::portable;
  if (std::strcmp(v, "avx2") == 0) return Isa::avx2;
  return Isa::avx512;
}

Isa lower(Isa a, Isa b) { return static_cast<int>(a) < static_cast<int>(b) ? a : b; }

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{static_cast<int>(lower(detected_isa(), environment_cap()))};
  return slot;
}

const detail::CellKernelTable& table() {
  static const detail::CellKernelTable portable = detail::portable_cell_kernels();
#if RNNX_HAVE_X86_CELL_KERNELS
  static const detail::CellKernelTable avx2 = detail::avx2_cell_kernels();
  static const detail::CellKernelTable avx512 = detail::avx512_cell_kernels();
  switch (active_isa()) {
    case Isa::avx512:
      return avx512;
    case Isa::avx2:
      return avx2;
    case Isa::portable:
      break;
  }
#endif
  return portable;
}

template <class T>
bool fast(const Activation& a) {
  return std::is_same_v<T, float> && has_fast_path(a);
}

}  // namespace

Isa detected_isa() {
  static const Isa isa = detect();
  return isa;
}

Isa active_isa() { return static_cast<Isa>(active_slot().load(std::memory_order_relaxed)); }

void set_isa(Isa cap) { active_slot().store(static_cast<int>(lower(detected_isa(), cap)), std::memory_order_relaxed); }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    case Isa::portable:
      break;
  }
  return "portable";
}

bool has_fast_path(const Activation& a) {
  switch (a.kind) {
    case ActivationKind::linear:
    case ActivationKind::sigmoid:
    case ActivationKind::tanh:
    case ActivationKind::hard_sigmoid:
    case ActivationKind::relu:
      return true;
    default:
      return false;
  }
}

bool derivative_needs_input(const Activation& a) {
  switch (a.kind) {
    case ActivationKind::linear:
    case ActivationKind::sigmoid:
    case ActivationKind::tanh:
    case ActivationKind::relu:
      return false;
    default:
      return true;
  }
}

template <class T>
bool lstm_needs_gates(const Activation& activation, const Activation& recurrent_activation) {
  return !(fast<T>(activation) && fast<T>(recurrent_activation));
}

template <class T>
bool gru_needs_record(const Activation& activation, const Activation& recurrent_activation) {
  return !(fast<T>(activation) && fast<T>(recurrent_activation));
}

template <class T>
void lstm_forward(const LSTMForward<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (fast<T>(a.activation) && fast<T>(a.recurrent_activation)) return table().lstm_forward(a);
  ref::lstm_forward(a);
}

template <class T>
void lstm_backward(const LSTMBackward<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (fast<T>(a.activation) && fast<T>(a.recurrent_activation)) return table().lstm_backward(a);
  ref::lstm_backward(a);
}

template <class T>
void gru_forward(const GRUForward<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (fast<T>(a.activation) && fast<T>(a.recurrent_activation)) return table().gru_forward(a);
  ref::gru_forward(a);
}

template <class T>
void gru_reset_forward(const GRUForward<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (fast<T>(a.activation) && fast<T>(a.recurrent_activation)) return table().gru_reset_forward(a);
  ref::gru_reset_forward(a);
}

template <class T>
void gru_candidate_forward(const GRUForward<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (fast<T>(a.activation) && fast<T>(a.recurrent_activation)) return table().gru_candidate_forward(a);
  ref::gru_candidate_forward(a);
}

template <class T>
void gru_backward(const GRUBackward<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (fast<T>(a.activation) && fast<T>(a.recurrent_activation)) return table().gru_backward(a);
  ref::gru_backward(a);
}

template <class T>
void gru_reset_backward(const GRUBackward<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (fast<T>(a.activation) && fast<T>(a.recurrent_activation)) return table().gru_reset_backward(a);
  ref::gru_reset_backward(a);
}

template <class T>
void simple_rnn_forward(const SimpleRNNForward<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (fast<T>(a.activation)) return table().simple_rnn_forward(a);
  ref::simple_rnn_forward(a);
}

template <class T>
void simple_rnn_backward(const SimpleRNNBackward<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (fast<T>(a.activation)) return table().simple_rnn_backward(a);
  ref::simple_rnn_backward(a);
}

#define RNNX_INSTANTIATE(T)                                                \
  template bool lstm_needs_gates<T>(const Activation&, const Activation&); \
  template bool gru_needs_record<T>(const Activation&, const Activation&); \
  template void lstm_forward<T>(const LSTMForward<T>&);                    \
  template void lstm_backward<T>(const LSTMBackward<T>&);                  \
  template void gru_forward<T>(const GRUForward<T>&);                      \
  template void gru_reset_forward<T>(const GRUForward<T>&);                \
  template void gru_candidate_forward<T>(const GRUForward<T>&);            \
  template void gru_backward<T>(const GRUBackward<T>&);                    \
  template void gru_reset_backward<T>(const GRUBackward<T>&);              \
  template void simple_rnn_forward<T>(const SimpleRNNForward<T>&);         \
  template void simple_rnn_backward<T>(const SimpleRNNBackward<T>&);
RNNX_INSTANTIATE(float)
RNNX_INSTANTIATE(double)
#undef RNNX_INSTANTIATE

}  // namespace rnnx::kernels
