#pragma once
// CSVLogger (K3 keras/src/callbacks/csv_logger.py): one row per epoch.
//
// Columns: "epoch" (0-based), then the keys of the first epoch's logs sorted by name; when
// they have no "val_" key, "val_<key>" columns are added for each (Keras does this so that
// a later validation run still fits; their cells read "NA"). Missing values are "NA".
// Numbers are written as Python's repr(float) ("0.25", "1e-05"), rows end in "\r\n" as
// Python's csv module writes them, and the file is flushed after every row, so an
// interrupted run leaves every finished epoch on disk. With append, rows go after the
// existing content, and the header is written only if the file is empty or missing.
// IoError when the file cannot be opened or written.
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "rnnx/train/callback.h"

namespace rnnx {

template <class T>
class CSVLogger : public Callback<T> {
 public:
  explicit CSVLogger(std::string filename, std::string separator = ",", bool append = false);

  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  void on_train_end(const Logs& logs) override;

 private:
  std::string filename_, separator_;
  bool append_;
  bool write_header_ = true;
  std::optional<std::vector<std::string>> keys_;
  std::ofstream file_;
};

extern template class CSVLogger<float>;
extern template class CSVLogger<double>;

}  // namespace rnnx
