// oneDNN on one benchmark case (onednn_runner.h).
#include "onednn_runner.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace rnnx::bench::detail_onednn {

using namespace dnnl;
using rnnx::bench::Case;
using rnnx::bench::CaseData;
using rnnx::bench::LayerWeights;
using dt = memory::data_type;
using tag = memory::format_tag;

memory::desc md(const memory::dims& d, tag t) { return memory::desc(d, dt::f32, t); }
memory::desc any(const memory::dims& d) { return md(d, tag::any); }

// [B, T, C] <-> [T, B, C].
std::vector<float> swap01(const float* a, int64_t d0, int64_t d1, int64_t c) {
  std::vector<float> out(static_cast<size_t>(d0 * d1 * c));
  for (int64_t i = 0; i < d0; ++i)
    for (int64_t j = 0; j < d1; ++j) std::memcpy(&out[(j * d0 + i) * c], a + (i * d1 + j) * c, c * sizeof(float));
  return out;
}

float* ptr(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

// The descriptors of one RNN primitive call; empty descs mean "not used" (zero states).
struct Descs {
  memory::desc src, src_iter, src_iter_c, wl, wi, bias, dst, dst_iter, dst_iter_c;
  memory::desc d_src, d_wl, d_wi, d_bias, d_dst;
};

struct Pds {
  rnn_primitive_desc_base fwd, bwd;  // bwd only for training
};

// The forward (and, for training, backward) primitive descriptors of one layer. The backward
// one needs the typed forward one as its hint, so both are made here.
Pds primitive_descs(const engine& eng, bool lstm, bool train, const Descs& d) {
  const auto dir = rnn_direction::unidirectional_left2right;
  const auto prop = train ? prop_kind::forward_training : prop_kind::forward_inference;
  const auto bprop = prop_kind::backward;
  Pds p;
#if DNNL_VERSION_MAJOR >= 3
  if (lstm) {
    lstm_forward::primitive_desc f(eng, prop, dir, d.src, d.src_iter, d.src_iter_c, d.wl, d.wi, d.bias, d.dst,
                                   d.dst_iter, d.dst_iter_c);
    p.fwd = f;
    if (train)
      p.bwd = lstm_backward::primitive_desc(eng, bprop, dir, d.src, d.src_iter, d.src_iter_c, d.wl, d.wi, d.bias, d.dst,
                                            d.dst_iter, d.dst_iter_c, d.d_src, d.src_iter, d.src_iter_c, d.d_wl, d.d_wi,
                                            d.d_bias, d.d_dst, d.dst_iter, d.dst_iter_c, f);
  } else {
    lbr_gru_forward::primitive_desc f(eng, prop, dir, d.src, d.src_iter, d.wl, d.wi, d.bias, d.dst, d.dst_iter);
    p.fwd = f;
    if (train)
      p.bwd =
          lbr_gru_backward::primitive_desc(eng, bprop, dir, d.src, d.src_iter, d.wl, d.wi, d.bias, d.dst, d.dst_iter,
                                           d.d_src, d.src_iter, d.d_wl, d.d_wi, d.d_bias, d.d_dst, d.dst_iter, f);
  }
#else
  if (lstm) {
    lstm_forward::primitive_desc f(lstm_forward::desc(prop, dir, d.src, d.src_iter, d.src_iter_c, d.wl, d.wi, d.bias,
                                                      d.dst, d.dst_iter, d.dst_iter_c),
                                   eng);
    p.fwd = f;
    if (train)
      p.bwd = lstm_backward::primitive_desc(
          lstm_backward::desc(bprop, dir, d.src, d.src_iter, d.src_iter_c, d.wl, d.wi, d.bias, d.dst, d.dst_iter,
                              d.dst_iter_c, d.d_src, d.src_iter, d.src_iter_c, d.d_wl, d.d_wi, d.d_bias, d.d_dst,
                              d.dst_iter, d.dst_iter_c),
          eng, f);
  } else {
    lbr_gru_forward::primitive_desc f(
        lbr_gru_forward::desc(prop, dir, d.src, d.src_iter, d.wl, d.wi, d.bias, d.dst, d.dst_iter), eng);
    p.fwd = f;
    if (train)
      p.bwd = lbr_gru_backward::primitive_desc(
          lbr_gru_backward::desc(bprop, dir, d.src, d.src_iter, d.wl, d.wi, d.bias, d.dst, d.dst_iter, d.d_src,
                                 d.src_iter, d.d_wl, d.d_wi, d.d_bias, d.d_dst, d.dst_iter),
          eng, f);
  }
#endif
  return p;
}

// The user's weights of one layer (ldigo / ldgo) and the primitive's copy of them.
struct Weights {
  memory user, prim;
  bool same = false;  // the primitive takes the user layout: no reorder
  void bind(const engine& eng, const memory::desc& want) {
    same = want == user.get_desc();
    prim = same ? user : memory(want, eng);
  }
  void refresh(stream& s) {
    if (!same) reorder(user, prim).execute(s, user, prim);
  }
};

class Runner {
 public:
  Runner(engine& eng, const Case& c, const CaseData& data);
  void run();
  void dump(const std::string& dir);

 private:
  struct Layer {
    Weights wl, wi, bias;
    Weights bwd_wl, bwd_wi;  // the backward primitive's copy (training)
    primitive fwd, bwd;
    memory dst, ws, d_src, d_wl, d_wi, d_bias;
    memory src_iter[2], src_iter_c[2];           // step: ping-pong states; training: initial and final states
    memory zero_iter, d_src_iter, d_src_iter_c;  // training: the states' gradients
  };
  void forward(bool training);
  void train_step();
  void stream_steps();

  engine& eng_;
  stream s_;
  Case c_;
  bool lstm_;
  std::vector<float> x_tnc_, step_out_tnc_;
  memory src_, ones_;
  std::vector<Layer> layers_;
};

Runner::Runner(engine& eng, const Case& c, const CaseData& data) : eng_(eng), s_(eng), c_(c), lstm_(c.cell == "lstm") {
  const int64_t B = c.batch, H = c.units, G = rnnx::bench::gate_count(c), Gb = 4;
  const bool train = c.mode == "train", step = c.mode == "step";
  const int64_t T = step ? 1 : c.steps;
  x_tnc_ = swap01(data.x.data(), B, c.steps, c.features);
  src_ = memory(md({T, B, c.features}, tag::tnc), eng, x_tnc_.data());
  if (step) step_out_tnc_.assign(static_cast<size_t>(c.steps * B * H), 0.0f);
  for (int64_t l = 0; l < c.layers; ++l) {
    const int64_t in = rnnx::bench::layer_input(c, l);
    const LayerWeights& w = data.layers[static_cast<size_t>(l)];
    Layer L;
    L.wl.user = memory(md({1, 1, in, G, H}, tag::ldigo), eng);
    L.wi.user = memory(md({1, 1, H, G, H}, tag::ldigo), eng);
    L.bias.user = memory(md({1, 1, Gb, H}, tag::ldgo), eng);
    std::memcpy(ptr(L.wl.user), w.kernel.data(), w.kernel.size() * sizeof(float));
    std::memcpy(ptr(L.wi.user), w.recurrent.data(), w.recurrent.size() * sizeof(float));
    float* b = ptr(L.bias.user);
    if (lstm_) {
      std::memcpy(b, w.bias.data(), w.bias.size() * sizeof(float));
    } else {  // Keras (2, 3H) = input and recurrent biases of z r h -> lbr_gru's 4 rows
      const float* bi = w.bias.data();
      const float* br = bi + 3 * H;
      for (int64_t j = 0; j < H; ++j) {
        b[j] = bi[j] + br[j];
        b[H + j] = bi[H + j] + br[H + j];
        b[2 * H + j] = bi[2 * H + j];
        b[3 * H + j] = br[2 * H + j];
      }
    }
    Descs d;
    d.src = md({T, B, in}, tag::tnc);
    d.dst = md({T, B, H}, tag::tnc);
    d.wl = any({1, 1, in, G, H});
    d.wi = any({1, 1, H, G, H});
    d.bias = md({1, 1, Gb, H}, tag::ldgo);
    // Explicit states in training too: with the initial state left out (zero), oneDNN 2.6
    // and 3.13 both return d(recurrent kernel) with h_t in place of h_{t-1} (the float64
    // reference check caught it; everything else agreed).
    if (step || train) {
      d.src_iter = d.dst_iter = md({1, 1, B, H}, tag::ldnc);
      if (lstm_) d.src_iter_c = d.dst_iter_c = md({1, 1, B, H}, tag::ldnc);
    }
    if (train) {
      d.d_src = md({T, B, in}, tag::tnc);
      d.d_dst = md({T, B, H}, tag::tnc);
      d.d_wl = md({1, 1, in, G, H}, tag::ldigo);  // the optimizer's layout: the Keras one
      d.d_wi = md({1, 1, H, G, H}, tag::ldigo);
      d.d_bias = md({1, 1, Gb, H}, tag::ldgo);
    }
    const Pds pds = primitive_descs(eng, lstm_, train, d);
    const rnn_primitive_desc_base& fpd = pds.fwd;
    L.fwd = primitive(fpd);
    L.wl.bind(eng, fpd.weights_layer_desc());
    L.wi.bind(eng, fpd.weights_iter_desc());
    L.bias.bind(eng, fpd.bias_desc());
    L.dst = memory(d.dst, eng);
    if (step || train)
      for (int k = 0; k < 2; ++k) {
        L.src_iter[k] = memory(d.src_iter, eng);
        if (lstm_) L.src_iter_c[k] = memory(d.src_iter_c, eng);
      }
    if (train) {
      L.ws = memory(fpd.workspace_desc(), eng);
      const rnn_primitive_desc_base& bpd = pds.bwd;
      L.bwd = primitive(bpd);
      L.bwd_wl.user = L.wl.user;
      L.bwd_wi.user = L.wi.user;
      L.bwd_wl.bind(eng, bpd.weights_layer_desc());
      L.bwd_wi.bind(eng, bpd.weights_iter_desc());
      L.d_src = memory(bpd.diff_src_layer_desc(), eng);
      L.d_wl = memory(bpd.diff_weights_layer_desc(), eng);
      L.d_wi = memory(bpd.diff_weights_iter_desc(), eng);
      L.d_bias = memory(bpd.diff_bias_desc(), eng);
      // Training: [0] = the zero initial states, [1] = the final ones; no gradient flows into the
      // final states, and the initial states' gradients are computed and dropped.
      L.zero_iter = memory(d.dst_iter, eng);
      L.d_src_iter = memory(d.src_iter, eng);
      if (lstm_) L.d_src_iter_c = memory(d.src_iter_c, eng);
      for (const memory* m : {&L.src_iter[0], &L.src_iter_c[0], &L.zero_iter})
        if (*m) std::memset(ptr(*m), 0, m->get_desc().get_size());
    } else {  // inference: the weights are constant, reordered once
      L.wl.refresh(s_);
      L.wi.refresh(s_);
      L.bias.refresh(s_);
    }
    layers_.push_back(std::move(L));
  }
  if (train) {
    ones_ = memory(md({T, B, H}, tag::tnc), eng);
    std::fill_n(ptr(ones_), T * B * H, 1.0f);
  }
  s_.wait();
}

void Runner::forward(bool training) {
  const memory* src = &src_;
  for (Layer& L : layers_) {
    if (training) {
      L.wl.refresh(s_);
      L.wi.refresh(s_);
      L.bias.refresh(s_);
    }
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC_LAYER, *src},
                                         {DNNL_ARG_WEIGHTS_LAYER, L.wl.prim},
                                         {DNNL_ARG_WEIGHTS_ITER, L.wi.prim},
                                         {DNNL_ARG_BIAS, L.bias.prim},
                                         {DNNL_ARG_DST_LAYER, L.dst}};
    if (training) {
      args[DNNL_ARG_WORKSPACE] = L.ws;
      args[DNNL_ARG_SRC_ITER] = L.src_iter[0];
      args[DNNL_ARG_DST_ITER] = L.src_iter[1];
      if (lstm_) {
        args[DNNL_ARG_SRC_ITER_C] = L.src_iter_c[0];
        args[DNNL_ARG_DST_ITER_C] = L.src_iter_c[1];
      }
    }
    L.fwd.execute(s_, args);
    src = &L.dst;
  }
  s_.wait();
}

