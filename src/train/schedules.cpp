// Learning-rate schedules (include/rnnx/train/schedules.h). Arithmetic in float, in the order
// Keras applies its float32 ops, so the rates match Keras's to the last bit in most cases.
#include "rnnx/train/schedules.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "rnnx/core/error.h"

namespace rnnx {

ExponentialDecay::ExponentialDecay(double initial_learning_rate, int64_t decay_steps, double decay_rate, bool staircase)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      decay_rate_(decay_rate),
      staircase_(staircase) {
  if (decay_steps <= 0)
    throw ConfigError("ExponentialDecay: decay_steps must be > 0, got " + std::to_string(decay_steps));
}

float ExponentialDecay::operator()(int64_t step) const {
  float p = static_cast<float>(step) / static_cast<float>(decay_steps_);
  if (staircase_) p = std::floor(p);
  return static_cast<float>(initial_learning_rate_) * std::pow(static_cast<float>(decay_rate_), p);
}

CosineDecay::CosineDecay(double initial_learning_rate, int64_t decay_steps, double alpha,
                         std::optional<double> warmup_target, int64_t warmup_steps)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      alpha_(alpha),
      warmup_target_(warmup_target),
      warmup_steps_(warmup_steps) {
  if (decay_steps <= 0) throw ConfigError("CosineDecay: decay_steps must be > 0, got " + std::to_string(decay_steps));
  if (warmup_steps < 0)
    throw ConfigError("CosineDecay: warmup_steps must be >= 0, got " + std::to_string(warmup_steps));
}

float CosineDecay::operator()(int64_t step) const {
  const float decay_steps = static_cast<float>(decay_steps_);
  const float lr0 = static_cast<float>(initial_learning_rate_);
  auto decay = [&](float s, float from) {
    const float fraction = s / decay_steps;
    const float cosine = 0.5f * (1.0f + std::cos(std::numbers::pi_v<float> * fraction));
    const float decayed = static_cast<float>(1.0 - alpha_) * cosine + static_cast<float>(alpha_);
    return from * decayed;
  };
  float s = static_cast<float>(step);
  if (!warmup_target_) return decay(std::min(s, decay_steps), lr0);
  const float target = static_cast<float>(*warmup_target_);
  const float warmup = static_cast<float>(warmup_steps_);
  s = std::min(s, decay_steps + warmup);
  if (s < warmup) return (target - lr0) * (s / warmup) + lr0;
  return decay(s - warmup, target);
}

PiecewiseConstantDecay::PiecewiseConstantDecay(std::vector<int64_t> boundaries, std::vector<double> values)
    : boundaries_(std::move(boundaries)), values_(std::move(values)) {
  if (boundaries_.empty() || values_.size() != boundaries_.size() + 1)
    throw ConfigError(
        "PiecewiseConstantDecay: expected one more value than boundaries (and at least one boundary), "
        "got " +
        std::to_string(boundaries_.size()) + " boundaries and " + std::to_string(values_.size()) + " values");
  for (size_t i = 1; i < boundaries_.size(); ++i)
    if (boundaries_[i] <= boundaries_[i - 1])
      throw ConfigError("PiecewiseConstantDecay: boundaries must increase, got " + std::to_string(boundaries_[i - 1]) +
                        " then " + std::to_string(boundaries_[i]));
}

float PiecewiseConstantDecay::operator()(int64_t step) const {
  for (size_t i = 0; i < boundaries_.size(); ++i)
    if (step <= boundaries_[i]) return static_cast<float>(values_[i]);
  return static_cast<float>(values_.back());
}

}  // namespace rnnx
