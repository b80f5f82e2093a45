// The fused cell kernels (cell_kernels.h): the fast versions agree with the reference ones on
// every instruction set this CPU can run (set_isa forces the lower ones), for the fast-path
// activations, partial vectors (units not a multiple of the vector width), column ranges and
// the optional records; other activations and double run the reference exactly.
#include "rnnx/kernels/cell_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/core/rng.h"

namespace rnnx {
namespace {

using kernels::Isa;

// Restores the instruction set when a test ends.
class IsaGuard {
 public:
  IsaGuard() : saved_(kernels::active_isa()) {}
  ~IsaGuard() { kernels::set_isa(saved_); }

 private:
  Isa saved_;
};

std::vector<Isa> runnable_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::portable, Isa::avx2, Isa::avx512})
    if (static_cast<int>(isa) <= static_cast<int>(kernels::detected_isa())) out.push_back(isa);
  return out;
}

Activation act(ActivationKind kind, HardSigmoidFormula f = HardSigmoidFormula::keras3) {
  Activation a;
  a.kind = kind;
  a.hard_sigmoid = f;
  return a;
}

// (activation, recurrent_activation) pairs covering every fast path and both hard_sigmoids.
std::vector<std::pair<Activation, Activation>> fast_pairs() {
  return {{act(ActivationKind::tanh), act(ActivationKind::sigmoid)},
          {act(ActivationKind::relu), act(ActivationKind::hard_sigmoid)},
          {act(ActivationKind::linear), act(ActivationKind::hard_sigmoid, HardSigmoidFormula::keras2)},
          {act(ActivationKind::sigmoid), act(ActivationKind::tanh)},
          {act(ActivationKind::hard_sigmoid), act(ActivationKind::relu)}};
}

// A buffer: random values, or (for outputs) a NaN sentinel the kernel must overwrite only
// inside its column range.
struct Buffer {
  std::vector<float> v;
  float* p() { return v.data(); }
};

Buffer random_buffer(Rng& rng, int64_t n, double lo, double hi) {
  Buffer b{std::vector<float>(static_cast<size_t>(n))};
  for (float& x : b.v) x = static_cast<float>(rng.uniform(lo, hi));
  return b;
}

Buffer sentinel_buffer(int64_t n) { return {std::vector<float>(static_cast<size_t>(n), std::nanf(""))}; }

void expect_close(const std::vector<float>& fast, const std::vector<float>& ref, const std::string& what) {
  ASSERT_EQ(fast.size(), ref.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    if (std::isnan(ref[i])) {
      ASSERT_TRUE(std::isnan(fast[i])) << what << " index " << i << " was written outside the column range";
      continue;
    }
    const double tol = 2e-6 + 4e-6 * std::abs(ref[i]);
    ASSERT_NEAR(fast[i], ref[i], tol) << what << " index " << i;
  }
}

struct Case {
  int64_t rows, units, col_begin, col_end;
};
std::vector<Case> cases() { return {{3, 37, 0, -1}, {2, 64, 0, -1}, {4, 40, 5, 30}, {1, 5, 0, -1}}; }

std::string label(Isa isa, const Activation& a, const Activation& r, const Case& c) {
  return std::string(kernels::isa_name(isa)) + " " + a.name() + "/" + r.name() + " rows " + std::to_string(c.rows) +
         " units " + std::to_string(c.units) + " cols [" + std::to_string(c.col_begin) + ", " +
         std::to_string(c.col_end) + ")";
}

TEST(CellKernels, IsaCanBeCappedButNotRaised) {
  IsaGuard guard;
  kernels::set_isa(Isa::portable);
  EXPECT_EQ(kernels::active_isa(), Isa::portable);
  kernels::set_isa(Isa::avx512);
  EXPECT_EQ(kernels::active_isa(), kernels::detected_isa());
  EXPECT_STREQ(kernels::isa_name(Isa::avx2), "avx2");
}

TEST(CellKernels, FastPathAndInputNeedsPerActivation) {
  EXPECT_TRUE(kernels::has_fast_path(act(ActivationKind::hard_sigmoid)));
  EXPECT_FALSE(kernels::has_fast_path(act(ActivationKind::elu)));
  EXPECT_TRUE(kernels::derivative_needs_input(act(ActivationKind::hard_sigmoid)));
  EXPECT_FALSE(kernels::derivative_needs_input(act(ActivationKind::relu)));
  EXPECT_FALSE((kernels::lstm_needs_gates<float>(act(ActivationKind::tanh), act(ActivationKind::sigmoid))));
  EXPECT_TRUE((kernels::lstm_needs_gates<double>(act(ActivationKind::tanh), act(ActivationKind::sigmoid))));
  EXPECT_TRUE((kernels::lstm_needs_gates<float>(act(ActivationKind::elu), act(ActivationKind::sigmoid))));
}