void Runner::train_step() {
  forward(true);
  const memory* d_dst = &ones_;
  for (size_t l = layers_.size(); l-- > 0;) {
    Layer& L = layers_[l];
    L.bwd_wl.refresh(s_);
    L.bwd_wi.refresh(s_);
    for (memory* m : {&L.d_wl, &L.d_wi, &L.d_bias}) std::memset(ptr(*m), 0, m->get_desc().get_size());
    const memory& src = l == 0 ? src_ : layers_[l - 1].dst;
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC_LAYER, src},
                                         {DNNL_ARG_WEIGHTS_LAYER, L.bwd_wl.prim},
                                         {DNNL_ARG_WEIGHTS_ITER, L.bwd_wi.prim},
                                         {DNNL_ARG_BIAS, L.bias.prim},
                                         {DNNL_ARG_DST_LAYER, L.dst},
                                         {DNNL_ARG_DIFF_DST_LAYER, *d_dst},
                                         {DNNL_ARG_WORKSPACE, L.ws},
                                         {DNNL_ARG_DIFF_SRC_LAYER, L.d_src},
                                         {DNNL_ARG_DIFF_WEIGHTS_LAYER, L.d_wl},
                                         {DNNL_ARG_DIFF_WEIGHTS_ITER, L.d_wi},
                                         {DNNL_ARG_DIFF_BIAS, L.d_bias},
                                         {DNNL_ARG_SRC_ITER, L.src_iter[0]},
                                         {DNNL_ARG_DST_ITER, L.src_iter[1]},
                                         {DNNL_ARG_DIFF_DST_ITER, L.zero_iter},
                                         {DNNL_ARG_DIFF_SRC_ITER, L.d_src_iter}};
    if (lstm_) {
      args[DNNL_ARG_SRC_ITER_C] = L.src_iter_c[0];
      args[DNNL_ARG_DST_ITER_C] = L.src_iter_c[1];
      args[DNNL_ARG_DIFF_DST_ITER_C] = L.zero_iter;
      args[DNNL_ARG_DIFF_SRC_ITER_C] = L.d_src_iter_c;
    }
    L.bwd.execute(s_, args);
    d_dst = &L.d_src;
  }
  s_.wait();
}

