"""`files` family: real Keras model files and Keras's predictions for them.

Writes tests/data/files/ (flat): one model file per (architecture, writer, format), an
`<arch>.<lib>.npz` per architecture and library (inputs `c{i}_x{j}`, Keras outputs
`c{i}_y{j}` for consecutive calls i without state resets), `cases.json` (the index the
C++ tests read) and README.md (which lists the few files re-encoded with h5py rather than
written by Keras; each of those is loaded back by tf_keras and must reproduce the
predictions), plus the broken weight files of tests/io.
"""
import json
import os
import zlib

import numpy as np

from . import k2_file_cases
from . import nested_file_cases
from . import struct_file_cases
from . import shared_object_cases
from . import conv1d_file_cases
from . import runner as R
from .common import write_npz

FAMILY = "files"

# writer/format -> (file suffix, kind the C++ loader must detect, how the test loads it)
FORMATS = {
    "k3_keras": ("k3.keras", "keras_archive", "model"),
    "k3_legacy": ("k3_legacy.h5", "legacy_model", "model"),
    "k3_weights": ("k3.weights.h5", "keras_weights", "weights"),
    "tfk_h5": ("tfk.h5", "legacy_model", "model"),
    "tfk_keras": ("tfk.keras", "keras_archive", "model"),
    "tfk_weights": ("tfk_weights.h5", "legacy_weights", "weights"),
}


def _seed(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def _randn(rng, shape, scale=1.0):
    return (rng.normal(0.0, 1.0, size=shape) * scale).astype(np.float32)


def _padded(rng, B, T, D, scale=1.0):
    x = _randn(rng, (B, T, D), scale)
    for b in range(B):
        n = T - (b % (T - 1))
        x[b, n:] = 0.0
    return x


def _ids(rng, B, T, vocab):
    x = rng.randint(1, vocab, size=(B, T)).astype(np.int32)
    for b in range(B):
        x[b, T - (b % (T - 1)):] = 0
    return x


# ---------------------------------------------------------------------------
# Architectures: build(lib module, layers module, is_k3) -> model; inputs(rng) -> list of
# calls, each a list of model inputs. Layer arguments are identical for both libraries.
# ---------------------------------------------------------------------------
def _seq(m, L, shape, layers, batch_size=None):
    return m.Sequential([m.Input(shape=shape, batch_size=batch_size)] + layers)


def arch_lstm_dense(m, L, k3):
    return _seq(m, L, (5, 4), [L.LSTM(3), L.Dense(2, activation="tanh")])


def arch_gru_td(m, L, k3):
    return _seq(m, L, (5, 4), [L.GRU(3, return_sequences=True), L.TimeDistributed(L.Dense(2))])


def arch_gru_before(m, L, k3):
    return _seq(m, L, (5, 4), [L.GRU(3, reset_after=False, go_backwards=True), L.Dense(2)])


def arch_simple_rnn(m, L, k3):
    return _seq(m, L, (5, 4), [L.SimpleRNN(3, activation="relu", return_sequences=True), L.SimpleRNN(2),
                               L.Dense(2, activation="softmax")])


def arch_bidi_concat(m, L, k3):
    return _seq(m, L, (5, 4), [L.Bidirectional(L.LSTM(3)), L.Dense(2)])


def arch_bidi_sum(m, L, k3):
    return _seq(m, L, (5, 4), [L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="sum")])


def arch_bidi_mul(m, L, k3):
    return _seq(m, L, (5, 4), [L.Bidirectional(L.SimpleRNN(3), merge_mode="mul")])


def arch_bidi_ave(m, L, k3):
    return _seq(m, L, (5, 4), [L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="ave")])


def arch_bidi_none(m, L, k3):
    i = m.Input(shape=(5, 4))
    f, b = L.Bidirectional(L.LSTM(2), merge_mode=None)(i)
    return m.Model(i, [f, b])


def arch_stacked_cells(m, L, k3):
    cells = [L.LSTMCell(3), L.GRUCell(2), L.SimpleRNNCell(2)]
    return _seq(m, L, (5, 4), [L.RNN(cells, return_sequences=True), L.Dense(2)])


def arch_embedding_lstm(m, L, k3):
    return _seq(m, L, (6,), [L.Embedding(7, 4, mask_zero=True), L.LSTM(3), L.Dense(2)])


def arch_masking_td(m, L, k3):
    return _seq(m, L, (5, 4), [L.Masking(0.0), L.LSTM(3, return_sequences=True),
                               L.TimeDistributed(L.Dense(2, activation="sigmoid"))])


