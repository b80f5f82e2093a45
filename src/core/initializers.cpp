// Keras weight initializers (spec §1.2; K3 keras/src/initializers/random_initializers.py and
// constant_initializers.py). The distributions follow Keras exactly; the random stream is
// rnnx's own (Rng), so values match Keras only in distribution, never bit for bit.
#include "rnnx/initializers.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "rnnx/core/error.h"

namespace rnnx {
namespace {

// stddev of a standard normal truncated to [-2, 2]; dividing by it makes a truncated
// normal have the requested variance (Keras VarianceScaling, "truncated_normal").
constexpr double kTruncatedNormalStd = 0.87962566103423978;

struct Fans {
  double in = 1.0;
  double out = 1.0;
};

// Keras compute_fans: 0-D -> 1,1; 1-D (n) -> n,n; 2-D (a,b) -> a,b; k-D -> receptive field
// = product of the leading k-2 dims, fan_in = shape[-2]*rf, fan_out = shape[-1]*rf.
Fans compute_fans(const Shape& shape) {
  Fans f;
  if (shape.empty()) return f;
  if (shape.size() == 1) {
    f.in = f.out = static_cast<double>(shape[0]);
    return f;
  }
  double rf = 1.0;
  for (size_t i = 0; i + 2 < shape.size(); ++i) rf *= static_cast<double>(shape[i]);
  f.in = static_cast<double>(shape[shape.size() - 2]) * rf;
  f.out = static_cast<double>(shape[shape.size() - 1]) * rf;
  return f;
}

std::string where(const Initializer& init) { return "initializer '" + init.name + "'"; }

// A standard normal draw truncated to [-2, 2] by resampling (tf.random.truncated_normal).
double truncated_standard_normal(Rng& rng) {
  for (;;) {
    const double z = rng.normal();
    if (z >= -2.0 && z <= 2.0) return z;
  }
}

template <class T>
void fill_uniform(Tensor<T>& w, double low, double high, Rng& rng) {
  for (auto& v : w.values()) v = static_cast<T>(rng.uniform(low, high));
}

template <class T>
void fill_normal(Tensor<T>& w, double mean, double stddev, Rng& rng) {
  for (auto& v : w.values()) v = static_cast<T>(mean + stddev * rng.normal());
}

template <class T>
void fill_truncated_normal(Tensor<T>& w, double mean, double stddev, Rng& rng) {
  for (auto& v : w.values()) v = static_cast<T>(mean + stddev * truncated_standard_normal(rng));
}

void check_stddev(const Initializer& init, double stddev) {
  if (!(stddev >= 0.0) || !std::isfinite(stddev))
    throw ConfigError(where(init) + ": stddev must be a finite number >= 0, got " + std::to_string(stddev));
}

// Keras VarianceScaling.__call__ with explicit parameters.
template <class T>
void variance_scaling(const Initializer& init, double scale, const std::string& mode, const std::string& distribution,
                      Tensor<T>& w, Rng& rng) {
  if (!(scale > 0.0) || !std::isfinite(scale))
    throw ConfigError(where(init) + ": scale must be a positive number, got " + std::to_string(scale));
  const Fans fans = compute_fans(w.shape());
  double n = 0.0;
  if (mode == "fan_in")
    n = fans.in;
  else if (mode == "fan_out")
    n = fans.out;
  else if (mode == "fan_avg")
    n = (fans.in + fans.out) / 2.0;
  else
    throw ConfigError(where(init) + ": mode must be one of fan_in, fan_out, fan_avg, got '" + mode + "'");
  const double s = scale / std::max(1.0, n);
  if (distribution == "truncated_normal" || distribution == "normal") {
    fill_truncated_normal(w, 0.0, std::sqrt(s) / kTruncatedNormalStd, rng);
  } else if (distribution == "untruncated_normal") {
    fill_normal(w, 0.0, std::sqrt(s), rng);
  } else if (distribution == "uniform") {
    const double limit = std::sqrt(3.0 * s);
    fill_uniform(w, -limit, limit, rng);
  } else {
    throw ConfigError(where(init) +
                      ": distribution must be one of truncated_normal, untruncated_normal, uniform, got '" +
                      distribution + "'");
  }
}

// Reduced Householder QR of a row-major m x n matrix a (m >= n), in double. Returns Q
// (m x n, row-major) and writes diag(R) to r_diag.
// The work runs on columns stored contiguously (the transpose), so every reflector update
// streams memory: walking a row-major matrix column by column made LSTM(512)'s recurrent
// kernel take seconds. The arithmetic, and its order, is that of the textbook loops.
std::vector<double> householder_q(const std::vector<double>& a, int64_t m, int64_t n, std::vector<double>& r_diag) {
  std::vector<double> cols(static_cast<size_t>(m * n));  // column j at cols[j*m .. j*m+m)
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) cols[static_cast<size_t>(j * m + i)] = a[static_cast<size_t>(i * n + j)];
  auto col = [&](int64_t j) { return cols.data() + j * m; };
  std::vector<std::vector<double>> reflectors(static_cast<size_t>(n));
  r_diag.assign(static_cast<size_t>(n), 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const double* ck = col(k);
    double norm2 = 0.0;
    for (int64_t i = k; i < m; ++i) norm2 += ck[i] * ck[i];
    const double norm = std::sqrt(norm2);
    auto& v = reflectors[static_cast<size_t>(k)];
    if (norm == 0.0) {  // column already zero below the diagonal: H = I, R[k,k] = 0
      r_diag[static_cast<size_t>(k)] = 0.0;
      continue;
    }
    const double alpha = ck[k] >= 0.0 ? -norm : norm;
    v.assign(ck + k, ck + m);
    v[0] -= alpha;
    double vnorm2 = 0.0;
    for (double x : v) vnorm2 += x * x;
    if (vnorm2 == 0.0) {  // x is already alpha * e1
      v.clear();
      r_diag[static_cast<size_t>(k)] = alpha;
      continue;
    }
    const double vnorm = std::sqrt(vnorm2);
    for (double& x : v) x /= vnorm;
    // A[k:, k:] -= 2 v (v^T A[k:, k:]), one column at a time
    for (int64_t j = k; j < n; ++j) {
      double* cj = col(j) + k;
      double dot = 0.0;
      for (int64_t i = 0; i < m - k; ++i) dot += v[static_cast<size_t>(i)] * cj[i];
      for (int64_t i = 0; i < m - k; ++i) cj[i] -= 2.0 * v[static_cast<size_t>(i)] * dot;
    }
    r_diag[static_cast<size_t>(k)] = col(k)[k];
  }
  // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity (column-wise).
  std::vector<double> qcols(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < n; ++i) qcols[static_cast<size_t>(i * m + i)] = 1.0;
  for (int64_t k = n - 1; k >= 0; --k) {
    const auto& v = reflectors[static_cast<size_t>(k)];
    if (v.empty()) continue;
    for (int64_t j = 0; j < n; ++j) {
      double* qj = qcols.data() + j * m + k;
      double dot = 0.0;
      for (int64_t i = 0; i < m - k; ++i) dot += v[static_cast<size_t>(i)] * qj[i];
      for (int64_t i = 0; i < m - k; ++i) qj[i] -= 2.0 * v[static_cast<size_t>(i)] * dot;
    }
  }
  std::vector<double> q(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) q[static_cast<size_t>(i * n + j)] = qcols[static_cast<size_t>(j * m + i)];
  return q;
}

// Keras Orthogonal: rows = prod(shape[:-1]), cols = shape[-1]; A ~ N(0,1) of shape
// (max, min); A = QR; Q[:, j] *= sign(R[j, j]); transpose if rows < cols; times gain.
template <class T>
void orthogonal(const Initializer& init, Tensor<T>& w, Rng& rng) {
  if (w.rank() < 2) throw ConfigError(where(init) + ": requires a shape of rank >= 2, got " + to_string(w.shape()));
  if (w.size() == 0) return;
  int64_t rows = 1;
  for (int64_t i = 0; i + 1 < w.rank(); ++i) rows *= w.shape()[static_cast<size_t>(i)];
  const int64_t cols = w.shape().back();
  const int64_t m = std::max(rows, cols), n = std::min(rows, cols);
  std::vector<double> a(static_cast<size_t>(m * n));
  for (double& x : a) x = rng.normal();
  std::vector<double> r_diag;
  std::vector<double> q = householder_q(a, m, n, r_diag);
  for (int64_t j = 0; j < n; ++j) {
    const double d = r_diag[static_cast<size_t>(j)];
    const double sign = d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0);
    for (int64_t i = 0; i < m; ++i) q[static_cast<size_t>(i * n + j)] *= sign;
  }
  T* out = w.data();
  if (rows < cols) {  // result is Q^T: rows x cols = n x m
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) out[i * m + j] = static_cast<T>(init.gain * q[static_cast<size_t>(j * n + i)]);
  } else {
    for (int64_t i = 0; i < m * n; ++i) out[i] = static_cast<T>(init.gain * q[static_cast<size_t>(i)]);
  }
}

