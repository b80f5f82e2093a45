// Pictures of the command-line tool (plot.h), drawn with cairo on an image surface. Text uses
// cairo's toy font API with DejaVu Sans (Debian's default sans font; fontconfig substitutes
// another sans font where it is missing).
#include "plot.h"

#include <cairo.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "rnnx/core/error.h"

namespace rnnx::cli {
namespace {

constexpr double kTitleSize = 17, kPanelTitleSize = 14, kLabelSize = 13, kTickSize = 12;
const char* const kFont = "DejaVu Sans";

struct Rgb {
  double r = 0, g = 0, b = 0;
};
constexpr Rgb kBlack{0, 0, 0}, kAxis{0.25, 0.25, 0.25}, kGrid{0.88, 0.88, 0.88}, kNoteGray{0.35, 0.35, 0.35};
constexpr Rgb kBlue{0.122, 0.467, 0.706}, kOrange{1.0, 0.498, 0.055}, kGreen{0.173, 0.627, 0.173},
    kRed{0.839, 0.153, 0.157}, kPurple{0.580, 0.404, 0.741};

Rgb hex(unsigned v) { return {((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0}; }

// Colour of t in [0, 1] on a map given by evenly spaced anchors.
template <size_t N>
Rgb interpolate(const std::array<unsigned, N>& anchors, double t) {
  if (!(t >= 0)) t = 0;  // also NaN
  t = std::min(t, 1.0) * (N - 1);
  const size_t i = std::min(static_cast<size_t>(t), N - 2);
  const double f = t - static_cast<double>(i);
  const Rgb a = hex(anchors[i]), b = hex(anchors[i + 1]);
  return {a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b)};
}

// matplotlib's viridis, RdBu_r and Blues, sampled.
constexpr std::array<unsigned, 10> kViridis{0x440154, 0x482878, 0x3E4A89, 0x31688E, 0x26828E,
                                            0x1F9E89, 0x35B779, 0x6DCD59, 0xB4DE2C, 0xFDE725};
constexpr std::array<unsigned, 11> kRdBu{0x053061, 0x2166AC, 0x4393C3, 0x92C5DE, 0xD1E5F0, 0xF7F7F7,
                                         0xFDDBC7, 0xF4A582, 0xD6604D, 0xB2182B, 0x67001F};
constexpr std::array<unsigned, 9> kBlues{0xF7FBFF, 0xDEEBF7, 0xC6DBEF, 0x9ECAE1, 0x6BAED6,
                                         0x4292C6, 0x2171B5, 0x08519C, 0x08306B};

Rgb colour_of(ColourScale scale, double t) {
  switch (scale) {
    case ColourScale::unit:
      return interpolate(kViridis, t);
    case ColourScale::diverging:
      return interpolate(kRdBu, t);
    case ColourScale::gray:
      break;
  }
  const double v = std::clamp(std::isnan(t) ? 0.0 : t, 0.0, 1.0);
  return {v, v, v};
}

// An image surface with white background; save() writes it atomically.
class Canvas {
 public:
  Canvas(int width, int height) {
    if (width < 120 || height < 120 || width > 20000 || height > 20000)
      throw ConfigError("picture size " + std::to_string(width) + "x" + std::to_string(height) +
                        " is out of range (120..20000 pixels each way)");
    surface_ = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    cr_ = cairo_create(surface_);
    if (cairo_status(cr_) != CAIRO_STATUS_SUCCESS) {
      destroy();
      throw IoError("cannot create a " + std::to_string(width) + "x" + std::to_string(height) + " picture");
    }
    cairo_set_source_rgb(cr_, 1, 1, 1);
    cairo_paint(cr_);
  }
  ~Canvas() { destroy(); }
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;
  cairo_t* cr() const { return cr_; }

  void save(const std::string& path) {
    cairo_surface_flush(surface_);
    const std::string tmp = path + ".tmp";
    const cairo_status_t st = cairo_surface_write_to_png(surface_, tmp.c_str());
    std::error_code ec;
    if (st != CAIRO_STATUS_SUCCESS) {
      std::filesystem::remove(tmp, ec);
      throw IoError("cannot write '" + path + "': " + cairo_status_to_string(st));
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
      std::filesystem::remove(tmp, ec);
      throw IoError("cannot write '" + path + "': " + ec.message());
    }
  }

 private:
  void destroy() {
    if (cr_ != nullptr) cairo_destroy(cr_);
    if (surface_ != nullptr) cairo_surface_destroy(surface_);
    cr_ = nullptr;
    surface_ = nullptr;
  }
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
};

void set_colour(cairo_t* cr, Rgb c, double alpha = 1.0) { cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha); }

void set_font(cairo_t* cr, double size, bool bold) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& s, double size, bool bold = false) {
  set_font(cr, size, bold);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

// `s` shortened with "…" until it fits in `width` pixels.
std::string fit(cairo_t* cr, std::string s, double size, double width, bool bold = false) {
  if (text_width(cr, s, size, bold) <= width) return s;
  while (!s.empty()) {
    s.pop_back();
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();  // whole UTF-8 chars
    if (text_width(cr, s + "…", size, bold) <= width) break;
  }
  return s + "…";
}

struct TextStyle {
  double size = kLabelSize;
  double ax = 0.5, ay = 0.5;  // where the anchor lies in the text box: 0 left/top .. 1 right/bottom
  double angle = 0;           // radians, counter-clockwise is negative (cairo's y points down)
  bool bold = false;
  Rgb colour = kBlack;
};

void text(cairo_t* cr, double x, double y, const std::string& s, const TextStyle& st) {
  set_font(cr, st.size, st.bold);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_font_extents_t f;
  cairo_font_extents(cr, &f);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, st.angle);
  cairo_move_to(cr, -st.ax * e.x_advance, -st.ay * (f.ascent + f.descent) + f.ascent);
  set_colour(cr, st.colour);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

void line(cairo_t* cr, double x0, double y0, double x1, double y1, Rgb c, double width = 1.0) {
  set_colour(cr, c);
  cairo_set_line_width(cr, width);
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x1, y1);
  cairo_stroke(cr);
}

void frame(cairo_t* cr, double x, double y, double w, double h, Rgb c = kAxis) {
  set_colour(cr, c);
  cairo_set_line_width(cr, 1.0);
  cairo_rectangle(cr, std::round(x) + 0.5, std::round(y) + 0.5, std::round(w), std::round(h));
  cairo_stroke(cr);
}

// About `count` round values (1, 2, 2.5 or 5 times a power of ten apart) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count, double* step_out = nullptr) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / std::max(1, count - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 2.5, 5.0})
    if (m * mag >= raw * 0.999) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  if (step_out != nullptr) *step_out = step;
  return ticks;
}

