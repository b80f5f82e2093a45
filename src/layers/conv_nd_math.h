#pragma once
// Shared arithmetic of the 1-, 2- and 3-D convolution and pooling layers (internal; not
// installed): a grouped convolution over up to 3 spatial axes as im2col + kernels::gemm, and
// the channels_first <-> channels_last transposes. Everything works on channels_last buffers
// [batch, spatial..., channels]; callers transpose at the boundary. conv1d_math.h's 1-D
// convolution is this with one spatial axis.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/core/error.h"
#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"
#include "rnnx/kernels/kernels.h"

namespace rnnx::detail {

constexpr int kMaxSpatial = 3;

// The geometry of one grouped convolution on channels_last buffers. Spatial axes past `rank`
// are unused (size 1, kernel 1).
struct ConvGeometryND {
  int rank = 1;
  int64_t batch = 0, channels = 0;
  std::array<int64_t, kMaxSpatial> in{1, 1, 1}, kernel{1, 1, 1}, stride{1, 1, 1}, dilation{1, 1, 1}, pad{0, 0, 0},
      out{1, 1, 1};
  int64_t groups = 1, filters = 0;  // output channels (divisible by groups)

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t taps() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// Calls f(input_position or -1 when it falls in the padding, tap) for every tap of output
// position `o` (flat over the spatial axes), taps in Keras' kernel order (row-major).
template <class F>
void for_each_tap(const ConvGeometryND &g, int64_t o, F &&f) {
  const int64_t o2 = o % g.out[2], o1 = (o / g.out[2]) % g.out[1], o0 = o / (g.out[2] * g.out[1]);
  int64_t tap = 0;
  for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
    const int64_t i0 = o0 * g.stride[0] - g.pad[0] + k0 * g.dilation[0];
    const bool in0 = i0 >= 0 && i0 < g.in[0];
    for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
      const int64_t i1 = o1 * g.stride[1] - g.pad[1] + k1 * g.dilation[1];
      const bool in1 = in0 && i1 >= 0 && i1 < g.in[1];
      for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2, ++tap) {
        const int64_t i2 = o2 * g.stride[2] - g.pad[2] + k2 * g.dilation[2];
        const bool inside = in1 && i2 >= 0 && i2 < g.in[2];
        f(inside ? (i0 * g.in[1] + i1) * g.in[2] + i2 : int64_t{-1}, tap);
      }
    }
  }
}

// col[(b * out_size + o), tap * cg + c] = x[b, position of (o, tap), group * cg + c], zero in
// the padding (cg = channels / groups).
template <class T>
void im2col_nd(const ConvGeometryND &g, int64_t group, const T *x, T *col) {
  const int64_t cg = g.channels / g.groups, width = g.taps() * cg, outs = g.out_size(), ins = g.in_size();
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t o = 0; o < outs; ++o) {
      T *row = col + (b * outs + o) * width;
      for_each_tap(g, o, [&](int64_t i, int64_t tap) {
        T *dst = row + tap * cg;
        if (i < 0) {
          std::fill(dst, dst + cg, T(0));
        } else {
          const T *src = x + (b * ins + i) * g.channels + group * cg;
          std::copy(src, src + cg, dst);
        }
      });
    }
}

// The adjoint of im2col_nd: dx[...] += dcol[...].
template <class T>
void col2im_nd(const ConvGeometryND &g, int64_t group, const T *dcol, T *dx) {
  const int64_t cg = g.channels / g.groups, width = g.taps() * cg, outs = g.out_size(), ins = g.in_size();
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t o = 0; o < outs; ++o) {
      const T *row = dcol + (b * outs + o) * width;
      for_each_tap(g, o, [&](int64_t i, int64_t tap) {
        if (i < 0) return;
        T *dst = dx + (b * ins + i) * g.channels + group * cg;
        for (int64_t c = 0; c < cg; ++c) dst[c] += row[tap * cg + c];
      });
    }
}

