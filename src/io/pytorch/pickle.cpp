// The restricted unpickler of pickle.h. Opcode numbers and semantics: CPython
// Lib/pickletools.py; what torch.save emits: spec pytorch-files.md §3.5-§3.9.
#include "io/pytorch/pickle.h"

#include <bit>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "rnnx/core/error.h"

namespace rnnx::detail {
namespace {

// Limits (spec §3.10). A real state_dict needs about 15 values per tensor.
constexpr size_t kMaxStack = 100000;
constexpr size_t kMaxMarks = 100000;
constexpr size_t kMaxMemo = 1000000;
constexpr size_t kMaxValues = 4000000;
constexpr uint64_t kMaxString = 1 << 20;
constexpr size_t kMaxGlobalLine = 256;
constexpr size_t kMaxRank = 8;
constexpr size_t kMaxTensors = 100000;
constexpr size_t kMaxDictDepth = 32;  // nesting of dicts when flattening

enum class Kind : uint8_t { none, boolean, integer, floating, string, tuple, list, dict, global, storage, tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::none:
      return "None";
    case Kind::boolean:
      return "bool";
    case Kind::integer:
      return "int";
    case Kind::floating:
      return "float";
    case Kind::string:
      return "str";
    case Kind::tuple:
      return "tuple";
    case Kind::list:
      return "list";
    case Kind::dict:
      return "dict";
    case Kind::global:
      return "global";
    case Kind::storage:
      return "storage";
    case Kind::tensor:
      return "tensor";
  }
  return "?";
}

// The allowed globals. Storage classes carry their dtype.
enum class Global { ordered_dict, rebuild_tensor_v2, rebuild_parameter, rebuild_parameter_with_state, storage_class };

struct GlobalInfo {
  const char* module;
  const char* name;
  Global global;
  TorchDtype dtype;
};

constexpr GlobalInfo kAllowed[] = {
    {"collections", "OrderedDict", Global::ordered_dict, TorchDtype::f32},
    {"torch._utils", "_rebuild_tensor_v2", Global::rebuild_tensor_v2, TorchDtype::f32},
    {"torch._utils", "_rebuild_parameter", Global::rebuild_parameter, TorchDtype::f32},
    {"torch._utils", "_rebuild_parameter_with_state", Global::rebuild_parameter_with_state, TorchDtype::f32},
    {"torch", "FloatStorage", Global::storage_class, TorchDtype::f32},
    {"torch", "HalfStorage", Global::storage_class, TorchDtype::f16},
    {"torch", "BFloat16Storage", Global::storage_class, TorchDtype::bf16},
    {"torch", "DoubleStorage", Global::storage_class, TorchDtype::f64},
    {"torch", "LongStorage", Global::storage_class, TorchDtype::i64},
    {"torch", "IntStorage", Global::storage_class, TorchDtype::i32},
    {"torch", "ShortStorage", Global::storage_class, TorchDtype::i16},
    {"torch", "CharStorage", Global::storage_class, TorchDtype::i8},
    {"torch", "ByteStorage", Global::storage_class, TorchDtype::u8},
    {"torch", "BoolStorage", Global::storage_class, TorchDtype::boolean},
};

// One value. Containers hold arena indices (dict: key, value, key, value, ...).
struct Value {
  Kind kind = Kind::none;
  int64_t i = 0;  // bool/int value; global: index into kAllowed; storage: numel; tensor: index
  double f = 0;
  std::string s;                       // string; storage: key
  TorchDtype dtype = TorchDtype::f32;  // storage
  std::vector<uint32_t> items;
};

class Machine {
 public:
  Machine(std::span<const uint8_t> data, const std::string& where) : d_(data), where_(where) {}

  uint32_t run();
  const Value& at(uint32_t v) const { return values_[v]; }
  const std::vector<TorchTensorRef>& tensors() const { return tensors_; }
  [[noreturn]] void fail(const std::string& what) const { throw FormatError("pickle " + where_ + ": " + what); }

