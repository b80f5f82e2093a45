#include "rnnx/cells/stacked_cells.h"

#include <algorithm>

#include "cells/gate_math.h"
#include "rnnx/core/error.h"

namespace rnnx {

template <class T>
StackedCells<T>::StackedCells(std::vector<std::unique_ptr<Cell<T>>> cells) : cells_(std::move(cells)) {
  if (cells_.empty()) throw ConfigError("StackedRNNCells: needs at least one cell");
  for (size_t k = 0; k < cells_.size(); ++k)
    if (!cells_[k]) throw ConfigError("StackedRNNCells: cell " + std::to_string(k) + " is null");
  prepare_steps();
}

template <class T>
std::vector<int64_t> StackedCells<T>::state_sizes() const {
  std::vector<int64_t> out;
  for (const auto& c : cells_) {
    const auto sizes = c->state_sizes();
    out.insert(out.end(), sizes.begin(), sizes.end());
  }
  return out;
}

template <class T>
void StackedCells<T>::build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) {
  if (!constant_sizes.empty() && !accepts_constants())
    throw ConfigError("StackedRNNCells: none of its cells takes constants, got " +
                      std::to_string(constant_sizes.size()));
  int64_t in = input_size;
  for (auto& c : cells_) {
    c->build(in, c->accepts_constants() ? constant_sizes : std::vector<int64_t>{}, rng);
    in = c->output_size();
  }
  prepare_steps();
  for (size_t k = 0; k < cells_.size(); ++k)
    if (cells_[k]->accepts_constants()) {
      steps_[k].constants.reserve(constant_sizes.size());
      grad_steps_[k].constants.reserve(constant_sizes.size());
      grad_steps_[k].d_constants.reserve(constant_sizes.size());
    }
}

template <class T>
void StackedCells<T>::prepare_steps() {
  layout_ = layout();
  step_pool_.clear();  // leased sets are copies of the old prototype
  steps_.resize(cells_.size());
  grad_steps_.resize(cells_.size());
  output_grads_.resize(cells_.size());
  for (size_t k = 0; k < cells_.size(); ++k) {
    const size_t n_states = cells_[k]->state_sizes().size();
    const auto in_n = static_cast<size_t>(cells_[k]->input_mask_count());
    const auto rec_n = static_cast<size_t>(cells_[k]->recurrent_mask_count());
    const size_t tape_n = cells_[k]->tape_widths().size();
    steps_[k].states.resize(n_states);
    steps_[k].new_states.resize(n_states);
    steps_[k].dropout.input.reserve(in_n);
    steps_[k].dropout.recurrent.reserve(rec_n);
    steps_[k].tape.reserve(tape_n);
    CellStepGrad<T>& g = grad_steps_[k];
    g.states.resize(n_states);
    g.d_new_states.resize(n_states);
    g.d_states.resize(n_states);
    g.dropout.input.reserve(in_n);
    g.dropout.recurrent.reserve(rec_n);
    g.tape.reserve(tape_n);
  }
}

template <class T>
std::vector<typename StackedCells<T>::Layout> StackedCells<T>::layout() const {
  std::vector<Layout> out(cells_.size());
  Layout next;
  for (size_t k = 0; k < cells_.size(); ++k) {
    out[k] = next;
    out[k].tape_count = cells_[k]->tape_widths().size();
    next.tape += out[k].tape_count;
    if (k + 1 < cells_.size()) out[k].tape_out = next.tape++;
    next.dz += cells_[k]->grad_width();
    next.state += cells_[k]->state_sizes().size();
    next.in_mask += static_cast<size_t>(cells_[k]->input_mask_count());
    next.rec_mask += static_cast<size_t>(cells_[k]->recurrent_mask_count());
  }
  return out;
}

template <class T>
bool StackedCells<T>::built() const {
  return std::all_of(cells_.begin(), cells_.end(), [](const auto& c) { return c->built(); });
}

