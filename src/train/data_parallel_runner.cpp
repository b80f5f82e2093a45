// The batch runner of data-parallel training (data_parallel_runner.h; the steps and their
// cost are described in include/rnnx/train/data_parallel.h).
#include "train/data_parallel_runner.h"

#include <chrono>
#include <cstring>
#include <span>
#include <string>

#include "rnnx/core/error.h"
#include "rnnx/core/sample_rng.h"
#include "rnnx/model/model.h"
#include "train/batching.h"
#include "train/layer_rngs.h"
#include "train/wire.h"

namespace rnnx::detail {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <class T>
std::vector<Param<T>> frozen_params(Layer<T>& model) {
  std::vector<Param<T>> out;
  for (const Param<T>& p : model.params())
    if (!p.trainable) out.push_back(p);
  return out;
}

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<size_t>(a.size())) == 0;
}

// Output j of the result: parts[0][j], parts[1][j], ... along the first axis; a part without
// samples (an idle rank) has no outputs and is skipped.
template <class E>
std::vector<Tensor<E>> join(const std::vector<std::vector<Tensor<E>>>& parts) {
  std::vector<std::vector<Tensor<E>>> present;
  for (const auto& p : parts)
    if (!p.empty()) present.push_back(p);
  return concat_batches(present);
}

// The mask of each of `n_out` outputs over the parts (none when no part has one).
inline std::vector<Mask> join_masks(const std::vector<std::vector<Mask>>& parts, size_t n_out) {
  std::vector<Mask> out(n_out);
  for (size_t j = 0; j < n_out; ++j) {
    std::vector<std::vector<Mask>> column;
    for (const auto& p : parts)
      if (j < p.size() && !p[j].empty()) column.push_back({p[j]});
    if (!column.empty()) out[j] = concat_batches(column)[0];
  }
  return out;
}

}  // namespace

template <class T>
ShardRunner<T>::ShardRunner(Layer<T>& model, Communicator& comm, int64_t shards)
    : model_(model), comm_(comm), shards_(shards) {}

template <class T>
std::vector<std::vector<uint8_t>> ShardRunner<T>::allgather(const std::vector<uint8_t>& mine) {
  times.bytes_sent += mine.size();
  return comm_.allgather(mine);
}

template <class T>
void ShardRunner<T>::broadcast(std::vector<uint8_t>& bytes, int root) {
  if (comm_.rank() == root) times.bytes_sent += bytes.size();
  comm_.broadcast(bytes, root);
}

template <class T>
bool ShardRunner<T>::some_rank_idle(int64_t batch) const {
  // Shards only shrink with k, so the last rank is the first to run out of samples.
  const int64_t last = (comm_.size() - 1) * local_shards();
  return shard_begin(batch, shards_, last) == batch;
}

template <class T>
BatchOutputs<T> ShardRunner<T>::call_model(const std::vector<Tensor<T>>& x, int64_t begin, int64_t end, Mode mode) {
  const std::vector<Tensor<T>> xs = slice_all(x, begin, end);
  const SampleOffset offset(begin);  // the shard's place in the global batch (core/sample_rng.h)
  BatchOutputs<T> out;
  if (auto* model = dynamic_cast<Model<T>*>(&model_)) {
    ModelOutputs<T> r = model->run(xs, mode);
    out.outputs = std::move(r.outputs);
    out.masks = std::move(r.masks);
  } else {
    LayerInputs<T> in;
    for (const auto& t : xs) in.inputs.push_back(&t);
    in.mode = mode;
    LayerOutputs<T> r = model_.call(in);
    out.outputs = std::move(r.outputs);
    out.masks.resize(out.outputs.size());
    if (!out.masks.empty()) out.masks[0] = std::move(r.mask);
  }
  out.masks.resize(out.outputs.size());
  return out;
}

template <class T>
std::vector<Tensor<T>> ShardRunner<T>::frozen_values() {
  std::vector<Tensor<T>> out;
  for (const Param<T>& p : frozen_params(model_)) out.push_back(*p.value);
  return out;
}

template <class T>
void ShardRunner<T>::set_frozen(const std::vector<Tensor<T>>& values) {
  const std::vector<Param<T>> frozen = frozen_params(model_);
  for (size_t i = 0; i < frozen.size() && i < values.size(); ++i) *frozen[i].value = values[i];
}