TEST(CellKernels, LstmFastMatchesReference) {
  IsaGuard guard;
  for (Isa isa : runnable_isas())
    for (const auto& [a, r] : fast_pairs())
      for (const Case& c : cases()) {
        kernels::set_isa(isa);
        const std::string what = label(isa, a, r, c);
        Rng rng(11 + c.units);
        const int64_t u = c.units, w = 4 * u, ld = w + 3, n = c.rows * u;
        Buffer xp = random_buffer(rng, c.rows * ld, -4, 4), rec = random_buffer(rng, c.rows * ld, -2, 2);
        Buffer cs = random_buffer(rng, n, -1.5, 1.5);
        // Forward, everything recorded.
        Buffer c_new[2], h_new[2], out[2], gates[2], act_c[2], pre[2];
        for (int k = 0; k < 2; ++k) {
          c_new[k] = sentinel_buffer(n), h_new[k] = sentinel_buffer(n), out[k] = sentinel_buffer(n);
          gates[k] = sentinel_buffer(c.rows * w), act_c[k] = sentinel_buffer(n), pre[k] = sentinel_buffer(c.rows * w);
          kernels::LSTMForward<float> f{a,
                                        r,
                                        c.rows,
                                        u,
                                        c.col_begin,
                                        c.col_end,
                                        xp.p(),
                                        ld,
                                        rec.p(),
                                        ld,
                                        cs.p(),
                                        c_new[k].p(),
                                        h_new[k].p(),
                                        out[k].p(),
                                        gates[k].p(),
                                        act_c[k].p(),
                                        pre[k].p()};
          if (k == 0)
            kernels::lstm_forward(f);
          else
            kernels::ref::lstm_forward(f);
        }
        for (auto* b : {&c_new, &h_new, &out, &gates, &act_c, &pre})
          expect_close((*b)[0].v, (*b)[1].v, "forward " + what);
        // Inference form: no records, no recurrent part; h' and c' as before.
        Buffer c_inf = sentinel_buffer(n), h_inf = sentinel_buffer(n), gates_ref = sentinel_buffer(c.rows * w);
        Buffer c_ref = sentinel_buffer(n), h_ref = sentinel_buffer(n);
        kernels::LSTMForward<float> f{a, r, c.rows, u, c.col_begin, c.col_end, xp.p(), ld, nullptr, 0, cs.p()};
        f.c_new = c_inf.p(), f.h_new = h_inf.p();
        kernels::lstm_forward(f);
        f.c_new = c_ref.p(), f.h_new = h_ref.p(), f.gates = gates_ref.p();
        kernels::ref::lstm_forward(f);
        expect_close(c_inf.v, c_ref.v, "inference c " + what);
        expect_close(h_inf.v, h_ref.v, "inference h " + what);

        // Backward from the reference record.
        Buffer d_out = random_buffer(rng, n, -1, 1), d_h = random_buffer(rng, n, -1, 1),
               d_c = random_buffer(rng, n, -1, 1);
        for (bool with_optional : {true, false}) {
          Buffer dz[2], dcp[2];
          for (int k = 0; k < 2; ++k) {
            dz[k] = sentinel_buffer(c.rows * ld), dcp[k] = sentinel_buffer(n);
            kernels::LSTMBackward<float> b{a, r, c.rows, u, c.col_begin, c.col_end};
            b.d_output = with_optional ? d_out.p() : nullptr;
            b.d_h = d_h.p();
            b.d_c = with_optional ? d_c.p() : nullptr;
            b.gates = gates[1].p(), b.act_c = act_c[1].p(), b.c_prev = cs.p();
            // Without the optional inputs, the records only the activations need.
            const bool needs_pre = kernels::derivative_needs_input(a) || kernels::derivative_needs_input(r);
            b.pre = with_optional || needs_pre ? pre[1].p() : nullptr;
            b.c_new = with_optional || kernels::derivative_needs_input(a) ? c_new[1].p() : nullptr;
            b.dz = dz[k].p(), b.ldz = ld, b.d_c_prev = dcp[k].p();
            if (k == 0)
              kernels::lstm_backward(b);
            else
              kernels::ref::lstm_backward(b);
          }
          expect_close(dz[0].v, dz[1].v, "backward dz " + what);
          expect_close(dcp[0].v, dcp[1].v, "backward d_c_prev " + what);
        }
      }
}

