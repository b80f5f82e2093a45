"""Keras 3 / tf_keras cases of the `plumbing` family (issue 9): RepeatVector, Permute,
Subtract / Multiply / Average / Maximum / Minimum, Dot, LeakyReLU, PReLU, ELU, ReLU, Softmax,
SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization, and
composite models (LSTM autoencoder, gated LSTM model).

Every case is a model (kind=model) run in inference. Cases without random layers also carry
the gradients of L = sum_k <r_k, y_k> + sum(model.losses) (r_k fixed random, stored) with
respect to every input and every trainable weight, listed under the JSON key "grads":
{"r": [...], "inputs": [...], "weights": [...]} (npz names; weights in get_weights() order).
The composite models and a Lambda model are also written as Keras 3 .keras files next to the
cases (<case>.keras)."""
import os

import numpy as np

from . import runner as R
from .common import Golden, case_seed, f32, randn, rng_for
from .k3_models import padded_float

FAMILY = "plumbing"


def L(lib="k3"):
    return R.keras.layers if lib == "k3" else R.tf_keras.layers


def case(name, build, make_inputs, *, lib="k3", grads=True, keras_file=None, w_scale=0.5, notes=None):
    """build() -> model; make_inputs(rng) -> list of numpy inputs."""
    tf = R.tf
    R.clear(lib)
    rng = rng_for(FAMILY + "/" + name)
    R.set_seed(lib, case_seed(FAMILY + "/" + name))
    model = build()
    xs = make_inputs(rng)
    model.set_weights([f32(rng.uniform(-w_scale, w_scale, size=w.shape)) for w in model.get_weights()])
    feed = [tf.constant(f32(x)) for x in xs]
    with tf.GradientTape() as tape:
        tape.watch(feed)
        y = model(feed if len(feed) > 1 else feed[0], training=False)
        ys = list(y) if isinstance(y, (list, tuple)) else [y]
        rs = [f32(rng.uniform(-1, 1, size=tuple(t.shape))) for t in ys]
        loss = sum(tf.reduce_sum(t * r) for t, r in zip(ys, rs))
        if model.losses:
            loss = loss + tf.add_n(model.losses)
    g = Golden(FAMILY, name, lib)
    g.set_model_json(R.model_json(model))
    g.set_weights(model.get_weights())
    g.add_call(xs, ys)
    if grads:
        gs = tape.gradient(loss, feed + list(model.trainable_weights))
        assert all(t is not None for t in gs), name
        n_in = len(feed)
        # trainable_weights follow get_weights() order here (no non-trainable weights).
        assert len(model.trainable_weights) == len(model.get_weights()), name
        g.note("grads", {
            "r": [g._put("gr%d" % i, r) for i, r in enumerate(rs)],
            "inputs": [g._put("gx%d" % i, f32(t.numpy())) for i, t in enumerate(gs[:n_in])],
            "weights": [g._put("gw%d" % i, f32(R.tf.convert_to_tensor(t).numpy()))
                        for i, t in enumerate(gs[n_in:])],
        })
    if notes:
        g.note("notes", notes)
    if keras_file:
        model.save(os.path.join(keras_file, name + ".keras"))
    return g


def two_masked(rng, B=4, T=5, D=3):
    a = padded_float(rng, B, T, D, lengths=[5, 3, 2, 4])
    b = padded_float(rng, B, T, D, lengths=[4, 5, 1, 2])
    return [a, b]