template <class T>
void initialize_with(const Initializer& init, Tensor<T>& w, Rng& rng) {
  const std::string& n = init.name;
  if (n == "zeros") {
    w.fill(T(0));
  } else if (n == "ones") {
    w.fill(T(1));
  } else if (n == "constant") {
    w.fill(static_cast<T>(init.value));
  } else if (n == "random_uniform") {
    if (!(init.minval <= init.maxval) || !std::isfinite(init.minval) || !std::isfinite(init.maxval))
      throw ConfigError(where(init) + ": requires finite minval <= maxval, got minval=" + std::to_string(init.minval) +
                        ", maxval=" + std::to_string(init.maxval));
    fill_uniform(w, init.minval, init.maxval, rng);
  } else if (n == "random_normal") {
    check_stddev(init, init.stddev);
    fill_normal(w, init.mean, init.stddev, rng);
  } else if (n == "truncated_normal") {
    check_stddev(init, init.stddev);
    fill_truncated_normal(w, init.mean, init.stddev, rng);
  } else if (n == "glorot_uniform") {
    variance_scaling(init, 1.0, "fan_avg", "uniform", w, rng);
  } else if (n == "glorot_normal") {
    variance_scaling(init, 1.0, "fan_avg", "truncated_normal", w, rng);
  } else if (n == "he_uniform") {
    variance_scaling(init, 2.0, "fan_in", "uniform", w, rng);
  } else if (n == "he_normal") {
    variance_scaling(init, 2.0, "fan_in", "truncated_normal", w, rng);
  } else if (n == "lecun_uniform") {
    variance_scaling(init, 1.0, "fan_in", "uniform", w, rng);
  } else if (n == "lecun_normal") {
    variance_scaling(init, 1.0, "fan_in", "truncated_normal", w, rng);
  } else if (n == "variance_scaling") {
    variance_scaling(init, init.scale, init.mode, init.distribution, w, rng);
  } else if (n == "orthogonal") {
    orthogonal(init, w, rng);
  } else if (n == "identity") {
    if (w.rank() != 2) throw ConfigError(where(init) + ": requires a 2-D shape, got " + to_string(w.shape()));
    w.fill(T(0));
    const int64_t rows = w.dim(0), cols = w.dim(1);
    for (int64_t i = 0; i < std::min(rows, cols); ++i) w[i * cols + i] = static_cast<T>(init.gain);
  } else {
    // from_name canonicalises names; a hand-built Initializer may still carry an alias.
    Initializer canon = Initializer::from_name(n);
    canon.value = init.value;
    canon.minval = init.minval;
    canon.maxval = init.maxval;
    canon.mean = init.mean;
    canon.stddev = init.stddev;
    canon.gain = init.gain;
    canon.scale = init.scale;
    canon.mode = init.mode;
    canon.distribution = init.distribution;
    initialize_with(canon, w, rng);
  }
}

