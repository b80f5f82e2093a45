#include "rnnx/layers/bidirectional.h"

#include <utility>

#include "layers/call_tape.h"
#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx {
namespace {

std::string without_prefix(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0 ? s.substr(prefix.size()) : s;
}

}  // namespace

MergeMode merge_mode_from_name(const std::string& name) {
  if (name == "concat") return MergeMode::concat;
  if (name == "sum") return MergeMode::sum;
  if (name == "ave") return MergeMode::ave;
  if (name == "mul") return MergeMode::mul;
  if (name.empty() || name == "none" || name == "None") return MergeMode::none;
  throw ConfigError("Bidirectional: unknown merge_mode '" + name + "', expected one of concat, sum, ave, mul, None");
}

std::string merge_mode_name(MergeMode mode) {
  switch (mode) {
    case MergeMode::concat:
      return "concat";
    case MergeMode::sum:
      return "sum";
    case MergeMode::ave:
      return "ave";
    case MergeMode::mul:
      return "mul";
    case MergeMode::none:
      return "None";
  }
  return "None";
}

template <class T>
Bidirectional<T>::Bidirectional(const RNN<T>& layer, MergeMode merge_mode, std::unique_ptr<RNN<T>> backward_layer,
                                std::string name)
    : Layer<T>(std::move(name)), merge_mode_(merge_mode) {
  forward_ = layer.clone_config();
  set_up(layer, std::move(backward_layer));
}

template <class T>
Bidirectional<T>::Bidirectional(std::unique_ptr<RNN<T>> layer, BidirectionalOptions options,
                                std::unique_ptr<RNN<T>> backward_layer, std::string name)
    : Layer<T>(std::move(name)), merge_mode_(options.merge_mode) {
  if (!layer) throw ConfigError(this->where() + ": layer is null");
  if (layer->built())
    throw ConfigError(this->where() + ": the wrapped layer must not be built yet (its options are set here)");
  forward_ = std::move(layer);
  set_up(*forward_, std::move(backward_layer));
}

template <class T>
void Bidirectional<T>::set_up(const RNN<T>& original, std::unique_ptr<RNN<T>> backward_layer) {
  const std::string& base_name = original.name();
  RNNOptions fo = forward_->rnn_options();
  fo.zero_output_for_mask = fo.return_sequences;
  if (!backward_layer) {
    backward_ = original.clone_config();
    backward_->set_name("backward_" + without_prefix(base_name, "backward_"));
    RNNOptions bo = fo;
    bo.go_backwards = !fo.go_backwards;
    backward_->set_rnn_options(bo);
  } else {
    if (backward_layer->built())
      throw ConfigError(this->where() +
                        ": backward_layer must not be built yet (its zero_output_for_mask is set here)");
    const RNNOptions bo = backward_layer->rnn_options();
    if (bo.go_backwards == fo.go_backwards)
      throw ConfigError(this->where() + ": forward and backward layers must have different go_backwards, got " +
                        (fo.go_backwards ? "true" : "false") + " for both");
    auto check_same = [&](const char* what, bool f, bool b) {
      if (f != b)
        throw ConfigError(this->where() + ": forward and backward layers must have the same " + what + ", got " +
                          (f ? "true" : "false") + " for the forward layer and " + (b ? "true" : "false") +
                          " for the backward layer");
    };
    check_same("stateful", fo.stateful, bo.stateful);
    check_same("return_sequences", fo.return_sequences, bo.return_sequences);
    check_same("return_state", fo.return_state, bo.return_state);
    check_same("time_major", fo.time_major, bo.time_major);
    RNNOptions forced = bo;
    forced.zero_output_for_mask = bo.return_sequences;
    backward_layer->set_rnn_options(forced);
    backward_ = std::move(backward_layer);
  }
  forward_->set_name("forward_" + without_prefix(base_name, "forward_"));
  forward_->set_rnn_options(fo);
  // Keras calls each direction as a layer, so each applies its activity_regularizer to its
  // own outputs (spec §3.9). With concat or no merge the outputs of this layer hold exactly
  // those tensors, so one penalty over them (activity_regularizer()) is the same sum.
  const Regularizer fr = forward_->activity_regularizer(), br = backward_->activity_regularizer();
  if ((fr.active() || br.active()) &&
      (fr != br || (merge_mode_ != MergeMode::concat && merge_mode_ != MergeMode::none)))
    throw ConfigError(this->where() + ": an activity_regularizer on the wrapped layer needs merge_mode 'concat' or " +
                      "None and the same regularizer on both directions (Keras applies it to each direction before " +
                      "merging), got merge_mode '" + merge_mode_name(merge_mode_) + "'" +
                      (fr != br ? " and different regularizers" : ""));
}

template <class T>
void Bidirectional<T>::build(const std::vector<Shape>& input_shapes) {
  if (!forward_->built() || !backward_->built()) {
    Rng rng(this->seed());
    const uint64_t forward_seed = rng.next_u64(), backward_seed = rng.next_u64();
    if (!forward_->built()) forward_->set_seed(forward_seed);
    if (!backward_->built()) backward_->set_seed(backward_seed);
  }
  forward_->build(input_shapes);
  backward_->build(input_shapes);
  this->set_built();
}

