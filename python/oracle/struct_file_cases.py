"""Functional models whose inputs or outputs are nested lists / dicts, in real Keras model
files (part of the `files` family, file_cases.py; also `--only struct_files`, which writes
only these files and leaves the rest of tests/data/files alone).

Keras keeps the nesting in the config's input_layers / output_layers (K3
models/functional.py get_config: tree.map_structure over _inputs_struct / _outputs_struct;
tf_keras engine/functional.py get_network_config: tf.nest.pack_sequence_as): a leaf is a
[layer, node_index, tensor_index] triple, anything else a list or a dict. The model's flat
inputs / outputs are the leaves in keras.tree.flatten order (dicts by sorted key), and the
npz files hold them in that order: inputs c0_x<j>, outputs c0_y<j>.

Writes `struct_cases.json` (the index tests/io/nested_outputs_test.cpp reads; same fields as
cases.json plus `input_structure` / `output_structure`, the nesting with leaves numbered in
flatten order as rnnx::TensorStructure::to_string() prints it) and, per architecture and
library, `<arch>.<lib>.npz`. Every file is loaded back by the library that wrote it and must
reproduce the recorded outputs.
"""
import json
import os
import zlib

import numpy as np

from . import runner as R
from .common import write_npz

INDEX = "struct_cases.json"


