"""Model files of the conv2d family's composite models: Keras 3 `.keras` and tf_keras `.h5`
(legacy full-model) files of a per-frame CNN feeding an LSTM and one feeding a GRU, with
`conv2d_<arch>.npz` (inputs `c0_x0`, Keras 3 outputs `c0_y0`) and the index
`conv2d_file_cases.json` ({"cases": [{"file", "npz", "notes"}]}). Written by the `files`
family (file_cases.py) and by the `conv2d` family, which leaves the other files alone. Every file is loaded back by the library that
wrote it and must reproduce the outputs.
"""
from . import conv1d_file_cases

INDEX = "conv2d_file_cases.json"


def cnn_lstm(k):
    L = k.layers
    i = k.Input((3, 5, 5, 1))
    h = L.TimeDistributed(L.Conv2D(4, 3, activation="relu"))(i)
    h = L.TimeDistributed(L.MaxPooling2D(padding="same"))(h)
    h = L.TimeDistributed(L.GlobalAveragePooling2D())(h)
    h = L.LSTM(5)(h)
    return k.Model(i, L.Dense(3, activation="softmax")(h))


def cnn_gru(k):
    L = k.layers
    i = k.Input((3, 5, 5, 1))
    h = L.TimeDistributed(L.Conv2D(3, 3, strides=2, padding="same", activation="relu"))(i)
    h = L.TimeDistributed(L.AveragePooling2D(2))(h)
    h = L.TimeDistributed(L.Flatten())(h)
    h = L.GRU(4)(h)
    return k.Model(i, L.Dense(2)(h))


ARCHS = [("cnn_lstm", cnn_lstm, (3, 3, 5, 5, 1)), ("cnn_gru", cnn_gru, (3, 3, 5, 5, 1))]


def generate(out_dir, versions):
    return conv1d_file_cases.generate(out_dir, versions, ARCHS, "conv2d_", INDEX, __name__)
