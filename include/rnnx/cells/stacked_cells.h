#pragma once
// Keras StackedRNNCells (spec §3.2, K3 keras/src/layers/rnn/stacked_rnn_cells.py): several
// cells run in order inside one time step; the output of cell k is the input of cell k+1.
//  - state_sizes(): the cells' state sizes concatenated, cell by cell (e.g. two LSTM cells:
//    {h1, c1, h2, c2}); output_size(): the last cell's.
//  - params(): the cells' weights, cell by cell (names as each cell gives them).
//  - dropout masks: each cell's own masks, cell by cell (input masks of cell k are as wide
//    as cell k's input).
//  - constants (tf.keras): passed to every cell that accepts them.
// The first cell's input projection is done for the whole sequence; the later cells get
// x_proj == null. Threads: step() may run concurrently (several threads predicting with one
// model): each call leases a set of per-cell CellSteps from a small pool that grows to the
// number of concurrent callers, so the time loop allocates nothing in steady state.
// step_backward() (training) must not run concurrently with anything on the same stack.
// Training (cell.h): the tape is the cells' tape entries, cell by cell, each cell but the
// last followed by one entry holding its output (the next cell's input); dZ rows are the
// cells' dZ rows side by side. Backward runs the cells last to first within each step; a
// later cell's input gradient (its backward_inputs on one step) is the gradient of the
// previous cell's output. supports_backward() when every cell does.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rnnx/cells/cell.h"

namespace rnnx {

template <class T>
class StackedCells : public Cell<T> {
 public:
  // Throws ConfigError if `cells` is empty or holds a null cell.
  explicit StackedCells(std::vector<std::unique_ptr<Cell<T>>> cells);

  size_t size() const { return cells_.size(); }
  Cell<T>& cell(size_t k) { return *cells_.at(k); }
  const Cell<T>& cell(size_t k) const { return *cells_.at(k); }

  std::string class_name() const override { return "StackedRNNCells"; }
  std::vector<int64_t> state_sizes() const override;
  int64_t output_size() const override { return cells_.back()->output_size(); }

  void build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) override;
  bool built() const override;
  int64_t input_size() const override { return cells_.front()->input_size(); }
  std::vector<Param<T>> params() override;

  int64_t projection_size() const override { return cells_.front()->projection_size(); }
  void project_inputs(const T* x, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* out) const override;
  int64_t scratch_size(int64_t batch) const override;
  void step(const CellStep<T>& s) const override;

  // Rates differ per cell: see input_dropout_masks() / recurrent_dropout_masks().
  double dropout() const override { return 0.0; }
  double recurrent_dropout() const override { return 0.0; }
  int input_mask_count() const override;
  int recurrent_mask_count() const override;
  std::vector<typename Cell<T>::DropoutMaskSpec> input_dropout_masks() const override;
  std::vector<typename Cell<T>::DropoutMaskSpec> recurrent_dropout_masks() const override;
  bool accepts_constants() const override;

  std::unique_ptr<Cell<T>> clone_config() const override;

  bool supports_backward() const override;
  std::vector<int64_t> tape_widths() const override;
  int64_t grad_width() const override;
  int64_t backward_scratch_size(int64_t batch) const override;
  void begin_backward() override;
  void step_backward(const CellStepGrad<T>& g) const override;
  void backward_params(const CellSequenceGrad<T>& g) override;
  void backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* d_x,
                       T* scratch) const override;
  int64_t backward_inputs_scratch_size(int64_t rows) const override;

 private:
  // Where cell k's pieces sit in the stack's tape / dZ rows / states / masks.
  struct Layout {
    size_t tape = 0;       // first tape entry of cell k
    size_t tape_count = 0;  // how many it has
    size_t tape_out = 0;   // the entry holding cell k's output (k + 1 < size())
    int64_t dz = 0;        // first dZ column of cell k
    size_t state = 0;      // first state of cell k
    size_t in_mask = 0, rec_mask = 0;
  };
  std::vector<Layout> layout() const;
  // The masks of cell k out of the stack's masks (empty when the stack got none).
  DropoutMasks<T> cell_masks(const DropoutMasks<T>& all, size_t k) const;
  void prepare_steps();

  std::vector<std::unique_ptr<Cell<T>>> cells_;
  // One reusable CellStep / CellStepGrad per cell (sized at build, only pointers change per
  // step), and the layout of the built cells. steps_ is the prototype of the step pool.
  std::vector<CellStep<T>> steps_;
  mutable std::mutex step_pool_mutex_;
  mutable std::vector<std::unique_ptr<std::vector<CellStep<T>>>> step_pool_;
  mutable std::vector<CellStepGrad<T>> grad_steps_;
  mutable std::vector<T*> output_grads_;  // step_backward: gradient of cell k's output
  std::vector<Layout> layout_;
};

extern template class StackedCells<float>;
extern template class StackedCells<double>;

}  // namespace rnnx
