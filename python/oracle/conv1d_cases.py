"""Keras 3 goldens of the 1-D convolution and pooling layers (family `conv1d`).

Layer cases record, besides the forward call, the gradients of sum(y * gy) for a fixed
random upstream gradient gy: `c0_gy`, `c0_gx` (w.r.t. the input) and `c0_gw<i>` (w.r.t.
weight i, get_weights() order), named in the JSON under "gradients". Model cases (composite
models and masks: Keras 3 conv / pooling layers drop an incoming mask) are forward only.
"""
from . import runner as R
from .common import Golden, case_seed, f32, randn, rng_for
from .k3_models import model_case, padded_float

FAMILY = "conv1d"


def L():
    return R.keras.layers


def grad_layer_case(name, make, *, B=2, T=7, D=4, channels_first=False, w_scale=0.5, notes=None, grads=True,
                    shape=None, family=FAMILY):
    """`shape` (the input's, overriding B, T, D) and `family` serve conv2d_cases.py."""
    tf = R.tf
    R.clear("k3")
    rng = rng_for(family + "/" + name)
    layer = make()
    x = randn(rng, shape if shape else (B, D, T) if channels_first else (B, T, D))
    layer(R.tensor(x))
    layer.set_weights([f32(rng.uniform(-w_scale, w_scale, size=w.shape)) for w in layer.get_weights()])
    xt = tf.constant(x)
    if not grads:
        y = layer(xt, training=True)
        g = Golden(family, name, "k3")
        g.set_layer_json(R.layer_json("k3", layer))
        g.set_weights(layer.get_weights())
        g.add_call([x], [y])
        g.note("notes", notes)
        return g
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=True)
        gy = randn(rng, tuple(y.shape))
        loss = tf.reduce_sum(y * gy)
    grads = tape.gradient(loss, [xt] + list(layer.trainable_weights))
    g = Golden(family, name, "k3")
    g.set_layer_json(R.layer_json("k3", layer))
    g.set_weights(layer.get_weights())
    g.add_call([x], [y])
    g.doc["gradients"] = {
        "gy": g._put("c0_gy", gy),
        "gx": g._put("c0_gx", f32(grads[0].numpy())),
        "gw": [g._put("c0_gw%d" % i, f32(tf.convert_to_tensor(gw).numpy())) for i, gw in enumerate(grads[1:])],
    }
    if notes:
        g.note("notes", notes)
    return g