def arch_stateful(m, L, k3):
    return _seq(m, L, (4, 3), [L.LSTM(3, stateful=True, return_sequences=True), L.Dense(2)], batch_size=2)


def arch_enc_dec(m, L, k3):
    enc_in = m.Input(shape=(5, 4), name="enc_in")
    dec_in = m.Input(shape=(3, 2), name="dec_in")
    _, h, c = L.LSTM(3, return_state=True, name="encoder")(enc_in)
    y = L.LSTM(3, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    y = L.Dense(2, name="head")(y)
    return m.Model([enc_in, dec_in], y)


def arch_pool_concat(m, L, k3):
    i = m.Input(shape=(5, 4))
    h = L.LSTM(3, return_sequences=True)(i)
    p = L.Concatenate()([L.GlobalMaxPooling1D()(h), L.GlobalAveragePooling1D()(h)])
    p = L.Dropout(0.5)(p)
    return m.Model(i, L.Dense(2)(p))


def arch_two_inputs(m, L, k3):
    a = m.Input(shape=(5, 4))
    b = m.Input(shape=(3, 2))
    x = L.Concatenate()([L.LSTM(3)(a), L.GRU(2)(b)])
    return m.Model([a, b], L.Dense(2)(x))


def arch_hard_sigmoid(m, L, k3):
    return _seq(m, L, (5, 4), [L.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True),
                               L.GRU(2, recurrent_activation="hard_sigmoid", reset_after=False)])


def seq_inputs(rng, B=3, T=5, D=4, scale=1.0):
    return [[_randn(rng, (B, T, D), scale)]]


ARCHS = {
    # name: (build, inputs(rng), formats, notes)
    "lstm_dense": (arch_lstm_dense, seq_inputs,
                   ["k3_keras", "k3_legacy", "k3_weights", "tfk_h5", "tfk_keras", "tfk_weights"], ""),
    "gru_td": (arch_gru_td, seq_inputs, ["k3_keras", "tfk_h5"], "GRU reset_after=True + TimeDistributed(Dense)"),
    "gru_before": (arch_gru_before, seq_inputs, ["k3_keras", "tfk_h5", "tfk_keras"],
                   "GRU reset_after=False, go_backwards"),
    "simple_rnn": (arch_simple_rnn, seq_inputs, ["k3_keras", "tfk_h5"], ""),
    "bidi_concat": (arch_bidi_concat, seq_inputs, ["k3_keras", "tfk_h5", "tfk_keras"], ""),
    "bidi_sum": (arch_bidi_sum, seq_inputs, ["k3_keras"], ""),
    "bidi_mul": (arch_bidi_mul, seq_inputs, ["k3_keras", "tfk_h5"], ""),
    "bidi_ave": (arch_bidi_ave, seq_inputs, ["k3_keras"], ""),
    "bidi_none": (arch_bidi_none, seq_inputs, ["k3_keras", "tfk_h5"], "merge_mode=None: two outputs"),
    "stacked_cells": (arch_stacked_cells, seq_inputs, ["k3_keras", "tfk_h5", "tfk_keras"], "RNN([cells])"),
    "embedding_lstm": (arch_embedding_lstm, lambda rng: [[_ids(rng, 3, 6, 7)]],
                       ["k3_keras", "k3_weights", "tfk_h5", "tfk_weights"], "Embedding(mask_zero) + LSTM"),
    "masking_td": (arch_masking_td, lambda rng: [[_padded(rng, 3, 5, 4)]], ["k3_keras", "tfk_h5"], ""),
    "stateful": (arch_stateful, lambda rng: [[_randn(rng, (2, 4, 3))], [_randn(rng, (2, 4, 3))]],
                 ["k3_keras", "tfk_h5"], "two calls, state carried over"),
    "enc_dec": (arch_enc_dec, lambda rng: [[_randn(rng, (3, 5, 4)), _randn(rng, (3, 3, 2))]],
                ["k3_keras", "k3_legacy", "tfk_h5", "tfk_keras"], "encoder-decoder, initial_state"),
    "pool_concat": (arch_pool_concat, seq_inputs, ["k3_keras", "tfk_h5"], "pooling, Concatenate, Dropout"),
    "two_inputs": (arch_two_inputs, lambda rng: [[_randn(rng, (3, 5, 4)), _randn(rng, (3, 3, 2))]],
                   ["k3_keras", "tfk_h5"], ""),
    "hard_sigmoid": (arch_hard_sigmoid, lambda rng: seq_inputs(rng, scale=3.0), ["k3_keras", "tfk_h5", "tfk_keras"],
                     "hard_sigmoid: 0.2x+0.5 in tf_keras files, x/6+0.5 in Keras 3 files"),
}


