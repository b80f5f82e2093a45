// The rnnx peer of the recurrent benchmark: a worker (bench_support.h protocol) that runs
// each case on rnnx's public LSTM/GRU layers (rnnx_runner.h). Built layers are kept per case,
// so later rounds time the same objects. Threads: OMP_NUM_THREADS (oneDNN's sgemm inside rnnx).
//
// Usage: rnnx_peer            (cases on stdin, one JSON answer per line on stdout)
#include <map>
#include <memory>
#include <string>

#include "bench_support.h"
#include "rnnx_runner.h"

int main() {
  using namespace rnnx::bench;
  std::map<std::string, std::unique_ptr<RnnxRunner>> built;
  return worker_main([&built](const Case& c) {
    std::unique_ptr<RnnxRunner>& r = built[case_key(c)];
    if (!r) r = std::make_unique<RnnxRunner>(c, load_case_data(c));
    const std::vector<double> ms = time_calls([&r] { r->run(); }, c.reps, c.max_s);
    if (!c.dump.empty()) r->dump(c.dump);
    return reply_ok(ms, c.mode == "step" ? RnnxRunner::step_api() : "");
  });
}