 private:
  // ---- operands ----
  void need(uint64_t n, const char* what) const {
    if (n > d_.size() - pos_)
      fail(std::string("truncated ") + what + " at offset " + std::to_string(pos_) + ": needs " + std::to_string(n) +
           " bytes, " + std::to_string(d_.size() - pos_) + " left");
  }
  uint64_t le(int n, const char* what) {
    need(static_cast<uint64_t>(n), what);
    uint64_t v = 0;
    for (int k = 0; k < n; ++k) v |= static_cast<uint64_t>(d_[pos_ + k]) << (8 * k);
    pos_ += n;
    return v;
  }
  std::string bytes(uint64_t n, const char* what) {
    if (n > kMaxString) fail(std::string(what) + " of " + std::to_string(n) + " bytes is too long (limit 1 MiB)");
    need(n, what);
    std::string s(reinterpret_cast<const char*>(d_.data() + pos_), static_cast<size_t>(n));
    pos_ += n;
    return s;
  }
  std::string line(const char* what) {
    std::string s;
    while (true) {
      need(1, what);
      const char c = static_cast<char>(d_[pos_++]);
      if (c == '\n') return s;
      if (s.size() >= kMaxGlobalLine) fail(std::string(what) + " line is too long");
      s.push_back(c);
    }
  }

  // ---- values and stack ----
  uint32_t make(Value v) {
    if (values_.size() >= kMaxValues) fail("more than " + std::to_string(kMaxValues) + " values");
    values_.push_back(std::move(v));
    return static_cast<uint32_t>(values_.size() - 1);
  }
  uint32_t make(Kind k, int64_t i = 0) {
    Value v;
    v.kind = k;
    v.i = i;
    return make(std::move(v));
  }
  uint32_t make_string(std::string s) {
    Value v;
    v.kind = Kind::string;
    v.s = std::move(s);
    return make(std::move(v));
  }
  void push(uint32_t v) {
    if (stack_.size() >= kMaxStack) fail("stack deeper than " + std::to_string(kMaxStack));
    stack_.push_back(v);
  }
  uint32_t pop(const char* op) {
    const size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) fail(std::string(op) + " at offset " + std::to_string(op_pos_) + " on an empty stack");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t top(const char* op) const {
    const size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) fail(std::string(op) + " at offset " + std::to_string(op_pos_) + " on an empty stack");
    return stack_.back();
  }
  // Pops everything above the last mark (and the mark).
  std::vector<uint32_t> pop_mark(const char* op) {
    if (marks_.empty()) fail(std::string(op) + " at offset " + std::to_string(op_pos_) + " without a MARK");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Value& ref(uint32_t v) { return values_[v]; }
  Value& expect(uint32_t v, Kind k, const std::string& what) {
    if (values_[v].kind != k)
      fail(what + " must be a " + kind_name(k) + ", got a " + kind_name(values_[v].kind) + " (opcode at offset " +
           std::to_string(op_pos_) + ")");
    return values_[v];
  }
  void memo_put(uint64_t index) {
    const uint32_t v = top("PUT");
    if (memo_.size() >= kMaxMemo && !memo_.count(index)) fail("memo larger than " + std::to_string(kMaxMemo));
    memo_[index] = v;
  }
  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end())
      fail("memo slot " + std::to_string(index) + " read at offset " + std::to_string(op_pos_) + " was never set");
    push(it->second);
  }

  void global(const std::string& module, const std::string& name);
  void reduce();
  void persistent_id();
  int64_t integer(uint32_t v, const std::string& what) { return expect(v, Kind::integer, what).i; }
  std::vector<int64_t> int_tuple(uint32_t v, const std::string& what);
  uint32_t rebuild_tensor(const std::vector<uint32_t>& args);
  void set_items(uint32_t dict, const std::vector<uint32_t>& kv);

  std::span<const uint8_t> d_;
  const std::string& where_;
  uint64_t pos_ = 0, op_pos_ = 0;
  std::vector<Value> values_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
  std::vector<TorchTensorRef> tensors_;
};

void Machine::global(const std::string& module, const std::string& name) {
  for (size_t k = 0; k < std::size(kAllowed); ++k) {
    if (module == kAllowed[k].module && name == kAllowed[k].name) {
      push(make(Kind::global, static_cast<int64_t>(k)));
      return;
    }
  }
  const std::string what = "GLOBAL '" + module + " " + name + "' at offset " + std::to_string(op_pos_);
  if (module.rfind("torch.nn", 0) == 0)
    fail(what + ": this file pickles a Python module object; save model.state_dict() instead");
  fail(what + " is not allowed (rnnx reads only tensors of a state_dict; nothing is imported or run)");
}

