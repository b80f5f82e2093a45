// LoadOptions::verify_test_vector: load_model reruns the test vector a .keras file carries
// and refuses a model that does not reproduce it, naming the worst errors per output.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/lstm.h"

namespace rnnx::testing {
namespace {

namespace fs = std::filesystem;

class VerifyOnLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rnnx_verify_on_load_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    model_ = std::make_unique<Model<float>>("small");
    model_->set_seed(5);
    const auto x = model_->input({-1, 4, 3});
    LSTMOptions o;
    o.units = 3;
    const auto h = model_->call(std::make_shared<LSTM<float>>(o), {x});
    DenseOptions d;
    d.units = 2;
    model_->set_outputs(model_->call(std::make_shared<Dense<float>>(d), h));
    input_ = Tensor<float>({2, 4, 3});
    for (int64_t i = 0; i < input_.size(); ++i) input_[i] = 0.1f * static_cast<float>(i % 7 - 3);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
  std::unique_ptr<Model<float>> model_;
  Tensor<float> input_;
};

LoadOptions verifying() {
  LoadOptions o;
  o.verify_test_vector = true;
  return o;
}

TEST_F(VerifyOnLoad, PassingFileLoadsInFloatAndDouble) {
  const auto tv = make_test_vector(*model_, {input_});
  save_model(*model_, file("m.keras"), &tv);
  auto back = load_model<float>(file("m.keras"), verifying());
  EXPECT_EQ(back->predict({input_})[0][0], tv.outputs[0][0]);
  // Double recomputes in double precision: within the default tolerance of float results.
  EXPECT_NO_THROW(load_model<double>(file("m.keras"), verifying()));
}

TEST_F(VerifyOnLoad, WrongOutputIsRefusedWithTheWorstErrors) {
  auto tv = make_test_vector(*model_, {input_});
  tv.outputs[0][3] += 0.25f;
  save_model(*model_, file("wrong.keras"), &tv);
  try {
    load_model<float>(file("wrong.keras"), verifying());
    FAIL() << "a test vector the model does not reproduce was accepted";
  } catch (const VerificationError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("wrong.keras: the model does not reproduce the test vector it carries"), std::string::npos) << m;
    EXPECT_NE(m.find("output_0 shape [2, 2]: max abs error 2.500e-01"), std::string::npos) << m;
    EXPECT_NE(m.find("FAILED (worst element 3)"), std::string::npos) << m;
  }
  // Without the option the same file loads; a generous tolerance accepts it.
  EXPECT_NO_THROW(load_model<float>(file("wrong.keras")));
  LoadOptions loose = verifying();
  loose.verify_atol = 0.3;
  EXPECT_NO_THROW(load_model<float>(file("wrong.keras"), loose));
}

TEST_F(VerifyOnLoad, FileWithoutTestVectorIsRefused) {
  save_model(*model_, file("plain.keras"));
  try {
    load_model<float>(file("plain.keras"), verifying());
    FAIL() << "no test vector, yet verification passed";
  } catch (const VerificationError& e) {
    EXPECT_NE(std::string(e.what()).find("plain.keras: verify_test_vector was requested, but the file has no test vector"),
              std::string::npos)
        << e.what();
  }
  const std::string h5 = std::string(RNNX_TEST_DATA_DIR) + "/files/lstm_dense.tfk.h5";
  EXPECT_THROW(load_model<float>(h5, verifying()), VerificationError);
}

}  // namespace
}  // namespace rnnx::testing
