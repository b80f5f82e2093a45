// rnnx explain MODEL [DATA] [--sample N] [--output DIR]: what a recurrent model does with one
// sample, step by step. Text: every tensor's shape, each recurrent layer's weights, parameter
// count and output structure. Pictures (rnnx::Trace, model/trace.h): the gates and states of
// every recurrent layer over time beside its input, and the gate saturation over the data set
// (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and understanding recurrent networks").
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <tuple>

#include "cli.h"
#include "data.h"
#include "plot.h"
#include "rnnx/cells/gru_cell.h"
#include "rnnx/cells/lstm_cell.h"
#include "rnnx/cells/simple_rnn_cell.h"
#include "rnnx/core/error.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/model/trace.h"
#include "run_files.h"

namespace rnnx::cli {

namespace {

namespace fs = std::filesystem;

struct ExplainCommand {
  ModelSource model;
  DataOptions data;
  int64_t sample = 0;
  std::string output = "explain";
  int64_t saturation_samples = 1000;
  int64_t batch_size = 128;
  int threads = 0;
};

// The traced quantities (model/trace.h) in panel order: title, and whether it is a sigmoid
// gate (0..1, measured for saturation).
struct QuantityInfo {
  const char* name;
  const char* title;
  bool gate;
};
constexpr QuantityInfo kQuantities[] = {
    {"input_gate", "input gate i", true},      {"forget_gate", "forget gate f", true},
    {"output_gate", "output gate o", true},    {"cell_candidate", "candidate c\u0303", false},
    {"cell_state", "cell state c", false},     {"hidden_state", "hidden state h", false},
    {"update_gate", "update gate z", true},    {"reset_gate", "reset gate r", true},
    {"candidate", "candidate h\u0303", false}, {"state", "state h", false},
};

const QuantityInfo* quantity_info(const std::string& name) {
  for (const QuantityInfo& q : kQuantities)
    if (name == q.name) return &q;
  return nullptr;
}

// Panels follow the equations: gates, candidate, then the states (kQuantities order).
int panel_rank(const std::string& name) {
  const QuantityInfo* q = quantity_info(name);
  return q == nullptr ? static_cast<int>(std::size(kQuantities)) : static_cast<int>(q - kQuantities);
}

std::string num(int64_t v) { return std::to_string(v); }

std::string percent(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * f);
  return buf;
}

std::vector<Tensor<float>> rows(const std::vector<Tensor<float>>& inputs, int64_t begin, int64_t count) {
  std::vector<Tensor<float>> out;
  for (const Tensor<float>& x : inputs) out.push_back(sample_rows(x, begin, count));
  return out;
}

// A file name from a layer name ("forward_lstm", "encoder/lstm" -> "encoder_lstm").
std::string file_stem(const TraceRecord<float>& r) {
  std::string s;
  for (char c : r.layer_name) s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  if (r.call_index > 0) s += "_call" + num(r.call_index);
  return s;
}

std::string shapes_string(const std::vector<Shape>& shapes) {
  std::string s;
  for (const Shape& x : shapes) s += (s.empty() ? "" : ", ") + to_string(x);
  return s;
}

// ---- the parameter count of a recurrent layer, as a formula ----

struct CellFacts {
  std::string kind;  // "LSTM", "GRU", "SimpleRNN", or empty for other cells
  int gates = 1;
  int64_t units = 0;
  bool use_bias = false, reset_after = false;
  std::vector<std::string> state_names;  // "h_T", "c_T"
};

CellFacts cell_facts(const Cell<float>& cell) {
  CellFacts f;
  if (const auto* c = dynamic_cast<const LSTMCell<float>*>(&cell)) {
    f = {"LSTM", 4, c->units(), c->options().use_bias, false, {"h_T", "c_T"}};
  } else if (const auto* g = dynamic_cast<const GRUCell<float>*>(&cell)) {
    f = {"GRU", 3, g->units(), g->options().use_bias, g->options().reset_after, {"h_T"}};
  } else if (const auto* s = dynamic_cast<const SimpleRNNCell<float>*>(&cell)) {
    f = {"SimpleRNN", 1, s->units(), s->options().use_bias, false, {"h_T"}};
  } else {
    for (size_t i = 0; i < cell.state_sizes().size(); ++i) f.state_names.push_back("state_" + num(int64_t(i)) + "_T");
  }
  return f;
}

// "4·(units·(units+features)+units) = 4·(128·(128+28)+128) = 80384".
std::string param_formula(const CellFacts& f, int64_t features, int64_t count) {
  if (f.kind.empty()) return num(count);
  const std::string u = num(f.units), d = num(features);
  const int64_t value =
      f.gates * (f.units * (f.units + features) + (f.use_bias ? (f.reset_after ? 2 : 1) : 0) * f.units);
  std::string sym = "units·(units+features)", val = u + "·(" + u + "+" + d + ")";
  if (f.use_bias) {
    sym += f.reset_after ? "+2·units" : "+units";
    val += f.reset_after ? "+2·" + u : "+" + u;
  }
  if (f.gates > 1) {
    sym = num(f.gates) + "·(" + sym + ")";
    val = num(f.gates) + "·(" + val + ")";
  }
  // The formula is what Keras cells hold; a mismatch would mean a cell this code does not know.
  return sym + " = " + val + " = " + num(value) + (value == count ? "" : " (the layer holds " + num(count) + ")");
}

// "[features, 4·units]" for the weight `name` of shape `shape`, or "" when not a Keras cell.
std::string weight_meaning(const CellFacts& f, const std::string& name, const Shape& shape) {
  if (f.kind.empty()) return "";
  const std::string g = f.gates > 1 ? num(f.gates) + "·units" : "units";
  if (name == "kernel") return "[features, " + g + "]";
  if (name == "recurrent_kernel") return "[units, " + g + "]";
  if (name == "bias")
    return shape.size() == 2 ? "[2, " + g + "]: input and recurrent bias (reset_after)" : "[" + g + "]";
  return "";
}

// ---- text about one recurrent layer ----

void describe_rnn(std::ostream& out, RNN<float>& layer, const Shape& in, const std::vector<Shape>& outs,
                  const std::string& indent) {
  const CellFacts f = cell_facts(layer.cell());
  const int64_t features = in.size() == 3 ? in[2] : layer.cell().input_size();
  int64_t count = 0;
  for (const Param<float>& p : layer.params()) {
    count += p.value->size();
    char buf[160];
    std::snprintf(buf, sizeof buf, "%-18s %-12s", p.name.c_str(), to_string(p.value->shape()).c_str());
    const std::string meaning = weight_meaning(f, p.name, p.value->shape());
    out << indent << buf << (meaning.empty() ? "" : " = " + meaning) << "\n";
  }
  out << indent << "parameters: " << param_formula(f, features, count) << "\n";
  const RNNOptions& o = layer.rnn_options();
  std::string what = "return_sequences=" + std::string(o.return_sequences ? "True" : "False") +
                     ", return_state=" + (o.return_state ? "True" : "False") + ": returns ";
  const std::string y = o.return_sequences ? "the sequence h_1..h_T " + to_string(outs.at(0)) + ", one output per step"
                                           : "h_T " + to_string(outs.at(0)) + ", the last step's output";
  if (!o.return_state) {
    what += y;
  } else {
    what += "[output, " +
            [&] {
              std::string s;
              for (size_t i = 0; i < f.state_names.size(); ++i)
                s += (i ? ", " : "") + f.state_names[i] + " " + (1 + i < outs.size() ? to_string(outs[1 + i]) : "?");
              return s;
            }() +
            "]: the output is " + y + "; then the final state" + (f.state_names.size() > 1 ? "s" : "");
  }
  out << indent << what << "\n";
  if (o.go_backwards)
    out << indent << "go_backwards=True: reads the steps last to first; a sequence output is in that order\n";
  if (o.stateful) out << indent << "stateful=True: carries its states from batch to batch (reset before this run)\n";
}

// ---- the walk over the model: shapes of every tensor for the chosen sample ----

struct Walk {
  std::ostream& out;
  const std::map<const Layer<float>*, std::vector<const TraceRecord<float>*>>& records;
  const std::map<const TraceRecord<float>*, std::string>& pictures;
  std::set<const TraceRecord<float>*>& mentioned;
  int64_t row;  // the sample's row in the batch run