std::vector<int64_t> Machine::int_tuple(uint32_t v, const std::string& what) {
  const Value& t = expect(v, Kind::tuple, what);
  if (t.items.size() > kMaxRank)
    fail(what + " has " + std::to_string(t.items.size()) + " dimensions, at most " + std::to_string(kMaxRank) +
         " are supported");
  std::vector<int64_t> out;
  for (uint32_t e : t.items) out.push_back(integer(e, what + " entry"));
  return out;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
uint32_t Machine::rebuild_tensor(const std::vector<uint32_t>& args) {
  if (args.size() != 6 && args.size() != 7)
    fail("_rebuild_tensor_v2 takes 6 or 7 arguments, got " + std::to_string(args.size()));
  const Value& st = expect(args[0], Kind::storage, "_rebuild_tensor_v2 storage");
  TorchTensorRef t;
  t.storage_key = st.s;
  t.dtype = st.dtype;
  t.storage_numel = st.i;
  t.storage_offset = integer(args[1], "_rebuild_tensor_v2 storage_offset");
  t.size = int_tuple(args[2], "_rebuild_tensor_v2 size");
  t.stride = int_tuple(args[3], "_rebuild_tensor_v2 stride");
  if (values_[args[4]].kind != Kind::boolean) fail("_rebuild_tensor_v2 requires_grad must be a bool");
  const Value& hooks = expect(args[5], Kind::dict, "_rebuild_tensor_v2 backward_hooks");
  if (!hooks.items.empty()) fail("tensor with backward hooks (not a plain state_dict tensor)");
  if (args.size() == 7) {
    const Value& meta = values_[args[6]];
    if (!(meta.kind == Kind::none || (meta.kind == Kind::dict && meta.items.empty())))
      fail("tensor with metadata (not a plain state_dict tensor)");
  }
  if (t.size.size() != t.stride.size())
    fail("tensor size has " + std::to_string(t.size.size()) + " dimensions but stride " +
         std::to_string(t.stride.size()));
  if (t.storage_offset < 0) fail("negative storage_offset " + std::to_string(t.storage_offset));
  // Last element touched: offset + sum (size-1)*stride, overflow-checked (spec §3.8).
  int64_t numel = 1, last = t.storage_offset;
  for (size_t k = 0; k < t.size.size(); ++k) {
    if (t.size[k] < 0 || t.stride[k] < 0)
      fail("tensor size/stride entry " + std::to_string(k) + " is negative (" + std::to_string(t.size[k]) + ", " +
           std::to_string(t.stride[k]) + ")");
    if (__builtin_mul_overflow(numel, t.size[k], &numel)) fail("tensor element count overflows");
  }
  if (numel > 0) {
    for (size_t k = 0; k < t.size.size(); ++k) {
      int64_t span = 0;
      if (__builtin_mul_overflow(t.size[k] - 1, t.stride[k], &span) || __builtin_add_overflow(last, span, &last))
        fail("tensor extent overflows");
    }
    if (last >= t.storage_numel)
      fail("tensor reaches storage element " + std::to_string(last) + " but storage '" + t.storage_key + "' has " +
           std::to_string(t.storage_numel) + " elements");
  }
  // Zero or overlapping strides could make a view far larger than its storage (and than the
  // file); weights never are, so this bounds what reading a tensor allocates.
  if (numel > t.storage_numel)
    fail("tensor of " + std::to_string(numel) + " elements views storage '" + t.storage_key + "' of only " +
         std::to_string(t.storage_numel) + " (broadcast or overlapping views are not supported)");
  if (tensors_.size() >= kMaxTensors) fail("more than " + std::to_string(kMaxTensors) + " tensors");
  tensors_.push_back(std::move(t));
  return make(Kind::tensor, static_cast<int64_t>(tensors_.size() - 1));
}

void Machine::reduce() {
  const uint32_t args_v = pop("REDUCE");
  const uint32_t fn_v = pop("REDUCE");
  const Value& fn = values_[fn_v];
  if (fn.kind != Kind::global)
    fail("REDUCE at offset " + std::to_string(op_pos_) + " calls a " + kind_name(fn.kind) + ", not an allowed global");
  const std::vector<uint32_t> args = expect(args_v, Kind::tuple, "REDUCE arguments").items;
  const GlobalInfo& g = kAllowed[fn.i];
  const std::string name = std::string(g.module) + "." + g.name;
  switch (g.global) {
    case Global::ordered_dict:
      if (!args.empty()) fail("collections.OrderedDict called with arguments");
      push(make(Kind::dict));
      return;
    case Global::rebuild_tensor_v2:
      push(rebuild_tensor(args));
      return;
    case Global::rebuild_parameter:
    case Global::rebuild_parameter_with_state: {
      // (tensor, requires_grad, backward_hooks[, state]) -> the tensor; state is ignored.
      const size_t n = g.global == Global::rebuild_parameter ? 3 : 4;
      if (args.size() != n)
        fail(name + " takes " + std::to_string(n) + " arguments, got " + std::to_string(args.size()));
      expect(args[0], Kind::tensor, name + " data");
      if (!expect(args[2], Kind::dict, name + " backward_hooks").items.empty())
        fail("parameter with backward hooks (not a plain state_dict tensor)");
      push(args[0]);
      return;
    }
    case Global::storage_class:
      fail("storage class " + name + " called with REDUCE (only valid inside a persistent id)");
  }
}

// ('storage', <storage class>, key, location, numel) -> storage reference (spec §3.6).
void Machine::persistent_id() {
  const Value& t = expect(pop("BINPERSID"), Kind::tuple, "persistent id");
  if (t.items.size() != 5)
    fail("persistent id has " + std::to_string(t.items.size()) +
         " entries, expected 5 ('storage', class, key, location, numel)");
  const Value& tag = values_[t.items[0]];
  if (tag.kind != Kind::string || tag.s != "storage")
    fail("persistent id tag is not 'storage' (" +
         (tag.kind == Kind::string ? "'" + tag.s + "'" : std::string(kind_name(tag.kind))) + ")");
  const Value& cls = values_[t.items[1]];
  if (cls.kind != Kind::global || kAllowed[cls.i].global != Global::storage_class)
    fail("persistent id names no storage class");
  const std::string key = expect(t.items[2], Kind::string, "storage key").s;
  if (key.empty() || key.size() > 18 || key.find_first_not_of("0123456789") != std::string::npos)
    fail("storage key '" + key + "' is not a decimal number");
  expect(t.items[3], Kind::string, "storage location");
  const int64_t numel = integer(t.items[4], "storage numel");
  if (numel < 0) fail("storage '" + key + "' has negative size " + std::to_string(numel));
  Value v;
  v.kind = Kind::storage;
  v.s = key;
  v.i = numel;
  v.dtype = kAllowed[cls.i].dtype;
  push(make(std::move(v)));
}

void Machine::set_items(uint32_t dict, const std::vector<uint32_t>& kv) {
  if (kv.size() % 2 != 0) fail("SETITEMS with an odd number of items");
  Value& d = expect(dict, Kind::dict, "SETITEM target");
  d.items.insert(d.items.end(), kv.begin(), kv.end());
}

uint32_t Machine::run() {
  while (true) {
    op_pos_ = pos_;
    need(1, "opcode");
    const uint8_t op = d_[pos_++];
    switch (op) {
      case 0x80: {  // PROTO
        const uint64_t p = le(1, "PROTO");
        if (p < 2 || p > 5) fail("pickle protocol " + std::to_string(p) + " is not supported (2-5)");
        break;
      }
      case 0x95:  // FRAME: a length hint only
        le(8, "FRAME");
        break;
      case 'c': {  // GLOBAL
        const std::string module = line("GLOBAL module");
        const std::string name = line("GLOBAL name");
        global(module, name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const std::string name = expect(pop("STACK_GLOBAL"), Kind::string, "STACK_GLOBAL name").s;
        const std::string module = expect(pop("STACK_GLOBAL"), Kind::string, "STACK_GLOBAL module").s;
        global(module, name);
        break;
      }
      case 'q':
        memo_put(le(1, "BINPUT"));
        break;
      case 'r':
        memo_put(le(4, "LONG_BINPUT"));
        break;
      case 0x94:
        memo_put(memo_.size());
        break;  // MEMOIZE
      case 'h':
        memo_get(le(1, "BINGET"));
        break;
      case 'j':
        memo_get(le(4, "LONG_BINGET"));
        break;
      case '(':  // MARK
        if (marks_.size() >= kMaxMarks) fail("more than " + std::to_string(kMaxMarks) + " nested MARKs");
        marks_.push_back(stack_.size());
        break;
      case 't': {  // TUPLE
        Value v;
        v.kind = Kind::tuple;
        v.items = pop_mark("TUPLE");
        push(make(std::move(v)));
        break;
      }
      case ')':
        push(make(Kind::tuple));
        break;  // EMPTY_TUPLE
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1/2/3
        Value v;
        v.kind = Kind::tuple;
        v.items.resize(op - 0x84);
        for (size_t k = v.items.size(); k-- > 0;) v.items[k] = pop("TUPLEn");
        push(make(std::move(v)));
        break;
      }
      case '}':
        push(make(Kind::dict));
        break;  // EMPTY_DICT
      case ']':
        push(make(Kind::list));
        break;     // EMPTY_LIST
      case 'a': {  // APPEND
        const uint32_t x = pop("APPEND");
        expect(top("APPEND"), Kind::list, "APPEND target").items.push_back(x);
        break;
      }
      case 'e': {  // APPENDS
        const std::vector<uint32_t> xs = pop_mark("APPENDS");
        Value& l = expect(top("APPENDS"), Kind::list, "APPENDS target");
        l.items.insert(l.items.end(), xs.begin(), xs.end());
        break;
      }
      case 'X':
        push(make_string(bytes(le(4, "BINUNICODE"), "BINUNICODE")));
        break;
      case 0x8c:
        push(make_string(bytes(le(1, "SHORT_BINUNICODE"), "SHORT_BINUNICODE")));
        break;
      case 0x8d:
        push(make_string(bytes(le(8, "BINUNICODE8"), "BINUNICODE8")));
        break;
      case 'K':
        push(make(Kind::integer, static_cast<int64_t>(le(1, "BININT1"))));
        break;
      case 'M':
        push(make(Kind::integer, static_cast<int64_t>(le(2, "BININT2"))));
        break;
      case 'J':
        push(make(Kind::integer, static_cast<int32_t>(static_cast<uint32_t>(le(4, "BININT")))));
        break;
      case 0x8a: {  // LONG1: n bytes two's complement, little-endian
        const uint64_t n = le(1, "LONG1");
        if (n > 8) fail("LONG1 integer of " + std::to_string(n) + " bytes does not fit 64 bits");
        uint64_t v = n == 0 ? 0 : le(static_cast<int>(n), "LONG1");
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        push(make(Kind::integer, static_cast<int64_t>(v)));
        break;
      }
      case 'G': {  // BINFLOAT: 8-byte big-endian double
        need(8, "BINFLOAT");
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | d_[pos_ + k];
        pos_ += 8;
        Value v;
        v.kind = Kind::floating;
        v.f = std::bit_cast<double>(bits);
        push(make(std::move(v)));
        break;
      }
      case 0x88:
        push(make(Kind::boolean, 1));
        break;  // NEWTRUE
      case 0x89:
        push(make(Kind::boolean, 0));
        break;  // NEWFALSE
      case 'N':
        push(make(Kind::none));
        break;
      case 'Q':
        persistent_id();
        break;  // BINPERSID
      case 'R':
        reduce();
        break;
      case 's': {  // SETITEM
        const uint32_t v = pop("SETITEM");
        const uint32_t k = pop("SETITEM");
        set_items(top("SETITEM"), {k, v});
        break;
      }
      case 'u': {  // SETITEMS
        const std::vector<uint32_t> kv = pop_mark("SETITEMS");
        set_items(top("SETITEMS"), kv);
        break;
      }
      case 'b': {  // BUILD: the OrderedDict's _metadata; not needed, ignored
        pop("BUILD");
        expect(top("BUILD"), Kind::dict, "BUILD target");
        break;
      }
      case '.': {  // STOP
        if (!marks_.empty() || stack_.size() != 1)
          fail("STOP at offset " + std::to_string(op_pos_) + " with " + std::to_string(stack_.size()) +
               " values on the stack and " + std::to_string(marks_.size()) + " open MARKs (expected exactly 1 and 0)");
        return stack_.back();
      }
      default: {
        static const char* hex = "0123456789abcdef";
        fail(std::string("unsupported pickle opcode 0x") + hex[op >> 4] + hex[op & 15] + " at offset " +
             std::to_string(op_pos_));
      }
    }
  }
}

// Flattens the dict tree below `root` into name -> tensor, iteratively. Each dict is walked
// at most once (a dict reached twice - shared through the memo, or containing itself - is
// refused; torch never writes one), so the work is linear in the pickle's size.
std::vector<std::pair<std::string, TorchTensorRef>> flatten(const Machine& m, uint32_t root) {
  if (m.at(root).kind != Kind::dict)
    m.fail(std::string("data.pkl holds a ") + kind_name(m.at(root).kind) + ", expected a dict (a state_dict)");
  std::vector<std::pair<std::string, TorchTensorRef>> out;
  std::unordered_set<std::string> seen;
  struct Frame {
    uint32_t dict;
    std::string prefix;
    size_t depth;
  };
  std::vector<Frame> todo{{root, "", 1}};
  std::unordered_set<uint32_t> walked{root};
  // Depth-first, children in reverse so that output follows pickle order.
  while (!todo.empty()) {
    Frame f = std::move(todo.back());
    todo.pop_back();
    const Value& d = m.at(f.dict);
    std::vector<Frame> children;
    for (size_t k = 0; k + 1 < d.items.size(); k += 2) {
      const Value& key = m.at(d.items[k]);
      std::string name;
      if (key.kind == Kind::string)
        name = key.s;
      else if (key.kind == Kind::integer)
        name = std::to_string(key.i);
      else
        continue;
      name = f.prefix + name;
      const Value& v = m.at(d.items[k + 1]);
      if (v.kind == Kind::tensor) {
        if (!seen.insert(name).second) m.fail("tensor name '" + name + "' occurs twice");
        out.emplace_back(name, m.tensors()[static_cast<size_t>(v.i)]);
      } else if (v.kind == Kind::dict) {
        if (f.depth >= kMaxDictDepth) m.fail("dicts nested deeper than " + std::to_string(kMaxDictDepth));
        if (!walked.insert(d.items[k + 1]).second)
          m.fail("the dict under '" + name +
                 "' was reached before (shared or self-referencing dicts are not supported)");
        children.push_back({d.items[k + 1], name + ".", f.depth + 1});
      }
    }
    for (size_t k = children.size(); k-- > 0;) todo.push_back(std::move(children[k]));
  }
  return out;
}

}  // namespace

