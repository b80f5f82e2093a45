#pragma once
// Internal: Keras's default names.
#include <string>

namespace rnnx::detail {

// Keras's to_snake_case of a class name: "GlobalMaxPooling1D" -> "global_max_pooling1d",
// "SimpleRNN" -> "simple_rnn", "LSTMCell" -> "lstm_cell" (K3 keras/src/utils/naming.py;
// tf_keras generic_utils). Default layer names and the weight paths of .keras files are
// built from it. Both split before "[A-Z][a-z]+" ("ConvLSTM2D" -> "conv_lstm2d"); Keras 3
// first drops non-word characters, tf_keras (keras3 = false) prefixes "private" to a name
// starting with "_". (tf.keras before 2.7 split before "[A-Z][a-z0-9]+", "conv_lst_m2d",
// but wrote no .keras or .weights.h5 archives, the only files whose weight paths use them.)
std::string keras_snake_case(const std::string& class_name, bool keras3 = true);

}  // namespace rnnx::detail
