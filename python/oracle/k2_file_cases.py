"""Standalone Keras 2.2.4 / 2.3.1 model files (part of the `files` family).

Those Keras versions need TF 1.x and Python <= 3.7, so they cannot run here. Their .h5 files
are written with h5py exactly as keras/engine/saving.py of tags 2.2.4 and 2.3.1 wrote them
(_serialize_model through io_utils.H5Dict for save_model; save_weights_to_hdf5_group for
save_weights), with the model_config that those versions' get_config() methods produce.
The numbers come from tf_keras (Keras 2 semantics: hard_sigmoid is 0.2x+0.5) running a model
built with every setting the K2 config states; the weights of that model go into the file
under the K2 names. Proof of the imitation: tf_keras loads each written file back (it reads
K2 files) and must reproduce the predictions.

What K2 wrote, as read in keras-team/keras at tags 2.2.4 / 2.3.1:
- root attrs keras_version, backend, model_config (JSON of {class_name, config}), and
  training_config when compiled: bytes (`.encode('utf8')`), which h5py 2.x stored as
  fixed-length strings; lists of bytes (layer_names, weight_names) as fixed-length string
  arrays; an empty list (a layer without weights) as an empty float64 array.
- model_weights/ with attrs layer_names, backend, keras_version; one group per layer of
  model.layers (a Sequential omits its auto-made InputLayer); datasets named by the TF
  variable names ("lstm_1/kernel:0"), so nested: model_weights/lstm_1/lstm_1/kernel:0.
- Layer.get_config: name, trainable, then batch_input_shape and dtype when the layer was
  given an input shape (2.2.4: dtype only then; 2.3.1: dtype always).
- RNN layers: return_sequences, return_state, go_backwards, stateful, unroll, then the
  cell's keys; defaults 2.2.4: recurrent_activation hard_sigmoid, implementation 1;
  2.3.1: sigmoid, implementation 2; GRU reset_after False in both.
- Functional inbound_nodes [[[layer, node, tensor, kwargs]]]; an RNN called with
  initial_state gets the states as extra inbound tensors and empty kwargs (2.2.4: the
  tensors fail json.dumps and are dropped; 2.3.1: popped before the call).
"""
import json
import os
import zlib

import numpy as np

from . import runner as R
from .common import write_npz

VERSIONS = ("2.2.4", "2.3.1")

# writer tag -> (file suffix, kind the C++ loader must detect, how the test loads it)
K2_FORMATS = {
    ("2.2.4", "model"): ("k2_224.h5", "legacy_model", "model", "k2_224_h5"),
    ("2.3.1", "model"): ("k2_231.h5", "legacy_model", "model", "k2_231_h5"),
    ("2.2.4", "weights"): ("k2_224_weights.h5", "legacy_weights", "weights", "k2_weights"),
    ("2.3.1", "weights"): ("k2_231_weights.h5", "legacy_weights", "weights", "k2_weights"),
}


def _seed(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


# ---------------------------------------------------------------------------
# K2 get_config() imitations (keras/engine/base_layer.py, layers/recurrent.py,
# layers/core.py, layers/embeddings.py, layers/wrappers.py, initializers.py)
# ---------------------------------------------------------------------------
def _glorot_uniform():
    # initializers.glorot_uniform() returns a VarianceScaling instance.
    return {"class_name": "VarianceScaling",
            "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}


def _orthogonal():
    return {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}}


def _zeros():
    return {"class_name": "Zeros", "config": {}}


def _random_uniform():  # Embedding's default 'uniform'
    return {"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": None}}


class Tensor:
    """A K2 Keras tensor: (layer, node index, tensor index) plus the tf_keras tensor."""

    def __init__(self, layer, node, index, tfk):
        self.layer, self.node, self.index, self.tfk = layer, node, index, tfk


