#pragma once
// Learning-rate schedules (K3 keras/src/optimizers/schedules/learning_rate_schedule.py).
//
// A schedule maps the optimizer's iteration count (the number of updates already applied,
// read before the update that uses it, so the first update sees step 0) to a learning rate.
// Values are computed in float32 as Keras does (its schedules convert to floatx tensors).
//
//   ExponentialDecay:        lr0 · rate^(step / decay_steps)   (floor of the exponent when
//                            staircase)
//   CosineDecay:             without warmup: lr0 · ((1-alpha)·½(1 + cos(π·min(step, D)/D)) + alpha);
//                            with warmup_target: linear from lr0 to warmup_target over
//                            warmup_steps, then the cosine from warmup_target over D steps
//   PiecewiseConstantDecay:  values[0] for step <= boundaries[0], values[i] for
//                            boundaries[i-1] < step <= boundaries[i], values.back() after.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rnnx {

class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  // The learning rate for the update that follows `step` completed updates.
  virtual float operator()(int64_t step) const = 0;
  // Keras class name, e.g. "ExponentialDecay".
  virtual std::string class_name() const = 0;
};

class ExponentialDecay : public LearningRateSchedule {
 public:
  // Throws ConfigError when decay_steps <= 0.
  ExponentialDecay(double initial_learning_rate, int64_t decay_steps, double decay_rate, bool staircase = false);
  float operator()(int64_t step) const override;
  std::string class_name() const override { return "ExponentialDecay"; }

 private:
  double initial_learning_rate_;
  int64_t decay_steps_;
  double decay_rate_;
  bool staircase_;
};

class CosineDecay : public LearningRateSchedule {
 public:
  // Throws ConfigError when decay_steps <= 0 or warmup_steps < 0.
  CosineDecay(double initial_learning_rate, int64_t decay_steps, double alpha = 0.0,
              std::optional<double> warmup_target = std::nullopt, int64_t warmup_steps = 0);
  float operator()(int64_t step) const override;
  std::string class_name() const override { return "CosineDecay"; }

 private:
  double initial_learning_rate_;
  int64_t decay_steps_;
  double alpha_;
  std::optional<double> warmup_target_;
  int64_t warmup_steps_;
};

class PiecewiseConstantDecay : public LearningRateSchedule {
 public:
  // Throws ConfigError unless values.size() == boundaries.size() + 1 and boundaries are
  // non-empty and increasing.
  PiecewiseConstantDecay(std::vector<int64_t> boundaries, std::vector<double> values);
  float operator()(int64_t step) const override;
  std::string class_name() const override { return "PiecewiseConstantDecay"; }

 private:
  std::vector<int64_t> boundaries_;
  std::vector<double> values_;
};

}  // namespace rnnx
