"""Keras 3 goldens of the 2-D / 3-D convolution and pooling layers (family `conv2d`).

Layer cases (conv1d_cases.grad_layer_case) record the forward call in training mode and the
gradients of sum(y * gy) for a fixed random upstream gradient gy: `c0_gy`, `c0_gx` and
`c0_gw<i>` (JSON "gradients"). They include the layers inside TimeDistributed on 5-D frame
sequences (batch, time, rows, cols, channels). Model cases (the per-frame CNN feeding an LSTM
or GRU, as a user writes it; masked frames) are forward only. Inputs are tiny (5x5 frames,
3 steps) so the goldens stay small.
"""
from . import runner as R
from .common import randn
from .conv1d_cases import grad_layer_case
from .k3_models import model_case

FAMILY = "conv2d"


def L():
    return R.keras.layers


def case(name, make, shape, **kw):
    return grad_layer_case(name, make, shape=shape, family=FAMILY, **kw)


IMG = (2, 5, 5, 2)          # (batch, rows, cols, channels)
IMG_CF = (2, 2, 5, 5)       # channels_first
VOL = (2, 4, 4, 3, 2)       # (batch, d1, d2, d3, channels)
FRAMES = (2, 3, 5, 5, 2)    # (batch, time, rows, cols, channels)


def conv_cases():
    # No channels_first convolution: TensorFlow's CPU Conv2D / Conv3D run NHWC only (rnnx checks
    # channels_first against channels_last in tests/unit/conv2d_test.cpp).
    C = lambda **kw: (lambda: L().Conv2D(**kw))  # noqa: E731
    return [
        case("conv2d_valid_k3", C(filters=3, kernel_size=3), IMG),
        case("conv2d_same_k2_relu", C(filters=3, kernel_size=2, padding="same", activation="relu"), IMG,
             notes="even kernel: TF puts the odd padding row / column at the bottom / right"),
        case("conv2d_same_stride2_tanh", C(filters=2, kernel_size=3, strides=2, padding="same", activation="tanh"),
             IMG),
        case("conv2d_valid_k3x2_stride2x1", C(filters=2, kernel_size=(3, 2), strides=(2, 1)), IMG),
        case("conv2d_same_dil2x1_sigmoid",
             C(filters=2, kernel_size=(2, 3), dilation_rate=(2, 1), padding="same", activation="sigmoid"), IMG),
        case("conv2d_groups2", C(filters=4, kernel_size=2, groups=2, padding="same"), IMG, grads=False,
             notes="forward only: TF has no CPU gradient for grouped convolutions"),
        case("conv2d_nobias_softmax", C(filters=3, kernel_size=2, use_bias=False, activation="softmax"), IMG),
        case("conv3d_valid_k2", lambda: L().Conv3D(2, 2), VOL),
        case("conv3d_same_stride2_relu", lambda: L().Conv3D(3, (3, 2, 2), strides=2, padding="same",
                                                             activation="relu"), VOL),
    ]


def pooling_cases():
    M = lambda **kw: (lambda: L().MaxPooling2D(**kw))  # noqa: E731
    A = lambda **kw: (lambda: L().AveragePooling2D(**kw))  # noqa: E731
    G = L
    return [
        case("maxpool2d_default", M(), IMG),
        case("maxpool2d_p3_s1_same", M(pool_size=3, strides=1, padding="same"), IMG),
        case("maxpool2d_p2x3_s1x2", M(pool_size=(2, 3), strides=(1, 2)), IMG),
        case("maxpool2d_p2_same_odd", M(pool_size=2, padding="same"), IMG),
        case("maxpool2d_cf", M(pool_size=2, data_format="channels_first"), IMG_CF),
        case("avgpool2d_default", A(pool_size=2), IMG),
        case("avgpool2d_p3_s1_same", A(pool_size=3, strides=1, padding="same"), IMG,
             notes="same padding: TF averages only the real elements of each window"),
        case("avgpool2d_p2_s2_same", A(pool_size=2, padding="same"), IMG),
        case("avgpool2d_cf_same", A(pool_size=3, strides=2, padding="same", data_format="channels_first"), IMG_CF),
        case("maxpool3d_default", lambda: L().MaxPooling3D(), VOL),
        case("avgpool3d_same", lambda: L().AveragePooling3D(2, padding="same"), VOL),
        case("gap2d", lambda: G().GlobalAveragePooling2D(), IMG),
        case("gap2d_keepdims_cf", lambda: G().GlobalAveragePooling2D(keepdims=True, data_format="channels_first"),
             IMG_CF),
        case("gmp2d", lambda: G().GlobalMaxPooling2D(), IMG),
        case("gmp2d_keepdims", lambda: G().GlobalMaxPooling2D(keepdims=True), IMG),
        case("gmp2d_cf", lambda: G().GlobalMaxPooling2D(data_format="channels_first"), IMG_CF),
        case("gap3d", lambda: G().GlobalAveragePooling3D(), VOL),
        case("gmp3d_keepdims", lambda: G().GlobalMaxPooling3D(keepdims=True), VOL),
    ]


