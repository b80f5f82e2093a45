// Developer tool: writes rnnx-made .keras files from Keras parity goldens, for
// python/oracle/verify_rnnx_files.py to load in real Keras 3 (tests/data/rnnx_written).
//
//   rnnx_write_fixtures GOLDEN_DIR OUT_DIR family/case [family/case ...]
//
// For each golden (tests/data/parity/<family>/<case>.json + .npz, made by Keras): builds the
// model from its config (a "layer" golden becomes Input(s) -> layer), sets the Keras
// weights, checks that rnnx reproduces the golden's first call, and saves
// OUT_DIR/<family>__<case>.keras carrying that call's inputs and Keras' outputs as its test
// vector. Goldens whose first call cannot be a model call (training mode, explicit masks,
// constants, state resets) are refused.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rnnx/core/error.h"
#include "rnnx/core/rng.h"
#include "rnnx/io/keras_config.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/io/save_model.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/masking.h"
#include "rnnx/model/model.h"

namespace {

using Json = nlohmann::json;

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw rnnx::IoError("cannot open '" + path + "'");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<rnnx::Tensor<float>> arrays(const std::map<std::string, rnnx::NpyArray>& npz, const Json& keys) {
  std::vector<rnnx::Tensor<float>> out;
  if (keys.is_null()) return out;
  for (const auto& k : keys) out.push_back(npz.at(k.get<std::string>()).as<float>());
  return out;
}

std::string file_name(const std::string& out_dir, std::string name) {
  if (const size_t slash = name.find('/'); slash != std::string::npos) name.replace(slash, 1, "__");
  return out_dir + "/" + name + ".keras";
}

// synthetic/masked_decoder_initial_state: a tf.keras-style encoder-decoder whose decoder
// call gets both initial_state and its input's mask (pass_mask = true). Keras 3 passes no
// implicit mask to a call with initial_state, so the writer must record the mask as
// NotEqual/Any operations. No golden has this shape; the expected outputs are rnnx's own
// (rnnx's tf.keras mask semantics are covered by the parity goldens), so Keras loading the
// file and matching them checks the writer.
void write_masked_decoder(const std::string& out_dir, const std::string& name) {
  auto model = std::make_unique<rnnx::Model<float>>("masked_encoder_decoder");
  model->set_seed(7);
  const auto enc_in = model->input({-1, 5, 3}, "encoder_input");
  const auto dec_in = model->input({-1, 4, 2}, "decoder_input");
  rnnx::LSTMOptions enc_o;
  enc_o.units = 4;
  enc_o.return_state = true;
  rnnx::LSTMOptions dec_o;
  dec_o.units = 4;
  dec_o.return_sequences = true;
  const auto enc_m = model->call(std::make_shared<rnnx::Masking<float>>(), {enc_in});
  const auto enc = model->call(std::make_shared<rnnx::LSTM<float>>(enc_o, "encoder"), enc_m);
  const auto dec_m =
      model->call(std::make_shared<rnnx::Masking<float>>(rnnx::MaskingOptions{0.0}, "decoder_masking"), {dec_in});
  const auto dec = model->call(std::make_shared<rnnx::LSTM<float>>(dec_o, "decoder"), dec_m,
                               {.initial_state = {enc[1], enc[2]}, .pass_mask = true});
  rnnx::DenseOptions d;
  d.units = 3;
  model->set_outputs(model->call(std::make_shared<rnnx::Dense<float>>(d), {dec[0]}));
  rnnx::Rng rng(11);
  auto padded = [&](rnnx::Shape shape) {
    rnnx::Tensor<float> t(shape);
    for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.normal());
    const int64_t steps = shape[1], feat = shape[2];
    for (int64_t b = 0; b < shape[0]; ++b)  // sample b has its last b steps padded with zeros
      for (int64_t s = steps - b; s < steps; ++s)
        for (int64_t f = 0; f < feat; ++f) t[(b * steps + s) * feat + f] = 0.0f;
    return t;
  };
  const auto tv = rnnx::make_test_vector(*model, {padded({3, 5, 3}), padded({3, 4, 2})});
  const std::string path = file_name(out_dir, name);
  rnnx::save_model(*model, path, &tv);
  std::cout << "wrote " << path << "\n";
}

// The model files' indexes: cases.json, then the families' own (conv1d_file_cases.json, ...).
const char* const kFileIndexes[] = {"cases.json", "conv1d_file_cases.json", "conv2d_file_cases.json",
                                    "issue9_file_cases.json"};

