"""Keras 3 `.keras` files whose recurrent layers carry regularizers and constraints, which
Keras 3 writes with a `shared_object_id` (part of the `files` family, file_cases.py; also
`--only shared_objects`, which writes only these files and leaves the rest of
tests/data/files alone).

Why the key is there (keras/src/saving/serialization_lib.py, saving_lib.py): saving runs in
an ObjectSharingScope; serialize_keras_object records every object it serializes by its
Python id(), and when the same object is serialized a second time both configs get
"shared_object_id": id(obj). An RNN layer's get_config serializes its cell (RNN.get_config
"cell", later deleted) and the cell's initializers / regularizers / constraints again
(LSTM/GRU/SimpleRNN.get_config), so every such object of a recurrent layer carries the key;
an object passed to two layers gets the same id in both. On load (deserialize_keras_object)
a config whose shared_object_id was already deserialized is not read at all: the first
object is reused. Regularizers and constraints are stateless, so sharing changes no number.

However, regularizers, constraints and initializers are deserialized with module_objects
(regularizers.deserialize, ...), a path that rebuilds the config from class_name + config
and drops the id: Keras 3.15 reads every copy on its own. `shared_reg_rnns_conflict.k3.keras`
shows it: the shared L2's copy in the GRU is edited to l2 = 0.5, and Keras loads the LSTM
with 0.01 and the GRU with 0.5 (recorded in `keras_reads`).

Writes `shared_object_cases.json` (same fields as cases.json plus `shared_ids`, the number
of shared_object_id values that occur more than once in the file's config, and
`keras_reads`: per layer, the get_config() of each regularizer / constraint of the model
Keras loads back) and, per architecture, `<arch>.k3.npz` (inputs `c0_x0`, Keras outputs
`c0_y0`). Every file is loaded back by Keras and must reproduce the recorded outputs.
"""
import json
import os
import zipfile
import zlib

import numpy as np

from . import runner as R
from .common import write_npz

INDEX = "shared_object_cases.json"