class Spec:
    """One layer: its K2 {class_name, config}, K2 weight names, and the tf_keras twin."""

    def __init__(self, class_name, config, weight_names, tfk_layer):
        self.class_name, self.config = class_name, config
        self.weight_names, self.tfk = weight_names, tfk_layer
        self.nodes = []  # inbound_nodes entries, K2 list form

    @property
    def name(self):
        return self.config["name"]

    def __call__(self, x, initial_state=None):
        xs = x if isinstance(x, list) else [x]
        states = initial_state or []
        # Both versions write initial_state as extra inbound tensors with kwargs {}.
        self.nodes.append([[t.layer, t.node, t.index, {}] for t in xs + states])
        args = [t.tfk for t in xs]
        y = self.tfk(args if len(args) > 1 else args[0],
                     **({"initial_state": [s.tfk for s in states]} if states else {}))
        node = len(self.nodes) - 1
        if isinstance(y, (list, tuple)):
            return [Tensor(self.name, node, i, t) for i, t in enumerate(y)]
        return Tensor(self.name, node, 0, y)


class K2:
    """Layer factories for one K2 version; each returns a Spec."""

    def __init__(self, version, tfk):
        self.version, self.tfk, self.L = version, tfk, tfk.layers
        self.k23 = version.startswith("2.3.")

    def _base(self, name, input_shape=None):
        c = {"name": name, "trainable": True}
        if input_shape is not None:
            c["batch_input_shape"] = [None] + list(input_shape)
        if input_shape is not None or self.k23:
            c["dtype"] = "float32"
        return c

    def _rnn_keys(self, return_sequences, return_state, go_backwards):
        return {"return_sequences": return_sequences, "return_state": return_state,
                "go_backwards": go_backwards, "stateful": False, "unroll": False}

    def _regs(self, activity=True, recurrent=True):
        keys = ["kernel_regularizer"] + (["recurrent_regularizer"] if recurrent else []) + ["bias_regularizer"]
        keys += ["activity_regularizer"] if activity else []
        keys += ["kernel_constraint"] + (["recurrent_constraint"] if recurrent else []) + ["bias_constraint"]
        return {k: None for k in keys}

    def _gated_defaults(self):
        return ("sigmoid", 2) if self.k23 else ("hard_sigmoid", 1)

    def lstm(self, name, units, input_shape=None, return_sequences=False, return_state=False,
             go_backwards=False):
        rec_act, impl = self._gated_defaults()
        c = self._base(name, input_shape)
        c.update(self._rnn_keys(return_sequences, return_state, go_backwards))
        c.update({"units": units, "activation": "tanh", "recurrent_activation": rec_act, "use_bias": True,
                  "kernel_initializer": _glorot_uniform(), "recurrent_initializer": _orthogonal(),
                  "bias_initializer": _zeros(), "unit_forget_bias": True})
        c.update(self._regs())
        c.update({"dropout": 0.0, "recurrent_dropout": 0.0, "implementation": impl})
        layer = self.L.LSTM(units, recurrent_activation=rec_act, implementation=impl,
                            return_sequences=return_sequences, return_state=return_state,
                            go_backwards=go_backwards, name=name)
        return Spec("LSTM", c, _rnn_weights(name), layer)

    def gru(self, name, units, input_shape=None, return_sequences=False):
        rec_act, impl = self._gated_defaults()
        c = self._base(name, input_shape)
        c.update(self._rnn_keys(return_sequences, False, False))
        c.update({"units": units, "activation": "tanh", "recurrent_activation": rec_act, "use_bias": True,
                  "kernel_initializer": _glorot_uniform(), "recurrent_initializer": _orthogonal(),
                  "bias_initializer": _zeros()})
        c.update(self._regs())
        c.update({"dropout": 0.0, "recurrent_dropout": 0.0, "implementation": impl, "reset_after": False})
        layer = self.L.GRU(units, recurrent_activation=rec_act, implementation=impl, reset_after=False,
                           return_sequences=return_sequences, name=name)
        return Spec("GRU", c, _rnn_weights(name), layer)

    def simple_rnn(self, name, units, activation="tanh", input_shape=None, return_sequences=False):
        c = self._base(name, input_shape)
        c.update(self._rnn_keys(return_sequences, False, False))
        c.update({"units": units, "activation": activation, "use_bias": True,
                  "kernel_initializer": _glorot_uniform(), "recurrent_initializer": _orthogonal(),
                  "bias_initializer": _zeros()})
        c.update(self._regs())
        c.update({"dropout": 0.0, "recurrent_dropout": 0.0})
        layer = self.L.SimpleRNN(units, activation=activation, return_sequences=return_sequences, name=name)
        return Spec("SimpleRNN", c, _rnn_weights(name), layer)

    def bidirectional(self, name, inner, input_shape=None, merge_mode="concat"):
        # Wrapper.get_config: base keys, then 'layer' (the wrapped layer as constructed,
        # named e.g. lstm_1), then merge_mode. Weights: forward layer's, then backward's,
        # built in name scopes forward_<inner> / backward_<inner> inside the wrapper's.
        c = self._base(name, input_shape)
        c["layer"] = {"class_name": inner.class_name, "config": inner.config}
        c["merge_mode"] = merge_mode
        names = []
        for side in ("forward", "backward"):
            names += ["%s/%s_%s/%s" % (name, side, inner.name, w.split("/", 1)[1]) for w in inner.weight_names]
        return Spec("Bidirectional", c, names, self.L.Bidirectional(inner.tfk, merge_mode=merge_mode, name=name))

    def dense(self, name, units, activation="linear"):
        c = self._base(name)
        c.update({"units": units, "activation": activation, "use_bias": True,
                  "kernel_initializer": _glorot_uniform(), "bias_initializer": _zeros()})
        c.update(self._regs(recurrent=False))
        return Spec("Dense", c, ["%s/kernel:0" % name, "%s/bias:0" % name],
                    self.L.Dense(units, activation=activation, name=name))

    def embedding(self, name, input_dim, output_dim, input_length, mask_zero=False):
        # Embedding always passes input_shape=(input_length,) to Layer.__init__.
        c = self._base(name, (input_length,))
        c.update({"input_dim": input_dim, "output_dim": output_dim, "embeddings_initializer": _random_uniform(),
                  "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None,
                  "mask_zero": mask_zero, "input_length": input_length})
        return Spec("Embedding", c, ["%s/embeddings:0" % name],
                    self.L.Embedding(input_dim, output_dim, mask_zero=mask_zero, name=name))

    def input(self, name, shape):
        c = {"batch_input_shape": [None] + list(shape), "dtype": "float32", "sparse": False, "name": name}
        spec = Spec("InputLayer", c, [], None)
        t = self.tfk.Input(shape=shape, name=name)
        spec.nodes = []  # an InputLayer's node has no inbound layers: K2 writes []
        return spec, Tensor(name, 0, 0, t)

    # -- models ------------------------------------------------------------------------
    def sequential(self, name, input_shape, specs, deferred=False):
        """deferred: no layer was given an input shape; model.build((None,) + input_shape)
        set Sequential._build_input_shape, which get_config writes as build_input_shape."""
        m = self.tfk.Sequential([self.tfk.Input(shape=input_shape)] + [s.tfk for s in specs])
        config = {"name": name, "layers": [{"class_name": s.class_name, "config": s.config} for s in specs]}
        assert deferred != ("batch_input_shape" in specs[0].config)
        if deferred:
            config["build_input_shape"] = [None] + list(input_shape)
        return K2Model({"class_name": "Sequential", "config": config}, specs, m)

    def functional(self, name, inputs, outputs, specs):
        m = self.tfk.Model([t.tfk for t in inputs], [t.tfk for t in outputs])
        by_name = {s.name: s for s in specs}
        # K2 Network orders layers as tf_keras does (by depth, then traversal order).
        ordered = [by_name[layer.name] for layer in m.layers]
        assert sorted(by_name) == sorted(s.name for s in ordered), (sorted(by_name), [s.name for s in ordered])
        layers = [{"name": s.name, "class_name": s.class_name, "config": s.config, "inbound_nodes": s.nodes}
                  for s in ordered]
        config = {"name": name, "layers": layers,
                  "input_layers": [[t.layer, t.node, t.index] for t in inputs],
                  "output_layers": [[t.layer, t.node, t.index] for t in outputs]}
        return K2Model({"class_name": "Model", "config": config}, ordered, m)


