// Case parsing, data files, timing and the worker loop of the recurrent benchmark
// (bench_support.h). The FMA peak is in peak.cpp.
#include "bench_support.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace rnnx::bench {

namespace {

int64_t to_int(const std::string& key, const std::string& v) {
  size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::logic_error&) {
    used = 0;
  }
  if (used != v.size() || n < 1) throw std::runtime_error("case: " + key + "=" + v + " is not a positive integer");
  return n;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

Case parse_case(const std::string& line) {
  Case c;
  std::istringstream in(line);
  std::string tok;
  while (in >> tok) {
    const size_t eq = tok.find('=');
    if (eq == std::string::npos) throw std::runtime_error("case: token '" + tok + "' is not key=value");
    const std::string k = tok.substr(0, eq), v = tok.substr(eq + 1);
    if (k == "cell") {
      if (v != "lstm" && v != "gru") throw std::runtime_error("case: cell=" + v + ", expected lstm or gru");
      c.cell = v;
    } else if (k == "B") {
      c.batch = to_int(k, v);
    } else if (k == "T") {
      c.steps = to_int(k, v);
    } else if (k == "I") {
      c.features = to_int(k, v);
    } else if (k == "H") {
      c.units = to_int(k, v);
    } else if (k == "L") {
      c.layers = to_int(k, v);
    } else if (k == "mode") {
      if (v != "infer" && v != "train" && v != "step")
        throw std::runtime_error("case: mode=" + v + ", expected infer, train or step");
      c.mode = v;
    } else if (k == "reps") {
      c.reps = static_cast<int>(to_int(k, v));
    } else if (k == "max_s") {
      c.max_s = std::stod(v);
    } else if (k == "data") {
      c.data = v;
    } else if (k == "dump") {
      c.dump = v;
    } else if (k == "impl") {
      c.impl = v;
    } else {
      throw std::runtime_error("case: unknown key '" + k + "'");
    }
  }
  if (c.mode == "step" && c.layers != 1) throw std::runtime_error("case: mode=step needs L=1");
  return c;
}

std::string case_key(const Case& c) {
  std::ostringstream s;
  s << "cell=" << c.cell << " B=" << c.batch << " T=" << c.steps << " I=" << c.features << " H=" << c.units
    << " L=" << c.layers << " mode=" << c.mode << " impl=" << c.impl << " data=" << c.data;
  return s.str();
}

std::string format_case(const Case& c) {
  std::ostringstream s;
  s << case_key(c) << " reps=" << c.reps << " max_s=" << c.max_s;
  if (!c.dump.empty()) s << " dump=" << c.dump;
  return s.str();
}

int gate_count(const Case& c) { return c.cell == "lstm" ? 4 : 3; }

int64_t layer_input(const Case& c, int64_t l) { return l == 0 ? c.features : c.units; }

double case_flops(const Case& c) {
  double f = 0;
  for (int64_t l = 0; l < c.layers; ++l)
    f += 2.0 * c.batch * c.steps * gate_count(c) * c.units * static_cast<double>(layer_input(c, l) + c.units);
  return c.mode == "train" ? 3 * f : f;
}

int64_t bias_size(const Case& c) { return gate_count(c) * c.units * (c.cell == "gru" ? 2 : 1); }

std::vector<float> read_floats(const std::string& path, int64_t count) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw std::runtime_error("cannot open '" + path + "'");
  const std::streamoff bytes = f.tellg();
  if (bytes != static_cast<std::streamoff>(count * sizeof(float)))
    throw std::runtime_error("'" + path + "' has " + std::to_string(bytes) + " bytes, expected " +
                             std::to_string(count * sizeof(float)));
  std::vector<float> v(static_cast<size_t>(count));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), bytes);
  if (!f) throw std::runtime_error("cannot read '" + path + "'");
  return v;
}

void write_floats(const std::string& path, const float* values, int64_t count) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(values), static_cast<std::streamsize>(count * sizeof(float)));
  if (!f) throw std::runtime_error("cannot write '" + path + "'");
}

void write_floats(const std::string& path, const std::vector<float>& values) {
  write_floats(path, values.data(), static_cast<int64_t>(values.size()));
}

CaseData load_case_data(const Case& c) {
  CaseData d;
  const int64_t g = gate_count(c);
  d.x = read_floats(c.data + "/x.bin", c.batch * c.steps * c.features);
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string n = std::to_string(l);
    LayerWeights w;
    w.kernel = read_floats(c.data + "/k" + n + ".bin", layer_input(c, l) * g * c.units);
    w.recurrent = read_floats(c.data + "/r" + n + ".bin", c.units * g * c.units);
    w.bias = read_floats(c.data + "/b" + n + ".bin", bias_size(c));
    d.layers.push_back(std::move(w));
  }
  return d;
}

CaseData make_case_data(const Case& c, uint64_t seed) {
  std::mt19937_64 gen(seed);
  auto fill = [&gen](int64_t n, float s) {
    std::uniform_real_distribution<float> u(-s, s);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = u(gen);
    return v;
  };
  const int64_t g = gate_count(c);
  const float s = 1.0f / std::sqrt(static_cast<float>(c.units));
  CaseData d;
  d.x = fill(c.batch * c.steps * c.features, 1.0f);
  for (int64_t l = 0; l < c.layers; ++l)
    d.layers.push_back(
        {fill(layer_input(c, l) * g * c.units, s), fill(c.units * g * c.units, s), fill(bias_size(c), s)});
  return d;
}

std::vector<double> time_calls(const std::function<void()>& fn, int reps, double max_s) {
  using Clock = std::chrono::steady_clock;
  fn();  // warm-up: first-touch allocations, caches, lazy initialisation
  std::vector<double> ms;
  double total = 0;
  for (int r = 0; r < std::max(reps, 1); ++r) {
    const auto t0 = Clock::now();
    fn();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    ms.push_back(1e3 * s);
    total += s;
    if (total >= max_s) break;
  }
  return ms;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string reply_ok(const std::vector<double>& ms, const std::string& note) {
  std::string s = "{\"ok\":true,\"ms\":[";
  char buf[32];
  for (size_t i = 0; i < ms.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? "," : "", ms[i]);
    s += buf;
  }
  return s + "],\"note\":\"" + json_escape(note) + "\"}";
}

std::string reply_error(const std::string& message) {
  return "{\"ok\":false,\"error\":\"" + json_escape(message) + "\"}";
}

int worker_main(const std::function<std::string(const Case&)>& run) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "quit") break;
    if (line.empty()) continue;
    std::string answer;
    try {
      answer = run(parse_case(line));
    } catch (const std::exception& e) {
      answer = reply_error(e.what());
    }
    std::cout << answer << "\n" << std::flush;
  }
  return 0;
}

}  // namespace rnnx::bench
