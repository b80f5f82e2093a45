// Data sources shared by train, evaluate, predict and explain (data.h).
#include "data.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "cli.h"
#include "rnnx/core/error.h"
#include "rnnx/io/csv.h"
#include "rnnx/io/idx.h"
#include "rnnx/io/npy.h"
#include "run_files.h"

namespace rnnx::cli {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFashionClasses = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The first `limit` samples (all if limit <= 0).
Tensor<float> head(const Tensor<float>& t, int64_t limit) {
  return limit <= 0 || t.rank() == 0 ? t : sample_rows(t, 0, limit);
}

Split head(const Split& s, int64_t limit) { return {head(s.x, limit), s.y.empty() ? s.y : head(s.y, limit)}; }

// Samples [begin, end) of a [samples, ...] tensor.
Tensor<float> rows(const Tensor<float>& t, int64_t begin, int64_t end) { return sample_rows(t, begin, end - begin); }

// ---- IDX directories (MNIST / Fashion-MNIST) ------------------------------------------------

std::string find_idx(const std::string& dir, const std::string& stem, bool is_default) {
  for (const std::string& p : {dir + "/" + stem, dir + "/" + stem + ".gz"})
    if (fs::exists(p)) return p;
  if (is_default)
    throw IoError("Fashion-MNIST is not installed: " + dir + "/" + stem +
                  ".gz is missing. Install Debian's package dataset-fashion-mnist (sudo apt-get install "
                  "dataset-fashion-mnist), or give a data source (rnnx train --help)");
  throw IoError("data directory '" + dir + "': neither " + stem + " nor " + stem +
                ".gz exists (an MNIST-format directory holds {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])");
}

// Images [n, rows, cols] scaled to [0, 1] and labels [n].
Split read_idx_split(const std::string& dir, const std::string& prefix, bool is_default) {
  const std::string images = find_idx(dir, prefix + "-images-idx3-ubyte", is_default);
  const std::string labels = find_idx(dir, prefix + "-labels-idx1-ubyte", is_default);
  IdxArray xi = read_idx(images);
  if (xi.shape.size() != 3)
    throw FormatError("'" + images + "': images must be [samples, rows, columns], got " + to_string(xi.shape));
  Tensor<float> x = xi.as<float>();
  if (xi.type == IdxType::u8)
    for (float& v : x.values()) v /= 255.0f;
  Tensor<float> y = read_idx(labels).as<float>();
  if (y.rank() != 1 || y.dim(0) != x.dim(0))
    throw FormatError("'" + labels + "': labels must be [samples] with " + std::to_string(x.dim(0)) + " samples (as " +
                      images + "), got " + to_string(y.shape()));
  return {std::move(x), std::move(y)};
}

// ---- labels ---------------------------------------------------------------------------------

bool is_integer_labels(const Tensor<float>& y) {
  if (y.rank() != 1) return false;
  for (float v : y.values())
    if (!(v == std::floor(v)) || v < 0) return false;
  return true;
}

bool is_one_hot(const Tensor<float>& y) {
  if (y.rank() != 2 || y.dim(1) < 2) return false;
  for (int64_t r = 0; r < y.dim(0); ++r) {
    float sum = 0;
    for (int64_t c = 0; c < y.dim(1); ++c) {
      const float v = y[r * y.dim(1) + c];
      if (v != 0.0f && v != 1.0f) return false;
      sum += v;
    }
    if (sum != 1.0f) return false;
  }
  return true;
}

// Decides the task from the training labels (unless --task says) and checks the other sets'
// labels against it.
void classify_task(Dataset& d, const std::string& task, const std::string& where) {
  const Tensor<float>& y = d.data.y;
  if (y.empty()) return;
  std::vector<float> distinct(y.values().begin(), y.values().end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const bool integers =
      y.rank() == 1 && std::all_of(distinct.begin(), distinct.end(), [](float v) { return v == std::floor(v); });
  if (task == "regression" || (task == "auto" && !is_one_hot(y) && !is_integer_labels(y))) {
    if (task == "auto" && integers && distinct.size() <= 20)
      throw FormatError(where + ": the labels look like classes but include " +
                        std::to_string(static_cast<long long>(distinct.front())) +
                        ": classification labels must be integers 0..classes-1 (shift them, e.g. -1/1 to 0/1), or "
                        "give --task regression to predict them as numbers");
    d.task = Task::regression;
    d.outputs = y.rank() >= 2 ? y.size() / y.dim(0) : 1;
    d.class_names.clear();
    return;
  }
  d.task = Task::classification;
  if (is_one_hot(y)) {
    d.one_hot = true;
    d.classes = y.dim(1);
  } else if (is_integer_labels(y)) {
    d.classes = std::max<int64_t>(static_cast<int64_t>(distinct.back()) + 1, 2);
  } else {
    throw FormatError(where + ": --task classification needs labels that are integers 0..classes-1 or one-hot " +
                      "rows; the training labels of shape " + to_string(y.shape()) + " are neither");
  }
  if (d.task == Task::classification && d.class_names.empty())
    for (int64_t k = 0; k < d.classes; ++k) d.class_names.push_back(std::to_string(k));
  auto check = [&](const std::optional<Split>& s, const char* name) {
    if (!s || s->y.empty() || d.task != Task::classification) return;
    if (d.one_hot) {
      if (s->y.rank() != 2 || s->y.dim(1) != d.classes)
        throw ShapeError(where + ": " + name + " labels are " + to_string(s->y.shape()) +
                         ", expected one-hot rows of " + std::to_string(d.classes) +
                         " classes (as the training labels)");
      return;
    }
    for (int64_t i = 0; i < s->y.size(); ++i) {
      const float v = s->y[i];
      if (!(v == std::floor(v)) || v < 0 || v >= static_cast<float>(d.classes))
        throw FormatError(where + ": " + name + " label " + std::to_string(v) + " of sample " + std::to_string(i) +
                          " is out of range: the training labels have " + std::to_string(d.classes) + " classes (0.." +
                          std::to_string(d.classes - 1) + ")");
    }
  };
  check(d.validation, "validation");
  check(d.test, "test");
}

void check_split(const Split& s, const std::string& where, const std::string& name) {
  if (s.x.rank() != 3)
    throw ShapeError(where + ": " + name + " inputs must be [samples, steps, features], got " + to_string(s.x.shape()) +
                     (s.x.rank() == 2 ? " (a univariate sequence per row needs a last axis of 1: [n, steps, 1])" : ""));
  if (!s.y.empty() && (s.y.rank() == 0 || s.y.dim(0) != s.x.dim(0)))
    throw ShapeError(where + ": " + name + " has " + std::to_string(s.x.dim(0)) +
                     " input samples but labels of shape " + to_string(s.y.shape()) + " (expected " +
                     std::to_string(s.x.dim(0)) + " labels)");
}

// ---- npy / npz ------------------------------------------------------------------------------

std::optional<Split> npz_split(const std::map<std::string, NpyArray>& a, const std::string& where,
                               const std::string& xk, const std::string& yk, bool need_y) {
  auto x = a.find(xk);
  if (x == a.end()) return std::nullopt;
  Split s{x->second.as<float>(), {}};
  auto y = a.find(yk);
  if (y != a.end())
    s.y = y->second.as<float>();
  else if (need_y)
    throw FormatError("'" + where + "' holds '" + xk + "' but no labels '" + yk + "'");
  return s;
}

Dataset load_npz(const DataOptions& o, DataUse use) {
  const auto a = read_npz(o.data);
  const bool need_y = use != DataUse::predict;
  Dataset d;
  std::string keys;
  for (const auto& [k, v] : a) keys += (keys.empty() ? "" : ", ") + k;
  auto main = npz_split(a, o.data, "x", "y", need_y);
  if (!main) main = npz_split(a, o.data, "x_train", "y_train", need_y);
  d.validation = npz_split(a, o.data, "x_val", "y_val", need_y);
  d.test = npz_split(a, o.data, "x_test", "y_test", need_y);
  if (use != DataUse::train && d.test) main = d.test;  // evaluate / predict the test set when there is one
  if (!main)
    throw FormatError("'" + o.data + "' has no inputs: expected arrays 'x' and 'y' (or 'x_train'/'y_train', 'x_test'/" +
                      "'y_test'); it holds: " + (keys.empty() ? "nothing" : keys));
  d.data = *main;
  d.description = "arrays from " + o.data;
  return d;
}

Dataset load_npy(const DataOptions& o, DataUse use) {
  Dataset d;
  d.data.x = read_npy(o.data).as<float>();
  if (!o.labels.empty())
    d.data.y = read_npy(o.labels).as<float>();
  else if (use != DataUse::predict)
    throw UsageError("'" + o.data +
                     "' holds inputs only: give the labels with --labels Y.npy (or use an .npz with x and y)");
  d.description = "arrays from " + o.data + (o.labels.empty() ? "" : " and " + o.labels);
  return d;
}

// ---- CSV ------------------------------------------------------------------------------------

// Tab-separated for .tsv / .tab files (the UCR archive's format), else commas.
char separator_of(const std::string& path) {
  return ends_with(lower(path), ".tsv") || ends_with(lower(path), ".tab") ? '\t' : ',';
}

Dataset load_csv_table(const DataOptions& o, DataUse use) {
  const CsvTable t = read_csv(o.data, separator_of(o.data));
  int64_t label = -1;
  if (!o.label_column.empty()) {
    label = t.column_index(o.label_column);
  } else {
    for (size_t c = 0; c < t.columns.size() && label < 0; ++c) {
      const std::string n = lower(t.columns[c]);
      if (n == "label" || n == "class" || n == "target" || n == "y") label = static_cast<int64_t>(c);
    }
    if (label < 0 && !t.has_header) label = 0;
    if (label < 0 && use != DataUse::predict)
      throw UsageError("CSV '" + o.data + "': which column holds the labels? Give --label-column NAME (no column is " +
                       "named label, class, target or y)");
  }
  std::vector<int64_t> cols;
  for (int64_t c = 0; c < static_cast<int64_t>(t.columns.size()); ++c)
    if (c != label) cols.push_back(c);
  const int64_t n = t.row_count(), width = static_cast<int64_t>(cols.size());
  const int64_t steps = o.steps > 0 ? o.steps : width;
  if (width == 0)
    throw ShapeError("CSV '" + o.data + "': no value columns besides the label column '" +
                     t.columns[static_cast<size_t>(label)] + "'");
  if (width % steps != 0)
    throw ShapeError("CSV '" + o.data + "': " + std::to_string(width) + " value columns cannot be read as --steps " +
                     std::to_string(steps) + " steps (the count must divide evenly)");
  std::vector<float> x(static_cast<size_t>(n * width));
  for (int64_t j = 0; j < width; ++j) {
    const std::vector<double> v = t.numeric_column(cols[static_cast<size_t>(j)]);
    for (int64_t r = 0; r < n; ++r)
      x[static_cast<size_t>(r * width + j)] = static_cast<float>(v[static_cast<size_t>(r)]);
  }
  Dataset d;
  d.data.x = Tensor<float>({n, steps, width / steps}, std::move(x));
  if (label >= 0) {
    const std::vector<double> y = t.numeric_column(label);
    d.data.y = Tensor<float>({n}, std::vector<float>(y.begin(), y.end()));
  }
  d.description = "CSV table " + o.data + ": " + std::to_string(n) + " sequences of " + std::to_string(steps) +
                  " steps x " + std::to_string(width / steps) + " features" +
                  (label >= 0 ? ", labels in column '" + t.columns[static_cast<size_t>(label)] + "'" : "");
  return d;
}

Dataset load_csv_windows(const DataOptions& o, DataUse use) {
  const CsvTable t = read_csv(o.data, separator_of(o.data));
  std::vector<int64_t> feats;
  if (!o.features.empty()) {
    for (const auto& f : o.features) feats.push_back(t.column_index(f));
  } else {
    // Every numeric column except a time index (YEAR of a yearly series, a numeric date).
    for (int64_t c = 0; c < static_cast<int64_t>(t.columns.size()); ++c) {
      const std::string n = lower(t.columns[static_cast<size_t>(c)]);
      const bool time_index = n == "year" || n == "date" || n == "time" || n == "month" || n == "day" ||
                              n == "timestamp" || n == "datetime" || n == "ds" || n == "index";
      if (t.is_numeric(c) && !time_index) feats.push_back(c);
    }
  }
  if (feats.empty()) throw FormatError("CSV '" + o.data + "': no numeric column to use as a feature (give --features)");
  const int64_t target = o.target.empty() ? feats.back() : t.column_index(o.target);
  const int64_t n_rows = t.row_count(), f = static_cast<int64_t>(feats.size());
  const int64_t samples = n_rows - o.window - o.horizon + 1;
  if (samples < 1)
    throw ShapeError("CSV '" + o.data + "': " + std::to_string(n_rows) + " rows are too few for --window " +
                     std::to_string(o.window) + " and --horizon " + std::to_string(o.horizon) + " (need at least " +
                     std::to_string(o.window + o.horizon) + ")");
  std::vector<std::vector<double>> columns;
  for (int64_t c : feats) columns.push_back(t.numeric_column(c));
  const std::vector<double> y_col = t.numeric_column(target);
  std::vector<float> x(static_cast<size_t>(samples * o.window * f)), y(static_cast<size_t>(samples));
  for (int64_t i = 0; i < samples; ++i) {
    for (int64_t s = 0; s < o.window; ++s)
      for (int64_t j = 0; j < f; ++j)
        x[static_cast<size_t>((i * o.window + s) * f + j)] =
            static_cast<float>(columns[static_cast<size_t>(j)][static_cast<size_t>(i + s)]);
    y[static_cast<size_t>(i)] = static_cast<float>(y_col[static_cast<size_t>(i + o.window + o.horizon - 1)]);
  }
  Dataset d;
  d.task = Task::regression;
  for (int64_t c : feats) d.feature_names.push_back(t.columns[static_cast<size_t>(c)]);
  Split all{Tensor<float>({samples, o.window, f}, std::move(x)), Tensor<float>({samples}, std::move(y))};
  int64_t n_test = 0;
  if (use == DataUse::train) {
    if (!(o.test_fraction >= 0 && o.test_fraction < 1)) throw UsageError("--test-fraction must be in [0, 1)");
    n_test = static_cast<int64_t>(std::floor(static_cast<double>(samples) * o.test_fraction));
  }
  d.data = n_test > 0 ? Split{rows(all.x, 0, samples - n_test), rows(all.y, 0, samples - n_test)} : all;
  if (n_test > 0) d.test = Split{rows(all.x, samples - n_test, samples), rows(all.y, samples - n_test, samples)};
  std::string names;
  for (const auto& nm : d.feature_names) names += (names.empty() ? "" : ", ") + nm;
  d.description = "CSV series " + o.data + ": " + std::to_string(n_rows) + " rows, windows of " +
                  std::to_string(o.window) + " steps of [" + names + "], target '" +
                  t.columns[static_cast<size_t>(target)] + "' " + std::to_string(o.horizon) + " step(s) ahead; " +
                  std::to_string(d.data.samples()) + " windows" +
                  (n_test > 0 ? " + " + std::to_string(n_test) + " held out (the last " +
                                    std::to_string(static_cast<int>(o.test_fraction * 100)) + "%) as the test set"
                              : "");
  return d;
}

}  // namespace

void add_data_options(CLI::App& sub, DataOptions& o, DataUse use) {
  const std::string g = "Data";
  if (use != DataUse::predict)
    sub.add_option("--labels", o.labels, "Y.npy: the labels of an X.npy data file")->group(g);
  else
    sub.add_option("--labels", o.labels, "Y.npy: labels of an X.npy data file (ignored)")->group(g);
  sub.add_option("--label-column", o.label_column, "CSV table: the label column (name or 0-based index)")->group(g);
  sub.add_option("--steps", o.steps, "CSV table: steps per row (default: one feature per step)")
      ->check(CLI::PositiveNumber)
      ->group(g);
  sub.add_option("--window", o.window, "CSV series: window length W (steps per sample); turns on windowing")
      ->check(CLI::PositiveNumber)
      ->group(g);
  sub.add_option("--horizon", o.horizon, "CSV series: predict the target H steps after the window")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->group(g);
  sub.add_option("--target", o.target, "CSV series: the column to predict (default: the last numeric column)")
      ->group(g);
  sub.add_option("--features", o.features, "CSV series: the input columns (default: every numeric column)")
      ->delimiter(',')
      ->group(g);
  if (use == DataUse::train)
    sub.add_option("--test-fraction", o.test_fraction, "CSV series: the last fraction of windows held out as test set")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.95))
        ->group(g);
  sub.add_option("--task", o.task, "classification or regression (default: from the labels)")
      ->check(CLI::IsMember({"auto", "classification", "regression"}))
      ->group(g);
  sub.add_option("--limit", o.limit, "use only the first N samples of each set (quick runs)")
      ->check(CLI::NonNegativeNumber)
      ->group(g);
}