std::string tick_label(double v, double step) {
  // Enough decimals to tell ticks `step` apart: 0.25 -> 2, 2.5 -> 1, 250 -> 0.
  int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  const double scaled = step * std::pow(10.0, decimals);
  if (std::abs(scaled - std::round(scaled)) > 1e-6) ++decimals;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 6), v);
  return buf;
}

// Integer ticks 0, k, 2k, ... below n, with k from 1, 2, 5, 10, 20, 50, ... the smallest that
// gives at most `count` ticks.
std::vector<int64_t> index_ticks(int64_t n, int count) {
  int64_t step = 0;
  for (int64_t mag = 1; step == 0; mag *= 10)
    for (int64_t m : {1, 2, 5})
      if ((n - 1) / (m * mag) + 1 <= count) {
        step = m * mag;
        break;
      }
  std::vector<int64_t> ticks;
  for (int64_t v = 0; v < n; v += step) ticks.push_back(v);
  return ticks;
}

// A vertical colour bar at (x, y, w, h) from lo (bottom) to hi (top), ticks on the right.
void colour_bar(cairo_t* cr, double x, double y, double w, double h, ColourScale scale, double lo, double hi) {
  const int n = std::max(2, static_cast<int>(h));
  for (int i = 0; i < n; ++i) {
    set_colour(cr, colour_of(scale, 1.0 - (i + 0.5) / n));
    cairo_rectangle(cr, x, y + h * i / n, w, h / n + 0.6);
    cairo_fill(cr);
  }
  frame(cr, x, y, w, h);
  double step = 1;
  for (double v : nice_ticks(lo, hi, 5, &step)) {
    const double ty = y + h * (hi - v) / (hi - lo);
    if (ty < y - 0.5 || ty > y + h + 0.5) continue;
    line(cr, x + w, ty, x + w + 4, ty, kAxis);
    text(cr, x + w + 7, ty, tick_label(v, step), {kTickSize, 0, 0.5});
  }
}

