// A loaded model is safe for concurrent inference (issue 11; the contract is in
// rnnx/model/model.h): one model, eight threads calling predict() at once, every result
// bit-identical to the single-threaded one. The same binary is built with ThreadSanitizer
// (RNNX_SANITIZE_THREAD, scripts/run-tests.sh), which reports any data race these calls
// contain even when the numbers happen to agree.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/model/model.h"

namespace rnnx::testing {
namespace {

constexpr int kThreads = 8;
constexpr int kCallsPerThread = 3;

std::string files_dir() { return std::string(RNNX_TEST_DATA_DIR) + "/files"; }

// The inputs Keras was run on ("c0_x0", "c0_x1", ... or "x0", ...).
std::vector<Tensor<float>> inputs_of(const std::string& npz) {
  const auto arrays = read_npz(files_dir() + "/" + npz);
  std::vector<Tensor<float>> xs;
  for (const char* prefix : {"c0_x", "x"}) {
    for (int j = 0; arrays.count(prefix + std::to_string(j)); ++j)
      xs.push_back(arrays.at(prefix + std::to_string(j)).as<float>());
    if (!xs.empty()) break;
  }
  return xs;
}

bool same_bits(const std::vector<Tensor<float>>& a, const std::vector<Tensor<float>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].shape() != b[i].shape()) return false;
    if (std::memcmp(a[i].data(), b[i].data(), sizeof(float) * static_cast<size_t>(a[i].size())) != 0) return false;
  }
  return true;
}

// Loads `file`, predicts once on this thread, then kThreads threads predict together.
void check_concurrent(const std::string& file, const std::string& npz) {
  SCOPED_TRACE(file);
  auto model = load_model<float>(files_dir() + "/" + file);
  const auto xs = inputs_of(npz);
  ASSERT_FALSE(xs.empty()) << npz << " has no inputs";
  const auto want = model->predict(xs);
  std::atomic<int> mismatches{0}, errors{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();  // start together: the calls overlap
      for (int c = 0; c < kCallsPerThread; ++c) {
        try {
          if (!same_bits(model->predict(xs), want)) ++mismatches;
        } catch (const std::exception&) {
          ++errors;
        }
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0) << "concurrent predictions differ from the single-threaded one";
  EXPECT_EQ(errors.load(), 0) << "concurrent predictions threw";
}

// One model per family of layers: recurrent layers and wrappers, masking, embedding,
// attention, convolution, normalisation and preprocessing, nested and multi-input models.
TEST(ConcurrentPredict, EightThreadsGiveTheSingleThreadedResults) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"lstm_dense.k3.keras", "lstm_dense.k3.npz"},
      {"lstm_dense.tfk.h5", "lstm_dense.tfk.npz"},
      {"bidi_concat.k3.keras", "bidi_concat.k3.npz"},
      {"gru_before.k3.keras", "gru_before.k3.npz"},
      {"simple_rnn.k3.keras", "simple_rnn.k3.npz"},
      {"stacked_cells.k3.keras", "stacked_cells.k3.npz"},
      {"masking_td.k3.keras", "masking_td.k3.npz"},
      {"embedding_lstm.k3.keras", "embedding_lstm.k3.npz"},
      {"enc_dec.k3.keras", "enc_dec.k3.npz"},
      {"nested_enc_dec.k3.keras", "nested_enc_dec.k3.npz"},
      {"two_inputs.k3.keras", "two_inputs.k3.npz"},
      {"pool_concat.k3.keras", "pool_concat.k3.npz"},
      {"conv1d_cnn_lstm.k3.keras", "conv1d_cnn_lstm.npz"},
      {"conv2d_cnn_gru.k3.keras", "conv2d_cnn_gru.npz"},
      {"issue9_transformer_block.k3.keras", "issue9_transformer_block.npz"},
      {"issue9_enc_dec_attention.k3.keras", "issue9_enc_dec_attention.npz"},
      {"issue9_gru_bn_dense.k3.keras", "issue9_gru_bn_dense.npz"},
      {"issue9_lstm_ln_lstm.k3.keras", "issue9_lstm_ln_lstm.npz"},
      {"issue9_preprocessing_lstm.k3.keras", "issue9_preprocessing_lstm.npz"},
      {"issue9_conv_lstm_next_frame.k3.keras", "issue9_conv_lstm_next_frame.npz"},
  };
  for (const auto& [file, npz] : cases) check_concurrent(file, npz);
}

// Loading is thread-safe too: eight threads load the same files at once.
TEST(ConcurrentPredict, ModelsLoadOnSeveralThreadsAtOnce) {
  const std::vector<std::string> files = {"lstm_dense.tfk.h5", "bidi_concat.k3.keras", "embedding_lstm.tfk.h5",
                                          "issue9_transformer_block.tfk.h5"};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        (void)load_model<float>(files_dir() + "/" + files[static_cast<size_t>(t) % files.size()]);
      } catch (const std::exception&) {
        ++errors;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace
}  // namespace rnnx::testing