TEST(CellKernels, GruFastMatchesReferenceBothForms) {
  IsaGuard guard;
  for (Isa isa : runnable_isas())
    for (const auto& [a, r] : fast_pairs())
      for (const Case& c : cases())
        for (bool reset_after : {true, false})
          for (bool masked : {false, true}) {
            if (reset_after && masked) continue;  // the mask is a reset_before input
            kernels::set_isa(isa);
            const std::string what =
                label(isa, a, r, c) + (reset_after ? " reset_after" : " reset_before") + (masked ? " masked" : "");
            Rng rng(5 + c.units);
            const int64_t u = c.units, ld = 3 * u + 1, n = c.rows * u;
            Buffer xp = random_buffer(rng, c.rows * ld, -3, 3), rec = random_buffer(rng, c.rows * ld, -2, 2);
            Buffer bias = random_buffer(rng, 3 * u, -0.5, 0.5), h = random_buffer(rng, n, -1, 1);
            Buffer mask = random_buffer(rng, n, 0, 2);
            Buffer h_new[2], out[2], zr[2], reset[2], cand[2], zr_pre[2], cand_pre[2];
            for (int k = 0; k < 2; ++k) {
              h_new[k] = sentinel_buffer(n), out[k] = sentinel_buffer(n), zr[k] = sentinel_buffer(2 * n);
              reset[k] = sentinel_buffer(n), cand[k] = sentinel_buffer(n), zr_pre[k] = sentinel_buffer(2 * n);
              cand_pre[k] = sentinel_buffer(n);
              kernels::GRUForward<float> f{a, r, c.rows, u, c.col_begin, c.col_end, xp.p(), ld, rec.p(), ld};
              f.rec_bias = reset_after ? bias.p() : nullptr;
              f.h = h.p(), f.h_mask = masked ? mask.p() : nullptr;
              f.h_new = h_new[k].p(), f.output = out[k].p(), f.zr = zr[k].p(), f.reset = reset[k].p();
              f.cand = cand[k].p(), f.zr_pre = zr_pre[k].p(), f.cand_pre = cand_pre[k].p();
              if (reset_after) {
                k == 0 ? kernels::gru_forward(f) : kernels::ref::gru_forward(f);
              } else {
                k == 0 ? kernels::gru_reset_forward(f) : kernels::ref::gru_reset_forward(f);
                // The caller's product writes block h of rec; any values do here.
                k == 0 ? kernels::gru_candidate_forward(f) : kernels::ref::gru_candidate_forward(f);
              }
            }
            for (auto* b : {&h_new, &out, &zr, &reset, &cand, &zr_pre, &cand_pre})
              expect_close((*b)[0].v, (*b)[1].v, "forward " + what);

            Buffer d_out = random_buffer(rng, n, -1, 1), d_h = random_buffer(rng, n, -1, 1);
            Buffer p2 = random_buffer(rng, n, -1, 1);
            Buffer dz[2], dhp[2];
            const int64_t ldz = 4 * u + 2;
            for (int k = 0; k < 2; ++k) {
              dz[k] = sentinel_buffer(c.rows * ldz), dhp[k] = sentinel_buffer(n);
              kernels::GRUBackward<float> b{a, r, reset_after, c.rows, u, c.col_begin, c.col_end, d_out.p(), d_h.p()};
              b.h = h.p(), b.h_mask = masked ? mask.p() : nullptr, b.zr = zr[1].p(), b.zr_pre = zr_pre[1].p();
              b.reset = reset[1].p(), b.cand = cand[1].p(), b.cand_pre = cand_pre[1].p(), b.p2 = p2.p();
              b.dz = dz[k].p(), b.ldz = ldz, b.d_h_prev = dhp[k].p();
              k == 0 ? kernels::gru_backward(b) : kernels::ref::gru_backward(b);
              if (!reset_after) k == 0 ? kernels::gru_reset_backward(b) : kernels::ref::gru_reset_backward(b);
            }
            expect_close(dz[0].v, dz[1].v, "backward dz " + what);
            expect_close(dhp[0].v, dhp[1].v, "backward d_h_prev " + what);
          }
}

