"""Nested models in real Keras model files (part of the `files` family, file_cases.py).

A Sequential or Functional model used as a layer of another model: called once, called on
two inputs (shared weights), feeding its states to an outer decoder, inside
TimeDistributed, nested two deep, built lazily (no Input), with masks crossing its boundary,
and with inner layers frozen.

What the writers store (keras 3.15.1, tf_keras 2.21.0; checked with h5py):
- .keras (both libraries): the inner model's layers under
  `layers/<snake_case class>/layers/<snake_case class>[_n]/...` (`layers/sequential/`,
  `layers/functional/`; a Functional lists its InputLayer there, a Sequential does not);
  TimeDistributed(model) under `layers/time_distributed/layer/layers/...`.
- tf_keras .h5: one group per outer layer; the inner model's group holds its weights at
  `model_weights/<inner name>/<inner layer>/<cell>/<var>:0`, and its weight_names list
  model.trainable_weights then model.non_trainable_weights (a frozen inner layer last).
- Keras 3 legacy .h5: the same at `model_weights/<inner name>/<inner name>/<inner layer>/...`.
- Node numbering: Keras 3 node arguments number the inner model's calls 0, 1, ...; its
  input_layers / output_layers number a Functional's calls from 1; tf_keras numbers them
  from 1 everywhere for a Functional and for a Sequential with an input.
"""
import io
import os
import zipfile

import numpy as np


def _randn(rng, shape):
    return rng.normal(0.0, 1.0, size=shape).astype(np.float32)


def arch_nested_seq(m, L, k3):
    inner = m.Sequential([m.Input(shape=(5, 4)), L.LSTM(3), L.Dense(2, activation="tanh")], name="inner_seq")
    i = m.Input(shape=(5, 4))
    return m.Model(i, L.Dense(2, name="head")(inner(i)))


def arch_nested_enc_dec(m, L, k3):
    ei = m.Input(shape=(5, 4), name="enc_in")
    o, h, c = L.LSTM(3, return_state=True, name="enc_lstm")(ei)
    encoder = m.Model(ei, [o, h, c], name="encoder")
    a = m.Input(shape=(5, 4), name="a")
    d = m.Input(shape=(3, 2), name="d")
    _, h2, c2 = encoder(a)
    y = L.LSTM(3, return_sequences=True, name="decoder")(d, initial_state=[h2, c2])
    # An output read straight from the inner model: its call number in output_layers.
    return m.Model([a, d], [L.Dense(2, name="head")(y), h2])


def arch_nested_shared(m, L, k3):
    ti = m.Input(shape=(5, 4))
    tower = m.Model(ti, L.Dense(2)(L.GRU(3)(ti)), name="tower")
    a = m.Input(shape=(5, 4))
    b = m.Input(shape=(5, 4))
    ta = tower(a)
    # The first call read straight as an output: Keras 3 writes it as ["tower", 1, 0].
    return m.Model([a, b], [L.Concatenate()([ta, tower(b)]), ta])


def arch_nested_td(m, L, k3):
    per_step = m.Sequential([m.Input(shape=(4,)), L.Dense(3, activation="tanh"), L.Dense(2)], name="per_step")
    i = m.Input(shape=(5, 4))
    x = L.LSTM(4, return_sequences=True)(i)
    return m.Model(i, L.TimeDistributed(per_step)(x))


def arch_nested_deep(m, L, k3):
    ii = m.Input(shape=(5, 4))
    seq = m.Sequential([m.Input(shape=(5, 4)), L.GRU(3, return_sequences=True)], name="seq")
    mid = m.Model(ii, L.Dense(2)(seq(ii)), name="mid")
    a = m.Input(shape=(5, 4))
    return m.Model(a, L.LSTM(2)(mid(a)))


def arch_nested_deferred(m, L, k3):
    tower = m.Sequential([L.LSTM(3), L.Dense(2)], name="tower")  # no Input: built when called
    a = m.Input(shape=(5, 4))
    b = m.Input(shape=(5, 4))
    return m.Model([a, b], [tower(a), tower(b)])


def arch_nested_frozen(m, L, k3):
    inner = m.Sequential([m.Input(shape=(5, 4)), L.LSTM(3, trainable=False), L.Dense(3), L.Dense(2, trainable=False)],
                         name="inner_seq")
    i = m.Input(shape=(5, 4))
    return m.Model(i, L.Dense(2, name="head")(inner(i)))


