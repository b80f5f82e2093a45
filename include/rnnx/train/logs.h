#pragma once
// Logs and History (K3 keras/src/callbacks/history.py).
//
// Logs is the Keras `logs` dict: named numbers in insertion order ("loss", then the metrics
// in compile order, then "val_loss", "val_<metric>", then anything callbacks add, such as
// ReduceLROnPlateau's "learning_rate"). History keeps, per epoch, every key of the epoch logs.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rnnx {

class Logs {
 public:
  // Sets `name` (appending it if new, keeping its place otherwise).
  void set(const std::string& name, double value);
  std::optional<double> get(const std::string& name) const;
  // The value of `name`; throws ConfigError naming the available keys if it is missing.
  double at(const std::string& name) const;
  bool contains(const std::string& name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, double>>& items() const { return items_; }
  std::vector<std::string> keys() const;
  bool empty() const { return items_.empty(); }

 private:
  std::vector<std::pair<std::string, double>> items_;
};

class History {
 public:
  // Appends one epoch's logs (new keys are added; keys are never removed).
  void append(int64_t epoch, const Logs& logs);
  void clear();

  // Epoch indices seen (0-based, as Keras History.epoch).
  const std::vector<int64_t>& epochs() const { return epochs_; }
  // The values of `name` per epoch; throws ConfigError naming the available keys if missing.
  const std::vector<double>& at(const std::string& name) const;
  bool contains(const std::string& name) const;
  // Keys in first-seen order.
  std::vector<std::string> keys() const;

 private:
  std::vector<int64_t> epochs_;
  std::vector<std::pair<std::string, std::vector<double>>> values_;
};

}  // namespace rnnx
