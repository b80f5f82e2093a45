// Command-line parsing and input reading shared by the subcommands.
#include <algorithm>
#include <cstdlib>

#include "cli.h"
#include "rnnx/core/error.h"
#include "rnnx/io/npy.h"

namespace rnnx::cli {

Args Args::parse(int argc, char** argv, int first, const std::vector<std::string>& known) {
  Args a;
  for (int i = first; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--help" || s == "-h") {
      a.help = true;
    } else if (s.size() > 1 && s[0] == '-') {
      if (std::find(known.begin(), known.end(), s) == known.end()) throw UsageError("unknown option '" + s + "'");
      if (i + 1 >= argc) throw UsageError("option '" + s + "' needs a value");
      a.options.emplace_back(s, argv[++i]);
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  std::string v = fallback;
  for (const auto& [k, val] : options)
    if (k == name) v = val;  // the last one given wins
  return v;
}

double Args::get_double(const std::string& name, double fallback) const {
  const std::string v = get(name);
  if (v.empty()) return fallback;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0' || !(d >= 0.0))
    throw UsageError("option '" + name + "' needs a number >= 0, got '" + v + "'");
  return d;
}

void Args::expect_positional(size_t min, size_t max, const std::string& usage) const {
  if (positional.size() < min || positional.size() > max)
    throw UsageError("expected " +
                     (min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max)) +
                     " arguments, got " + std::to_string(positional.size()) + "\n" + usage);
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<Tensor<float>> read_model_inputs(Model<float>& model, const std::string& path) {
  const std::vector<std::string> names = model.input_names();
  if (!ends_with(path, ".npz")) {
    if (names.size() != 1)
      throw FormatError("'" + path + "': the model has " + std::to_string(names.size()) +
                        " inputs; give them in an .npz archive keyed by the input names");
    return {read_npy(path).as<float>()};
  }
  const auto arrays = read_npz(path);
  std::string keys;
  for (const auto& [k, v] : arrays) keys += (keys.empty() ? "" : ", ") + k;
  std::vector<Tensor<float>> out;
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = arrays.find(names[i]);
    if (it == arrays.end()) it = arrays.find("input_" + std::to_string(i));
    if (it == arrays.end() && names.size() == 1 && arrays.size() == 1) it = arrays.begin();
    if (it == arrays.end())
      throw FormatError("'" + path + "' has no array for model input '" + names[i] + "' (nor 'input_" +
                        std::to_string(i) + "'); it holds: " + (keys.empty() ? "nothing" : keys));
    out.push_back(it->second.as<float>());
  }
  return out;
}

}  // namespace rnnx::cli
