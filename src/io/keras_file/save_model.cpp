// Keras 3 `.keras` writing (spec §8.1), test vectors and verification.
#include "rnnx/io/save_model.h"

#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <sstream>

#include "io/file_io.h"
#include "io/hdf5/hdf5_write.h"
#include "io/keras_config_write/keras_config_write_impl.h"
#include "io/keras_file/test_vector_check.h"
#include "io/zip.h"
#include "rnnx/cells/stacked_cells.h"
#include "rnnx/core/error.h"
#include "rnnx/io/model_file.h"
#include "rnnx/io/npy.h"
#include "rnnx/layers/bidirectional.h"
#include "rnnx/layers/multi_head_attention.h"
#include "rnnx/layers/rnn.h"
#include "rnnx/layers/time_distributed.h"

namespace rnnx {
namespace {

constexpr const char* kTestVectorMember = "rnnx_test_vector.npz";

using detail::keras_snake_case;

// Keras saving_lib._save_container_state naming: snake_case class name, then _1, _2, ...
class ContainerNames {
 public:
  std::string next(const std::string& class_name) {
    const std::string base = keras_snake_case(class_name);
    auto it = used_.find(base);
    if (it == used_.end()) {
      used_[base] = 0;
      return base;
    }
    return base + "_" + std::to_string(++it->second);
  }

 private:
  std::map<std::string, int> used_;
};

// Writes the weights of one saveable object the way Keras saving_lib walks it.
template <class T>
class WeightWriter {
 public:
  explicit WeightWriter(detail::H5MemoryWriter& h5) : h5_(h5) {}

  void vars(const std::string& path, const std::string& name, const std::vector<Param<T>>& params,
            const std::string& where) {
    const std::string group = path.empty() ? "vars" : path + "/vars";
    h5_.string_attribute(group, "name", name);
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor<T>* v = params[i].value;
      if (!v || (v->size() == 0 && v->shape().empty()))
        throw StateError(where + ": weight '" + params[i].name + "' is not built; build the model before saving");
      h5_.dataset(group + "/" + std::to_string(i), v->shape(), v->values());
    }
  }

  void cell(Cell<T>& c, const std::string& path, const std::string& where) {
    if (!c.built()) throw StateError(where + ": its cell is not built; build the model before saving");
    if (auto* st = dynamic_cast<StackedCells<T>*>(&c)) {
      vars(path, "stacked_rnn_cells", {}, where);
      ContainerNames names;
      for (size_t k = 0; k < st->size(); ++k) {
        Cell<T>& sub = st->cell(k);
        const std::string n = names.next(sub.class_name());
        cell(sub, path + "/cells/" + n, where);
      }
      return;
    }
    vars(path, keras_snake_case(c.class_name()), c.params(), where);
  }

  void layer(Layer<T>& l, const std::string& path) {
    const std::string where = l.class_name() + " '" + l.name() + "'";
    if (auto* r = dynamic_cast<RNN<T>*>(&l)) {
      vars(path, l.name(), {}, where);
      cell(r->cell(), path + "/cell", where);
    } else if (auto* b = dynamic_cast<Bidirectional<T>*>(&l)) {
      vars(path, l.name(), {}, where);
      layer(b->forward_layer(), path + "/forward_layer");
      layer(b->backward_layer(), path + "/backward_layer");
    } else if (auto* td = dynamic_cast<TimeDistributed<T>*>(&l)) {
      vars(path, l.name(), {}, where);
      layer(*td->layer(), path + "/layer");
    } else if (auto* mha = dynamic_cast<MultiHeadAttention<T>*>(&l)) {  // EinsumDense sublayers (K3 saving_lib)
      vars(path, l.name(), {}, where);
      for (const auto& [sub, ps] : mha->saved_parts()) vars(path + "/" + sub, sub, ps, where);
      for (const char* sub : {"_softmax", "_dropout_layer"}) vars(path + "/" + sub, sub, {}, where);
    } else if (auto* m = dynamic_cast<Model<T>*>(&l)) {
      // A nested model: its own layer list, named like the top level's (saving_lib).
      vars(path, l.name(), {}, where);
      ContainerNames names;
      for (const auto& child : m->layers()) layer(*child, path + "/layers/" + names.next(child->class_name()));
    } else {
      const auto params = l.params();
      if (!params.empty() && !l.built()) throw StateError(where + ": not built; build the model before saving");
      vars(path, l.name(), params, where);
    }
  }