  void recorded(const Layer<float>* layer, const std::string& indent) const {
    auto it = records.find(layer);
    if (it == records.end()) return;
    for (const TraceRecord<float>* r : it->second) {
      mentioned.insert(r);
      const uint8_t* mask = r->mask.empty() ? nullptr : r->mask.data() + row * r->steps();
      const int64_t masked = mask == nullptr ? 0 : std::count(mask, mask + r->steps(), 0);
      if (masked > 0)
        out << indent << masked << " of " << r->steps()
            << " steps of this sample are masked: the layer carries its state through them\n";
      auto p = pictures.find(r);
      if (p != pictures.end()) out << indent << "gates and states over time: " << p->second << "\n";
    }
  }

  void model(Model<float>& m, const std::vector<Shape>& input_shapes, const std::string& indent) const {
    using Key = std::tuple<std::string, int64_t, int64_t>;
    std::map<Key, Shape> known;
    auto key = [&](const ModelTensor& t) {
      const TensorKey k = m.key_of(t);
      return Key{k.layer, k.node_index, k.tensor_index};
    };
    const std::vector<ModelTensor> inputs = m.inputs();
    const std::vector<std::string> names = m.input_names();
    for (size_t i = 0; i < inputs.size() && i < input_shapes.size(); ++i) {
      known[key(inputs[i])] = input_shapes[i];
      out << indent << "input '" << names[i] << "': " << to_string(input_shapes[i])
          << (input_shapes[i].size() == 3 ? "  [batch, steps, features]" : "") << "\n";
    }
    for (const ModelNode<float>& node : m.graph_nodes()) {
      std::vector<Shape> args;
      for (const auto* list : {&node.args, &node.constants})
        for (const ModelTensor& t : *list) {
          auto it = known.find(key(t));
          args.push_back(it != known.end() ? it->second : Shape{});
        }
      std::vector<Shape> outs;
      try {
        outs = node.layer->compute_output_shapes(args);
      } catch (const Error&) {
        outs = {};
      }
      for (size_t k = 0; k < outs.size(); ++k) known[Key{node.layer->name(), node.node_index, int64_t(k)}] = outs[k];
      Layer<float>& layer = *node.layer;
      out << indent << layer.class_name() << " '" << layer.name() << "': " << shapes_string(args) << " -> "
          << (outs.empty() ? "?" : shapes_string(outs)) << "\n";
      const std::string inner = indent + "    ";
      if (auto* nested = dynamic_cast<Model<float>*>(&layer)) {
        model(*nested, args, inner);
      } else if (auto* rnn = dynamic_cast<RNN<float>*>(&layer)) {
        if (!args.empty() && !outs.empty()) describe_rnn(out, *rnn, args[0], outs, inner);
        recorded(rnn, inner);
      } else if (auto* bi = dynamic_cast<Bidirectional<float>*>(&layer)) {
        static const std::map<MergeMode, const char*> how{
            {MergeMode::concat, "[forward, backward] joined on the last axis"},
            {MergeMode::sum, "forward + backward"},
            {MergeMode::ave, "(forward + backward) / 2"},
            {MergeMode::mul, "forward * backward, element-wise"},
            {MergeMode::none, "forward and backward outputs returned separately"}};
        out << inner << "merge_mode=" << merge_mode_name(bi->merge_mode()) << ": " << how.at(bi->merge_mode())
            << (bi->forward_layer().rnn_options().return_sequences
                    ? "; the backward sequence output is flipped back to input order first"
                    : "")
            << "\n";
        for (RNN<float>* dir : {&bi->forward_layer(), &bi->backward_layer()}) {
          out << inner << dir->class_name() << " '" << dir->name() << "'\n";
          std::vector<Shape> dir_outs;
          if (!args.empty()) dir_outs = dir->compute_output_shapes({args[0]});
          if (!dir_outs.empty()) describe_rnn(out, *dir, args[0], dir_outs, inner + "    ");
          recorded(dir, inner + "    ");
        }
      }
    }
  }
};

// ---- pictures of one recorded call (one row of its batch) ----

HeatMap input_panel(const TraceRecord<float>& r, int64_t row) {
  const int64_t steps = r.steps(), features = r.input.dim(2);
  HeatMap m;
  m.title = "input: " + num(features) + " features × " + num(steps) + " steps";
  m.rows = features;
  m.cols = steps;
  m.y_label = "feature";
  float lo = 0, hi = 0;
  for (int64_t f = 0; f < features; ++f)
    for (int64_t t = 0; t < steps; ++t) {
      const float v = r.input[(row * steps + t) * features + f];
      m.values.push_back(v);
      lo = std::min(lo, v), hi = std::max(hi, v);
    }
  if (lo >= 0) {  // images and other non-negative inputs: black to white
    m.scale = ColourScale::gray;
    m.lo = 0, m.hi = hi > 1 ? hi : 1;
  } else {
    m.scale = ColourScale::diverging;
    m.hi = std::max(std::abs(lo), std::abs(hi));
    m.lo = -m.hi;
  }
  return m;
}

HeatMap quantity_panel(const std::string& name, const Tensor<float>& q, int64_t row,
                       const std::vector<uint8_t>& dimmed) {
  const int64_t steps = q.dim(1), units = q.dim(2);
  const QuantityInfo* info = quantity_info(name);
  HeatMap m;
  m.title = info != nullptr ? std::string(info->title) + "  (" + name + ")" : name;
  m.rows = units;
  m.cols = steps;
  m.dimmed_columns = dimmed;
  float peak = 0;
  for (int64_t u = 0; u < units; ++u)
    for (int64_t t = 0; t < steps; ++t) {
      const float v = q[(row * steps + t) * units + u];
      m.values.push_back(v);
      if (std::isfinite(v)) peak = std::max(peak, std::abs(v));
    }
  if (info != nullptr && info->gate) {
    m.scale = ColourScale::unit;  // sigmoid gates: 0 (closed) .. 1 (open)
  } else {
    m.scale = ColourScale::diverging;  // tanh values in -1..1; states over their range
    m.hi = peak > 1 ? peak : 1;
    m.lo = -m.hi;
  }
  return m;
}

// The step the pictured cell computes, with its activations (empty for other cells).
std::vector<std::string> cell_equations(const TraceRecord<float>& r) {
  const auto* layer = dynamic_cast<const RNN<float>*>(r.layer);
  if (layer == nullptr) return {};
  const std::string h = "hₜ₋₁";  // h_{t-1}
  if (const auto* c = dynamic_cast<const LSTMCell<float>*>(&layer->cell())) {
    const std::string act = c->options().activation.name(), ract = c->options().recurrent_activation.name();
    return {"One LSTM step (Keras):",
            "i, f, o = " + ract + "(xₜ·K + " + h + "·R + b)",
            "c̃ = " + act + "(xₜ·K_c + " + h + "·R_c + b_c)",
            "cₜ = f ⊙ cₜ₋₁ + i ⊙ c̃",
            "hₜ = o ⊙ " + act + "(cₜ)",
            "(⊙: element-wise product)"};
  }
  if (const auto* g = dynamic_cast<const GRUCell<float>*>(&layer->cell())) {
    const std::string act = g->options().activation.name(), ract = g->options().recurrent_activation.name();
    const bool after = g->options().reset_after;
    return {std::string("One GRU step (reset_after=") + (after ? "True" : "False") + "):",
            "z, r = " + ract + "(xₜ·K + " + h + "·R + b)",
            after ? "h̃ = " + act + "(xₜ·K_h + r ⊙ (" + h + "·R_h + b_h))"
                  : "h̃ = " + act + "(xₜ·K_h + (r ⊙ " + h + ")·R_h + b_h)",
            "hₜ = z ⊙ " + h + " + (1 − z) ⊙ h̃", "(⊙: element-wise product)"};
  }
  if (const auto* c = dynamic_cast<const SimpleRNNCell<float>*>(&layer->cell()))
    return {"One SimpleRNN step:", "hₜ = " + c->options().activation.name() + "(xₜ·K + " + h + "·R + b)"};
  return {};
}

// Picture sizes: 360 x 400 pixels per panel, plus the title lines.
int gate_picture_width(int columns) { return 360 * columns; }
int gate_picture_height(int grid_rows) { return 70 + 400 * grid_rows; }
int saturation_picture_width(size_t gates) { return 400 * static_cast<int>(gates); }
constexpr int kSaturationPictureHeight = 460;

// The picture of row `row` of the record (sample `sample` of the data).
std::string write_gate_picture(const TraceRecord<float>& r, int64_t row, const std::string& dir, int64_t sample) {
  std::vector<std::pair<std::string, const Tensor<float>*>> qs;
  for (const auto& [name, t] : r.quantities) qs.emplace_back(name, &t);
  std::stable_sort(qs.begin(), qs.end(),
                   [](const auto& a, const auto& b) { return panel_rank(a.first) < panel_rank(b.first); });
  std::vector<uint8_t> dimmed;
  if (!r.mask.empty())
    for (int64_t t = 0; t < r.steps(); ++t) dimmed.push_back(r.mask[row * r.steps() + t] == 0 ? 1 : 0);
  std::vector<HeatMap> panels{input_panel(r, row)};
  for (const auto& [name, t] : qs) panels.push_back(quantity_panel(name, *t, row, dimmed));
  const std::vector<std::string> legend = cell_equations(r);
  const int columns = panels.size() >= 7                      ? 4
                      : panels.size() >= 5 || !legend.empty() ? 3
                                                              : static_cast<int>(panels.size());
  const int grid_rows = static_cast<int>((panels.size() + columns - 1) / columns);
  bool same_units = true;
  for (const auto& [name, t] : qs) same_units = same_units && t->dim(2) == qs[0].second->dim(2);
  std::string note = "sample " + num(sample) + ", " + num(r.steps()) + " steps" +
                     (same_units && !qs.empty() ? ", " + num(qs[0].second->dim(2)) + " units" : "") +
                     "; x = input step, y = unit; " +
                     (legend.empty() ? "states" : "gates 0..1, tanh values and states") + " blue-white-red";
  if (r.go_backwards) note += "; this layer reads the steps last to first";
  if (!dimmed.empty()) note += "; masked steps greyed";
  const std::string path = (fs::path(dir) / (file_stem(r) + ".png")).string();
  write_heatmaps_png(
      path,
      r.layer_class + " '" + r.layer_name + (legend.empty() ? "': states over time" : "': gates and states over time"),
      note, panels, columns, gate_picture_width(columns), gate_picture_height(grid_rows), legend);
  return path;
}

// ---- gate saturation over the data set (Karpathy et al. 2015, section 4.3) ----

constexpr double kLeftSaturated = 0.1, kRightSaturated = 0.9;

struct GateCounts {
  std::string name;
  std::vector<int64_t> left, right;  // per unit: steps below 0.1 / above 0.9
};

struct Saturation {
  std::string layer_class, layer_name, stem;
  int64_t units = 0, steps = 0;  // steps counted (real steps of all samples)
  std::vector<GateCounts> gates;
};

// Adds the real steps of every sample of `r` to `s`.
void count_saturation(const TraceRecord<float>& r, Saturation& s) {
  if (s.gates.empty()) {
    s.layer_class = r.layer_class;
    s.layer_name = r.layer_name;
    s.stem = file_stem(r);
    for (const auto& [name, t] : r.quantities) {
      const QuantityInfo* info = quantity_info(name);
      if (info == nullptr || !info->gate) continue;
      s.units = t.dim(2);
      s.gates.push_back({name, std::vector<int64_t>(static_cast<size_t>(s.units)),
                         std::vector<int64_t>(static_cast<size_t>(s.units))});
    }
  }
  const int64_t batch = r.batch(), steps = r.steps();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < steps; ++t) {
      if (!r.mask.empty() && r.mask[b * steps + t] == 0) continue;
      ++s.steps;
      for (GateCounts& g : s.gates) {
        const float* v = r.get(g.name).data() + (b * steps + t) * s.units;
        for (int64_t u = 0; u < s.units; ++u) {
          g.left[static_cast<size_t>(u)] += v[u] < kLeftSaturated;
          g.right[static_cast<size_t>(u)] += v[u] > kRightSaturated;
        }
      }
    }
}