void check_size(const std::string& what, int width, int height) {
  if (width <= 0 || height <= 0) throw ConfigError(what + ": picture size must be positive");
}

// ---- heat maps ----

// Draws one heat map panel into the box (x, y, w, h).
void heat_panel(cairo_t* cr, const HeatMap& m, double x, double y, double w, double h) {
  const double left = 62, right = 78, top = 28, bottom = 46;
  const double px = x + left, py = y + top, pw = w - left - right, ph = h - top - bottom;
  text(cr, x + w / 2, y + 4, fit(cr, m.title, kPanelTitleSize, w - 8, true), {kPanelTitleSize, 0.5, 0, 0, true});
  if (pw < 10 || ph < 10) return;

  // The cells as a small image scaled up without smoothing.
  cairo_surface_t* img =
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(m.cols), static_cast<int>(m.rows));
  const int stride = cairo_image_surface_get_stride(img);
  unsigned char* pixels = cairo_image_surface_get_data(img);
  const double span = m.hi > m.lo ? m.hi - m.lo : 1.0;
  for (int64_t r = 0; r < m.rows; ++r) {
    auto* row = reinterpret_cast<uint32_t*>(pixels + r * stride);
    for (int64_t c = 0; c < m.cols; ++c) {
      Rgb col = colour_of(m.scale, (m.values[static_cast<size_t>(r * m.cols + c)] - m.lo) / span);
      if (!m.dimmed_columns.empty() && m.dimmed_columns[static_cast<size_t>(c)] != 0)
        col = {0.55 + 0.3 * col.r, 0.55 + 0.3 * col.g, 0.55 + 0.3 * col.b};
      row[c] = (static_cast<uint32_t>(col.r * 255 + 0.5) << 16) | (static_cast<uint32_t>(col.g * 255 + 0.5) << 8) |
               static_cast<uint32_t>(col.b * 255 + 0.5);
    }
  }
  cairo_surface_mark_dirty(img);
  cairo_save(cr);
  cairo_rectangle(cr, px, py, pw, ph);
  cairo_clip(cr);
  cairo_translate(cr, px, py);
  cairo_scale(cr, pw / static_cast<double>(m.cols), ph / static_cast<double>(m.rows));
  cairo_set_source_surface(cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(img);
  frame(cr, px, py, pw, ph);

  // Axes: tick marks at cell centres.
  const int x_count = std::max(2, static_cast<int>(pw / 38)), y_count = std::max(2, static_cast<int>(ph / 30));
  for (int64_t v : index_ticks(m.cols, x_count)) {
    const double tx = px + pw * (static_cast<double>(v) + 0.5) / static_cast<double>(m.cols);
    line(cr, tx, py + ph, tx, py + ph + 4, kAxis);
    text(cr, tx, py + ph + 6, std::to_string(v), {kTickSize, 0.5, 0});
  }
  for (int64_t v : index_ticks(m.rows, y_count)) {
    const double ty = py + ph * (static_cast<double>(v) + 0.5) / static_cast<double>(m.rows);
    line(cr, px - 4, ty, px, ty, kAxis);
    text(cr, px - 6, ty, std::to_string(v), {kTickSize, 1, 0.5});
  }
  text(cr, px + pw / 2, py + ph + 24, m.x_label, {kLabelSize, 0.5, 0});
  text(cr, x + 12, py + ph / 2, m.y_label, {kLabelSize, 0.5, 0.5, -M_PI / 2});
  colour_bar(cr, px + pw + 12, py, 14, ph, m.scale, m.lo, m.hi);
}

// ---- line charts ----

struct Series {
  std::vector<double> values;
  std::string label;
  Rgb colour;
  bool dashed = false;
};

