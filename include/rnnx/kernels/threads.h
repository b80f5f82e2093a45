#pragma once
// How many threads rnnx's recurrent layers use. A recurrent layer splits the batch of a call
// into one contiguous block of samples per thread and runs the whole sequence of each block on
// its own thread, inside one parallel region per call (no fork and join per step: a sample's
// steps depend only on its own earlier steps); every step's product and gate arithmetic of a
// block run on that block's thread. The products outside the time loop (the input projection
// of all steps, the weight and input gradients) use oneDNN's own threads. Results are
// bit-identical for a given thread count (the split depends only on the count and the batch).
//
// Without OpenMP (or in a ThreadSanitizer build) rnnx runs single-threaded and the count is
// always 1.
namespace rnnx::kernels {

// The thread count (>= 1). Default: OpenMP's (OMP_NUM_THREADS, else the number of cores).
int num_threads();
// Sets it for the following calls; n < 1 restores the default. Also sets OpenMP's count for
// the calling thread, which oneDNN's products use. Not concurrent with running layers.
void set_num_threads(int n);

}  // namespace rnnx::kernels
