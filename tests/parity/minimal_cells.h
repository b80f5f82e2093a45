#pragma once
// The user-defined cells of the custom_cell goldens (tests/data/parity/README.md), written
// against the public Cell interface as a user would, and registered with the Keras config
// loader under their Keras class names:
//   MinimalConstantsCell(units): h = tanh(x @ kernel + h_prev @ recurrent_kernel + c @ constant_kernel)
//   MinimalCell(units):          h = tanh(x @ kernel + h_prev @ recurrent_kernel)
// Weights: kernel (D, U), recurrent_kernel (U, U), [constant_kernel (C, U)]; state [h].
// Both can be trained (cell.h training protocol): the tape holds the pre-activation a and
// h = tanh(a); dZ rows are da.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnnx/cells/cell.h"

namespace rnnx::testing {

template <class T>
class MinimalCell : public Cell<T> {
 public:
  MinimalCell(int64_t units, bool with_constants);

  std::string class_name() const override { return with_constants_ ? "MinimalConstantsCell" : "MinimalCell"; }
  std::vector<int64_t> state_sizes() const override { return {units_}; }
  int64_t output_size() const override { return units_; }
  void build(int64_t input_size, const std::vector<int64_t>& constant_sizes, Rng& rng) override;
  bool built() const override { return built_; }
  int64_t input_size() const override { return input_size_; }
  std::vector<Param<T>> params() override;
  void step(const CellStep<T>& s) const override;
  bool accepts_constants() const override { return with_constants_; }
  std::unique_ptr<Cell<T>> clone_config() const override;

  bool supports_backward() const override { return true; }
  std::vector<int64_t> tape_widths() const override { return {units_, units_}; }
  int64_t grad_width() const override { return units_; }
  int64_t backward_scratch_size(int64_t batch) const override { return batch * units_; }
  void step_backward(const CellStepGrad<T>& g) const override;
  void backward_params(const CellSequenceGrad<T>& g) override;
  void backward_inputs(const T* dz, int64_t ldz, int64_t rows, int64_t batch, const DropoutMasks<T>& masks, T* d_x,
                       T* scratch) const override;

 private:
  int64_t units_;
  bool with_constants_;
  bool built_ = false;
  int64_t input_size_ = 0;
  Tensor<T> kernel_, recurrent_kernel_, constant_kernel_;
  Tensor<T> kernel_grad_, recurrent_kernel_grad_, constant_kernel_grad_;
};

// Registers MinimalConstantsCell and MinimalCell (float and double) with the config loader.
void register_minimal_cells();

}  // namespace rnnx::testing
