// Regularizers and constraints in Keras configs (KerasConfig::get_regularizer /
// get_constraint; spec §3.9). What a name means depends on the version that wrote the config:
//  - Keras 3 (keras/src/regularizers/__init__.py, constraints/__init__.py) looks names up in
//    {class name, to_snake_case(class name)}: "L1"/"l1" -> L1(0.01), "L2"/"l2" -> L2(0.01),
//    "L1L2"/"l1l2" -> L1L2() = (0, 0); the tf.keras string "l1_l2" is not a Keras 3 name
//    (Keras 3 raises "Could not interpret regularizer identifier"), so it is refused here too.
//  - tf.keras / Keras 2 (tf_keras/src/regularizers.py, keras 2.2.4 regularizers.py) look
//    names up in the module: "l1"/"L1", "l2"/"L2" as above, "L1L2" -> (0, 0), and the
//    function l1_l2() -> (0.01, 0.01); constraints also have the legacy aliases "maxnorm",
//    "nonneg", "unitnorm".
// A {"class_name", "config"} object (tf.keras form; Keras 3 adds "module" and
// "registered_name") names the same classes; its config overrides the class defaults
// (a null value keeps the default, as Keras' constructors do).
// "shared_object_id" (K3 keras/src/saving/serialization_lib.py): saving a .keras file runs
// in an ObjectSharingScope, and an object serialized twice gets "shared_object_id": id(obj)
// in each of its configs; an RNN layer serializes its cell's initializers, regularizers and
// constraints twice (once inside the "cell" config it then deletes), and one object passed
// to two layers gets the same id in both. On load, deserialize_keras_object would reuse the
// first object of an id, but regularizers/constraints/initializers are deserialized with
// module_objects (regularizers.deserialize etc.), which rebuilds the config from
// class_name + config alone and drops the id: Keras 3.15 reads every copy on its own and
// shares nothing (a later copy with other numbers keeps its numbers). So does rnnx: the key
// is accepted, whatever its value, and ignored.
#include <optional>
#include <string>
#include <vector>

#include "io/keras_config/keras_config_impl.h"
#include "rnnx/core/error.h"