// One training-curve panel: series against the epoch (1-based) in the box (x, y, w, h).
void curve_panel(cairo_t* cr, const std::string& title, const std::string& y_label, const std::vector<Series>& series,
                 double x, double y, double w, double h) {
  const double left = 70, right = 20, top = 30, bottom = 50;
  const double px = x + left, py = y + top, pw = w - left - right, ph = h - top - bottom;
  text(cr, x + w / 2, y + 4, fit(cr, title, kPanelTitleSize, w - 8, true), {kPanelTitleSize, 0.5, 0, 0, true});
  size_t epochs = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Series& s : series) {
    epochs = std::max(epochs, s.values.size());
    for (double v : s.values)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (!(lo <= hi)) lo = 0, hi = 1;  // nothing finite to draw
  const double pad = hi > lo ? 0.06 * (hi - lo) : std::max(0.05 * std::abs(hi), 0.05);
  lo -= pad, hi += pad;
  const double x_lo = 0.5, x_hi = static_cast<double>(epochs) + 0.5;
  auto sx = [&](double e) { return px + pw * (e - x_lo) / (x_hi - x_lo); };
  auto sy = [&](double v) { return py + ph * (hi - v) / (hi - lo); };

  double step = 1;
  for (double v : nice_ticks(lo, hi, std::max(3, static_cast<int>(ph / 45)), &step)) {
    if (v < lo || v > hi) continue;
    line(cr, px, sy(v), px + pw, sy(v), kGrid);
    line(cr, px - 4, sy(v), px, sy(v), kAxis);
    text(cr, px - 7, sy(v), tick_label(v, step), {kTickSize, 1, 0.5});
  }
  for (int64_t e : index_ticks(static_cast<int64_t>(epochs) + 1, std::max(2, static_cast<int>(pw / 45)))) {
    if (e == 0) continue;
    line(cr, sx(static_cast<double>(e)), py + ph, sx(static_cast<double>(e)), py + ph + 4, kAxis);
    text(cr, sx(static_cast<double>(e)), py + ph + 6, std::to_string(e), {kTickSize, 0.5, 0});
  }
  frame(cr, px, py, pw, ph);
  text(cr, px + pw / 2, py + ph + 26, "epoch", {kLabelSize, 0.5, 0});
  text(cr, x + 14, py + ph / 2, y_label, {kLabelSize, 0.5, 0.5, -M_PI / 2});

  cairo_save(cr);
  cairo_rectangle(cr, px, py, pw, ph);
  cairo_clip(cr);
  for (const Series& s : series) {
    set_colour(cr, s.colour);
    cairo_set_line_width(cr, 2.2);
    const double dash[] = {7, 4};
    cairo_set_dash(cr, dash, s.dashed ? 2 : 0, 0);
    bool pen = false;
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (!std::isfinite(s.values[i])) {
        pen = false;
        continue;
      }
      const double ex = sx(static_cast<double>(i + 1)), ey = sy(s.values[i]);
      pen ? cairo_line_to(cr, ex, ey) : cairo_move_to(cr, ex, ey);
      pen = true;
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    for (size_t i = 0; i < s.values.size(); ++i)
      if (std::isfinite(s.values[i])) {
        cairo_arc(cr, sx(static_cast<double>(i + 1)), sy(s.values[i]), 3.2, 0, 2 * M_PI);
        cairo_fill(cr);
      }
  }
  cairo_restore(cr);

  // Legend in the corner with the fewest points under it.
  double legend_w = 0;
  for (const Series& s : series) legend_w = std::max(legend_w, text_width(cr, s.label, kLabelSize));
  legend_w += 52;
  const double legend_h = 10 + 20.0 * static_cast<double>(series.size());
  double best_x = px + pw - legend_w - 8, best_y = py + 8;
  int best = std::numeric_limits<int>::max();
  for (int corner = 0; corner < 4; ++corner) {
    const double lx = corner % 2 == 0 ? px + pw - legend_w - 8 : px + 8;
    const double ly = corner < 2 ? py + 8 : py + ph - legend_h - 8;
    int inside = 0;
    for (const Series& s : series)
      for (size_t i = 0; i < s.values.size(); ++i) {
        const double ex = sx(static_cast<double>(i + 1)), ey = sy(s.values[i]);
        if (ex >= lx - 6 && ex <= lx + legend_w + 6 && ey >= ly - 6 && ey <= ly + legend_h + 6) ++inside;
      }
    if (inside < best) best = inside, best_x = lx, best_y = ly;
  }
  cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
  cairo_rectangle(cr, best_x, best_y, legend_w, legend_h);
  cairo_fill(cr);
  frame(cr, best_x, best_y, legend_w, legend_h, {0.7, 0.7, 0.7});
  for (size_t i = 0; i < series.size(); ++i) {
    const double ly = best_y + 15 + 20.0 * static_cast<double>(i);
    set_colour(cr, series[i].colour);
    cairo_set_line_width(cr, 2.2);
    const double dash[] = {7, 4};
    cairo_set_dash(cr, dash, series[i].dashed ? 2 : 0, 0);
    cairo_move_to(cr, best_x + 8, ly);
    cairo_line_to(cr, best_x + 38, ly);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    text(cr, best_x + 44, ly, series[i].label, {kLabelSize, 0, 0.5});
  }
}