 private:
  detail::H5MemoryWriter& h5_;
};

template <class T>
std::vector<uint8_t> weights_image(Model<T>& model, const std::string& where) {
  detail::H5MemoryWriter h5(where);
  WeightWriter<T> w(h5);
  w.vars("", model.name(), {}, "model '" + model.name() + "'");
  h5.group("layers");
  ContainerNames names;
  for (const auto& l : model.layers()) w.layer(*l, "layers/" + names.next(l->class_name()));
  return h5.image();
}

std::string date_saved() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d@%H:%M:%S", &tm);
  return buf;
}

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// npz content (stored members) for a test vector.
template <class T>
std::vector<uint8_t> test_vector_npz(const TestVector<T>& tv) {
  std::vector<detail::ZipWriteEntry> entries;
  for (size_t i = 0; i < tv.inputs.size(); ++i)
    entries.push_back({"input_" + std::to_string(i) + ".npy", serialize_npy(NpyArray::from(tv.inputs[i]))});
  for (size_t i = 0; i < tv.outputs.size(); ++i)
    entries.push_back({"output_" + std::to_string(i) + ".npy", serialize_npy(NpyArray::from(tv.outputs[i]))});
  return detail::zip_write(entries, false);
}

template <class T>
void check_test_vector(Model<T>& model, const TestVector<T>& tv) {
  const size_t ni = model.inputs().size(), no = model.outputs().size();
  if (tv.inputs.size() != ni || tv.outputs.size() != no)
    throw ShapeError("model '" + model.name() + "': the test vector has " + std::to_string(tv.inputs.size()) +
                     " inputs and " + std::to_string(tv.outputs.size()) + " outputs, the model takes " +
                     std::to_string(ni) + " and returns " + std::to_string(no));
}

TestVector<float> test_vector_from_arrays(const std::map<std::string, NpyArray>& arrays, const std::string& where) {
  TestVector<float> tv;
  for (const char* kind : {"input_", "output_"}) {
    auto& list = std::string(kind) == "input_" ? tv.inputs : tv.outputs;
    for (size_t i = 0;; ++i) {
      auto it = arrays.find(kind + std::to_string(i));
      if (it == arrays.end()) break;
      list.push_back(it->second.as<float>());
    }
  }
  if (tv.inputs.empty() || tv.outputs.empty())
    throw FormatError(where + ": a test vector needs arrays input_0... and output_0..., found " +
                      std::to_string(arrays.size()) + " arrays");
  if (tv.inputs.size() + tv.outputs.size() != arrays.size())
    throw FormatError(where +
                      ": the test vector has arrays other than input_<i> / output_<i> (or a gap in the numbering)");
  return tv;
}

}  // namespace

template <class T>
TestVector<T> make_test_vector(Model<T>& model, std::vector<Tensor<T>> inputs) {
  TestVector<T> tv;
  tv.outputs = model.predict(inputs);
  tv.inputs = std::move(inputs);
  return tv;
}