std::string to_snake(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= 'A' && c <= 'Z') {
      if (i > 0) out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Initializer Initializer::from_name(const std::string& name) {
  // Aliases first (K3 keras/src/initializers/__init__.py ALL_OBJECTS_DICT).
  std::string n = name;
  if (n == "zero")
    n = "zeros";
  else if (n == "one")
    n = "ones";
  else if (n == "uniform")
    n = "random_uniform";
  else if (n == "normal")
    n = "random_normal";
  else if (n == "OrthogonalInitializer")
    n = "orthogonal";
  else if (n == "IdentityInitializer")
    n = "identity";
  else if (!n.empty() && n[0] >= 'A' && n[0] <= 'Z')
    n = to_snake(n);  // class name: GlorotUniform -> glorot_uniform
  static const char* const kKnown[] = {
      "zeros",          "ones",          "constant",        "random_uniform", "random_normal", "truncated_normal",
      "glorot_uniform", "glorot_normal", "he_uniform",      "he_normal",      "lecun_uniform", "lecun_normal",
      "orthogonal",     "identity",      "variance_scaling"};
  for (const char* k : kKnown) {
    if (n == k) {
      Initializer init;
      init.name = n;
      // Fixed parameters of the VarianceScaling presets, recorded for readers of the struct.
      if (n == "glorot_uniform" || n == "glorot_normal") init.mode = "fan_avg";
      if (n == "he_uniform" || n == "he_normal") init.scale = 2.0;
      if (n == "glorot_uniform" || n == "he_uniform" || n == "lecun_uniform") init.distribution = "uniform";
      return init;
    }
  }
  throw ConfigError("unknown initializer '" + name +
                    "', expected one of zeros, ones, constant, random_uniform, random_normal, truncated_normal, "
                    "glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, orthogonal, "
                    "identity, variance_scaling (or their Keras class names)");
}

template <class T>
void initialize(const Initializer& init, Tensor<T>& weights, Rng& rng) {
  if (init.seed) {
    Rng own(*init.seed);
    initialize_with(init, weights, own);
  } else {
    initialize_with(init, weights, rng);
  }
}

template void initialize<float>(const Initializer&, Tensor<float>&, Rng&);
template void initialize<double>(const Initializer&, Tensor<double>&, Rng&);

}  // namespace rnnx
