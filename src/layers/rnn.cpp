#include "rnnx/layers/rnn.h"

#include <algorithm>
#include <utility>

#include "layers/call_tape.h"
#include "layers/rnn_time_loop.h"
#include "layers/rnn_trace.h"
#include "rnnx/core/error.h"
#include "rnnx/core/sample_rng.h"
#include "rnnx/kernels/kernels.h"
#include "rnnx/kernels/threads.h"

namespace rnnx {
namespace {

std::string sizes_string(const std::vector<int64_t>& sizes) { return to_string(Shape(sizes.begin(), sizes.end())); }

// Where step t of sample b sits in a mask: b * per_sample + t * per_step, for [batch, steps]
// or, time-major, [steps, batch].
struct MaskLayout {
  int64_t per_step, per_sample;
};

MaskLayout mask_layout(bool time_major, int64_t batch, int64_t steps) {
  return time_major ? MaskLayout{batch, 1} : MaskLayout{1, steps};
}

// A tensor holding a copy of `values` (built from them: no zero-fill first).
template <class T>
Tensor<T> copy_tensor(Shape shape, const T* values) {
  const int64_t n = num_elements(shape);
  return Tensor<T>(std::move(shape), std::vector<T>(values, values + n));
}

// [a, b, n] from a time-major [b, a, n] buffer: y[i, j, :] = x[j, i, :].
template <class T>
Tensor<T> batch_major_copy(int64_t b, int64_t a, int64_t n, const T* x) {
  std::vector<T> values;
  values.reserve(static_cast<size_t>(a * b * n));
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j) {
      const T* row = x + (j * a + i) * n;
      values.insert(values.end(), row, row + n);
    }
  return Tensor<T>(Shape{a, b, n}, std::move(values));
}

// The layer's workspace for one call, or a workspace of the call's own when another call
// (another thread's inference) holds it.
template <class T>
class WorkspaceLease {
 public:
  explicit WorkspaceLease(detail::RecurrentWorkspace<T>& shared) {
    if (!shared.busy.exchange(true, std::memory_order_acquire)) {
      held_ = &shared;
      return;
    }
    own_ = std::make_unique<detail::RecurrentWorkspace<T>>();
  }
  ~WorkspaceLease() {
    if (held_ != nullptr) held_->busy.store(false, std::memory_order_release);
  }
  WorkspaceLease(const WorkspaceLease&) = delete;
  WorkspaceLease& operator=(const WorkspaceLease&) = delete;
  detail::RecurrentWorkspace<T>& get() { return held_ != nullptr ? *held_ : *own_; }

 private:
  detail::RecurrentWorkspace<T>* held_ = nullptr;
  std::unique_ptr<detail::RecurrentWorkspace<T>> own_;
};

// The cell's sizes the loops need, asked once per workspace (the cell answers with new
// vectors; its options are fixed once the layer is built).
template <class T>
void cell_sizes(const Cell<T>& cell, detail::RecurrentWorkspace<T>& ws) {
  if (ws.sizes_known) return;
  ws.state_sizes = cell.state_sizes();
  ws.tape_widths = cell.supports_backward() ? cell.tape_widths() : std::vector<int64_t>{};
  ws.input_mask_widths.clear();
  ws.recurrent_mask_widths.clear();
  for (const auto& spec : cell.input_dropout_masks()) ws.input_mask_widths.push_back(spec.width);
  for (const auto& spec : cell.recurrent_dropout_masks()) ws.recurrent_mask_widths.push_back(spec.width);
  ws.sizes_known = true;
}

}  // namespace

template <class T>
RNN<T>::RNN(std::unique_ptr<Cell<T>> cell, RNNOptions options, std::string name)
    : Layer<T>(std::move(name)),
      cell_(std::move(cell)),
      options_(options),
      workspace_(std::make_shared<detail::RecurrentWorkspace<T>>()) {
  if (!cell_) throw ConfigError("RNN '" + this->name() + "': cell is null");
}