// "sparse_categorical_accuracy" -> "sparse categorical accuracy".
std::string spaced(std::string s) {
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

}  // namespace

void write_history_png(const std::string& path, const std::vector<std::string>& names,
                       const std::vector<std::vector<double>>& columns, const std::string& title, int width,
                       int height) {
  check_size("history picture", width, height);
  if (names.size() != columns.size())
    throw ConfigError("history picture: " + std::to_string(names.size()) + " names for " +
                      std::to_string(columns.size()) + " columns");
  std::vector<size_t> metrics;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i].rfind("val_", 0) != 0 && names[i] != "learning_rate" && names[i] != "lr") metrics.push_back(i);
  if (metrics.empty() || columns[metrics[0]].empty())
    throw ConfigError("history picture: no training metric with values (names: " + std::to_string(names.size()) + ")");
  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();
  text(cr, width / 2.0, 10, fit(cr, title, kTitleSize, width - 20, true), {kTitleSize, 0.5, 0, 0, true});
  const double top = 40, panel_w = static_cast<double>(width) / static_cast<double>(metrics.size());
  for (size_t k = 0; k < metrics.size(); ++k) {
    const std::string& name = names[metrics[k]];
    std::vector<Series> series{{columns[metrics[k]], "training", kBlue, false}};
    for (size_t j = 0; j < names.size(); ++j)
      if (names[j] == "val_" + name &&
          std::any_of(columns[j].begin(), columns[j].end(), [](double v) { return std::isfinite(v); }))
        series.push_back({columns[j], "validation", kOrange, true});  // not when every value is NA
    const std::string panel_title =
        series.size() > 1 ? "Training and validation " + spaced(name) : "Training " + spaced(name);
    curve_panel(cr, panel_title, name, series, panel_w * static_cast<double>(k) + 6, top, panel_w - 12,
                height - top - 8);
  }
  canvas.save(path);
}

