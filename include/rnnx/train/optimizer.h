#pragma once
// The optimizer base (K3 keras/src/optimizers/base_optimizer.py). Concrete optimizers: sgd.h,
// adam.h (Adam, AdamW), rmsprop.h, adagrad.h; make_optimizer() builds one by Keras name.
//
// apply(params) is one Keras optimizer.apply(): for the trainable params, in order,
//   1. gradients are clipped (copies; Param::grad is not changed):
//        clipnorm c:        g·c / max(‖g‖, c) per variable   (tf.clip_by_norm)
//        global_clipnorm c: g·c·min(1/‖G‖, 1/c) with ‖G‖ over all variables (NaN if ‖G‖ is not
//                           finite, as Keras)
//        clipvalue c:       clip(g, -c, c)
//   2. weight decay (when set):  w -= w·weight_decay·lr   (not for variables whose name
//      contains one of exclude_from_weight_decay)
//   3. the optimizer's update step for each variable, with lr = the learning rate at the
//      current iteration count (a schedule is evaluated at `iterations()` before the
//      increment, so the first update uses step 0)
//   4. each variable's constraint (Param::constraint) is projected
//   5. iterations += 1.
// Hyperparameters are kept in double and cast to T where Keras casts them to the variable
// dtype; a constant learning rate is stored as float, like Keras's float32 variable.
//
// Row-lookup gradients (OptimizerOptions::row_gradients; an Embedding's weight, whose Param
// carries sparse_grad). Keras 3 on the TensorFlow backend gets them as a tf.IndexedSlices,
// one row per looked-up token, and never sums a repeated token's rows before the optimizer
// (keras/src/backend/tensorflow/optimizer.py, sparse.py, numpy.py; tf.clip_by_norm):
//   clipnorm / global_clipnorm norms:  Σ over the rows of row²      (not of the summed rows)
//   clipvalue:                         each row clipped on its own, then summed
//   global_clipnorm then scales with `v * scale`, which makes the gradient dense (rows
//   summed): the update below is the dense one
//   the update:  g = Σ rows, as for a dense gradient, wherever g enters linearly (SGD, Adam's
//                m, RMSprop's increment and average_gradient, Adagrad's step); where Keras
//                squares the gradient (Adam / AdamW v, RMSprop velocity, Adagrad
//                accumulator) it squares each row and sums the squares: a token seen twice
//                adds g1² + g2² where the dense form adds (g1 + g2)².
//   All other rows are updated as dense (Adam's m and v still decay there).
// RowGradients::tensorflow (the default) does that; RowGradients::dense uses the summed
// gradient like any other (Keras on the JAX and PyTorch backends). A param with an active
// regularizer is dense in both: TensorFlow adds the penalty's dense gradient to the slices,
// which turns them into a dense tensor. Requires: Param::grad is the sum of sparse_grad's
// rows (plus the penalty gradient when the param has an active regularizer).
//
// The first apply() builds the optimizer state for the trainable params it is given; later
// calls must pass the same list (count and shapes), else StateError. Params with
// trainable = false are skipped. Keras skips variables whose gradient is None; here every
// trainable param has a gradient (zero if unused), so it is always updated.
//
// State (for training checkpoints, io/checkpoint.h): state() lists every slot variable,
// slot by slot in the Keras order of the optimizer, each for every trainable variable in
// order, named "<slot>/<index>/<param name>" ("<slot>/<index>" for an unnamed param) with
// the Keras slot names:
//   SGD      momentum                                  (only with momentum > 0)
//   Adam(W)  momentum, velocity, velocity_hat          (velocity_hat only with amsgrad)
//   RMSprop  velocity, momentum, average_gradient      (momentum only with momentum > 0,
//                                                        average_gradient only if centered)
//   Adagrad  accumulator
// e.g. "velocity/2/lstm/bias". iterations() and the learning rate are not in it.
#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/core/named_tensor.h"
#include "rnnx/core/tensor.h"
#include "rnnx/layers/layer.h"
#include "rnnx/train/schedules.h"

namespace rnnx {

// A learning rate: a constant or a schedule. Converts implicitly from either.
class LearningRate {
 public:
  LearningRate(double value) : given_(value), value_(static_cast<float>(value)) {}  // NOLINT(implicit)
  template <class S>
  requires std::derived_from<S, LearningRateSchedule> LearningRate(std::shared_ptr<S> schedule)  // NOLINT(implicit)
      : schedule_(std::move(schedule)) {}

  bool is_schedule() const { return schedule_ != nullptr; }
  // The rate for the update after `step` completed updates.
  float at(int64_t step) const { return schedule_ ? (*schedule_)(step) : value_; }
  const std::shared_ptr<const LearningRateSchedule>& schedule() const { return schedule_; }
  // The constant as given (before rounding to float); 0 for a schedule.
  double given() const { return given_; }