def _rnn_weights(name):
    return ["%s/%s:0" % (name, w) for w in ("kernel", "recurrent_kernel", "bias")]


class K2Model:
    def __init__(self, model_config, specs, tfk_model):
        self.model_config, self.specs, self.tfk = model_config, specs, tfk_model

    def layer_weights(self):
        """[(layer name, [(K2 weight name, value)])] in model.layers order."""
        out = []
        for s in self.specs:
            values = s.tfk.get_weights() if s.tfk is not None else []
            assert len(values) == len(s.weight_names), (s.name, s.weight_names, [v.shape for v in values])
            out.append((s.name, list(zip(s.weight_names, values))))
        return out


# ---------------------------------------------------------------------------
# Architectures: build(K2) -> K2Model; each in both versions.
# ---------------------------------------------------------------------------
def arch_lstm_dense(k):
    return k.sequential("sequential_1", (5, 4), [k.lstm("lstm_1", 3, input_shape=(5, 4)),
                                                 k.dense("dense_1", 2, "tanh")])


def arch_gru_functional(k):
    spec_in, x = k.input("input_1", (5, 4))
    gru, head = k.gru("gru_1", 3), k.dense("dense_1", 2)
    y = head(gru(x))
    return k.functional("model_1", [x], [y], [spec_in, gru, head])


