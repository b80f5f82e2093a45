"""PyTorch goldens for rnnx's PyTorch weight reader (tests/data/pytorch).

Its own entry point, run with the torch venv (python/requirements-torch.txt), never
imported by make_goldens.py (torch lives in a separate venv):

    /work/venv-torch/bin/python python/oracle/torch_cases.py [out_dir]

For every case it writes
  <case>.safetensors   safetensors.torch.save_file(state_dict)  (flat, contiguous copies)
  <case>.pt            torch.save(state_dict or checkpoint)     (default zip format)
  <case>.npz           x (as PyTorch takes it), output, h_n, c_n (LSTM), all float32
and cases.json, the manifest the C++ test reads (module arguments, file names, key prefix;
"nonlinearity" for nn.RNN cases only, as it is not stored in the weights).
Negative fixtures (files rnnx must refuse with a clear message) are written too:
  whole_module.pt (torch.save(module)), legacy.pt (_use_new_zipfile_serialization=False),
  torchscript.pt (torch.jit.save).
Everything is seeded from the case name, so reruns give the same numbers; file bytes of
.pt files may differ between torch versions (serialization id, member order), and legacy.pt
and torchscript.pt differ on every run (random ids): regenerating into a scratch folder and
copying only the new or changed cases keeps the committed files byte-identical.
"""
import json
import os
import sys
import zlib

import numpy as np
import safetensors
import safetensors.torch
import torch
from torch import nn

B, T, I, H, P = 3, 6, 5, 7, 3


def seed_of(name):
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


# name, module, kwargs, options
#   dtype:   storage dtype of the saved weights (outputs are torch's float32 run on the
#            widened weights; float64 runs in float64)
#   shared:  all parameters are views into one flat storage (what cuDNN-trained RNNs save)
#   strided: weight_hh_l0 is saved as a transposed (non-contiguous) view
#   wrap:    the RNN is attribute `encoder` of a module with a Linear `head`; the .pt file
#            holds {"model_state_dict": ..., "epoch": 3}
#   protocol: pickle protocol for torch.save
CASES = [
    ("lstm_1l", "LSTM", dict(batch_first=True), {}),
    ("lstm_2l_bi", "LSTM", dict(num_layers=2, bidirectional=True), {}),
    ("lstm_proj", "LSTM", dict(proj_size=P, batch_first=True), {}),
    ("lstm_proj_2l_bi", "LSTM", dict(num_layers=2, bidirectional=True, proj_size=P), {}),
    ("lstm_nobias_bi", "LSTM", dict(bias=False, bidirectional=True, batch_first=True), {}),
    ("lstm_f16", "LSTM", dict(batch_first=True), dict(dtype="float16")),
    ("lstm_f64_2l", "LSTM", dict(num_layers=2), dict(dtype="float64")),
    ("lstm_shared_storage_bi", "LSTM", dict(bidirectional=True, batch_first=True), dict(shared=True)),
    ("lstm_proto4", "LSTM", dict(num_layers=2), dict(protocol=4)),
    ("gru_1l", "GRU", dict(), {}),
    ("gru_2l_bi", "GRU", dict(num_layers=2, bidirectional=True, batch_first=True), {}),
    ("gru_nobias_2l", "GRU", dict(num_layers=2, bias=False), {}),
    ("gru_bf16_bi", "GRU", dict(bidirectional=True), dict(dtype="bfloat16")),
    ("gru_strided", "GRU", dict(batch_first=True), dict(strided=True)),
    ("gru_checkpoint_prefix", "GRU", dict(bidirectional=True, batch_first=True), dict(wrap=True)),
    ("rnn_tanh_1l", "RNN", dict(batch_first=True), {}),
    ("rnn_relu_2l_bi", "RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True, batch_first=True), {}),
    ("rnn_relu_nobias", "RNN", dict(nonlinearity="relu", bias=False, batch_first=True), {}),
    ("rnn_tanh_2l", "RNN", dict(num_layers=2), {}),
]


class Wrapped(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.encoder = rnn
        self.head = nn.Linear(rnn.hidden_size * (2 if rnn.bidirectional else 1), 2)


def make_module(kind, kwargs):
    cls = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}[kind]
    m = cls(I, H, **kwargs)
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-0.6, 0.6)
    return m


def share_storage(m):
    """Re-point every parameter at a slice of one flat buffer (cuDNN's layout on GPU)."""
    params = list(m._flat_weights)
    total = sum(p.numel() for p in params)
    flat = torch.empty(total, dtype=params[0].dtype)
    off = 0
    with torch.no_grad():
        for name, p in zip(m._flat_weights_names, params):
            n = p.numel()
            flat[off:off + n].copy_(p.reshape(-1))
            getattr(m, name).data = flat[off:off + n].view_as(p)
            off += n
    m._init_flat_weights()