template <class T>
std::vector<uint8_t> save_model_to_memory(Model<T>& model, const TestVector<T>* test_vector) {
  if (test_vector) check_test_vector(model, *test_vector);
  // Config first: it rejects what Keras 3 could not load before any work is done.
  const std::string config = model_to_keras_json(model);
  const std::string metadata =
      std::string("{\"keras_version\": \"") + kKerasSaveVersion + "\", \"date_saved\": \"" + date_saved() + "\"}";
  std::vector<detail::ZipWriteEntry> entries;
  entries.push_back({"metadata.json", bytes_of(metadata)});
  entries.push_back({"config.json", bytes_of(config)});
  entries.push_back({"model.weights.h5", weights_image(model, "model.weights.h5 of model '" + model.name() + "'")});
  if (test_vector) entries.push_back({kTestVectorMember, test_vector_npz(*test_vector)});
  return detail::zip_write(entries, false);
}

template <class T>
void save_model(Model<T>& model, const std::string& path, const TestVector<T>* test_vector) {
  const std::vector<uint8_t> bytes = save_model_to_memory(model, test_vector);
  detail::write_file_atomic(path, bytes);
}

template <class T>
void save_weights(Model<T>& model, const std::string& path) {
  detail::write_file_atomic(path, weights_image(model, "'" + path + "'"));
}

template <class T>
void write_test_vector(const std::string& path, const TestVector<T>& tv) {
  detail::write_file_atomic(path, test_vector_npz(tv));
}

bool has_test_vector(const std::string& path) {
  const std::vector<uint8_t> data = detail::read_file(path);
  return detail::ZipReader(data, path).contains(kTestVectorMember);
}

TestVector<float> read_test_vector(const std::string& path) {
  const std::vector<uint8_t> data = detail::read_file(path);
  const detail::ZipReader zip(data, path);
  if (!zip.contains(kTestVectorMember))
    throw FormatError("'" + path + "' has no test vector (no member " + kTestVectorMember + ")");
  const std::string where = "'" + path + "' member " + kTestVectorMember;
  const std::vector<uint8_t> npz = zip.read(kTestVectorMember);
  return test_vector_from_arrays(parse_npz(npz, where), where);
}

TestVector<float> read_test_vector_npz(const std::string& path) {
  return test_vector_from_arrays(read_npz(path), "'" + path + "'");
}

template <class T>
VerifyReport compare_outputs(const std::vector<Tensor<T>>& got, const std::vector<Tensor<T>>& expected,
                             const VerifyOptions& options) {
  VerifyReport r;
  r.atol = options.atol;
  r.rtol = options.rtol;
  r.passed = got.size() == expected.size();
  for (size_t i = 0; i < expected.size(); ++i) {
    OutputCheck c;
    c.index = static_cast<int64_t>(i);
    c.shape = expected[i].shape();
    if (i >= got.size()) {
      c.problem = "missing: the model returned " + std::to_string(got.size()) + " outputs";
    } else if (got[i].shape() != expected[i].shape()) {
      c.problem = "shape " + to_string(got[i].shape()) + ", expected " + to_string(expected[i].shape());
    } else {
      double worst_excess = -1.0;
      bool finite = true;  // no NaN / infinity where the expected value has none
      for (int64_t k = 0; k < expected[i].size(); ++k) {
        const double a = static_cast<double>(got[i][k]), b = static_cast<double>(expected[i][k]);
        if (a == b || (std::isnan(a) && std::isnan(b))) continue;  // equal, infinities included
        const double err = std::fabs(a - b);
        if (!std::isfinite(err)) {
          finite = false;
          c.worst_index = k;
          worst_excess = std::numeric_limits<double>::infinity();
          continue;
        }
        c.max_abs_error = std::max(c.max_abs_error, err);
        if (b != 0.0) c.max_rel_error = std::max(c.max_rel_error, err / std::fabs(b));
        const double excess = err - (options.atol + options.rtol * std::fabs(b));
        if (excess > worst_excess) {
          worst_excess = excess;
          c.worst_index = k;
        }
      }
      if (!finite) c.problem = "non-finite values that differ from the expected ones";
      c.passed = finite && worst_excess <= 0.0;
    }
    r.passed = r.passed && c.passed;
    r.outputs.push_back(std::move(c));
  }
  return r;
}

