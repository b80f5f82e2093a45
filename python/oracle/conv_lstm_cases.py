"""Keras 3 goldens of ConvLSTM1D / ConvLSTM2D (family `conv_lstm`).

Layer cases are called in training mode (Keras' own dropout masks injected where a case
has dropout) and record, besides the outputs, the gradients of L = sum_k <gy_k, y_k> for
fixed random upstream gradients gy_k: under the JSON key "gradients", `gy` (one per
output), `gx` (w.r.t. the input), `gs` (w.r.t. each initial_state tensor) and `gw` (w.r.t.
each weight, get_weights() order). Dropout masks are stored flattened per sample
(`cI_dm*` [B, frame size], `cI_drm*` [B, state size], four of each in gate order i, f, c,
o): Keras draws each with the shape of the whole frame / state.
Model cases (the next-frame predictor of Keras' examples, tiny) are run forward and saved
as Keras 3 `.keras` files next to them (`<case>.keras`).
"""
import os

import numpy as np

from . import runner as R
from .common import Golden, f32, randn, rng_for

FAMILY = "conv_lstm"


def L():
    return R.keras.layers


def _state_shape(layer, B, frame, C):
    return (B,) + tuple(layer.cell.compute_output_shape((B,) + frame + (C,))[0][1:])


def layer_case(name, make, *, B=2, T=3, frame=(5, 5), C=2, mask=None, init_state=False, dropout=False,
               notes=None):
    tf = R.tf
    R.clear("k3")
    rng = rng_for(FAMILY + "/" + name)
    layer = make()
    x = randn(rng, (B, T) + frame + (C,))
    layer(R.tensor(x))
    layer.set_weights([f32(rng.uniform(-0.5, 0.5, size=w.shape)) for w in layer.get_weights()])
    m = None if mask is None else R.mask_pattern(mask, B, T)
    sshape = _state_shape(layer, B, frame, C)
    st = [randn(rng, sshape, 0.8) for _ in range(2)] if init_state else None
    cell = layer.cell
    dm = None
    if dropout:
        dm = {"input": [], "recurrent": []}
        if cell.dropout > 0:
            dm["input"] = [R.draw_dropout(rng, (B,) + frame + (C,), cell.dropout) for _ in range(4)]
        if cell.recurrent_dropout > 0:
            dm["recurrent"] = [R.draw_dropout(rng, sshape, cell.recurrent_dropout) for _ in range(4)]
    xt = tf.constant(x)
    sts = [tf.constant(s) for s in st] if st else []
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        for s in sts:
            tape.watch(s)
        if dm is not None:  # Keras reuses a cached mask (DropoutRNNCell); RNN.call clears it after
            cell._dropout_mask = [R.tensor(v) for v in dm["input"]] or None
            cell._recurrent_dropout_mask = [R.tensor(v) for v in dm["recurrent"]] or None
        kw = {"training": True}
        if m is not None:
            kw["mask"] = R.tensor(m.astype(bool))
        if sts:
            kw["initial_state"] = sts
        out = layer(xt, **kw)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        gys = [randn(rng, tuple(o.shape)) for o in outs]
        loss = tf.add_n([tf.reduce_sum(o * gy) for o, gy in zip(outs, gys)])
    grads = tape.gradient(loss, [xt] + sts + list(layer.trainable_weights))
    g = Golden(FAMILY, name, "k3")
    g.set_layer_json(R.layer_json("k3", layer))
    g.set_weights(layer.get_weights())
    flat_dm = None
    if dm is not None:
        flat_dm = {k: [v.reshape(B, -1) for v in vs] for k, vs in dm.items()}
        g.note("dropout_mask_per_gate", True)
    g.add_call([x], outs, mask=m, initial_state=st, dropout_masks=flat_dm, training=True)
    val = lambda t: f32(tf.convert_to_tensor(t).numpy())  # noqa: E731
    g.doc["gradients"] = {
        "gy": [g._put("c0_gy%d" % i, gy) for i, gy in enumerate(gys)],
        "gx": g._put("c0_gx", val(grads[0])),
        "gs": [g._put("c0_gs%d" % i, val(v)) for i, v in enumerate(grads[1:1 + len(sts)])],
        "gw": [g._put("c0_gw%d" % i, val(v)) for i, v in enumerate(grads[1 + len(sts):])],
    }
    if notes:
        g.note("notes", notes)
    return g


def stateful_case(name):
    """Three calls of a stateful ConvLSTM2D (the third after reset_states), forward only."""
    R.clear("k3")
    rng = rng_for(FAMILY + "/" + name)
    B, T, frame, C = 2, 3, (4, 4), 1
    layer = L().ConvLSTM2D(2, 3, padding="same", stateful=True, return_sequences=True)
    xs = [randn(rng, (B, T) + frame + (C,)) for _ in range(3)]
    layer(R.tensor(xs[0]))
    layer.set_weights([f32(rng.uniform(-0.5, 0.5, size=w.shape)) for w in layer.get_weights()])
    layer.reset_states()
    g = Golden(FAMILY, name, "k3")
    g.set_layer_json(R.layer_json("k3", layer))
    g.set_weights(layer.get_weights())
    for i, x in enumerate(xs):
        if i == 2:
            layer.reset_states()
        g.add_call([x], [layer(R.tensor(x))], reset_states_before=(i == 2))
    return g