def arch_simple_rnn(k):
    return k.sequential("sequential_1", (5, 4), [
        k.simple_rnn("simple_rnn_1", 3, "relu", input_shape=(5, 4), return_sequences=True),
        k.simple_rnn("simple_rnn_2", 2), k.dense("dense_1", 2, "softmax")])


def arch_bidi_lstm(k):
    inner = k.lstm("lstm_1", 3)  # constructed without an input shape; the wrapper gets it
    return k.sequential("sequential_1", (5, 4), [k.bidirectional("bidirectional_1", inner, input_shape=(5, 4)),
                                                 k.dense("dense_1", 2)])


def arch_gru_deferred(k):
    return k.sequential("sequential_1", (5, 4), [k.gru("gru_1", 3, return_sequences=True), k.dense("dense_1", 2)],
                        deferred=True)


def arch_embedding_stack(k):
    return k.sequential("sequential_1", (6,), [k.embedding("embedding_1", 7, 4, 6, mask_zero=True),
                                               k.lstm("lstm_1", 3, return_sequences=True),
                                               k.lstm("lstm_2", 3), k.dense("dense_1", 2)])


def arch_enc_dec(k):
    spec_a, a = k.input("input_1", (5, 4))
    spec_b, b = k.input("input_2", (3, 2))
    enc, dec, head = (k.lstm("lstm_1", 3, return_state=True), k.lstm("lstm_2", 3, return_sequences=True),
                      k.dense("dense_1", 2))
    _, h, c = enc(a)
    y = head(dec(b, initial_state=[h, c]))
    return k.functional("model_1", [a, b], [y], [spec_a, spec_b, enc, dec, head])


def _seq_inputs(rng, B=3, T=5, D=4, scale=2.0):
    return [[(rng.normal(0.0, 1.0, size=(B, T, D)) * scale).astype(np.float32)]]


def _ids(rng, B=3, T=6, vocab=7):
    x = rng.randint(1, vocab, size=(B, T)).astype(np.int32)
    for b in range(B):
        x[b, T - (b % (T - 1)):] = 0
    return [[x]]


def _enc_dec_inputs(rng):
    return [[(rng.normal(0.0, 1.0, size=s) * 2.0).astype(np.float32) for s in ((3, 5, 4), (3, 3, 2))]]


ARCHS = {
    # name: (build, inputs(rng), notes, also written weights-only in these versions)
    "lstm_dense": (arch_lstm_dense, _seq_inputs, "Sequential LSTM -> Dense, compiled (training_config)", ()),
    "gru_functional": (arch_gru_functional, _seq_inputs, "functional Input -> GRU(reset_after=False) -> Dense", ()),
    "gru_deferred": (arch_gru_deferred, _seq_inputs, "Sequential built by model.build(): build_input_shape, "
                     "GRU(reset_after=False, sequences) -> Dense", ()),
    "simple_rnn": (arch_simple_rnn, _seq_inputs, "Sequential SimpleRNN(relu, sequences) -> SimpleRNN -> Dense", ()),
    "bidi_lstm": (arch_bidi_lstm, _seq_inputs, "Sequential Bidirectional(LSTM) concat -> Dense", ("2.3.1",)),
    "embedding_stack": (arch_embedding_stack, _ids, "Embedding(mask_zero) -> LSTM(sequences) -> LSTM -> Dense",
                        ("2.2.4",)),
    "enc_dec": (arch_enc_dec, _enc_dec_inputs, "functional encoder-decoder, initial_state as inbound tensors", ()),
}