VerifyReport verify_model(const std::string& path, const VerifyOptions& options, const std::string& test_vector_path) {
  const TestVector<float> tv =
      test_vector_path.empty() ? read_test_vector(path) : read_test_vector_npz(test_vector_path);
  auto model = load_model<float>(path);
  const std::vector<Tensor<float>> got = model->predict(tv.inputs);
  VerifyReport r = compare_outputs(got, tv.outputs, options);
  r.path = path;
  return r;
}

std::string VerifyReport::to_string() const {
  std::ostringstream out;
  out.precision(3);
  for (const auto& c : outputs) {
    out << "output_" << c.index << " shape " << rnnx::to_string(c.shape) << ": ";
    if (!c.problem.empty() && c.max_abs_error == 0.0 && !c.passed) {
      out << c.problem << ": FAILED\n";
      continue;
    }
    out << std::scientific << "max abs error " << c.max_abs_error << ", max rel error " << c.max_rel_error;
    out.unsetf(std::ios::floatfield);
    if (!c.problem.empty()) out << " (" << c.problem << ")";
    out << (c.passed ? ": ok" : ": FAILED (worst element " + std::to_string(c.worst_index) + ")") << "\n";
  }
  out << (passed ? "passed" : "FAILED") << " (atol " << atol << ", rtol " << rtol << ")";
  return out.str();
}

namespace detail {

template <class T>
void check_test_vector(Model<T>& model, std::span<const uint8_t> archive, const std::string& where,
                       const LoadOptions& options) {
  const ZipReader zip(archive, where);
  if (!zip.contains(kTestVectorMember))
    throw VerificationError(where + ": verify_test_vector was requested, but the file has no test vector (no member " +
                            kTestVectorMember + "; write one with rnnx convert --with-test-vector)");
  const std::string member = where + " member " + kTestVectorMember;
  const TestVector<float> tv = test_vector_from_arrays(parse_npz(zip.read(kTestVectorMember), member), member);
  std::vector<Tensor<T>> inputs;
  for (const auto& x : tv.inputs) inputs.push_back(x.template cast<T>());
  std::vector<Tensor<T>> expected;
  for (const auto& y : tv.outputs) expected.push_back(y.template cast<T>());
  const VerifyReport r = compare_outputs(model.predict(inputs), expected, {options.verify_atol, options.verify_rtol});
  if (!r.passed)
    throw VerificationError(where + ": the model does not reproduce the test vector it carries:\n" + r.to_string());
}

template void check_test_vector<float>(Model<float>&, std::span<const uint8_t>, const std::string&, const LoadOptions&);
template void check_test_vector<double>(Model<double>&, std::span<const uint8_t>, const std::string&,
                                        const LoadOptions&);

}  // namespace detail

template TestVector<float> make_test_vector<float>(Model<float>&, std::vector<Tensor<float>>);
template TestVector<double> make_test_vector<double>(Model<double>&, std::vector<Tensor<double>>);
template std::vector<uint8_t> save_model_to_memory<float>(Model<float>&, const TestVector<float>*);
template std::vector<uint8_t> save_model_to_memory<double>(Model<double>&, const TestVector<double>*);
template void save_model<float>(Model<float>&, const std::string&, const TestVector<float>*);
template void save_model<double>(Model<double>&, const std::string&, const TestVector<double>*);
template void save_weights<float>(Model<float>&, const std::string&);
template void save_weights<double>(Model<double>&, const std::string&);
template void write_test_vector<float>(const std::string&, const TestVector<float>&);
template void write_test_vector<double>(const std::string&, const TestVector<double>&);
template VerifyReport compare_outputs<float>(const std::vector<Tensor<float>>&, const std::vector<Tensor<float>>&,
                                             const VerifyOptions&);
template VerifyReport compare_outputs<double>(const std::vector<Tensor<double>>&, const std::vector<Tensor<double>>&,
                                              const VerifyOptions&);

}  // namespace rnnx
