"""Model files of the conv1d family's composite models: Keras 3 `.keras` and tf_keras `.h5`
(legacy full-model) files of a CNN-LSTM classifier and a causal dilated Conv1D -> GRU, with
`conv1d_<arch>.npz` (inputs `c0_x0`, Keras 3 outputs `c0_y0`) and the index
`conv1d_file_cases.json` ({"cases": [{"file", "npz", "notes"}]}). Written by the `files`
family (file_cases.py) and by the `conv1d` family, which leaves the other files alone.
Every file is loaded back by the library that wrote it and must reproduce the outputs.
"""
import json
import os

import numpy as np

from . import runner as R
from .common import case_seed, f32, randn, rng_for, write_npz

INDEX = "conv1d_file_cases.json"


def cnn_lstm(k):
    L = k.layers
    i = k.Input((8, 3))
    h = L.Conv1D(4, 3, padding="same", activation="relu")(i)
    h = L.MaxPooling1D(2)(h)
    h = L.LSTM(5)(h)
    return k.Model(i, L.Dense(3, activation="softmax")(h))


def causal_gru(k):
    L = k.layers
    i = k.Input((7, 3))
    h = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")(i)
    h = L.SeparableConv1D(4, 2, padding="same")(h)
    h = L.AveragePooling1D(2, strides=1, padding="same")(h)
    h = L.ZeroPadding1D((1, 0))(h)
    h = L.Cropping1D((0, 1))(h)
    h = L.UpSampling1D(2)(h)
    return k.Model(i, L.GRU(4)(h))


ARCHS = [("cnn_lstm", cnn_lstm, (3, 8, 3)), ("causal_gru", causal_gru, (3, 7, 3))]


def generate(out_dir, versions, archs=ARCHS, prefix="conv1d_", index=INDEX, generator=__name__):
    """`archs`, `prefix`, `index` and `generator` (a module name) serve conv2d_file_cases.py."""
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    for arch, build, shape in archs:
        name = prefix + arch
        rng = rng_for("files/" + name)
        R.clear("k3")
        R.set_seed("k3", case_seed(name))
        model = build(R.keras)
        weights = [f32(rng.uniform(-0.5, 0.5, size=w.shape)) for w in model.get_weights()]
        model.set_weights(weights)
        x = randn(rng, shape)
        y = f32(model(R.tensor(x), training=False).numpy())
        write_npz(os.path.join(out_dir, name + ".npz"), {"c0_x0": x, "c0_y0": y})
        k3_file = name + ".k3.keras"
        model.save(os.path.join(out_dir, k3_file))
        back = R.keras.models.load_model(os.path.join(out_dir, k3_file))
        assert np.allclose(back(R.tensor(x)).numpy(), y, atol=1e-6), k3_file
        cases.append({"file": k3_file, "npz": name + ".npz", "notes": "Keras 3 model.save"})
        R.clear("tfk")
        tmodel = build(R.tf_keras)
        tmodel.set_weights(weights)
        ty = tmodel(R.tensor(x), training=False).numpy()
        assert np.allclose(ty, y, atol=1e-5, rtol=1e-4), name + " tf_keras vs Keras 3"
        h5_file = name + ".tfk.h5"
        tmodel.save(os.path.join(out_dir, h5_file), save_format="h5")
        tback = R.tf_keras.models.load_model(os.path.join(out_dir, h5_file))
        assert np.allclose(tback(R.tensor(x)).numpy(), y, atol=1e-5, rtol=1e-4), h5_file
        cases.append({"file": h5_file, "npz": name + ".npz", "notes": "tf_keras model.save(save_format='h5')"})
    with open(os.path.join(out_dir, index), "w") as f:
        json.dump({"generator": "python/oracle/%s.py" % generator.split(".")[-1], "versions": versions,
                   "cases": cases}, f, indent=1)
        f.write("\n")
    return len(cases)