const char* torch_dtype_name(TorchDtype dtype) {
  switch (dtype) {
    case TorchDtype::f32:
      return "F32";
    case TorchDtype::f16:
      return "F16";
    case TorchDtype::bf16:
      return "BF16";
    case TorchDtype::f64:
      return "F64";
    case TorchDtype::i64:
      return "I64";
    case TorchDtype::i32:
      return "I32";
    case TorchDtype::i16:
      return "I16";
    case TorchDtype::i8:
      return "I8";
    case TorchDtype::u8:
      return "U8";
    case TorchDtype::boolean:
      return "BOOL";
  }
  return "?";
}

int64_t torch_dtype_size(TorchDtype dtype) {
  switch (dtype) {
    case TorchDtype::f64:
    case TorchDtype::i64:
      return 8;
    case TorchDtype::f32:
    case TorchDtype::i32:
      return 4;
    case TorchDtype::f16:
    case TorchDtype::bf16:
    case TorchDtype::i16:
      return 2;
    case TorchDtype::i8:
    case TorchDtype::u8:
    case TorchDtype::boolean:
      return 1;
  }
  return 1;
}

std::vector<std::pair<std::string, TorchTensorRef>> unpickle_state_dict(std::span<const uint8_t> pickle,
                                                                        const std::string& where) {
  Machine m(pickle, where);
  const uint32_t root = m.run();
  return flatten(m, root);
}

}  // namespace rnnx::detail