# ---------------------------------------------------------------------------
def _outputs(model, call):
    feed = [R.tensor(x) for x in call]
    y = model(feed if len(feed) > 1 else feed[0], training=False)
    ys = y if isinstance(y, (list, tuple)) else [y]
    return [np.asarray(t.numpy() if hasattr(t, "numpy") else t, dtype=np.float32) for t in ys]


def _record(calls, model):
    arrays = {}
    for ci, call in enumerate(calls):
        for j, x in enumerate(call):
            arrays["c%d_x%d" % (ci, j)] = x
        for j, y in enumerate(_outputs(model, call)):
            assert np.all(np.isfinite(y))
            arrays["c%d_y%d" % (ci, j)] = y
    return arrays


def _save(model, lib, fmt, path):
    if fmt in ("k3_keras", "tfk_keras", "k3_legacy", "tfk_h5"):
        model.save(path)
    elif fmt == "k3_weights":
        model.save_weights(path)
    elif fmt == "tfk_weights":
        model.save_weights(path, save_format="h5")
    else:
        raise ValueError(fmt)


def _entry(name, arch, lib, fmt, npz, notes, version, config=None):
    suffix, kind, load = FORMATS[fmt]
    e = {"file": name, "arch": arch, "writer": lib, "kind": kind, "load": load, "npz": npz,
         "keras_version": version, "notes": notes}
    if load == "weights":
        e["config"] = config  # model.to_json() text for model_from_config
    return e


def _k2_entry(name, arch, writer, kind, load, npz, notes, version, config):
    """Entry of a standalone Keras 2.2.4 / 2.3.1 file (k2_file_cases.py, h5py-written)."""
    e = {"file": name, "arch": arch, "writer": writer, "kind": kind, "load": load, "npz": npz,
         "keras_version": version, "notes": notes}
    if load == "weights":
        e["config"] = config  # K2 model.to_json() text
    return e


def _check_reload(lib_mod, path, calls, arrays, custom=None):
    """Keras itself must load the file and give the recorded predictions."""
    R.clear("tfk")
    m = lib_mod.models.load_model(path, compile=False, custom_objects=custom)
    for ci, call in enumerate(calls):
        for j, y in enumerate(_outputs(m, call)):
            np.testing.assert_allclose(y, arrays["c%d_y%d" % (ci, j)], rtol=1e-6, atol=1e-6)


def _rewrite_attrs(src, dst, chunked):
    """Copy of a tf_keras .h5 with attributes in older encodings: fixed-length byte strings
    (Keras <= 2.3 wrote np.bytes_ arrays), or the list attributes split into chunks."""
    import h5py
    import shutil
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        for k in ("model_config", "keras_version", "backend"):
            v = f.attrs[k]
            v = v.encode("utf8") if isinstance(v, str) else bytes(v)
            del f.attrs[k]
            f.attrs[k] = np.bytes_(v)
        g = f["model_weights"]
        groups = [g] + [g[n] for n in g.keys()]
        for grp in groups:
            for key in ("layer_names", "weight_names"):
                if key not in grp.attrs:
                    continue
                vals = [n.encode("utf8") if isinstance(n, str) else bytes(n) for n in grp.attrs[key]]
                del grp.attrs[key]
                if chunked and len(vals) >= 2:
                    half = len(vals) // 2
                    grp.attrs[key + "0"] = np.array(vals[:half])
                    grp.attrs[key + "1"] = np.array(vals[half:])
                else:
                    grp.attrs[key] = np.array(vals) if vals else np.zeros((0,), dtype=np.float64)