// Writes the scatter plot and prints one paragraph for one layer.
void report_saturation(std::ostream& out, const Saturation& s, int64_t samples, const std::string& dir) {
  out << s.layer_class << " '" << s.layer_name << "': ";
  if (s.gates.empty() || s.steps == 0) {
    out << "no gates to measure ("
        << (s.layer_class == "SimpleRNN" ? "a SimpleRNN has only its state" : "the trace does not look into this cell")
        << ").\n";
    return;
  }
  out << s.units << " units, " << s.steps << " steps from " << samples << " samples. ";
  std::vector<SaturationPanel> panels;
  std::string means, open, closed;
  for (const GateCounts& g : s.gates) {
    const std::string title = quantity_info(g.name)->title;
    SaturationPanel p{title + " (" + g.name + ")", {}, {}};
    double left = 0, right = 0;
    int64_t mostly_open = 0, mostly_closed = 0;
    for (int64_t u = 0; u < s.units; ++u) {
      p.left.push_back(static_cast<double>(g.left[static_cast<size_t>(u)]) / static_cast<double>(s.steps));
      p.right.push_back(static_cast<double>(g.right[static_cast<size_t>(u)]) / static_cast<double>(s.steps));
      left += p.left.back();
      right += p.right.back();
      mostly_closed += p.left.back() > 0.5;
      mostly_open += p.right.back() > 0.5;
    }
    const std::string sep = panels.empty() ? "" : ", ";
    const std::string gate = title.substr(0, title.find(" gate"));
    means += sep + title + " " + percent(left / static_cast<double>(s.units)) + " / " +
             percent(right / static_cast<double>(s.units));
    open += sep + gate + " " + num(mostly_open);
    closed += sep + gate + " " + num(mostly_closed);
    panels.push_back(std::move(p));
  }
  out << "Mean fraction of steps left- (< 0.1) / right-saturated (> 0.9): " << means
      << ". Units saturated at more than half of the steps, right (open): " << open << "; left (closed): " << closed
      << ". "
      << (s.gates[0].name == "input_gate" ? "A forget gate that stays open keeps the cell's memory"
                                          : "An update gate that stays open copies the previous state on")
      << " over many steps (Karpathy et al. found such units tracking long-range structure); a gate that is rarely "
         "saturated works in its smooth, input-dependent range.\n";
  const std::string path = (fs::path(dir) / (s.stem + "_saturation.png")).string();
  write_saturation_png(
      path,
      s.layer_class + " '" + s.layer_name + "': gate saturation over " + num(samples) + " samples (one dot per unit)",
      panels, saturation_picture_width(panels.size()), kSaturationPictureHeight);
  out << "  picture: " << path << "\n";
}