def _seed(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def arch_shared_reg_rnns(keras):
    # One L2 object on two layers (its id repeats across layers); constraints per layer.
    L = keras.layers
    reg = keras.regularizers.L2(0.01)
    i = keras.Input(shape=(5, 4))
    x = L.LSTM(3, return_sequences=True, kernel_regularizer=reg, recurrent_constraint=keras.constraints.MaxNorm(0.5),
               bias_constraint=keras.constraints.NonNeg(), name="lstm")(i)
    x = L.GRU(3, return_sequences=True, kernel_regularizer=reg, recurrent_regularizer=keras.regularizers.L1(0.001),
              recurrent_constraint=keras.constraints.UnitNorm(axis=0), bias_constraint=keras.constraints.MaxNorm(1.0),
              name="gru")(x)
    x = L.SimpleRNN(2, kernel_regularizer=keras.regularizers.L1L2(l1=0.001, l2=0.002),
                    bias_regularizer=reg, recurrent_constraint=keras.constraints.MinMaxNorm(0.1, 0.9, rate=0.5),
                    bias_constraint=keras.constraints.NonNeg(), activity_regularizer=keras.regularizers.L2(0.003),
                    name="simple_rnn")(x)
    return keras.Model(i, L.Dense(2, kernel_regularizer=reg, kernel_constraint=keras.constraints.MaxNorm(2.0))(x))


def arch_shared_seq_lstm(keras):
    # Sequential, the layer kind of the issue report: SimpleRNN / LSTM with a regularizer
    # and recurrent_constraint, no shared object across layers.
    L = keras.layers
    return keras.Sequential([
        keras.Input(shape=(5, 4)),
        L.SimpleRNN(3, return_sequences=True, kernel_regularizer="l2", recurrent_constraint="max_norm"),
        L.LSTM(2, kernel_regularizer=keras.regularizers.L1(0.01), bias_constraint="non_neg"),
    ])


ARCHS = {
    "shared_reg_rnns": (arch_shared_reg_rnns, "L2 object shared by LSTM, GRU, SimpleRNN and Dense; constraints"),
    "shared_seq_rnns": (arch_shared_seq_lstm, "Sequential SimpleRNN + LSTM with regularizer names and constraints"),
}


def _shared_ids(config):
    ids = {}

    def walk(j):
        if isinstance(j, dict):
            if "shared_object_id" in j:
                ids[j["shared_object_id"]] = ids.get(j["shared_object_id"], 0) + 1
            for v in j.values():
                walk(v)
        elif isinstance(j, list):
            for v in j:
                walk(v)

    walk(config)
    return sum(1 for n in ids.values() if n > 1)


SETTINGS = ["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
            "recurrent_constraint", "bias_constraint"]


def _keras_reads(model):
    out = {}
    for layer in model.layers:
        got = {}
        for key in SETTINGS:
            obj = getattr(getattr(layer, "cell", layer), key, None)
            if obj is not None:
                got[key] = {"class_name": type(obj).__name__, "config": obj.get_config()}
        if got:
            out[layer.name] = got
    return out


def _conflict_copy(src, dst):
    """`src` with the GRU's copy of the shared L2 changed to l2 = 0.5 (same shared_object_id)."""
    with zipfile.ZipFile(src) as z:
        members = [(info, z.read(info.filename)) for info in z.infolist()]
    with zipfile.ZipFile(dst, "w") as z:
        for info, data in members:
            if info.filename == "config.json":
                config = json.loads(data)
                layers = config["config"]["layers"]
                gru = [entry for entry in layers if entry["config"]["name"] == "gru"][0]
                reg = gru["config"]["kernel_regularizer"]
                assert "shared_object_id" in reg, reg
                reg["config"]["l2"] = 0.5
                data = json.dumps(config).encode()
            z.writestr(info, data)


def _check_and_entry(path, arch, npz, x, y, versions, notes):
    keras = R.keras
    with zipfile.ZipFile(path) as z:
        shared = _shared_ids(json.loads(z.read("config.json")))
    assert shared > 0, "no repeated shared_object_id in %s" % path
    R.clear("k3")
    again = keras.models.load_model(path, compile=False)
    np.testing.assert_allclose(np.asarray(again(x, training=False)), y, rtol=1e-6, atol=1e-6)
    return {"file": os.path.basename(path), "arch": arch, "writer": "k3", "kind": "keras_archive", "load": "model",
            "npz": npz, "keras_version": versions["keras"], "notes": notes, "shared_ids": shared,
            "keras_reads": _keras_reads(again)}


def generate(out_dir, versions):
    keras = R.keras
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    for arch, (build, notes) in ARCHS.items():
        R.clear("k3")
        R.set_seed("k3", _seed(arch))
        model = build(keras)
        rng = np.random.RandomState(_seed(arch + "/weights"))
        model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32) for w in model.get_weights()])
        x = rng.normal(0.0, 1.0, size=(3, 5, 4)).astype(np.float32)
        y = np.asarray(model(x, training=False), dtype=np.float32)
        assert np.all(np.isfinite(y))
        npz = "%s.k3.npz" % arch
        write_npz(os.path.join(out_dir, npz), {"c0_x0": x, "c0_y0": y})
        path = os.path.join(out_dir, "%s.k3.keras" % arch)
        model.save(path)
        cases.append(_check_and_entry(path, arch, npz, x, y, versions, notes))
        if arch == "shared_reg_rnns":
            conflict = os.path.join(out_dir, "%s_conflict.k3.keras" % arch)
            _conflict_copy(path, conflict)
            cases.append(_check_and_entry(conflict, arch, npz, x, y, versions,
                                          notes + "; the GRU's copy of the shared L2 edited to l2 = 0.5"))
            assert cases[-1]["keras_reads"]["gru"]["kernel_regularizer"]["config"]["l2"] == 0.5
            assert cases[-1]["keras_reads"]["lstm"]["kernel_regularizer"]["config"]["l2"] == 0.01
    with open(os.path.join(out_dir, INDEX), "w") as f:
        json.dump({"generator": "python/oracle/shared_object_cases.py", "versions": versions, "cases": cases}, f,
                  indent=1)
        f.write("\n")
    return len(cases)
