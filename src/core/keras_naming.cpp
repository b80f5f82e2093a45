#include "core/keras_naming.h"

#include <regex>

namespace rnnx::detail {

std::string keras_snake_case(const std::string& class_name, bool keras3) {
  static const std::regex non_word(R"(\W+)");
  static const std::regex first("(.)([A-Z][a-z]+)");
  static const std::regex second("([a-z])([A-Z])");
  std::string s = keras3 ? std::regex_replace(class_name, non_word, "") : class_name;
  s = std::regex_replace(s, first, "$1_$2");
  s = std::regex_replace(s, second, "$1_$2");
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (!keras3 && !s.empty() && s[0] == '_') s = "private" + s;
  return s;
}

}  // namespace rnnx::detail
