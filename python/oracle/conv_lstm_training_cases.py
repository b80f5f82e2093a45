"""Training goldens of the conv_lstm family (written into tests/data/training by
training_cases.training_cases(); same format, see that module): a small stacked
ConvLSTM2D model on 5x5 frame sequences."""
from . import training_cases as TC
from .common import randn, rng_for


def cases():
    keras, L = TC.K(), TC.L()

    def stacked():
        i = keras.Input((3, 5, 5, 1))
        h = L.ConvLSTM2D(2, 3, padding="same", return_sequences=True)(i)
        h = L.ConvLSTM2D(2, 3, strides=2)(h)
        h = L.Flatten()(h)
        return keras.Model(i, L.Dense(TC.C)(h))

    name = "model_conv_lstm2d_stacked"
    rng = rng_for(TC.FAMILY + "/" + name + "/data")
    batches = [([randn(rng, (TC.B, 3, 5, 5, 1))], TC.regression(1.0)(rng, TC.B), None) for _ in range(TC.STEPS)]
    return [TC.run_case(
        name, "ConvLSTM2D(2, 3, same, return_sequences) -> ConvLSTM2D(2, 3, strides 2) -> Flatten -> Dense(3), "
        "MSE, Adam(0.01)", stacked, lambda: keras.losses.MeanSquaredError(), TC.adam(0.01), batches)]