namespace rnnx {
namespace {

std::string compact(const Json& j) {
  std::string s = j.dump();
  if (s.size() > 120) s = s.substr(0, 117) + "...";
  return s;
}

const Json* find_key(const KerasConfig::Impl& impl, const std::string& key) {
  auto it = impl.config->find(key);
  return it == impl.config->end() || it->is_null() ? nullptr : &*it;
}

// The class a name stands for, as a Regularizer with that class's defaults; null if the
// version does not know the name.
std::optional<Regularizer> regularizer_named(const std::string& name, const KerasVersion& v) {
  if (name == "l1" || name == "L1") return Regularizer::make_l1();
  if (name == "l2" || name == "L2") return Regularizer::make_l2();
  if (name == "L1L2") return Regularizer::make_l1_l2();
  if (v.major >= 3 && name == "l1l2") return Regularizer::make_l1_l2();
  if (v.major < 3 && name == "l1_l2") return Regularizer::make_l1_l2(0.01, 0.01);
  return std::nullopt;
}

std::optional<Constraint> constraint_named(const std::string& name, const KerasVersion& v) {
  const bool legacy = v.major < 3;
  if (name == "MaxNorm" || name == "max_norm" || (legacy && name == "maxnorm")) return Constraint::make_max_norm();
  if (name == "NonNeg" || name == "non_neg" || (legacy && name == "nonneg")) return Constraint::make_non_neg();
  if (name == "UnitNorm" || name == "unit_norm" || (legacy && name == "unitnorm")) return Constraint::make_unit_norm();
  if (name == "MinMaxNorm" || name == "min_max_norm") return Constraint::make_min_max_norm();
  return std::nullopt;
}

constexpr const char* kRegularizerForms =
    "null, a regularizer name ('l1', 'l2', 'L1L2', ...) or {\"class_name\": \"L1\" | \"L2\" | \"L1L2\", \"config\": "
    "{\"l1\": ..., \"l2\": ...}}";
constexpr const char* kConstraintForms =
    "null, a constraint name ('max_norm', 'non_neg', 'unit_norm', 'min_max_norm', or their class names) or "
    "{\"class_name\": \"MaxNorm\" | \"NonNeg\" | \"UnitNorm\" | \"MinMaxNorm\", \"config\": {...}}";

// Reads `key` of `c` as a regularizer or constraint (`family`, whose accepted forms `forms`
// describes): null / absent gives Out{}; a name; or a {"class_name", "config", ["module",
// "registered_name", "shared_object_id"]} object whose metadata must name a built-in class. `named(name)` gives
// the class of a name with its defaults (or nullopt), `unknown(name)` says why a string is
// refused, and `apply(out, class, key, value, fail)` reads one non-null config entry.
// Errors are ConfigError "<where>: argument '<key>' expected <forms>; got <value>, which ...".
template <class Out, class Named, class Unknown, class Apply>
Out read_setting(const KerasConfig& c, const KerasConfig::Impl& impl, const std::string& key, const char* family,
                 const char* forms, const Named& named, const Unknown& unknown, const Apply& apply) {
  const Json* j = find_key(impl, key);
  if (!j) return Out{};
  auto fail = [&](const std::string& what) {
    c.fail(key, "expected " + std::string(forms) + "; got " + compact(*j) + ", which " + what);
  };
  if (j->is_string()) {
    if (auto out = named(j->get<std::string>())) return *out;
    fail(unknown(j->get<std::string>()));
  }
  if (!j->is_object()) fail("is neither a name nor an object");
  auto cn = j->find("class_name");
  if (cn == j->end() || !cn->is_string()) fail("has no string \"class_name\"");
  const std::string cls = cn->get<std::string>();
  // Keras 3 writes registered_name null (or the class name) for built-ins, "package>Name" for
  // a registered custom class.
  auto reg = j->find("registered_name");
  if (reg != j->end() && !reg->is_null() && !(reg->is_string() && reg->get<std::string>() == cls))
    fail("is a custom " + std::string(family) + " (registered_name " + compact(*reg) + ") that rnnx cannot apply");
  for (auto it = j->begin(); it != j->end(); ++it) {
    const std::string& k = it.key();
    if (k == "class_name" || k == "config" || k == "registered_name" || k == "shared_object_id") continue;
    if (k != "module") fail("has an unexpected key '" + k + "'");
    if (!it->is_string() || it->get<std::string>().rfind("keras", 0) != 0)
      fail("is a " + std::string(family) + " from module " + compact(*it) + ", not a built-in Keras " + family);
  }
  const std::optional<Out> base = named(cls);
  if (!base) fail("names no " + std::string(family) + " class rnnx knows");
  Out out = *base;
  auto cfg = j->find("config");
  if (cfg == j->end() || cfg->is_null()) return out;
  if (!cfg->is_object()) fail("has a \"config\" that is not an object");
  for (auto it = cfg->begin(); it != cfg->end(); ++it)
    if (!it->is_null()) apply(out, cls, it.key(), *it, fail);  // null keeps the class default
  return out;
}

// Constraint axis: an integer or a non-empty list of integers.
template <class Fail>
std::vector<int64_t> read_axis(const Json& value, const Fail& fail) {
  std::vector<int64_t> axis;
  if (value.is_number_integer()) return {value.get<int64_t>()};
  if (value.is_array() && !value.empty())
    for (const auto& a : value)
      if (a.is_number_integer()) axis.push_back(a.get<int64_t>());
  if (axis.empty() || axis.size() != value.size())
    fail("has axis = " + compact(value) + " (expected an integer or a list of them)");
  return axis;
}

}  // namespace

Regularizer KerasConfig::get_regularizer(const std::string& key) const {
  impl_->used.insert(key);
  const KerasVersion& v = impl_->version;
  auto named = [&](const std::string& name) { return regularizer_named(name, v); };
  auto unknown = [&](const std::string& name) -> std::string {
    if (v.major >= 3 && name == "l1_l2")
      return "Keras 3 cannot interpret either (its name for L1L2 is 'l1l2', with l1 = l2 = 0; tf.keras's 'l1_l2' "
             "meant l1 = l2 = 0.01)";
    return "is not a regularizer name of Keras " + std::to_string(v.major);
  };
  auto apply = [](Regularizer& r, const std::string& cls, const std::string& k, const Json& value, const auto& fail) {
    const bool l1_ok = k == "l1" && cls != "L2" && cls != "l2";
    const bool l2_ok = k == "l2" && cls != "L1" && cls != "l1";
    if (!l1_ok && !l2_ok) fail("has an unsupported argument '" + k + "' for " + cls);
    if (!value.is_number() || value.get<double>() < 0.0)
      fail("has " + k + " = " + compact(value) + " (expected a non-negative number)");
    (k == "l1" ? r.l1 : r.l2) = value.get<double>();
  };
  return read_setting<Regularizer>(*this, *impl_, key, "regularizer", kRegularizerForms, named, unknown, apply);
}

Constraint KerasConfig::get_constraint(const std::string& key) const {
  impl_->used.insert(key);
  const KerasVersion& v = impl_->version;
  auto named = [&](const std::string& name) { return constraint_named(name, v); };
  auto unknown = [&](const std::string&) { return "is not a constraint name of Keras " + std::to_string(v.major); };
  auto apply = [](Constraint& c, const std::string& cls, const std::string& k, const Json& value, const auto& fail) {
    const ConstraintKind kind = c.kind;
    const bool has_max = kind == ConstraintKind::max_norm || kind == ConstraintKind::min_max_norm;
    const bool ok = (kind != ConstraintKind::non_neg && k == "axis") || (has_max && k == "max_value") ||
                    (kind == ConstraintKind::min_max_norm && (k == "min_value" || k == "rate"));
    if (!ok) fail("has an unsupported argument '" + k + "' for " + cls);
    if (k == "axis") {
      c.axis = read_axis(value, fail);
      return;
    }
    if (!value.is_number()) fail("has " + k + " = " + compact(value) + " (expected a number)");
    (k == "max_value" ? c.max_value : k == "min_value" ? c.min_value : c.rate) = value.get<double>();
  };
  return read_setting<Constraint>(*this, *impl_, key, "constraint", kConstraintForms, named, unknown, apply);
}

}  // namespace rnnx
