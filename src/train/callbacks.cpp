// The standard callbacks: MonitorCallback, EarlyStopping, ModelCheckpoint (+ npz weights),
// ReduceLROnPlateau, TerminateOnNaN, CSVLogger (headers in include/rnnx/train/).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "rnnx/core/error.h"
#include "rnnx/io/npy.h"
#include "rnnx/train/csv_logger.h"
#include "rnnx/train/early_stopping.h"
#include "rnnx/train/model_checkpoint.h"
#include "rnnx/train/reduce_lr_on_plateau.h"
#include "rnnx/train/terminate_on_nan.h"
#include "rnnx/train/trainer.h"
#include "train/format.h"

namespace rnnx {

// ---- MonitorCallback ------------------------------------------------------------------------
template <class T>
MonitorCallback<T>::MonitorCallback(std::string monitor, std::string mode, double min_delta,
                                    std::optional<double> baseline)
    : best_(baseline),
      monitor_(std::move(monitor)),
      mode_(std::move(mode)),
      min_delta_(std::abs(min_delta)),
      baseline_(baseline) {
  if (mode_ != "auto" && mode_ != "min" && mode_ != "max")
    throw ConfigError("callback monitoring '" + monitor_ + "': mode must be auto, min or max, got '" + mode_ + "'");
}

template <class T>
double MonitorCallback<T>::monitored_value(const Logs& logs, const std::string& who) const {
  if (auto v = logs.get(monitor_)) return *v;
  std::string keys;
  for (const auto& k : logs.keys()) keys += (keys.empty() ? "" : ", ") + k;
  throw ConfigError(who + " monitors '" + monitor_ +
                    "', which is not in the epoch logs (available: " + (keys.empty() ? "none" : keys) + ")");
}

template <class T>
void MonitorCallback<T>::resolve_mode(const std::string& who) {
  if (resolved_) return;
  if (mode_ == "min") {
    lower_is_better_ = true;
  } else if (mode_ == "max") {
    lower_is_better_ = false;
  } else {
    const std::optional<MetricDirection> d = this->trainer().direction_of(monitor_);
    if (!d)
      throw ConfigError(who + " received monitor='" + monitor_ +
                        "', but cannot tell whether it should be minimized or maximized; pass mode \"min\" or \"max\"");
    lower_is_better_ = *d == MetricDirection::down;
  }
  resolved_ = true;
}

template <class T>
bool MonitorCallback<T>::is_improvement(double current, std::optional<double> reference) const {
  if (!reference) return true;
  return lower_is_better_ ? current + min_delta_ < *reference : current - min_delta_ > *reference;
}

// ---- EarlyStopping --------------------------------------------------------------------------
template <class T>
EarlyStopping<T>::EarlyStopping(EarlyStoppingOptions options)
    : MonitorCallback<T>(options.monitor, options.mode, options.min_delta, std::nullopt), options_(std::move(options)) {
  if (options_.patience < 0)
    throw ConfigError("EarlyStopping: patience must be >= 0, got " + std::to_string(options_.patience));
}

template <class T>
void EarlyStopping<T>::on_train_begin(const Logs&) {
  wait_ = stopped_epoch_ = best_epoch_ = 0;
  this->reset_best();
  best_weights_.reset();
}

template <class T>
void EarlyStopping<T>::on_epoch_end(int64_t epoch, Logs& logs) {
  this->resolve_mode("EarlyStopping");
  const double current = this->monitored_value(logs, "EarlyStopping");
  if (epoch < options_.start_from_epoch) return;
  Layer<T>& model = this->trainer().model();
  if (options_.restore_best_weights && !best_weights_) {
    best_weights_ = model.get_weights();  // if nothing ever improves, the first weights are best
    best_epoch_ = epoch;
  }
  ++wait_;
  if (this->is_improvement(current, this->best_)) {
    this->best_ = current;
    best_epoch_ = epoch;
    if (options_.restore_best_weights) best_weights_ = model.get_weights();
    // Restart the wait only when the baseline (if any) is beaten too.
    if (!options_.baseline || this->is_improvement(current, options_.baseline)) wait_ = 0;
    return;
  }
  if (wait_ >= options_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    this->trainer().set_stop_training(true);
  }
}

template <class T>
void EarlyStopping<T>::on_train_end(const Logs&) {
  if (options_.restore_best_weights && best_weights_) this->trainer().model().set_weights(*best_weights_);
}

// ---- npz weights and ModelCheckpoint ---------------------------------------------------------
namespace {

template <class T>
std::vector<std::string> weight_keys(const std::vector<Param<T>>& params) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < params.size(); ++i) {
    std::string key = params[i].name.empty() ? "weight" : params[i].name;
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) key.append("_").append(std::to_string(i));
    keys.push_back(key);
  }
  return keys;
}