# ---------------------------------------------------------------------------
# h5py writers (keras/engine/saving.py + keras/utils/io_utils.py::H5Dict)
# ---------------------------------------------------------------------------
def _bytes_attr(value):
    # K2 set attrs to `str.encode('utf8')`; h5py 2.x stored bytes as fixed-length strings.
    return np.bytes_(value.encode("utf8") if isinstance(value, str) else value)


def _list_attr(values):
    # A list of bytes became a fixed-length string array; an empty list np.asarray([]),
    # a float64 array of shape (0,).
    if not values:
        return np.zeros((0,), dtype=np.float64)
    return np.array([v.encode("utf8") for v in values])


def _write_layers(group, version, layer_weights):
    group.attrs["layer_names"] = _list_attr([name for name, _ in layer_weights])
    group.attrs["backend"] = _bytes_attr("tensorflow")
    group.attrs["keras_version"] = _bytes_attr(version)
    for name, weights in layer_weights:
        g = group.create_group(name)
        g.attrs["weight_names"] = _list_attr([w for w, _ in weights])
        for w, value in weights:
            value = np.asarray(value)
            g.create_dataset(w, value.shape, dtype=value.dtype)[...] = value


def _json(obj):
    return json.dumps(obj)  # K2: json.dumps(..., default=get_json_type), no sorting, default separators


def _training_config(version):
    # model.compile(optimizer=Adam(), loss='mse', metrics=['mae']); Adam.get_config reads
    # float32 backend variables back (lr 0.001 -> 0.0010000000474974513).
    k23 = version.startswith("2.3.")
    f32 = lambda v: float(np.float32(v))  # noqa: E731
    opt = {"learning_rate" if k23 else "lr": f32(0.001), "beta_1": f32(0.9), "beta_2": f32(0.999), "decay": 0.0,
           "epsilon": 1e-07, "amsgrad": False}
    cfg = {"optimizer_config": {"class_name": "Adam", "config": opt}, "loss": "mse", "metrics": ["mae"]}
    if k23:  # model._compile_weighted_metrics (None when not given)
        cfg["weighted_metrics"] = None
    cfg.update({"sample_weight_mode": None, "loss_weights": None})
    return cfg


def _adam_224_weights(layer_weights, rng):
    """Optimizer state of a Keras 2.2.4 Adam after training (TF 1.x graph names): iterations
    (int64, Adam/ scope) and ms, vs, vhats (zeros(1) each, amsgrad False) made by unnamed
    K.zeros under training/Adam/. Values are arbitrary; rnnx must ignore them."""
    params = [v for _, ws in layer_weights for _, v in ws]
    values = [np.array(3, dtype=np.int64)]
    values += [rng.uniform(-0.01, 0.01, size=p.shape).astype(np.float32) for p in params]
    values += [rng.uniform(0.0, 0.01, size=p.shape).astype(np.float32) for p in params]
    values += [np.zeros((1,), dtype=np.float32) for _ in params]
    names = ["Adam/iterations:0"] + ["training/Adam/Variable%s:0" % ("_%d" % i if i else "")
                                     for i in range(len(values) - 1)]
    return list(zip(names, values))


def write_model_file(path, version, model, compiled=False, optimizer_weights=None):
    """keras.models.save_model of K2 `version` (_serialize_model through H5Dict)."""
    import h5py
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = _bytes_attr(version)
        f.attrs["backend"] = _bytes_attr("tensorflow")
        f.attrs["model_config"] = _bytes_attr(_json(model.model_config))
        _write_layers(f.create_group("model_weights"), version, model.layer_weights())
        if compiled:
            f.attrs["training_config"] = _bytes_attr(_json(_training_config(version)))
        if optimizer_weights:
            g = f.create_group("optimizer_weights")
            g.attrs["weight_names"] = _list_attr([n for n, _ in optimizer_weights])
            for n, v in optimizer_weights:
                g.create_dataset(n, v.shape, dtype=v.dtype)[...] = v