def plumbing_cases(out_dir):
    k = R.keras
    out = []
    fdir = os.path.join(out_dir, FAMILY)
    os.makedirs(fdir, exist_ok=True)

    def seq(*layers, shape=(5, 3)):
        return lambda: k.Sequential([k.Input(shape)] + [f() for f in layers])

    def one(shape, B=3):
        return lambda rng: [randn(rng, (B,) + shape)]

    # ---- RepeatVector, Permute
    out.append(case("repeat_vector", seq(lambda: L().RepeatVector(3), shape=(4,)), one((4,))))
    out.append(case("permute_21", seq(lambda: L().Permute((2, 1))), one((5, 3))))
    out.append(case("permute_21_lstm", seq(lambda: L().Permute((2, 1)), lambda: L().LSTM(2)), one((5, 3))))
    out.append(case("permute_312", seq(lambda: L().Permute((3, 1, 2)), shape=(2, 3, 4)), one((2, 3, 4), B=2)))

    # ---- element-wise merges
    def merge(cls, n, masked=False, mask_first_only=False):
        def build():
            ins = [k.Input((5, 3)) for _ in range(n)]
            hs = []
            for i, x in enumerate(ins):
                hs.append(L().Masking()(x) if masked and (i == 0 or not mask_first_only) else x)
            y = getattr(L(), cls)()(hs)
            if masked:
                y = L().LSTM(2, return_sequences=True)(y)  # consumes the merged mask
            return k.Model(ins, y)
        return build

    def inputs_n(n, masked):
        def make(rng):
            if masked:
                xs = two_masked(rng)
                if n == 3:
                    xs.append(padded_float(rng, 4, 5, 3, lengths=[2, 5, 1, 3]))
                return xs
            return [randn(rng, (3, 5, 3)) for _ in range(n)]
        return make

    for cls, n in (("Subtract", 2), ("Multiply", 3), ("Average", 3), ("Maximum", 3), ("Minimum", 2)):
        out.append(case(cls.lower(), merge(cls, n), inputs_n(n, False)))
        out.append(case(cls.lower() + "_masked_lstm", merge(cls, n, masked=True), inputs_n(n, True)))
        if cls in ("Multiply", "Maximum"):
            out.append(case(cls.lower() + "_one_masked_lstm", merge(cls, n, masked=True, mask_first_only=True),
                            inputs_n(n, True)))

    # Masked merges whose output is returned as is (shows the masked-out values Keras returns).
    def merge_raw(cls):
        def build():
            a, b = k.Input((5, 3)), k.Input((5, 3))
            return k.Model([a, b], getattr(L(), cls)()([L().Masking()(a), L().Masking()(b)]))
        return build
    for cls in ("Multiply", "Maximum", "Minimum"):
        out.append(case(cls.lower() + "_masked_values", merge_raw(cls), inputs_n(2, True)))

    # ---- Dot
    def dot(shape_a, shape_b, **kw):
        def build():
            a, b = k.Input(shape_a), k.Input(shape_b)
            return k.Model([a, b], L().Dot(**kw)([a, b]))
        return build, (lambda rng: [randn(rng, (3,) + shape_a), randn(rng, (3,) + shape_b)])
    for name, sa, sb, kw in (
            ("dot_vectors", (4,), (4,), dict(axes=1)),
            ("dot_vectors_normalize", (4,), (4,), dict(axes=-1, normalize=True)),
            ("dot_scores_axes2", (4, 3), (5, 3), dict(axes=2)),
            ("dot_axes_1_1", (4, 3), (4, 2), dict(axes=(1, 1))),
            ("dot_axes_2_1", (4, 3), (3, 2), dict(axes=(2, 1))),
            ("dot_scores_normalize", (4, 3), (5, 3), dict(axes=[2, 2], normalize=True)),
            ("dot_seq_vector", (4, 3), (3,), dict(axes=(2, 1))),
            ("dot_vector_seq", (3,), (4, 3), dict(axes=(1, 2)))):
        b, mi = dot(sa, sb, **kw)
        out.append(case(name, b, mi))

    # ---- activation layers
    def act(name, make, shape=(5, 3), scale=1.5, masked=False, lib="k3"):
        def build():
            kk = k if lib == "k3" else R.tf_keras
            i = kk.Input(shape)
            h = L(lib).Masking()(i) if masked else i
            for m in (make if isinstance(make, list) else [make]):
                h = m()(h)
            if masked:
                h = L(lib).LSTM(2, return_sequences=True)(h)
            return kk.Model(i, h)
        mk = ((lambda rng: [padded_float(rng, 4, 5, 3, lengths=[5, 2, 3, 4]) * scale]) if masked
              else (lambda rng: [randn(rng, (3,) + shape, scale)]))
        out.append(case(name, build, mk, lib=lib))

    act("leaky_relu_default", lambda: L().LeakyReLU())
    act("leaky_relu_0_1", lambda: L().LeakyReLU(negative_slope=0.1))
    act("elu_default", lambda: L().ELU())
    act("relu_default", lambda: L().ReLU())
    act("relu_max_value", lambda: L().ReLU(max_value=1.2))
    act("relu_relu6", lambda: L().ReLU(max_value=6.0), scale=4.0)
    act("relu_slope_threshold", lambda: L().ReLU(negative_slope=0.2, threshold=0.5))
    act("relu_all_options", lambda: L().ReLU(max_value=1.5, negative_slope=0.1, threshold=0.3))
    act("prelu", lambda: L().PReLU())
    act("prelu_shared_steps", lambda: L().PReLU(shared_axes=[1]))
    act("prelu_constant_init", lambda: L().PReLU(alpha_initializer=k.initializers.Constant(0.25)))
    act("softmax_last", lambda: L().Softmax())
    act("softmax_axis1", lambda: L().Softmax(axis=1))
    act("masking_activations_lstm",
        [lambda: L().LeakyReLU(0.2), lambda: L().PReLU(), lambda: L().ELU(), lambda: L().ReLU(max_value=2.0)],
        masked=True)
    # tf_keras writes LeakyReLU `alpha` and ELU `alpha`.
    act("tfk_leaky_relu_alpha", lambda: L("tfk").LeakyReLU(alpha=0.2), lib="tfk")
    act("tfk_elu_alpha", lambda: L("tfk").ELU(alpha=0.5), lib="tfk")
    act("tfk_relu_options", lambda: L("tfk").ReLU(max_value=1.5, negative_slope=0.1, threshold=0.3), lib="tfk")

    # Softmax with a propagated mask: Keras 3 broadcasts the (batch, steps) mask against the
    # input from the right, which fits here because batch == steps == features == 4.
    def softmax_masked():
        i = k.Input((4, 4))
        return k.Model(i, L().Softmax()(L().Masking()(i)))
    out.append(case("softmax_masked_broadcast", softmax_masked,
                    lambda rng: [padded_float(rng, 4, 4, 4, lengths=[4, 2, 3, 1])],
                    notes="mask (4, 4) broadcast from the right against inputs (4, 4, 4)"))

    # ---- regularisation layers (inference: identity; gradients only without random layers)
    def noise_model():
        i = k.Input((5, 3))
        h = L().Masking()(i)
        h = L().SpatialDropout1D(0.3)(h)
        h = L().GaussianNoise(0.2)(h)
        h = L().LSTM(4, return_sequences=True)(h)
        h = L().GaussianDropout(0.4)(h)
        h = L().AlphaDropout(0.2)(h)
        return k.Model(i, L().LSTM(2)(h))
    out.append(case("noise_layers_inference", noise_model,
                    lambda rng: [padded_float(rng, 4, 5, 3, lengths=[5, 2, 3, 4])], grads=False))
    out.append(case("activity_regularization",
                    seq(lambda: L().LSTM(3, return_sequences=True), lambda: L().ActivityRegularization(l1=0.01, l2=0.02),
                        lambda: L().Dense(2)), one((5, 3))))
    out.append(case("alpha_dropout_noise_shape", seq(lambda: L().AlphaDropout(0.3, noise_shape=(None, 1, 3))),
                    one((5, 3)), grads=False))

    # ---- composite models
    def autoencoder():
        i = k.Input((6, 3))
        h = L().LSTM(4)(i)
        h = L().RepeatVector(6)(h)
        h = L().LSTM(4, return_sequences=True)(h)
        return k.Model(i, L().TimeDistributed(L().Dense(3))(h))
    out.append(case("lstm_autoencoder", autoencoder, one((6, 3)), keras_file=fdir))

    def gated(masked):
        def build():
            i = k.Input((5, 3))
            h = L().Masking()(i) if masked else i
            a = L().LSTM(4, return_sequences=True)(h)
            b = L().LSTM(4, return_sequences=True)(h)
            gate = L().Dense(4, activation="sigmoid")(b)
            gated_a = L().Multiply()([a, gate])
            diff = L().Subtract()([a, gated_a])
            return k.Model(i, L().LSTM(2)(diff))
        return build
    out.append(case("gated_lstm_multiply_subtract", gated(False), one((5, 3)), keras_file=fdir))
    out.append(case("gated_lstm_masked", gated(True),
                    lambda rng: [padded_float(rng, 4, 5, 3, lengths=[5, 2, 3, 4])], keras_file=fdir))

    # ---- Lambda: a real Keras 3 file rnnx must refuse.
    R.clear("k3")
    i = k.Input((5, 3))
    lam = k.Model(i, L().Lambda(lambda x: x * 2.0, name="double_it")(L().LSTM(2, return_sequences=True)(i)))
    lam.save(os.path.join(fdir, "lambda_model.keras"))
    return out