void write_confusion_png(const std::string& path, const std::vector<std::vector<int64_t>>& counts,
                         const std::vector<std::string>& class_names, const std::string& title, int width, int height) {
  check_size("confusion picture", width, height);
  const size_t n = counts.size();
  if (n == 0) throw ConfigError("confusion picture: no classes");
  for (const auto& row : counts)
    if (row.size() != n) throw ConfigError("confusion picture: the matrix is not square");
  if (!class_names.empty() && class_names.size() != n)
    throw ConfigError("confusion picture: " + std::to_string(class_names.size()) + " class names for " +
                      std::to_string(n) + " classes");
  std::vector<std::string> labels = class_names;
  if (labels.empty())
    for (size_t i = 0; i < n; ++i) labels.push_back(std::to_string(i));
  int64_t peak = 1;
  for (const auto& row : counts)
    for (int64_t c : row) peak = std::max(peak, c);

  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();
  text(cr, width / 2.0, 10, fit(cr, title, kTitleSize, width - 20, true), {kTitleSize, 0.5, 0, 0, true});
  // Long names are shortened to 150 px; x labels turn 45 degrees when they do not fit a cell.
  for (std::string& l : labels) l = fit(cr, l, kLabelSize, 150);
  double widest = 0;
  for (const std::string& l : labels) widest = std::max(widest, text_width(cr, l, kLabelSize));
  const double top = 48, right = 110, left = widest + 44;
  const double guess_cell = std::min((width - left - right) / static_cast<double>(n), 80.0);
  const bool rotate = widest + 6 > guess_cell;
  const double bottom = (rotate ? widest * 0.72 + 16 : 24) + 34;
  const double cell = std::max(
      4.0, std::min((width - left - right) / static_cast<double>(n), (height - top - bottom) / static_cast<double>(n)));
  const double grid = cell * static_cast<double>(n);
  const double gx = left + std::max(0.0, (width - left - right - grid) / 2), gy = top;
  const double count_size = std::clamp(cell * 0.32, 7.0, 14.0);
  for (size_t r = 0; r < n; ++r)
    for (size_t c = 0; c < n; ++c) {
      const double t = static_cast<double>(counts[r][c]) / static_cast<double>(peak);
      set_colour(cr, interpolate(kBlues, t));
      cairo_rectangle(cr, gx + cell * c, gy + cell * r, cell, cell);
      cairo_fill(cr);
      if (cell >= 14)
        text(cr, gx + cell * (c + 0.5), gy + cell * (r + 0.5), std::to_string(counts[r][c]),
             {count_size, 0.5, 0.5, 0, r == c, t > 0.5 ? Rgb{1, 1, 1} : kBlack});
    }
  frame(cr, gx, gy, grid, grid);
  for (size_t i = 0; i < n; ++i) {
    const double mid = cell * (i + 0.5);
    text(cr, gx - 6, gy + mid, labels[i], {kLabelSize, 1, 0.5});
    if (rotate)
      text(cr, gx + mid + 4, gy + grid + 6, labels[i], {kLabelSize, 1, 0.5, -M_PI / 4});
    else
      text(cr, gx + mid, gy + grid + 6, labels[i], {kLabelSize, 0.5, 0});
  }
  text(cr, gx + grid / 2, gy + grid + bottom - 12, "predicted class", {kLabelSize, 0.5, 1, 0, true});
  text(cr, gx - widest - 30, gy + grid / 2, "true class", {kLabelSize, 0.5, 0.5, -M_PI / 2, true});
  // The colour bar shows counts, on the Blues map.
  const double bx = gx + grid + 22, bh = grid;
  for (int i = 0; i < static_cast<int>(bh); ++i) {
    set_colour(cr, interpolate(kBlues, 1.0 - (i + 0.5) / bh));
    cairo_rectangle(cr, bx, gy + i, 16, 1.6);
    cairo_fill(cr);
  }
  frame(cr, bx, gy, 16, bh);
  double step = 1;
  std::vector<double> ticks = nice_ticks(0, static_cast<double>(peak), 6, &step);
  if (step < 1) {  // counts are whole numbers
    step = 1;
    ticks.clear();
    for (int64_t v = 0; v <= peak; ++v) ticks.push_back(static_cast<double>(v));
  }
  for (double v : ticks) {
    if (v > static_cast<double>(peak)) continue;
    const double ty = gy + bh * (1 - v / static_cast<double>(peak));
    line(cr, bx + 16, ty, bx + 20, ty, kAxis);
    text(cr, bx + 23, ty, tick_label(v, step), {kTickSize, 0, 0.5});
  }
  text(cr, bx + 8, gy - 8, "count", {kTickSize, 0.5, 1});
  canvas.save(path);
}

void write_heatmaps_png(const std::string& path, const std::string& title, const std::string& note,
                        const std::vector<HeatMap>& panels, int columns, int width, int height,
                        const std::vector<std::string>& legend) {
  check_size("heat map picture", width, height);
  if (panels.empty() || columns <= 0) throw ConfigError("heat map picture: no panels");
  for (const HeatMap& m : panels)
    if (m.rows <= 0 || m.cols <= 0 || static_cast<int64_t>(m.values.size()) != m.rows * m.cols ||
        (!m.dimmed_columns.empty() && static_cast<int64_t>(m.dimmed_columns.size()) != m.cols))
      throw ConfigError("heat map picture: panel '" + m.title + "' has inconsistent data");
  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();
  text(cr, width / 2.0, 10, fit(cr, title, kTitleSize, width - 20, true), {kTitleSize, 0.5, 0, 0, true});
  double top = 38;
  if (!note.empty()) {
    text(cr, width / 2.0, top, fit(cr, note, kLabelSize, width - 20), {kLabelSize, 0.5, 0, 0, false, kNoteGray});
    top += 24;
  }
  const int rows = static_cast<int>((panels.size() + static_cast<size_t>(columns) - 1) / static_cast<size_t>(columns));
  const double pw = static_cast<double>(width) / columns, ph = (height - top) / rows;
  for (size_t i = 0; i < panels.size(); ++i) {
    const int r = static_cast<int>(i) / columns, c = static_cast<int>(i) % columns;
    heat_panel(cr, panels[i], pw * c + 4, top + ph * r + 4, pw - 8, ph - 8);
  }
  const size_t free_slot = panels.size();
  if (!legend.empty() && free_slot < static_cast<size_t>(rows * columns)) {
    const double lx = pw * static_cast<double>(free_slot % columns) + 30;
    const double ly = top + ph * static_cast<double>(free_slot / columns) + 40;
    for (size_t i = 0; i < legend.size(); ++i)
      text(cr, lx, ly + 24.0 * static_cast<double>(i), fit(cr, legend[i], kLabelSize + 1, pw - 40, i == 0),
           {kLabelSize + 1, 0, 0, 0, i == 0});
  }
  canvas.save(path);
}

