#pragma once
// Keras goldens read as written (the case's JSON document and its .npz arrays), for the family
// tests that check more than parity_test.cpp does: double precision, the gradients Keras
// computed, the .keras files Keras wrote. One loader, one float-and-double driver and one
// model check, so that each family test keeps only what is its own.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnx/core/tensor.h"
#include "rnnx/io/npy.h"
#include "rnnx/layers/layer.h"
#include "support/close.h"

namespace rnnx::testing {

// What every family test compares Keras' numbers with.
inline constexpr Tolerance kGoldenTolerance{1e-5, 1e-4};

// A golden case as written by python/make_goldens.py: `doc` is <case>.json, `arrays` its .npz.
struct RawGolden {
  std::string path;  // the .json file
  nlohmann::json doc;
  std::map<std::string, NpyArray> arrays;

  // The array named `key` (a string, or a JSON string from `doc`) as Tensor<T>.
  // Requires: the .npz holds it (std::out_of_range otherwise).
  template <class T>
  Tensor<T> array(const nlohmann::json& key) const {
    return arrays.at(key.get<std::string>()).template as<T>();
  }
  // The arrays a JSON list of keys names, in order; empty when `keys` is not a list (null).
  template <class T>
  std::vector<Tensor<T>> list(const nlohmann::json& keys) const {
    std::vector<Tensor<T>> out;
    if (keys.is_array())
      for (const auto& k : keys) out.push_back(array<T>(k));
    return out;
  }
  // The weights w0 .. w{num_weights - 1}, in get_weights() order.
  template <class T>
  std::vector<Tensor<T>> weights() const {
    std::vector<Tensor<T>> ws;
    for (int i = 0; i < doc["num_weights"].get<int>(); ++i)
      ws.push_back(array<T>(std::string("w").append(std::to_string(i))));
    return ws;
  }
};

// Reads <case>.json and the <case>.npz beside it.
RawGolden load_raw_golden(const std::string& json_path);

// A gtest parameter name for a case path: its file stem with every non-alphanumeric as '_'.
std::string golden_param_name(const ::testing::TestParamInfo<std::string>& info);

// Calls f(float{}) and then f(double{}), each under a SCOPED_TRACE naming the type, so that one
// generic lambda runs a check in both precisions.
template <class F>
void for_float_and_double(F&& f) {
  {
    SCOPED_TRACE("float");
    f(float{});
  }
  {
    SCOPED_TRACE("double");
    f(double{});
  }
}

// Expects got[i] close to want[i] for every i (and as many of each); `what` names them.
template <class T>
void expect_all_close(const std::vector<Tensor<T>>& got, const std::vector<Tensor<T>>& want, const std::string& what);

// Expects *params[i].grad close to want[i] for every i (and as many of each), naming the param.
template <class T>
void expect_param_grads_close(const std::vector<Param<T>>& params, const std::vector<Tensor<T>>& want);

// A "model" case: builds the model from its config on call 0's inputs, sets its weights and
// expects predict() to give call 0's outputs; where the case holds "grads" ({"r", "inputs",
// "weights"}: Keras' gradients of L = sum_k <r_k, y_k> through a training-mode call), expects
// backward() to give them. `where` starts every failure message.
template <class T>
void check_model_golden(const RawGolden& c, const std::string& where);

// check_model_golden in float and double for every case of tests/data/parity/<family>, each
// case under its own SCOPED_TRACE (an rnnx::Error a case throws fails that case only); expects
// at least `min_cases` cases, `min_with_grads` of them with gradients.
void check_model_family(const std::string& family, size_t min_cases, int min_with_grads);

}  // namespace rnnx::testing