TEST(CellKernels, SimpleRnnFastMatchesReference) {
  IsaGuard guard;
  for (Isa isa : runnable_isas())
    for (const auto& [a, r] : fast_pairs())
      for (const Case& c : cases()) {
        kernels::set_isa(isa);
        const std::string what = label(isa, a, a, c);
        Rng rng(3 + c.units);
        const int64_t u = c.units, ld = u + 5, n = c.rows * u;
        Buffer xp = random_buffer(rng, c.rows * ld, -3, 3), rec = random_buffer(rng, c.rows * ld, -2, 2);
        Buffer h_new[2], out[2], rec_h[2], pre[2];
        for (int k = 0; k < 2; ++k) {
          h_new[k] = sentinel_buffer(n), out[k] = sentinel_buffer(n), rec_h[k] = sentinel_buffer(n);
          pre[k] = sentinel_buffer(n);
          kernels::SimpleRNNForward<float> f{a,  c.rows,       u,          c.col_begin,  c.col_end, xp.p(), ld, rec.p(),
                                             ld, h_new[k].p(), out[k].p(), rec_h[k].p(), pre[k].p()};
          k == 0 ? kernels::simple_rnn_forward(f) : kernels::ref::simple_rnn_forward(f);
        }
        for (auto* b : {&h_new, &out, &rec_h, &pre}) expect_close((*b)[0].v, (*b)[1].v, "forward " + what);
        Buffer d_out = random_buffer(rng, n, -1, 1), d_h = random_buffer(rng, n, -1, 1);
        for (bool with_pre : {true, false}) {
          Buffer dz[2];
          float* pre_record = with_pre || kernels::derivative_needs_input(a) ? pre[1].p() : nullptr;
          for (int k = 0; k < 2; ++k) {
            dz[k] = sentinel_buffer(c.rows * ld);
            kernels::SimpleRNNBackward<float> b{a,       c.rows,     u,          c.col_begin, c.col_end, d_out.p(),
                                                d_h.p(), out[1].p(), pre_record, dz[k].p(),   ld};
            k == 0 ? kernels::simple_rnn_backward(b) : kernels::ref::simple_rnn_backward(b);
          }
          expect_close(dz[0].v, dz[1].v, "backward " + what);
        }
      }
}

// Activations without a fast path, and double, run the reference: identical bits.
TEST(CellKernels, GeneralActivationsRunTheReferenceExactly) {
  Rng rng(9);
  const int64_t rows = 2, u = 19, w = 4 * u, n = rows * u;
  Buffer xp = random_buffer(rng, rows * w, -3, 3), cs = random_buffer(rng, n, -1, 1);
  Buffer h[2], c_new[2], gates[2];
  for (int k = 0; k < 2; ++k) {
    h[k] = sentinel_buffer(n), c_new[k] = sentinel_buffer(n), gates[k] = sentinel_buffer(rows * w);
    kernels::LSTMForward<float> f{act(ActivationKind::elu),
                                  act(ActivationKind::sigmoid),
                                  rows,
                                  u,
                                  0,
                                  -1,
                                  xp.p(),
                                  w,
                                  nullptr,
                                  0,
                                  cs.p(),
                                  c_new[k].p(),
                                  h[k].p(),
                                  nullptr,
                                  gates[k].p()};
    k == 0 ? kernels::lstm_forward(f) : kernels::ref::lstm_forward(f);
  }
  EXPECT_EQ(h[0].v, h[1].v);
  EXPECT_EQ(gates[0].v, gates[1].v);

  std::vector<double> xd(static_cast<size_t>(rows * u)), yd(xd.size()), yr(xd.size());
  for (double& v : xd) v = rng.uniform(-2, 2);
  kernels::SimpleRNNForward<double> f{act(ActivationKind::tanh), rows, u, 0, -1, xd.data(), u, nullptr, 0, yd.data()};
  kernels::simple_rnn_forward(f);
  f.h_new = yr.data();
  kernels::ref::simple_rnn_forward(f);
  EXPECT_EQ(yd, yr);
  EXPECT_DOUBLE_EQ(yd[0], std::tanh(xd[0]));
}

// The reference itself against the formulas, one element by hand (i = f = o = σ(0) = 0.5).
TEST(CellKernels, ReferenceLstmFollowsTheFormulas) {
  std::vector<float> xp{0.0f, 0.0f, 1.0f, 0.0f}, c{2.0f}, c_new(1), h_new(1), gates(4);
  kernels::LSTMForward<float> f{act(ActivationKind::tanh),
                                act(ActivationKind::sigmoid),
                                1,
                                1,
                                0,
                                -1,
                                xp.data(),
                                4,
                                nullptr,
                                0,
                                c.data(),
                                c_new.data(),
                                h_new.data(),
                                nullptr,
                                gates.data()};
  kernels::ref::lstm_forward(f);
  const float g = std::tanh(1.0f), cn = 0.5f * 2.0f + 0.5f * g;
  EXPECT_FLOAT_EQ(c_new[0], cn);
  EXPECT_FLOAT_EQ(h_new[0], 0.5f * std::tanh(cn));
  EXPECT_FLOAT_EQ(gates[2], g);
}

}  // namespace
}  // namespace rnnx
