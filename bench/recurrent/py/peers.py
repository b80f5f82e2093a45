#!/usr/bin/env python3
"""The Python peers of the recurrent benchmark: Keras 3 on TensorFlow, PyTorch and ONNX Runtime.

Usage: python peers.py keras|torch|ort   (cases on stdin, one JSON answer per line on stdout)

Speaks the worker protocol of bench/recurrent/bench_support.h: a case line of key=value tokens
(cell, B, T, I, H, L, mode, reps, max_s, data, dump, impl), the data as raw float32 files in
Keras layout, one untimed warm-up call, then up to `reps` timed calls until `max_s` seconds,
and dumps (out.bin, dx.bin, dk<l>/dr<l>/db<l>.bin) mapped back to the Keras layout.
Threads: OMP_NUM_THREADS, given by the driver, sets each library's intra-op thread count
(tf.config intra_op, torch.set_num_threads, ORT intra_op_num_threads); nothing else is pinned.

Each library runs in its native layout: Keras batch-major, PyTorch and ONNX Runtime time-major
(the sequence is converted once, untimed). Gate orders: Keras LSTM i f c o = PyTorch i f g o,
ONNX i o f c; Keras GRU z r h = ONNX z r h, PyTorch r z n. Keras 3 GRU is reset_after=True:
PyTorch's GRU and ONNX linear_before_reset=1.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

THREADS = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)


def parse(line):
    c = dict(tok.split("=", 1) for tok in line.split())
    for k in ("B", "T", "I", "H", "L", "reps"):
        c[k] = int(c.get(k, 1))
    c["max_s"] = float(c.get("max_s", 1.0))
    c.setdefault("cell", "lstm")
    c.setdefault("mode", "infer")
    c.setdefault("impl", "")
    c.setdefault("dump", "")
    return c


def gates(c):
    return 4 if c["cell"] == "lstm" else 3


def layer_input(c, l):
    return c["I"] if l == 0 else c["H"]


def load(c):
    """x [B,T,I] and per layer (kernel [in, G*H], recurrent [H, G*H], bias [G*H] or [2, 3H])."""
    d, g, h = c["data"], gates(c), c["H"]
    x = np.fromfile(os.path.join(d, "x.bin"), np.float32).reshape(c["B"], c["T"], c["I"])
    layers = []
    for l in range(c["L"]):
        k = np.fromfile(os.path.join(d, "k%d.bin" % l), np.float32).reshape(layer_input(c, l), g * h)
        r = np.fromfile(os.path.join(d, "r%d.bin" % l), np.float32).reshape(h, g * h)
        b = np.fromfile(os.path.join(d, "b%d.bin" % l), np.float32)
        layers.append((k, r, b.reshape(2, 3 * h) if c["cell"] == "gru" else b))
    return x, layers


def blocks(a, order, axis):
    """Reorders the gate blocks of `a` along `axis`: block j of the result = block order[j]."""
    return np.concatenate([np.split(a, len(order), axis=axis)[j] for j in order], axis=axis)


def dump(c, out, dx=None, grads=None):
    """Writes Keras-layout results: out [B,T,H]; dx [B,T,I]; grads = [(dk, dr, db)] per layer."""
    d = c["dump"]
    np.ascontiguousarray(out, np.float32).tofile(os.path.join(d, "out.bin"))
    if dx is not None:
        np.ascontiguousarray(dx, np.float32).tofile(os.path.join(d, "dx.bin"))
        for l, (dk, dr, db) in enumerate(grads):
            for name, a in (("dk", dk), ("dr", dr), ("db", db)):
                np.ascontiguousarray(a, np.float32).tofile(os.path.join(d, "%s%d.bin" % (name, l)))


def time_calls(fn, reps, max_s):
    fn()  # warm-up (tracing, compilation, first-touch allocations)
    ms, total = [], 0.0
    for _ in range(max(reps, 1)):
        t0 = time.perf_counter()
        fn()
        s = time.perf_counter() - t0
        ms.append(1e3 * s)
        total += s
        if total >= max_s:
            break
    return ms


class Keras:
    """Keras 3 layers on TensorFlow, called through tf.function: impl graph or xla (jit_compile)."""

    def __init__(self):
        import tensorflow as tf
        if THREADS:
            tf.config.threading.set_intra_op_parallelism_threads(THREADS)
        import keras
        self.tf, self.keras = tf, keras
        self.note = "keras %s, tensorflow %s" % (keras.__version__, tf.__version__)

    def build(self, c):
        tf, keras = self.tf, self.keras
        if c["mode"] == "step":
            raise ValueError("keras peer: no step mode (a per-step Python call measures Python)")
        x, layers = load(c)
        inp = keras.Input(shape=(c["T"], c["I"]), batch_size=c["B"])
        h, made = inp, []
        for l, w in enumerate(layers):
            if c["cell"] == "lstm":
                layer = keras.layers.LSTM(c["H"], return_sequences=True)
            else:
                layer = keras.layers.GRU(c["H"], return_sequences=True, reset_after=True)
            h = layer(h)
            layer.set_weights(list(w))
            made.append(layer)
        model = keras.Model(inp, h)
        xt = tf.convert_to_tensor(x)
        variables = [v for layer in made for v in layer.trainable_variables]
        jit = c["impl"] == "xla"
        if c["mode"] == "infer":
            f = tf.function(lambda x: model(x, training=False), jit_compile=jit)
        else:
            def step(x):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = model(x, training=True)
                    loss = tf.reduce_sum(y)
                return y, tape.gradient(loss, [x] + variables)
            f = tf.function(step, jit_compile=jit)
        state = {}

        def run():
            state["r"] = f(xt)

        def dumper():
            r = state["r"]
            if c["mode"] == "infer":
                return dump(c, r.numpy())
            y, g = r
            g = [t.numpy() for t in g]
            dump(c, y.numpy(), g[0], [tuple(g[1 + 3 * l:4 + 3 * l]) for l in range(c["L"])])
        return run, dumper


class Torch:
    """torch.nn.LSTM / nn.GRU (time-major), inference under inference_mode, training with autograd."""

    def __init__(self):
        import torch
        if THREADS:
            torch.set_num_threads(THREADS)
        self.torch = torch
        self.note = "torch %s" % torch.__version__

    def build(self, c):
        torch = self.torch
        if c["mode"] == "step":
            raise ValueError("torch peer: no step mode (a per-step Python call measures Python)")
        x, layers = load(c)
        lstm = c["cell"] == "lstm"
        cls = torch.nn.LSTM if lstm else torch.nn.GRU
        m = cls(c["I"], c["H"], num_layers=c["L"])
        perm = [0, 1, 2, 3] if lstm else [1, 0, 2]  # torch block j = Keras block perm[j]
        with torch.no_grad():
            for l, (k, r, b) in enumerate(layers):
                getattr(m, "weight_ih_l%d" % l).copy_(torch.from_numpy(blocks(k.T, perm, 0)))
                getattr(m, "weight_hh_l%d" % l).copy_(torch.from_numpy(blocks(r.T, perm, 0)))
                if lstm:  # Keras has one bias: all of it on the input side
                    getattr(m, "bias_ih_l%d" % l).copy_(torch.from_numpy(b))
                    getattr(m, "bias_hh_l%d" % l).zero_()
                else:
                    getattr(m, "bias_ih_l%d" % l).copy_(torch.from_numpy(blocks(b[0], perm, 0)))
                    getattr(m, "bias_hh_l%d" % l).copy_(torch.from_numpy(blocks(b[1], perm, 0)))
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2)))
        state = {}
        if c["mode"] == "infer":
            def run():
                with torch.inference_mode():
                    state["y"] = m(xt)[0]
        else:
            xt.requires_grad_(True)

            def run():
                m.zero_grad(set_to_none=True)
                xt.grad = None
                y = m(xt)[0]
                y.sum().backward()
                state["y"] = y

        def dumper():
            y = state["y"].detach().numpy().transpose(1, 0, 2)
            if c["mode"] == "infer":
                return dump(c, y)
            grads = []
            for l in range(c["L"]):
                gi = getattr(m, "weight_ih_l%d" % l).grad.numpy()
                gh = getattr(m, "weight_hh_l%d" % l).grad.numpy()
                bi = getattr(m, "bias_ih_l%d" % l).grad.numpy()
                bh = getattr(m, "bias_hh_l%d" % l).grad.numpy()
                db = blocks(bi, perm, 0) if lstm else np.stack([blocks(bi, perm, 0), blocks(bh, perm, 0)])
                grads.append((blocks(gi, perm, 0).T, blocks(gh, perm, 0).T, db))
            dump(c, y, xt.grad.numpy().transpose(1, 0, 2), grads)
        return run, dumper


class Ort:
    """ONNX Runtime CPU provider on LSTM / GRU graphs built with `onnx` (inference and step)."""

    def __init__(self):
        import onnx
        import onnxruntime
        self.onnx, self.ort = onnx, onnxruntime
        self.note = "onnxruntime %s, onnx %s" % (onnxruntime.__version__, onnx.__version__)

    def graph(self, c, layers, steps, with_state):
        from onnx import TensorProto, helper, numpy_helper
        lstm = c["cell"] == "lstm"
        perm = [0, 3, 1, 2] if lstm else [0, 1, 2]  # ONNX block j = Keras block perm[j]
        h, nodes, inits = c["H"], [], []
        inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [steps, c["B"], c["I"]])]
        outputs = []
        cur = "X"
        for l, (k, r, b) in enumerate(layers):
            w = blocks(k.T, perm, 0)[None]
            rr = blocks(r.T, perm, 0)[None]
            bb = np.concatenate([blocks(b, perm, 0), np.zeros_like(b)]) if lstm else b.reshape(-1)
            for name, a in (("W%d" % l, w), ("R%d" % l, rr), ("B%d" % l, bb[None])):
                inits.append(numpy_helper.from_array(np.ascontiguousarray(a, np.float32), name))
            ins = [cur, "W%d" % l, "R%d" % l, "B%d" % l]
            outs = ["Y%d" % l]
            if with_state:
                ins += ["", "h0"] + (["c0"] if lstm else [])
                outs += ["h1"] + (["c1"] if lstm else [])
                for n in ["h0"] + (["c0"] if lstm else []):
                    inputs.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, c["B"], h]))
                for n in ["h1"] + (["c1"] if lstm else []):
                    outputs.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, c["B"], h]))
            attrs = {"hidden_size": h}
            if not lstm:
                attrs["linear_before_reset"] = 1
            nodes.append(helper.make_node("LSTM" if lstm else "GRU", ins, outs, **attrs))
            nodes.append(helper.make_node("Squeeze", ["Y%d" % l, "axis1"], ["S%d" % l]))
            cur = "S%d" % l
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis1"))
        outputs.insert(0, helper.make_tensor_value_info(cur, TensorProto.FLOAT, [steps, c["B"], h]))
        g = helper.make_graph(nodes, "rnn", inputs, outputs, inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8  # the IR of opset 17: newer `onnx` releases write IRs ORT may not read yet
        so = self.ort.SessionOptions()
        if THREADS:
            so.intra_op_num_threads = THREADS
        return self.ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])

    def build(self, c):
        if c["mode"] == "train":
            raise ValueError("ort peer: ONNX Runtime's inference package has no training")
        x, layers = load(c)
        xt = np.ascontiguousarray(x.transpose(1, 0, 2))
        state = {}
        if c["mode"] == "infer":
            sess = self.graph(c, layers, c["T"], False)

            def run():
                state["y"] = sess.run(None, {"X": xt})[0]

            return run, lambda: dump(c, state["y"].transpose(1, 0, 2))
        sess = self.graph(c, layers, 1, True)  # step: one call per time step, states carried
        lstm, shape = c["cell"] == "lstm", (1, c["B"], c["H"])
        steps = [xt[t:t + 1] for t in range(c["T"])]

        def run():
            feeds = {"h0": np.zeros(shape, np.float32)}
            if lstm:
                feeds["c0"] = np.zeros(shape, np.float32)
            ys = []
            for xs in steps:
                feeds["X"] = xs
                out = sess.run(None, feeds)
                feeds["h0"] = out[1]
                if lstm:
                    feeds["c0"] = out[2]
                ys.append(out[1][0])
            state["y"] = ys

        return run, lambda: dump(c, np.stack(state["y"], axis=1))


def main():
    peer = {"keras": Keras, "torch": Torch, "ort": Ort}[sys.argv[1]]()
    built = {}
    for line in sys.stdin:
        line = line.strip()
        if line == "quit":
            break
        if not line:
            continue
        try:
            c = parse(line)
            key = " ".join("%s=%s" % (k, c[k]) for k in ("cell", "B", "T", "I", "H", "L", "mode", "impl", "data"))
            if key not in built:
                built[key] = peer.build(c)
            run, dumper = built[key]
            ms = time_calls(run, c["reps"], c["max_s"])
            if c["dump"]:
                dumper()
            answer = {"ok": True, "ms": ms, "note": peer.note}
        except Exception as e:  # the driver reports it; the worker stays up for the next case
            answer = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
