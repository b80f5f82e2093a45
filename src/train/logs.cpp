// Logs and History (include/rnnx/train/logs.h).
#include "rnnx/train/logs.h"

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

std::string joined(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out.empty() ? "(none)" : out;
}

}  // namespace

void Logs::set(const std::string& name, double value) {
  for (auto& [k, v] : items_)
    if (k == name) {
      v = value;
      return;
    }
  items_.emplace_back(name, value);
}

std::optional<double> Logs::get(const std::string& name) const {
  for (const auto& [k, v] : items_)
    if (k == name) return v;
  return std::nullopt;
}

double Logs::at(const std::string& name) const {
  if (auto v = get(name)) return *v;
  throw ConfigError("logs have no '" + name + "'; available: " + joined(keys()));
}

std::vector<std::string> Logs::keys() const {
  std::vector<std::string> out;
  for (const auto& kv : items_) out.push_back(kv.first);
  return out;
}

void History::append(int64_t epoch, const Logs& logs) {
  epochs_.push_back(epoch);
  for (const auto& [k, v] : logs.items()) {
    bool found = false;
    for (auto& entry : values_)
      if (entry.first == k) {
        entry.second.push_back(v);
        found = true;
      }
    if (!found) values_.emplace_back(k, std::vector<double>{v});
  }
}

void History::clear() {
  epochs_.clear();
  values_.clear();
}

const std::vector<double>& History::at(const std::string& name) const {
  for (const auto& entry : values_)
    if (entry.first == name) return entry.second;
  throw ConfigError("history has no '" + name + "'; available: " + joined(keys()));
}

bool History::contains(const std::string& name) const {
  for (const auto& entry : values_)
    if (entry.first == name) return true;
  return false;
}

std::vector<std::string> History::keys() const {
  std::vector<std::string> out;
  for (const auto& entry : values_) out.push_back(entry.first);
  return out;
}

}  // namespace rnnx