def _seed(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def _randn(rng, shape):
    return rng.normal(0.0, 1.0, size=shape).astype(np.float32)


# ---------------------------------------------------------------------------
# Architectures: build(lib module, layers module) -> model; inputs(rng) -> the structured
# model input of one call.
# ---------------------------------------------------------------------------
def arch_struct_out_lstm_cells(m, L):
    # RNN over two LSTM cells with return_state: [out, [h1, c1], [h2, c2]] as the outputs.
    i = m.Input(shape=(5, 4))
    return m.Model(i, L.RNN([L.LSTMCell(3), L.LSTMCell(2)], return_state=True, return_sequences=True)(i))


def arch_struct_out_gru_srnn_cells(m, L):
    # GRUCell / SimpleRNNCell have one state each: [out, h1, h2].
    i = m.Input(shape=(5, 4))
    return m.Model(i, L.RNN([L.GRUCell(3), L.SimpleRNNCell(2)], return_state=True, return_sequences=True)(i))


def arch_struct_out_list(m, L):
    i = m.Input(shape=(5, 4))
    o, h, c = L.LSTM(3, return_state=True, name="enc")(i)
    return m.Model(i, [L.Dense(2, name="head")(o), [h, L.GRU(2, return_sequences=True, name="side")(i)]])


def arch_struct_out_dict(m, L):
    # Created z first; keras.tree.flatten puts a_out first (sorted keys).
    i = m.Input(shape=(5, 4))
    z = L.Dense(2, name="z_head")(L.LSTM(3, name="z_lstm")(i))
    a = L.GRU(3, return_sequences=True, name="a_gru")(i)
    return m.Model(i, {"z_out": z, "a_out": a})


def arch_struct_in_dict(m, L):
    # Inputs as a dict, b_in created first: the flat order is a_in, b_in (sorted keys).
    b = m.Input(shape=(3, 2), name="b_in")
    a = m.Input(shape=(5, 4), name="a_in")
    y = L.Concatenate()([L.LSTM(3)(a), L.GRU(2)(b)])
    return m.Model({"b_in": b, "a_in": a}, [L.Dense(2)(y), {"s": L.SimpleRNN(2)(a)}])


def arch_struct_in_list(m, L):
    a = m.Input(shape=(5, 4), name="a")
    b = m.Input(shape=(3, 2), name="b")
    c = m.Input(shape=(4, 3), name="c")
    return m.Model([a, [b, c]], L.Concatenate()([L.LSTM(3)(a), L.GRU(2)(b), L.SimpleRNN(2)(c)]))


def arch_struct_nested_model(m, L):
    # A nested Functional with dict inputs and dict/list outputs, called on a dict: Keras 3
    # records the call's argument as a dict (and its masks as {"a_in": null, "b_in": null}),
    # tf_keras the node itself as a dict; the outer outputs read its flat outputs
    # (x = [o, [h, c]] then y: tensors 0..3).
    bi = m.Input(shape=(3, 2), name="b_in")
    ai = m.Input(shape=(5, 4), name="a_in")
    o, h, c = L.LSTM(3, return_state=True, name="enc")(ai)
    inner = m.Model({"b_in": bi, "a_in": ai}, {"y": L.GRU(2, name="side")(bi), "x": [o, [h, c]]}, name="inner")
    a = m.Input(shape=(5, 4), name="a")
    b = m.Input(shape=(3, 2), name="b")
    d = inner({"a_in": a, "b_in": b})
    return m.Model([a, b], [L.Dense(2, name="head")(d["x"][0]), d["y"], d["x"][1]])


def _one(rng):
    return _randn(rng, (3, 5, 4))


ARCHS = {
    # name: (build, inputs(rng), formats, notes)
    "struct_out_lstm_cells": (arch_struct_out_lstm_cells, _one, ["k3_keras", "k3_legacy", "tfk_h5", "tfk_keras"],
                              "RNN([LSTMCell, LSTMCell], return_state, return_sequences) as the outputs: "
                              "[out, [h1, c1], [h2, c2]]"),
    "struct_out_gru_srnn_cells": (arch_struct_out_gru_srnn_cells, _one, ["k3_keras", "tfk_h5"],
                                  "RNN([GRUCell, SimpleRNNCell], return_state, return_sequences) as the outputs"),
    "struct_out_list": (arch_struct_out_list, _one, ["k3_keras", "k3_legacy", "tfk_h5"], "outputs [a, [b, c]]"),
    "struct_out_dict": (arch_struct_out_dict, _one, ["k3_keras", "tfk_h5", "tfk_keras"],
                        "outputs {'z_out': a, 'a_out': b} (flat order: a_out, z_out)"),
    "struct_in_dict": (arch_struct_in_dict, lambda rng: {"a_in": _randn(rng, (3, 5, 4)), "b_in": _randn(rng, (3, 3, 2))},
                       ["k3_keras", "k3_legacy", "tfk_h5"], "inputs {'b_in', 'a_in'}, outputs [a, {'s': b}]"),
    "struct_in_list": (arch_struct_in_list,
                       lambda rng: [_randn(rng, (3, 5, 4)), [_randn(rng, (3, 3, 2)), _randn(rng, (3, 4, 3))]],
                       ["k3_keras", "tfk_h5"], "inputs [a, [b, c]]"),
    "struct_nested_model": (arch_struct_nested_model, lambda rng: [_randn(rng, (3, 5, 4)), _randn(rng, (3, 3, 2))],
                            ["k3_keras", "tfk_h5", "tfk_keras"],
                            "a nested model with dict inputs and nested outputs, called on a dict"),
}

FORMATS = {
    "k3_keras": ("k3.keras", "keras_archive"),
    "k3_legacy": ("k3_legacy.h5", "legacy_model"),
    "tfk_h5": ("tfk.h5", "legacy_model"),
    "tfk_keras": ("tfk.keras", "keras_archive"),
}


def _flatten(lib, structure):
    return R.keras.tree.flatten(structure) if lib == "k3" else R.tf.nest.flatten(structure)


def _predict(lib, model, feed):
    y = model(feed, training=False)
    return [np.asarray(t.numpy() if hasattr(t, "numpy") else t, dtype=np.float32) for t in _flatten(lib, y)]


def structure_string(io_layers, keras2):
    """The nesting of a config's input_layers / output_layers as rnnx prints it: leaves
    numbered in flatten order, dicts by sorted key; tf_keras's list around one tensor is a
    single tensor (it unwraps it when it builds the model)."""
    count = [0]

    def leaf(j):
        return isinstance(j, list) and len(j) in (3, 4) and isinstance(j[0], str)

    def walk(j):
        if leaf(j):
            count[0] += 1
            return str(count[0] - 1)
        if isinstance(j, dict):
            return "{" + ", ".join("'%s': %s" % (k, walk(j[k])) for k in sorted(j)) + "}"
        return "[" + ", ".join(walk(e) for e in j) + "]"

    if keras2 and isinstance(io_layers, list) and len(io_layers) == 1 and leaf(io_layers[0]):
        return "0"
    return walk(io_layers)


def generate(out_dir, versions):
    keras, tf_keras = R.keras, R.tf_keras
    os.makedirs(out_dir, exist_ok=True)
    libs = {"k3": (keras, keras.layers, versions["keras"]), "tfk": (tf_keras, tf_keras.layers, versions["tf_keras"])}
    cases = []
    for arch, (build, make_inputs, fmts, notes) in ARCHS.items():
        feed = make_inputs(np.random.RandomState(_seed(arch)))
        for lib in ("k3", "tfk"):
            lib_fmts = [f for f in fmts if f.startswith(lib)]
            if not lib_fmts:
                continue
            mod, L, version = libs[lib]
            R.clear(lib)
            R.set_seed(lib, _seed(arch))
            model = build(mod, L)
            rng = np.random.RandomState(_seed(arch + "/weights"))
            model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32) for w in model.get_weights()])
            arrays = {}
            for j, x in enumerate(_flatten(lib, feed)):
                arrays["c0_x%d" % j] = x
            for j, y in enumerate(_predict(lib, model, feed)):
                assert np.all(np.isfinite(y))
                arrays["c0_y%d" % j] = y
            npz = "%s.%s.npz" % (arch, lib)
            write_npz(os.path.join(out_dir, npz), arrays)
            config = json.loads(model.to_json())["config"]
            for fmt in lib_fmts:
                suffix, kind = FORMATS[fmt]
                name = "%s.%s" % (arch, suffix)
                path = os.path.join(out_dir, name)
                model.save(path)
                R.clear(lib)
                again = mod.models.load_model(path, compile=False)
                for j, y in enumerate(_predict(lib, again, feed)):
                    np.testing.assert_allclose(y, arrays["c0_y%d" % j], rtol=1e-6, atol=1e-6)
                cases.append({"file": name, "arch": arch, "writer": lib, "kind": kind, "load": "model", "npz": npz,
                              "keras_version": version, "notes": notes,
                              "input_structure": structure_string(config["input_layers"], lib == "tfk"),
                              "output_structure": structure_string(config["output_layers"], lib == "tfk")})
    with open(os.path.join(out_dir, INDEX), "w") as f:
        json.dump({"generator": "python/oracle/struct_file_cases.py", "versions": versions, "cases": cases}, f,
                  indent=1)
        f.write("\n")
    return len(cases)
