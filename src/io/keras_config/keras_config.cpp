// KerasVersion, KerasConfig (the JSON-free view of one config), the user-class registry and
// the layer / cell entry points (spec §8.3).
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/keras_naming.h"
#include "io/keras_config/keras_config_impl.h"
#include "rnnx/core/error.h"

namespace rnnx {

// ---------------------------------------------------------------------------------------
// KerasVersion

KerasVersion KerasVersion::parse(const std::string& text) {
  KerasVersion v;
  int parts[3] = {0, 0, 0};
  size_t pos = 0;
  int count = 0;
  while (count < 3) {
    if (pos >= text.size() || text[pos] < '0' || text[pos] > '9') break;
    long long value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      value = value * 10 + (text[pos] - '0');
      if (value > 100000) throw ConfigError("keras_version '" + text + "' is not a version number");
      ++pos;
    }
    parts[count++] = static_cast<int>(value);
    if (pos < text.size() && text[pos] == '.' && pos + 1 < text.size() && text[pos + 1] >= '0' && text[pos + 1] <= '9')
      ++pos;
    else
      break;
  }
  if (count == 0)
    throw ConfigError("keras_version '" + text +
                      "' is not a version number (expected e.g. \"3.15.1\" or \"2.2.4-tf\")");
  const std::string rest = text.substr(pos);
  if (!rest.empty() && rest[0] >= '0' && rest[0] <= '9')
    throw ConfigError("keras_version '" + text + "' is not a version number");
  v.major = parts[0];
  v.minor = parts[1];
  v.patch = parts[2];
  // tf.keras wrote "2.x.y-tf"; from 2.4 on every Keras 2 is tf.keras (standalone Keras 2.4
  // re-exported tf.keras, later versions are the tf.keras / tf_keras packages).
  v.tf_keras = v.major == 2 && (rest.find("tf") != std::string::npos || v.minor >= 4);
  return v;
}

std::string KerasVersion::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) +
         (tf_keras ? " (tf.keras)" : "");
}

// ---------------------------------------------------------------------------------------
// KerasConfig

namespace {

std::string type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "a list";
    default:
      return "a value";
  }
}

std::string short_json(const Json& j) {
  std::string s = j.dump();
  if (s.size() > 120) s = s.substr(0, 117) + "...";
  return s;
}

// A float16 / bfloat16 / mixed policy changes the numbers; float32 and float64 do not (rnnx
// computes in its own scalar type).
bool dtype_is_honourable(const Json& d) {
  if (d.is_null()) return true;
  std::string name;
  if (d.is_string()) {
    name = d.get<std::string>();
  } else if (d.is_object()) {
    auto cfg = d.find("config");
    if (cfg == d.end() || !cfg->is_object()) return false;
    auto n = cfg->find("name");
    if (n == cfg->end() || !n->is_string()) return false;
    name = n->get<std::string>();
  } else {
    return false;
  }
  return name == "float32" || name == "float64";
}

}  // namespace

namespace detail {

bool is_harmless_key(const std::string& key) {
  static const std::set<std::string> keys = {
      "name",         "trainable",         "module",      "registered_name", "build_config", "seed", "use_cudnn",
      "input_length", "batch_input_shape", "batch_shape", "input_shape",     "autocast"};
  return keys.count(key) > 0;
}

namespace {
struct JsonTooDeep {};
}  // namespace

Json parse_json_bounded(const std::string& text, std::string& problem) {
  // nlohmann's parser is iterative, but dump() (used in error messages) and rnnx's config walks
  // recurse, so nesting is refused while parsing (depth is that of the value being opened).
  auto callback = [](int depth, Json::parse_event_t event, Json&) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth)
      throw JsonTooDeep{};
    return true;
  };
  try {
    Json j = Json::parse(text, callback, /*allow_exceptions=*/false);
    if (j.is_discarded()) problem = "invalid JSON";
    return j;
  } catch (const JsonTooDeep&) {
    problem = "JSON nests arrays/objects more than " + std::to_string(kMaxJsonDepth) +
              " levels deep (expected at most " + std::to_string(kMaxJsonDepth) + ")";
    return Json(Json::value_t::discarded);
  }
}

std::shared_ptr<const Json> parse_json(const std::string& text, const std::string& what) {
  std::string problem;
  Json j = parse_json_bounded(text, problem);
  if (j.is_discarded()) throw ConfigError(what + ": " + problem);
  return std::make_shared<const Json>(std::move(j));
}

