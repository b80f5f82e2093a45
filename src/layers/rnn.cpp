#include "rnnx/layers/rnn.h"

#include <algorithm>
#include <utility>

#include "layers/call_tape.h"
#include "layers/rnn_trace.h"
#include "rnnx/core/error.h"
#include "rnnx/core/sample_rng.h"
#include "rnnx/kernels/kernels.h"

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

}  // namespace

template <class T>
RNN<T>::RNN(std::unique_ptr<Cell<T>> cell, RNNOptions options, std::string name)
    : Layer<T>(std::move(name)), cell_(std::move(cell)), options_(options) {
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

  const std::vector<int64_t> state_sizes = cell_->state_sizes();
  const size_t n_states = state_sizes.size();
  if (!in.initial_state.empty()) {
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

  // Time-major input (a batch-major one transposed) and its projection for all steps at once.
  const int64_t out_size = cell_->output_size(), proj_size = cell_->projection_size();
  Tensor<T> xt(Shape{steps, batch, features}), dropped;
  const T* source = x.data();
  if (!whole_sequence_mask.empty()) {
    // Dropout of the whole input sequence, one mask per step (Cell::sequence_input_dropout).
    dropped = Tensor<T>(xs);
    kernels::multiply_block<T>(1, x.size(), x.data(), x.size(), whole_sequence_mask.data(), x.size(), dropped.data(),
                               x.size());
    source = dropped.data();
  }
  if (options_.time_major)
    kernels::copy_block<T>(1, x.size(), source, x.size(), xt.data(), x.size());
  else
    kernels::swap_leading_axes<T>(batch, steps, features, source, xt.data());
  Tensor<T> projected;
  if (proj_size > 0) {
    projected = Tensor<T>(Shape{steps * batch, proj_size});
    cell_->project_inputs(xt.data(), steps * batch, batch, dropout, projected.data());
  }

  // States: initial_state, else the stored states (stateful), else zeros.
  std::vector<Tensor<T>> cur, next;
  for (size_t i = 0; i < n_states; ++i) {
    cur.emplace_back(Shape{batch, state_sizes[i]});
    next.emplace_back(Shape{batch, state_sizes[i]});
    const Tensor<T>* init = !in.initial_state.empty() ? in.initial_state[i] : options_.stateful ? &states_[i] : nullptr;
    if (init != nullptr)
      kernels::copy_block<T>(batch, state_sizes[i], init->data(), state_sizes[i], cur[i].data(), state_sizes[i]);
  }

  // Outputs: the whole sequence (time-major, processing order) or two alternating steps.
  Tensor<T> sequence, last_outputs[2], zeros;
  if (options_.return_sequences)
    sequence = Tensor<T>(Shape{steps, batch, out_size});
  else
    last_outputs[0] = Tensor<T>(Shape{batch, out_size}), last_outputs[1] = Tensor<T>(Shape{batch, out_size});
  if (mask != nullptr) zeros = Tensor<T>(Shape{batch, out_size});
  auto output_slot = [&](int64_t s) -> T* {
    return options_.return_sequences ? sequence.data() + s * batch * out_size : last_outputs[s % 2].data();
  };

  std::vector<T> scratch(static_cast<size_t>(cell_->scratch_size(batch)));
  CellStep<T> step;
  step.batch = batch;
  step.states.resize(n_states);
  step.new_states.resize(n_states);
  for (const Tensor<T>* c : in.constants) step.constants.push_back(c->data());
  step.dropout = dropout;
  step.scratch = scratch.data();

  // Training keeps the states every step reads and the cell's tape, for all steps; an
  // active trace (model/trace.h) keeps the states too and recomputes the rest afterwards.
  const bool training = in.mode == Mode::training;
  Trace<T>* const trace = detail::active_trace<T>();
  const bool keep_states = training || trace != nullptr;
  TapeEntry entry;
  std::vector<int64_t> tape_widths;
  if (keep_states)
    for (int64_t size : state_sizes) entry.states.emplace_back(Shape{steps * batch, size});
  if (training) {
    tape_widths = cell_->tape_widths();
    for (int64_t width : tape_widths) entry.cell_tape.emplace_back(Shape{steps * batch, width});
    step.tape.resize(tape_widths.size());
  }

  // The time loop: no allocation, only pointer moves.
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t t = options_.go_backwards ? steps - 1 - s : s;
    step.x = xt.data() + t * batch * features;
    step.x_proj = proj_size > 0 ? projected.data() + t * batch * proj_size : nullptr;
    for (size_t i = 0; i < n_states; ++i) {
      step.states[i] = cur[i].data();
      step.new_states[i] = next[i].data();
    }
    if (keep_states) {
      for (size_t i = 0; i < n_states; ++i)
        kernels::copy_block<T>(batch, state_sizes[i], cur[i].data(), state_sizes[i],
                               entry.states[i].data() + t * batch * state_sizes[i], state_sizes[i]);
      for (size_t e = 0; e < tape_widths.size(); ++e)
        step.tape[e] = entry.cell_tape[e].data() + t * batch * tape_widths[e];
    }
    T* out = output_slot(s);
    step.output = out;
    cell_->step(step);
    if (mask != nullptr) {
      const uint8_t* keep = mask->data() + t * mask_at.per_step;  // step t of every sample
      for (size_t i = 0; i < n_states; ++i)
        kernels::select_rows<T>(batch, state_sizes[i], keep, mask_at.per_sample, next[i].data(), state_sizes[i],
                                cur[i].data(), state_sizes[i], next[i].data(), state_sizes[i]);
      const T* fallback = options_.zero_output_for_mask || s == 0 ? zeros.data() : output_slot(s - 1);
      kernels::select_rows<T>(batch, out_size, keep, mask_at.per_sample, out, out_size, fallback, out_size, out,
                              out_size);
    }
    std::swap(cur, next);
  }

  if (trace != nullptr) {
    detail::RecurrentCallView<T> view{batch, steps, features, in.mode, xt.data(), {}, {}, mask, dropout};
    for (const Tensor<T>& st : entry.states) view.states_read.push_back(st.data());
    for (const Tensor<T>& st : cur) view.final_states.push_back(st.data());
    detail::record_recurrent_call(*trace, *this, view);
  }

  LayerOutputs<T> result;
  if (options_.return_sequences && options_.time_major) {
    result.outputs.push_back(std::move(sequence));
    if (mask != nullptr) result.mask = *mask;
  } else if (options_.return_sequences) {
    Tensor<T> y(Shape{batch, steps, out_size});
    kernels::swap_leading_axes<T>(steps, batch, out_size, sequence.data(), y.data());
    result.outputs.push_back(std::move(y));
    if (mask != nullptr) result.mask = *mask;
  } else {
    result.outputs.push_back(std::move(last_outputs[(steps - 1) % 2]));
  }
  if (options_.stateful) states_ = cur;
  if (options_.return_state)
    for (auto& s : cur) result.outputs.push_back(std::move(s));
  if (training) {
    entry.batch = batch;
    entry.steps = steps;
    entry.x = std::move(xt);
    entry.sequence_dropout = std::move(whole_sequence_mask);
    entry.input_masks = std::move(input_masks);
    entry.recurrent_masks = std::move(recurrent_masks);
    if (mask != nullptr) entry.mask = *mask;
    for (const Tensor<T>* c : in.constants) entry.constants.push_back(*c);
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
  const std::vector<int64_t> state_sizes = cell_->state_sizes();
  const size_t n_states = state_sizes.size();
  const Shape sequence_shape = options_.time_major ? Shape{steps, batch, out_size} : Shape{batch, steps, out_size};
  std::vector<Shape> output_shapes{options_.return_sequences ? sequence_shape : Shape{batch, out_size}};
  if (options_.return_state)
    for (int64_t size : state_sizes) output_shapes.push_back({batch, size});
  detail::check_grad_outputs(this->where(), grad_outputs, output_shapes);
  const TapeEntry e = detail::tape_pop(tape_);
  cell_->begin_backward();

  // Gradient of the output sequence, time-major in processing order like the forward's.
  const Tensor<T>& d_out = grad_outputs[0];
  Tensor<T> d_transposed;
  const T* d_sequence = nullptr;
  if (options_.return_sequences && !d_out.empty()) {
    if (options_.time_major) {
      d_sequence = d_out.data();
    } else {
      d_transposed = Tensor<T>(Shape{steps, batch, out_size});
      kernels::swap_leading_axes<T>(batch, steps, out_size, d_out.data(), d_transposed.data());
      d_sequence = d_transposed.data();
    }
  }
  // d_next: gradients of the states after the current step (at first: of the final states).
  std::vector<Tensor<T>> d_next, d_prev, d_next_cell;
  int64_t widest = out_size;
  for (size_t i = 0; i < n_states; ++i) {
    const Tensor<T>* given = options_.return_state && !grad_outputs[1 + i].empty() ? &grad_outputs[1 + i] : nullptr;
    d_next.push_back(given != nullptr ? *given : Tensor<T>(Shape{batch, state_sizes[i]}));
    d_prev.emplace_back(Shape{batch, state_sizes[i]});
    d_next_cell.emplace_back(Shape{batch, state_sizes[i]});
    widest = std::max(widest, state_sizes[i]);
  }
  // d_step_out: gradient of the current step's output; carry: what a masked step passes to
  // the output it repeated (spec §2.5); zeros: one zero row (leading dimension 0).
  Tensor<T> d_step_out(Shape{batch, out_size}), d_cell_out(Shape{batch, out_size}), carry(Shape{batch, out_size});
  Tensor<T> zeros(Shape{widest});
  const int64_t gw = cell_->grad_width(), rows = steps * batch;
  Tensor<T> dz(Shape{rows, gw});
  std::vector<Tensor<T>> d_constants;
  for (const Tensor<T>& c : e.constants) d_constants.emplace_back(c.shape());
  std::vector<T> scratch(static_cast<size_t>(cell_->backward_scratch_size(batch)));

  DropoutMasks<T> dropout;
  for (const auto& m : e.input_masks) dropout.input.push_back(m.data());
  for (const auto& m : e.recurrent_masks) dropout.recurrent.push_back(m.data());
  const std::vector<int64_t> tape_widths = cell_->tape_widths();
  CellStepGrad<T> g;
  g.batch = batch;
  g.states.resize(n_states);
  g.d_new_states.resize(n_states);
  g.d_states.resize(n_states);
  for (const Tensor<T>& c : e.constants) g.constants.push_back(c.data());
  g.dropout = dropout;
  g.tape.resize(tape_widths.size());
  g.ldz = gw;
  for (Tensor<T>& d : d_constants) g.d_constants.push_back(d.data());
  g.scratch = scratch.data();
  const bool masked = !e.mask.empty();
  const MaskLayout mask_at = mask_layout(options_.time_major, batch, steps);

  // The time loop, backwards through processing order: no allocation, only pointer moves.
  for (int64_t s = steps - 1; s >= 0; --s) {
    const int64_t t = options_.go_backwards ? steps - 1 - s : s;
    const T* given = nullptr;
    if (options_.return_sequences)
      given = d_sequence == nullptr ? nullptr : d_sequence + s * batch * out_size;
    else if (s == steps - 1 && !d_out.empty())
      given = d_out.data();
    if (given != nullptr)
      kernels::add_block<T>(batch, out_size, given, out_size, carry.data(), out_size, d_step_out.data(), out_size);
    else
      kernels::copy_block<T>(batch, out_size, carry.data(), out_size, d_step_out.data(), out_size);

    g.d_output = d_step_out.data();
    for (size_t i = 0; i < n_states; ++i) g.d_new_states[i] = d_next[i].data();
    const uint8_t* keep = masked ? e.mask.data() + t * mask_at.per_step : nullptr;  // step t of every sample
    if (masked) {
      // A masked sample's cell result was discarded: its cell gets zero gradient; its output
      // repeated the previous one (which gets the gradient), unless it was zeroed.
      kernels::select_rows<T>(batch, out_size, keep, mask_at.per_sample, d_step_out.data(), out_size, zeros.data(), 0,
                              d_cell_out.data(), out_size);
      if (!options_.zero_output_for_mask && s > 0)
        kernels::select_rows<T>(batch, out_size, keep, mask_at.per_sample, zeros.data(), 0, d_step_out.data(), out_size,
                                carry.data(), out_size);
      for (size_t i = 0; i < n_states; ++i)
        kernels::select_rows<T>(batch, state_sizes[i], keep, mask_at.per_sample, d_next[i].data(), state_sizes[i],
                                zeros.data(), 0, d_next_cell[i].data(), state_sizes[i]);
      g.d_output = d_cell_out.data();
      for (size_t i = 0; i < n_states; ++i) g.d_new_states[i] = d_next_cell[i].data();
    }
    g.x = e.x.data() + t * batch * features;
    for (size_t i = 0; i < n_states; ++i) {
      g.states[i] = e.states[i].data() + t * batch * state_sizes[i];
      g.d_states[i] = d_prev[i].data();
    }
    for (size_t k = 0; k < tape_widths.size(); ++k) g.tape[k] = e.cell_tape[k].data() + t * batch * tape_widths[k];
    g.dz = dz.data() + t * batch * gw;
    cell_->step_backward(g);
    if (masked)  // the states of a masked sample were copied through
      for (size_t i = 0; i < n_states; ++i)
        kernels::select_rows<T>(batch, state_sizes[i], keep, mask_at.per_sample, d_prev[i].data(), state_sizes[i],
                                d_next[i].data(), state_sizes[i], d_prev[i].data(), state_sizes[i]);
    std::swap(d_next, d_prev);
  }

  // Whole-sequence products: weight gradients, then the input gradient.
  CellSequenceGrad<T> sg;
  sg.rows = rows;
  sg.batch = batch;
  sg.x = e.x.data();
  for (const Tensor<T>& st : e.states) sg.states.push_back(st.data());
  sg.constants = g.constants;
  sg.dropout = dropout;
  for (const Tensor<T>& tp : e.cell_tape) sg.tape.push_back(tp.data());
  sg.dz = dz.data();
  sg.ldz = gw;
  sg.d_constants = g.d_constants;
  cell_->backward_params(sg);
  Tensor<T> dxt(Shape{steps, batch, features});
  std::vector<T> input_scratch(static_cast<size_t>(cell_->backward_inputs_scratch_size(rows)));
  cell_->backward_inputs(dz.data(), gw, rows, batch, dropout, dxt.data(), input_scratch.data());

  LayerGrads<T> grads;
  Tensor<T> dx;
  if (options_.time_major) {
    dx = std::move(dxt);
  } else {
    dx = Tensor<T>(Shape{batch, steps, features});
    kernels::swap_leading_axes<T>(steps, batch, features, dxt.data(), dx.data());
  }
  if (!e.sequence_dropout.empty())
    kernels::multiply_block<T>(1, dx.size(), dx.data(), dx.size(), e.sequence_dropout.data(), dx.size(), dx.data(),
                               dx.size());
  grads.inputs.push_back(std::move(dx));
  // The states before the first step: the initial_state tensors if given (a stateful
  // layer's stored states get no gradient: truncated BPTT, spec §3.6).
  if (e.initial_states > 0) grads.initial_state = std::move(d_next);
  grads.constants = std::move(d_constants);
  return grads;
}

template <class T>
void RNN<T>::discard_latest_training_call() {
  if (!tape_.empty()) tape_.pop_back();
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
