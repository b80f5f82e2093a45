"""Training goldens of the conv2d family's per-frame CNN-LSTM (written into tests/data/training
by training_cases.training_cases(); same format, see that module)."""
from . import training_cases as TC
from .common import randn, rng_for


def frame_batches(name, *, target, shape=(4, 3, 5, 5, 1)):
    """Fixed batches of frame sequences (batch, time, rows, cols, channels)."""
    rng = rng_for(TC.FAMILY + "/" + name + "/data")
    return [([randn(rng, shape)], target(rng, shape[0]), None) for _ in range(TC.STEPS)]


def cases():
    keras, L = TC.K(), TC.L()

    def cnn_lstm():
        i = keras.Input((3, 5, 5, 1))
        h = L.TimeDistributed(L.Conv2D(3, 3, activation="relu"))(i)
        h = L.TimeDistributed(L.MaxPooling2D(padding="same"))(h)
        h = L.TimeDistributed(L.GlobalAveragePooling2D())(h)
        h = L.LSTM(TC.U)(h)
        return keras.Model(i, L.Dense(TC.C, activation="softmax")(h))

    name = "model_conv2d_td_cnn_lstm_classifier"
    return [TC.run_case(
        name, "TimeDistributed(Conv2D(3, 3, relu)) -> TimeDistributed(MaxPooling2D(same)) -> "
        "TimeDistributed(GlobalAveragePooling2D) -> LSTM(4) -> Dense(3, softmax), sparse CE, Adam(0.01)",
        cnn_lstm, lambda: keras.losses.SparseCategoricalCrossentropy(), TC.adam(0.01),
        frame_batches(name, target=TC.sparse_labels))]
