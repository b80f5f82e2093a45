// The Keras-style progress writer (include/rnnx/train/progress.h).
#include "rnnx/train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace rnnx {
namespace {

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// Keras Progbar._format_time: " 12ms/step", " 3s/step", " 850us/step".
std::string format_time(double per_unit) {
  if (per_unit >= 1.0 || per_unit == 0.0) return format(" %.0fs/step", per_unit);
  if (per_unit >= 1e-3) return format(" %.0fms/step", per_unit * 1e3);
  return format(" %.0fus/step", per_unit * 1e6);
}

// " - loss: 0.3012" for every log entry; `absolute` selects Keras verbose-1 rounding (|v|).
std::string format_values(const Logs& logs, bool absolute) {
  std::string s;
  for (const auto& [k, v] : logs.items()) {
    const double m = absolute ? std::abs(v) : v;
    s += " - " + k + ":" + (m > 1e-3 ? format(" %.4f", v) : format(" %.4e", v));
  }
  return s;
}

std::string counter(int64_t current, int64_t target) {
  const int digits = target > 0 ? static_cast<int>(std::floor(std::log10(static_cast<double>(target)))) + 1 : 1;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%*lld/%lld", digits, static_cast<long long>(current), static_cast<long long>(target));
  return buf;
}

}  // namespace

bool stream_is_terminal(const std::ostream& stream) { return &stream == &std::cout && isatty(STDOUT_FILENO) != 0; }

template <class T>
ProgressLogger<T>::ProgressLogger(std::ostream& out, int verbose, bool dynamic)
    : out_(out), verbose_(verbose), dynamic_(dynamic && verbose == 1) {}

template <class T>
void ProgressLogger<T>::set_params(const CallbackParams& params) {
  Callback<T>::set_params(params);
  epochs_ = params.epochs;
  target_ = params.steps;
}

template <class T>
void ProgressLogger<T>::on_train_begin(const Logs&) {
  in_fit_ = true;  // validation inside fit is silent
}

template <class T>
void ProgressLogger<T>::start() {
  start_ = last_update_ = std::chrono::steady_clock::now();
  time_after_first_step_ = -1.0;
  prev_width_ = 0;
}

template <class T>
double ProgressLogger<T>::seconds_since_start() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

template <class T>
void ProgressLogger<T>::on_epoch_begin(int64_t epoch, const Logs&) {
  start();
  if (epochs_ > 1) out_ << "Epoch " << epoch + 1 << "/" << epochs_ << "\n" << std::flush;
}

template <class T>
void ProgressLogger<T>::on_batch_end(int64_t batch, const Logs& logs) {
  update(batch + 1, logs, false);
}

template <class T>
void ProgressLogger<T>::on_epoch_end(int64_t, Logs& logs) {
  update(target_, logs, true);
}

template <class T>
void ProgressLogger<T>::on_test_begin(const Logs&) {
  if (!in_fit_) start();
}

template <class T>
void ProgressLogger<T>::on_test_batch_end(int64_t batch, const Logs& logs) {
  if (!in_fit_) update(batch + 1, logs, false);
}

template <class T>
void ProgressLogger<T>::on_test_end(const Logs& logs) {
  if (!in_fit_) update(target_, logs, true);
}

template <class T>
void ProgressLogger<T>::update(int64_t current, const Logs& logs, bool finalize) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = seconds_since_start();
  // Time per step, ignoring the (often slow) first step once there are others (Keras).
  double per_step = 0.0;
  if (current > 0) {
    per_step = (time_after_first_step_ >= 0.0 && current > 1)
                   ? (elapsed - time_after_first_step_) / static_cast<double>(current - 1)
                   : elapsed / static_cast<double>(current);
    if (current == 1) time_after_first_step_ = elapsed;
  }
  if (!dynamic_) {
    if (!finalize) return;
    out_ << counter(current, target_) << " - " << format("%.0fs", elapsed) << " -" << format_time(per_step)
         << format_values(logs, false) << "\n"
         << std::flush;
    return;
  }
  if (!finalize && std::chrono::duration<double>(now - last_update_).count() < 0.05) return;
  last_update_ = now;
  std::string bar = "\x1b[1m" + counter(current, target_) + "\x1b[0m ";
  size_t special = 8;
  const int width = 20;
  const int done =
      target_ > 0 ? static_cast<int>(width * static_cast<double>(current) / static_cast<double>(target_)) : 0;
  std::string done_part, rest_part;
  for (int i = 0; i < width; ++i) (i < done ? done_part : rest_part) += "\u2501";  // '━'
  if (done > 0) {
    bar += "\x1b[32m" + done_part + "\x1b[0m";
    special += 9;
  }
  bar += "\x1b[37m" + rest_part + "\x1b[0m";
  special += 9;
  std::string info;
  if (!finalize) {
    const double eta = per_step * static_cast<double>(target_ - current);
    char buf[64];
    if (eta > 3600)
      std::snprintf(buf, sizeof buf, "%d:%02d:%02d", static_cast<int>(eta / 3600),
                    static_cast<int>(std::fmod(eta, 3600) / 60), static_cast<int>(std::fmod(eta, 60)));
    else if (eta > 60)
      std::snprintf(buf, sizeof buf, "%d:%02d", static_cast<int>(eta / 60), static_cast<int>(std::fmod(eta, 60)));
    else
      std::snprintf(buf, sizeof buf, "%ds", static_cast<int>(eta));
    info = std::string(" \x1b[1m") + buf + "\x1b[0m";
  } else {
    info = " \x1b[1m" + format("%.0fs", elapsed) + "\x1b[0m";
  }
  special += 8;
  info += format_time(per_step) + format_values(logs, true);
  // Visible width: bytes minus escape codes, counting each 3-byte '━' once.
  const size_t width_now = bar.size() + info.size() - special - 2 * static_cast<size_t>(width);
  std::string message = "\r" + bar + info;
  if (prev_width_ > width_now) message += std::string(prev_width_ - width_now, ' ');
  if (finalize) message += "\n";
  out_ << message << std::flush;
  prev_width_ = width_now;
}

template class ProgressLogger<float>;
template class ProgressLogger<double>;

}  // namespace rnnx