// ---- the command ----

// What a [1, ...] output says: the predicted class of a probability vector ("predicted
// class 9 (Ankle boot), p = 0.93"), else its first values.
std::string output_text(const Tensor<float>& y, const std::vector<std::string>& names) {
  const float* v = y.data();
  const int64_t n = y.size();
  double sum = 0;
  bool probabilities = y.rank() == 2 && n > 1;
  for (int64_t i = 0; i < n; ++i) {
    sum += v[i];
    probabilities = probabilities && v[i] >= 0 && v[i] <= 1;
  }
  char buf[64];
  if (probabilities && std::abs(sum - 1) < 1e-3) {
    const int64_t k = std::max_element(v, v + n) - v;
    std::snprintf(buf, sizeof buf, ", p = %.3f", static_cast<double>(v[k]));
    return "predicted class " + num(k) + (k < static_cast<int64_t>(names.size()) ? " (" + names[size_t(k)] + ")" : "") +
           buf;
  }
  std::string s = "values";
  for (int64_t i = 0; i < std::min<int64_t>(n, 6); ++i) {
    std::snprintf(buf, sizeof buf, " %.4g", static_cast<double>(v[i]));
    s += buf;
  }
  return s + (n > 6 ? " ..." : "");
}

int run_explain(const ExplainCommand& o) {
  set_threads(o.threads);
  auto model = load_cli_model(o.model);
  const std::string& path = o.data.data;
  std::vector<Tensor<float>> inputs;
  std::string source = path;
  Tensor<float> labels;
  std::vector<std::string> class_names;
  if ((ends_with(path, ".npz") || ends_with(path, ".npy")) && o.data.labels.empty()) {
    inputs = read_model_inputs(*model, path);  // keyed by input name: multi-input models too
  } else {
    Dataset d = load_dataset(o.data, DataUse::predict);
    source = d.description;
    inputs = {std::move(d.data.x)};
    labels = std::move(d.data.y);
    class_names = d.class_names;
  }
  const int64_t n = inputs.empty() || inputs[0].rank() == 0 ? 0 : inputs[0].dim(0);
  if (o.sample < 0 || o.sample >= n)
    throw ConfigError("--sample " + num(o.sample) + " is out of range: the data holds " + num(n) + " samples" +
                      (n > 0 ? " (0.." + num(n - 1) + ")" : ""));
  std::error_code ec;
  fs::create_directories(o.output, ec);
  if (ec) throw IoError("cannot create the output directory '" + o.output + "': " + ec.message());

  // A model built for a fixed batch size (e.g. stateful) runs whole batches of that size:
  // the sample is explained as row `row` of the batch that holds it.
  int64_t fixed_batch = -1;
  if (!model->inputs().empty() && !model->shape(model->inputs()[0]).empty())
    fixed_batch = model->shape(model->inputs()[0])[0];
  const int64_t batch = fixed_batch > 0 ? fixed_batch : 1;
  const int64_t first = o.sample / batch * batch, row = o.sample - first;
  if (first + batch > n)
    throw ConfigError("the model takes batches of exactly " + num(batch) + " samples, and sample " + num(o.sample) +
                      " lies in an incomplete batch (the data holds " + num(n) + " samples)");

  // The sample, traced.
  Trace<float> trace;
  std::vector<Tensor<float>> outputs;
  const std::vector<Tensor<float>> one = rows(inputs, first, batch);
  model->reset_states();
  {
    TraceScope<float> scope(trace);
    outputs = model->predict(one);
  }
  std::map<const Layer<float>*, std::vector<const TraceRecord<float>*>> by_layer;
  std::map<const TraceRecord<float>*, std::string> pictures;
  for (const TraceRecord<float>& r : trace.records()) {
    by_layer[r.layer].push_back(&r);
    pictures[&r] = write_gate_picture(r, row, o.output, o.sample);
  }

  std::ostream& out = std::cout;
  out << "model: " << o.model.path << " ('" << model->name() << "')\n"
      << "data: " << source << "; sample " << o.sample << " of " << n;
  if (labels.rank() == 1 && labels.dim(0) == n) {
    if (class_names.empty()) {  // regression: the target value
      out << ", target " << format_value(labels[o.sample]);
    } else {
      const auto label = static_cast<int64_t>(labels[o.sample]);
      out << ", label " << label
          << (label >= 0 && label < static_cast<int64_t>(class_names.size()) ? " (" + class_names[size_t(label)] + ")"
                                                                             : "");
    }
  }
  out << "\n\nShapes for this sample (batch " << batch
      << (batch > 1 ? ": the model takes batches of " + num(batch) + "; the sample is row " + num(row) : "") << "):\n";
  std::vector<Shape> shapes;
  for (const Tensor<float>& x : one) shapes.push_back(x.shape());
  std::set<const TraceRecord<float>*> mentioned;
  Walk{out, by_layer, pictures, mentioned, row}.model(*model, shapes, "  ");
  for (const TraceRecord<float>& r : trace.records())  // e.g. inside TimeDistributed
    if (!mentioned.count(&r))
      out << "  " << r.layer_class << " '" << r.layer_name << "' (inside a wrapper): input "
          << to_string(r.input.shape()) << "; gates and states over time: " << pictures[&r] << "\n";
  for (size_t i = 0; i < outputs.size(); ++i) {
    out << "  output " << i << ": " << to_string(outputs[i].shape()) << "  "
        << output_text(
               outputs[i].rank() > 0 && outputs[i].dim(0) == batch ? sample_rows(outputs[i], row, 1) : outputs[i],
               class_names)
        << "\n";
  }
  if (trace.empty()) {
    out << "\nThe model has no recurrent layer (LSTM, GRU, SimpleRNN, RNN): nothing to picture.\n";
    return 0;
  }

  // Saturation over the first samples, in batches (the trace holds one batch at a time).
  const int64_t step = fixed_batch > 0 ? fixed_batch : o.batch_size;
  const int64_t total =
      fixed_batch > 0 ? std::min(n, o.saturation_samples) / step * step : std::min(n, o.saturation_samples);
  std::map<std::pair<const Layer<float>*, int64_t>, Saturation> stats;
  std::vector<std::pair<const Layer<float>*, int64_t>> order;
  model->reset_states();
  for (int64_t b = 0; b < total; b += step) {
    const int64_t m = std::min(step, total - b);
    Trace<float> batch_trace;
    {
      TraceScope<float> scope(batch_trace);
      model->predict(rows(inputs, b, m));
    }
    for (const TraceRecord<float>& r : batch_trace.records()) {
      const auto key = std::make_pair(r.layer, r.call_index);
      if (!stats.count(key)) order.push_back(key);
      count_saturation(r, stats[key]);
    }
  }
  if (total > 0) {
    out << "\nGate saturation over the first " << total
        << " samples (Karpathy, Johnson & Fei-Fei 2015: the fraction of steps at which a gate is below 0.1 or above "
           "0.9; one dot per unit in the pictures):\n";
    for (const auto& key : order) report_saturation(out, stats[key], total, o.output);
  }
  return 0;
}

}  // namespace