def generate(out_dir, versions):
    keras, tf_keras = R.keras, R.tf_keras
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    libs = {"k3": (keras, keras.layers, versions["keras"]), "tfk": (tf_keras, tf_keras.layers, versions["tf_keras"])}
    for arch, (build, make_inputs, fmts, notes) in list(ARCHS.items()) + list(nested_file_cases.ARCHS.items()):
        calls = make_inputs(np.random.RandomState(_seed(arch)))
        weights = None
        for lib in ("k3", "tfk"):
            lib_fmts = [f for f in fmts if f.startswith(lib)]
            if not lib_fmts:
                continue
            mod, L, version = libs[lib]
            R.clear(lib)
            R.set_seed(lib, _seed(arch))
            model = build(mod, L, lib == "k3")
            if weights is None:
                rng = np.random.RandomState(_seed(arch + "/weights"))
                weights = [rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32) for w in model.get_weights()]
            model.set_weights(weights)
            for layer in model.layers:  # stateful: start from zero states
                if getattr(layer, "stateful", False):
                    layer.reset_states()
            arrays = _record(calls, model)
            npz = "%s.%s.npz" % (arch, lib)
            write_npz(os.path.join(out_dir, npz), arrays)
            for fmt in lib_fmts:
                name = "%s.%s" % (arch, FORMATS[fmt][0])
                path = os.path.join(out_dir, name)
                _save(model, lib, fmt, path)
                cases.append(_entry(name, arch, lib, fmt, npz, notes, version,
                                    model.to_json() if FORMATS[fmt][2] == "weights" else None))
            if arch == "hard_sigmoid" and lib == "tfk":
                name = "hard_sigmoid.k1_weights.h5"
                _keras1_weights(os.path.join(out_dir, "hard_sigmoid.tfk.h5"), os.path.join(out_dir, name))
                R.clear("tfk")
                check = tf_keras.models.model_from_json(model.to_json())
                check.load_weights(os.path.join(out_dir, name))  # tf_keras converts the Keras 1 layout
                for j, y in enumerate(_outputs(check, calls[0])):
                    np.testing.assert_allclose(y, arrays["c0_y%d" % j], rtol=1e-6, atol=1e-6)
                e = _entry(name, arch, lib, "tfk_weights", npz, "Keras 1 weight layout (LSTM 12 arrays, GRU 9), "
                           "no keras_version", version, model.to_json())
                e["file_keras_version"] = ""
                cases.append(e)
            if arch == "lstm_dense" and lib == "tfk":
                src = os.path.join(out_dir, "lstm_dense.tfk.h5")
                for variant, chunked in (("fixedlen", False), ("chunked", True)):
                    name = "lstm_dense.tfk_%s.h5" % variant
                    _rewrite_attrs(src, os.path.join(out_dir, name), chunked)
                    _check_reload(tf_keras, os.path.join(out_dir, name), calls, arrays)
                    e = _entry(name, arch, lib, "tfk_h5", npz, "attributes re-encoded: " + variant, version)
                    cases.append(e)
    cases += nested_file_cases.variants(out_dir, _entry, versions)
    cases += _cudnn_cases(out_dir, versions)
    cases += k2_file_cases.generate(out_dir, _k2_entry)
    _broken_weights(out_dir)
    struct_file_cases.generate(out_dir, versions)  # its own index, struct_cases.json
    shared_object_cases.generate(out_dir, versions)  # its own index, shared_object_cases.json
    conv1d_file_cases.generate(out_dir, versions)  # its own index, conv1d_file_cases.json
    __import__("oracle.conv2d_file_cases", fromlist=["x"]).generate(out_dir, versions)  # conv2d_file_cases.json
    __import__("oracle.issue9_file_cases", fromlist=["x"]).generate(out_dir, versions)  # issue9_file_cases.json
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump({"generator": "python/oracle/file_cases.py", "versions": versions, "cases": cases}, f, indent=1)
        f.write("\n")
    _write_readme(out_dir, versions, len(cases))
    return len(cases)


