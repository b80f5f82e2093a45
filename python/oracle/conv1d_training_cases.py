"""Training goldens of the conv1d family's composite models (written into tests/data/training
by training_cases.training_cases(); same format, see that module)."""
from . import training_cases as TC


def cases():
    keras, L = TC.K(), TC.L()

    def cnn_lstm():
        i = keras.Input((8, TC.D))
        h = L.Conv1D(4, 3, padding="same", activation="relu")(i)
        h = L.MaxPooling1D(2)(h)
        h = L.LSTM(TC.U)(h)
        return keras.Model(i, L.Dense(TC.C, activation="softmax")(h))

    def causal_gru():
        i = keras.Input((7, TC.D))
        h = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="tanh")(i)
        h = L.AveragePooling1D(3, strides=1, padding="same")(h)
        return keras.Model(i, L.Dense(TC.C)(L.GRU(TC.U)(h)))

    out = []
    name = "model_conv1d_cnn_lstm_classifier"
    out.append(TC.run_case(
        name, "Conv1D(4, 3, same, relu) -> MaxPooling1D(2) -> LSTM(4) -> Dense(3, softmax), sparse CE, Adam(0.01)",
        cnn_lstm, lambda: keras.losses.SparseCategoricalCrossentropy(), TC.adam(0.01),
        TC.seq_batches(name, target=TC.sparse_labels, t=8)))
    name = "model_conv1d_causal_dil2_gru"
    out.append(TC.run_case(
        name, "Conv1D(4, 3, causal, dilation 2, tanh) -> AveragePooling1D(3, 1, same) -> GRU(4) -> Dense(3), "
        "MSE, SGD(0.1)",
        causal_gru, lambda: keras.losses.MeanSquaredError(), TC.sgd(0.1),
        TC.seq_batches(name, target=TC.regression(1.0), t=7)))
    return out
