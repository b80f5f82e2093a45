// `rnnx summary` / Model::summary_rows() against Keras's model.summary() for the composite
// models of the newer layers (python/oracle/summary_cases.py -> tests/data/files/summaries.json):
// the same layers in the same order, class names, output shapes and parameter counts.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "rnnx/io/model_file.h"

namespace rnnx::testing {
namespace {

TEST(SummaryGolden, RowsMatchKeras) {
  std::ifstream f(std::string(RNNX_TEST_DATA_DIR) + "/files/summaries.json");
  ASSERT_TRUE(f) << "summaries.json missing";
  const auto golden = nlohmann::json::parse(f);
  ASSERT_GE(golden["files"].size(), 10u);
  for (const auto& [rel, want] : golden["files"].items()) {
    const std::string path = std::string(RNNX_TEST_DATA_DIR) + "/" + rel.substr(std::string("tests/data/").size());
    auto model = load_model<float>(path);
    const std::vector<SummaryRow> rows = model->summary_rows();
    ASSERT_EQ(rows.size(), want["rows"].size()) << rel << "\n" << model->summary();
    int64_t total = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& w = want["rows"][i];
      EXPECT_EQ(rows[i].name, w["name"].get<std::string>()) << rel << " row " << i;
      EXPECT_EQ(rows[i].class_name, w["class_name"].get<std::string>()) << rel << " row " << i;
      EXPECT_EQ(rows[i].output_shape, w["output_shape"].get<std::string>()) << rel << " " << rows[i].name;
      EXPECT_EQ(rows[i].params, w["params"].get<int64_t>()) << rel << " " << rows[i].name;
      total += rows[i].params;
    }
    EXPECT_EQ(total, want["total_params"].get<int64_t>()) << rel;
  }
}

}  // namespace
}  // namespace rnnx::testing
