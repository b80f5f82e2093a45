#pragma once
// A tensor with a name: the unit of training checkpoints (io/checkpoint.h) and of optimizer
// state (train/optimizer.h). Its own header so the optimizer does not depend on io.
#include <string>

#include "rnnx/core/tensor.h"

namespace rnnx {

template <class T>
struct NamedTensor {
  std::string name;
  Tensor<T> value;
};

}  // namespace rnnx
