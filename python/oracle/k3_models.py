"""Keras 3 cases: families wrappers, models (functional / Sequential, kind=model)."""
import numpy as np

from . import runner as R
from .common import Golden, case_seed, f32, randn, rng_for


def L():
    return R.keras.layers


def model_case(family, name, build, make_inputs, *, lib="k3", w_scale=0.5,
               init_weights=False, notes=None):
    """build() -> model; make_inputs(rng) -> list of numpy inputs (model input order)."""
    R.clear(lib)
    seed = case_seed(family + "/" + name)
    rng = rng_for(family + "/" + name)
    R.set_seed(lib, seed)
    model = build()
    xs = make_inputs(rng)
    if not init_weights:
        ws = []
        for w in model.get_weights():
            ws.append(f32(rng.uniform(-w_scale, w_scale, size=w.shape)))
        model.set_weights(ws)
    feed = [R.tensor(x) for x in xs]
    y = model(feed if len(feed) > 1 else feed[0], training=False)
    g = Golden(family, name, lib)
    g.set_model_json(R.model_json(model))
    g.set_weights(model.get_weights())
    g.add_call(xs, y if isinstance(y, (list, tuple)) else [y])
    if notes:
        g.note("notes", notes)
    return g


def padded_float(rng, B, T, D, lengths=None, left=False):
    """Normal(0,1) data whose padded steps are exactly 0 (for Masking)."""
    x = randn(rng, (B, T, D))
    if lengths is None:
        lengths = [T - (b % (T - 1)) for b in range(B)]
    for b, n in enumerate(lengths):
        if left:
            x[b, :T - n] = 0.0
        else:
            x[b, n:] = 0.0
    return x


def padded_ints(rng, B, T, vocab, lengths=None, left=False):
    x = rng.randint(1, vocab, size=(B, T)).astype(np.int32)
    if lengths is None:
        lengths = [T - (b % (T - 1)) for b in range(B)]
    for b, n in enumerate(lengths):
        if left:
            x[b, :T - n] = 0
        else:
            x[b, n:] = 0
    return x