def arch_nested_masked(m, L, k3):
    # A mask entering a nested model (Masking outside) and one leaving it (Masking inside).
    takes = m.Sequential([m.Input(shape=(5, 4)), L.LSTM(3, return_sequences=True)], name="takes_mask")
    makes = m.Sequential([m.Input(shape=(5, 4)), L.Masking(0.0), L.GRU(3, return_sequences=True)], name="makes_mask")
    a = m.Input(shape=(5, 4))
    b = m.Input(shape=(5, 4))
    return m.Model([a, b], [L.LSTM(2)(takes(L.Masking(0.0)(a))), L.GRU(2)(makes(b))])


def _padded(rng, B=3, T=5, D=4):
    x = _randn(rng, (B, T, D))
    for i in range(B):
        x[i, T - 1 - i % (T - 1):] = 0.0
    return x


def _one(rng):
    return [[_randn(rng, (3, 5, 4))]]


def _two(rng):
    return [[_randn(rng, (3, 5, 4)), _randn(rng, (3, 5, 4))]]


ARCHS = {
    "nested_seq": (arch_nested_seq, _one,
                   ["k3_keras", "k3_legacy", "k3_weights", "tfk_h5", "tfk_keras", "tfk_weights"],
                   "nested Sequential(LSTM, Dense) called in a functional model"),
    "nested_enc_dec": (arch_nested_enc_dec, lambda rng: [[_randn(rng, (3, 5, 4)), _randn(rng, (3, 3, 2))]],
                       ["k3_keras", "k3_legacy", "tfk_h5", "tfk_keras"],
                       "nested functional encoder (LSTM return_state) feeding an outer decoder; an output "
                       "read from the inner model"),
    "nested_shared": (arch_nested_shared, _two, ["k3_keras", "tfk_h5", "tfk_keras"],
                      "nested functional model called on two inputs (shared weights)"),
    "nested_td": (arch_nested_td, _one, ["k3_keras", "k3_legacy", "tfk_h5", "tfk_keras"],
                  "TimeDistributed(nested Sequential(Dense, Dense))"),
    "nested_deep": (arch_nested_deep, _one, ["k3_keras", "tfk_h5", "tfk_keras"],
                    "Sequential inside a Functional inside the model"),
    "nested_deferred": (arch_nested_deferred, _two, ["k3_keras", "tfk_h5"],
                        "nested Sequential without Input, built by its first call, called twice"),
    "nested_masked": (arch_nested_masked, lambda rng: [[_padded(rng), _padded(rng)]], ["k3_keras", "tfk_h5"],
                      "masks entering and leaving nested Sequentials (right-padded inputs)"),
    "nested_frozen": (arch_nested_frozen, _one, ["k3_legacy", "tfk_h5"],
                      "nested Sequential with frozen layers: legacy weights trainable first"),
}


def variants(out_dir, make_entry, versions):
    """nested_seq.k3_ckptdeps.weights.h5: the model.weights.h5 of nested_seq.k3.keras with every
    `layers` group renamed `_layer_checkpoint_dependencies` (the tf.keras 2.13-era layout that
    Keras 3's H5IOStore falls back to); Keras 3 loads it into the model of the config and must
    reproduce the recorded predictions."""
    import h5py
    from . import runner as R
    from .file_cases import _outputs, _seed
    keras = R.keras
    with zipfile.ZipFile(os.path.join(out_dir, "nested_seq.k3.keras")) as z:
        config = z.read("config.json").decode()
        buf = io.BytesIO(z.read("model.weights.h5"))
    with h5py.File(buf, "r+") as f:
        paths = []
        f.visit(lambda p: paths.append(p) if p.split("/")[-1] == "layers" else None)
        for p in sorted(paths, key=lambda p: -p.count("/")):  # deepest first
            f.move(p, p[: -len("layers")] + "_layer_checkpoint_dependencies")
    name = "nested_seq.k3_ckptdeps.weights.h5"
    path = os.path.join(out_dir, name)
    with open(path, "wb") as out:
        out.write(buf.getvalue())
    R.clear("k3")
    check = keras.models.model_from_json(config)
    check.load_weights(path)
    npz = "nested_seq.k3.npz"
    arrays = dict(np.load(os.path.join(out_dir, npz)))
    calls = _one(np.random.RandomState(_seed("nested_seq")))
    for j, y in enumerate(_outputs(check, calls[0])):
        np.testing.assert_allclose(y, arrays["c0_y%d" % j], rtol=1e-6, atol=1e-6)
    return [make_entry(name, "nested_seq", "k3", "k3_weights", npz,
                       "nested; every layers/ group renamed _layer_checkpoint_dependencies (tf.keras 2.13 "
                       "layout)", versions["keras"], config)]