template <class T>
std::vector<Param<T>> StackedCells<T>::params() {
  std::vector<Param<T>> out;
  for (auto& c : cells_) {
    auto p = c->params();
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

template <class T>
int StackedCells<T>::input_mask_count() const {
  int n = 0;
  for (const auto& c : cells_) n += c->input_mask_count();
  return n;
}

template <class T>
int StackedCells<T>::recurrent_mask_count() const {
  int n = 0;
  for (const auto& c : cells_) n += c->recurrent_mask_count();
  return n;
}

template <class T>
std::vector<typename Cell<T>::DropoutMaskSpec> StackedCells<T>::input_dropout_masks() const {
  std::vector<typename Cell<T>::DropoutMaskSpec> out;
  for (const auto& c : cells_) {
    const auto specs = c->input_dropout_masks();
    out.insert(out.end(), specs.begin(), specs.end());
  }
  return out;
}

template <class T>
std::vector<typename Cell<T>::DropoutMaskSpec> StackedCells<T>::recurrent_dropout_masks() const {
  std::vector<typename Cell<T>::DropoutMaskSpec> out;
  for (const auto& c : cells_) {
    const auto specs = c->recurrent_dropout_masks();
    out.insert(out.end(), specs.begin(), specs.end());
  }
  return out;
}

template <class T>
bool StackedCells<T>::accepts_constants() const {
  return std::any_of(cells_.begin(), cells_.end(), [](const auto& c) { return c->accepts_constants(); });
}

template <class T>
DropoutMasks<T> StackedCells<T>::cell_masks(const DropoutMasks<T>& all, size_t k) const {
  DropoutMasks<T> out;
  size_t in_off = 0, rec_off = 0;
  for (size_t j = 0; j < k; ++j) {
    in_off += static_cast<size_t>(cells_[j]->input_mask_count());
    rec_off += static_cast<size_t>(cells_[j]->recurrent_mask_count());
  }
  const auto in_n = static_cast<size_t>(cells_[k]->input_mask_count());
  const auto rec_n = static_cast<size_t>(cells_[k]->recurrent_mask_count());
  if (!all.input.empty()) out.input.assign(all.input.begin() + in_off, all.input.begin() + in_off + in_n);
  if (!all.recurrent.empty())
    out.recurrent.assign(all.recurrent.begin() + rec_off, all.recurrent.begin() + rec_off + rec_n);
  return out;
}

template <class T>
void StackedCells<T>::project_inputs(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks,
                                     T* out) const {
  cells_.front()->project_inputs(x, rows, batch, cell_masks(masks, 0), out);
}

template <class T>
int64_t StackedCells<T>::scratch_size(int64_t batch) const {
  int64_t intermediates = 0, largest = 0;
  for (size_t k = 0; k < cells_.size(); ++k) {
    if (k + 1 < cells_.size()) intermediates += batch * cells_[k]->output_size();
    largest = std::max(largest, cells_[k]->scratch_size(batch));
  }
  return intermediates + largest;
}

template <class T>
void StackedCells<T>::step(const CellStep<T>& s) const {
  // A set of per-cell steps of this call's own (see the header: concurrent inference).
  std::unique_ptr<std::vector<CellStep<T>>> lease;
  {
    std::lock_guard<std::mutex> lock(step_pool_mutex_);
    if (!step_pool_.empty()) {
      lease = std::move(step_pool_.back());
      step_pool_.pop_back();
    }
  }
  if (!lease) lease = std::make_unique<std::vector<CellStep<T>>>(steps_);
  struct Return {
    const StackedCells& owner;
    std::unique_ptr<std::vector<CellStep<T>>>& lease;
    ~Return() {
      std::lock_guard<std::mutex> lock(owner.step_pool_mutex_);
      owner.step_pool_.push_back(std::move(lease));
    }
  } give_back{*this, lease};
  cells_detail::ScratchCursor<T> scratch(s.scratch);
  std::vector<CellStep<T>>& steps = *lease;
  const bool record = !s.tape.empty();
  // Outputs of all cells but the last come first in the scratch (in training: in the tape,
  // as the next cell's input for backward), then the cells' shared scratch.
  for (size_t k = 0; k + 1 < cells_.size(); ++k) {
    T* out = scratch.take(s.batch * cells_[k]->output_size());
    steps[k].output = record ? s.tape[layout_[k].tape_out] : out;
  }
  steps.back().output = s.output;
  T* cell_scratch = scratch.take(0);

  size_t state_off = 0, in_off = 0, rec_off = 0;
  const T* input = s.x;
  for (size_t k = 0; k < cells_.size(); ++k) {
    const Cell<T>& cell = *cells_[k];
    CellStep<T>& cs = steps[k];
    cs.batch = s.batch;
    cs.x = input;
    cs.x_proj = k == 0 ? s.x_proj : nullptr;
    for (size_t i = 0; i < cs.states.size(); ++i) {
      cs.states[i] = s.states[state_off + i];
      cs.new_states[i] = s.new_states[state_off + i];
    }
    state_off += cs.states.size();
    if (cell.accepts_constants())
      cs.constants.assign(s.constants.begin(), s.constants.end());  // capacity reserved at build
    const auto in_n = static_cast<size_t>(cell.input_mask_count());
    const auto rec_n = static_cast<size_t>(cell.recurrent_mask_count());
    cs.dropout.input.clear();
    cs.dropout.recurrent.clear();
    if (!s.dropout.input.empty())
      cs.dropout.input.assign(s.dropout.input.begin() + in_off, s.dropout.input.begin() + in_off + in_n);
    if (!s.dropout.recurrent.empty())
      cs.dropout.recurrent.assign(s.dropout.recurrent.begin() + rec_off, s.dropout.recurrent.begin() + rec_off + rec_n);
    in_off += in_n;
    rec_off += rec_n;
    cs.tape.clear();
    if (record) {
      const auto first = s.tape.begin() + static_cast<std::ptrdiff_t>(layout_[k].tape);
      cs.tape.assign(first, first + static_cast<std::ptrdiff_t>(layout_[k].tape_count));
    }
    cs.scratch = cell_scratch;
    cell.step(cs);
    input = cs.output;
  }
}

template <class T>
bool StackedCells<T>::supports_backward() const {
  return std::all_of(cells_.begin(), cells_.end(), [](const auto& c) { return c->supports_backward(); });
}

template <class T>
std::vector<int64_t> StackedCells<T>::tape_widths() const {
  std::vector<int64_t> out;
  for (size_t k = 0; k < cells_.size(); ++k) {
    const auto widths = cells_[k]->tape_widths();
    out.insert(out.end(), widths.begin(), widths.end());
    if (k + 1 < cells_.size()) out.push_back(cells_[k]->output_size());
  }
  return out;
}

template <class T>
int64_t StackedCells<T>::grad_width() const {
  int64_t w = 0;
  for (const auto& c : cells_) w += c->grad_width();
  return w;
}

template <class T>
int64_t StackedCells<T>::backward_scratch_size(int64_t batch) const {
  int64_t outputs = 0, inputs = 0, largest = 0;
  for (size_t k = 0; k < cells_.size(); ++k) {
    if (k + 1 < cells_.size()) outputs += batch * cells_[k]->output_size();
    if (k > 0) inputs = std::max(inputs, cells_[k]->backward_inputs_scratch_size(batch));
    largest = std::max(largest, cells_[k]->backward_scratch_size(batch));
  }
  return outputs + inputs + largest;
}

template <class T>
void StackedCells<T>::begin_backward() {
  for (auto& c : cells_) c->begin_backward();
}

template <class T>
void StackedCells<T>::step_backward(const CellStepGrad<T>& g) const {
  cells_detail::ScratchCursor<T> scratch(g.scratch);
  // Gradients of the outputs of all cells but the last, then the scratch of backward_inputs,
  // then the cells' shared scratch (the same layout for every step).
  std::vector<CellStepGrad<T>>& steps = grad_steps_;
  for (size_t k = 0; k + 1 < cells_.size(); ++k) {
    output_grads_[k] = scratch.take(g.batch * cells_[k]->output_size());
    steps[k].d_output = output_grads_[k];
  }
  int64_t inputs_scratch = 0;
  for (size_t k = 1; k < cells_.size(); ++k)
    inputs_scratch = std::max(inputs_scratch, cells_[k]->backward_inputs_scratch_size(g.batch));
  T* input_scratch = scratch.take(inputs_scratch);
  T* cell_scratch = scratch.take(0);

  for (size_t k = cells_.size(); k-- > 0;) {
    const Cell<T>& cell = *cells_[k];
    const Layout& at = layout_[k];
    CellStepGrad<T>& cs = steps[k];
    cs.batch = g.batch;
    cs.x = k == 0 ? g.x : g.tape[layout_[k - 1].tape_out];
    for (size_t i = 0; i < cs.states.size(); ++i) {
      cs.states[i] = g.states[at.state + i];
      cs.d_new_states[i] = g.d_new_states[at.state + i];
      cs.d_states[i] = g.d_states[at.state + i];
    }
    if (cell.accepts_constants()) {
      cs.constants.assign(g.constants.begin(), g.constants.end());  // capacity reserved at build
      cs.d_constants.assign(g.d_constants.begin(), g.d_constants.end());
    }
    const auto in_n = static_cast<std::ptrdiff_t>(cell.input_mask_count());
    const auto rec_n = static_cast<std::ptrdiff_t>(cell.recurrent_mask_count());
    cs.dropout.input.clear();
    cs.dropout.recurrent.clear();
    if (!g.dropout.input.empty()) {
      const auto first = g.dropout.input.begin() + static_cast<std::ptrdiff_t>(at.in_mask);
      cs.dropout.input.assign(first, first + in_n);
    }
    if (!g.dropout.recurrent.empty()) {
      const auto first = g.dropout.recurrent.begin() + static_cast<std::ptrdiff_t>(at.rec_mask);
      cs.dropout.recurrent.assign(first, first + rec_n);
    }
    const auto tape_first = g.tape.begin() + static_cast<std::ptrdiff_t>(at.tape);
    cs.tape.assign(tape_first, tape_first + static_cast<std::ptrdiff_t>(at.tape_count));
    if (k + 1 == cells_.size()) cs.d_output = g.d_output;
    cs.dz = g.dz + at.dz;
    cs.ldz = g.ldz;
    cs.scratch = cell_scratch;
    cell.step_backward(cs);
    // The gradient of this cell's input is that of the previous cell's output.
    if (k > 0) cell.backward_inputs(cs.dz, cs.ldz, g.batch, g.batch, cs.dropout, output_grads_[k - 1], input_scratch);
  }
}

template <class T>
void StackedCells<T>::backward_params(const CellSequenceGrad<T>& g) {
  for (size_t k = 0; k < cells_.size(); ++k) {
    Cell<T>& cell = *cells_[k];
    const Layout& at = layout_[k];
    CellSequenceGrad<T> cs;
    cs.rows = g.rows;
    cs.batch = g.batch;
    cs.x = k == 0 ? g.x : g.tape[layout_[k - 1].tape_out];
    const size_t n_states = cell.state_sizes().size();
    cs.states.assign(g.states.begin() + static_cast<std::ptrdiff_t>(at.state),
                     g.states.begin() + static_cast<std::ptrdiff_t>(at.state + n_states));
    if (cell.accepts_constants()) {
      cs.constants = g.constants;
      cs.d_constants = g.d_constants;
    }
    cs.dropout = cell_masks(g.dropout, k);
    const auto tape_first = g.tape.begin() + static_cast<std::ptrdiff_t>(at.tape);
    cs.tape.assign(tape_first, tape_first + static_cast<std::ptrdiff_t>(at.tape_count));
    cs.dz = g.dz + at.dz;
    cs.ldz = g.ldz;
    cell.backward_params(cs);
  }
}

template <class T>
void StackedCells<T>::backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t batch,
                                      const DropoutMasks<T>& masks, T* d_x, T* scratch) const {
  cells_.front()->backward_inputs(dz, ldz, rows, batch, cell_masks(masks, 0), d_x, scratch);
}

template <class T>
int64_t StackedCells<T>::backward_inputs_scratch_size(int64_t rows) const {
  return cells_.front()->backward_inputs_scratch_size(rows);
}

template <class T>
std::unique_ptr<Cell<T>> StackedCells<T>::clone_config() const {
  std::vector<std::unique_ptr<Cell<T>>> copies;
  for (const auto& c : cells_) copies.push_back(c->clone_config());
  return std::make_unique<StackedCells<T>>(std::move(copies));
}

template class StackedCells<float>;
template class StackedCells<double>;

}  // namespace rnnx
