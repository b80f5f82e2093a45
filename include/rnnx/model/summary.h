#pragma once
// The model summary table (Keras model.summary(), K3 keras/src/utils/summary_utils.py),
// returned as a string instead of printed. Shapes print with None for unknown dimensions,
// e.g. "(None, 6, 32)"; a layer with several outputs lists them, "[(None, 4), (None, 4)]".
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rnnx/core/shape.h"

namespace rnnx {

struct SummaryRow {
  std::string name;          // layer name
  std::string class_name;    // Keras class name
  std::string output_shape;  // format_output_shapes() of the layer's last call, "?" if unbuilt
  int64_t params = 0;
  int64_t trainable_params = 0;
  std::string connected_to;  // functional models: "lstm[0][0], input_layer[0][0]"; "-" for none
};

// "(None, 6, 32)"; a rank-1 shape prints "(None,)", as Python prints a 1-tuple.
std::string format_shape(const Shape& shape);
// One shape as format_shape(), several as "[(None, 4), (None, 4)]".
std::string format_output_shapes(const std::vector<Shape>& shapes);
// "6,356"
std::string format_count(int64_t n);

// The table:
//   Model: "sequential"
//   +-----------------------------+---------------+---------+
//   | Layer (type)                | Output Shape  | Param # |
//   +=============================+===============+=========+
//   | lstm (LSTM)                 | (None, 6, 32) |   4,864 |
//   +-----------------------------+---------------+---------+
//    Total params: 4,864 (19.00 KB)
//    Trainable params: 4,864 (19.00 KB)
//    Non-trainable params: 0 (0.00 B)
// with a "Connected to" column when show_connections. Sizes count scalar_bytes per value.
std::string format_summary(const std::string& model_name, const std::vector<SummaryRow>& rows, bool show_connections,
                           size_t scalar_bytes);

}  // namespace rnnx