// ModelCheckpoint creates missing directories, as Keras does.
void create_parent_directories(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw IoError("cannot create directory '" + parent.string() + "' for '" + path + "': " + ec.message());
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

template <class T>
void save_weights_npz(Layer<T>& model, const std::string& path) {
  const std::vector<Param<T>> params = model.params();
  const std::vector<std::string> keys = weight_keys(params);
  std::map<std::string, NpyArray> arrays;
  for (size_t i = 0; i < params.size(); ++i) arrays[keys[i]] = NpyArray::from(*params[i].value);
  create_parent_directories(path);
  write_npz(path, arrays);
}

template <class T>
void load_weights_npz(Layer<T>& model, const std::string& path) {
  const std::map<std::string, NpyArray> arrays = read_npz(path);
  std::vector<Param<T>> params = model.params();
  const std::vector<std::string> keys = weight_keys(params);
  std::vector<Tensor<T>> values;
  for (size_t i = 0; i < params.size(); ++i) {
    auto it = arrays.find(keys[i]);
    if (it == arrays.end()) throw FormatError("'" + path + "': no array for weight '" + keys[i] + "'");
    Tensor<T> t = it->second.template as<T>();
    if (t.shape() != params[i].value->shape())
      throw FormatError("'" + path + "': weight '" + keys[i] + "' has shape " + to_string(t.shape()) + ", expected " +
                        to_string(params[i].value->shape()));
    values.push_back(std::move(t));
  }
  for (size_t i = 0; i < params.size(); ++i) *params[i].value = std::move(values[i]);
}

template <class T>
ModelCheckpoint<T>::ModelCheckpoint(std::string filepath, ModelCheckpointOptions options)
    : MonitorCallback<T>(options.monitor, options.mode, 0.0, options.initial_value_threshold),
      filepath_(std::move(filepath)),
      options_(std::move(options)) {
  native_ = ends_with(filepath_, ".ckpt");
  if (!native_ && !ends_with(filepath_, ".npz"))
    throw ConfigError(
        "ModelCheckpoint: filepath must end in .ckpt (native training checkpoint) or .npz (weights as a NumPy "
        "archive), got '" +
        filepath_ + "'");
}

template <class T>
void ModelCheckpoint<T>::on_epoch_end(int64_t epoch, Logs& logs) {
  this->resolve_mode("ModelCheckpoint");
  const std::string path = detail::format_path(filepath_, epoch + 1, logs);
  if (options_.save_best_only) {
    const double current = this->monitored_value(logs, "ModelCheckpoint");
    if (!this->is_improvement(current, this->best_)) return;
    this->best_ = current;
  }
  if (native_) {
    create_parent_directories(path);
    this->trainer().save_checkpoint(path, epoch + 1);
  } else {
    save_weights_npz(this->trainer().model(), path);
  }
  last_saved_ = path;
}

// ---- ReduceLROnPlateau ----------------------------------------------------------------------
template <class T>
ReduceLROnPlateau<T>::ReduceLROnPlateau(ReduceLROnPlateauOptions options)
    : MonitorCallback<T>(options.monitor, options.mode, options.min_delta, std::nullopt), options_(std::move(options)) {
  if (!(options_.factor < 1.0))
    throw ConfigError("ReduceLROnPlateau does not support a factor >= 1.0, got " +
                      detail::python_float_repr(options_.factor));
}

template <class T>
void ReduceLROnPlateau<T>::on_train_begin(const Logs&) {
  this->reset_best();
  wait_ = cooldown_counter_ = 0;
}

template <class T>
void ReduceLROnPlateau<T>::on_epoch_end(int64_t, Logs& logs) {
  this->resolve_mode("ReduceLROnPlateau");
  Optimizer<T>& opt = this->trainer().optimizer();
  logs.set("learning_rate", static_cast<double>(opt.learning_rate()));
  const double current = this->monitored_value(logs, "ReduceLROnPlateau");
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (this->is_improvement(current, this->best_)) {
    this->best_ = current;
    wait_ = 0;
  } else if (cooldown_counter_ == 0) {
    if (++wait_ >= options_.patience) {
      const double old_lr = static_cast<double>(opt.learning_rate());
      if (old_lr > static_cast<double>(static_cast<float>(options_.min_lr))) {
        opt.set_learning_rate(std::max(old_lr * options_.factor, options_.min_lr));
        cooldown_counter_ = options_.cooldown;
        wait_ = 0;
      }
    }
  }
}

// ---- TerminateOnNaN -------------------------------------------------------------------------
template <class T>
void TerminateOnNaN<T>::on_batch_end(int64_t batch, const Logs& logs) {
  const std::optional<double> loss = logs.get("loss");
  if (!loss || std::isfinite(*loss)) return;
  if (raise_error_)
    throw NumericError("TerminateOnNaN: NaN or Inf loss encountered at epoch " + std::to_string(epoch_ + 1) +
                       ", batch " + std::to_string(batch) +
                " (loss: " + detail::python_float_repr(*loss) + "); terminating training");
  this->trainer().set_stop_training(true);
}

// ---- CSVLogger ------------------------------------------------------------------------------
namespace {

// Python csv QUOTE_MINIMAL: quote a field holding the separator, a quote or a line break.
std::string csv_field(const std::string& s, const std::string& sep) {
  if (s.find(sep) == std::string::npos && s.find_first_of("\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

template <class T>
CSVLogger<T>::CSVLogger(std::string filename, std::string separator, bool append)
    : filename_(std::move(filename)), separator_(std::move(separator)), append_(append) {
  if (separator_.size() != 1) throw ConfigError("CSVLogger: separator must be one character, got '" + separator_ + "'");
}

template <class T>
void CSVLogger<T>::on_train_begin(const Logs&) {
  write_header_ = true;
  if (append_) {
    std::ifstream in(filename_);
    std::string first;
    if (in && std::getline(in, first)) write_header_ = first.empty();
  }
  if (file_.is_open()) file_.close();
  file_.clear();
  file_.open(filename_, std::ios::binary | (append_ ? std::ios::app : std::ios::trunc));
  if (!file_) throw IoError("CSVLogger: cannot open '" + filename_ + "' for writing");
  keys_.reset();
}

template <class T>
void CSVLogger<T>::on_epoch_end(int64_t epoch, Logs& logs) {
  if (!keys_) {
    std::vector<std::string> keys = logs.keys();
    std::sort(keys.begin(), keys.end());
    const bool has_val =
        std::any_of(keys.begin(), keys.end(), [](const std::string& k) { return k.rfind("val_", 0) == 0; });
    if (!has_val && !keys.empty()) {
      const size_t n = keys.size();
      for (size_t i = 0; i < n; ++i) keys.push_back("val_" + keys[i]);
    }
    keys_ = std::move(keys);
    if (write_header_) {
      std::string header = csv_field("epoch", separator_);
      for (const auto& k : *keys_) header += separator_ + csv_field(k, separator_);
      file_ << header << "\r\n";
    }
  }
  std::string row = std::to_string(epoch);
  for (const auto& k : *keys_) {
    const std::optional<double> v = logs.get(k);
    row += separator_ + (v ? detail::python_float_repr(*v) : std::string("NA"));
  }
  file_ << row << "\r\n";
  file_.flush();
  if (!file_) throw IoError("CSVLogger: cannot write to '" + filename_ + "'");
}

template <class T>
void CSVLogger<T>::on_train_end(const Logs&) {
  if (file_.is_open()) file_.close();
}

template class MonitorCallback<float>;
template class MonitorCallback<double>;
template class EarlyStopping<float>;
template class EarlyStopping<double>;
template class ModelCheckpoint<float>;
template class ModelCheckpoint<double>;
template class ReduceLROnPlateau<float>;
template class ReduceLROnPlateau<double>;
template class TerminateOnNaN<float>;
template class TerminateOnNaN<double>;
template class CSVLogger<float>;
template class CSVLogger<double>;
template void save_weights_npz<float>(Layer<float>&, const std::string&);
template void save_weights_npz<double>(Layer<double>&, const std::string&);
template void load_weights_npz<float>(Layer<float>&, const std::string&);
template void load_weights_npz<double>(Layer<double>&, const std::string&);

}  // namespace rnnx