def layer_cases():
    C2 = lambda *a, **kw: (lambda: L().ConvLSTM2D(*a, **kw))  # noqa: E731
    C1 = lambda *a, **kw: (lambda: L().ConvLSTM1D(*a, **kw))  # noqa: E731
    out = [
        layer_case("conv_lstm2d_same", C2(3, (3, 3), padding="same")),
        layer_case("conv_lstm2d_valid_seq", C2(2, (3, 3), return_sequences=True)),
        layer_case("conv_lstm2d_same_seq_state", C2(2, (3, 2), padding="same", return_sequences=True,
                                                     return_state=True)),
        layer_case("conv_lstm2d_state_last", C2(2, 3, padding="same", return_state=True)),
        layer_case("conv_lstm2d_go_backwards_seq", C2(2, 3, padding="same", go_backwards=True,
                                                       return_sequences=True)),
        layer_case("conv_lstm2d_mask_seq", C2(2, 3, padding="same", return_sequences=True), B=4, T=4,
                   mask="mixed", notes="a fully masked sample included"),
        layer_case("conv_lstm2d_mask_backwards", C2(2, 2, go_backwards=True), B=3, T=4, mask="right"),
        layer_case("conv_lstm2d_initial_state", C2(2, 3, padding="same", return_state=True), init_state=True),
        layer_case("conv_lstm2d_valid_initial_state_seq", C2(2, 2, return_sequences=True), init_state=True),
        layer_case("conv_lstm2d_strides2_same", C2(2, 3, strides=2, padding="same", return_sequences=True)),
        layer_case("conv_lstm2d_strides2_valid", C2(3, 3, strides=(2, 1), return_state=True), frame=(6, 5)),
        layer_case("conv_lstm2d_dilation2", C2(2, 2, dilation_rate=2, padding="same", return_sequences=True)),
        layer_case("conv_lstm2d_relu_hard_sigmoid_nobias",
                   C2(2, 3, padding="same", activation="relu", recurrent_activation="hard_sigmoid",
                      use_bias=False, return_sequences=True)),
        layer_case("conv_lstm2d_dropout", C2(2, 3, padding="same", dropout=0.3, recurrent_dropout=0.25,
                                              return_sequences=True), dropout=True),
        layer_case("conv_lstm2d_dropout_input_only", C2(2, 3, dropout=0.4), dropout=True),
        layer_case("conv_lstm1d_basic", C1(3, 3), frame=(7,), C=2),
        layer_case("conv_lstm1d_same_seq_state", C1(2, 2, padding="same", return_sequences=True, return_state=True),
                   frame=(6,), C=3),
        layer_case("conv_lstm1d_mask_init_state", C1(2, 3, padding="same", strides=2, return_sequences=True),
                   frame=(7,), C=2, B=3, T=4, mask="holes", init_state=True),
    ]
    out.append(stateful_case("conv_lstm2d_stateful"))
    return out


def next_frame_model(k):
    """Keras' next-frame video prediction example, tiny (6x6 frames, 4 filters)."""
    Lk = k.layers
    i = k.Input((None, 6, 6, 1))
    h = Lk.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True, activation="relu")(i)
    h = Lk.BatchNormalization()(h)
    h = Lk.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True, activation="relu")(h)
    h = Lk.BatchNormalization()(h)
    o = Lk.ConvLSTM2D(1, (1, 1), padding="same", return_sequences=True, activation="sigmoid")(h)
    return k.Model(i, o)


def conv1d_lstm_model(k):
    """ConvLSTM1D over sensor windows, its last [steps, filters] state read by an LSTM."""
    Lk = k.layers
    i = k.Input((4, 6, 2))
    h = Lk.ConvLSTM1D(3, 3, padding="same")(i)
    h = Lk.LSTM(3)(h)
    return k.Model(i, Lk.Dense(2)(h))


def _model_weights(model, rng):
    ws = []
    for v in model.weights:
        shape = tuple(v.shape)
        if "moving_variance" in v.path:
            ws.append(f32(rng.uniform(0.5, 1.5, size=shape)))
        else:
            ws.append(f32(rng.uniform(-0.5, 0.5, size=shape)))
    return ws


def model_case(name, build, x_shape, root, *, notes=None):
    R.clear("k3")
    rng = rng_for(FAMILY + "/" + name)
    model = build(R.keras)
    model.set_weights(_model_weights(model, rng))
    x = randn(rng, x_shape)
    y = model(R.tensor(x), training=False)
    g = Golden(FAMILY, name, "k3")
    g.set_model_json(R.model_json(model))
    g.set_weights(model.get_weights())
    g.add_call([x], [y])
    d = os.path.join(root, FAMILY)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name + ".keras")
    model.save(path)
    back = R.keras.models.load_model(path)
    assert np.allclose(back(R.tensor(x)).numpy(), y.numpy(), atol=1e-6), path
    g.note("keras_file", name + ".keras")
    if notes:
        g.note("notes", notes)
    return g


def conv_lstm_cases(root):
    out = layer_cases()
    out.append(model_case("model_next_frame", next_frame_model, (2, 3, 6, 6, 1), root,
                          notes="Keras' next-frame predictor, tiny: ConvLSTM2D -> BatchNormalization x2 -> "
                                "1x1 ConvLSTM2D(sigmoid) instead of Conv3D"))
    out.append(model_case("model_conv_lstm1d_lstm", conv1d_lstm_model, (3, 4, 6, 2), root,
                          notes="Keras 3 cannot run Masking in front of a ConvLSTM (its 4-D mask breaks the "
                                "RNN select), so no masked model case"))
    return out