KerasConfig make_config(std::shared_ptr<const Json> doc, const Json& entry, const KerasVersion& version,
                        const std::string& context) {
  if (!entry.is_object())
    throw ConfigError(context + ": expected a {\"class_name\", \"config\"} object, got " + type_name(entry));
  auto cn = entry.find("class_name");
  if (cn == entry.end() || !cn->is_string())
    throw ConfigError(context + ": entry has no string \"class_name\" (got " + short_json(entry) + ")");
  auto cfg = entry.find("config");
  if (cfg == entry.end() || !cfg->is_object())
    throw ConfigError(context + ": entry '" + cn->get<std::string>() + "' has no \"config\" object");
  auto impl = std::make_shared<KerasConfig::Impl>();
  impl->doc = std::move(doc);
  impl->entry = &entry;
  impl->config = &*cfg;
  impl->class_name = cn->get<std::string>();
  impl->version = version;
  return KerasConfig(std::move(impl));
}

}  // namespace detail

KerasConfig::KerasConfig(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::string& KerasConfig::class_name() const { return impl_->class_name; }
const KerasVersion& KerasConfig::version() const { return impl_->version; }

std::string KerasConfig::name() const {
  auto n = impl_->config->find("name");
  if (n != impl_->config->end() && n->is_string()) return n->get<std::string>();
  auto en = impl_->entry->find("name");  // functional entries repeat the name outside config
  if (en != impl_->entry->end() && en->is_string()) return en->get<std::string>();
  return detail::keras_snake_case(impl_->class_name);
}

std::string KerasConfig::registered_name() const {
  auto rn = impl_->entry->find("registered_name");
  return rn != impl_->entry->end() && rn->is_string() ? rn->get<std::string>() : "";
}

std::string KerasConfig::where() const { return impl_->class_name + " '" + name() + "'"; }

bool KerasConfig::contains(const std::string& key) const { return impl_->config->contains(key); }

bool KerasConfig::has(const std::string& key) const {
  auto it = impl_->config->find(key);
  return it != impl_->config->end() && !it->is_null();
}

std::vector<std::string> KerasConfig::keys() const {
  std::vector<std::string> out;
  for (auto it = impl_->config->begin(); it != impl_->config->end(); ++it) out.push_back(it.key());
  return out;
}

void KerasConfig::fail(const std::string& key, const std::string& what) const {
  throw ConfigError(where() + ": argument '" + key + "' " + what);
}

void KerasConfig::ignore(const std::string& key) const { impl_->used.insert(key); }

namespace {

const Json* lookup(const KerasConfig::Impl& impl, const std::string& key) {
  auto it = impl.config->find(key);
  return it == impl.config->end() ? nullptr : &*it;
}

}  // namespace

int64_t KerasConfig::get_int(const std::string& key) const {
  impl_->used.insert(key);
  const Json* j = lookup(*impl_, key);
  if (!j || j->is_null()) fail(key, "is required");
  if (j->is_number_integer() || j->is_number_unsigned()) {
    if (j->is_number_unsigned() && j->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(key, "is too large: " + short_json(*j));
    return j->get<int64_t>();
  }
  if (j->is_number_float()) {
    const double d = j->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.0e15) return static_cast<int64_t>(d);
  }
  fail(key, "must be an integer, got " + short_json(*j));
}

int64_t KerasConfig::get_int(const std::string& key, int64_t fallback) const {
  impl_->used.insert(key);
  return has(key) ? get_int(key) : fallback;
}

double KerasConfig::get_double(const std::string& key) const {
  impl_->used.insert(key);
  const Json* j = lookup(*impl_, key);
  if (!j || j->is_null()) fail(key, "is required");
  if (!j->is_number()) fail(key, "must be a number, got " + short_json(*j));
  return j->get<double>();
}

double KerasConfig::get_double(const std::string& key, double fallback) const {
  impl_->used.insert(key);
  return has(key) ? get_double(key) : fallback;
}

std::optional<double> KerasConfig::get_optional_double(const std::string& key) const {
  impl_->used.insert(key);
  if (!has(key)) return std::nullopt;
  return get_double(key);
}

std::optional<int64_t> KerasConfig::get_optional_int(const std::string& key) const {
  impl_->used.insert(key);
  if (!has(key)) return std::nullopt;
  return get_int(key);
}

bool KerasConfig::get_bool(const std::string& key) const {
  impl_->used.insert(key);
  const Json* j = lookup(*impl_, key);
  if (!j || j->is_null()) fail(key, "is required");
  if (!j->is_boolean()) fail(key, "must be true or false, got " + short_json(*j));
  return j->get<bool>();
}

bool KerasConfig::get_bool(const std::string& key, bool fallback) const {
  impl_->used.insert(key);
  return has(key) ? get_bool(key) : fallback;
}

std::string KerasConfig::get_string(const std::string& key) const {
  impl_->used.insert(key);
  const Json* j = lookup(*impl_, key);
  if (!j || j->is_null()) fail(key, "is required");
  if (!j->is_string()) fail(key, "must be a string, got " + short_json(*j));
  return j->get<std::string>();
}

std::string KerasConfig::get_string(const std::string& key, const std::string& fallback) const {
  impl_->used.insert(key);
  return has(key) ? get_string(key) : fallback;
}

std::vector<int64_t> KerasConfig::get_int_list(const std::string& key) const {
  impl_->used.insert(key);
  const Json* j = lookup(*impl_, key);
  if (!j || j->is_null()) fail(key, "is required");
  if (!j->is_array()) fail(key, "must be a list of integers, got " + short_json(*j));
  std::vector<int64_t> out;
  for (const auto& e : *j) {
    if (e.is_null())
      out.push_back(-1);
    else if (e.is_number_integer() || e.is_number_unsigned())
      out.push_back(e.get<int64_t>());
    else
      fail(key, "must be a list of integers, got " + short_json(*j));
  }
  return out;
}

Activation KerasConfig::get_activation(const std::string& key, const Activation& fallback) const {
  impl_->used.insert(key);
  const Json* j = lookup(*impl_, key);
  if (!j) return fallback;
  const int major = impl_->version.major;
  std::string name;
  if (j->is_null()) {
    name = "linear";
  } else if (j->is_string()) {
    name = j->get<std::string>();
  } else if (j->is_object()) {
    // Keras 3 serialises a function as {"module": ..., "class_name": "function",
    // "config": "<name>", "registered_name": ...}.
    auto cn = j->find("class_name");
    auto cfg = j->find("config");
    if (cn != j->end() && cn->is_string() && cn->get<std::string>() == "function" && cfg != j->end() &&
        cfg->is_string())
      name = cfg->get<std::string>();
    else
      fail(key, "is an activation object rnnx cannot build: " + short_json(*j));
  } else {
    fail(key, "must be an activation name, got " + short_json(*j));
  }
  try {
    return Activation::from_name(name, major);
  } catch (const ConfigError& e) {
    fail(key, std::string("is invalid: ") + e.what());
  }
}

namespace {

// Initializer from a {"class_name", "config"} dict or a name; `fail` reports errors.
template <class Fail>
Initializer parse_initializer(const Json& j, const Fail& fail) {
  if (j.is_string()) {
    try {
      return Initializer::from_name(j.get<std::string>());
    } catch (const ConfigError& e) {
      fail(e.what());
    }
  }
  if (!j.is_object()) fail("must be an initializer name or object, got " + short_json(j));
  auto cn = j.find("class_name");
  if (cn == j.end() || !cn->is_string()) fail("initializer object has no class_name: " + short_json(j));
  Initializer init;
  try {
    init = Initializer::from_name(cn->get<std::string>());
  } catch (const ConfigError& e) {
    fail(e.what());
  }
  auto cfg_it = j.find("config");
  if (cfg_it == j.end() || cfg_it->is_null()) return init;
  if (!cfg_it->is_object()) fail("initializer config must be an object: " + short_json(j));
  const std::string& n = init.name;
  for (auto it = cfg_it->begin(); it != cfg_it->end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    auto number = [&]() -> double {
      if (!v.is_number())
        fail("initializer " + cn->get<std::string>() + " '" + k + "' must be a number, got " + short_json(v));
      return v.get<double>();
    };
    auto text = [&]() -> std::string {
      if (!v.is_string())
        fail("initializer " + cn->get<std::string>() + " '" + k + "' must be a string, got " + short_json(v));
      return v.get<std::string>();
    };
    if (k == "seed") {
      if (v.is_null()) continue;
      if (!v.is_number_integer() && !v.is_number_unsigned()) fail("initializer seed must be an integer or null");
      init.seed = static_cast<uint64_t>(v.get<int64_t>());
    } else if (k == "dtype") {
      if (!dtype_is_honourable(v)) fail("initializer dtype " + short_json(v) + " is not supported");
    } else if ((k == "input_axes" || k == "output_axes") && v.is_null()) {
      // Keras 3.12+ VarianceScaling: null means the usual fans.
    } else if (n == "constant" && k == "value") {
      init.value = number();
    } else if (n == "random_uniform" && k == "minval") {
      init.minval = number();
    } else if (n == "random_uniform" && k == "maxval") {
      init.maxval = number();
    } else if ((n == "random_normal" || n == "truncated_normal") && k == "mean") {
      init.mean = number();
    } else if ((n == "random_normal" || n == "truncated_normal") && k == "stddev") {
      init.stddev = number();
    } else if ((n == "orthogonal" || n == "identity") && k == "gain") {
      init.gain = number();
    } else if (n == "variance_scaling" && k == "scale") {
      init.scale = number();
    } else if (n == "variance_scaling" && k == "mode") {
      init.mode = text();
    } else if (n == "variance_scaling" && k == "distribution") {
      init.distribution = text();
      if (init.distribution == "normal") init.distribution = "truncated_normal";
    } else {
      fail("initializer " + cn->get<std::string>() + " has an unsupported argument '" + k + "' = " + short_json(v));
    }
  }
  return init;
}

}  // namespace

Initializer KerasConfig::get_initializer(const std::string& key, const Initializer& fallback) const {
  impl_->used.insert(key);
  const Json* j = lookup(*impl_, key);
  if (!j || j->is_null()) return fallback;
  return parse_initializer(*j, [&](const std::string& what) { fail(key, what); });
}

std::string KerasConfig::json(const std::string& key) const {
  impl_->used.insert(key);
  const Json* j = lookup(*impl_, key);
  return j ? j->dump() : "null";
}

KerasConfig KerasConfig::child(const std::string& key) const {
  impl_->used.insert(key);
  const Json* j = lookup(*impl_, key);
  if (!j || j->is_null()) fail(key, "is required");
  return detail::make_config(impl_->doc, *j, impl_->version, where() + ": argument '" + key + "'");
}

std::vector<KerasConfig> KerasConfig::children(const std::string& key) const {
  impl_->used.insert(key);
  const Json* j = lookup(*impl_, key);
  if (!j || j->is_null()) fail(key, "is required");
  if (!j->is_array()) fail(key, "must be a list of layer entries, got " + short_json(*j));
  std::vector<KerasConfig> out;
  for (size_t i = 0; i < j->size(); ++i)
    out.push_back(detail::make_config(impl_->doc, (*j)[i], impl_->version,
                                      where() + ": argument '" + key + "' entry " + std::to_string(i)));
  return out;
}

void KerasConfig::check_all_used() const {
  for (auto it = impl_->config->begin(); it != impl_->config->end(); ++it) {
    const std::string& key = it.key();
    if (impl_->used.count(key)) continue;
    if (key == "dtype") {
      if (!dtype_is_honourable(it.value()))
        fail(key, "= " + short_json(it.value()) + " is not supported (rnnx computes in float32 or float64)");
      continue;
    }
    if (detail::is_harmless_key(key)) continue;
    fail(key, "= " + short_json(it.value()) + " is not supported by rnnx");
  }
}

// ---------------------------------------------------------------------------------------
// Registry

namespace {

template <class T>
struct Registry {
  std::mutex mutex;
  std::map<std::string, KerasCellFactory<T>> cells;
  std::map<std::string, KerasLayerFactory<T>> layers;
};

template <class T>
Registry<T>& registry() {
  static Registry<T> r;
  return r;
}

}  // namespace

template <class T>
void register_keras_cell(const std::string& class_name, KerasCellFactory<T> factory) {
  if (class_name.empty() || !factory) throw ConfigError("register_keras_cell: empty class name or factory");
  auto& r = registry<T>();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.cells[class_name] = std::move(factory);
}

template <class T>
void register_keras_layer(const std::string& class_name, KerasLayerFactory<T> factory) {
  if (class_name.empty() || !factory) throw ConfigError("register_keras_layer: empty class name or factory");
  auto& r = registry<T>();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.layers[class_name] = std::move(factory);
}

template <class T>
void unregister_keras_class(const std::string& class_name) {
  auto& r = registry<T>();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.cells.erase(class_name);
  r.layers.erase(class_name);
}

namespace detail {

template <class T>
std::unique_ptr<Layer<T>> build_layer(const KerasConfig& c) {
  KerasLayerFactory<T> user;
  bool user_cell = false;
  {
    auto& r = registry<T>();
    std::lock_guard<std::mutex> lock(r.mutex);
    for (const std::string& n : {c.class_name(), c.registered_name()}) {
      auto it = r.layers.find(n);
      if (!user && it != r.layers.end()) user = it->second;
      user_cell = user_cell || r.cells.count(n) > 0;
    }
  }
  std::unique_ptr<Layer<T>> layer = user ? user(c) : builtin_layer<T>(c);
  if (!layer) {
    if (user_cell || is_builtin_cell_class(c.class_name()))
      throw ConfigError(c.where() + ": '" + c.class_name() + "' is a cell class; wrap it in an RNN layer");
    throw ConfigError(c.where() + ": unknown Keras layer class '" + c.class_name() +
                      "' (register it with rnnx::register_keras_layer)");
  }
  c.check_all_used();
  layer->set_name(c.name());
  return layer;
}

template <class T>
std::unique_ptr<Cell<T>> build_cell(const KerasConfig& c) {
  KerasCellFactory<T> user;
  {
    auto& r = registry<T>();
    std::lock_guard<std::mutex> lock(r.mutex);
    for (const std::string& n : {c.class_name(), c.registered_name()}) {
      auto it = r.cells.find(n);
      if (!user && it != r.cells.end()) user = it->second;
    }
  }
  std::unique_ptr<Cell<T>> cell = user ? user(c) : builtin_cell<T>(c);
  if (!cell)
    throw ConfigError(c.where() + ": unknown Keras cell class '" + c.class_name() +
                      "' (register it with rnnx::register_keras_cell)");
  c.check_all_used();
  return cell;
}

template std::unique_ptr<Layer<float>> build_layer<float>(const KerasConfig&);
template std::unique_ptr<Layer<double>> build_layer<double>(const KerasConfig&);
template std::unique_ptr<Cell<float>> build_cell<float>(const KerasConfig&);
template std::unique_ptr<Cell<double>> build_cell<double>(const KerasConfig&);

}  // namespace detail

// ---------------------------------------------------------------------------------------
// Entry points

template <class T>
std::unique_ptr<Layer<T>> layer_from_config(const std::string& json_text, const std::string& keras_version) {
  const KerasVersion version = KerasVersion::parse(keras_version);
  auto doc = detail::parse_json(json_text, "layer config");
  try {
    return detail::build_layer<T>(detail::make_config(doc, *doc, version, "layer config"));
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("layer config: malformed JSON structure: ") + e.what());
  }
}

template <class T>
std::unique_ptr<Cell<T>> cell_from_config(const std::string& json_text, const std::string& keras_version) {
  const KerasVersion version = KerasVersion::parse(keras_version);
  auto doc = detail::parse_json(json_text, "cell config");
  try {
    return detail::build_cell<T>(detail::make_config(doc, *doc, version, "cell config"));
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("cell config: malformed JSON structure: ") + e.what());
  }
}

template void register_keras_cell<float>(const std::string&, KerasCellFactory<float>);
template void register_keras_cell<double>(const std::string&, KerasCellFactory<double>);
template void register_keras_layer<float>(const std::string&, KerasLayerFactory<float>);
template void register_keras_layer<double>(const std::string&, KerasLayerFactory<double>);
template void unregister_keras_class<float>(const std::string&);
template void unregister_keras_class<double>(const std::string&);
template std::unique_ptr<Layer<float>> layer_from_config<float>(const std::string&, const std::string&);
template std::unique_ptr<Layer<double>> layer_from_config<double>(const std::string&, const std::string&);
template std::unique_ptr<Cell<float>> cell_from_config<float>(const std::string&, const std::string&);
template std::unique_ptr<Cell<double>> cell_from_config<double>(const std::string&, const std::string&);

}  // namespace rnnx