template <class T>
BatchOutputs<T> ShardRunner<T>::forward(const std::vector<Tensor<T>>& x, Mode mode) {
  if (pending_) discard();  // a training forward that never got its backward
  const int ranks = comm_.size();
  if (!power_of_two(ranks) || shards_ % ranks != 0)
    throw ConfigError("DataParallel: the rank count must be a power of two that divides shards (" +
                      std::to_string(shards_) + "), got " + std::to_string(ranks) +
                      " ranks; run 1, 2, 4, ... ranks, or raise DataParallelOptions::shards (which changes the "
                      "order of the gradient sum, so the results)");
  const auto t0 = Clock::now();
  const bool training = mode == Mode::training;
  const int64_t batch = x.at(0).dim(0);
  // Building seeds the layers' generators (RNN), so build before taking their states.
  if (!model_.built() && batch > 0) call_model(x, 0, 1, Mode::inference);
  const std::vector<LayerRng<T>> rngs = training ? layer_rngs(model_) : std::vector<LayerRng<T>>{};
  std::vector<Rng::State> rng_start;
  for (const auto& r : rngs) rng_start.push_back(r.get());
  Step step;
  step.batch = batch;
  if (training) step.frozen_before = frozen_values();

  // Shards run one after another; their training calls stay on the layers' tapes (LIFO), and
  // backward undoes them last to first.
  std::vector<std::vector<Tensor<T>>> outputs;
  std::vector<std::vector<Mask>> masks;
  try {
    for (int64_t k = first_local_shard(); k < first_local_shard() + local_shards(); ++k) {
      const int64_t begin = shard_begin(batch, shards_, k), end = shard_begin(batch, shards_, k + 1);
      if (training) step.frozen_after.emplace_back();
      if (begin == end) continue;
      if (training) {
        // Every shard draws what the whole batch's call would draw for its samples, and
        // updates the non-trainable weights from where the step started.
        for (size_t i = 0; i < rngs.size(); ++i) rngs[i].set(rng_start[i]);
        if (!step.frozen_before.empty()) set_frozen(step.frozen_before);
      }
      BatchOutputs<T> part = call_model(x, begin, end, mode);
      outputs.push_back(std::move(part.outputs));
      masks.push_back(std::move(part.masks));
      if (training && !step.frozen_before.empty()) step.frozen_after.back() = frozen_values();
    }
  } catch (...) {
    if (training) {
      model_.clear_tape();
      if (!step.frozen_before.empty()) set_frozen(step.frozen_before);
      for (size_t i = 0; i < rngs.size(); ++i) rngs[i].set(rng_start[i]);
    }
    throw;
  }
  times.forward += seconds_since(t0);

  const auto t1 = Clock::now();
  BatchOutputs<T> mine;
  mine.outputs = join(outputs);
  mine.masks = join_masks(masks, mine.outputs.size());
  BatchOutputs<T> all = comm_.size() > 1 ? gather_outputs(mine) : std::move(mine);
  // A rank with only empty shards called nothing, so its generators did not move: take rank
  // 0's, which moved exactly as one call on the whole batch moves them.
  if (training && comm_.size() > 1 && some_rank_idle(batch)) sync_layer_rngs();
  times.gather += seconds_since(t1);
  if (training) {
    step_ = std::move(step);
    pending_ = true;
  }
  return all;
}

template <class T>
BatchOutputs<T> ShardRunner<T>::gather_outputs(const BatchOutputs<T>& mine) {
  WireWriter w;
  w.put<uint64_t>(mine.outputs.size());
  for (size_t j = 0; j < mine.outputs.size(); ++j) {
    w.put_tensor(mine.outputs[j]);
    const bool has_mask = j < mine.masks.size() && !mine.masks[j].empty();
    w.put<uint8_t>(has_mask ? 1 : 0);
    if (has_mask) w.put_tensor(mine.masks[j]);
  }
  const std::vector<std::vector<uint8_t>> parts = allgather(w.bytes);
  std::vector<std::vector<Tensor<T>>> outputs;
  std::vector<std::vector<Mask>> masks;
  for (const auto& bytes : parts) {
    WireReader r(bytes);
    const auto n = static_cast<size_t>(r.get<uint64_t>());
    std::vector<Tensor<T>> outs;
    std::vector<Mask> ms;
    for (size_t j = 0; j < n; ++j) {
      outs.push_back(r.get_tensor<T>());
      ms.emplace_back();
      if (r.get<uint8_t>()) ms.back() = r.get_tensor<uint8_t>();
    }
    outputs.push_back(std::move(outs));
    masks.push_back(std::move(ms));
  }
  BatchOutputs<T> all;
  all.outputs = join(outputs);
  all.masks = join_masks(masks, all.outputs.size());
  return all;
}