template <class T>
void RNN<T>::set_rnn_options(const RNNOptions& options) {
  if (this->built()) throw StateError(this->where() + ": options can only change before the layer is built");
  options_ = options;
}

template <class T>
std::string RNN<T>::input_layout() const {
  return options_.time_major ? "time-major [steps, batch, features]" : "[batch, steps, features]";
}

template <class T>
void RNN<T>::check_sequence_shape(const Shape& shape) const {
  if (shape.size() != 3)
    throw ShapeError(this->where() + ": expected a 3-D input " + input_layout() + ", got shape " + to_string(shape));
  if (shape[2] < 0)
    throw ShapeError(this->where() + ": the number of input features must be known, got shape " + to_string(shape));
  if (cell_->built() && shape[2] != cell_->input_size())
    throw ShapeError(this->where() + ": input has " + std::to_string(shape[2]) + " features, expected " +
                     std::to_string(cell_->input_size()) + " (input shape " + to_string(shape) + ")");
}

template <class T>
void RNN<T>::build(const std::vector<Shape>& input_shapes) {
  if (input_shapes.empty()) throw ShapeError(this->where() + ": build needs the shape of the input sequence");
  const Shape& seq = input_shapes[0];
  check_sequence_shape(seq);
  std::vector<int64_t> constant_sizes;
  for (size_t i = 1; i < input_shapes.size(); ++i) {
    const Shape& c = input_shapes[i];
    if (c.size() != 2 || c[1] < 0)
      throw ShapeError(this->where() + ": constant " + std::to_string(i - 1) +
                       " must be [batch, size] with a known size, got shape " + to_string(c));
    constant_sizes.push_back(c[1]);
  }
  if (!constant_sizes.empty() && !cell_->accepts_constants())
    throw ConfigError(this->where() + ": its cell " + cell_->class_name() + " takes no constants, got " +
                      std::to_string(constant_sizes.size()));
  if (this->built()) {
    if (constant_sizes != constant_sizes_)
      throw ShapeError(this->where() + ": built with constants of sizes " + sizes_string(constant_sizes_) + ", got " +
                       sizes_string(constant_sizes));
  } else {
    // Weights and dropout draw from two independent streams of the layer seed.
    Rng base(this->seed());
    Rng init_rng = base.split();
    dropout_rng_ = base.split();
    if (!cell_->built()) cell_->build(seq[2], constant_sizes, init_rng);
    constant_sizes_ = constant_sizes;
    this->set_built();
  }
  const int64_t batch = seq[batch_axis()];
  if (options_.stateful && batch >= 0) ensure_stateful_batch(batch);
}

template <class T>
std::vector<Shape> RNN<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  if (input_shapes.empty()) throw ShapeError(this->where() + ": needs the shape of the input sequence");
  const Shape& seq = input_shapes[0];
  check_sequence_shape(seq);
  const int64_t out = cell_->output_size(), batch = seq[batch_axis()];
  std::vector<Shape> shapes;
  // A sequence output keeps the input's layout; states are [batch, size] in both.
  shapes.push_back(options_.return_sequences ? Shape{seq[0], seq[1], out} : Shape{batch, out});
  if (options_.return_state)
    for (int64_t size : cell_->state_sizes()) shapes.push_back({batch, size});
  return shapes;
}

template <class T>
void RNN<T>::ensure_stateful_batch(int64_t batch) {
  if (stateful_batch_ < 0) {
    stateful_batch_ = batch;
    states_.clear();
    for (int64_t size : cell_->state_sizes()) states_.emplace_back(Shape{batch, size});
    return;
  }
  if (batch != stateful_batch_)
    throw StateError(this->where() + ": stateful layer was built for batch size " + std::to_string(stateful_batch_) +
                     ", got " + std::to_string(batch));
}

template <class T>
void RNN<T>::reset_states() {
  for (auto& s : states_) s.fill(T(0));
}

