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
    if (cells_[k]->accepts_constants()) steps_[k].constants.reserve(constant_sizes.size());
}

template <class T>
void StackedCells<T>::prepare_steps() const {
  steps_.resize(cells_.size());
  for (size_t k = 0; k < cells_.size(); ++k) {
    const size_t n_states = cells_[k]->state_sizes().size();
    steps_[k].states.resize(n_states);
    steps_[k].new_states.resize(n_states);
    steps_[k].dropout.input.reserve(static_cast<size_t>(cells_[k]->input_mask_count()));
    steps_[k].dropout.recurrent.reserve(static_cast<size_t>(cells_[k]->recurrent_mask_count()));
  }
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
  cells_detail::ScratchCursor<T> scratch(s.scratch);
  std::vector<CellStep<T>>& steps = steps_;
  // Outputs of all cells but the last come first in the scratch, then the cells' shared scratch.
  for (size_t k = 0; k + 1 < cells_.size(); ++k) steps[k].output = scratch.take(s.batch * cells_[k]->output_size());
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
    cs.scratch = cell_scratch;
    cell.step(cs);
    input = cs.output;
  }
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
