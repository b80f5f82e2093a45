#include "rnnx/layers/recurrent_stream.h"

#include <algorithm>
#include <string>
#include <utility>

#include "rnnx/core/error.h"

namespace rnnx {

template <class T>
RecurrentStream<T>::RecurrentStream(const RNN<T>& layer, int64_t streams)
    : where_("RecurrentStream over " + layer.class_name() + " '" + layer.name() + "'"),
      cell_(&layer.cell()),
      streams_(streams) {
  const std::string& where = where_;
  if (!layer.built()) throw StateError(where + ": the layer must be built first (build or call it once)");
  if (layer.rnn_options().go_backwards)
    throw ConfigError(where + ": go_backwards layers read a sequence from its end; a stream runs forwards");
  if (cell_->accepts_constants())
    throw ConfigError(where + ": its cell " + cell_->class_name() + " takes constants, which a stream cannot pass");
  if (streams < 1) throw ShapeError(where + ": streams must be at least 1, got " + std::to_string(streams));
  input_size_ = cell_->input_size();
  output_size_ = cell_->output_size();
  projection_size_ = cell_->projection_size();
  state_sizes_ = cell_->state_sizes();
  for (int64_t size : state_sizes_) {
    states_.emplace_back(static_cast<size_t>(streams * size), T(0));
    next_.emplace_back(static_cast<size_t>(streams * size), T(0));
  }
  projected_.resize(static_cast<size_t>(streams * projection_size_));
  output_.resize(static_cast<size_t>(streams * output_size_));
  scratch_.resize(static_cast<size_t>(cell_->scratch_size(streams)));
  step_.batch = streams;
  step_.states.resize(state_sizes_.size());
  step_.new_states.resize(state_sizes_.size());
  step_.scratch = scratch_.data();
  step_.output = output_.data();
  step_.x_proj = projection_size_ > 0 ? projected_.data() : nullptr;
}

template <class T>
std::span<const T> RecurrentStream<T>::step(std::span<const T> x) {
  if (static_cast<int64_t>(x.size()) != streams_ * input_size_)
    throw ShapeError(where_ + ": step input has " + std::to_string(x.size()) +
                     " values, expected streams * input_size = " + std::to_string(streams_) + " * " +
                     std::to_string(input_size_));
  if (projection_size_ > 0) cell_->project_inputs(x.data(), streams_, streams_, no_dropout_, projected_.data());
  step_.x = x.data();
  for (size_t i = 0; i < states_.size(); ++i) {
    step_.states[i] = states_[i].data();
    step_.new_states[i] = next_[i].data();
  }
  cell_->step(step_);
  std::swap(states_, next_);  // swaps the buffers, not their contents
  return output_;
}

template <class T>
std::span<const T> RecurrentStream<T>::state(size_t i) const {
  if (i >= states_.size())
    throw ShapeError(where_ + ": state " + std::to_string(i) + " does not exist, the cell has " +
                     std::to_string(states_.size()));
  return states_[i];
}

template <class T>
void RecurrentStream<T>::reset() {
  for (auto& s : states_) std::fill(s.begin(), s.end(), T(0));
}

template <class T>
void RecurrentStream<T>::reset_stream(int64_t stream) {
  if (stream < 0 || stream >= streams_)
    throw ShapeError(where_ + ": stream " + std::to_string(stream) + " is out of range [0, " +
                     std::to_string(streams_) + ")");
  for (size_t i = 0; i < states_.size(); ++i) {
    auto first = states_[i].begin() + stream * state_sizes_[i];
    std::fill(first, first + state_sizes_[i], T(0));
  }
}

template class RecurrentStream<float>;
template class RecurrentStream<double>;

}  // namespace rnnx
