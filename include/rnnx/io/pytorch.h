#pragma once
// Reading PyTorch nn.LSTM / nn.GRU / nn.RNN weights (spec pytorch-files.md; mapping keras-recurrent.md §7).
//
//   rnnx::PyTorchRNNDescription d;            // every field optional: inferred from the file
//   d.batch_first = true;                     // (batch_first only decides the layout below)
//   auto model = rnnx::load_pytorch_rnn<float>("lstm.safetensors", d);
//   auto r = rnnx::describe_pytorch_rnn("lstm.safetensors", d);        // everything resolved
//   rnnx::PyTorchRNNOutputs<float> y = rnnx::predict_pytorch_rnn(*model, r, x);  // x as torch takes it
//   // y.output, y.h_n, y.c_n have PyTorch's shapes and values
//   d.nonlinearity = "relu";                  // nn.RNN only: not stored in files, "tanh" if unset
//
// Files: safetensors (safetensors.torch.save_file(model.state_dict(), path)) and
// torch.save(state_dict, path) zip files (PyTorch >= 1.6 default format, pickle protocol 2-5;
// a checkpoint dict holding the state_dict under some key works too: nested dict keys are
// joined with '.', e.g. "model_state_dict.encoder.weight_ih_l0"). The format is decided from
// the content, never from the extension. Only plain tensors are read: the pickle is run by
// a restricted interpreter that imports and executes nothing; legacy (pre-1.6) torch.save
// files, TorchScript archives and whole pickled modules (torch.save(model)) are refused with
// a message saying how to re-save. Weights may be float32, float16, bfloat16 or float64
// (widened exactly); views into shared storages (cuDNN-trained RNNs) and strided tensors are
// handled.
//
// Mapping (the returned Model is made of rnnx's Keras layers; numbers match PyTorch's to
// float rounding):
//  - nn.LSTM layer/direction -> Keras LSTM: kernel = weight_ihᵀ, recurrent_kernel =
//    weight_hhᵀ, bias = bias_ih + bias_hh (gate order i,f,g,o = Keras i,f,c,o); bias=False ->
//    use_bias=False.
//  - nn.GRU -> Keras GRU(reset_after=True): blocks r,z,n reordered to Keras z,r,h, both
//    biases kept as bias (2, 3U) (row 0 input, row 1 recurrent; not summed).
//  - nn.RNN -> Keras SimpleRNN(activation = nonlinearity, tanh or relu): kernel = weight_ihᵀ,
//    recurrent_kernel = weight_hhᵀ, bias = bias_ih + bias_hh; bias=False -> use_bias=False.
//    The nonlinearity is not in the state_dict: it comes from the description ("tanh",
//    PyTorch's default, when unset).
//  - nn.LSTM with proj_size P: there is no Keras LSTM with a projection. It maps exactly to
//    RNN(TF1LSTMCell(num_units=H, num_proj=P, forget_bias=0)): kernel (I+P, 4H) =
//    [weight_ihᵀ; weight_hhᵀ] with blocks reordered i,f,g,o -> i,j,f,o, bias = bias_ih +
//    bias_hh (zeros with bias=False), projection (H, P) = weight_hrᵀ; TF1's
//    m = σ(o)·tanh(c), h = m @ projection is PyTorch's h = W_hr(o ⊙ tanh(c)), and the
//    recurrence uses the projected h in both. Such a model cannot be exported as a Keras LSTM.
//  - bidirectional -> Bidirectional(merge_mode="concat"), the `_reverse` weights in the
//    backward layer; PyTorch's output already aligns the backward half to input time, as
//    Keras Bidirectional does after its flip.
//  - num_layers -> one layer per PyTorch layer, chained. Every layer has
//    return_sequences=True (PyTorch's `output` is the top layer's whole sequence) and
//    return_state=True (for h_n / c_n).
//
// The model: input "input" of shape [batch, steps, input_size] (Keras layout, whatever
// batch_first says; unknown batch and steps), outputs in PyTorch's order:
//   0                 output   [batch, steps, D*Hout]      (D = 2 if bidirectional, Hout = P or H)
//   1 .. D*L          h_n[k*D + d] for layer k, direction d (0 forward, 1 backward), [batch, Hout]
//   D*L+1 .. 2*D*L    c_n[k*D + d] (LSTM only; nn.GRU and nn.RNN have no c_n), [batch, H]
// predict_pytorch_rnn() does the layout work: transposes for batch_first=false, stacks the
// states into h_n (D*L, batch, Hout) and c_n (D*L, batch, H). Dropout between layers is a
// training-time option of PyTorch and does not apply.
//
// Inference from the file (spec §4.4): the key prefix (the keys ending in "weight_ih_l0";
// exactly one RNN must be present unless `prefix` is given), num_layers (l0..l{n-1}, all
// present), bidirectional (`_reverse` keys, for every layer or none), bias (bias_ih/hh for
// every layer and direction or none), proj_size (weight_hr_l0 rows), hidden_size
// (weight_hr cols, else weight_hh cols), the module (weight_hh rows = 4H: LSTM, 3H: GRU,
// H (square): RNN) and input_size (weight_ih_l0 cols). Given fields must agree with the
// file. The nn.RNN nonlinearity cannot be inferred (spec §4.4 step 5): unset means "tanh".
//
// Errors: FormatError for a malformed file, a missing or unexpected key under the prefix,
// a tensor whose shape contradicts the description or the other tensors (naming the
// tensor, the expected and the found shape), a non-float weight; ConfigError for invalid
// descriptions (e.g. proj_size with GRU, a nonlinearity other than "tanh" / "relu", a
// nonlinearity for an LSTM or GRU, given or inferred); IoError when the file cannot be read.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rnnx/core/shape.h"
#include "rnnx/core/tensor.h"
#include "rnnx/model/model.h"

