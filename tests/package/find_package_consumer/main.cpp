// Runs an LSTM through the installed library; exits 0 when the output has the right shape.
#include <rnnx/layers/lstm.h>

int main() {
  rnnx::LSTMOptions options;
  options.units = 3;
  rnnx::LSTM<float> lstm(options, "lstm");
  rnnx::Tensor<float> x({2, 4, 5}, 0.5f);
  const auto y = lstm(x);
  return y.shape() == rnnx::Shape{2, 3} ? 0 : 1;
}
