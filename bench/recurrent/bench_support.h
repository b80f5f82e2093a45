#pragma once
// Shared pieces of the recurrent benchmark (bench/recurrent, driven by run.sh) and of
// `rnnx bench`: what one benchmark case is, its FLOP count, its data, the timing loop, the
// worker protocol the peers speak to the driver, and the machine's FP32 FMA peak.
//
// A case is one line of `key=value` tokens separated by spaces (values hold no spaces):
//   cell=lstm|gru B=64 T=28 I=28 H=128 L=1 mode=infer|train|step reps=5 max_s=1.5
//   data=DIR dump=DIR impl=NAME
// mode infer = one forward call over the sequence (return_sequences), train = forward plus
// the full backward of sum(output) (d/dx and d/dweights), step = T calls of one time step
// each, batch 1 or more, carrying the states (streaming). L > 1 stacks layers (layer l > 0
// reads H features). Only L = 1 is defined for step.
//
// Data (DIR, written by the driver, or made by make_case_data): raw little-endian float32
// files in Keras layout: x.bin [B, T, I]; per layer l: k<l>.bin kernel [I_l, G*H],
// r<l>.bin recurrent_kernel [H, G*H], b<l>.bin bias [G*H] (LSTM) or [2, 3H] (GRU,
// reset_after=True). G = 4 (LSTM, gates i f c o) or 3 (GRU, gates z r h).
// Dumps (DIR, after a run): out.bin [B, T, H] (the last layer's output; step: the h of
// every step), and for train dx.bin [B, T, I] and dk<l>/dr<l>/db<l>.bin, the gradients in
// the layouts above.
//
// Worker protocol: a peer reads one case per line on stdin, runs it and answers one JSON
// line on stdout: {"ok":true,"ms":[...],"note":"..."} (ms per call: one warm-up call is
// never timed; step mode reports ms for all T steps) or {"ok":false,"error":"..."}. The
// line "quit" or end of input ends it.
//
// Errors: parse_case and the file helpers throw std::runtime_error naming the key or path.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rnnx::bench {

struct Case {
  std::string cell = "lstm";  // lstm | gru
  int64_t batch = 1, steps = 1, features = 1, units = 1, layers = 1;
  std::string mode = "infer";  // infer | train | step
  int reps = 5;                // timed calls at most
  double max_s = 1.0;          // stop timing once this many seconds of calls have run (>= 1 call)
  std::string data;            // input folder (see above); empty = make_case_data
  std::string dump;            // output folder; empty = none
  std::string impl;            // which variant of a peer (e.g. keras graph or xla); peers may ignore it
};

// Parses one protocol line. Throws std::runtime_error on unknown keys or bad values.
Case parse_case(const std::string& line);
// The line parse_case reads back.
std::string format_case(const Case& c);
// A key for caching built models: every field that changes the computation (not reps,
// max_s, dump).
std::string case_key(const Case& c);

// 4 for LSTM, 3 for GRU.
int gate_count(const Case& c);
// Input features of layer l (I for l = 0, else H).
int64_t layer_input(const Case& c, int64_t l);
// Floating-point operations of one timed call: 2*B*T*G*H*(I_l+H) per layer forward, x3 for
// a training step (forward + the two backward products); step mode counts all T steps.
double case_flops(const Case& c);

// Keras-layout weights of one layer and the input sequence (see the data layout above).
struct LayerWeights {
  std::vector<float> kernel, recurrent, bias;
};
struct CaseData {
  std::vector<float> x;
  std::vector<LayerWeights> layers;
};
// Element counts of the bias: G*H, or 2*3H for GRU.
int64_t bias_size(const Case& c);
// Reads c.data (throws naming the file when missing or of the wrong size).
CaseData load_case_data(const Case& c);
// Uniform values in [-1, 1) for x and [-1/sqrt(H), 1/sqrt(H)) for the weights (PyTorch's
// initialisation range), from `seed`.
CaseData make_case_data(const Case& c, uint64_t seed);

std::vector<float> read_floats(const std::string& path, int64_t count);
void write_floats(const std::string& path, const std::vector<float>& values);
void write_floats(const std::string& path, const float* values, int64_t count);

// Calls fn once untimed (warm-up), then up to `reps` times, stopping early once the timed
// calls add up to `max_s` seconds (at least one timed call). Returns milliseconds per call.
std::vector<double> time_calls(const std::function<void()>& fn, int reps, double max_s);
double median(std::vector<double> v);

// One JSON reply line (no trailing newline).
std::string reply_ok(const std::vector<double>& ms, const std::string& note);
std::string reply_error(const std::string& message);

// The worker loop: parses each stdin line, calls run(case), which returns the reply line
// (reply_ok) or throws, and answers (reply_error for whatever was thrown). Returns the
// process exit status.
int worker_main(const std::function<std::string(const Case&)>& run);

// FP32 FMA peak: independent FMA chains (16 per core, AVX-512 when the CPU has it, else
// AVX2+FMA, else scalar) on `threads` threads for about `seconds`, best of 3 tries.
struct Peak {
  double gflops = 0;  // all threads together
  std::string isa;    // avx512 | avx2 | scalar
};
Peak fma_peak(int threads, double seconds);

}  // namespace rnnx::bench