template <class T>
void RNN<T>::set_fixed_dropout_masks(std::vector<Tensor<T>> input, std::vector<Tensor<T>> recurrent) {
  const auto want_in = static_cast<size_t>(cell_->input_mask_count()) + (cell_->sequence_input_dropout() > 0.0 ? 1 : 0);
  const auto want_rec = static_cast<size_t>(cell_->recurrent_mask_count());
  if (input.size() != want_in || recurrent.size() != want_rec)
    throw ShapeError(this->where() + ": set_fixed_dropout_masks got " + std::to_string(input.size()) + " input and " +
                     std::to_string(recurrent.size()) + " recurrent masks, expected " + std::to_string(want_in) +
                     " and " + std::to_string(want_rec));
  fixed_input_masks_ = std::move(input);
  fixed_recurrent_masks_ = std::move(recurrent);
  fixed_masks_ = true;
}

template <class T>
void RNN<T>::clear_fixed_dropout_masks() {
  fixed_masks_ = false;
  fixed_input_masks_.clear();
  fixed_recurrent_masks_.clear();
}

template <class T>
void RNN<T>::dropout_masks_for_call(int64_t batch, int64_t steps, Tensor<T>& whole_sequence,
                                    std::vector<Tensor<T>>& input, std::vector<Tensor<T>>& recurrent) {
  using Spec = typename Cell<T>::DropoutMaskSpec;
  std::vector<Spec> specs_in = cell_->input_dropout_masks();
  std::vector<Shape> shapes_in;
  for (const Spec& s : specs_in) shapes_in.push_back({batch, s.width});
  const double sequence_rate = cell_->sequence_input_dropout();
  if (sequence_rate > 0.0) {
    specs_in.insert(specs_in.begin(), Spec{cell_->input_size(), sequence_rate});
    // tf_keras draws it with the shape of the input it multiplies.
    shapes_in.insert(shapes_in.begin(), options_.time_major ? Shape{steps, batch, cell_->input_size()}
                                                            : Shape{batch, steps, cell_->input_size()});
  }
  const std::vector<Spec> specs_rec = cell_->recurrent_dropout_masks();
  std::vector<Shape> shapes_rec;
  for (const Spec& s : specs_rec) shapes_rec.push_back({batch, s.width});

  auto fill = [&](const std::vector<Spec>& specs, const std::vector<Shape>& shapes, const std::vector<Tensor<T>>& fixed,
                  const char* kind, std::vector<Tensor<T>>& out) {
    for (size_t k = 0; k < specs.size(); ++k) {
      if (fixed_masks_) {
        if (k >= fixed.size() || fixed[k].shape() != shapes[k])
          throw ShapeError(this->where() + ": fixed " + kind + " dropout mask " + std::to_string(k) + " has shape " +
                           (k < fixed.size() ? to_string(fixed[k].shape()) : std::string("(missing)")) + ", expected " +
                           to_string(shapes[k]));
        out.push_back(fixed[k]);
        continue;
      }
      // Inverted dropout: keep with probability 1 - rate, scaled by 1 / (1 - rate).
      Tensor<T> mask(shapes[k]);
      const double rate = specs[k].rate;
      const T scale = static_cast<T>(1.0 / (1.0 - rate));
      // One key per mask and call, then each sample's part from its own generator
      // (core/sample_rng.h): the masks do not depend on how a batch is split into calls.
      const int sample_axis = shapes[k].size() == 3 && options_.time_major ? 1 : 0;
      fill_per_sample(mask, dropout_rng_.next_u64(), sample_axis,
                      [&](Rng& r) { return r.uniform() < rate ? T(0) : scale; });
      out.push_back(std::move(mask));
    }
  };
  fill(specs_in, shapes_in, fixed_input_masks_, "input", input);
  fill(specs_rec, shapes_rec, fixed_recurrent_masks_, "recurrent", recurrent);
  if (sequence_rate > 0.0) {
    whole_sequence = std::move(input.front());
    input.erase(input.begin());
  }
}