// y[batch, out..., filters] = conv(x, w) with w laid out [kernel..., channels / groups,
// filters] (Keras); group i reads channels [i*cg, (i+1)*cg) and writes filters [i*fg,
// (i+1)*fg). `col` is scratch, resized here.
template <class T>
void conv_nd_forward(const ConvGeometryND &g, const T *x, const T *w, T *y, std::vector<T> &col) {
  const int64_t cg = g.channels / g.groups, fg = g.filters / g.groups, rows = g.batch * g.out_size();
  const int64_t width = g.taps() * cg;
  col.resize(static_cast<size_t>(rows * width));
  for (int64_t i = 0; i < g.groups; ++i) {
    im2col_nd(g, i, x, col.data());
    kernels::gemm<T>(false, false, rows, fg, width, T(1), col.data(), width, w + i * fg, g.filters, T(0), y + i * fg,
                     g.filters);
  }
}

// Backward of conv_nd_forward: dw += colᵀ dy, dx += col2im(dy wᵀ) (dx must be zeroed or hold
// what it accumulates). `col` and `dcol` are scratch.
template <class T>
void conv_nd_backward(const ConvGeometryND &g, const T *x, const T *w, const T *dy, T *dx, T *dw, std::vector<T> &col,
                      std::vector<T> &dcol) {
  const int64_t cg = g.channels / g.groups, fg = g.filters / g.groups, rows = g.batch * g.out_size();
  const int64_t width = g.taps() * cg;
  col.resize(static_cast<size_t>(rows * width));
  dcol.resize(col.size());
  for (int64_t i = 0; i < g.groups; ++i) {
    im2col_nd(g, i, x, col.data());
    kernels::gemm<T>(true, false, width, fg, rows, T(1), col.data(), width, dy + i * fg, g.filters, T(1), dw + i * fg,
                     g.filters);
    kernels::gemm<T>(false, true, rows, width, fg, T(1), dy + i * fg, g.filters, w + i * fg, g.filters, T(0),
                     dcol.data(), width);
    col2im_nd(g, i, dcol.data(), dx);
  }
}

// "(2, 3)", or "(2,)" for one entry, as Python prints a tuple.
inline std::string tuple_string(const std::vector<int64_t> &v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

// Expands a per-axis argument to `rank` entries: a single entry is broadcast (Keras'
// standardize_tuple). Throws ConfigError (naming `where` and `key`) for another count or an
// entry <= 0.
inline void expand_per_axis(const std::string &where, const char *key, std::vector<int64_t> &v, int rank) {
  if (v.size() == 1) v.assign(static_cast<size_t>(rank), v[0]);
  if (v.size() != static_cast<size_t>(rank))
    throw ConfigError(where + ": " + key + " must be an integer or a list of " + std::to_string(rank) +
                      " integers, got " + tuple_string(v));
  for (int64_t x : v)
    if (x <= 0) throw ConfigError(where + ": " + key + " must be > 0 on every axis, got " + tuple_string(v));
}

// (batch, channels, spatial...) -> (batch, spatial..., channels).
template <class T>
Tensor<T> channels_to_last(const Tensor<T> &x) {
  const Shape &s = x.shape();
  const int64_t c = s[1], n = x.size() / std::max<int64_t>(s[0] * c, 1);
  Shape out{s[0]};
  out.insert(out.end(), s.begin() + 2, s.end());
  out.push_back(c);
  Tensor<T> y(out);
  for (int64_t b = 0; b < s[0]; ++b) kernels::swap_leading_axes<T>(c, n, 1, x.data() + b * c * n, y.data() + b * c * n);
  return y;
}

// (batch, spatial..., channels) -> (batch, channels, spatial...).
template <class T>
Tensor<T> channels_to_first(const Tensor<T> &x) {
  const Shape &s = x.shape();
  const int64_t c = s.back(), n = x.size() / std::max<int64_t>(s[0] * c, 1);
  Shape out{s[0], c};
  out.insert(out.end(), s.begin() + 1, s.end() - 1);
  Tensor<T> y(out);
  for (int64_t b = 0; b < s[0]; ++b) kernels::swap_leading_axes<T>(n, c, 1, x.data() + b * c * n, y.data() + b * c * n);
  return y;
}

}  // namespace rnnx::detail
