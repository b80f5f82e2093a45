// The RNN layer's time loops (rnn_time_loop.h): one block of samples per thread, each block
// through the whole sequence.
#include "layers/rnn_time_loop.h"

#include <algorithm>
#include <utility>

#include "rnnx/kernels/kernels.h"

#if RNNX_HAVE_OPENMP
#include <omp.h>
#endif

namespace rnnx::detail {
namespace {

// First row of block k of `blocks` over `batch` rows (block k is [bound(k), bound(k + 1))).
int64_t bound(int k, int blocks, int64_t batch) { return batch * k / blocks; }

// Runs body(k) for every block k, spread over up to `blocks` threads in one parallel region.
template <class F>
void for_blocks(int blocks, F&& body) {
#if RNNX_HAVE_OPENMP
  if (blocks > 1) {
#pragma omp parallel num_threads(blocks)
    {
      // The team may be smaller than asked for (nested regions, OMP_DYNAMIC): the blocks
      // stay the same, a thread then runs several.
      for (int k = omp_get_thread_num(); k < blocks; k += omp_get_num_threads()) body(k);
    }
    return;
  }
#endif
  for (int k = 0; k < blocks; ++k) body(k);
}

// Sizes the per-thread pointer vectors once (no allocation when the counts repeat).
template <class T>
void prepare_threads(RecurrentWorkspace<T>& ws, int blocks, size_t states, size_t constants, size_t input_masks,
                     size_t recurrent_masks, size_t tape) {
  if (ws.threads.size() < static_cast<size_t>(blocks)) ws.threads.resize(static_cast<size_t>(blocks));
  for (int k = 0; k < blocks; ++k) {
    LoopThread<T>& th = ws.threads[static_cast<size_t>(k)];
    th.step.states.resize(states);
    th.step.new_states.resize(states);
    th.step.constants.resize(constants);
    th.step.dropout.input.resize(input_masks);
    th.step.dropout.recurrent.resize(recurrent_masks);
    th.step.tape.resize(tape);
    th.grad.states.resize(states);
    th.grad.d_new_states.resize(states);
    th.grad.d_states.resize(states);
    th.grad.constants.resize(constants);
    th.grad.d_constants.resize(constants);
    th.grad.dropout.input.resize(input_masks);
    th.grad.dropout.recurrent.resize(recurrent_masks);
    th.grad.tape.resize(tape);
    th.a.resize(states);
    th.b.resize(states);
  }
}

// The masks, constants and their gradients of rows r0.. (each is [batch, width]).
template <class T>
void offset_rows(const DropoutMasks<T>& masks, const std::vector<int64_t>& input_widths,
                 const std::vector<int64_t>& recurrent_widths, int64_t r0, DropoutMasks<T>& out) {
  for (size_t m = 0; m < masks.input.size(); ++m) out.input[m] = masks.input[m] + r0 * input_widths[m];
  for (size_t m = 0; m < masks.recurrent.size(); ++m) out.recurrent[m] = masks.recurrent[m] + r0 * recurrent_widths[m];
}

template <class T>
void forward_block(const ForwardLoop<T>& L, LoopThread<T>& th, int64_t r0, int64_t r1) {
  const std::vector<int64_t>& sizes = *L.state_sizes;
  const size_t n_states = sizes.size(), n_tape = L.tape.size();
  const int64_t B = L.batch, nb = r1 - r0, out = L.out_size;
  CellStep<T>& st = th.step;
  st.batch = nb;
  for (size_t i = 0; i < n_states; ++i) {
    th.a[i] = L.state_a[i] + r0 * sizes[i];
    th.b[i] = L.state_b[i] + r0 * sizes[i];
  }
  for (size_t c = 0; c < L.constants.size(); ++c) st.constants[c] = L.constants[c] + r0 * L.constant_sizes[c];
  offset_rows(L.dropout, *L.input_mask_widths, *L.recurrent_mask_widths, r0, st.dropout);
  st.scratch = th.scratch.data();
  auto slot = [&](int64_t s) -> T* {
    return (L.sequence != nullptr ? L.sequence + s * B * out : L.last[s % 2]) + r0 * out;
  };
  for (int64_t s = 0; s < L.steps; ++s) {
    const int64_t t = L.go_backwards ? L.steps - 1 - s : s;
    const int64_t row = t * B + r0;  // this block's first row of step t
    st.x = L.x + row * L.features;
    st.x_proj = L.projected != nullptr ? L.projected + row * L.proj_size : nullptr;
    for (size_t i = 0; i < n_states; ++i) {
      st.states[i] = th.a[i];
      st.new_states[i] = th.b[i];
    }
    if (!L.states_record.empty())
      for (size_t i = 0; i < n_states; ++i)
        kernels::copy_block<T>(nb, sizes[i], th.a[i], sizes[i], L.states_record[i] + row * sizes[i], sizes[i]);
    for (size_t e = 0; e < n_tape; ++e) st.tape[e] = L.tape[e] + row * (*L.tape_widths)[e];
    T* y = slot(s);
    st.output = y;
    L.cell->step(st);
    if (L.mask != nullptr) {
      const uint8_t* keep = L.mask + t * L.mask_per_step + r0 * L.mask_per_sample;  // step t, samples r0..
      for (size_t i = 0; i < n_states; ++i)
        kernels::select_rows<T>(nb, sizes[i], keep, L.mask_per_sample, th.b[i], sizes[i], th.a[i], sizes[i], th.b[i],
                                sizes[i]);
      const T* fallback = L.zero_output_for_mask || s == 0 ? L.zeros + r0 * out : slot(s - 1);
      kernels::select_rows<T>(nb, out, keep, L.mask_per_sample, y, out, fallback, out, y, out);
    }
    std::swap(th.a, th.b);
  }
}

template <class T>
void backward_block(const BackwardLoop<T>& L, LoopThread<T>& th, int64_t r0, int64_t r1) {
  const std::vector<int64_t>& sizes = *L.state_sizes;
  const size_t n_states = sizes.size(), n_tape = L.tape.size();
  const int64_t B = L.batch, nb = r1 - r0, out = L.out_size, gw = L.grad_width;
  CellStepGrad<T>& g = th.grad;
  g.batch = nb;
  g.ldz = gw;
  for (size_t i = 0; i < n_states; ++i) {
    th.a[i] = L.d_a[i] + r0 * sizes[i];
    th.b[i] = L.d_b[i] + r0 * sizes[i];
  }
  for (size_t c = 0; c < L.constants.size(); ++c) {
    g.constants[c] = L.constants[c] + r0 * L.constant_sizes[c];
    g.d_constants[c] = L.d_constants[c] + r0 * L.constant_sizes[c];
  }
  offset_rows(L.dropout, *L.input_mask_widths, *L.recurrent_mask_widths, r0, g.dropout);
  g.scratch = th.scratch.data();
  T* d_step_out = L.d_step_out + r0 * out;
  T* d_cell_out = L.d_cell_out + r0 * out;
  T* carry = L.carry + r0 * out;
  for (int64_t s = L.steps - 1; s >= 0; --s) {
    const int64_t t = L.go_backwards ? L.steps - 1 - s : s;
    const int64_t row = t * B + r0;
    const T* given = nullptr;
    if (L.return_sequences)
      given = L.d_sequence == nullptr ? nullptr : L.d_sequence + s * B * out + r0 * out;
    else if (s == L.steps - 1 && L.d_last != nullptr)
      given = L.d_last + r0 * out;
    if (given != nullptr)
      kernels::add_block<T>(nb, out, given, out, carry, out, d_step_out, out);
    else
      kernels::copy_block<T>(nb, out, carry, out, d_step_out, out);
    g.d_output = d_step_out;
    for (size_t i = 0; i < n_states; ++i) g.d_new_states[i] = th.a[i];
    const uint8_t* keep = L.mask != nullptr ? L.mask + t * L.mask_per_step + r0 * L.mask_per_sample : nullptr;
    if (keep != nullptr) {
      // A masked sample's cell result was discarded: its cell gets zero gradient; its output
      // repeated the previous one (which gets the gradient), unless it was zeroed.
      kernels::select_rows<T>(nb, out, keep, L.mask_per_sample, d_step_out, out, L.zeros, 0, d_cell_out, out);
      if (!L.zero_output_for_mask && s > 0)
        kernels::select_rows<T>(nb, out, keep, L.mask_per_sample, L.zeros, 0, d_step_out, out, carry, out);
      for (size_t i = 0; i < n_states; ++i) {
        T* d_cell_state = L.d_next_cell[i] + r0 * sizes[i];
        kernels::select_rows<T>(nb, sizes[i], keep, L.mask_per_sample, th.a[i], sizes[i], L.zeros, 0, d_cell_state,
                                sizes[i]);
        g.d_new_states[i] = d_cell_state;
      }
      g.d_output = d_cell_out;
    }
    g.x = L.x + row * L.features;
    for (size_t i = 0; i < n_states; ++i) {
      g.states[i] = L.states[i] + row * sizes[i];
      g.d_states[i] = th.b[i];
    }
    for (size_t e = 0; e < n_tape; ++e) g.tape[e] = L.tape[e] + row * (*L.tape_widths)[e];
    g.dz = L.dz + row * gw;
    L.cell->step_backward(g);
    if (keep != nullptr)  // the states of a masked sample were copied through
      for (size_t i = 0; i < n_states; ++i)
        kernels::select_rows<T>(nb, sizes[i], keep, L.mask_per_sample, th.b[i], sizes[i], th.a[i], sizes[i], th.b[i],
                                sizes[i]);
    std::swap(th.a, th.b);
  }
}

}  // namespace

template <class T>
int loop_blocks(const Cell<T>& cell, int64_t batch, int64_t steps, const std::vector<int64_t>& state_sizes,
                int threads) {
  constexpr int64_t kMinParallelWork = int64_t{1} << 20;
  if (!cell.rows_independent() || threads <= 1 || batch <= 1) return 1;
  int64_t width = 0;
  for (int64_t size : state_sizes) width += size;
  if (batch * steps * width * width < kMinParallelWork) return 1;
  return static_cast<int>(std::min<int64_t>(threads, batch));
}

// Splits the loop's batch into blocks, sizes each block's thread (scratch_size: the cell's
// scratch for a block of that many rows) and runs block(loop, thread, r0, r1) on each.
template <class T, class Loop, class ScratchSize, class Block>
void run_blocks(const Loop& loop, RecurrentWorkspace<T>& ws, int threads, ScratchSize scratch_size, Block block) {
  const int blocks = loop_blocks(*loop.cell, loop.batch, loop.steps, *loop.state_sizes, threads);
  prepare_threads(ws, blocks, loop.state_sizes->size(), loop.constants.size(), loop.dropout.input.size(),
                  loop.dropout.recurrent.size(), loop.tape.size());
  for (int k = 0; k < blocks; ++k)
    at_least(ws.threads[static_cast<size_t>(k)].scratch,
             scratch_size(bound(k + 1, blocks, loop.batch) - bound(k, blocks, loop.batch)));
  for_blocks(blocks, [&](int k) {
    block(loop, ws.threads[static_cast<size_t>(k)], bound(k, blocks, loop.batch), bound(k + 1, blocks, loop.batch));
  });
}

template <class T>
void run_forward(const ForwardLoop<T>& loop, RecurrentWorkspace<T>& ws, int threads) {
  run_blocks(
      loop, ws, threads, [&](int64_t rows) { return loop.cell->scratch_size(rows); }, forward_block<T>);
}

template <class T>
void run_backward(const BackwardLoop<T>& loop, RecurrentWorkspace<T>& ws, int threads) {
  run_blocks(
      loop, ws, threads, [&](int64_t rows) { return loop.cell->backward_scratch_size(rows); }, backward_block<T>);
}

template int loop_blocks<float>(const Cell<float>&, int64_t, int64_t, const std::vector<int64_t>&, int);
template int loop_blocks<double>(const Cell<double>&, int64_t, int64_t, const std::vector<int64_t>&, int);
template void run_forward<float>(const ForwardLoop<float>&, RecurrentWorkspace<float>&, int);
template void run_forward<double>(const ForwardLoop<double>&, RecurrentWorkspace<double>&, int);
template void run_backward<float>(const BackwardLoop<float>&, RecurrentWorkspace<float>&, int);
template void run_backward<double>(const BackwardLoop<double>&, RecurrentWorkspace<double>&, int);

}  // namespace rnnx::detail