def _keras1_weights(src, dst):
    """A weights-only legacy file in the Keras 1 layout, made from a tf_keras .h5: LSTM as 12
    arrays (W, U, b per gate, gates i, c, f, o), GRU as 9 (gates z, r, h), no keras_version
    attribute (which is what makes Keras read it as Keras 1)."""
    import h5py

    def blocks(a, n):
        return np.split(np.asarray(a), n, axis=-1)

    with h5py.File(src, "r") as s, h5py.File(dst, "w") as d:
        g = s["model_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["layer_names"]]
        d.attrs["layer_names"] = np.array([n.encode() for n in names])
        d.attrs["backend"] = b"theano"
        for n in names:
            wn = [w.decode() if isinstance(w, bytes) else w for w in g[n].attrs["weight_names"]]
            arrays = [np.asarray(g[n][w]) for w in wn]
            if n.startswith("lstm"):
                k, r, b = (blocks(a, 4) for a in arrays)   # i, f, c, o
                order = [0, 2, 1, 3]                        # Keras 1: i, c, f, o
                gates = "icfo"
            elif n.startswith("gru"):
                k, r, b = (blocks(a, 3) for a in arrays)   # z, r, h
                order = [0, 1, 2]
                gates = "zrh"
            else:
                order = None
            if order is not None:
                arrays, wn = [], []
                for gate, i in zip(gates, order):
                    arrays += [k[i], r[i], b[i]]
                    wn += ["%s_W_%s" % (n, gate), "%s_U_%s" % (n, gate), "%s_b_%s" % (n, gate)]
            grp = d.create_group(n)
            grp.attrs["weight_names"] = np.array([w.encode() for w in wn])
            for w, a in zip(wn, arrays):
                grp.create_dataset(w, data=a)


def _cudnn_cases(out_dir, versions):
    """tf_keras CuDNNLSTM / CuDNNGRU saved in their cuDNN weight layout (they build on a CPU);
    predictions come from LSTM / GRU(reset_after=True) models into which tf_keras itself
    loaded (and converted) those weights."""
    tf_keras = R.tf_keras
    from tf_keras.src.layers.rnn.cudnn_gru import CuDNNGRU
    from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM
    L = tf_keras.layers
    arch = "cudnn"
    R.clear("tfk")
    m = tf_keras.Sequential([tf_keras.Input(shape=(5, 4)), CuDNNLSTM(3, return_sequences=True), CuDNNGRU(2)])
    rng = np.random.RandomState(_seed(arch + "/weights"))
    m.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32) for w in m.get_weights()])
    name = "cudnn.tfk.h5"
    path = os.path.join(out_dir, name)
    m.save(path)
    R.clear("tfk")
    ref = tf_keras.Sequential([tf_keras.Input(shape=(5, 4)), L.LSTM(3, return_sequences=True), L.GRU(2)])
    ref.load_weights(path)  # tf_keras converts the cuDNN layouts here
    calls = seq_inputs(np.random.RandomState(_seed(arch)))
    arrays = _record(calls, ref)
    npz = "cudnn.tfk.npz"
    write_npz(os.path.join(out_dir, npz), arrays)
    return [_entry(name, arch, "tfk", "tfk_h5", npz, "CuDNNLSTM + CuDNNGRU (cuDNN weight layouts)",
                   versions["tf_keras"])]


def _broken_weights(out_dir):
    """model.weights.h5 of lstm_dense.k3.keras with one dataset broken, for tests/io: the
    LSTM kernel (layers/lstm/cell/vars/0, float32 [4, 12]) replaced by int32 values or by
    strings of the same shape, or the recurrent kernel (vars/1) deleted."""
    import h5py
    import io
    import zipfile
    good = zipfile.ZipFile(os.path.join(out_dir, "lstm_dense.k3.keras")).read("model.weights.h5")
    for name, edit in (("int_dataset", "int"), ("string_dataset", "str"), ("missing_dataset", "del")):
        buf = io.BytesIO(good)
        with h5py.File(buf, "r+") as f:
            if edit == "del":
                del f["layers/lstm/cell/vars/1"]
            else:
                del f["layers/lstm/cell/vars/0"]
                data = (np.arange(48, dtype=np.int32).reshape(4, 12) if edit == "int"
                        else np.full((4, 12), b"w", dtype="S1"))
                f.create_dataset("layers/lstm/cell/vars/0", data=data)
        with open(os.path.join(out_dir, "broken_%s.weights.h5" % name), "wb") as out:
            out.write(buf.getvalue())
    # tf.keras 2.13-era layout: the layer list under _layer_checkpoint_dependencies/.
    buf = io.BytesIO(good)
    with h5py.File(buf, "r+") as f:
        f.move("layers", "_layer_checkpoint_dependencies")
    with open(os.path.join(out_dir, "variant_ckptdeps.weights.h5"), "wb") as out:
        out.write(buf.getvalue())


