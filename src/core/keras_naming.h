#pragma once
// Internal: Keras's default names.
#include <string>

namespace rnnx::detail {

// Keras's to_snake_case of a class name: "GlobalMaxPooling1D" -> "global_max_pooling1d",
// "SimpleRNN" -> "simple_rnn", "LSTMCell" -> "lstm_cell" (K3 keras/src/utils/naming.py;
// tf_keras generic_utils). Default layer names and the weight paths of .keras files are
// built from it. The two differ on digits: tf_keras (keras3 = false) splits before
// "[A-Z][a-z0-9]+", Keras 3 before "[A-Z][a-z]+" after dropping non-word characters.
std::string keras_snake_case(const std::string& class_name, bool keras3 = true);

}  // namespace rnnx::detail