template <class T>
std::vector<Shape> Bidirectional<T>::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  const std::vector<Shape> f = forward_->compute_output_shapes(input_shapes);
  const std::vector<Shape> b = backward_->compute_output_shapes(input_shapes);
  std::vector<Shape> out;
  if (merge_mode_ == MergeMode::none) {
    out = {f[0], b[0]};
  } else if (merge_mode_ == MergeMode::concat) {
    Shape y = f[0];
    y.back() = f[0].back() < 0 || b[0].back() < 0 ? -1 : f[0].back() + b[0].back();
    out = {y};
  } else {
    if (f[0] != b[0])
      throw ShapeError(this->where() + ": merge_mode " + merge_mode_name(merge_mode_) +
                       " needs equal forward and backward output shapes, got " + to_string(f[0]) + " and " +
                       to_string(b[0]));
    out = {f[0]};
  }
  out.insert(out.end(), f.begin() + 1, f.end());
  out.insert(out.end(), b.begin() + 1, b.end());
  return out;
}

template <class T>
Tensor<T> Bidirectional<T>::merge(const Tensor<T>& fwd, const Tensor<T>& bwd) const {
  if (merge_mode_ == MergeMode::concat) {
    const int64_t nf = fwd.dim(-1), nb = bwd.dim(-1), rows = nf > 0 ? fwd.size() / nf : 0;
    Shape shape = fwd.shape();
    shape.back() = nf + nb;
    Tensor<T> y(shape);
    kernels::copy_block<T>(rows, nf, fwd.data(), nf, y.data(), nf + nb);
    kernels::copy_block<T>(rows, nb, bwd.data(), nb, y.data() + nf, nf + nb);
    return y;
  }
  if (fwd.shape() != bwd.shape())
    throw ShapeError(this->where() + ": merge_mode " + merge_mode_name(merge_mode_) +
                     " needs equal forward and backward output shapes, got " + to_string(fwd.shape()) + " and " +
                     to_string(bwd.shape()));
  Tensor<T> y(fwd.shape());
  const int64_t n = fwd.size();
  if (merge_mode_ == MergeMode::mul) {
    kernels::multiply_block<T>(1, n, fwd.data(), n, bwd.data(), n, y.data(), n);
  } else {
    kernels::add_block<T>(1, n, fwd.data(), n, bwd.data(), n, y.data(), n);
    if (merge_mode_ == MergeMode::ave) kernels::scale_block<T>(y.data(), 1, n, n, T(0.5));  // == (f + b) / 2
  }
  return y;
}

template <class T>
LayerOutputs<T> Bidirectional<T>::call(const LayerInputs<T>& in) {
  if (!this->built() && in.inputs.size() == 1 && in.inputs[0] != nullptr) {
    std::vector<Shape> shapes{in.inputs[0]->shape()};
    for (const Tensor<T>* c : in.constants)
      if (c != nullptr) shapes.push_back(c->shape());
    build(shapes);
  }
  LayerInputs<T> fin = in, bin = in;
  if (!in.initial_state.empty()) {
    const size_t nf = forward_->cell().state_sizes().size(), nb = backward_->cell().state_sizes().size();
    if (in.initial_state.size() != nf + nb)
      throw ShapeError(this->where() + ": initial_state has " + std::to_string(in.initial_state.size()) +
                       " tensors, expected " + std::to_string(nf + nb) + " (" + std::to_string(nf) +
                       " forward states, then " + std::to_string(nb) + " backward states)");
    fin.initial_state.assign(in.initial_state.begin(), in.initial_state.begin() + static_cast<std::ptrdiff_t>(nf));
    bin.initial_state.assign(in.initial_state.begin() + static_cast<std::ptrdiff_t>(nf), in.initial_state.end());
  }
  const bool training = in.mode == Mode::training;
  LayerOutputs<T> yf = forward_->call(fin);
  LayerOutputs<T> yb, result;
  const bool sequences = forward_->rnn_options().return_sequences;
  try {
    yb = backward_->call(bin);
    Tensor<T> y_fwd = std::move(yf.outputs[0]);
    Tensor<T> y_bwd = std::move(yb.outputs[0]);
    if (sequences) y_bwd = flip_time(y_bwd);
    TapeEntry entry;
    if (training && merge_mode_ == MergeMode::mul) {
      entry.y_fwd = y_fwd;
      entry.y_bwd = y_bwd;
    }
    if (merge_mode_ == MergeMode::none) {
      result.outputs.push_back(std::move(y_fwd));
      result.outputs.push_back(std::move(y_bwd));
    } else {
      result.outputs.push_back(merge(y_fwd, y_bwd));
    }
    for (size_t i = 1; i < yf.outputs.size(); ++i) result.outputs.push_back(std::move(yf.outputs[i]));
    for (size_t i = 1; i < yb.outputs.size(); ++i) result.outputs.push_back(std::move(yb.outputs[i]));
    if (training) {
      for (const Tensor<T>& y : result.outputs) entry.output_shapes.push_back(y.shape());
      tape_.push_back(std::move(entry));
    }
  } catch (...) {
    // Keep the two directions' tapes in step with this layer's: drop what succeeded.
    if (training) {
      forward_->discard_latest_training_call();
      if (!yb.outputs.empty()) backward_->discard_latest_training_call();
    }
    throw;
  }
  if (sequences && in.mask != nullptr && !in.mask->empty()) result.mask = *in.mask;
  return result;
}

