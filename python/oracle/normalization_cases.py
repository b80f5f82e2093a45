"""Keras 3 goldens of the `normalization` family: LayerNormalization, BatchNormalization,
GroupNormalization, UnitNormalization, Normalization, Rescaling (layer cases on inputs of
rank 2..5, masks, training calls) and the composite models a user writes around recurrent
layers (kind=model). BatchNormalization training calls are followed by an inference call,
whose output depends on the moving statistics the training call updated.

Weights: gamma ~ U(0.5, 1.5), beta / moving_mean ~ U(-0.5, 0.5), moving_variance ~
U(0.5, 1.5), every other weight ~ U(-0.5, 0.5) (a uniform(-0.5, 0.5) variance would be
negative)."""
import numpy as np

from . import runner as R
from .common import Golden, case_seed, f32, randn, rng_for

FAMILY = "normalization"


def L():
    return R.keras.layers


def weight_values(variables, rng):
    out = []
    for v in variables:
        name = v.path.split("/")[-1]
        shape = tuple(v.shape)
        if name in ("gamma", "moving_variance", "variance"):
            out.append(f32(rng.uniform(0.5, 1.5, size=shape)))
        elif name == "count":
            out.append(np.asarray(np.prod(shape) * 0 + 10, dtype=np.int64).reshape(shape))
        else:
            out.append(f32(rng.uniform(-0.5, 0.5, size=shape)))
    return out


def layer_case(name, make, x_shape, *, calls=("inference",), mask=None, x_scale=1.0, x_offset=0.0,
               keep_weights=False, notes=None):
    """calls: sequence of "inference" / "training"; each call gets a new input. mask: a
    (B, T) pattern name of runner.mask_pattern for every call."""
    R.clear("k3")
    rng = rng_for(FAMILY + "/" + name)
    R.set_seed("k3", case_seed(FAMILY + "/" + name))
    layer = make()
    xs = [randn(rng, x_shape, x_scale) + f32(x_offset) for _ in calls]
    layer.build(x_shape)
    if not keep_weights and layer.weights:
        layer.set_weights(weight_values(layer.weights, rng))
        if hasattr(layer, "finalize_state"):  # Normalization: what adapt() / loading a file run
            layer.finalize_state()
    g = Golden(FAMILY, name, "k3")
    g.set_layer_json(R.layer_json("k3", layer))
    g.set_weights([f32(w) for w in layer.get_weights()])
    m = None if mask is None else R.mask_pattern(mask, x_shape[0], x_shape[1])
    for kind, x in zip(calls, xs):
        kw = {}
        if m is not None:
            kw["mask"] = R.tensor(m)
        if kind == "training":
            kw["training"] = True
        y = layer(R.tensor(x), **kw)
        g.add_call([x], [y], mask=m, training=kind == "training")
    if notes:
        g.note("notes", notes)
    return g


def model_case(name, build, x_shape, *, mask_zero_rows=False, notes=None):
    R.clear("k3")
    rng = rng_for(FAMILY + "/" + name)
    R.set_seed("k3", case_seed(FAMILY + "/" + name))
    model = build()
    model.set_weights(weight_values(model.weights, rng))
    x = randn(rng, x_shape)
    if mask_zero_rows:  # trailing padding for a Masking(0) layer
        for b in range(x_shape[0]):
            n = x_shape[1] - (b % (x_shape[1] - 1))
            x[b, n:] = 0.0
    y = model(R.tensor(x), training=False)
    g = Golden(FAMILY, name, "k3")
    g.set_model_json(R.model_json(model))
    g.set_weights([f32(w) for w in model.get_weights()])
    g.add_call([x], y if isinstance(y, (list, tuple)) else [y])
    if notes:
        g.note("notes", notes)
    return g


def _chain(shape, *layers):
    i = R.keras.Input(shape)
    h = i
    for layer in layers:
        h = layer(h)
    return R.keras.Model(i, h)


