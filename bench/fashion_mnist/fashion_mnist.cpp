// Fashion-MNIST convergence benchmark (not a CI test): an LSTM reads each 28x28 image as 28
// steps of 28 pixels (scaled to [0, 1]) and a Dense layer classifies its last output:
//
//   Input(28, 28) -> LSTM(128) -> Dense(10) logits
//   Adam(1e-3), sparse categorical crossentropy (from_logits), batch 32 (Keras's default),
//   shuffled each epoch
//
// Prints, per epoch, the training loss/accuracy, the test loss/accuracy (the test set is the
// fit's validation data) and the wall time of the training pass and of the evaluation.
//
// Usage: fashion_mnist_bench [--data DIR] [--epochs N] [--batch-size N] [--lr X]
//                            [--train-limit N] [--test-limit N] [--seed N]
// DIR holds {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (default: the Debian package
// dataset-fashion-mnist, /usr/share/datasets/fashion-mnist). The same seed gives the same run.
#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/io/idx.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/model/sequential.h"
#include "rnnx/train/adam.h"
#include "rnnx/train/losses.h"
#include "rnnx/train/metrics.h"
#include "rnnx/train/trainer.h"

namespace {

using rnnx::Shape;
using rnnx::Tensor;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string data = "/usr/share/datasets/fashion-mnist";
  int64_t epochs = 10;
  int64_t batch_size = 32;
  double lr = 1e-3;
  int64_t train_limit = 0;  // 0 = all 60000
  int64_t test_limit = 0;   // 0 = all 10000
  uint64_t seed = 1;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "fashion_mnist_bench: %s\nusage: fashion_mnist_bench [--data DIR] [--epochs N] [--batch-size N] "
               "[--lr X] [--train-limit N] [--test-limit N] [--seed N]\n",
               why);
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + k).c_str());
    const std::string v = argv[++i];
    try {
      if (k == "--data") a.data = v;
      else if (k == "--epochs") a.epochs = std::stoll(v);
      else if (k == "--batch-size") a.batch_size = std::stoll(v);
      else if (k == "--lr") a.lr = std::stod(v);
      else if (k == "--train-limit") a.train_limit = std::stoll(v);
      else if (k == "--test-limit") a.test_limit = std::stoll(v);
      else if (k == "--seed") a.seed = std::stoull(v);
      else usage(("unknown option " + k).c_str());
    } catch (const std::logic_error&) {
      usage(("bad value '" + v + "' for " + k).c_str());
    }
  }
  return a;
}

// "<dir>/<stem>" or "<dir>/<stem>.gz", whichever exists.
std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& p : {dir + "/" + stem, dir + "/" + stem + ".gz"})
    if (std::filesystem::exists(p)) return p;
  throw rnnx::IoError("fashion_mnist_bench: neither " + dir + "/" + stem + " nor its .gz exists (apt install "
                      "dataset-fashion-mnist, or pass --data DIR)");
}

// The first `limit` samples (all if 0) of a [n, ...] tensor.
Tensor<float> head(const Tensor<float>& t, int64_t limit) {
  if (limit <= 0 || limit >= t.dim(0)) return t;
  Shape s = t.shape();
  const int64_t per = t.size() / s[0];
  s[0] = limit;
  return Tensor<float>(s, std::vector<float>(t.values().begin(), t.values().begin() + limit * per));
}

