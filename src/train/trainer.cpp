// Keras-style training loop (include/rnnx/train/trainer.h).
#include "rnnx/train/trainer.h"

#include <cmath>
#include <iostream>

#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/model/model.h"
#include "rnnx/train/progress.h"
#include "rnnx/train/regularization.h"
#include "train/activity_loss.h"
#include "train/batching.h"
#include "train/format.h"

namespace rnnx {
namespace {

// A weighted running mean (Keras metrics.Mean with sample_weight = batch size).
struct MeanTracker {
  double total = 0.0, count = 0.0;
  void add(double value, double weight) {
    total += value * weight;
    count += weight;
  }
  double result() const { return count == 0.0 ? 0.0 : total / count; }
};

// fit's History as a callback, placed after the user callbacks (Keras CallbackList order).
template <class T>
class HistoryRecorder : public Callback<T> {
 public:
  explicit HistoryRecorder(History& history) : history_(history) {}
  void on_epoch_end(int64_t epoch, Logs& logs) override { history_.append(epoch, logs); }

 private:
  History& history_;
};

// The callbacks of one fit/evaluate in Keras CallbackList order: the user's, then `extra`
// (fit's History recorder), then the progress writer when verbose > 0. Detaches them from
// the trainer when the run ends, also by an exception.
template <class T>
class CallbackList {
 public:
  CallbackList(Trainer<T>* trainer, const std::vector<std::shared_ptr<Callback<T>>>& user, Callback<T>* extra,
               int verbose, std::ostream* stream, std::optional<bool> dynamic, const CallbackParams& params) {
    for (const auto& cb : user)
      if (cb) list_.push_back(cb.get());
    if (extra) list_.push_back(extra);
    if (verbose > 0) {
      std::ostream& out = stream ? *stream : std::cout;
      progress_ = std::make_unique<ProgressLogger<T>>(out, verbose, dynamic.value_or(stream_is_terminal(out)));
      list_.push_back(progress_.get());
    }
    for (auto* cb : list_) {
      cb->set_trainer(trainer);
      cb->set_params(params);
    }
  }
  ~CallbackList() {
    for (auto* cb : list_) cb->set_trainer(nullptr);
  }
  CallbackList(const CallbackList&) = delete;
  CallbackList& operator=(const CallbackList&) = delete;
  const std::vector<Callback<T>*>& list() const { return list_; }

