// The program the `mpi` tests launch with mpirun (tests/mpi/mpi_test.cpp): it trains the
// data-parallel test model (tests/mpi/dp_test_model.h) with DataParallel over
// MPI_COMM_WORLD and records, on rank 0, what the tests compare.
//
//   rnnx_mpi_worker train   OUT EPOCHS     fit EPOCHS epochs from scratch
//   rnnx_mpi_worker train_bn OUT EPOCHS    the same with a BatchNormalization layer
//   rnnx_mpi_worker resume  OUT EPOCHS     load OUT/run.ckpt, fit up to EPOCHS epochs
//   rnnx_mpi_worker die     OUT EPOCHS K   as train, but the last rank kills itself (SIGKILL)
//                                          at training step K (counted from 1)
//   rnnx_mpi_worker predict OUT            DataParallel::predict of the test inputs
//
// Files written by rank 0 in OUT: steps.bin (all weights after every training step, raw
// float32, appended), final.bin (the weights at the end), history.txt (per epoch: loss,
// accuracy, val_loss, val_accuracy as exact hex floats), run.ckpt (a checkpoint after every
// epoch, ModelCheckpoint), predict.bin (the predictions). Exit status 0 on success, 1 on an
// rnnx error (printed to stderr), 2 on bad arguments.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "mpi/dp_test_model.h"
#include "rnnx/core/error.h"
#include "rnnx/train/data_parallel.h"
#include "rnnx/train/model_checkpoint.h"
#include "rnnx/train/mpi.h"

namespace {

using namespace rnnx;

constexpr int64_t kSamples = 45, kBatch = 16;  // 36 training samples: batches of 16, 16, 4

void append_weights(Layer<float>& model, const std::string& path) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  for (const Tensor<float>& w : model.get_weights())
    f.write(reinterpret_cast<const char*>(w.data()), static_cast<std::streamsize>(sizeof(float) * w.size()));
}

// Rank 0 records the weights after every step; the last rank may kill itself at step K.
class StepRecorder : public Callback<float> {
 public:
  StepRecorder(int rank, int size, std::string path, int64_t die_at)
      : rank_(rank), size_(size), path_(std::move(path)), die_at_(die_at) {}
  void on_batch_end(int64_t /*batch*/, const Logs& /*logs*/) override {
    ++steps_;
    if (rank_ == 0) append_weights(this->trainer().model(), path_);
    if (die_at_ > 0 && steps_ == die_at_ && rank_ == size_ - 1) std::raise(SIGKILL);
  }

 private:
  int rank_, size_;
  std::string path_;
  int64_t die_at_;
  int64_t steps_ = 0;
};

int run(int argc, char** argv, const std::shared_ptr<Communicator>& comm) {
  if (argc < 3) {
    std::cerr << "usage: rnnx_mpi_worker train|train_bn|resume|die|predict OUT [EPOCHS [K]]\n";
    return 2;
  }
  const std::string mode = argv[1], out = argv[2];
  const int64_t epochs = argc > 3 ? std::atoll(argv[3]) : 0;
  const int64_t die_at = argc > 4 ? std::atoll(argv[4]) : 0;

  auto model = test::dp_test_model(/*batch_norm=*/mode == "train_bn");
  Trainer<float> trainer(*model);
  test::dp_compile(trainer);
  DataParallel<float> dp(trainer, comm, {.shards = 8});
  const test::DpData data = test::dp_test_data(kSamples);

  if (mode == "predict") {
    const std::vector<Tensor<float>> y = dp.predict({data.x}, 7);
    if (dp.rank() == 0) {
      std::ofstream f(out + "/predict.bin", std::ios::binary);
      f.write(reinterpret_cast<const char*>(y.at(0).data()),
              static_cast<std::streamsize>(sizeof(float) * y.at(0).size()));
    }
    return 0;
  }
  if (mode != "train" && mode != "train_bn" && mode != "resume" && mode != "die") {
    std::cerr << "rnnx_mpi_worker: unknown mode '" << mode << "'\n";
    return 2;
  }

  FitOptions<float> fo;
  fo.batch_size = kBatch;
  fo.epochs = epochs;
  fo.verbose = 0;
  fo.validation_split = 0.2;
  fo.seed = 11;
  if (mode == "resume") fo.initial_epoch = dp.load_checkpoint(out + "/run.ckpt");
  fo.callbacks.push_back(std::make_shared<StepRecorder>(dp.rank(), dp.size(), out + "/steps.bin", die_at));
  if (dp.rank() == 0) fo.callbacks.push_back(std::make_shared<ModelCheckpoint<float>>(out + "/run.ckpt"));
  const History h = dp.fit({data.x}, {data.y}, fo);

  if (dp.rank() == 0) {
    std::remove((out + "/final.bin").c_str());
    append_weights(*model, out + "/final.bin");
    std::ofstream f(out + "/history.txt", std::ios::app);
    for (size_t e = 0; e < h.epochs().size(); ++e) {
      f << h.epochs()[e];
      for (const char* key : {"loss", "accuracy", "val_loss", "val_accuracy"}) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " %a", h.at(key)[e]);
        f << buf;
      }
      f << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::shared_ptr<rnnx::Communicator> comm = rnnx::mpi_communicator();
  try {
    return run(argc, argv, comm);
  } catch (const rnnx::Error& e) {
    std::cerr << "rnnx_mpi_worker: rank " << comm->rank() << ": error: " << e.what() << "\n";
    if (comm->size() > 1) comm->abort(1);  // the other ranks may be waiting for this one
    return 1;
  }
}