void Runner::stream_steps() {
  Layer& L = layers_[0];
  const int64_t B = c_.batch, H = c_.units, I = c_.features;
  for (int k = 0; k < 2; ++k) {  // every streamed sequence starts from zero states
    std::memset(ptr(L.src_iter[k]), 0, B * H * sizeof(float));
    if (lstm_) std::memset(ptr(L.src_iter_c[k]), 0, B * H * sizeof(float));
  }
  for (int64_t t = 0; t < c_.steps; ++t) {
    const int cur = static_cast<int>(t % 2), nxt = 1 - cur;
    src_.set_data_handle(x_tnc_.data() + t * B * I);
    L.dst.set_data_handle(step_out_tnc_.data() + t * B * H);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC_LAYER, src_},          {DNNL_ARG_SRC_ITER, L.src_iter[cur]},
                                         {DNNL_ARG_WEIGHTS_LAYER, L.wl.prim}, {DNNL_ARG_WEIGHTS_ITER, L.wi.prim},
                                         {DNNL_ARG_BIAS, L.bias.prim},        {DNNL_ARG_DST_LAYER, L.dst},
                                         {DNNL_ARG_DST_ITER, L.src_iter[nxt]}};
    if (lstm_) {
      args[DNNL_ARG_SRC_ITER_C] = L.src_iter_c[cur];
      args[DNNL_ARG_DST_ITER_C] = L.src_iter_c[nxt];
    }
    L.fwd.execute(s_, args);
    s_.wait();  // a streaming caller reads each step's output before the next input exists
  }
}