 private:
  std::vector<Callback<T>*> list_;
  std::unique_ptr<ProgressLogger<T>> progress_;
};

}  // namespace

template <class T>
struct Trainer<T>::Compiled {
  CompileOptions<T> options;
  std::vector<std::string> metric_names;  // compile by names: instantiated per output
  bool resolved = false;                  // per-output lists known (after the first call)
  std::vector<std::shared_ptr<const Loss<T>>> losses;
  std::vector<double> loss_weights;
  std::vector<std::vector<std::shared_ptr<Metric<T>>>> metrics;
  std::vector<std::string> output_names;
  MeanTracker loss_tracker;
  std::vector<MeanTracker> output_loss_trackers;
};

template <class T>
struct Trainer<T>::Batch {
  std::vector<Tensor<T>> x, y;
  std::optional<Tensor<T>> sample_weight;
};

template <class T>
struct Trainer<T>::StepResult {
  T loss = T(0);
};

template <class T>
Trainer<T>::Trainer(Layer<T>& model) : model_(model) {}

template <class T>
Trainer<T>::~Trainer() = default;

// ---- compile ----------------------------------------------------------------------------------
template <class T>
void Trainer<T>::compile(CompileOptions<T> options) {
  if (!options.optimizer) throw ConfigError("compile: no optimizer given");
  bool any_loss = false;
  for (const auto& l : options.loss) {
    if (!l) continue;
    any_loss = true;
    if (l->reduction() == Reduction::none)
      throw ConfigError("compile: loss '" + l->name() +
                        "' has reduction 'none'; training needs a scalar loss (use sum_over_batch_size or sum)");
  }
  if (!any_loss) throw ConfigError("compile: no loss given");
  compiled_ = std::make_unique<Compiled>();
  compiled_->options = std::move(options);
}

template <class T>
void Trainer<T>::compile(std::shared_ptr<const Loss<T>> loss, std::shared_ptr<Optimizer<T>> optimizer,
                         std::vector<std::shared_ptr<Metric<T>>> metrics) {
  CompileOptions<T> o;
  o.loss = {std::move(loss)};
  o.optimizer = std::move(optimizer);
  if (!metrics.empty()) o.metrics = {std::move(metrics)};
  compile(std::move(o));
}

template <class T>
void Trainer<T>::compile(const std::string& loss, const std::string& optimizer,
                         const std::vector<std::string>& metrics) {
  CompileOptions<T> o;
  o.loss = {std::shared_ptr<const Loss<T>>(make_loss<T>(loss))};
  o.optimizer = make_optimizer<T>(optimizer);
  for (const auto& m : metrics) make_metric<T>(m);  // reject unknown names now
  compile(std::move(o));
  compiled_->metric_names = metrics;
}

template <class T>
bool Trainer<T>::compiled() const {
  return compiled_ != nullptr;
}

template <class T>
void Trainer<T>::check_compiled(const char* what) const {
  if (!compiled_) throw StateError(std::string(what) + ": the trainer is not compiled; call compile() first");
}

template <class T>
Optimizer<T>& Trainer<T>::optimizer() {
  check_compiled("optimizer");
  return *compiled_->options.optimizer;
}

// The per-output lists, known once the first call shows how many outputs the model has.
// Built aside and committed at the end, so a failure leaves the trainer unresolved.
template <class T>
void Trainer<T>::resolve_outputs(size_t n_out) {
  Compiled& c = *compiled_;
  auto* model = dynamic_cast<Model<T>*>(&model_);
  const auto& o = c.options;
  const size_t n_metric_lists = c.metric_names.empty() ? o.metrics.size() : n_out;
  if ((o.loss.size() != 1 && o.loss.size() != n_out) || n_metric_lists > n_out ||
      (!o.loss_weights.empty() && o.loss_weights.size() != n_out))
    throw ConfigError("compile: the model has " + std::to_string(n_out) + " output(s), but got " +
                      std::to_string(o.loss.size()) + " losses, " + std::to_string(o.metrics.size()) +
                      " metric lists and " + std::to_string(o.loss_weights.size()) +
                      " loss weights (expected one loss or one per output, at most one metric list per output, and "
                      "no or one loss weight per output)");
  std::vector<std::shared_ptr<const Loss<T>>> losses(n_out);
  std::vector<std::vector<std::shared_ptr<Metric<T>>>> metrics(n_out);
  std::vector<std::string> names;
  for (size_t i = 0; i < n_out; ++i) {
    losses[i] = o.loss.size() == 1 ? o.loss[0] : o.loss[i];
    if (!c.metric_names.empty())
      for (const auto& name : c.metric_names) metrics[i].push_back(make_metric<T>(name));
    else if (i < o.metrics.size())
      metrics[i] = o.metrics[i];
    names.push_back(model ? model->key_of(model->outputs()[i]).layer : "output_" + std::to_string(i));
  }
  if (n_out > 1)
    for (size_t i = 0; i < n_out; ++i)
      for (auto& m : metrics[i]) m->set_name(names[i] + "_" + m->name());
  c.losses = std::move(losses);
  c.loss_weights = o.loss_weights.empty() ? std::vector<double>(n_out, 1.0) : o.loss_weights;
  c.metrics = std::move(metrics);
  c.output_names = std::move(names);
  c.output_loss_trackers.assign(n_out > 1 ? n_out : 0, {});
  c.resolved = true;
}

// ---- one step ---------------------------------------------------------------------------------
template <class T>
typename Trainer<T>::StepResult Trainer<T>::run_step(const Batch& batch, bool training) {
  Compiled& c = *compiled_;
  const Mode mode = training ? Mode::training : Mode::inference;
  if (training) model_.zero_grads();

  std::vector<Tensor<T>> y_pred;
  std::vector<Mask> masks;
  auto* model = dynamic_cast<Model<T>*>(&model_);
  if (runner_) {
    BatchOutputs<T> out = runner_->forward(batch.x, mode);
    y_pred = std::move(out.outputs);
    masks = std::move(out.masks);
    masks.resize(y_pred.size());
  } else if (model) {
    ModelOutputs<T> out = model->run(batch.x, mode);
    y_pred = std::move(out.outputs);
    masks = std::move(out.masks);
  } else {
    LayerInputs<T> in;
    for (const auto& x : batch.x) in.inputs.push_back(&x);
    in.mode = mode;
    LayerOutputs<T> out = model_.call(in);
    y_pred = std::move(out.outputs);
    masks.resize(y_pred.size());
    if (!masks.empty()) masks[0] = std::move(out.mask);
  }

  try {
    const size_t n_out = y_pred.size();
    if (!c.resolved) resolve_outputs(n_out);
    if (batch.y.size() != n_out)
      throw ShapeError(model_.class_name() + " '" + model_.name() + "': got " + std::to_string(batch.y.size()) +
                       " target array(s) for " + std::to_string(n_out) + " output(s)");

    StepResult r;
    std::vector<Tensor<T>> grads(n_out);
    std::vector<T> output_losses(n_out, T(0));
    const Tensor<T>* sw = batch.sample_weight ? &*batch.sample_weight : nullptr;
    for (size_t i = 0; i < n_out; ++i) {
      if (!c.losses[i]) continue;
      const Mask* mask = masks[i].empty() ? nullptr : &masks[i];
      LossResult<T> lr = c.losses[i]->compute(batch.y[i], y_pred[i], sw, mask);
      output_losses[i] = lr.loss;
      const T w = static_cast<T>(c.loss_weights[i]);
      r.loss += w * lr.loss;
      if (w != T(1))
        for (T& g : lr.grad.values()) g *= w;
      grads[i] = std::move(lr.grad);
    }
    std::vector<Param<T>> params = model_.params();
    for (const auto& p : params)
      if (p.trainable && p.regularizer.active()) r.loss += penalty(p.regularizer, *p.value);
    r.loss += detail::step_activity_loss(model_, y_pred, grads, training);  // and its gradient

    if (training) {
      if (runner_)
        runner_->backward(grads);
      else
        model_.backward(grads);
      for (const auto& p : params)
        if (p.trainable && p.regularizer.active()) add_penalty_grad(p.regularizer, *p.value, *p.grad);
      c.options.optimizer->apply(params);
    }

    const double batch_size = static_cast<double>(batch.x.empty() ? 0 : batch.x[0].dim(0));
    c.loss_tracker.add(static_cast<double>(r.loss), batch_size);
    for (size_t i = 0; i < c.output_loss_trackers.size(); ++i)
      c.output_loss_trackers[i].add(static_cast<double>(output_losses[i]), batch_size);
    for (size_t i = 0; i < n_out; ++i)
      for (auto& m : c.metrics[i])
        m->update_state(batch.y[i], y_pred[i], nullptr, masks[i].empty() ? nullptr : &masks[i]);
    return r;
  } catch (...) {
    if (training) {  // leave no half-finished training call behind
      if (runner_)
        runner_->discard();
      else
        model_.clear_tape();
    }
    throw;
  }
}

template <class T>
void Trainer<T>::reset_metrics() {
  Compiled& c = *compiled_;
  c.loss_tracker = {};
  for (auto& t : c.output_loss_trackers) t = {};
  for (auto& list : c.metrics)
    for (auto& m : list) m->reset_state();
}

template <class T>
Logs Trainer<T>::current_logs() const {
  const Compiled& c = *compiled_;
  Logs logs;
  logs.set("loss", c.loss_tracker.result());
  for (size_t i = 0; i < c.output_loss_trackers.size(); ++i)
    logs.set(c.output_names[i] + "_loss", c.output_loss_trackers[i].result());
  for (const auto& list : c.metrics)
    for (const auto& m : list) logs.set(m->name(), m->result());
  return logs;
}

template <class T>
std::optional<MetricDirection> Trainer<T>::direction_of(const std::string& log_name) const {
  std::string name = log_name;
  if (name.rfind("val_", 0) == 0) name = name.substr(4);
  if (name == "loss") return MetricDirection::down;
  if (!compiled_) return std::nullopt;
  for (const auto& n : compiled_->output_names)
    if (name == n + "_loss") return MetricDirection::down;
  for (const auto& list : compiled_->metrics)
    for (const auto& m : list)
      if (m->name() == name) return m->direction();
  return std::nullopt;
}

// ---- fit / evaluate / predict -----------------------------------------------------------------
template <class T>
Logs Trainer<T>::evaluate_batches(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y,
                                  const std::optional<Tensor<T>>& sample_weight, int64_t batch_size,
                                  const std::vector<Callback<T>*>& callbacks) {
  const int64_t n = detail::sample_count<T>("evaluate", x, y, sample_weight);
  reset_metrics();
  Logs empty;
  for (auto* cb : callbacks) cb->on_test_begin(empty);
  const int64_t steps = (n + batch_size - 1) / batch_size;
  for (int64_t step = 0; step < steps; ++step) {
    for (auto* cb : callbacks) cb->on_test_batch_begin(step, empty);
    const int64_t begin = step * batch_size, end = std::min(n, begin + batch_size);
    Batch b{detail::slice_all(x, begin, end), detail::slice_all(y, begin, end), std::nullopt};
    if (sample_weight) b.sample_weight = detail::slice_rows(*sample_weight, begin, end);
    run_step(b, false);
    const Logs logs = current_logs();
    for (auto* cb : callbacks) cb->on_test_batch_end(step, logs);
  }
  const Logs logs = current_logs();
  for (auto* cb : callbacks) cb->on_test_end(logs);
  return logs;
}

template <class T>
History Trainer<T>::fit(const std::vector<Tensor<T>>& x_all, const std::vector<Tensor<T>>& y_all,
                        const FitOptions<T>& o) {
  check_compiled("fit");
  if (o.batch_size <= 0) throw ConfigError("fit: batch_size must be > 0, got " + std::to_string(o.batch_size));
  if (o.epochs < 0) throw ConfigError("fit: epochs must be >= 0, got " + std::to_string(o.epochs));
  if (o.validation_batch_size && *o.validation_batch_size <= 0)
    throw ConfigError("fit: validation_batch_size must be > 0, got " + std::to_string(*o.validation_batch_size));
  if (!(o.validation_split >= 0.0 && o.validation_split < 1.0))
    throw ConfigError("fit: validation_split must be in [0, 1), got " + detail::python_float_repr(o.validation_split));
  if (!o.class_weight.empty() && o.sample_weight)
    throw ConfigError("fit: class_weight and sample_weight cannot be given together");
  const int64_t n_all = detail::sample_count<T>("fit", x_all, y_all, o.sample_weight);

  // Split off the last fraction for validation, before shuffling (Keras train_validation_split).
  std::vector<Tensor<T>> x = x_all, y = y_all;
  std::optional<Tensor<T>> sw = o.sample_weight;
  std::optional<ValidationData<T>> val = o.validation_data;
  if (o.validation_split > 0.0 && !val) {
    const int64_t split_at = static_cast<int64_t>(std::floor(static_cast<double>(n_all) * (1.0 - o.validation_split)));
    if (split_at == 0 || split_at == n_all)
      throw ConfigError("fit: " + std::to_string(n_all) +
                        " samples are not enough to split into training and "
                        "validation sets with validation_split=" +
                        detail::python_float_repr(o.validation_split));
    val = ValidationData<T>{detail::slice_all(x_all, split_at, n_all), detail::slice_all(y_all, split_at, n_all),
                            std::nullopt};
    if (sw) val->sample_weight = detail::slice_rows(*sw, split_at, n_all);
    x = detail::slice_all(x_all, 0, split_at);
    y = detail::slice_all(y_all, 0, split_at);
    if (sw) sw = detail::slice_rows(*sw, 0, split_at);
  }
  if (val) detail::sample_count<T>("fit (validation data)", val->x, val->y, val->sample_weight);
  const int64_t n = x.empty() ? 0 : x[0].dim(0);
  if (!o.class_weight.empty()) {
    if (y.size() != 1) throw ConfigError("fit: class_weight is supported only for models with one output");
    sw = detail::class_weight_to_sample_weights(y[0], o.class_weight);
  }

  History history;
  HistoryRecorder<T> recorder(history);
  const int64_t steps = (n + o.batch_size - 1) / o.batch_size;
  const CallbackList<T> cbs(this, o.callbacks, &recorder, o.verbose, o.progress, o.progress_dynamic,
                            {o.epochs, steps, o.verbose});
  const std::vector<Callback<T>*>& callbacks = cbs.list();

  stop_training_ = false;
  Logs last_logs;
  for (auto* cb : callbacks) cb->on_train_begin(last_logs);
  Rng& rng = start_shuffle_rng(o.seed);
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t epoch = o.initial_epoch; epoch < o.epochs; ++epoch) {
    reset_metrics();
    for (auto* cb : callbacks) cb->on_epoch_begin(epoch, Logs{});
    for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
    if (o.shuffle) detail::shuffle(order, rng);
    Logs logs;
    for (int64_t step = 0; step < steps; ++step) {
      for (auto* cb : callbacks) cb->on_batch_begin(step, Logs{});
      const int64_t begin = step * o.batch_size, end = std::min(n, begin + o.batch_size);
      Batch b{detail::gather_all(x, order, begin, end), detail::gather_all(y, order, begin, end), std::nullopt};
      if (sw) b.sample_weight = detail::gather_rows(*sw, order, begin, end);
      run_step(b, true);
      logs = current_logs();
      for (auto* cb : callbacks) cb->on_batch_end(step, logs);
      if (stop_training_) break;
    }
    Logs epoch_logs = current_logs();
    if (val) {
      const Logs val_logs = evaluate_batches(val->x, val->y, val->sample_weight,
                                             o.validation_batch_size.value_or(o.batch_size), callbacks);
      for (const auto& [k, v] : val_logs.items()) epoch_logs.set("val_" + k, v);
    }
    for (auto* cb : callbacks) cb->on_epoch_end(epoch, epoch_logs);
    last_logs = epoch_logs;
    if (stop_training_) break;
  }
  for (auto* cb : callbacks) cb->on_train_end(last_logs);
  return history;
}