def write_weights_file(path, version, model):
    """model.save_weights of K2 `version` (save_weights_to_hdf5_group on the file root)."""
    import h5py
    with h5py.File(path, "w") as f:
        _write_layers(f, version, model.layer_weights())


def model_json(version, model):
    """model.to_json() of K2 (Network._updated_config)."""
    return _json(dict(model.model_config, keras_version=version, backend="tensorflow"))


# ---------------------------------------------------------------------------
def _outputs(model, call):
    feed = [R.tensor(x) for x in call]
    y = model(feed if len(feed) > 1 else feed[0], training=False)
    ys = y if isinstance(y, (list, tuple)) else [y]
    return [np.asarray(t.numpy(), dtype=np.float32) for t in ys]


def _check(model, calls, arrays):
    for ci, call in enumerate(calls):
        for j, y in enumerate(_outputs(model, call)):
            np.testing.assert_allclose(y, arrays["c%d_y%d" % (ci, j)], rtol=1e-6, atol=1e-6)


def generate(out_dir, make_entry):
    """Writes the K2 files and their npz; returns their cases.json entries. make_entry(file,
    arch, writer, kind, load, npz, notes, version, config) builds one entry."""
    tfk = R.tf_keras
    cases = []
    for arch, (build, make_inputs, notes, weights_versions) in ARCHS.items():
        calls = make_inputs(np.random.RandomState(_seed("k2/" + arch)))
        for version in VERSIONS:
            R.clear("tfk")
            model = build(K2(version, tfk))
            rng = np.random.RandomState(_seed("k2/%s/%s/weights" % (arch, version)))
            model.tfk.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32)
                                   for w in model.tfk.get_weights()])
            arrays = {}
            for ci, call in enumerate(calls):
                for j, x in enumerate(call):
                    arrays["c%d_x%d" % (ci, j)] = x
                for j, y in enumerate(_outputs(model.tfk, call)):
                    assert np.all(np.isfinite(y))
                    arrays["c%d_y%d" % (ci, j)] = y
            tag = version.replace(".", "")
            npz = "%s.k2_%s.npz" % (arch, tag)
            write_npz(os.path.join(out_dir, npz), arrays)
            suffix, kind, load, writer = K2_FORMATS[(version, "model")]
            name = "%s.%s" % (arch, suffix)
            path = os.path.join(out_dir, name)
            compiled = arch == "lstm_dense"
            opt = _adam_224_weights(model.layer_weights(), rng) if compiled and version == "2.2.4" else None
            write_model_file(path, version, model, compiled=compiled, optimizer_weights=opt)
            text = model_json(version, model)
            # The proof: tf_keras reads the K2 file back to the same predictions.
            R.clear("tfk")
            _check(tfk.models.load_model(path, compile=False), calls, arrays)
            if arch == "lstm_dense" and version == "2.3.1":
                # Keras loads legacy weights by position: a tf_keras model with other layer
                # names (lstm, dense) takes this file's lstm_1, dense_1 (tests/io uses this).
                R.clear("tfk")
                other = tfk.Sequential([tfk.Input(shape=(5, 4)), tfk.layers.LSTM(3),
                                        tfk.layers.Dense(2, activation="tanh")])
                assert [layer.name for layer in other.layers] == ["lstm", "dense"]
                other.load_weights(path)
                _check(other, calls, arrays)
            extra = (" + Adam optimizer_weights" if opt else "") + "; h5py imitation of Keras %s save_model" % version
            cases.append(make_entry(name, arch, writer, kind, load, npz, notes + extra, version, None))
            if version in weights_versions:
                suffix, kind, load, writer = K2_FORMATS[(version, "weights")]
                name = "%s.%s" % (arch, suffix)
                path = os.path.join(out_dir, name)
                write_weights_file(path, version, model)
                R.clear("tfk")
                check = tfk.models.model_from_json(text)
                check.load_weights(path)
                _check(check, calls, arrays)
                cases.append(make_entry(name, arch, writer, kind, load, npz,
                                        notes + "; h5py imitation of Keras %s save_weights" % version, version, text))
    return cases