# ---------------------------------------------------------------------------
def wrappers_cases():
    fam = "wrappers"
    k = R.keras
    out = []
    out.append(R.layer_case(fam, "time_distributed_dense_tanh",
                            lambda: L().TimeDistributed(L().Dense(3, activation="tanh"))))
    out.append(R.layer_case(fam, "time_distributed_dense_linear_nobias",
                            lambda: L().TimeDistributed(L().Dense(2, use_bias=False)), T=3))
    out.append(R.layer_case(fam, "dense_3d_relu", lambda: L().Dense(3, activation="relu")))
    out.append(R.layer_case(fam, "dense_3d_linear", lambda: L().Dense(5)))

    def embed_lstm(rs, left=False):
        def build():
            i = k.Input((6,), dtype="int32")
            h = L().Embedding(8, 4, mask_zero=True)(i)
            h = L().LSTM(3, return_sequences=rs)(h)
            return k.Model(i, h)
        return build, (lambda rng: [padded_ints(rng, 4, 6, 8, left=left)])

    for rs in (False, True):
        b, mi = embed_lstm(rs)
        out.append(model_case(fam, "embedding_mask_zero_lstm_rs%d" % rs, b, mi))
    b, mi = embed_lstm(True, left=True)
    out.append(model_case(fam, "embedding_mask_zero_lstm_leftpad_rs1", b, mi))

    def embed_gru_dense():
        i = k.Input((5,), dtype="int32")
        h = L().Embedding(7, 3, mask_zero=True)(i)
        h = L().GRU(4, return_sequences=True)(h)
        h = L().TimeDistributed(L().Dense(2, activation="softmax"))(h)
        return k.Model(i, h)
    out.append(model_case(fam, "embedding_mask_zero_gru_td_dense", embed_gru_dense,
                          lambda rng: [padded_ints(rng, 3, 5, 7)]))

    def embed_nomask():
        i = k.Input((5,), dtype="int32")
        h = L().Embedding(6, 3)(i)
        h = L().SimpleRNN(4)(h)
        return k.Model(i, h)
    out.append(model_case(fam, "embedding_simple_rnn", embed_nomask,
                          lambda rng: [rng.randint(0, 6, size=(3, 5)).astype(np.int32)]))

    def masking_lstm(rs, cls="LSTM"):
        def build():
            i = k.Input((5, 3))
            h = L().Masking(0.0)(i)
            h = getattr(L(), cls)(4, return_sequences=rs)(h)
            return k.Model(i, h)
        return build
    for rs in (False, True):
        out.append(model_case(fam, "masking_lstm_rs%d" % rs, masking_lstm(rs),
                              lambda rng: [padded_float(rng, 4, 5, 3)]))
    out.append(model_case(fam, "masking_gru_leftpad_rs1", masking_lstm(True, "GRU"),
                          lambda rng: [padded_float(rng, 4, 5, 3, left=True)]))
    out.append(model_case(fam, "masking_simple_rnn_rs0", masking_lstm(False, "SimpleRNN"),
                          lambda rng: [padded_float(rng, 4, 5, 3)]))

    def masking_value_sequential():
        return k.Sequential([k.Input((4, 2)), L().Masking(mask_value=0.5),
                             L().LSTM(3, return_sequences=True)])

    def mv_inputs(rng):
        x = randn(rng, (3, 4, 2))
        x[0, 3] = 0.5
        x[1, 1] = 0.5
        x[2, 2, 0] = 0.5   # only one feature equal -> step kept
        return [x]
    out.append(model_case(fam, "sequential_masking_value_lstm", masking_value_sequential,
                          mv_inputs))

    def bilstm_gmp():
        i = k.Input((5, 3))
        h = L().Masking()(i)
        h = L().Bidirectional(L().LSTM(3, return_sequences=True))(h)
        h = L().GlobalMaxPooling1D()(h)
        h = L().Dense(2, activation="sigmoid")(h)
        return k.Model(i, h)
    out.append(model_case(fam, "masking_bilstm_gmp_dense", bilstm_gmp,
                          lambda rng: [padded_float(rng, 4, 5, 3)]))

    def lstm_gap(cls="LSTM"):
        def build():
            i = k.Input((5, 3))
            h = L().Masking()(i)
            h = getattr(L(), cls)(4, return_sequences=True)(h)
            h = L().GlobalAveragePooling1D()(h)
            return k.Model(i, h)
        return build
    out.append(model_case(fam, "masking_lstm_gap_masked_mean", lstm_gap(),
                          lambda rng: [padded_float(rng, 4, 5, 3)]))
    out.append(model_case(fam, "masking_gru_gap_masked_mean_leftpad", lstm_gap("GRU"),
                          lambda rng: [padded_float(rng, 4, 5, 3, left=True)]))

    def lstm_gmp_unmasked():
        i = k.Input((5, 3))
        h = L().Masking()(i)
        h = L().LSTM(4, return_sequences=True)(h)
        h = L().GlobalMaxPooling1D()(h)
        return k.Model(i, h)
    out.append(model_case(fam, "masking_lstm_gmp", lstm_gmp_unmasked,
                          lambda rng: [padded_float(rng, 4, 5, 3)]))

    def dropout_inference():
        i = k.Input((4, 3))
        h = L().LSTM(4, return_sequences=True)(i)
        h = L().Dropout(0.5)(h)
        h = L().TimeDistributed(L().Dense(2))(h)
        return k.Model(i, h)
    out.append(model_case(fam, "dropout_layer_inference", dropout_inference,
                          lambda rng: [randn(rng, (3, 4, 3))]))

    def small_functional():
        i = k.Input((4, 3))
        a = L().LSTM(3, return_sequences=True)(i)
        b = L().GRU(3, return_sequences=True)(i)
        s = L().Add()([a, b])
        c = L().Concatenate()([s, a])
        c = L().Activation("relu")(c)
        f = L().Flatten()(c)
        r = L().Reshape((4, 6))(f)
        r = L().SimpleRNN(2)(r)
        o = L().Dense(3, activation="tanh")(r)
        return k.Model(i, o)
    out.append(model_case(fam, "functional_add_concat_act_flatten_reshape", small_functional,
                          lambda rng: [randn(rng, (2, 4, 3))]))

    def activation_chain():
        return k.Sequential([k.Input((3, 4)), L().Dense(4), L().Activation("sigmoid"),
                             L().LSTM(2, return_sequences=True), L().Flatten(),
                             L().Dense(2), L().Activation("softmax")])
    out.append(model_case(fam, "sequential_dense_activation_lstm_flatten", activation_chain,
                          lambda rng: [randn(rng, (3, 3, 4))]))

    def concat_time_axis():
        i = k.Input((3, 2))
        a = L().LSTM(2, return_sequences=True)(i)
        c = L().Concatenate(axis=1)([a, L().Dense(2)(i)])
        o = L().GRU(3)(c)
        return k.Model(i, o)
    out.append(model_case(fam, "concat_time_axis_gru", concat_time_axis,
                          lambda rng: [randn(rng, (2, 3, 2))]))
    return out