Dataset load_dataset(const DataOptions& o, DataUse use) {
  Dataset d;
  const bool is_default = o.data.empty();
  const char* env = std::getenv("RNNX_FASHION_MNIST_DIR");  // another copy of the default data set
  const std::string path = !is_default ? o.data : (env && *env) ? env : kFashionMnistDir;
  if (o.window == 0 && (!o.target.empty() || !o.features.empty()))
    throw UsageError("--target and --features cut a CSV series into windows: give --window W too");
  if (is_default || fs::is_directory(path)) {
    const bool fashion = is_default || path.find("fashion") != std::string::npos;
    d.description = std::string(fashion ? "Fashion-MNIST" : "MNIST-format images") + " (" + path + ")";
    if (use == DataUse::train) {
      d.data = read_idx_split(path, "train", is_default);
      d.test = read_idx_split(path, "t10k", is_default);
    } else {
      d.data = read_idx_split(path, "t10k", is_default);
    }
    if (fashion) d.class_names = kFashionClasses;
  } else if (!fs::exists(path)) {
    throw IoError("data file '" + path + "' does not exist");
  } else if (ends_with(lower(path), ".npz")) {
    d = load_npz(o, use);
  } else if (ends_with(lower(path), ".npy")) {
    d = load_npy(o, use);
  } else if (ends_with(lower(path), ".csv") || ends_with(lower(path), ".txt") || ends_with(lower(path), ".tsv") ||
             ends_with(lower(path), ".tab")) {
    d = o.window > 0 ? load_csv_windows(o, use) : load_csv_table(o, use);
  } else {
    throw UsageError("data '" + path + "': expected a directory of IDX files, an .npz, .npy or .csv file");
  }
  if (o.limit > 0) {
    d.data = head(d.data, o.limit);
    if (d.validation) d.validation = head(*d.validation, o.limit);
    if (d.test) d.test = head(*d.test, o.limit);
  }
  check_split(d.data, path, use == DataUse::train ? "training data" : "data");
  if (d.validation) check_split(*d.validation, path, "validation data");
  if (d.test) check_split(*d.test, path, "test data");
  if (o.window == 0) {
    const auto names = d.class_names;
    classify_task(d, o.task, path);
    if (!names.empty() && d.task == Task::classification && static_cast<int64_t>(names.size()) >= d.classes) {
      d.classes = static_cast<int64_t>(names.size());
      d.class_names = names;
    }
  }
  d.description += ": " + std::to_string(d.data.samples()) + " samples of " + std::to_string(d.data.x.dim(1)) +
                   " steps x " + std::to_string(d.data.x.dim(2)) + " features" +
                   (d.test ? ", " + std::to_string(d.test->samples()) + " test samples" : "");
  return d;
}

}  // namespace rnnx::cli