void add_explain_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ExplainCommand>();
  CLI::App* sub = app.add_subcommand(
      "explain",
      "Show what MODEL does with one sample of DATA: every tensor's shape, each recurrent layer's weights,\n"
      "parameter count and outputs; a picture per recurrent layer of its gates and states over time\n"
      "beside its input (DIR/<layer>.png; Bidirectional: forward_<layer>.png and backward_<layer>.png);\n"
      "and per layer the gate saturation over the data set (DIR/<layer>_saturation.png, Karpathy et al.\n"
      "2015). DATA: an .npy / .npz of model inputs, or any data source of `rnnx train` (default: the\n"
      "Fashion-MNIST test set). Pictures are 360x400 pixels per panel (+70 for the title).");
  sub->add_option("MODEL", o->model.path, "a .keras / .h5 file or PyTorch RNN weights")->required();
  sub->add_option("DATA", o->data.data, "the inputs (default: the Fashion-MNIST test set)");
  add_data_options(*sub, o->data, DataUse::predict);
  add_model_source_options(*sub, o->model);
  sub->add_option("--sample", o->sample, "which sample to explain (0-based)")->capture_default_str();
  sub->add_option("-o,--output", o->output, "directory for the pictures")->capture_default_str();
  sub->add_option("--saturation-samples", o->saturation_samples, "samples for the gate saturation (0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--batch-size", o->batch_size, "samples per step of the saturation pass")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--threads", o->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
  sub->callback([o, &exit_code] { exit_code = run_explain(*o); });
}

}  // namespace rnnx::cli
