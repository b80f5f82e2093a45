// The `rnnx` executable (tools/cli): exit codes (0 ok, 1 error or failed check, 2 usage),
// error messages on stderr, outputs only on success, on small models from tests/data.
#include "cli/cli_fixture.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/save_model.h"
#include "support/close.h"

namespace rnnx::testing {
namespace {

// [steps, batch, features] (PyTorch batch_first=False) -> [batch, steps, features], and back.
Tensor<float> swap_batch_and_steps(const Tensor<float>& t) {
  const int64_t a = t.dim(0), b = t.dim(1), f = t.dim(2);
  std::vector<float> v(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < f; ++k) v[static_cast<size_t>((j * a + i) * f + k)] = t[(i * b + j) * f + k];
  return Tensor<float>(Shape{b, a, f}, std::move(v));
}

// h_n / c_n [layers*directions, batch, units] -> entry k.
Tensor<float> state_entry(const Tensor<float>& t, int64_t k) {
  const int64_t n = t.dim(1) * t.dim(2);
  return Tensor<float>(Shape{t.dim(1), t.dim(2)}, std::vector<float>(t.data() + k * n, t.data() + (k + 1) * n));
}

TEST_F(Cli, HelpAndUsageErrors) {
  Result r = run("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* cmd : {"train", "evaluate", "predict", "explain", "convert", "verify", "summary"})
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  r = run("predict --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--output"), std::string::npos);
  for (const char* bad : {"", "frobnicate", "predict", "predict a b c", "predict m.keras x.npy --colour red",
                          "predict m.keras x.npy --output", "verify", "summary a b", "convert a b.h5"}) {
    r = run(bad);
    EXPECT_EQ(r.code, 2) << "rnnx " << bad << "\n" << r.err;
    EXPECT_NE(r.err.find("usage:"), std::string::npos) << "rnnx " << bad;
  }
}

TEST_F(Cli, PredictWritesOutputsInKerasOrder) {
  // Two inputs, keyed by the model's input names.
  const std::string model = written("models__two_inputs_concat_lstm.keras");
  const TestVector<float> tv = read_test_vector(model);
  auto m = load_model<float>(model);
  const auto names = m->input_names();
  ASSERT_EQ(names.size(), 2u);
  write_npz(file("in.npz"), {{names[0], NpyArray::from(tv.inputs[0])}, {names[1], NpyArray::from(tv.inputs[1])}});
  Result r = run("predict '" + model + "' '" + file("in.npz") + "' --output '" + file("out.npz") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto out = read_npz(file("out.npz"));
  ASSERT_EQ(out.size(), tv.outputs.size());
  for (size_t i = 0; i < tv.outputs.size(); ++i)
    EXPECT_TRUE(all_close(out.at("output_" + std::to_string(i)).as<float>(), tv.outputs[i]));

  // One input from an .npy file; printed without --output.
  const std::string single = written("lstm__impl_1_rs_gb.keras");
  write_npy(file("x.npy"), read_test_vector(single).inputs[0]);
  r = run("predict '" + single + "' '" + file("x.npy") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("output_0 shape [", 0), 0u) << r.out;
}

TEST_F(Cli, PredictErrorsGoToStderrAndWriteNothing) {
  const std::string model = written("models__two_inputs_concat_lstm.keras");
  write_npz(file("in.npz"), {{"wrong_name", NpyArray::from(Tensor<float>({1, 2}))}});
  Result r = run("predict '" + model + "' '" + file("in.npz") + "' --output '" + file("out.npz") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("rnnx: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wrong_name"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(file("out.npz")));

  r = run("predict '" + file("missing.keras") + "' '" + file("in.npz") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing.keras"), std::string::npos) << r.err;

  // A truncated model file: a typed error, no crash.
  const std::string bytes = read(model);
  std::ofstream(file("cut.keras"), std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  r = run("predict '" + file("cut.keras") + "' '" + file("in.npz") + "' --output '" + file("out.npz") + "'");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("rnnx: error:"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(file("out.npz")));

  // Inputs of the wrong shape.
  write_npy(file("bad.npy"), Tensor<float>({2, 3}));
  r = run("predict '" + written("lstm__impl_1_rs_gb.keras") + "' '" + file("bad.npy") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("rnnx: error:"), std::string::npos) << r.err;
}

TEST_F(Cli, ConvertThenVerify) {
  // A tf_keras .h5 file -> .keras, with a test vector computed by rnnx.
  const auto golden = read_npz(keras_file("enc_dec.tfk.npz"));
  write_npz(file("in.npz"), {{"input_0", golden.at("c0_x0")}, {"input_1", golden.at("c0_x1")}});
  Result r = run("convert '" + keras_file("enc_dec.tfk.h5") + "' '" + file("enc_dec.keras") + "' --with-test-vector '" +
                 file("in.npz") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("verify '" + file("enc_dec.keras") + "'");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("output_0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("passed"), std::string::npos) << r.out;
  // The rnnx-computed outputs match Keras' recorded ones too.
  EXPECT_TRUE(all_close(read_test_vector(file("enc_dec.keras")).outputs[0],
                        read_npz(keras_file("enc_dec.tfk.npz")).at("c0_y0").as<float>()));

  // Converting a file that carries a test vector keeps it.
  r = run("convert '" + written("gru__ra_false_gb_rs.keras") + "' '" + file("again.keras") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(run("verify '" + file("again.keras") + "'").code, 0);
}

TEST_F(Cli, VerifyFailsOnWrongExpectations) {
  const std::string model = written("gru__ra_false_gb_rs.keras");
  TestVector<float> tv = read_test_vector(model);
  tv.outputs[0][0] += 0.5f;
  write_test_vector(file("wrong.npz"), tv);
  Result r = run("verify '" + model + "' --test-vector '" + file("wrong.npz") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("FAILED"), std::string::npos) << r.out;
  // A generous tolerance accepts it.
  r = run("verify '" + model + "' --test-vector '" + file("wrong.npz") + "' --atol 1");
  EXPECT_EQ(r.code, 0) << r.out;
  r = run("verify '" + model + "' --atol abc");
  EXPECT_EQ(r.code, 2);
  // A file without a test vector cannot be verified.
  ASSERT_EQ(run("convert '" + keras_file("lstm_dense.k3.keras") + "' '" + file("plain.keras") + "'").code, 0);
  r = run("verify '" + file("plain.keras") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no test vector"), std::string::npos) << r.err;
}

TEST_F(Cli, ConvertRefusalWritesNothing) {
  // tf_keras hard_sigmoid is the Keras 2 formula: Keras 3 cannot express it.
  Result r = run("convert '" + keras_file("hard_sigmoid.tfk.h5") + "' '" + file("hs.keras") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("hard_sigmoid"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(file("hs.keras")));
}

TEST_F(Cli, PyTorchWeightsPredictAndConvert) {
  // safetensors, batch_first=True: predict straight from the PyTorch file.
  const auto lstm = read_npz(pytorch_file("lstm_1l.npz"));
  write_npy(file("x.npy"), lstm.at("x"));
  Result r = run("predict '" + pytorch_file("lstm_1l.safetensors") + "' '" + file("x.npy") + "' --output '" +
                 file("y.npz") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  auto y = read_npz(file("y.npz"));
  ASSERT_EQ(y.size(), 3u);  // output, h, c
  EXPECT_TRUE(all_close(y.at("output_0").as<float>(), lstm.at("output").as<float>()));
  EXPECT_TRUE(all_close(y.at("output_1").as<float>(), state_entry(lstm.at("h_n").as<float>(), 0)));
  EXPECT_TRUE(all_close(y.at("output_2").as<float>(), state_entry(lstm.at("c_n").as<float>(), 0)));

  // torch.save zip, two bidirectional LSTM layers, batch_first=False: convert to .keras,
  // then run the .keras file on the input in Keras layout.
  const auto bi = read_npz(pytorch_file("lstm_2l_bi.npz"));
  write_npy(file("xb.npy"), NpyArray::from(swap_batch_and_steps(bi.at("x").as<float>())));
  r = run("convert '" + pytorch_file("lstm_2l_bi.pt") + "' '" + file("bi.keras") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("summary '" + file("bi.keras") + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Bidirectional"), std::string::npos) << r.out;
  r = run("predict '" + file("bi.keras") + "' '" + file("xb.npy") + "' --output '" + file("yb.npz") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  y = read_npz(file("yb.npz"));
  ASSERT_EQ(y.size(), 9u);  // output, then h_n and c_n of 2 layers x 2 directions
  EXPECT_TRUE(all_close(y.at("output_0").as<float>(), swap_batch_and_steps(bi.at("output").as<float>())));
  for (int64_t k = 0; k < 4; ++k) {
    EXPECT_TRUE(
        all_close(y.at("output_" + std::to_string(1 + k)).as<float>(), state_entry(bi.at("h_n").as<float>(), k)))
        << "h_n[" << k << "]";
    EXPECT_TRUE(
        all_close(y.at("output_" + std::to_string(5 + k)).as<float>(), state_entry(bi.at("c_n").as<float>(), k)))
        << "c_n[" << k << "]";
  }

  r = run("summary '" + pytorch_file("gru_2l_bi.safetensors") + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("PyTorch weights, safetensors"), std::string::npos) << r.out;
}

TEST_F(Cli, PyTorchConvertRefusalsAndUnknownFiles) {
  // proj_size maps to TF1's LSTMCell, which Keras 3 has no layer for.
  Result r = run("convert '" + pytorch_file("lstm_proj.safetensors") + "' '" + file("p.keras") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("TF1LSTMCell"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(file("p.keras")));
  // A wrong prefix names the keys it looked for.
  r = run("summary '" + pytorch_file("lstm_1l.safetensors") + "' --pytorch-prefix encoder");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("encoder."), std::string::npos) << r.err;
  // Neither Keras nor PyTorch: both readings are reported.
  std::ofstream(file("junk.bin")) << "this is not a model";
  r = run("predict '" + file("junk.bin") + "' '" + file("x.npy") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is neither a Keras model file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nor a PyTorch weights file"), std::string::npos) << r.err;
}

TEST_F(Cli, FileThatCrashesLibhdf5IsAnErrorNotACrash) {
  // libhdf5 1.10.8 segfaults inside H5HG_read on this file (tests/data/io/h5/README.md);
  // wherever it fails, rnnx must report an error and exit with 1, never die by a signal.
  const std::string bad = std::string(RNNX_TEST_DATA_DIR) + "/io/h5/corrupt_global_heap.tfk.h5";
  for (const std::string& cmd : {"summary '" + bad + "'", "convert '" + bad + "' '" + file("out.keras") + "'"}) {
    const Result r = run(cmd);
    EXPECT_EQ(r.code, 1) << cmd << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("rnnx: error: ", 0), 0u) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  EXPECT_FALSE(fs::exists(file("out.keras")));
}

TEST_F(Cli, Summary) {
  Result r = run("summary '" + keras_file("lstm_dense.k3.keras") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("keras_archive"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Total params"), std::string::npos) << r.out;
}

// Outputs nested in lists or dicts come out flat, in Keras's tree.flatten order (dict keys
// sorted), as the Keras goldens list them.
TEST_F(Cli, PredictFlattensNestedOutputs) {
  for (const std::string name : {"struct_out_lstm_cells", "struct_out_dict", "struct_out_list"}) {
    const auto golden = read_npz(keras_file(name + ".k3.npz"));
    write_npy(file("x.npy"), golden.at("c0_x0").as<float>());
    const Result r =
        run("predict '" + keras_file(name + ".k3.keras") + "' '" + file("x.npy") + "' -o '" + file("y.npz") + "'");
    ASSERT_EQ(r.code, 0) << name << r.err;
    const auto got = read_npz(file("y.npz"));
    size_t n = 0;
    while (golden.count("c0_y" + std::to_string(n))) ++n;
    ASSERT_EQ(got.size(), n) << name;
    for (size_t i = 0; i < n; ++i)
      EXPECT_TRUE(all_close(got.at("output_" + std::to_string(i)).as<float>(),
                            golden.at("c0_y" + std::to_string(i)).as<float>()))
          << name << " output " << i;
  }
}

}  // namespace
}  // namespace rnnx::testing