template <class T>
LayerOutputs<T> RNN<T>::call(const LayerInputs<T>& in) {
  if (in.inputs.size() != 1 || in.inputs[0] == nullptr)
    throw ShapeError(this->where() + ": expects exactly one input sequence, got " + std::to_string(in.inputs.size()));
  const Tensor<T>& x = *in.inputs[0];
  const Shape& xs = x.shape();
  check_sequence_shape(xs);
  const int64_t batch = xs[batch_axis()], steps = xs[steps_axis()], features = xs[2];
  if (steps == 0)
    throw ShapeError(this->where() + ": input has 0 steps (input shape " + to_string(xs) +
                     "); a recurrent layer needs at least one");

  // Constants: [batch, size] each.
  std::vector<Shape> build_shapes{xs};
  for (size_t i = 0; i < in.constants.size(); ++i) {
    if (in.constants[i] == nullptr) throw ShapeError(this->where() + ": constant " + std::to_string(i) + " is null");
    const Shape& cs = in.constants[i]->shape();
    if (cs.size() != 2 || cs[0] != batch)
      throw ShapeError(this->where() + ": constant " + std::to_string(i) + " has shape " + to_string(cs) +
                       ", expected [" + std::to_string(batch) + ", size] (input shape " + to_string(xs) + ")");
    build_shapes.push_back(cs);
  }
  if (!this->built()) {
    build(build_shapes);
  } else if (in.constants.size() != constant_sizes_.size()) {
    if (!cell_->accepts_constants())
      throw ConfigError(this->where() + ": its cell " + cell_->class_name() + " takes no constants, got " +
                        std::to_string(in.constants.size()));
    throw ShapeError(this->where() + ": built with " + std::to_string(constant_sizes_.size()) + " constants, got " +
                     std::to_string(in.constants.size()));
  } else {
    for (size_t i = 0; i < in.constants.size(); ++i)
      if (in.constants[i]->dim(1) != constant_sizes_[i])
        throw ShapeError(this->where() + ": constant " + std::to_string(i) + " has shape " +
                         to_string(in.constants[i]->shape()) + ", expected [" + std::to_string(batch) + ", " +
                         std::to_string(constant_sizes_[i]) + "]");
  }

  const Mask* mask = in.mask != nullptr && !in.mask->empty() ? in.mask : nullptr;
  // The mask has the input's two leading axes (time-major: [steps, batch], as tf_keras).
  if (mask != nullptr && mask->shape() != Shape{xs[0], xs[1]})
    throw ShapeError(this->where() + ": mask has shape " + to_string(mask->shape()) + ", expected " +
                     (options_.time_major ? "[steps, batch] = " : "") + to_string(Shape{xs[0], xs[1]}) + " (" +
                     (options_.time_major ? "time-major " : "") + "input shape " + to_string(xs) + ")");
  const MaskLayout mask_at = mask_layout(options_.time_major, batch, steps);

  if (!in.initial_state.empty()) {
    const std::vector<int64_t> state_sizes = cell_->state_sizes();
    const size_t n_states = state_sizes.size();
    if (in.initial_state.size() != n_states)
      throw ShapeError(this->where() + ": initial_state has " + std::to_string(in.initial_state.size()) +
                       " tensors, expected " + std::to_string(n_states) + " (one per state, sizes " +
                       sizes_string(state_sizes) + ")");
    for (size_t i = 0; i < n_states; ++i) {
      const Shape want{batch, state_sizes[i]};
      if (in.initial_state[i] == nullptr || in.initial_state[i]->shape() != want)
        throw ShapeError(this->where() + ": initial_state[" + std::to_string(i) + "] has shape " +
                         (in.initial_state[i] ? to_string(in.initial_state[i]->shape()) : std::string("(null)")) +
                         ", expected " + to_string(want));
    }
  }
  if (options_.stateful) ensure_stateful_batch(batch);

  Tensor<T> whole_sequence_mask;
  std::vector<Tensor<T>> input_masks, recurrent_masks;
  if (in.mode == Mode::training)
    dropout_masks_for_call(batch, steps, whole_sequence_mask, input_masks, recurrent_masks);
  DropoutMasks<T> dropout;
  for (const auto& m : input_masks) dropout.input.push_back(m.data());
  for (const auto& m : recurrent_masks) dropout.recurrent.push_back(m.data());

  // Training keeps the states every step reads and the cell's tape, for all steps; an
  // active trace (model/trace.h) keeps the states too and recomputes the rest afterwards.
  const bool training = in.mode == Mode::training;
  Trace<T>* const trace = detail::active_trace<T>();
  const bool keep_states = training || trace != nullptr;
  WorkspaceLease<T> lease(*workspace_);
  detail::RecurrentWorkspace<T>& ws = lease.get();
  cell_sizes(*cell_, ws);
  const int64_t out_size = cell_->output_size(), proj_size = cell_->projection_size(), rows = steps * batch;
  TapeEntry entry;
  if (training && !spare_tape_.empty()) entry = detail::tape_pop(spare_tape_);

  // Time-major input (a batch-major one transposed) and its projection for all steps at once.
  T* xt = detail::at_least(training ? entry.x : ws.x, rows * features);
  const T* source = x.data();
  if (!whole_sequence_mask.empty()) {
    // Dropout of the whole input sequence, one mask per step (Cell::sequence_input_dropout).
    T* dropped = detail::at_least(ws.dropped, x.size());
    kernels::multiply_block<T>(1, x.size(), x.data(), x.size(), whole_sequence_mask.data(), x.size(), dropped,
                               x.size());
    source = dropped;
  }
  if (options_.time_major)
    kernels::copy_block<T>(1, x.size(), source, x.size(), xt, x.size());
  else
    kernels::swap_leading_axes<T>(batch, steps, features, source, xt);

  detail::ForwardLoop<T>& loop = ws.forward;
  loop.reset();
  loop.cell = cell_.get();
  loop.batch = batch, loop.steps = steps, loop.features = features, loop.proj_size = proj_size;
  loop.out_size = out_size;
  loop.go_backwards = options_.go_backwards, loop.zero_output_for_mask = options_.zero_output_for_mask;
  loop.x = xt;
  if (proj_size > 0) {
    T* projected = detail::at_least(ws.projected, rows * proj_size);
    cell_->project_inputs(xt, rows, batch, dropout, projected);
    loop.projected = projected;
  }
  // States: initial_state, else the stored states (stateful), else zeros.
  const std::vector<int64_t>& state_sizes = ws.state_sizes;
  const size_t n_states = state_sizes.size();
  loop.state_sizes = &state_sizes;
  ws.state_a.resize(n_states), ws.state_b.resize(n_states);
  for (size_t i = 0; i < n_states; ++i) {
    const int64_t n = batch * state_sizes[i];
    T* first = detail::at_least(ws.state_a[i], n);
    loop.state_a.push_back(first);
    loop.state_b.push_back(detail::at_least(ws.state_b[i], n));
    const Tensor<T>* init = !in.initial_state.empty() ? in.initial_state[i] : options_.stateful ? &states_[i] : nullptr;
    if (init != nullptr)
      kernels::copy_block<T>(1, n, init->data(), n, first, n);
    else
      std::fill(first, first + n, T(0));
  }
  // Outputs: the whole sequence (time-major, processing order) or two alternating steps.
  if (options_.return_sequences) {
    loop.sequence = detail::at_least(ws.sequence, rows * out_size);
  } else {
    loop.last[0] = detail::at_least(ws.last[0], batch * out_size);
    loop.last[1] = detail::at_least(ws.last[1], batch * out_size);
  }
  if (mask != nullptr) {
    loop.mask = mask->data();
    loop.mask_per_step = mask_at.per_step, loop.mask_per_sample = mask_at.per_sample;
    loop.zeros = detail::at_least(ws.zeros, batch * out_size);  // never written: stays zero
  }
  loop.dropout.input = dropout.input, loop.dropout.recurrent = dropout.recurrent;
  loop.input_mask_widths = &ws.input_mask_widths, loop.recurrent_mask_widths = &ws.recurrent_mask_widths;
  for (const Tensor<T>* c : in.constants) {
    loop.constants.push_back(c->data());
    loop.constant_sizes.push_back(c->dim(1));
  }
  if (keep_states) {
    entry.states.resize(n_states);
    for (size_t i = 0; i < n_states; ++i)
      loop.states_record.push_back(detail::at_least(entry.states[i], rows * state_sizes[i]));
  }
  loop.tape_widths = &ws.tape_widths;
  if (training) {
    entry.cell_tape.resize(ws.tape_widths.size());
    for (size_t e = 0; e < ws.tape_widths.size(); ++e)
      loop.tape.push_back(detail::at_least(entry.cell_tape[e], rows * ws.tape_widths[e]));
  }
  detail::run_forward(loop, ws, kernels::num_threads());
  const std::vector<T*>& final_states = steps % 2 == 0 ? loop.state_a : loop.state_b;

  if (trace != nullptr) {
    detail::RecurrentCallView<T> view{batch, steps, features, in.mode, xt, {}, {}, mask, dropout};
    for (const T* st : loop.states_record) view.states_read.push_back(st);
    for (const T* st : final_states) view.final_states.push_back(st);
    detail::record_recurrent_call(*trace, *this, view);
  }

  LayerOutputs<T> result;
  if (options_.return_sequences) {
    result.outputs.push_back(options_.time_major ? copy_tensor(Shape{steps, batch, out_size}, loop.sequence)
                                                 : batch_major_copy(steps, batch, out_size, loop.sequence));
    if (mask != nullptr) result.mask = *mask;
  } else {
    result.outputs.push_back(copy_tensor(Shape{batch, out_size}, loop.last[(steps - 1) % 2]));
  }
  if (options_.stateful)
    for (size_t i = 0; i < n_states; ++i)
      kernels::copy_block<T>(1, states_[i].size(), final_states[i], states_[i].size(), states_[i].data(),
                             states_[i].size());
  if (options_.return_state)
    for (size_t i = 0; i < n_states; ++i)
      result.outputs.push_back(copy_tensor(Shape{batch, state_sizes[i]}, final_states[i]));
  if (training) {
    entry.batch = batch;
    entry.steps = steps;
    entry.sequence_dropout = std::move(whole_sequence_mask);
    entry.input_masks = std::move(input_masks);
    entry.recurrent_masks = std::move(recurrent_masks);
    if (mask != nullptr)
      entry.mask = *mask;
    else
      entry.mask = Mask();
    entry.constants.resize(in.constants.size());
    for (size_t i = 0; i < in.constants.size(); ++i) entry.constants[i] = *in.constants[i];
    entry.initial_states = in.initial_state.size();
    tape_.push_back(std::move(entry));
  }
  return result;
}