void Runner::run() {
  if (c_.mode == "infer")
    forward(false);
  else if (c_.mode == "train")
    train_step();
  else
    stream_steps();
}

void Runner::dump(const std::string& dir) {
  using rnnx::bench::write_floats;
  const int64_t B = c_.batch, T = c_.steps, H = c_.units;
  const float* out = c_.mode == "step" ? step_out_tnc_.data() : ptr(layers_.back().dst);
  write_floats(dir + "/out.bin", swap01(out, T, B, H));
  if (c_.mode != "train") return;
  write_floats(dir + "/dx.bin", swap01(ptr(layers_[0].d_src), T, B, c_.features));
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    const std::string n = std::to_string(l);
    const int64_t in = rnnx::bench::layer_input(c_, static_cast<int64_t>(l)), G = rnnx::bench::gate_count(c_);
    write_floats(dir + "/dk" + n + ".bin", ptr(L.d_wl), in * G * H);
    write_floats(dir + "/dr" + n + ".bin", ptr(L.d_wi), H * G * H);
    const float* db = ptr(L.d_bias);
    if (lstm_) {
      write_floats(dir + "/db" + n + ".bin", db, G * H);
    } else {  // lbr_gru rows z r h_in h_rec -> Keras (2, 3H); z and r feed both bias rows
      std::vector<float> k(static_cast<size_t>(6 * H));
      for (int64_t j = 0; j < H; ++j) {
        k[j] = k[3 * H + j] = db[j];
        k[H + j] = k[4 * H + j] = db[H + j];
        k[2 * H + j] = db[2 * H + j];
        k[5 * H + j] = db[3 * H + j];
      }
      write_floats(dir + "/db" + n + ".bin", k);
    }
  }
}

}  // namespace rnnx::bench::detail_onednn

namespace rnnx::bench {

namespace {
dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
}  // namespace

using detail_onednn::Runner;

OnednnRunner::OnednnRunner(const Case& c, const CaseData& data)
    : runner_(std::make_unique<Runner>(cpu_engine(), c, data)) {}
OnednnRunner::~OnednnRunner() = default;
void OnednnRunner::run() { runner_->run(); }
void OnednnRunner::dump(const std::string& dir) { runner_->dump(dir); }

std::string OnednnRunner::version() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace rnnx::bench
