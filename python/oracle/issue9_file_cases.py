"""Model files of issue 9's composite models (plumbing, normalisation, attention, ConvLSTM):
Keras 3 `.keras`, tf_keras `.h5` (legacy full-model) and tf_keras `.keras` files of the same
architecture with the same weights, with `issue9_<arch>.npz` (inputs `c0_x<j>`, Keras 3
outputs `c0_y<j>`) and the index `issue9_file_cases.json` ({"cases": [{"file", "npz",
"writer", "notes"}], "refused": [{"arch", "writer", "error"}]}). Written by the `files`
family (file_cases.py) and by the `issue9_files` family, which leaves the other files alone.

Every file is loaded back by the library that wrote it and must reproduce Keras 3's
outputs; a format a library cannot write is listed under "refused" with Keras' error.
"""
import json
import os

import numpy as np

from . import runner as R
from .common import case_seed, f32, randn, rng_for, write_npz

FAMILY = "issue9_files"
INDEX = "issue9_file_cases.json"


def lstm_autoencoder(k):
    L = k.layers
    i = k.Input((6, 3))
    h = L.LSTM(4)(i)
    h = L.RepeatVector(6)(h)
    h = L.LSTM(4, return_sequences=True)(h)
    return k.Model(i, L.TimeDistributed(L.Dense(3))(h))


def gated_lstm(k):
    L = k.layers
    i = k.Input((5, 3))
    a = L.LSTM(4, return_sequences=True)(i)
    b = L.LSTM(4, return_sequences=True)(i)
    gate = L.Dense(4, activation="sigmoid")(b)
    gated_a = L.Multiply()([a, gate])
    return k.Model(i, L.LSTM(2)(L.Subtract()([a, gated_a])))


def lstm_ln_lstm(k):
    L = k.layers
    i = k.Input((5, 3))
    h = L.LSTM(4, return_sequences=True)(i)
    h = L.LayerNormalization()(h)
    h = L.LSTM(4)(h)
    return k.Model(i, L.Dense(2)(h))


def gru_bn_dense(k):
    L = k.layers
    i = k.Input((5, 3))
    h = L.BatchNormalization()(L.GRU(4)(i))
    return k.Model(i, L.Dense(3, activation="softmax")(h))


def preprocessing_lstm(k):
    L = k.layers
    i = k.Input((5, 3))
    h = L.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 2.0, 0.5])(i)
    h = L.Rescaling(0.5, offset=0.1)(h)
    return k.Model(i, L.Dense(2)(L.LSTM(3)(h)))


def enc_dec_attention(k):
    L = k.layers
    e_in = k.Input((6, 3))
    d_in = k.Input((4, 2))
    enc, h, c = L.LSTM(5, return_sequences=True, return_state=True)(e_in)
    dec = L.LSTM(5, return_sequences=True)(d_in, initial_state=[h, c])
    ctx = L.Attention()([dec, enc])
    x = L.Concatenate()([dec, ctx])
    return k.Model([e_in, d_in], L.TimeDistributed(L.Dense(4, activation="softmax"))(x))


def transformer_block(k):
    L = k.layers
    i = k.Input((5, 3))
    h = L.LSTM(4, return_sequences=True)(i)
    a = L.MultiHeadAttention(2, 3)(h, h)
    x = L.LayerNormalization(epsilon=1e-6)(L.Add()([h, a]))
    return k.Model(i, L.Dense(2)(x))


def conv_lstm_next_frame(k):
    """Keras' next-frame video prediction example, tiny (6x6 frames, 3 filters). tf_keras' ConvLSTM2D
    defaults to recurrent_activation="hard_sigmoid" (Keras 3: "sigmoid"), so it is named."""
    L = k.layers
    i = k.Input((None, 6, 6, 1))
    h = L.ConvLSTM2D(3, (3, 3), padding="same", return_sequences=True, activation="relu",
                      recurrent_activation="sigmoid")(i)
    h = L.BatchNormalization()(h)
    o = L.ConvLSTM2D(1, (1, 1), padding="same", return_sequences=True, activation="sigmoid",
                      recurrent_activation="sigmoid")(h)
    return k.Model(i, o)


