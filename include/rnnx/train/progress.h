#pragma once
// The progress writer (K3 keras/src/callbacks/progbar_logger.py, utils/progbar.py): the only
// place the training code writes text, and only to the stream it is given.
//
// fit() adds one when verbose > 0 (after the user callbacks), writing to FitOptions::progress
// (std::cout when null). Formats, as Keras:
//  - "Epoch 3/10" before each epoch when epochs > 1;
//  - dynamic (verbose 1 on a terminal): a bar redrawn with '\r' at most every 0.05 s,
//      " 7/20 ━━━━━━━━━━━━━━━━━━━━ 1s 12ms/step - loss: 0.3012 - acc: 0.8750"
//    (counter bold, done part green; ETA while running, elapsed seconds at the end), and a
//    newline when the epoch ends;
//  - otherwise (verbose 2, or verbose 1 not on a terminal) one line per epoch:
//      "20/20 - 1s - 12ms/step - loss: 0.3012 - acc: 0.8750 - val_loss: 0.3301"
// Values print with 4 decimals, or as %.4e when |value| <= 1e-3. evaluate() (outside fit)
// prints its final line the same way.
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "rnnx/train/callback.h"

namespace rnnx {

// Whether `stream` is std::cout and stdout is a terminal.
bool stream_is_terminal(const std::ostream& stream);

template <class T>
class ProgressLogger : public Callback<T> {
 public:
  // verbose 1 or 2; dynamic: redraw a bar (true) or print one line per epoch (false).
  ProgressLogger(std::ostream& out, int verbose, bool dynamic);

  void set_params(const CallbackParams& params) override;
  void on_train_begin(const Logs& logs) override;
  void on_epoch_begin(int64_t epoch, const Logs& logs) override;
  void on_batch_end(int64_t batch, const Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  void on_test_begin(const Logs& logs) override;
  void on_test_batch_end(int64_t batch, const Logs& logs) override;
  void on_test_end(const Logs& logs) override;

 private:
  void start();
  void update(int64_t current, const Logs& logs, bool finalize);
  double seconds_since_start() const;

  std::ostream& out_;
  int verbose_;
  bool dynamic_;
  bool in_fit_ = false;
  int64_t epochs_ = 1, target_ = 0;
  std::chrono::steady_clock::time_point start_{}, last_update_{};
  double time_after_first_step_ = -1.0;  // seconds since start when step 1 finished
  size_t prev_width_ = 0;
};

extern template class ProgressLogger<float>;
extern template class ProgressLogger<double>;

}  // namespace rnnx
