// The oneDNN peer of the recurrent benchmark: a worker (bench_support.h protocol) that runs
// each case on oneDNN's RNN primitives (onednn_runner.h). Built primitives are kept per
// case, so later rounds time the same objects.
//
// Threads: OMP_NUM_THREADS (OpenMP builds: Debian's libdnnl) or, compiled with
// -DRNNX_BENCH_TBB (PyPI onednn, threaded by TBB), a tbb::global_control set from
// OMP_NUM_THREADS.
//
// Usage: onednn_peer            (cases on stdin, one JSON answer per line on stdout)
#ifdef RNNX_BENCH_TBB
#include <tbb/global_control.h>
#endif

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.h"
#include "onednn_runner.h"

int main() {
  using namespace rnnx::bench;
#ifdef RNNX_BENCH_TBB
  const char* env = std::getenv("OMP_NUM_THREADS");
  const int threads = env && std::atoi(env) > 0 ? std::atoi(env) : 0;
  std::unique_ptr<tbb::global_control> limit;
  if (threads > 0) limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, threads);
#endif
  try {  // a tiny training step first: a oneDNN that cannot run says so at once (run.sh probes this)
    const Case probe = parse_case("cell=lstm B=1 T=2 I=1 H=2 mode=train");
    OnednnRunner(probe, make_case_data(probe, 1)).run();
  } catch (const std::exception& e) {
    std::cerr << "onednn_peer: " << OnednnRunner::version() << " does not run: " << e.what() << "\n";
    return 1;
  }
  const std::string note = OnednnRunner::version();
  std::map<std::string, std::unique_ptr<OnednnRunner>> built;
  return worker_main([&](const Case& c) {
    std::unique_ptr<OnednnRunner>& r = built[case_key(c)];
    if (!r) r = std::make_unique<OnednnRunner>(c, load_case_data(c));
    const std::vector<double> ms = time_calls([&r] { r->run(); }, c.reps, c.max_s);
    if (!c.dump.empty()) r->dump(c.dump);
    return reply_ok(ms, note);
  });
}
