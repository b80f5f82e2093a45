#pragma once
// Shared arithmetic of the 1-D convolution and pooling layers (internal; not
// installed): TensorFlow's output-length and padding rules, the channels_first
// <-> channels_last transposes, and a grouped convolution as im2col +
// kernels::gemm (conv_nd_math.h with one spatial axis). Everything works on
// channels_last buffers [batch, steps, channels]; callers transpose at the
// boundary.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "layers/conv_nd_math.h"
#include "rnnx/core/error.h"
#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx::detail {

// Output length and left padding of a window of `size` taps `dilation` apart,
// moved by `stride` over `steps` (TF's rules; Keras'
// compute_conv_output_shape). steps < 0 (unknown) gives -1. "valid" with a
// window longer than the input gives out < 1: the caller throws.
struct Window1D {
  int64_t out = -1;
  int64_t pad_left = 0;
};

inline Window1D window_1d(int64_t steps, int64_t size, int64_t stride, int64_t dilation, const std::string &padding) {
  Window1D w;
  const int64_t span = (size - 1) * dilation + 1;
  if (padding == "causal") w.pad_left = span - 1;
  if (steps < 0) return w;
  if (padding == "same") {
    w.out = (steps + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((w.out - 1) * stride + span - steps, 0);
    w.pad_left = total / 2;  // TF puts the odd padding element on the right
  } else {
    const int64_t padded = steps + w.pad_left;
    w.out = padded >= span ? (padded - span) / stride + 1 : 0;
  }
  return w;
}

// y[b, j, i] = x[b, i, j] for a contiguous [batch, a, b] tensor (a and b
// swapped).
template <class T>
Tensor<T> swap_last_axes(const Tensor<T> &x) {
  const Shape &s = x.shape();
  Tensor<T> y({s[0], s[2], s[1]});
  for (int64_t b = 0; b < s[0]; ++b)
    kernels::swap_leading_axes<T>(s[1], s[2], 1, x.data() + b * s[1] * s[2], y.data() + b * s[1] * s[2]);
  return y;
}

// The geometry of one grouped convolution on channels_last buffers.
struct ConvGeometry {
  int64_t batch = 0, steps = 0, channels = 0;  // input
  int64_t kernel = 1, stride = 1, dilation = 1, pad_left = 0, out_steps = 0;
  int64_t groups = 1, filters = 0;  // output channels (divisible by groups)
};

// The 1-D convolution as conv_nd_math.h's N-D one with one spatial axis.
inline ConvGeometryND as_nd(const ConvGeometry &g) {
  ConvGeometryND n;
  n.batch = g.batch;
  n.channels = g.channels;
  n.in[0] = g.steps;
  n.kernel[0] = g.kernel;
  n.stride[0] = g.stride;
  n.dilation[0] = g.dilation;
  n.pad[0] = g.pad_left;
  n.out[0] = g.out_steps;
  n.groups = g.groups;
  n.filters = g.filters;
  return n;
}

// y[batch, out_steps, filters] = conv(x, w) with w laid out [kernel, channels /
// groups, filters] (Keras); group i reads channels [i*cg, (i+1)*cg) and writes
// filters [i*fg, (i+1)*fg). `col` is scratch, resized here.
template <class T>
void conv1d_forward(const ConvGeometry &g, const T *x, const T *w, T *y, std::vector<T> &col) {
  conv_nd_forward(as_nd(g), x, w, y, col);
}

// Backward of conv1d_forward: dw += colᵀ dy, dx += col2im(dy wᵀ) (dx must be
// zeroed or hold what it accumulates). `col` and `dcol` are scratch.
template <class T>
void conv1d_backward(const ConvGeometry &g, const T *x, const T *w, const T *dy, T *dx, T *dw, std::vector<T> &col,
                     std::vector<T> &dcol) {
  conv_nd_backward(as_nd(g), x, w, dy, dx, dw, col, dcol);
}

}  // namespace rnnx::detail