 private:
  double given_ = 0.0;
  float value_ = 0.0f;
  std::shared_ptr<const LearningRateSchedule> schedule_;
};

// How an optimizer applies a gradient made of row lookups (see the top of this file).
enum class RowGradients {
  tensorflow,  // as Keras 3 on the TensorFlow backend (tf.IndexedSlices): rows squared one by one
  dense,       // as Keras 3 on JAX / PyTorch: the summed gradient, like any other
};

// The Keras base-optimizer keyword arguments shared by all optimizers. At most one of the
// three clipping options may be set; a value of 0 means "off" as in Keras.
struct OptimizerOptions {
  std::optional<double> weight_decay{};
  std::optional<double> clipnorm{};
  std::optional<double> clipvalue{};
  std::optional<double> global_clipnorm{};
  // Variables whose (Param) name contains one of these strings get no weight decay (Keras
  // exclude_from_weight_decay(var_names=...)).
  std::vector<std::string> exclude_from_weight_decay{};
  // Not a Keras argument: which Keras backend to follow for row-lookup gradients.
  RowGradients row_gradients = RowGradients::tensorflow;
};

template <class T>
class Optimizer {
 public:
  // Throws ConfigError for a negative constant learning rate, a negative clip or weight decay
  // value, or more than one clipping option.
  Optimizer(std::string name, LearningRate learning_rate, OptimizerOptions options);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Keras class name ("Adam") and instance name ("adam").
  virtual std::string class_name() const = 0;
  const std::string& name() const { return name_; }
  const OptimizerOptions& options() const { return options_; }

  // One update of the trainable params from their gradients (see above).
  void apply(const std::vector<Param<T>>& params);

  // Number of apply() calls so far (Keras optimizer.iterations).
  int64_t iterations() const { return iterations_; }
  void set_iterations(int64_t iterations);
  // The learning rate the next apply() will use.
  float learning_rate() const { return learning_rate_.at(iterations_); }
  // Sets a constant rate (Keras optimizer.learning_rate = x). Throws ConfigError if the
  // optimizer was made with a schedule (as Keras does) or the rate is negative.
  void set_learning_rate(double learning_rate);
  bool has_schedule() const { return learning_rate_.is_schedule(); }
  bool built() const { return built_; }

  // The slot variables (see the top of this file); empty before the optimizer is built.
  std::vector<NamedTensor<T>> state() const;
  // Sets the slot variables from state() of an optimizer of the same class and options
  // for the same variables. `params` are what apply() would get: the trainable ones are
  // the variables, and an optimizer not built yet is built for them. Checks everything
  // before it changes anything: StateError when the trainable params do not match the
  // built optimizer (as apply()); FormatError naming the entry when the count, a name or a
  // shape of `state` is not what this optimizer keeps for them.
  void set_state(const std::vector<Param<T>>& params, const std::vector<NamedTensor<T>>& state);

 protected:
  // Creates the per-variable state for variables of these shapes (called once).
  virtual void build(const std::vector<Shape>& shapes) = 0;
  // The Keras update_step for variable `index` with the clipped gradient and lr cast to T.
  // Where Keras squares the gradient, an update step uses grad_squares(index) instead of
  // grad·grad when it is not null.
  virtual void update_step(size_t index, const Tensor<T>& grad, Tensor<T>& variable, T lr) = 0;
  // For a row-lookup gradient under RowGradients::tensorflow, the sum of its rows' squares
  // (clipped as the gradient was) during apply(); null otherwise.
  const Tensor<T>* grad_squares(size_t index) const {
    return index < sparse_.size() && sparse_[index] ? &squares_[index] : nullptr;
  }
  // "<ClassName> '<name>'" for error messages.
  std::string where() const { return class_name() + " '" + name_ + "'"; }
  // Registers a slot for state()/set_state(): `values` is the subclass member that build()
  // fills, parallel to the trainable variables. Called from the constructor, in Keras order,
  // for the slots the options use.
  void add_slot(std::string slot_name, std::vector<Tensor<T>>& values) {
    slots_.push_back({std::move(slot_name), &values});
  }

 private:
  struct Slot {
    std::string name;
    std::vector<Tensor<T>>* values;
  };
  void clip_gradients();
  // Sums the rows of the row-lookup gradients into scratch_ / squares_ (after clipping).
  void densify_rows();
  // p's sparse_grad if it is applied the TensorFlow way (checked against the weight's
  // shape: ShapeError), else null.
  const IndexedSlices<T>* tensorflow_rows(const Param<T>& p) const;
  bool use_weight_decay(const std::string& param_name) const;
  // The trainable params of `params`, checked as apply() checks them (values, gradients when
  // `need_grads`, and the built shapes); their shapes go to `shapes`.
  std::vector<const Param<T>*> check_trainable(const std::vector<Param<T>>& params, bool need_grads,
                                               std::vector<Shape>& shapes) const;
  void build_for(const std::vector<const Param<T>*>& trainable, std::vector<Shape> shapes);

  std::string name_;
  LearningRate learning_rate_;
  OptimizerOptions options_;
  int64_t iterations_ = 0;
  bool built_ = false;
  std::vector<Shape> shapes_;       // of the trainable variables, fixed at build
  std::vector<std::string> names_;  // their Param names, for state()
  std::vector<Slot> slots_;         // add_slot()
  std::vector<Tensor<T>> scratch_;  // clipped gradients, reused between calls
  // Per trainable variable, during apply(): its sparse_grad if it is applied the TensorFlow
  // way (else null), a copy of that gradient's rows to clip, and the sum of their squares.
  std::vector<const IndexedSlices<T>*> sparse_;
  std::vector<std::vector<T>> rows_;
  std::vector<Tensor<T>> squares_;
};

// A built-in optimizer by Keras name (case-insensitive: "sgd", "adam", "adamw", "rmsprop",
// "adagrad") with Keras defaults, overridden by keyword arguments given as numbers
// (booleans as 0/1): learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, and
// per optimizer momentum, nesterov (SGD); beta_1, beta_2, epsilon, amsgrad (Adam, AdamW);
// rho, momentum, epsilon, centered (RMSprop); initial_accumulator_value, epsilon (Adagrad).
// Throws ConfigError for an unknown name or argument, or an invalid value.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& name, const std::map<std::string, double>& kwargs = {});

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace rnnx