template <class T>
void ShardRunner<T>::sync_layer_rngs() {
  const std::vector<LayerRng<T>> rngs = layer_rngs(model_);
  WireWriter w;
  for (const auto& r : rngs) w.put(r.get());
  broadcast(w.bytes, 0);
  WireReader reader(w.bytes);
  for (const auto& r : rngs) r.set(reader.get<Rng::State>());
}

template <class T>
void ShardRunner<T>::discard() {
  if (!pending_) return;
  model_.clear_tape();
  if (!step_.frozen_before.empty()) set_frozen(step_.frozen_before);
  pending_ = false;
  step_ = Step{};
}

template <class T>
void ShardRunner<T>::backward(const std::vector<Tensor<T>>& grad_outputs) {
  if (!pending_) throw StateError("data-parallel training: backward without a training forward to undo");
  pending_ = false;
  const Step step = std::move(step_);
  step_ = Step{};
  const auto t0 = Clock::now();
  const int64_t batch = step.batch, first = first_local_shard(), n_local = local_shards();

  std::vector<Param<T>> params = model_.params();
  std::vector<Param<T>*> trainable, sparse;
  size_t grad_size = 0;
  for (Param<T>& p : params) {
    if (!p.trainable) continue;
    trainable.push_back(&p);
    grad_size += static_cast<size_t>(p.grad->size());
    if (p.sparse_grad) sparse.push_back(&p);
  }

  // Which non-trainable weights some shard changed (the same answer on every rank).
  std::vector<uint8_t> changed(step.frozen_before.size(), 0);
  for (const auto& after : step.frozen_after)
    for (size_t i = 0; i < after.size(); ++i)
      if (!same_bits(after[i], step.frozen_before[i])) changed[i] = 1;
  if (!changed.empty() && comm_.size() > 1)
    for (const auto& other : allgather(changed))
      for (size_t i = 0; i < changed.size() && i < other.size(); ++i) changed[i] |= other[i];
  size_t total = grad_size;
  for (size_t i = 0; i < changed.size(); ++i)
    if (changed[i]) total += static_cast<size_t>(step.frozen_before[i].size());

  // Each local shard's gradients (and changed non-trainable weights) into its own buffer,
  // last shard first (the tapes are LIFO). Empty shards keep zeros.
  std::vector<std::vector<T>> buffers(static_cast<size_t>(n_local), std::vector<T>(total, T(0)));
  std::vector<std::vector<IndexedSlices<T>>> slices(static_cast<size_t>(n_local));
  for (int64_t k = first + n_local - 1; k >= first; --k) {
    const int64_t begin = shard_begin(batch, shards_, k), end = shard_begin(batch, shards_, k + 1);
    if (begin == end) continue;
    std::vector<Tensor<T>> g;
    for (const Tensor<T>& full : grad_outputs) g.push_back(full.empty() ? Tensor<T>() : slice_rows(full, begin, end));
    model_.zero_grads();
    try {
      model_.backward(g);
    } catch (...) {
      model_.clear_tape();
      throw;
    }
    std::vector<T>& buf = buffers[static_cast<size_t>(k - first)];
    size_t at = 0;
    for (const Param<T>* p : trainable) {
      std::memcpy(buf.data() + at, p->grad->data(), sizeof(T) * static_cast<size_t>(p->grad->size()));
      at += static_cast<size_t>(p->grad->size());
    }
    const std::vector<Tensor<T>>& after = step.frozen_after[static_cast<size_t>(k - first)];
    for (size_t i = 0; i < changed.size(); ++i) {
      if (!changed[i]) continue;
      std::memcpy(buf.data() + at, after[i].data(), sizeof(T) * static_cast<size_t>(after[i].size()));
      at += static_cast<size_t>(after[i].size());
    }
    for (const Param<T>* p : sparse) slices[static_cast<size_t>(k - first)].push_back(*p->sparse_grad);
  }
  times.backward += seconds_since(t0);

  // The fixed tree: pairs of neighbouring shards, then pairs of pairs, ... first within this
  // rank's aligned block of shards, then across the ranks.
  const auto t1 = Clock::now();
  for (size_t width = 1; width < buffers.size(); width *= 2)
    for (size_t i = 0; i + width < buffers.size(); i += 2 * width)
      for (size_t e = 0; e < total; ++e) buffers[i][e] += buffers[i + width][e];
  std::vector<T>& sum = buffers[0];
  if (comm_.size() > 1) allreduce_tree(sum);
  times.reduce += seconds_since(t1);

  const auto t2 = Clock::now();
  model_.zero_grads();
  size_t at = 0;
  for (Param<T>* p : trainable) {
    std::memcpy(p->grad->data(), sum.data() + at, sizeof(T) * static_cast<size_t>(p->grad->size()));
    at += static_cast<size_t>(p->grad->size());
  }
  if (!changed.empty()) {
    const T non_empty = static_cast<T>(batch < shards_ ? batch : shards_);
    std::vector<Tensor<T>> values = step.frozen_before;
    for (size_t i = 0; i < changed.size(); ++i) {
      if (!changed[i]) continue;
      for (T& v : values[i].values()) v = sum[at++] / non_empty;
    }
    set_frozen(values);
  }
  if (!sparse.empty()) {
    // Row gradients in shard order, as one backward over the whole batch lists them.
    WireWriter w;
    for (const auto& shard : slices)
      for (size_t j = 0; j < shard.size(); ++j) {
        w.put<uint64_t>(j);
        w.put<uint64_t>(shard[j].indices.size());
        w.put_raw(shard[j].indices.data(), sizeof(int64_t) * shard[j].indices.size());
        w.put<uint64_t>(shard[j].values.size());
        w.put_raw(shard[j].values.data(), sizeof(T) * shard[j].values.size());
      }
    const std::vector<std::vector<uint8_t>> parts =
        comm_.size() > 1 ? allgather(w.bytes) : std::vector<std::vector<uint8_t>>{w.bytes};
    for (const auto& bytes : parts) {
      WireReader r(bytes);
      while (!r.done()) {
        IndexedSlices<T>& s = *sparse.at(static_cast<size_t>(r.get<uint64_t>()))->sparse_grad;
        const size_t old_i = s.indices.size(), old_v = s.values.size();
        s.indices.resize(old_i + static_cast<size_t>(r.get<uint64_t>()));
        r.get_raw(s.indices.data() + old_i, sizeof(int64_t) * (s.indices.size() - old_i));
        s.values.resize(old_v + static_cast<size_t>(r.get<uint64_t>()));
        r.get_raw(s.values.data() + old_v, sizeof(T) * (s.values.size() - old_v));
      }
    }
  }
  times.gather += seconds_since(t2);
  ++times.steps;
}

