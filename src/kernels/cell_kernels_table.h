#pragma once
// Internal: the float fast paths of the fused cell kernels (cell_kernels.h) as one table of
// entry points per instruction set. cell_kernels_{avx512,avx2,portable}.cpp each build their
// table from cell_kernels_simd.h; cpu_cell_kernels.cpp picks one at run time (active_isa()).
// The AVX tables exist only on x86; calling one on a CPU without that instruction set is
// undefined (the dispatcher never does).
#include "rnnx/kernels/cell_kernels.h"

namespace rnnx::kernels::detail {

struct CellKernelTable {
  void (*lstm_forward)(const LSTMForward<float>&);
  void (*lstm_backward)(const LSTMBackward<float>&);
  void (*gru_forward)(const GRUForward<float>&);
  void (*gru_reset_forward)(const GRUForward<float>&);
  void (*gru_candidate_forward)(const GRUForward<float>&);
  void (*gru_backward)(const GRUBackward<float>&);
  void (*gru_reset_backward)(const GRUBackward<float>&);
  void (*simple_rnn_forward)(const SimpleRNNForward<float>&);
  void (*simple_rnn_backward)(const SimpleRNNBackward<float>&);
};

CellKernelTable portable_cell_kernels();
#if defined(__x86_64__) || defined(__i386__)
#define RNNX_HAVE_X86_CELL_KERNELS 1
CellKernelTable avx2_cell_kernels();
CellKernelTable avx512_cell_kernels();
#endif

}  // namespace rnnx::kernels::detail
