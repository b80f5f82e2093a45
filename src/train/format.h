#pragma once
// Python-compatible number formatting for files the callbacks write (CSV rows, checkpoint
// file names), so they read like the ones Keras writes.
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "rnnx/core/error.h"
#include "rnnx/train/logs.h"

namespace rnnx::detail {

// Python repr(float): the shortest digits that round-trip, in fixed notation when the
// decimal exponent is in [-4, 16), else d.ddde±XX; "1.0" keeps its ".0"; nan, inf, -inf.
inline std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);  // e.g. "-1.2345e-05"
  const size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  const int exp = std::stoi(sci.substr(e + 1));
  const bool negative = mant[0] == '-';
  if (negative) mant = mant.substr(1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  // Built with append(): GCC 12 warns falsely (-Wrestrict) on some operator+ chains.
  std::string out = negative ? "-" : "";
  if (exp < -4 || exp >= 16) {
    out.append(digits, 0, 1);
    if (digits.size() > 1) out.append(".").append(digits, 1, std::string::npos);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out.append(ebuf);
  } else if (exp < 0) {
    out.append("0.").append(static_cast<size_t>(-exp - 1), '0').append(digits);
  } else {
    const size_t int_len = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      out.append(digits).append(int_len - digits.size(), '0').append(".0");
    } else {
      out.append(digits, 0, int_len).append(".").append(digits, int_len, std::string::npos);
    }
  }
  return out;
}

// Python str.format for a checkpoint path: "{epoch}", "{epoch:02d}", "{val_loss:.2f}", ...
// `epoch` is the 1-based epoch; other names come from the logs. Supported specs: an
// optional fill-zero/width and precision with a type d, f, e or g (d rounds a float). An
// unknown name or a malformed pattern is a ConfigError.
inline std::string format_path(const std::string& pattern, int64_t epoch, const Logs& logs) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '{' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (c == '}' && i + 1 < pattern.size() && pattern[i + 1] == '}') {
      out += '}';
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t close = pattern.find('}', i);
    if (close == std::string::npos) throw ConfigError("checkpoint filepath '" + pattern + "': unmatched '{'");
    const std::string field = pattern.substr(i + 1, close - i - 1);
    const size_t colon = field.find(':');
    const std::string name = field.substr(0, colon);
    const std::string spec = colon == std::string::npos ? "" : field.substr(colon + 1);
    double value = 0.0;
    const bool is_epoch = name == "epoch";
    if (is_epoch) {
      value = static_cast<double>(epoch);
    } else if (auto v = logs.get(name)) {
      value = *v;
    } else {
      throw ConfigError("checkpoint filepath '" + pattern + "': no value named '" + name +
                        "' (available: epoch and the logs)");
    }
    if (spec.empty()) {
      out += is_epoch ? std::to_string(epoch) : python_float_repr(value);
    } else {
      // Only [width][.precision]type reaches snprintf.
      const char type = spec.back();
      const std::string body = spec.substr(0, spec.size() - 1);
      const size_t dot = body.find('.');
      bool ok = type == 'd' || type == 'f' || type == 'e' || type == 'g';
      for (size_t k = 0; k < body.size(); ++k)
        ok = ok && (std::isdigit(static_cast<unsigned char>(body[k])) || (k == dot && k + 1 < body.size()));
      if (!ok || body.size() > 6)
        throw ConfigError("checkpoint filepath '" + pattern + "': unsupported format '" + spec + "'");
      const std::string fmt = "%" + spec.substr(0, spec.size() - 1) + (type == 'd' ? "lld" : std::string(1, type));
      char buf[128];
      if (type == 'd')
        std::snprintf(buf, sizeof buf, fmt.c_str(), static_cast<long long>(std::llround(value)));
      else
        std::snprintf(buf, sizeof buf, fmt.c_str(), value);
      out += buf;
    }
    i = close;
  }
  return out;
}

}  // namespace rnnx::detail