template <class T>
History Trainer<T>::fit(const Tensor<T>& x, const Tensor<T>& y, const FitOptions<T>& options) {
  return fit(std::vector<Tensor<T>>{x}, std::vector<Tensor<T>>{y}, options);
}

template <class T>
Logs Trainer<T>::evaluate(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y,
                          const EvaluateOptions<T>& o) {
  check_compiled("evaluate");
  if (o.batch_size <= 0) throw ConfigError("evaluate: batch_size must be > 0, got " + std::to_string(o.batch_size));
  const int64_t n = detail::sample_count<T>("evaluate", x, y, o.sample_weight);
  const CallbackList<T> cbs(this, o.callbacks, nullptr, o.verbose, o.progress, o.progress_dynamic,
                            {1, (n + o.batch_size - 1) / o.batch_size, o.verbose});
  return evaluate_batches(x, y, o.sample_weight, o.batch_size, cbs.list());
}

template <class T>
Logs Trainer<T>::evaluate(const Tensor<T>& x, const Tensor<T>& y, const EvaluateOptions<T>& options) {
  return evaluate(std::vector<Tensor<T>>{x}, std::vector<Tensor<T>>{y}, options);
}

template <class T>
std::vector<Tensor<T>> Trainer<T>::predict(const std::vector<Tensor<T>>& x, int64_t batch_size) {
  if (batch_size <= 0) throw ConfigError("predict: batch_size must be > 0, got " + std::to_string(batch_size));
  const int64_t n = detail::sample_count<T>("predict", x, {}, std::nullopt);
  auto* model = dynamic_cast<Model<T>*>(&model_);
  std::vector<std::vector<Tensor<T>>> parts;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const std::vector<Tensor<T>> xb = detail::slice_all(x, begin, std::min(n, begin + batch_size));
    if (model) {
      parts.push_back(model->predict(xb));
    } else {
      LayerInputs<T> in;
      for (const auto& t : xb) in.inputs.push_back(&t);
      parts.push_back(model_.call(in).outputs);
    }
  }
  return detail::concat_batches(parts);
}

