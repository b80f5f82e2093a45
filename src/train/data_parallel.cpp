// Data-parallel training (include/rnnx/train/data_parallel.h): checks, the state every rank
// shares, checkpoints and prediction. Running a batch in shards: data_parallel_runner.cpp.
#include "rnnx/train/data_parallel.h"

#include <algorithm>

#include "rnnx/core/error.h"
#include "rnnx/io/checkpoint.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/normalization.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/time_distributed.h"
#include "rnnx/model/model.h"
#include "train/batching.h"
#include "train/data_parallel_runner.h"
#include "train/layer_rngs.h"
#include "train/wire.h"

namespace rnnx {
namespace {

// Calls f on `layer` and on every layer inside it (models, Bidirectional, TimeDistributed).
template <class T, class F>
void for_each_layer(Layer<T>& layer, const F& f) {
  f(layer);
  if (auto* model = dynamic_cast<Model<T>*>(&layer)) {
    for (const auto& child : model->layers())
      if (child.get() != &layer) for_each_layer(*child, f);
  } else if (auto* bidi = dynamic_cast<Bidirectional<T>*>(&layer)) {
    for_each_layer(bidi->forward_layer(), f);
    for_each_layer(bidi->backward_layer(), f);
  } else if (auto* td = dynamic_cast<TimeDistributed<T>*>(&layer)) {
    for_each_layer(*td->layer(), f);
  }
}

// An error that happened on rank 0 only, sent to every rank so that all throw it alike.
enum class ErrorKind : uint8_t { none, io, format, other };

template <class F>
std::vector<uint8_t> run_on_root(bool root, const F& f) {
  detail::WireWriter w;
  ErrorKind kind = ErrorKind::none;
  std::string message;
  if (root) {
    try {
      f();
    } catch (const IoError& e) {
      kind = ErrorKind::io;
      message = e.what();
    } catch (const FormatError& e) {
      kind = ErrorKind::format;
      message = e.what();
    } catch (const std::exception& e) {
      kind = ErrorKind::other;
      message = e.what();
    }
  }
  w.put(kind);
  w.put_raw(message.data(), message.size());
  return w.bytes;
}

void throw_if_error(const std::vector<uint8_t>& status, const std::string& where) {
  const auto kind = static_cast<ErrorKind>(status.at(0));
  const std::string message(status.begin() + 1, status.end());
  if (kind == ErrorKind::io) throw IoError(message);
  if (kind == ErrorKind::format) throw FormatError(message);
  if (kind == ErrorKind::other) throw StateError(where + " failed on rank 0: " + message);
}

}  // namespace

template <class T>
DataParallel<T>::DataParallel(Trainer<T>& trainer, std::shared_ptr<Communicator> communicator,
                              DataParallelOptions options)
    : trainer_(trainer), comm_(std::move(communicator)), options_(options) {
  if (!comm_) throw ConfigError("DataParallel: the communicator is null");
  if (!detail::power_of_two(options_.shards))
    throw ConfigError("DataParallel: shards must be a power of two, got " + std::to_string(options_.shards));
  if (trainer_.batch_runner() != nullptr)
    throw StateError("DataParallel: the trainer already runs through another batch runner");
  runner_ = std::make_unique<detail::ShardRunner<T>>(trainer_.model(), *comm_, options_.shards);
  trainer_.set_batch_runner(runner_.get());
}

template <class T>
DataParallel<T>::~DataParallel() {
  trainer_.set_batch_runner(nullptr);
}

template <class T>
int DataParallel<T>::rank() const {
  return comm_->rank();
}

template <class T>
int DataParallel<T>::size() const {
  return comm_->size();
}

template <class T>
const DataParallelTimes& DataParallel<T>::times() const {
  return runner_->times;
}

template <class T>
void DataParallel<T>::reset_times() {
  runner_->times = DataParallelTimes{};
}

template <class T>
void DataParallel<T>::check_model() const {
  for_each_layer(trainer_.model(), [](Layer<T>& layer) {
    const std::string who = layer.class_name() + " '" + layer.name() + "'";
    if (auto* rnn = dynamic_cast<RNN<T>*>(&layer); rnn && rnn->rnn_options().stateful)
      throw ConfigError("DataParallel: " + who +
                        " is stateful; its states belong to whole batches, which data-parallel training splits");
    if (auto* bn = dynamic_cast<BatchNormalization<T>*>(&layer); bn && bn->options().synchronized)
      throw ConfigError("DataParallel: " + who +
                        " has synchronized=True (statistics over the whole global batch inside the forward pass), "
                        "which data-parallel training does not support; use synchronized=False (per-shard "
                        "statistics)");
    if (layer.activity_regularizer().active())
      throw ConfigError("DataParallel: " + who +
                        " has an activity_regularizer, which is normalised per call and so would depend on the "
                        "split of the batch; data-parallel training does not support it");
  });
}

template <class T>
void DataParallel<T>::broadcast_state() {
  // Rank 0's training state, as its checkpoint would carry it, plus whether its next fit
  // continues the restored shuffling generator.
  trainer_.optimizer();  // StateError before compile, on every rank alike
  std::vector<uint8_t> bytes;
  if (rank() == 0) {
    bytes = serialize_checkpoint(trainer_.make_checkpoint(0));
    bytes.push_back(trainer_.resume_shuffle_rng_ ? 1 : 0);
  }
  runner_->broadcast(bytes, 0);
  if (rank() == 0) return;
  const bool resume_shuffling = bytes.back() != 0;
  bytes.pop_back();
  const Checkpoint<T> ck = parse_checkpoint<T>(bytes, "rank 0's training state");
  Layer<T>& model = trainer_.model();
  const std::string mismatch = "DataParallel: rank " + std::to_string(rank()) + " has another model than rank 0: ";
  try {
    restore_weights(model, ck.weights);
  } catch (const FormatError& e) {
    throw ConfigError(mismatch + e.what());
  }
  Optimizer<T>& opt = trainer_.optimizer();
  if (!ck.optimizer_tensors.empty()) opt.set_state(model.params(), ck.optimizer_tensors);
  opt.set_iterations(ck.step);
  if (const auto lr = ck.scalars.find("learning_rate"); lr != ck.scalars.end()) opt.set_learning_rate(lr->second);
  const std::vector<detail::LayerRng<T>> rngs = detail::layer_rngs(model);
  if (rngs.size() != ck.layer_rngs.size())
    throw ConfigError(mismatch + "it has " + std::to_string(rngs.size()) + " layer generators, rank 0 " +
                      std::to_string(ck.layer_rngs.size()));
  for (size_t i = 0; i < rngs.size(); ++i) rngs[i].set(ck.layer_rngs[i].state);
  trainer_.shuffle_rng_.set_state(ck.rng);
  trainer_.resume_shuffle_rng_ = resume_shuffling;
}

template <class T>
History DataParallel<T>::fit(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y, FitOptions<T> options) {
  check_model();
  if (!trainer_.model().built() && !x.empty() && x[0].rank() > 0 && x[0].dim(0) > 0)
    trainer_.predict(detail::slice_all(x, 0, 1), 1);  // builds the layers, as a first call would
  broadcast_state();
  if (rank() != 0) options.verbose = 0;
  return trainer_.fit(x, y, options);
}

template <class T>
History DataParallel<T>::fit(const Tensor<T>& x, const Tensor<T>& y, FitOptions<T> options) {
  return fit(std::vector<Tensor<T>>{x}, std::vector<Tensor<T>>{y}, std::move(options));
}

template <class T>
Logs DataParallel<T>::evaluate(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y,
                               EvaluateOptions<T> options) {
  if (rank() != 0) options.verbose = 0;
  return trainer_.evaluate(x, y, options);
}

template <class T>
std::vector<Tensor<T>> DataParallel<T>::predict(const std::vector<Tensor<T>>& x, int64_t batch_size) {
  if (batch_size <= 0) throw ConfigError("predict: batch_size must be > 0, got " + std::to_string(batch_size));
  const int64_t n = detail::sample_count<T>("predict", x, {}, std::nullopt);
  const int64_t begin = detail::block_begin(n, size(), rank()), end = detail::block_begin(n, size(), rank() + 1);
  std::vector<Tensor<T>> mine;
  if (begin < end) mine = trainer_.predict(detail::slice_all(x, begin, end), batch_size);
  if (size() == 1) return mine;
  detail::WireWriter w;
  w.put<uint64_t>(mine.size());
  for (const auto& t : mine) w.put_tensor(t);
  runner_->times.bytes_sent += w.bytes.size();
  const std::vector<std::vector<uint8_t>> parts = comm_->gather(w.bytes, 0);
  if (rank() != 0) return {};
  std::vector<std::vector<Tensor<T>>> outputs;
  for (const auto& bytes : parts) {
    detail::WireReader r(bytes);
    std::vector<Tensor<T>> part(static_cast<size_t>(r.get<uint64_t>()));
    for (auto& t : part) t = r.get_tensor<T>();
    if (!part.empty()) outputs.push_back(std::move(part));
  }
  return detail::concat_batches(outputs);
}

template <class T>
void DataParallel<T>::save_checkpoint(const std::string& path, int64_t completed_epochs) {
  std::vector<uint8_t> status = run_on_root(rank() == 0, [&] { trainer_.save_checkpoint(path, completed_epochs); });
  runner_->broadcast(status, 0);
  throw_if_error(status, "save_checkpoint");
}

template <class T>
int64_t DataParallel<T>::load_checkpoint(const std::string& path) {
  // Rank 0 reads the file (the others may not see it); every rank restores the same bytes.
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> status =
      run_on_root(rank() == 0, [&] { bytes = serialize_checkpoint(read_checkpoint<T>(path)); });
  runner_->broadcast(status, 0);
  throw_if_error(status, "load_checkpoint");
  runner_->broadcast(bytes, 0);
  const Checkpoint<T> ck = parse_checkpoint<T>(bytes, "checkpoint '" + path + "'");
  try {
    trainer_.restore_checkpoint(ck);
  } catch (const FormatError& e) {
    throw FormatError("checkpoint '" + path + "': " + e.what());
  }
  return ck.epoch;
}

template class DataParallel<float>;
template class DataParallel<double>;

}  // namespace rnnx