# (arch, build, input shapes, family it belongs to)
ARCHS = [
    ("lstm_autoencoder", lstm_autoencoder, [(3, 6, 3)], "plumbing: RepeatVector + TimeDistributed(Dense)"),
    ("gated_lstm", gated_lstm, [(3, 5, 3)], "plumbing: Multiply / Subtract gate"),
    ("lstm_ln_lstm", lstm_ln_lstm, [(3, 5, 3)], "normalization: LayerNormalization between LSTMs"),
    ("gru_bn_dense", gru_bn_dense, [(3, 5, 3)], "normalization: GRU -> BatchNormalization -> Dense"),
    ("preprocessing_lstm", preprocessing_lstm, [(3, 5, 3)], "normalization: Normalization -> Rescaling -> LSTM"),
    ("enc_dec_attention", enc_dec_attention, [(3, 6, 3), (3, 4, 2)],
     "attention: LSTM encoder states -> decoder initial_state -> Attention -> Concatenate"),
    ("transformer_block", transformer_block, [(3, 5, 3)], "attention: MultiHeadAttention + Add + LayerNormalization"),
    ("conv_lstm_next_frame", conv_lstm_next_frame, [(2, 3, 6, 6, 1)],
     "conv_lstm: ConvLSTM2D -> BatchNormalization -> ConvLSTM2D next frame"),
]


def _weights(model, rng):
    """Uniform(-0.5, 0.5) weights; BatchNormalization moving variances in (0.5, 1.5)."""
    return [f32(rng.uniform(0.5, 1.5, size=tuple(v.shape)) if "moving_variance" in v.path
                else rng.uniform(-0.5, 0.5, size=tuple(v.shape))) for v in model.weights]


def _call(model, xs):
    y = model([R.tensor(x) for x in xs] if len(xs) > 1 else R.tensor(xs[0]), training=False)
    return [f32(t.numpy()) for t in (y if isinstance(y, (list, tuple)) else [y])]


def _close(got, want, what):
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        assert np.allclose(g, w, atol=1e-5, rtol=1e-4), what


def generate(out_dir, versions):
    os.makedirs(out_dir, exist_ok=True)
    cases, refused = [], []
    for arch, build, shapes, notes in ARCHS:
        name = "issue9_" + arch
        rng = rng_for("files/" + name)
        R.clear("k3")
        R.set_seed("k3", case_seed(name))
        model = build(R.keras)
        weights = _weights(model, rng)
        model.set_weights(weights)
        xs = [randn(rng, s) for s in shapes]
        ys = _call(model, xs)
        arrays = {"c0_x%d" % j: x for j, x in enumerate(xs)}
        arrays.update({"c0_y%d" % j: y for j, y in enumerate(ys)})
        npz = name + ".npz"
        write_npz(os.path.join(out_dir, npz), arrays)
        k3_file = name + ".k3.keras"
        model.save(os.path.join(out_dir, k3_file))
        _close(_call(R.keras.models.load_model(os.path.join(out_dir, k3_file)), xs), ys, k3_file)
        cases.append({"file": k3_file, "npz": npz, "writer": "keras3", "notes": notes + "; Keras 3 model.save"})
        R.clear("tfk")
        tmodel = build(R.tf_keras)
        tmodel.set_weights(weights)
        _close(_call(tmodel, xs), ys, name + " tf_keras vs Keras 3")
        for suffix, kw, how in ((".tfk.h5", {"save_format": "h5"}, "tf_keras model.save(save_format='h5')"),
                                (".tfk.keras", {}, "tf_keras model.save('.keras')")):
            path = os.path.join(out_dir, name + suffix)
            try:
                tmodel.save(path, **kw)
                _close(_call(R.tf_keras.models.load_model(path), xs), ys, name + suffix)
            except Exception as e:  # a format tf_keras cannot write or read back: recorded, not shipped
                if os.path.exists(path):
                    os.remove(path)
                refused.append({"arch": arch, "writer": "tf_keras" + suffix, "error": "%s: %s" % (
                    type(e).__name__, str(e).splitlines()[0][:300])})
                continue
            cases.append({"file": name + suffix, "npz": npz, "writer": "tf_keras", "notes": notes + "; " + how})
    with open(os.path.join(out_dir, INDEX), "w") as f:
        json.dump({"generator": "python/oracle/issue9_file_cases.py", "versions": versions, "cases": cases,
                   "refused": refused}, f, indent=1)
        f.write("\n")
    return len(cases)


def issue9_file_cases():
    """The `issue9_files` family of make_goldens.py: writes tests/data/files/issue9_* only."""
    from .common import VERSIONS
    here = os.path.dirname(os.path.abspath(__file__))
    generate(os.path.join(os.path.dirname(os.path.dirname(here)), "tests", "data", "files"), dict(VERSIONS))
    return []