def make_strided(m):
    """weight_hh_l0 becomes a transposed view of a (cols, rows) contiguous tensor."""
    w = m.weight_hh_l0
    with torch.no_grad():
        m.weight_hh_l0.data = w.detach().t().contiguous().t()
    assert not m.weight_hh_l0.is_contiguous()
    m._init_flat_weights()


def run(m, x):
    with torch.no_grad():
        out = m(x)
    if isinstance(m, nn.LSTM):
        y, (h, c) = out
        return y, h, c
    y, h = out
    return y, h, None


def np32(t):
    return t.detach().to(torch.float32).cpu().numpy()


def write_case(out_dir, name, kind, kwargs, opts):
    torch.manual_seed(seed_of(name))
    m = make_module(kind, kwargs)
    dtype = opts.get("dtype", "float32")
    if dtype != "float32":
        m = m.to(getattr(torch, dtype))
    if opts.get("shared"):
        share_storage(m)
    if opts.get("strided"):
        make_strided(m)
    saved = Wrapped(m) if opts.get("wrap") else m
    sd = saved.state_dict()

    # Reference run: float32 on the widened weights (exact), float64 stays float64.
    ref = m
    if dtype in ("float16", "bfloat16"):
        ref = make_module(kind, kwargs)
        ref.load_state_dict({k: v.to(torch.float32) for k, v in m.state_dict().items()})
    run_dtype = torch.float64 if dtype == "float64" else torch.float32
    g = torch.Generator().manual_seed(seed_of(name) + 1)
    batch_first = kwargs.get("batch_first", False)
    shape = (B, T, I) if batch_first else (T, B, I)
    x = torch.randn(*shape, generator=g).to(run_dtype)
    y, h, c = run(ref, x)

    arrays = {"x": np32(x), "output": np32(y), "h_n": np32(h)}
    if c is not None:
        arrays["c_n"] = np32(c)
    np.savez(os.path.join(out_dir, name + ".npz"), **arrays)

    flat = {k: v.detach().contiguous().clone() for k, v in sd.items()}
    safetensors.torch.save_file(flat, os.path.join(out_dir, name + ".safetensors"), metadata={"format": "pt"})
    obj = {"model_state_dict": sd, "epoch": 3} if opts.get("wrap") else sd
    torch.save(obj, os.path.join(out_dir, name + ".pt"), pickle_protocol=opts.get("protocol", 2))

    case = {
        "name": name,
        "module": kind,
        "input_size": I,
        "hidden_size": H,
        "num_layers": kwargs.get("num_layers", 1),
        "bidirectional": kwargs.get("bidirectional", False),
        "batch_first": batch_first,
        "proj_size": kwargs.get("proj_size", 0),
        "bias": kwargs.get("bias", True),
        "dtype": dtype,
        # key prefix of the RNN's tensors in the .pt / .safetensors state dict
        "pt_prefix": "model_state_dict.encoder." if opts.get("wrap") else "",
        "safetensors_prefix": "encoder." if opts.get("wrap") else "",
        "files": [name + ".safetensors", name + ".pt"],
    }
    if kind == "RNN":
        case["nonlinearity"] = kwargs.get("nonlinearity", "tanh")
    return case


def write_negatives(out_dir):
    torch.manual_seed(seed_of("negatives"))
    m = nn.LSTM(2, 3)
    torch.save(m, os.path.join(out_dir, "whole_module.pt"))
    torch.save(m.state_dict(), os.path.join(out_dir, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(m), os.path.join(out_dir, "torchscript.pt"))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "tests", "data", "pytorch")
    os.makedirs(out_dir, exist_ok=True)
    manifest = {
        "generator": "python/oracle/torch_cases.py",
        "versions": {"torch": torch.__version__, "safetensors": safetensors.__version__,
                     "numpy": np.__version__, "python": sys.version.split()[0]},
        "cases": [write_case(out_dir, *c) for c in CASES],
        "negatives": ["whole_module.pt", "legacy.pt", "torchscript.pt"],
    }
    write_negatives(out_dir)
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    v = manifest["versions"]
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write("generator: python/oracle/torch_cases.py with torch {torch}, safetensors {safetensors}, "
                "numpy {numpy}, Python {python} (CPU); venv from python/requirements-torch.txt.\n".format(**v))
        f.write("\nRegenerate from the repository root: "
                "`/work/venv-torch/bin/python python/oracle/torch_cases.py` (rewrites this folder).\n"
                "cases.json lists each case's nn.LSTM / nn.GRU / nn.RNN arguments and files; <case>.npz holds the\n"
                "input `x` as PyTorch takes it and PyTorch's `output`, `h_n`, `c_n`.\n"
                "whole_module.pt, legacy.pt, torchscript.pt are files rnnx must refuse.\n")


if __name__ == "__main__":
    main()