// files/<file>: a model file Keras or tf_keras wrote (tests/data/files, next to the parity
// goldens), loaded by rnnx and written back as .keras with its first call as test vector.
void write_converted(const std::string& files_dir, const std::string& out_dir, const std::string& name) {
  const std::string file = name.substr(name.find('/') + 1);
  Json cases = Json::array();
  for (const char* index : kFileIndexes) {
    const Json doc = Json::parse(read_text(files_dir + "/" + index));  // kept alive for the loop
    for (const auto& c : doc.at("cases")) cases.push_back(c);
  }
  for (const auto& c : cases) {
    if (c.at("file") != file) continue;
    const auto npz = rnnx::read_npz(files_dir + "/" + c.at("npz").get<std::string>());
    rnnx::TestVector<float> tv;
    for (int i = 0; npz.count("c0_x" + std::to_string(i)); ++i)
      tv.inputs.push_back(npz.at("c0_x" + std::to_string(i)).as<float>());
    for (int i = 0; npz.count("c0_y" + std::to_string(i)); ++i)
      tv.outputs.push_back(npz.at("c0_y" + std::to_string(i)).as<float>());
    auto model = rnnx::load_model<float>(files_dir + "/" + file);
    const rnnx::VerifyReport r = rnnx::compare_outputs(model->predict(tv.inputs), tv.outputs);
    if (!r.passed) throw rnnx::ConfigError(name + ": rnnx does not reproduce Keras:\n" + r.to_string());
    model->reset_states();
    std::string out = file;
    for (char& ch : out)
      if (ch == '.') ch = '_';
    const std::string path = file_name(out_dir, "files/" + out);
    rnnx::save_model(*model, path, &tv);
    std::cout << "wrote " << path << "\n";
    return;
  }
  throw rnnx::ConfigError(name + ": not listed in the indexes of " + files_dir + " (cases.json, *_file_cases.json)");
}

void write_case(const std::string& golden_dir, const std::string& out_dir, const std::string& name) {
  if (name == "synthetic/masked_decoder_initial_state") return write_masked_decoder(out_dir, name);
  if (name.rfind("files/", 0) == 0) return write_converted(golden_dir + "/../files", out_dir, name);
  const Json g = Json::parse(read_text(golden_dir + "/" + name + ".json"));
  const auto npz = rnnx::read_npz(golden_dir + "/" + name + ".npz");
  const std::string version = g.at("keras_version");
  const Json& call = g.at("calls").at(0);
  if (call.at("training").get<bool>() || !call.at("mask").is_null() || !call.at("constants").is_null())
    throw rnnx::ConfigError(name + ": the first call is not a plain inference call");
  std::vector<rnnx::Tensor<float>> weights;
  for (int64_t i = 0; i < g.at("num_weights").get<int64_t>(); ++i)
    weights.push_back(
        npz.at(std::string("w").append(std::to_string(i))).as<float>());  // (GCC 12 -Wrestrict false alarm on "w" + s)

  rnnx::TestVector<float> tv;
  tv.inputs = arrays(npz, call.at("inputs"));
  const auto states = arrays(npz, call.at("initial_state"));
  tv.outputs = arrays(npz, call.at("outputs"));
  std::unique_ptr<rnnx::Model<float>> model;
  if (g.at("kind") == "model") {
    model = rnnx::model_from_config<float>(g.at("model").dump(), version);
  } else {
    std::shared_ptr<rnnx::Layer<float>> layer = rnnx::layer_from_config<float>(g.at("layer").dump(), version);
    const bool stateful = g.at("layer").at("config").value("stateful", false);
    model = std::make_unique<rnnx::Model<float>>("functional");
    auto shape_of = [&](const rnnx::Tensor<float>& t) {
      rnnx::Shape s = t.shape();
      if (!stateful) s[0] = -1;
      return s;
    };
    std::vector<rnnx::ModelTensor> args, init;
    for (const auto& x : tv.inputs) args.push_back(model->input(shape_of(x)));
    for (const auto& s : states) init.push_back(model->input(shape_of(s)));
    model->set_outputs(model->call(layer, args, {.initial_state = init}));
    for (const auto& s : states) tv.inputs.push_back(s);
  }
  model->set_weights(weights);
  const auto got = model->predict(tv.inputs);
  const rnnx::VerifyReport r = rnnx::compare_outputs(got, tv.outputs);
  if (!r.passed) throw rnnx::ConfigError(name + ": rnnx does not reproduce the golden:\n" + r.to_string());
  const std::string path = file_name(out_dir, name);
  rnnx::save_model(*model, path, &tv);
  std::cout << "wrote " << path << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: rnnx_write_fixtures GOLDEN_DIR OUT_DIR family/case [family/case ...]\n";
    return 2;
  }
  int failures = 0;
  for (int i = 3; i < argc; ++i) {
    try {
      write_case(argv[1], argv[2], argv[i]);
    } catch (const std::exception& e) {
      std::cerr << argv[i] << ": " << e.what() << "\n";
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}
