#pragma once
// Pictures of the command-line tool, drawn with cairo (Debian libcairo2-dev) and written as
// PNG atomically (a temporary file renamed over the path). Every chart has a title,
// labelled axes and, for colour maps, a colour scale. IoError when the file cannot be
// written; ConfigError for empty or inconsistent data.
#include <cstdint>
#include <string>
#include <vector>

namespace rnnx::cli {

// A training history as `rnnx train` writes it: one column per logged name ("loss",
// "accuracy", "val_loss", "val_accuracy", "learning_rate", ...), one value per epoch (NaN
// where missing). Draws one panel per name that does not start with "val_" (and is not
// "learning_rate"), each with the training curve and, when present, its "val_" curve,
// against the epoch (1-based). Size: width x height pixels.
void write_history_png(const std::string& path, const std::vector<std::string>& names,
                       const std::vector<std::vector<double>>& columns, const std::string& title, int width = 1000,
                       int height = 450);

// A confusion matrix: counts[true_class][predicted_class], drawn as a heat map with the count
// in each cell, rows = true class, columns = predicted class, class names on both axes and
// a colour scale. Size: width x height pixels.
void write_confusion_png(const std::string& path, const std::vector<std::vector<int64_t>>& counts,
                         const std::vector<std::string>& class_names, const std::string& title, int width = 900,
                         int height = 800);

// ---- Charts of `rnnx explain` ----

// How a heat map's values map to colours: unit = viridis over [lo, hi] (sigmoid gates,
// 0..1); diverging = blue-white-red, symmetric around 0 over [lo, hi] (tanh values, states);
// gray = black-to-white over [lo, hi] (input images).
enum class ColourScale { unit, diverging, gray };

// One panel: values[r * cols + c] drawn with x = column (time step) and y = row (unit or
// feature, row 0 at the top). dimmed_columns (empty, or one flag per column) greys out
// columns, e.g. masked steps.
struct HeatMap {
  std::string title;
  std::vector<float> values;
  int64_t rows = 0, cols = 0;
  std::string x_label = "step", y_label = "unit";
  ColourScale scale = ColourScale::unit;
  double lo = 0.0, hi = 1.0;
  std::vector<uint8_t> dimmed_columns;
};

// Heat maps in a grid of `columns` panels per row (filled row by row), each with its title,
// axes and colour bar, under `title`; `note` (may be empty) is printed below the title, and
// `legend` lines (e.g. the cell's equations) in the first free grid slot, if there is one.
void write_heatmaps_png(const std::string& path, const std::string& title, const std::string& note,
                        const std::vector<HeatMap>& panels, int columns, int width, int height,
                        const std::vector<std::string>& legend = {});

// A scatter plot per gate as in Karpathy, Johnson & Fei-Fei (2015), Fig. 5: one dot per unit
// at x = fraction of steps the gate is left-saturated (< 0.1), y = right-saturated (> 0.9),
// both in [0, 1]; panels side by side under `title`.
struct SaturationPanel {
  std::string title;
  std::vector<double> left, right;  // one entry per unit
};
void write_saturation_png(const std::string& path, const std::string& title, const std::vector<SaturationPanel>& panels,
                          int width, int height);

}  // namespace rnnx::cli