def time_distributed_cases():
    TD = lambda inner: (lambda: L().TimeDistributed(inner()))  # noqa: E731
    return [
        case("td_conv2d_valid_relu", TD(lambda: L().Conv2D(3, 3, activation="relu")), FRAMES),
        case("td_conv2d_same_stride2", TD(lambda: L().Conv2D(2, 3, strides=2, padding="same")), FRAMES),
        case("td_maxpool2d", TD(lambda: L().MaxPooling2D()), FRAMES),
        case("td_avgpool2d_same", TD(lambda: L().AveragePooling2D(3, strides=2, padding="same")), FRAMES),
        case("td_gap2d", TD(lambda: L().GlobalAveragePooling2D()), FRAMES),
        case("td_gmp2d", TD(lambda: L().GlobalMaxPooling2D()), FRAMES),
    ]


def cnn_lstm():
    k = R.keras
    i = k.Input((3, 5, 5, 1))
    h = L().TimeDistributed(L().Conv2D(4, 3, activation="relu"))(i)
    h = L().TimeDistributed(L().MaxPooling2D(padding="same"))(h)
    h = L().TimeDistributed(L().GlobalAveragePooling2D())(h)
    h = L().LSTM(5)(h)
    return k.Model(i, L().Dense(3, activation="softmax")(h))


def cnn_gru():
    k = R.keras
    i = k.Input((3, 5, 5, 1))
    h = L().TimeDistributed(L().Conv2D(3, 3, strides=2, padding="same", activation="relu"))(i)
    h = L().TimeDistributed(L().MaxPooling2D())(h)
    h = L().TimeDistributed(L().Flatten())(h)
    h = L().GRU(4)(h)
    return k.Model(i, L().Dense(2)(h))


def cnn_lstm_sequential():
    k = R.keras
    return k.Sequential([
        k.Input((3, 5, 5, 2)),
        L().TimeDistributed(L().Conv2D(3, 2, padding="same", activation="tanh")),
        L().TimeDistributed(L().AveragePooling2D(2)),
        L().TimeDistributed(L().GlobalMaxPooling2D()),
        L().LSTM(4, return_sequences=True),
        L().TimeDistributed(L().Dense(2)),
    ])


def masked_frames():
    """Padded (all-zero) frames masked the way Keras allows: Masking on flattened frames gives a
    (batch, time) mask, which TimeDistributed(Conv2D) and the pooling pass on to the LSTM."""
    k = R.keras
    i = k.Input((3, 5, 5, 1))
    h = L().TimeDistributed(L().Flatten())(i)
    h = L().Masking(0.0)(h)
    h = L().TimeDistributed(L().Reshape((5, 5, 1)))(h)
    h = L().TimeDistributed(L().Conv2D(2, 3, activation="relu"))(h)
    h = L().TimeDistributed(L().GlobalAveragePooling2D())(h)
    return k.Model(i, L().LSTM(3, return_sequences=True)(h))


def conv3d_gru():
    k = R.keras
    i = k.Input((4, 4, 3, 1))
    h = L().Conv3D(2, 2, activation="relu")(i)
    h = L().MaxPooling3D((1, 1, 2))(h)
    h = L().Reshape((3, -1))(h)
    return k.Model(i, L().GRU(3)(h))


def padded_frames(rng, B=3):
    x = randn(rng, (B, 3, 5, 5, 1))
    x[1, 2:] = 0.0
    x[2, 1:] = 0.0
    return x


def model_cases():
    return [
        model_case(FAMILY, "model_cnn_lstm_classifier", cnn_lstm, lambda rng: [randn(rng, (3, 3, 5, 5, 1))]),
        model_case(FAMILY, "model_cnn_gru_same_stride2", cnn_gru, lambda rng: [randn(rng, (3, 3, 5, 5, 1))]),
        model_case(FAMILY, "model_sequential_cnn_lstm_seq", cnn_lstm_sequential,
                   lambda rng: [randn(rng, (2, 3, 5, 5, 2))]),
        model_case(FAMILY, "model_masked_frames_cnn_lstm", masked_frames, lambda rng: [padded_frames(rng)],
                   notes="the (batch, time) mask passes TimeDistributed(Conv2D / pooling) unchanged"),
        model_case(FAMILY, "model_conv3d_gru", conv3d_gru, lambda rng: [randn(rng, (2, 4, 4, 3, 1))]),
    ]


def conv2d_cases():
    import os
    from . import conv2d_file_cases
    from .common import VERSIONS
    files = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tests",
                         "data", "files")
    conv2d_file_cases.generate(files, dict(VERSIONS))  # also written by the `files` family
    return conv_cases() + pooling_cases() + time_distributed_cases() + model_cases()
