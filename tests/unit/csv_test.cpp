// CSV reading (io/csv.h): quoting, line endings, header detection, numbers, and errors that
// name the file, line and column.
#include "rnnx/io/csv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

CsvTable parse(const std::string& text, char sep = ',') {
  return parse_csv({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, "t.csv", sep);
}

template <class E>
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const E& e) {
    return e.what();
  }
  return "no error";
}

TEST(Csv, HeaderQuotesAndLineEndings) {
  const CsvTable t = parse("\xEF\xBB\xBF\"Month\",\"Passengers\"\r\n\"1949-01\",112\r\n\r\n\"1949-02\", 118 \n");
  EXPECT_TRUE(t.has_header);
  ASSERT_EQ(t.columns, (std::vector<std::string>{"Month", "Passengers"}));
  ASSERT_EQ(t.row_count(), 2);
  EXPECT_EQ(t.rows[1][0], "1949-02");
  EXPECT_EQ(t.lines, (std::vector<int64_t>{2, 4}));
  EXPECT_FALSE(t.is_numeric(0));
  EXPECT_TRUE(t.is_numeric(1));
  EXPECT_EQ(t.numeric_column(1), (std::vector<double>{112, 118}));
  EXPECT_EQ(t.column_index("Passengers"), 1);
  EXPECT_EQ(t.column_index("0"), 0);
}

TEST(Csv, QuotedSeparatorsNewlinesAndQuotes) {
  const CsvTable t = parse("a,b\n\"x, \"\"y\"\"\nz\",2\n");
  ASSERT_EQ(t.row_count(), 1);
  EXPECT_EQ(t.rows[0][0], "x, \"y\"\nz");
  EXPECT_EQ(t.rows[0][1], "2");
}

TEST(Csv, NoHeaderNamesColumnsByIndexAndTabs) {
  const CsvTable t = parse("1\t2.5\t-3e2\n4\tinf\tnan\n", '\t');
  EXPECT_FALSE(t.has_header);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(t.numeric_column(2)[0], -300.0);
  EXPECT_TRUE(std::isinf(t.numeric_column(1)[1]));
  EXPECT_TRUE(std::isnan(t.numeric_column(2)[1]));
}

TEST(Csv, Numbers) {
  double v = 0;
  for (const char* ok : {"0", "-1.5", "+2", "1e-3", " 7 ", ".5", "Inf", "-inf", "NaN"})
    EXPECT_TRUE(parse_csv_number(ok, v)) << ok;
  for (const char* bad : {"", " ", "1,5", "0x10", "abc", "1.2.3", "infinity", "nan(1)", "NA", "12a"})
    EXPECT_FALSE(parse_csv_number(bad, v)) << bad;
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  EXPECT_NE(error_of<FormatError>("a,b\n1,2\n3\n").find("t.csv': line 3 has 1 fields, expected 2"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("a,b\n\"1,2\n").find("line 2: a quoted field is not closed"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("").find("no rows"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("a,b\n").find("header but no data rows"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("a,b\n\"1\"x,2\n").find("text after the closing quote"), std::string::npos);
  const CsvTable t = parse("a,b\n1,2\n3,\n");
  try {
    t.numeric_column(1);
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("line 3, column 'b': '' is not a number"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.column_index("c"), FormatError);
  EXPECT_THROW(t.column_index("2"), FormatError);
  const std::string big = "1,2\n3,4\n";
  EXPECT_THROW(parse_csv({reinterpret_cast<const uint8_t*>(big.data()), big.size()}, "big.csv", ',', 3), FormatError);
  EXPECT_THROW(read_csv("/nonexistent/x.csv"), IoError);
}

}  // namespace
}  // namespace rnnx
