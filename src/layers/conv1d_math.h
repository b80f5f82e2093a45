#pragma once
// Shared arithmetic of the 1-D convolution and pooling layers (internal; not
// installed): TensorFlow's output-length and padding rules, the channels_first
// <-> channels_last transposes, and a grouped convolution as im2col +
// kernels::gemm. Everything works on channels_last buffers [batch, steps,
// channels]; callers transpose at the boundary.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

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

// col[(b * out_steps + o), k * cg + c] = x[b, o * stride - pad_left + k *
// dilation, g * cg + c], zero outside the input (cg = channels / groups).
template <class T>
void im2col_1d(const ConvGeometry &g, int64_t group, const T *x, T *col) {
  const int64_t cg = g.channels / g.groups, width = g.kernel * cg;
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t o = 0; o < g.out_steps; ++o) {
      T *row = col + (b * g.out_steps + o) * width;
      for (int64_t k = 0; k < g.kernel; ++k) {
        const int64_t t = o * g.stride - g.pad_left + k * g.dilation;
        T *dst = row + k * cg;
        if (t < 0 || t >= g.steps) {
          std::fill(dst, dst + cg, T(0));
        } else {
          const T *src = x + (b * g.steps + t) * g.channels + group * cg;
          std::copy(src, src + cg, dst);
        }
      }
    }
}

// The adjoint of im2col_1d: dx[...] += dcol[...].
template <class T>
void col2im_1d(const ConvGeometry &g, int64_t group, const T *dcol, T *dx) {
  const int64_t cg = g.channels / g.groups, width = g.kernel * cg;
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t o = 0; o < g.out_steps; ++o) {
      const T *row = dcol + (b * g.out_steps + o) * width;
      for (int64_t k = 0; k < g.kernel; ++k) {
        const int64_t t = o * g.stride - g.pad_left + k * g.dilation;
        if (t < 0 || t >= g.steps) continue;
        T *dst = dx + (b * g.steps + t) * g.channels + group * cg;
        for (int64_t c = 0; c < cg; ++c) dst[c] += row[k * cg + c];
      }
    }
}

// y[batch, out_steps, filters] = conv(x, w) with w laid out [kernel, channels /
// groups, filters] (Keras); group i reads channels [i*cg, (i+1)*cg) and writes
// filters [i*fg, (i+1)*fg). `col` is scratch, resized here.
template <class T>
void conv1d_forward(const ConvGeometry &g, const T *x, const T *w, T *y, std::vector<T> &col) {
  const int64_t cg = g.channels / g.groups, fg = g.filters / g.groups, rows = g.batch * g.out_steps;
  col.resize(static_cast<size_t>(rows * g.kernel * cg));
  for (int64_t i = 0; i < g.groups; ++i) {
    im2col_1d(g, i, x, col.data());
    kernels::gemm<T>(false, false, rows, fg, g.kernel * cg, T(1), col.data(), g.kernel * cg, w + i * fg, g.filters,
                     T(0), y + i * fg, g.filters);
  }
}

// Backward of conv1d_forward: dw += colᵀ dy, dx += col2im(dy wᵀ) (dx must be
// zeroed or hold what it accumulates). `col` and `dcol` are scratch.
template <class T>
void conv1d_backward(const ConvGeometry &g, const T *x, const T *w, const T *dy, T *dx, T *dw, std::vector<T> &col,
                     std::vector<T> &dcol) {
  const int64_t cg = g.channels / g.groups, fg = g.filters / g.groups, rows = g.batch * g.out_steps;
  const int64_t width = g.kernel * cg;
  col.resize(static_cast<size_t>(rows * width));
  dcol.resize(col.size());
  for (int64_t i = 0; i < g.groups; ++i) {
    im2col_1d(g, i, x, col.data());
    kernels::gemm<T>(true, false, width, fg, rows, T(1), col.data(), width, dy + i * fg, g.filters, T(1), dw + i * fg,
                     g.filters);
    kernels::gemm<T>(false, true, rows, width, fg, T(1), dy + i * fg, g.filters, w + i * fg, g.filters, T(0),
                     dcol.data(), width);
    col2im_1d(g, i, dcol.data(), dx);
  }
}

}  // namespace rnnx::detail
