#pragma once
// The small model and data of the data-parallel tests (tests/mpi and
// tests/unit/data_parallel_test.cpp): masking, a Bidirectional LSTM with input and recurrent
// dropout, Gaussian noise, a Dropout layer and a GRU with dropout, so that every training step
// draws random numbers in several kinds of layers and the mask reaches the recurrent layers.
// Fixed seeds: every rank (and every process) builds the same model.
#include <memory>

#include "rnnx/core/rng.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/dense.h"
#include "rnnx/layers/dropout.h"
#include "rnnx/layers/gru.h"
#include "rnnx/layers/input_layer.h"
#include "rnnx/layers/lstm.h"
#include "rnnx/layers/masking.h"
#include "rnnx/layers/noise.h"
#include "rnnx/layers/normalization.h"
#include "rnnx/model/sequential.h"
#include "rnnx/train/adam.h"
#include "rnnx/train/trainer.h"

namespace rnnx::test {

inline constexpr int64_t kDpSteps = 6, kDpFeatures = 4, kDpClasses = 3;

// batch_norm: a BatchNormalization between the GRU and the Dense layer (its moving
// statistics are the non-trainable weights a training step changes).
inline std::unique_ptr<Sequential<float>> dp_test_model(bool batch_norm = false) {
  auto m = std::make_unique<Sequential<float>>();
  m->add(std::make_shared<InputLayer<float>>(Shape{-1, kDpSteps, kDpFeatures}));
  m->add(std::make_shared<Masking<float>>(MaskingOptions{.mask_value = 0.0}));
  LSTMOptions lo;
  lo.units = 5;
  lo.dropout = 0.2;
  lo.recurrent_dropout = 0.2;
  lo.return_sequences = true;
  auto bidi = std::make_shared<Bidirectional<float>>(LSTM<float>(lo));
  bidi->set_seed(6);
  m->add(bidi);
  auto noise = std::make_shared<GaussianNoise<float>>(0.05);
  noise->set_seed(7);
  m->add(noise);
  auto drop = std::make_shared<Dropout<float>>(DropoutOptions{.rate = 0.25});
  drop->set_seed(8);
  m->add(drop);
  GRUOptions go;
  go.units = 4;
  go.dropout = 0.1;
  go.seed = 9;
  m->add(std::make_shared<GRU<float>>(go));
  if (batch_norm) m->add(std::make_shared<BatchNormalization<float>>(BatchNormalizationOptions{{}, -1, 0.9}));
  auto dense =
      std::make_shared<Dense<float>>(DenseOptions{.units = kDpClasses, .activation = Activation::from_name("softmax")});
  dense->set_seed(10);
  m->add(dense);
  return m;
}

inline void dp_compile(Trainer<float>& t) {
  t.compile(std::shared_ptr<const Loss<float>>(make_loss<float>("sparse_categorical_crossentropy")),
            std::make_shared<Adam<float>>(AdamOptions{.learning_rate = 0.01}), {make_metric<float>("accuracy")});
}

// n sequences [n, kDpSteps, kDpFeatures]; sample i has 3 + i % 4 real steps followed by
// zero padding (masked). Labels 0..kDpClasses-1.
struct DpData {
  Tensor<float> x, y;
};

inline DpData dp_test_data(int64_t n, uint64_t seed = 42) {
  DpData d{Tensor<float>(Shape{n, kDpSteps, kDpFeatures}, 0.0f), Tensor<float>(Shape{n}, 0.0f)};
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t real = 3 + i % 4;
    for (int64_t t = 0; t < real && t < kDpSteps; ++t)
      for (int64_t f = 0; f < kDpFeatures; ++f)
        d.x[(i * kDpSteps + t) * kDpFeatures + f] = static_cast<float>(rng.uniform(-1.0, 1.0));
    d.y[i] = static_cast<float>(rng.below(kDpClasses));
  }
  return d;
}

}  // namespace rnnx::test