README = """\
# Keras model files (generated — do not edit by hand)

Written by `python/oracle/file_cases.py` (family `files` of `python/make_goldens.py`;
`KERAS_BACKEND=tensorflow /work/venv-oracle/bin/python python/make_goldens.py --only files`)
with keras {keras}, tf_keras {tf_keras}, tensorflow {tensorflow}. {n} model files.

`cases.json` lists every model file: `file`, `arch`, `writer` (k3 = Keras 3, tfk =
tf_keras; k2_224_h5 / k2_231_h5 / k2_weights = standalone Keras 2.2.4 / 2.3.1 files, see
below), `kind` (what the loader must detect: keras_archive, legacy_model,
legacy_weights, keras_weights), `load` (`model`: rnnx::load_model; `weights`:
rnnx::model_from_config on `config` with `keras_version`, then rnnx::load_weights), `npz`
(inputs `c<i>_x<j>`, Keras outputs `c<i>_y<j>` of consecutive calls i, no state reset in
between), `notes`, and `file_keras_version` where the file records another version.

The model files are Keras's own bytes, except:
- `lstm_dense.tfk_fixedlen.h5`, `lstm_dense.tfk_chunked.h5`: `lstm_dense.tfk.h5` with its
  attributes re-encoded by h5py (fixed-length byte strings; `layer_names0..` /
  `weight_names0..` chunks); tf_keras loads each back to the same predictions.
- `hard_sigmoid.k1_weights.h5`: the weights of `hard_sigmoid.tfk.h5` in the Keras 1 layout
  (LSTM 12 arrays, GRU 9, no keras_version); tf_keras loads it back to the same predictions.
- `*.k2_224.h5`, `*.k2_231.h5` (save_model) and `*.k2_224_weights.h5`, `*.k2_231_weights.h5`
  (save_weights): standalone Keras 2.2.4 / 2.3.1 files, which cannot be made here (those
  versions need TF 1.x). `python/oracle/k2_file_cases.py` writes them with h5py as those
  versions' `keras/engine/saving.py` did (fixed-length byte-string attributes, K2
  get_config() layouts and defaults, TF variable names such as `lstm_1/kernel:0`), with the
  weights and predictions (`*.k2_224.npz`, `*.k2_231.npz`) of a tf_keras model built with
  every setting the K2 config states. Each file is loaded back by tf_keras
  (`load_model`, or `model_from_json` of the K2 `to_json()` text + `load_weights`) and
  must reproduce those predictions. `lstm_dense.k2_224.h5` also holds a training_config
  and optimizer_weights named as Keras 2.2.4's Adam named them (values arbitrary);
  `lstm_dense.k2_231.h5` a training_config only.

`nested_*` files hold nested models (a Sequential / Functional used as a layer: called once,
shared by two calls, feeding its states to an outer decoder, inside TimeDistributed, two
deep, built without Input, with masks crossing it, with frozen inner layers; see
`python/oracle/nested_file_cases.py`, which also lists the weight paths each writer uses).
`nested_seq.k3_ckptdeps.weights.h5` is the model.weights.h5 of `nested_seq.k3.keras` with
every `layers` group renamed `_layer_checkpoint_dependencies` by h5py (the tf.keras
2.13-era layout); Keras 3 loads it back to the same predictions.

`struct_*` files hold Functional models whose inputs or outputs nest lists and dicts
(`[out, [h1, c1], [h2, c2]]` from an RNN over stacked LSTM cells with return_state,
`[a, [b, c]]`, `{{"z_out": a, "a_out": b}}`, dict and nested-list inputs); they have their own
index, `struct_cases.json` (python/oracle/struct_file_cases.py, also written alone by
`make_goldens.py --only struct_files`), whose npz files hold inputs and outputs in
keras.tree.flatten order (dicts by sorted key).

`issue9_*` files hold issue 9's composite models (LSTM autoencoder, gated Multiply/Subtract
LSTM, LayerNormalization / BatchNormalization / Normalization + Rescaling around recurrent
layers, the attention encoder-decoder, a MultiHeadAttention block, ConvLSTM2D next frame),
each written by Keras 3 (`.k3.keras`) and by tf_keras (`.tfk.h5`, `.tfk.keras`) with the same
weights; index `issue9_file_cases.json` (python/oracle/issue9_file_cases.py, also written
alone by `make_goldens.py --only issue9_files`; its "refused" lists formats tf_keras could
not write). Likewise `conv1d_*` / `conv2d_*`: `conv1d_file_cases.json`, `conv2d_file_cases.json`.

`cudnn.tfk.h5` holds tf_keras CuDNNLSTM / CuDNNGRU layers (cuDNN weight layouts); its
predictions come from LSTM / GRU models into which tf_keras loaded (and converted) them.

Not in `cases.json`: `broken_{{int,string,missing}}_dataset.weights.h5`, the model.weights.h5
of `lstm_dense.k3.keras` with the LSTM kernel stored as int32 / as strings, or the
recurrent kernel deleted; `variant_ckptdeps.weights.h5`, the same file with `layers/`
renamed `_layer_checkpoint_dependencies/` (the tf.keras 2.13-era layout). tests/io makes
its other broken files itself from these goldens.
"""


def _write_readme(out_dir, versions, n):
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(README.format(n=n, **versions))
