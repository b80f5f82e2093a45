"""Training goldens of the attention family (written into tests/data/training by
training_cases.training_cases(); same format, see that module): the attention
encoder-decoder (LSTM encoder states -> decoder LSTM with initial_state -> Attention over
the encoder outputs -> Concatenate -> TimeDistributed(Dense softmax)), a few Adam steps."""
import numpy as np

from . import training_cases as TC
from .common import randn, rng_for


def cases():
    keras, L = TC.K(), TC.L()

    def enc_dec_attention():
        e_in = keras.Input((6, 3), name="encoder_in")
        d_in = keras.Input((4, 2), name="decoder_in")
        enc, h, c = L.LSTM(5, return_sequences=True, return_state=True, name="encoder")(e_in)
        dec = L.LSTM(5, return_sequences=True, name="decoder")(d_in, initial_state=[h, c])
        ctx = L.Attention(name="attention")([dec, enc])
        x = L.Concatenate(name="concat")([dec, ctx])
        return keras.Model([e_in, d_in], L.TimeDistributed(L.Dense(TC.C, activation="softmax"), name="head")(x))

    name = "model_attention_encoder_decoder"
    rng = rng_for(TC.FAMILY + "/" + name + "/data")
    batches = [([randn(rng, (TC.B, 6, 3)), randn(rng, (TC.B, 4, 2))],
                rng.randint(0, TC.C, size=(TC.B, 4)).astype(np.int32), None) for _ in range(TC.STEPS)]
    return [TC.run_case(
        name, "encoder LSTM(5, return_sequences, return_state) -> [h, c] as initial_state of decoder "
        "LSTM(5, return_sequences) -> Attention([decoder, encoder]) -> Concatenate -> TimeDistributed(Dense(3, "
        "softmax)), sparse CE per step, Adam(0.01)", enc_dec_attention,
        lambda: keras.losses.SparseCategoricalCrossentropy(), TC.adam(0.01), batches)]
