#pragma once
// Runs one benchmark case (bench_support.h) on oneDNN's RNN primitives: vanilla_lstm and
// lbr_gru (linear-before-reset GRU == Keras reset_after=True). Builds against oneDNN 2.x
// (Debian libdnnl-dev 2.6) and 3.x (PyPI onednn-devel). Used by onednn_peer.cpp and the
// bench-smoke test.
//
//   OnednnRunner r(c, data);   // primitives and memories (untimed)
//   r.run();                   // one timed unit: a forward call, a training step, or T steps
//   r.dump(dir);               // the last run's results, in the Keras dump layout
//
// Layouts: oneDNN's own. The sequence is time-major (tnc), converted from the case's Keras
// layout once, untimed; ldigo weights are the Keras kernels as they are (gate order i f c o
// and z r h is oneDNN's too); the GRU bias (2, 3H) folds into lbr_gru's 4 rows
// (z_in + z_rec, r_in + r_rec, h_in, h_rec). Weights go to the primitive's preferred layout:
// once for inference (constant weights), every training step (they change every step in
// training, so the reorder is part of its cost), and the diff weights are zeroed every step
// (oneDNN accumulates into them). A stacked case chains one primitive per layer (the layers'
// input widths differ). Step mode executes a T=1 primitive per step, carrying the states.
// Errors: dnnl::error (a std::exception) when oneDNN rejects a case.
#include <memory>
#include <string>

#include "bench_support.h"

namespace rnnx::bench {

namespace detail_onednn {
class Runner;
}

class OnednnRunner {
 public:
  OnednnRunner(const Case& c, const CaseData& data);
  ~OnednnRunner();
  void run();
  void dump(const std::string& dir);
  // "oneDNN <major>.<minor>.<patch>" of the library linked.
  static std::string version();

 private:
  std::unique_ptr<detail_onednn::Runner> runner_;
};

}  // namespace rnnx::bench