# ---------------------------------------------------------------------------
def models_cases():
    fam = "models"
    k = R.keras
    out = []

    def enc_dec(cls):
        def build():
            ei = k.Input((5, 3), name="encoder_input")
            di = k.Input((4, 2), name="decoder_input")
            res = getattr(L(), cls)(4, return_state=True)(ei)
            states = list(res[1:])
            d = getattr(L(), cls)(4, return_sequences=True)(di, initial_state=states)
            o = L().Dense(3, activation="softmax")(d)
            return k.Model([ei, di], o)
        return build
    two = lambda rng: [randn(rng, (3, 5, 3)), randn(rng, (3, 4, 2))]
    out.append(model_case(fam, "encoder_decoder_lstm", enc_dec("LSTM"), two))
    out.append(model_case(fam, "encoder_decoder_gru", enc_dec("GRU"), two))
    out.append(model_case(fam, "encoder_decoder_simple_rnn", enc_dec("SimpleRNN"), two))

    def enc_dec_masked():
        ei = k.Input((5,), dtype="int32")
        di = k.Input((4, 2))
        e = L().Embedding(6, 3, mask_zero=True)(ei)
        _, h, c = L().LSTM(4, return_state=True)(e)
        d = L().LSTM(4, return_sequences=True)(di, initial_state=[h, c])
        return k.Model([ei, di], L().Dense(2)(d))
    out.append(model_case(fam, "encoder_decoder_lstm_masked_encoder", enc_dec_masked,
                          lambda rng: [padded_ints(rng, 3, 5, 6), randn(rng, (3, 4, 2))]))

    def multi_output():
        i = k.Input((5, 3))
        seq, h, c = L().LSTM(4, return_sequences=True, return_state=True)(i)
        o1 = L().TimeDistributed(L().Dense(2))(seq)
        o2 = L().Dense(3, activation="softmax")(L().Concatenate()([h, c]))
        return k.Model(i, [o1, o2])
    out.append(model_case(fam, "multi_output_lstm", multi_output,
                          lambda rng: [randn(rng, (2, 5, 3))]))

    def multi_output_states():
        i = k.Input((4, 3))
        y, hf, hb = L().Bidirectional(L().GRU(2, return_state=True), merge_mode="sum")(i)
        return k.Model(i, [y, hf, hb])
    out.append(model_case(fam, "multi_output_bigru_states", multi_output_states,
                          lambda rng: [randn(rng, (3, 4, 3))]))

    def two_inputs_concat():
        a = k.Input((4, 3), name="a")
        b = k.Input((4, 2), name="b")
        c = L().Concatenate()([a, b])
        h = L().LSTM(3)(c)
        return k.Model([a, b], L().Dense(2)(h))
    out.append(model_case(fam, "two_inputs_concat_lstm", two_inputs_concat,
                          lambda rng: [randn(rng, (3, 4, 3)), randn(rng, (3, 4, 2))]))

    def two_branches():
        a = k.Input((4, 3))
        b = k.Input((6, 2))
        ha = L().GRU(3)(a)
        hb = L().LSTM(3, go_backwards=True)(b)
        return k.Model([a, b], L().Dense(1)(L().Concatenate()([ha, hb])))
    out.append(model_case(fam, "two_inputs_two_rnns", two_branches,
                          lambda rng: [randn(rng, (2, 4, 3)), randn(rng, (2, 6, 2))]))

    def stacked_seq():
        return k.Sequential([k.Input((5, 3)), L().LSTM(4, return_sequences=True),
                             L().GRU(3, return_sequences=True), L().SimpleRNN(2)])
    out.append(model_case(fam, "sequential_lstm_gru_simple", stacked_seq,
                          lambda rng: [randn(rng, (3, 5, 3))]))

    def bi_stack():
        i = k.Input((5, 3))
        h = L().Bidirectional(L().LSTM(3, return_sequences=True), merge_mode="ave")(i)
        h = L().Bidirectional(L().GRU(2))(h)
        return k.Model(i, L().Dense(2, activation="softmax")(h))
    out.append(model_case(fam, "bidirectional_stack", bi_stack,
                          lambda rng: [randn(rng, (3, 5, 3))]))

    def init_weights_model():
        return k.Sequential([k.Input((4, 3)), L().LSTM(5, return_sequences=True),
                             L().GRU(4), L().Dense(2)])
    out.append(model_case(fam, "sequential_own_init_weights", init_weights_model,
                          lambda rng: [randn(rng, (2, 4, 3))], init_weights=True))
    return out
