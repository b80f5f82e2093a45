#pragma once
// Data sources of `rnnx train`, `evaluate`, `predict` and `explain` (one set of options):
//
//   (none)            Fashion-MNIST from Debian's dataset-fashion-mnist package
//                     (/usr/share/datasets/fashion-mnist, or $RNNX_FASHION_MNIST_DIR):
//                     28x28 images read row by row
//                     as 28 steps of 28 features, pixels scaled to [0, 1]; train and test sets.
//   DIR               a directory of MNIST-format IDX files ({train,t10k}-{images-idx3,
//                     labels-idx1}-ubyte, optionally .gz): the same, for any image size.
//   X.npz             arrays "x" and "y" (or "x_train"/"y_train"), optionally "x_val"/"y_val"
//                     (validation data) and "x_test"/"y_test".
//   X.npy             inputs; labels from --labels Y.npy (train and evaluate need them).
//   T.csv             a table, one sample per row: a label column (--label-column; default
//                     a column named label/class/target/y, else the first column of a file
//                     without a header) and the sequence in the other columns, read as
//                     --steps steps of (columns / steps) features (default: 1 feature).
//   S.csv --window W  a time series, one row per step: sample i is rows [i, i+W) of the
//                     feature columns (--features, default every numeric column but a time
//                     index named year, date, time, month, day, timestamp, datetime, ds or
//                     index; non-numeric columns such as dates are skipped) and its target is
//                     --target (default the last numeric column) at row i+W+H-1 for
//                     --horizon H (default 1: the next step). The last --test-fraction of the
//                     windows (in time order) is the test set when training.
//
// Labels (--task auto): y of integers 0..K-1 is classification (sparse labels); a 2-D y of
// one-hot rows is classification too; a few distinct integers with negatives among them
// (-1/1) are an error that asks to shift them or to say --task regression; anything else
// is regression. CSV windows are regression.
// Errors: IoError / FormatError naming the file for a missing data set (naming the Debian
// package to install), unreadable files, non-numeric cells, shapes that do not fit (x not
// [samples, steps, features], x and y with different sample counts), labels out of range.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"

namespace CLI {
class App;
}

namespace rnnx::cli {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct DataOptions {
  std::string data;          // see above; empty = Fashion-MNIST
  std::string labels;        // Y.npy for an X.npy
  std::string label_column;  // CSV table
  int64_t steps = 0;         // CSV table: steps per row (0 = one feature per step)
  int64_t window = 0;        // CSV series: > 0 cuts windows
  int64_t horizon = 1;
  std::string target;                 // CSV series
  std::vector<std::string> features;  // CSV series
  double test_fraction = 0.2;         // CSV series, train: the last part of the series held out
  std::string task = "auto";          // "classification", "regression" or from the labels
  int64_t limit = 0;                  // > 0: use only the first N samples of each set
};

enum class Task { classification, regression };

struct Split {
  Tensor<float> x;
  Tensor<float> y;  // empty when the source has no labels (predict)
  int64_t samples() const { return x.rank() > 0 ? x.dim(0) : 0; }
};

struct Dataset {
  std::string description;  // one line, e.g. "Fashion-MNIST (/usr/share/...): 60000 train, 10000 test"
  Task task = Task::classification;
  bool one_hot = false;  // classification with one-hot y rows
  int64_t classes = 0;   // classification: K
  std::vector<std::string> class_names;
  int64_t outputs = 1;  // regression: values per sample
  std::vector<std::string> feature_names;
  Split data;                       // the training set; for evaluate / predict the set to run on
  std::optional<Split> validation;  // given by the source
  std::optional<Split> test;        // given by the source (IDX t10k, npz x_test, series tail)
};

// What the data is used for: training (labels needed; series split off a test part),
// evaluation (labels needed; an IDX directory or npz gives its test set, else everything),
// prediction or explanation (labels optional; the same choice of set as evaluation).
enum class DataUse { train, evaluate, predict };

// Adds the options above (not the DATA positional) to a subcommand.
void add_data_options(CLI::App& sub, DataOptions& options, DataUse use);
Dataset load_dataset(const DataOptions& options, DataUse use);

}  // namespace rnnx::cli
