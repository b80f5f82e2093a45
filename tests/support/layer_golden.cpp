#include "support/layer_golden.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>

#include "rnnx/core/error.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/model/model.h"
#include "support/golden.h"

namespace rnnx::testing {

RawGolden load_raw_golden(const std::string& json_path) {
  RawGolden c{json_path, {}, {}};
  std::ifstream in(json_path);
  c.doc = nlohmann::json::parse(in);
  c.arrays = read_npz(json_path.substr(0, json_path.size() - 5) + ".npz");
  return c;
}

std::string golden_param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

template <class T>
void expect_all_close(const std::vector<Tensor<T>>& got, const std::vector<Tensor<T>>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_TRUE(all_close(got[i], want[i], kGoldenTolerance, std::string(what).append(" ").append(std::to_string(i))));
}

template <class T>
void expect_param_grads_close(const std::vector<Param<T>>& params, const std::vector<Tensor<T>>& want) {
  ASSERT_EQ(params.size(), want.size());
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(all_close(*params[i].grad, want[i], kGoldenTolerance, std::string("d/d ").append(params[i].name)));
}

template <class T>
void check_model_golden(const RawGolden& c, const std::string& where) {
  std::unique_ptr<Model<T>> model = model_from_config<T>(c.doc["model"].dump(), c.doc["keras_version"]);
  const nlohmann::json& call = c.doc["calls"][0];
  const std::vector<Tensor<T>> xs = c.list<T>(call["inputs"]);
  std::vector<Shape> shapes;
  for (const auto& x : xs) shapes.push_back(x.shape());
  model->build(shapes);
  model->set_weights(c.weights<T>());
  expect_all_close(model->predict(xs), c.list<T>(call["outputs"]), where + " output");
  if (!c.doc.contains("grads")) return;
  const nlohmann::json& gj = c.doc["grads"];
  LayerInputs<T> in;
  for (const auto& x : xs) in.inputs.push_back(&x);
  in.mode = Mode::training;
  model->zero_grads();
  model->call(in);
  const LayerGrads<T> g = model->backward(c.list<T>(gj["r"]));
  expect_all_close(g.inputs, c.list<T>(gj["inputs"]), where + " d/d input");
  SCOPED_TRACE(where);
  expect_param_grads_close(model->params(), c.list<T>(gj["weights"]));
}

void check_model_family(const std::string& family, size_t min_cases, int min_with_grads) {
  const std::string dir = parity_data_dir() + "/" + family;
  const std::vector<std::string> paths = find_golden_cases(dir);
  ASSERT_GE(paths.size(), min_cases) << family << " goldens missing under " << dir;
  int with_grads = 0;
  for (const std::string& path : paths) {
    const std::string name = std::filesystem::path(path).stem().string();
    SCOPED_TRACE(name);
    try {
      const RawGolden c = load_raw_golden(path);
      check_model_golden<float>(c, family + "/" + name + " (float)");
      check_model_golden<double>(c, family + "/" + name + " (double)");
      with_grads += c.doc.contains("grads");
    } catch (const Error& e) {
      ADD_FAILURE() << name << ": rnnx threw " << e.what();
    }
  }
  EXPECT_GE(with_grads, min_with_grads);
}

template void expect_all_close(const std::vector<Tensor<float>>&, const std::vector<Tensor<float>>&,
                               const std::string&);
template void expect_all_close(const std::vector<Tensor<double>>&, const std::vector<Tensor<double>>&,
                               const std::string&);
template void expect_param_grads_close(const std::vector<Param<float>>&, const std::vector<Tensor<float>>&);
template void expect_param_grads_close(const std::vector<Param<double>>&, const std::vector<Tensor<double>>&);
template void check_model_golden<float>(const RawGolden&, const std::string&);
template void check_model_golden<double>(const RawGolden&, const std::string&);

}  // namespace rnnx::testing
