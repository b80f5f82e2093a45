// CSV reading (io/csv.h).
#include "rnnx/io/csv.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "io/file_io.h"
#include "rnnx/core/error.h"

namespace rnnx {

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

std::string quoted(const std::string& cell) {
  const std::string shown = cell.size() > 40 ? cell.substr(0, 40) + "..." : cell;
  return "'" + shown + "'";
}

// Splits the content into rows of fields; records each row's first line number.
void split_rows(std::span<const uint8_t> data, char sep, const std::string& where, int64_t max_cells,
                std::vector<std::vector<std::string>>& rows, std::vector<int64_t>& lines) {
  size_t i = 0;
  if (data.size() >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) i = 3;
  int64_t line = 1, cells = 0;
  std::vector<std::string> row;
  std::string field;
  bool field_quoted = false, row_has_content = false;
  int64_t row_line = 1;
  auto end_field = [&] {
    row.push_back(field_quoted ? field : trim(field));
    field.clear();
    field_quoted = false;
    if (++cells > max_cells)
      throw FormatError("CSV '" + where + "': more than " + std::to_string(max_cells) + " cells (the limit)");
  };
  auto end_row = [&] {
    end_field();
    const bool blank = row.size() == 1 && row[0].empty() && !row_has_content;
    if (!blank) {
      rows.push_back(std::move(row));
      lines.push_back(row_line);
    } else {
      --cells;
    }
    row.clear();
    row_has_content = false;
  };
  while (i < data.size()) {
    const char c = static_cast<char>(data[i]);
    if (c == '"' && trim(field).empty() && !field_quoted) {
      // A quoted field: read to the closing quote ("" is a quote).
      const int64_t start_line = line;
      field.clear();
      field_quoted = row_has_content = true;
      ++i;
      for (;;) {
        if (i >= data.size())
          throw FormatError("CSV '" + where + "': line " + std::to_string(start_line) +
                            ": a quoted field is not closed before the end of the file");
        const char q = static_cast<char>(data[i]);
        if (q == '"') {
          if (i + 1 < data.size() && data[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (q == '\n') ++line;
        field += q;
        ++i;
      }
      continue;
    }
    if (c == sep) {
      end_field();
      row_has_content = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
      end_row();
      ++line;
      row_line = line;
    } else if (field_quoted) {
      if (c != ' ' && c != '\t')
        throw FormatError("CSV '" + where + "': line " + std::to_string(line) +
                          ": text after the closing quote of a field");
    } else {
      field += c;
      row_has_content = true;
    }
    ++i;
  }
  if (row_has_content || !field.empty() || !row.empty()) end_row();
}

}  // namespace

bool parse_csv_number(const std::string& cell, double& value) {
  const std::string s = trim(cell);
  if (s.empty()) return false;
  // strtod also takes hex floats and "infinity"/"nan(...)" forms; only decimal numbers and
  // the plain words are numbers here.
  for (char ch : s)
    if (!(std::isdigit(static_cast<unsigned char>(ch)) || ch == '+' || ch == '-' || ch == '.' || ch == 'e' ||
          ch == 'E' || ch == 'i' || ch == 'n' || ch == 'f' || ch == 'a' || ch == 'I' || ch == 'N' || ch == 'F' ||
          ch == 'A'))
      return false;
  std::string lower;
  for (char ch : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::string body = (lower[0] == '+' || lower[0] == '-') ? lower.substr(1) : lower;
  if (body == "inf" || body == "nan") {
    value = body == "nan" ? std::nan("") : (lower[0] == '-' ? -INFINITY : INFINITY);
    return true;
  }
  if (body.find_first_of("ianf") != std::string::npos) return false;
  char* end = nullptr;
  value = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

CsvTable parse_csv(std::span<const uint8_t> data, const std::string& where, char separator, int64_t max_cells) {
  CsvTable t;
  t.where = where;
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> lines;
  split_rows(data, separator, where, max_cells, rows, lines);
  if (rows.empty()) throw FormatError("CSV '" + where + "': the file has no rows");
  const size_t width = rows[0].size();
  for (size_t r = 0; r < rows.size(); ++r)
    if (rows[r].size() != width)
      throw FormatError("CSV '" + where + "': line " + std::to_string(lines[r]) + " has " +
                        std::to_string(rows[r].size()) + " fields, expected " + std::to_string(width) +
                        " (as the first row)");
  double v = 0;
  for (const std::string& cell : rows[0])
    if (!parse_csv_number(cell, v)) t.has_header = true;
  size_t first = 0;
  if (t.has_header) {
    t.columns = rows[0];
    first = 1;
  } else {
    for (size_t c = 0; c < width; ++c) t.columns.push_back(std::to_string(c));
  }
  if (rows.size() == first) throw FormatError("CSV '" + where + "': the file has a header but no data rows");
  t.rows.assign(std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(first)),
                std::make_move_iterator(rows.end()));
  t.lines.assign(lines.begin() + static_cast<std::ptrdiff_t>(first), lines.end());
  return t;
}

CsvTable read_csv(const std::string& path, char separator, int64_t max_cells) {
  const std::vector<uint8_t> bytes = detail::read_file(path);
  return parse_csv(bytes, path, separator, max_cells);
}

int64_t CsvTable::column_index(const std::string& name_or_index) const {
  for (size_t c = 0; c < columns.size(); ++c)
    if (columns[c] == name_or_index) return static_cast<int64_t>(c);
  char* end = nullptr;
  const long long i = std::strtoll(name_or_index.c_str(), &end, 10);
  if (!name_or_index.empty() && *end == '\0' && i >= 0 && i < static_cast<long long>(columns.size())) return i;
  std::string names;
  for (const auto& c : columns) names += (names.empty() ? "" : ", ") + quoted(c);
  throw FormatError("CSV '" + where + "': no column " + quoted(name_or_index) + "; the columns are " + names +
                    " (or 0-based indexes 0.." + std::to_string(columns.size() - 1) + ")");
}

bool CsvTable::is_numeric(int64_t column) const {
  double v = 0;
  for (const auto& row : rows)
    if (!parse_csv_number(row[static_cast<size_t>(column)], v)) return false;
  return true;
}

std::vector<double> CsvTable::numeric_column(int64_t column) const {
  std::vector<double> out(rows.size());
  for (size_t r = 0; r < rows.size(); ++r)
    if (!parse_csv_number(rows[r][static_cast<size_t>(column)], out[r]))
      throw FormatError("CSV '" + where + "': line " + std::to_string(lines[r]) + ", column " +
                        quoted(columns[static_cast<size_t>(column)]) + ": " +
                        quoted(rows[r][static_cast<size_t>(column)]) +
                        " is not a number (fill or drop missing values first)");
  return out;
}

}  // namespace rnnx