def layer_cases():
    out = []
    C = lambda **kw: (lambda: L().Conv1D(**kw))  # noqa: E731
    out.append(grad_layer_case("conv1d_valid_k3", C(filters=3, kernel_size=3)))
    out.append(grad_layer_case("conv1d_same_k4_relu", C(filters=3, kernel_size=4, padding="same", activation="relu"),
                               notes="even kernel: TF puts the odd padding step on the right"))
    out.append(grad_layer_case("conv1d_same_stride2_tanh",
                               C(filters=2, kernel_size=3, strides=2, padding="same", activation="tanh"), T=8))
    out.append(grad_layer_case("conv1d_valid_stride3", C(filters=2, kernel_size=2, strides=3), T=8))
    out.append(grad_layer_case("conv1d_causal_dil2_tanh",
                               C(filters=3, kernel_size=3, padding="causal", dilation_rate=2, activation="tanh")))
    out.append(grad_layer_case("conv1d_same_dil3", C(filters=2, kernel_size=2, padding="same", dilation_rate=3)))
    out.append(grad_layer_case("conv1d_groups2_sigmoid",
                               C(filters=6, kernel_size=3, groups=2, activation="sigmoid", padding="same"),
                               grads=False, notes="forward only: TF has no CPU gradient for grouped convolutions"))
    out.append(grad_layer_case("conv1d_nobias_softmax",
                               C(filters=3, kernel_size=2, use_bias=False, activation="softmax")))
    M = lambda **kw: (lambda: L().MaxPooling1D(**kw))  # noqa: E731
    A = lambda **kw: (lambda: L().AveragePooling1D(**kw))  # noqa: E731
    out.append(grad_layer_case("maxpool_default", M()))
    out.append(grad_layer_case("maxpool_p3_s1_same", M(pool_size=3, strides=1, padding="same")))
    out.append(grad_layer_case("maxpool_p3_s2_valid", M(pool_size=3, strides=2), T=8))
    out.append(grad_layer_case("maxpool_p2_same_odd", M(pool_size=2, padding="same")))
    out.append(grad_layer_case("avgpool_default", A(pool_size=2)))
    out.append(grad_layer_case("avgpool_p3_s1_same", A(pool_size=3, strides=1, padding="same"),
                               notes="same padding: TF averages only the real elements of each window"))
    out.append(grad_layer_case("avgpool_p4_s2_same", A(pool_size=4, strides=2, padding="same"), T=9))
    out.append(grad_layer_case("avgpool_p2_s1_valid", A(pool_size=2, strides=1)))
    out.append(grad_layer_case("depthwise_dm2_same",
                               lambda: L().DepthwiseConv1D(kernel_size=3, depth_multiplier=2, padding="same")))
    out.append(grad_layer_case("depthwise_dm1_stride2_relu",
                               lambda: L().DepthwiseConv1D(kernel_size=2, strides=2, activation="relu"), T=8))
    out.append(grad_layer_case("depthwise_dil2_nobias",
                               lambda: L().DepthwiseConv1D(kernel_size=3, dilation_rate=2, use_bias=False)))
    out.append(grad_layer_case("separable_dm2_same_relu",
                               lambda: L().SeparableConv1D(3, 3, depth_multiplier=2, padding="same",
                                                           activation="relu")))
    out.append(grad_layer_case("separable_dil2_valid",
                               lambda: L().SeparableConv1D(2, 2, dilation_rate=2)))
    out.append(grad_layer_case("separable_stride2_nobias_tanh",
                               lambda: L().SeparableConv1D(4, 3, strides=2, use_bias=False, activation="tanh"), T=8))
    out.append(grad_layer_case("upsampling_3", lambda: L().UpSampling1D(3), T=4))
    out.append(grad_layer_case("zeropadding_1_2", lambda: L().ZeroPadding1D((1, 2)), T=4))
    out.append(grad_layer_case("zeropadding_2_cf", lambda: L().ZeroPadding1D(2, data_format="channels_first"),
                               T=4, channels_first=True))
    out.append(grad_layer_case("cropping_1_2", lambda: L().Cropping1D((1, 2))))
    out.append(grad_layer_case("cropping_0_1", lambda: L().Cropping1D((0, 1))))
    out.append(grad_layer_case("maxpool_cf", M(pool_size=2, data_format="channels_first"), channels_first=True))
    out.append(grad_layer_case("avgpool_cf_same", A(pool_size=3, padding="same", data_format="channels_first"),
                               channels_first=True))
    return out


def cnn_lstm():
    k = R.keras
    i = k.Input((8, 3))
    h = L().Conv1D(4, 3, padding="same", activation="relu")(i)
    h = L().MaxPooling1D(2)(h)
    h = L().LSTM(5)(h)
    return k.Model(i, L().Dense(3, activation="softmax")(h))


def causal_gru():
    k = R.keras
    i = k.Input((7, 3))
    h = L().Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")(i)
    return k.Model(i, L().GRU(4)(h))


def model_cases():
    k = R.keras
    out = [model_case(FAMILY, "model_cnn_lstm_classifier", cnn_lstm, lambda rng: [randn(rng, (3, 8, 3))]),
           model_case(FAMILY, "model_causal_dil2_gru", causal_gru, lambda rng: [randn(rng, (3, 7, 3))])]

    def masked(layer_fn):
        def build():
            i = k.Input((6, 3))
            h = L().Masking(0.0)(i)
            h = layer_fn()(h)
            return k.Model(i, L().LSTM(3, return_sequences=True)(h))
        return build
    note = "Keras 3 drops the Masking mask at this layer (no supports_masking): the LSTM sees no mask"
    for nm, fn in (("conv1d", lambda: L().Conv1D(3, 2, padding="same")), ("maxpool", lambda: L().MaxPooling1D(1)),
                   ("upsampling", lambda: L().UpSampling1D(1)), ("cropping", lambda: L().Cropping1D((0, 0)))):
        out.append(model_case(FAMILY, "model_mask_dropped_by_" + nm, masked(fn),
                              lambda rng: [padded_float(rng, 4, 6, 3)], notes=note))
    return out


def conv1d_cases():
    import os
    from . import conv1d_file_cases
    from .common import VERSIONS
    files = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tests",
                         "data", "files")
    conv1d_file_cases.generate(files, dict(VERSIONS))  # also written by the `files` family
    return layer_cases() + model_cases()