namespace rnnx {

enum class PyTorchModule { LSTM, GRU, RNN };

// "LSTM" / "GRU" / "RNN".
std::string to_string(PyTorchModule module);

// The nn.LSTM / nn.GRU / nn.RNN constructor arguments that matter (PyTorch names). Unset
// fields are inferred from the file; describe_pytorch_rnn() returns them all set (but
// nonlinearity, which it sets for nn.RNN only).
struct PyTorchRNNDescription {
  std::optional<PyTorchModule> module;
  std::optional<int64_t> input_size;
  std::optional<int64_t> hidden_size;
  std::optional<int64_t> num_layers;
  std::optional<bool> bias;
  std::optional<bool> batch_first;  // not stored in files; unset means false (PyTorch's default)
  std::optional<bool> bidirectional;
  std::optional<int64_t> proj_size;  // 0 = none (LSTM only)
  // nn.RNN's nonlinearity, "tanh" (the default when unset) or "relu"; not stored in files.
  // Must stay unset for nn.LSTM / nn.GRU.
  std::optional<std::string> nonlinearity;
  // Key prefix of the module's tensors ("" for model.state_dict() of the RNN itself,
  // "encoder." for a submodule, "model_state_dict.encoder." inside a checkpoint dict; a
  // missing trailing '.' is added).
  std::optional<std::string> prefix;
};

// One tensor of a PyTorch file: name, safetensors dtype name ("F32", "BF16", "I64", ...),
// shape.
struct PyTorchTensorInfo {
  std::string name;
  std::string dtype;
  Shape shape;
};

// The tensors of a safetensors or torch.save file, in file order, and the format found
// ("safetensors" or "torch.save zip"). Reads no tensor data beyond validation.
struct PyTorchFileInfo {
  std::string format;
  std::vector<PyTorchTensorInfo> tensors;
};
PyTorchFileInfo inspect_pytorch_file(const std::string& path);
PyTorchFileInfo inspect_pytorch_file_in_memory(std::span<const uint8_t> bytes, const std::string& where = "<memory>");

// The float tensor `name`, widened exactly to double (FormatError for other dtypes).
Tensor<double> read_pytorch_tensor(const std::string& path, const std::string& name);

// `description` with every field resolved against the file (checks everything
// load_pytorch_rnn checks, without building a model).
PyTorchRNNDescription describe_pytorch_rnn(const std::string& path, const PyTorchRNNDescription& description = {});
PyTorchRNNDescription describe_pytorch_rnn_in_memory(std::span<const uint8_t> bytes,
                                                     const PyTorchRNNDescription& description = {},
                                                     const std::string& where = "<memory>");

// The model described above, its weights loaded from the file.
template <class T>
std::unique_ptr<Model<T>> load_pytorch_rnn(const std::string& path, const PyTorchRNNDescription& description = {});
template <class T>
std::unique_ptr<Model<T>> load_pytorch_rnn_from_memory(std::span<const uint8_t> bytes,
                                                       const PyTorchRNNDescription& description = {},
                                                       const std::string& where = "<memory>");

// PyTorch's results: output (batch_first ? [B, T, D*Hout] : [T, B, D*Hout]), h_n
// [D*L, B, Hout], c_n [D*L, B, H] (empty for GRU and RNN). Unbatched input [T, I] gives [T, D*Hout],
// [D*L, Hout], [D*L, H], as PyTorch does.
template <class T>
struct PyTorchRNNOutputs {
  Tensor<T> output, h_n, c_n;
};

// Runs a model from load_pytorch_rnn on `input` laid out as PyTorch takes it (`resolved`
// from describe_pytorch_rnn: module, batch_first, bidirectional, num_layers). Throws
// ShapeError for an input that is not rank 2 or 3 or does not fit the model.
template <class T>
PyTorchRNNOutputs<T> predict_pytorch_rnn(Model<T>& model, const PyTorchRNNDescription& resolved,
                                         const Tensor<T>& input);

extern template std::unique_ptr<Model<float>> load_pytorch_rnn<float>(const std::string&, const PyTorchRNNDescription&);
extern template std::unique_ptr<Model<double>> load_pytorch_rnn<double>(const std::string&,
                                                                        const PyTorchRNNDescription&);
extern template std::unique_ptr<Model<float>> load_pytorch_rnn_from_memory<float>(std::span<const uint8_t>,
                                                                                  const PyTorchRNNDescription&,
                                                                                  const std::string&);
extern template std::unique_ptr<Model<double>> load_pytorch_rnn_from_memory<double>(std::span<const uint8_t>,
                                                                                    const PyTorchRNNDescription&,
                                                                                    const std::string&);
extern template PyTorchRNNOutputs<float> predict_pytorch_rnn<float>(Model<float>&, const PyTorchRNNDescription&,
                                                                    const Tensor<float>&);
extern template PyTorchRNNOutputs<double> predict_pytorch_rnn<double>(Model<double>&, const PyTorchRNNDescription&,
                                                                      const Tensor<double>&);

}  // namespace rnnx
