#pragma once
// 3-D convolution (K3 keras/src/layers/convolutional/conv3d.py): Conv2D's layer (conv2d.h)
// over three spatial axes. Input (batch, d1, d2, d3, channels) with "channels_last", or
// (batch, channels, d1, d2, d3) with "channels_first"; kernel [k1, k2, k3, channels / groups,
// filters], bias [filters]. Same padding, stride, dilation, activation, mask and training
// contract as Conv2D.
#include <string>

#include "rnnx/layers/conv2d.h"

namespace rnnx {

template <class T>
class Conv3D : public ConvND<T> {
 public:
  explicit Conv3D(ConvOptions options, std::string name = "conv3d")
      : ConvND<T>(3, "Conv3D", std::move(options), std::move(name)) {}
};

// Keras alias.
template <class T>
using Convolution3D = Conv3D<T>;

extern template class Conv3D<float>;
extern template class Conv3D<double>;

}  // namespace rnnx
