#include "rnnx/model/summary.h"

#include <algorithm>
#include <cstdio>

namespace rnnx {
namespace {

// Keras summary_utils.readable_memory_size: "23.30 KB".
std::string readable_size(double bytes) {
  static const char* const units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  size_t u = 0;
  while (bytes / 1024.0 >= 1.0 && u + 1 < std::size(units)) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s", bytes, units[u]);
  return buf;
}

std::string pad(const std::string& s, size_t width, bool right_align) {
  if (s.size() >= width) return s;
  const std::string fill(width - s.size(), ' ');
  return right_align ? fill + s : s + fill;
}

}  // namespace

std::string format_shape(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] < 0 ? "None" : std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

std::string format_output_shapes(const std::vector<Shape>& shapes) {
  if (shapes.size() == 1) return format_shape(shapes[0]);
  std::string s = "[";
  for (size_t i = 0; i < shapes.size(); ++i) s += (i ? ", " : "") + format_shape(shapes[i]);
  return s + "]";
}

std::string format_count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string format_summary(const std::string& model_name, const std::vector<SummaryRow>& rows, bool show_connections,
                           size_t scalar_bytes) {
  std::vector<std::string> header{"Layer (type)", "Output Shape", "Param #"};
  if (show_connections) header.push_back("Connected to");
  std::vector<std::vector<std::string>> cells;
  int64_t total = 0, trainable = 0;
  for (const SummaryRow& r : rows) {
    std::vector<std::string> c{r.name + " (" + r.class_name + ")", r.output_shape, format_count(r.params)};
    if (show_connections) c.push_back(r.connected_to.empty() ? "-" : r.connected_to);
    cells.push_back(std::move(c));
    total += r.params;
    trainable += r.trainable_params;
  }
  std::vector<size_t> width(header.size());
  for (size_t j = 0; j < header.size(); ++j) {
    width[j] = header[j].size();
    for (const auto& c : cells) width[j] = std::max(width[j], c[j].size());
  }
  auto rule = [&](char ch) {
    std::string s = "+";
    for (size_t w : width) s += std::string(w + 2, ch) + "+";
    return s + "\n";
  };
  auto line = [&](const std::vector<std::string>& c) {
    std::string s = "|";
    for (size_t j = 0; j < c.size(); ++j) {
      // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on " " + string&&.
      s += ' ';
      s += pad(c[j], width[j], j == 2);
      s += " |";
    }
    return s + "\n";
  };
  std::string out = "Model: \"" + model_name + "\"\n" + rule('-') + line(header) + rule('=');
  for (const auto& c : cells) out += line(c);
  if (!cells.empty()) out += rule('-');
  const double bytes = static_cast<double>(scalar_bytes);
  out += " Total params: " + format_count(total) + " (" + readable_size(static_cast<double>(total) * bytes) + ")\n";
  out += " Trainable params: " + format_count(trainable) + " (" +
         readable_size(static_cast<double>(trainable) * bytes) + ")\n";
  out += " Non-trainable params: " + format_count(total - trainable) + " (" +
         readable_size(static_cast<double>(total - trainable) * bytes) + ")\n";
  return out;
}

}  // namespace rnnx