def layer_cases():
    out = []
    LN, BN = L().LayerNormalization, L().BatchNormalization
    # LayerNormalization
    out.append(layer_case("ln_default", lambda: LN(), (3, 5, 4)))
    out.append(layer_case("ln_2d_eps", lambda: LN(epsilon=0.1), (4, 6), x_offset=2.0))
    out.append(layer_case("ln_no_center", lambda: LN(center=False), (3, 5, 4)))
    out.append(layer_case("ln_no_scale", lambda: LN(scale=False), (3, 5, 4)))
    out.append(layer_case("ln_plain", lambda: LN(center=False, scale=False, epsilon=1e-5), (3, 5, 4)))
    out.append(layer_case("ln_axis_list", lambda: LN(axis=[1, 2]), (3, 5, 4)))
    out.append(layer_case("ln_axis_1", lambda: LN(axis=1), (3, 5, 4)))
    out.append(layer_case("ln_axis_m2_4d", lambda: LN(axis=[-2, -1]), (2, 3, 4, 5)))
    out.append(layer_case("ln_rms_scaling", lambda: LN(rms_scaling=True), (3, 5, 4), x_offset=0.7))
    out.append(layer_case("ln_training_call", lambda: LN(), (3, 5, 4), calls=("inference", "training")))
    # BatchNormalization
    out.append(layer_case("bn_inference", lambda: BN(), (3, 5, 4)))
    out.append(layer_case("bn_training_then_inference", lambda: BN(momentum=0.8),
                          (4, 5, 3), calls=("training", "inference", "training", "inference"), x_offset=0.5))
    out.append(layer_case("bn_2d_no_center_scale", lambda: BN(center=False, scale=False, epsilon=0.01),
                          (6, 4), calls=("training", "inference")))
    out.append(layer_case("bn_axis_1", lambda: BN(axis=1), (3, 4, 5), calls=("inference", "training", "inference")))
    out.append(layer_case("bn_masked_training", lambda: BN(momentum=0.5), (4, 5, 3), mask="mixed",
                          calls=("training", "inference"),
                          notes="the mask leaves masked steps out of the batch statistics (N + 1e-7)"))
    out.append(layer_case("bn_5d_convlstm_frames", lambda: BN(momentum=0.9), (2, 3, 4, 4, 2),
                          calls=("inference", "training", "inference"),
                          notes="(batch, time, rows, cols, channels) as after ConvLSTM2D(return_sequences)"))
    # GroupNormalization / UnitNormalization
    out.append(layer_case("gn_groups2", lambda: L().GroupNormalization(groups=2), (3, 5, 4)))
    out.append(layer_case("gn_instance", lambda: L().GroupNormalization(groups=-1, epsilon=0.01), (3, 5, 4)))
    out.append(layer_case("gn_4d_no_center", lambda: L().GroupNormalization(groups=3, center=False), (2, 3, 2, 6)))
    out.append(layer_case("gn_axis_1", lambda: L().GroupNormalization(groups=2, axis=1), (2, 4, 3)))
    out.append(layer_case("unit_default", lambda: L().UnitNormalization(), (3, 5, 4)))
    out.append(layer_case("unit_axis_list", lambda: L().UnitNormalization(axis=[1, 2]), (3, 5, 4)))
    # Normalization / Rescaling
    out.append(layer_case("norm_given_stats", lambda: L().Normalization(mean=[0.5, -1.0, 2.0],
                                                                         variance=[4.0, 0.25, 1.0]), (3, 5, 3)))
    out.append(layer_case("norm_given_scalar_invert", lambda: L().Normalization(mean=1.5, variance=2.0, invert=True),
                          (3, 4)))
    out.append(layer_case("norm_adapted_weights", lambda: L().Normalization(axis=-1), (3, 5, 3),
                          notes="mean / variance / count as weights, what adapt() leaves"))
    out.append(layer_case("norm_axis_none", lambda: L().Normalization(axis=None, mean=2.0, variance=9.0), (3, 4)))
    out.append(layer_case("norm_axis_list", lambda: L().Normalization(axis=[1, 2]), (2, 3, 4)))
    out.append(layer_case("rescaling", lambda: L().Rescaling(1.0 / 255, offset=-0.5), (3, 5, 4), x_scale=100.0))
    out.append(layer_case("rescaling_list", lambda: L().Rescaling([2.0, -1.0, 0.5], offset=[0.1, 0.2, 0.3]),
                          (3, 4, 3)))
    return out


def model_cases():
    K = R.keras
    out = []
    T, D = 5, 3
    out.append(model_case("model_lstm_ln_lstm", lambda: _chain(
        (T, D), L().LSTM(4, return_sequences=True), L().LayerNormalization(), L().LSTM(4), L().Dense(2)), (3, T, D)))
    out.append(model_case("model_masked_lstm_ln_lstm", lambda: _chain(
        (T, D), L().Masking(0.0), L().LSTM(4, return_sequences=True), L().LayerNormalization(),
        L().LSTM(4, return_sequences=True)), (4, T, D), mask_zero_rows=True,
        notes="the Masking mask passes through LayerNormalization to the second LSTM"))
    out.append(model_case("model_gru_bn_dense", lambda: _chain(
        (T, D), L().GRU(4), L().BatchNormalization(), L().Dense(3, activation="softmax")), (3, T, D)))
    out.append(model_case("model_gru_seq_bn_gru", lambda: _chain(
        (T, D), L().Masking(0.0), L().GRU(4, return_sequences=True), L().BatchNormalization(), L().GRU(3)),
        (4, T, D), mask_zero_rows=True))

    def residual():
        i = K.Input((T, D))
        h = L().LSTM(4, return_sequences=True)(i)
        p = L().Dense(4)(i)
        h = L().LayerNormalization(epsilon=1e-6)(L().Add()([h, p]))
        return K.Model(i, L().Dense(2)(h))
    out.append(model_case("model_lstm_residual_ln", residual, (3, T, D),
                          notes="Transformer-style residual: LSTM(seq) + Dense projection -> Add -> LayerNorm"))
    out.append(model_case("model_preprocessing_lstm", lambda: _chain(
        (T, D), L().Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 2.0, 0.5]), L().Rescaling(0.5),
        L().LSTM(3), L().UnitNormalization()), (3, T, D)))
    return out


def normalization_cases():
    return layer_cases() + model_cases()
