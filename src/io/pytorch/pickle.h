#pragma once
// A minimal, hostile-input-safe unpickler for torch.save state_dicts (private to rnnx;
// spec pytorch-files.md §3.3-§3.10).
//
// It is a small stack machine that understands only the opcodes torch.save writes for a
// state_dict or a plain checkpoint dict (protocols 2-5: dicts, tuples, lists, strings,
// ints, floats, bools, None, memo, persistent ids) and only the GLOBALs of the allow-list:
//   collections OrderedDict
//   torch._utils _rebuild_tensor_v2 / _rebuild_parameter / _rebuild_parameter_with_state
//   torch FloatStorage, HalfStorage, BFloat16Storage, DoubleStorage and the integer
//   storages (Long, Int, Short, Char, Byte, Bool) - markers valid only inside a persistent id
// Nothing is ever imported or executed: a "call" (REDUCE) of an allowed global builds a
// plain value. Every other opcode or global raises FormatError naming it and its offset
// ("unsupported pickle opcode 0x63 ..."), before anything else happens.
//
// Limits (each a FormatError when exceeded): stack and mark depth, memo entries, values
// created, string length, tuple length for size/stride (rank <= 8), total tensors.
// Values live in one arena and refer to each other by index, so self-referencing or
// deeply nested input cannot recurse or leak; walking the result is bounded too.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace rnnx::detail {

// Element types of torch storages (spec §3.4), named as safetensors names them.
enum class TorchDtype { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean };

// "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL".
const char* torch_dtype_name(TorchDtype dtype);
int64_t torch_dtype_size(TorchDtype dtype);

// A tensor as pickled: a strided view into storage `storage_key` (element counts, not bytes).
struct TorchTensorRef {
  std::string storage_key;  // decimal digits; member <prefix>/data/<key>
  TorchDtype dtype = TorchDtype::f32;
  int64_t storage_numel = 0;  // as declared by the persistent id
  int64_t storage_offset = 0;
  std::vector<int64_t> size, stride;  // equal length <= 8; checked to stay inside the storage
};

// Runs the VM over `pickle` (the bytes of data.pkl). The result must be a dict; nested
// dicts are flattened with '.' ({"model": {"rnn.weight_ih_l0": t}} -> "model.rnn.weight_ih_l0",
// integer keys written in decimal), tensors are kept in pickle order, and every other
// value (numbers, strings, lists, None) is skipped. Throws FormatError, prefixed with
// `where`, for anything malformed or not allowed; a flattened name that occurs twice is
// malformed too.
std::vector<std::pair<std::string, TorchTensorRef>> unpickle_state_dict(std::span<const uint8_t> pickle,
                                                                        const std::string& where);

}  // namespace rnnx::detail