template <class T>
LayerGrads<T> RNN<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  detail::tape_top(tape_, this->where());
  if (!cell_->supports_backward())
    throw ConfigError(this->where() + ": its cell " + cell_->class_name() +
                      " does not implement backward (Cell::supports_backward), so the layer cannot be trained");
  const int64_t batch = tape_.back().batch, steps = tape_.back().steps;
  const int64_t features = cell_->input_size(), out_size = cell_->output_size();
  WorkspaceLease<T> lease(*workspace_);
  detail::RecurrentWorkspace<T>& ws = lease.get();
  cell_sizes(*cell_, ws);
  const std::vector<int64_t>& state_sizes = ws.state_sizes;
  const size_t n_states = state_sizes.size();
  const Shape sequence_shape = options_.time_major ? Shape{steps, batch, out_size} : Shape{batch, steps, out_size};
  std::vector<Shape> output_shapes{options_.return_sequences ? sequence_shape : Shape{batch, out_size}};
  if (options_.return_state)
    for (int64_t size : state_sizes) output_shapes.push_back({batch, size});
  detail::check_grad_outputs(this->where(), grad_outputs, output_shapes);
  TapeEntry e = detail::tape_pop(tape_);
  cell_->begin_backward();

  detail::BackwardLoop<T>& loop = ws.backward;
  loop.reset();
  loop.cell = cell_.get();
  loop.batch = batch, loop.steps = steps, loop.features = features, loop.out_size = out_size;
  loop.grad_width = cell_->grad_width();
  loop.go_backwards = options_.go_backwards, loop.zero_output_for_mask = options_.zero_output_for_mask;
  loop.return_sequences = options_.return_sequences;
  // Gradient of the output sequence, time-major in processing order like the forward's.
  const Tensor<T>& d_out = grad_outputs[0];
  if (options_.return_sequences && !d_out.empty()) {
    if (options_.time_major) {
      loop.d_sequence = d_out.data();
    } else {
      T* d_transposed = detail::at_least(ws.d_transposed, steps * batch * out_size);
      kernels::swap_leading_axes<T>(batch, steps, out_size, d_out.data(), d_transposed);
      loop.d_sequence = d_transposed;
    }
  } else if (!options_.return_sequences && !d_out.empty()) {
    loop.d_last = d_out.data();
  }
  // d_a: gradients of the states after the last step (the given ones, else zeros).
  loop.state_sizes = &state_sizes;
  ws.d_a.resize(n_states), ws.d_b.resize(n_states), ws.d_next_cell.resize(n_states);
  int64_t widest = out_size;
  for (size_t i = 0; i < n_states; ++i) {
    const int64_t n = batch * state_sizes[i];
    const Tensor<T>* given = options_.return_state && !grad_outputs[1 + i].empty() ? &grad_outputs[1 + i] : nullptr;
    T* first = detail::at_least(ws.d_a[i], n);
    if (given != nullptr)
      kernels::copy_block<T>(1, n, given->data(), n, first, n);
    else
      std::fill(first, first + n, T(0));
    loop.d_a.push_back(first);
    loop.d_b.push_back(detail::at_least(ws.d_b[i], n));
    loop.d_next_cell.push_back(detail::at_least(ws.d_next_cell[i], n));
    widest = std::max(widest, state_sizes[i]);
  }
  // d_step_out: gradient of the current step's output; carry: what a masked step passes to
  // the output it repeated (spec §2.5); zeros: one zero row (leading dimension 0).
  loop.d_step_out = detail::at_least(ws.d_step_out, batch * out_size);
  loop.d_cell_out = detail::at_least(ws.d_cell_out, batch * out_size);
  loop.carry = detail::at_least(ws.carry, batch * out_size);
  std::fill(loop.carry, loop.carry + batch * out_size, T(0));
  loop.zeros = detail::at_least(ws.zeros, widest);  // never written: stays zero
  if (!e.mask.empty()) {
    const MaskLayout mask_at = mask_layout(options_.time_major, batch, steps);
    loop.mask = e.mask.data();
    loop.mask_per_step = mask_at.per_step, loop.mask_per_sample = mask_at.per_sample;
  }
  loop.x = e.x.data();
  for (const auto& st : e.states) loop.states.push_back(st.data());
  for (const auto& tp : e.cell_tape) loop.tape.push_back(tp.data());
  loop.tape_widths = &ws.tape_widths;
  for (const auto& m : e.input_masks) loop.dropout.input.push_back(m.data());
  for (const auto& m : e.recurrent_masks) loop.dropout.recurrent.push_back(m.data());
  const DropoutMasks<T>& dropout = loop.dropout;
  loop.input_mask_widths = &ws.input_mask_widths, loop.recurrent_mask_widths = &ws.recurrent_mask_widths;
  std::vector<Tensor<T>> d_constants;
  for (const Tensor<T>& c : e.constants) {
    d_constants.emplace_back(c.shape());
    loop.constants.push_back(c.data());
    loop.d_constants.push_back(d_constants.back().data());
    loop.constant_sizes.push_back(c.dim(1));
  }
  const int64_t gw = loop.grad_width, rows = steps * batch;
  loop.dz = detail::at_least(ws.dz, rows * gw);
  detail::run_backward(loop, ws, kernels::num_threads());
  const std::vector<T*>& d_initial = steps % 2 == 0 ? loop.d_a : loop.d_b;

  // Whole-sequence products: weight gradients, then the input gradient.
  CellSequenceGrad<T>& sg = ws.sequence_grad;
  sg.rows = rows;
  sg.batch = batch;
  sg.x = e.x.data();
  sg.states = loop.states;
  sg.constants = loop.constants;
  sg.dropout = dropout;
  sg.tape = loop.tape;
  sg.dz = loop.dz;
  sg.ldz = gw;
  sg.d_constants = loop.d_constants;
  cell_->backward_params(sg);
  T* dxt = detail::at_least(ws.dx, rows * features);
  T* input_scratch = detail::at_least(ws.input_scratch, cell_->backward_inputs_scratch_size(rows));
  cell_->backward_inputs(loop.dz, gw, rows, batch, dropout, dxt, input_scratch);

  LayerGrads<T> grads;
  Tensor<T> dx = options_.time_major ? copy_tensor(Shape{steps, batch, features}, dxt)
                                     : batch_major_copy(steps, batch, features, dxt);
  if (!e.sequence_dropout.empty())
    kernels::multiply_block<T>(1, dx.size(), dx.data(), dx.size(), e.sequence_dropout.data(), dx.size(), dx.data(),
                               dx.size());
  grads.inputs.push_back(std::move(dx));
  // The states before the first step: the initial_state tensors if given (a stateful
  // layer's stored states get no gradient: truncated BPTT, spec §3.6).
  if (e.initial_states > 0)
    for (size_t i = 0; i < n_states; ++i)
      grads.initial_state.push_back(copy_tensor(Shape{batch, state_sizes[i]}, d_initial[i]));
  grads.constants = std::move(d_constants);
  spare_tape_.push_back(std::move(e));  // its buffers serve the next training call
  return grads;
}

