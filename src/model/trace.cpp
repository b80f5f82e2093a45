#include "rnnx/model/trace.h"

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

// One active trace per thread and scalar type (TraceScope).
template <class T>
Trace<T>*& active_slot() {
  thread_local Trace<T>* active = nullptr;
  return active;
}

template <class T>
std::string recorded_layers(const Trace<T>& trace) {
  std::string names;
  for (const TraceRecord<T>& r : trace.records())
    if (r.call_index == 0) names += (names.empty() ? "" : ", ") + r.layer_name;
  return names.empty() ? "none" : names;
}

}  // namespace

template <class T>
bool TraceRecord<T>::has(const std::string& quantity) const {
  for (const auto& [name, value] : quantities)
    if (name == quantity) return true;
  return false;
}

template <class T>
const Tensor<T>& TraceRecord<T>::get(const std::string& quantity) const {
  std::string names;
  for (const auto& [name, value] : quantities) {
    if (name == quantity) return value;
    names += (names.empty() ? "" : ", ") + name;
  }
  throw ConfigError("trace of " + layer_class + " '" + layer_name + "' (" + cell_class + ") has no quantity '" +
                    quantity + "'; it has: " + names);
}

template <class T>
const TraceRecord<T>& Trace<T>::record(const std::string& layer, int64_t call) const {
  for (const TraceRecord<T>& r : records_)
    if (r.layer_name == layer && r.call_index == call) return r;
  throw ConfigError("trace has no call " + std::to_string(call) + " of a recurrent layer named '" + layer +
                    "'; recorded layers: " + recorded_layers(*this));
}

template <class T>
const TraceRecord<T>& Trace<T>::record(const Layer<T>& layer, int64_t call) const {
  for (const TraceRecord<T>& r : records_)
    if (r.layer == &layer && r.call_index == call) return r;
  throw ConfigError("trace has no call " + std::to_string(call) + " of layer '" + layer.name() +
                    "'; recorded layers: " + recorded_layers(*this));
}

template <class T>
const Tensor<T>& Trace<T>::get(const std::string& layer, const std::string& quantity) const {
  return record(layer).get(quantity);
}

template <class T>
void Trace<T>::add(TraceRecord<T> record) {
  record.call_index = 0;
  for (const TraceRecord<T>& r : records_)
    if (r.layer == record.layer) ++record.call_index;
  records_.push_back(std::move(record));
}

template <class T>
TraceScope<T>::TraceScope(Trace<T>& trace) : previous_(active_slot<T>()) {
  active_slot<T>() = &trace;
}

template <class T>
TraceScope<T>::~TraceScope() {
  active_slot<T>() = previous_;
}

namespace detail {
template <class T>
Trace<T>* active_trace() {
  return active_slot<T>();
}
template Trace<float>* active_trace<float>();
template Trace<double>* active_trace<double>();
}  // namespace detail

template struct TraceRecord<float>;
template struct TraceRecord<double>;
template class Trace<float>;
template class Trace<double>;
template class TraceScope<float>;
template class TraceScope<double>;

}  // namespace rnnx