template <class T>
Tensor<T> Trainer<T>::predict(const Tensor<T>& x, int64_t batch_size) {
  std::vector<Tensor<T>> out = predict(std::vector<Tensor<T>>{x}, batch_size);
  return std::move(out.at(0));
}

template <class T>
Logs Trainer<T>::train_on_batch(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y,
                                const Tensor<T>* sample_weight, const std::map<int64_t, double>& class_weight) {
  check_compiled("train_on_batch");
  if (!class_weight.empty() && sample_weight)
    throw ConfigError("train_on_batch: class_weight and sample_weight cannot be given together");
  detail::sample_count<T>("train_on_batch", x, y,
                          sample_weight ? std::optional<Tensor<T>>(*sample_weight) : std::nullopt);
  Batch b{x, y, std::nullopt};
  if (sample_weight) b.sample_weight = *sample_weight;
  if (!class_weight.empty()) {
    if (y.size() != 1) throw ConfigError("train_on_batch: class_weight is supported only for models with one output");
    b.sample_weight = detail::class_weight_to_sample_weights(y[0], class_weight);
  }
  reset_metrics();
  run_step(b, true);
  return current_logs();
}

template <class T>
Logs Trainer<T>::train_on_batch(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>* sample_weight) {
  return train_on_batch(std::vector<Tensor<T>>{x}, std::vector<Tensor<T>>{y}, sample_weight);
}

template <class T>
Logs Trainer<T>::test_on_batch(const std::vector<Tensor<T>>& x, const std::vector<Tensor<T>>& y,
                               const Tensor<T>* sample_weight) {
  check_compiled("test_on_batch");
  detail::sample_count<T>("test_on_batch", x, y,
                          sample_weight ? std::optional<Tensor<T>>(*sample_weight) : std::nullopt);
  Batch b{x, y, std::nullopt};
  if (sample_weight) b.sample_weight = *sample_weight;
  reset_metrics();
  run_step(b, false);
  return current_logs();
}

template <class T>
Logs Trainer<T>::test_on_batch(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>* sample_weight) {
  return test_on_batch(std::vector<Tensor<T>>{x}, std::vector<Tensor<T>>{y}, sample_weight);
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace rnnx