void write_saturation_png(const std::string& path, const std::string& title, const std::vector<SaturationPanel>& panels,
                          int width, int height) {
  check_size("saturation picture", width, height);
  if (panels.empty()) throw ConfigError("saturation picture: no panels");
  for (const SaturationPanel& p : panels)
    if (p.left.size() != p.right.size()) throw ConfigError("saturation picture: panel '" + p.title + "' is ragged");
  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();
  text(cr, width / 2.0, 10, fit(cr, title, kTitleSize, width - 20, true), {kTitleSize, 0.5, 0, 0, true});
  const Rgb colours[] = {kBlue, kOrange, kGreen, kRed, kPurple};
  const double top = 40, panel_w = static_cast<double>(width) / static_cast<double>(panels.size());
  for (size_t k = 0; k < panels.size(); ++k) {
    const SaturationPanel& p = panels[k];
    const double x = panel_w * static_cast<double>(k), left = 70, right = 22, bottom = 52, head = 28;
    const double side = std::max(20.0, std::min(panel_w - left - right, height - top - head - bottom));
    const double px = x + left + std::max(0.0, (panel_w - left - right - side) / 2), py = top + head;
    text(cr, px + side / 2, top + 2, fit(cr, p.title, kPanelTitleSize, panel_w - 8, true),
         {kPanelTitleSize, 0.5, 0, 0, true});
    for (double v : nice_ticks(0, 1, 6)) {
      const double tx = px + side * v, ty = py + side * (1 - v);
      line(cr, tx, py, tx, py + side, kGrid);
      line(cr, px, ty, px + side, ty, kGrid);
      line(cr, tx, py + side, tx, py + side + 4, kAxis);
      line(cr, px - 4, ty, px, ty, kAxis);
      text(cr, tx, py + side + 6, tick_label(v, 0.2), {kTickSize, 0.5, 0});
      text(cr, px - 7, ty, tick_label(v, 0.2), {kTickSize, 1, 0.5});
    }
    // A unit cannot be both: every dot lies below x + y = 1.
    set_colour(cr, {0.6, 0.6, 0.6});
    const double dash[] = {5, 4};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_line_width(cr, 1.2);
    cairo_move_to(cr, px, py);
    cairo_line_to(cr, px + side, py + side);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    frame(cr, px, py, side, side);
    for (size_t u = 0; u < p.left.size(); ++u) {
      cairo_arc(cr, px + side * std::clamp(p.left[u], 0.0, 1.0), py + side * (1 - std::clamp(p.right[u], 0.0, 1.0)),
                3.6, 0, 2 * M_PI);
      set_colour(cr, colours[k % 5], 0.55);
      cairo_fill_preserve(cr);
      set_colour(cr, colours[k % 5]);
      cairo_set_line_width(cr, 0.8);
      cairo_stroke(cr);
    }
    text(cr, px + side / 2, py + side + 26, "fraction left-saturated (< 0.1)", {kLabelSize, 0.5, 0});
    text(cr, x + 16, py + side / 2, "fraction right-saturated (> 0.9)", {kLabelSize, 0.5, 0.5, -M_PI / 2});
  }
  canvas.save(path);
}

}  // namespace rnnx::cli