template <class T>
void ShardRunner<T>::allreduce_tree(std::vector<T>& v) {
  const int ranks = comm_.size(), me = comm_.rank();
  const size_t n = v.size();
  // Chunk c of the vector: [start(c), start(c + 1)).
  const auto start = [&](int c) { return static_cast<size_t>(c) * n / static_cast<size_t>(ranks); };
  const auto bytes = [&](int lo, int hi) {
    return std::span<uint8_t>(reinterpret_cast<uint8_t*>(v.data() + start(lo)), sizeof(T) * (start(hi) - start(lo)));
  };
  // Reduce-scatter by recursive halving, nearest partners first: after the round with
  // distance d, a rank holds its part of the sum over its aligned group of 2d ranks, which is
  // a node of the tree (the sum of two neighbouring groups of d ranks).
  int lo = 0, hi = ranks;
  std::vector<T> incoming;
  for (int d = 1; d < ranks; d *= 2) {
    const int peer = me ^ d, mid = (lo + hi) / 2;
    const bool lower = (me & d) == 0;
    const int keep_lo = lower ? lo : mid, keep_hi = lower ? mid : hi;
    const int send_lo = lower ? mid : lo, send_hi = lower ? hi : mid;
    incoming.resize(start(keep_hi) - start(keep_lo));
    const std::span<uint8_t> out = bytes(send_lo, send_hi);
    times.bytes_sent += out.size();
    comm_.exchange(peer, out,
                   std::span<uint8_t>(reinterpret_cast<uint8_t*>(incoming.data()), sizeof(T) * incoming.size()));
    T* mine = v.data() + start(keep_lo);
    for (size_t e = 0; e < incoming.size(); ++e) mine[e] += incoming[e];
    lo = keep_lo;
    hi = keep_hi;
  }
  // Allgather by recursive doubling, undoing the halving rounds in reverse.
  for (int d = ranks / 2; d >= 1; d /= 2) {
    const int peer = me ^ d, width = hi - lo;
    const bool lower = (me & d) == 0;
    const int other_lo = lower ? hi : lo - width, other_hi = lower ? hi + width : lo;
    const std::span<uint8_t> out = bytes(lo, hi);
    times.bytes_sent += out.size();
    comm_.exchange(peer, out, bytes(other_lo, other_hi));
    lo = std::min(lo, other_lo);
    hi = std::max(hi, other_hi);
  }
}

template class ShardRunner<float>;
template class ShardRunner<double>;

}  // namespace rnnx::detail
