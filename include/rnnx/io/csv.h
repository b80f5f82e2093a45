#pragma once
// CSV tables (RFC 4180 as Python's csv module and pandas write them): the data files of
// `rnnx train` — a table of fixed-length sequences with a label column, or a long time
// series (one row per time step) cut into windows.
//
// Reading: fields are separated by `separator`; a field may be quoted with '"' (a quoted
// field may hold separators, newlines and "" for a quote); rows end in "\n" or "\r\n";
// empty lines are skipped; surrounding spaces of unquoted fields are trimmed. The first row
// is a header when any of its fields is not a number (then every column has a name);
// otherwise columns are named "0", "1", ... A UTF-8 byte-order mark is skipped.
//
// Errors (messages name the file, the row as a 1-based line number and the column):
// IoError when the file cannot be read; FormatError for a row whose field count differs
// from the first row's, an unterminated quote, a file with no data rows, more than
// `max_cells` cells, and (from numeric_column / column_index) a cell that is not a number
// or a column that does not exist.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rnnx {

struct CsvTable {
  std::string where;  // the file, for messages
  bool has_header = false;
  std::vector<std::string> columns;            // names (from the header, or "0", "1", ...)
  std::vector<std::vector<std::string>> rows;  // data rows, each columns.size() fields
  std::vector<int64_t> lines;                  // the 1-based line on which each data row starts

  int64_t row_count() const { return static_cast<int64_t>(rows.size()); }
  // The index of a column given by name or, when no column has that name, by 0-based index
  // ("3"); FormatError listing the columns when neither fits.
  int64_t column_index(const std::string& name_or_index) const;
  // Whether every cell of the column is a number.
  bool is_numeric(int64_t column) const;
  // The column's values; FormatError naming line, column and cell for a non-number
  // (an empty cell, "NA" and "nan" included: fill or drop missing values first).
  std::vector<double> numeric_column(int64_t column) const;
};

// Parses a cell as a number: optional spaces, a decimal or exponent float, "inf" or "nan"
// spelled out; false for anything else (empty included).
bool parse_csv_number(const std::string& cell, double& value);

inline constexpr int64_t kCsvMaxCells = int64_t{1} << 28;

CsvTable parse_csv(std::span<const uint8_t> data, const std::string& where = "<memory>", char separator = ',',
                   int64_t max_cells = kCsvMaxCells);
CsvTable read_csv(const std::string& path, char separator = ',', int64_t max_cells = kCsvMaxCells);

}  // namespace rnnx
