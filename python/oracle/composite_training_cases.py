"""Training goldens of composite models (written into tests/data/training by
training_cases.training_cases(); same format, see that module): an LSTM autoencoder
(LSTM -> RepeatVector -> LSTM(return_sequences) -> TimeDistributed(Dense)) and a
transformer-style block over an LSTM (MultiHeadAttention self-attention -> residual Add ->
LayerNormalization -> GlobalAveragePooling1D -> Dense softmax), a few Adam steps each."""
from . import training_cases as TC
from .common import randn, rng_for


def cases():
    keras, L = TC.K(), TC.L()
    out = []

    def lstm_autoencoder():
        i = keras.Input((TC.T, TC.D))
        h = L.LSTM(TC.U, name="encoder")(i)
        h = L.RepeatVector(TC.T, name="repeat")(h)
        h = L.LSTM(TC.U, return_sequences=True, name="decoder")(h)
        return keras.Model(i, L.TimeDistributed(L.Dense(TC.D), name="head")(h))

    name = "model_lstm_autoencoder"
    rng = rng_for(TC.FAMILY + "/" + name + "/data")
    batches = []
    for _ in range(TC.STEPS):
        x = randn(rng, (TC.B, TC.T, TC.D))
        batches.append(([x], x.copy(), None))   # reconstruct the input
    out.append(TC.run_case(
        name, "LSTM(4) -> RepeatVector(5) -> LSTM(4, return_sequences) -> TimeDistributed(Dense(3)), "
        "mse against the input (autoencoder), Adam(0.01)", lstm_autoencoder,
        lambda: keras.losses.MeanSquaredError(), TC.adam(0.01), batches))

    def transformer_block():
        i = keras.Input((TC.T, 4))
        x = L.LSTM(6, return_sequences=True, name="lstm")(i)
        a = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(x, x)
        h = L.Add(name="residual")([x, a])
        h = L.LayerNormalization(name="norm")(h)
        h = L.GlobalAveragePooling1D(name="pool")(h)
        return keras.Model(i, L.Dense(TC.C, activation="softmax", name="head")(h))

    name = "model_transformer_block_mha"
    out.append(TC.run_case(
        name, "LSTM(6, return_sequences) = x; MultiHeadAttention(2 heads, key_dim 3)(x, x) -> Add([x, attn]) "
        "-> LayerNormalization -> GlobalAveragePooling1D -> Dense(3, softmax), sparse CE, Adam(0.01)",
        transformer_block, lambda: keras.losses.SparseCategoricalCrossentropy(), TC.adam(0.01),
        TC.seq_batches(name, target=TC.sparse_labels, d=4)))
    return out
