"""Training goldens of the normalization family's composite models (written into
tests/data/training by training_cases.training_cases(); same format, see that module).
BatchNormalization's moving statistics are non-trainable weights: they are in
`weight_names` / `weights_after` (get_weights() order) but have no `grads_step0` entry."""
from . import training_cases as TC
from .common import f32


def init_weights(model, rng):
    # A uniform(-0.5, 0.5) moving variance would be negative.
    out = []
    for v in model.weights:
        n = v.path.split("/")[-1]
        lo, hi = (0.5, 1.5) if n in ("gamma", "moving_variance") else (-0.5, 0.5)
        out.append(f32(rng.uniform(lo, hi, size=tuple(v.shape))))
    return out


def cases():
    keras, L = TC.K(), TC.L()

    def gru_bn():
        i = keras.Input((TC.T, TC.D))
        h = L.GRU(TC.U)(i)
        h = L.BatchNormalization(momentum=0.8)(h)
        return keras.Model(i, L.Dense(TC.C)(h))

    def lstm_ln_lstm():
        i = keras.Input((TC.T, TC.D))
        h = L.LSTM(TC.U, return_sequences=True)(i)
        h = L.LayerNormalization()(h)
        h = L.LSTM(TC.U)(h)
        return keras.Model(i, L.Dense(TC.C)(h))

    def masked_gru_bn_seq():
        i = keras.Input((TC.T, TC.D))
        h = L.Masking(0.0)(i)
        h = L.GRU(TC.U, return_sequences=True)(h)
        h = L.BatchNormalization(momentum=0.7)(h)
        return keras.Model(i, L.Dense(TC.C)(h))

    def residual_ln():
        i = keras.Input((TC.T, TC.D))
        h = L.LSTM(TC.U, return_sequences=True)(i)
        h = L.LayerNormalization()(L.Add()([h, L.Dense(TC.U)(i)]))
        return keras.Model(i, L.Dense(TC.C)(L.GlobalAveragePooling1D()(h)))

    out = []
    name = "model_norm_gru_batchnorm"
    out.append(TC.run_case(
        name, "GRU(4) -> BatchNormalization(momentum 0.8) -> Dense(3) logits, sparse CE from_logits, Adam(0.01); "
        "the moving statistics follow the batch statistics of every step",
        gru_bn, TC.sce_logits, TC.adam(0.01), TC.seq_batches(name, target=TC.sparse_labels), init_weights=init_weights))
    name = "model_norm_lstm_layernorm_lstm"
    out.append(TC.run_case(
        name, "LSTM(4, return_sequences) -> LayerNormalization -> LSTM(4) -> Dense(3) logits, sparse CE from_logits, "
        "Adam(0.01)",
        lstm_ln_lstm, TC.sce_logits, TC.adam(0.01), TC.seq_batches(name, target=TC.sparse_labels),
        init_weights=init_weights))
    name = "model_norm_masked_gru_batchnorm_seq"
    out.append(TC.run_case(
        name, "Masking(0) -> GRU(4, return_sequences) -> BatchNormalization(momentum 0.7; the mask leaves padded "
        "steps out of the batch statistics) -> Dense(3) logits per step, sparse CE from_logits, masked, SGD(0.1)",
        masked_gru_bn_seq, TC.sce_logits, TC.sgd(0.1), TC.masked_batches(name), init_weights=init_weights))
    name = "model_norm_lstm_residual_layernorm"
    out.append(TC.run_case(
        name, "LSTM(4, seq) + Dense(4) projection of the input -> Add -> LayerNormalization -> "
        "GlobalAveragePooling1D -> Dense(3), MSE, RMSprop(0.01)",
        residual_ln, lambda: keras.losses.MeanSquaredError(), lambda: keras.optimizers.RMSprop(0.01),
        TC.seq_batches(name, target=TC.regression(1.0)), init_weights=init_weights))
    return out