// Images [n, 28, 28] scaled to [0, 1] and labels [n] as floats.
std::pair<Tensor<float>, Tensor<float>> load_split(const std::string& dir, const std::string& prefix, int64_t limit) {
  Tensor<float> x = rnnx::read_idx(find_file(dir, prefix + "-images-idx3-ubyte")).as<float>();
  Tensor<float> y = rnnx::read_idx(find_file(dir, prefix + "-labels-idx1-ubyte")).as<float>();
  if (x.rank() != 3 || y.rank() != 1 || x.dim(0) != y.dim(0))
    throw rnnx::FormatError("fashion_mnist_bench: " + prefix + " images " + rnnx::to_string(x.shape()) +
                            " and labels " + rnnx::to_string(y.shape()) + " do not match");
  for (float& v : x.values()) v /= 255.0f;
  return {head(x, limit), head(y, limit)};
}

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }
// Process CPU time (all threads): the machine is shared, so wall time alone says little.
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// Times each epoch's training pass (begin -> validation start) and evaluation, and prints
// one line per epoch.
class EpochReport : public rnnx::Callback<float> {
 public:
  void on_train_begin(const rnnx::Logs&) override { start_ = Clock::now(); }
  void on_epoch_begin(int64_t, const rnnx::Logs&) override {
    epoch_start_ = Clock::now();
    cpu_start_ = cpu_seconds();
  }
  void on_test_begin(const rnnx::Logs&) override {
    test_start_ = Clock::now();
    cpu_train_ = cpu_seconds() - cpu_start_;
  }
  void on_test_end(const rnnx::Logs&) override { test_end_ = Clock::now(); }
  void on_epoch_end(int64_t epoch, rnnx::Logs& logs) override {
    const double train_s = seconds(epoch_start_, test_start_), eval_s = seconds(test_start_, test_end_);
    std::printf("epoch %2lld  loss %.4f  acc %.4f  test_loss %.4f  test_acc %.4f  train %.1f s (cpu %.1f s)  "
                "eval %.1f s  (total %.1f s)\n",
                static_cast<long long>(epoch + 1), logs.at("loss"), logs.at("accuracy"), logs.at("val_loss"),
                logs.at("val_accuracy"), train_s, cpu_train_, eval_s, seconds(start_, Clock::now()));
    std::fflush(stdout);
  }

 private:
  Clock::time_point start_, epoch_start_, test_start_, test_end_;
  double cpu_start_ = 0.0, cpu_train_ = 0.0;
};

int run(const Args& a) {
  const auto t_load = Clock::now();
  auto [x_train, y_train] = load_split(a.data, "train", a.train_limit);
  auto [x_test, y_test] = load_split(a.data, "t10k", a.test_limit);
  std::printf("fashion-mnist: train %s, test %s (loaded in %.1f s)\n", rnnx::to_string(x_train.shape()).c_str(),
              rnnx::to_string(x_test.shape()).c_str(), seconds(t_load, Clock::now()));

  rnnx::Sequential<float> model("fashion_mnist_lstm");
  model.set_seed(a.seed);
  model.add(std::make_shared<rnnx::InputLayer<float>>(Shape{-1, 28, 28}));
  rnnx::LSTMOptions lstm;
  lstm.units = 128;
  model.add(std::make_shared<rnnx::LSTM<float>>(lstm));
  rnnx::DenseOptions dense;
  dense.units = 10;
  model.add(std::make_shared<rnnx::Dense<float>>(dense));
  std::printf("%s", model.summary().c_str());

  rnnx::Trainer<float> trainer(model);
  rnnx::LossOptions lo;
  lo.from_logits = true;
  rnnx::AdamOptions ao;
  ao.learning_rate = a.lr;
  trainer.compile(std::shared_ptr<const rnnx::Loss<float>>(rnnx::make_loss<float>("sparse_categorical_crossentropy", lo)),
                  std::make_shared<rnnx::Adam<float>>(ao),
                  {std::shared_ptr<rnnx::Metric<float>>(rnnx::make_metric<float>("accuracy"))});

  rnnx::FitOptions<float> fo;
  fo.batch_size = a.batch_size;
  fo.epochs = a.epochs;
  fo.verbose = 0;
  fo.shuffle = true;
  fo.seed = a.seed;
  fo.validation_data = rnnx::ValidationData<float>{{x_test}, {y_test}, std::nullopt};
  fo.validation_batch_size = 1000;
  fo.callbacks = {std::make_shared<EpochReport>()};
  std::printf("LSTM(128) -> Dense(10), Adam(lr=%g), batch %lld, %lld epochs, seed %llu\n", a.lr,
              static_cast<long long>(a.batch_size), static_cast<long long>(a.epochs),
              static_cast<unsigned long long>(a.seed));
  std::fflush(stdout);
  trainer.fit(x_train, y_train, fo);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_mnist_bench: %s\n", e.what());
    return 1;
  }
}