template <class T>
void RNN<T>::discard_latest_training_call() {
  if (!tape_.empty()) spare_tape_.push_back(detail::tape_pop(tape_));
}

template <class T>
void RNN<T>::clear_tape() {
  while (!tape_.empty()) spare_tape_.push_back(detail::tape_pop(tape_));
}

template <class T>
void RNN<T>::reset_states(const std::vector<Tensor<T>>& values) {
  if (!options_.stateful) throw StateError(this->where() + ": reset_states(values) needs a stateful layer");
  if (stateful_batch_ < 0)
    throw StateError(this->where() + ": reset_states(values) before the batch size is known (build or call first)");
  const std::vector<int64_t> sizes = cell_->state_sizes();
  if (values.size() != sizes.size())
    throw ShapeError(this->where() + ": reset_states got " + std::to_string(values.size()) + " tensors, expected " +
                     std::to_string(sizes.size()) + " (one per state, sizes " + sizes_string(sizes) + ")");
  for (size_t i = 0; i < sizes.size(); ++i)
    if (values[i].shape() != Shape{stateful_batch_, sizes[i]})
      throw ShapeError(this->where() + ": reset_states value " + std::to_string(i) + " has shape " +
                       to_string(values[i].shape()) + ", expected " + to_string(Shape{stateful_batch_, sizes[i]}));
  states_ = values;
}

template <class T>
std::unique_ptr<RNN<T>> RNN<T>::clone_config() const {
  auto copy = std::make_unique<RNN<T>>(cell_->clone_config(), options_, this->name());
  copy->set_seed(this->seed());
  return copy;
}

template class RNN<float>;
template class RNN<double>;

}  // namespace rnnx