template <class T>
LayerGrads<T> Bidirectional<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  detail::check_grad_outputs(this->where(), grad_outputs, detail::tape_top(tape_, this->where()).output_shapes);
  const TapeEntry e = detail::tape_pop(tape_);
  const bool sequences = forward_->rnn_options().return_sequences;
  const size_t n_merged = merge_mode_ == MergeMode::none ? 2 : 1;

  // Split the merged output's gradient into the two directions' (time-aligned) parts.
  Tensor<T> g_fwd, g_bwd;
  const Tensor<T>& g = grad_outputs[0];
  if (merge_mode_ == MergeMode::none) {
    g_fwd = grad_outputs[0];
    g_bwd = grad_outputs[1];
  } else if (!g.empty()) {
    const int64_t n = g.size();
    switch (merge_mode_) {
      case MergeMode::concat: {
        const int64_t width = g.dim(-1), nf = forward_->cell().output_size(), nb = width - nf, rows = n / width;
        Shape fs = g.shape(), bs = g.shape();
        fs.back() = nf;
        bs.back() = nb;
        g_fwd = Tensor<T>(fs);
        g_bwd = Tensor<T>(bs);
        kernels::copy_block<T>(rows, nf, g.data(), width, g_fwd.data(), nf);
        kernels::copy_block<T>(rows, nb, g.data() + nf, width, g_bwd.data(), nb);
        break;
      }
      case MergeMode::sum:
        g_fwd = g;
        g_bwd = g;
        break;
      case MergeMode::ave:
        g_fwd = g;
        kernels::scale_block<T>(g_fwd.data(), 1, n, n, T(0.5));
        g_bwd = g_fwd;
        break;
      case MergeMode::mul:
        g_fwd = Tensor<T>(g.shape());
        g_bwd = Tensor<T>(g.shape());
        kernels::multiply_block<T>(1, n, g.data(), n, e.y_bwd.data(), n, g_fwd.data(), n);
        kernels::multiply_block<T>(1, n, g.data(), n, e.y_fwd.data(), n, g_bwd.data(), n);
        break;
      case MergeMode::none:
        break;
    }
  }
  // The backward direction's sequence was flipped to time order; flip its gradient back.
  if (sequences && !g_bwd.empty()) g_bwd = flip_time(g_bwd);

  const size_t nf = forward_->rnn_options().return_state ? forward_->cell().state_sizes().size() : 0;
  std::vector<Tensor<T>> fwd_grads{std::move(g_fwd)}, bwd_grads{std::move(g_bwd)};
  for (size_t i = n_merged; i < grad_outputs.size(); ++i)
    (i < n_merged + nf ? fwd_grads : bwd_grads).push_back(grad_outputs[i]);
  LayerGrads<T> gf = forward_->backward(fwd_grads);
  LayerGrads<T> gb = backward_->backward(bwd_grads);

  LayerGrads<T> grads = std::move(gf);
  for (size_t i = 0; i < grads.inputs.size(); ++i) detail::accumulate_grad(grads.inputs[i], std::move(gb.inputs[i]));
  for (size_t i = 0; i < grads.constants.size(); ++i)
    detail::accumulate_grad(grads.constants[i], std::move(gb.constants[i]));
  for (auto& s : gb.initial_state) grads.initial_state.push_back(std::move(s));
  return grads;
}

template <class T>
void Bidirectional<T>::clear_tape() {
  tape_.clear();
  forward_->clear_tape();
  backward_->clear_tape();
}

template <class T>
Tensor<T> Bidirectional<T>::flip_time(const Tensor<T>& y) const {
  Tensor<T> flipped(y.shape());
  if (forward_->rnn_options().time_major)  // [steps, batch, n] as [1, steps, batch * n]
    kernels::reverse_middle_axis<T>(1, y.dim(0), y.dim(1) * y.dim(2), y.data(), flipped.data());
  else
    kernels::reverse_middle_axis<T>(y.dim(0), y.dim(1), y.dim(2), y.data(), flipped.data());
  return flipped;
}

template <class T>
std::vector<Param<T>> Bidirectional<T>::params() {
  std::vector<Param<T>> out = forward_->params();
  const auto b = backward_->params();
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

template <class T>
void Bidirectional<T>::reset_states() {
  forward_->reset_states();
  backward_->reset_states();
}

template class Bidirectional<float>;
template class Bidirectional<double>;

}  // namespace rnnx
