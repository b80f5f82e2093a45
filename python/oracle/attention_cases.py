"""Keras 3 cases of the `attention` family (issue 9): Attention (dot / concat, use_scale,
use_causal_mask, return_attention_scores, query / value masks, key input), AdditiveAttention,
MultiHeadAttention (num_heads, key_dim, value_dim, output_shape, use_bias, key, attention_mask,
use_causal_mask, return_attention_scores, Keras masks), and composite models (encoder-decoder
with Attention, a Transformer-style block over LSTM outputs, masked self-attention over LSTM
states).

Every case is a model run in inference. Cases without dropout also carry the gradients of
L = sum_k <r_k, y_k> (r_k fixed random, stored) with respect to every input (zero for integer
ids and attention masks) and every weight, under "grads" as in plumbing_cases.py. The
composite models are also written as Keras 3 .keras files (<case>.keras)."""
import os

import numpy as np

from . import runner as R
from .common import Golden, case_seed, f32, randn, rng_for
from .k3_models import padded_float

FAMILY = "attention"


def case(name, build, make_inputs, *, grads=True, keras_file=None, w_scale=0.5, int_inputs=()):
    tf = R.tf
    R.clear("k3")
    rng = rng_for(FAMILY + "/" + name)
    R.set_seed("k3", case_seed(FAMILY + "/" + name))
    model = build()
    xs = make_inputs(rng)
    model.set_weights([f32(rng.uniform(-w_scale, w_scale, size=w.shape)) for w in model.get_weights()])
    feed = [tf.constant(x.astype("int32")) if i in int_inputs else tf.constant(f32(x)) for i, x in enumerate(xs)]
    with tf.GradientTape() as tape:
        tape.watch([f for i, f in enumerate(feed) if i not in int_inputs])
        y = model(feed if len(feed) > 1 else feed[0], training=False)
        ys = list(y) if isinstance(y, (list, tuple)) else [y]
        rs = [f32(rng.uniform(-1, 1, size=tuple(t.shape))) for t in ys]
        loss = sum(tf.reduce_sum(t * r) for t, r in zip(ys, rs))
    g = Golden(FAMILY, name, "k3")
    g.set_model_json(R.model_json(model))
    g.set_weights(model.get_weights())
    g.add_call([f32(x) for x in xs], ys)
    if grads:
        gs = tape.gradient(loss, feed + list(model.trainable_weights))
        n_in = len(feed)
        assert len(model.trainable_weights) == len(model.get_weights()), name
        gx = [np.zeros(x.shape, np.float32) if t is None else f32(t.numpy()) for x, t in zip(xs, gs[:n_in])]
        assert all(t is not None for t in gs[n_in:]), name
        g.note("grads", {
            "r": [g._put("gr%d" % i, r) for i, r in enumerate(rs)],
            "inputs": [g._put("gx%d" % i, t) for i, t in enumerate(gx)],
            "weights": [g._put("gw%d" % i, f32(R.tf.convert_to_tensor(t).numpy())) for i, t in enumerate(gs[n_in:])],
        })
    if keras_file:
        model.save(os.path.join(keras_file, name + ".keras"))
    return g


def attention_cases(out_root):
    k = R.keras
    L = k.layers
    out = []
    fdir = os.path.join(out_root, FAMILY)
    os.makedirs(fdir, exist_ok=True)

    def qv(tq=4, tv=5, d=3, dv=None, key=False, B=3):
        def make(rng):
            xs = [randn(rng, (B, tq, d)), randn(rng, (B, tv, dv or d))]
            if key:
                xs.append(randn(rng, (B, tv, d)))
            return xs
        return make

    def two_masked(rng):
        return [padded_float(rng, 4, 4, 3, lengths=[4, 2, 3, 1]), padded_float(rng, 4, 5, 3, lengths=[5, 3, 1, 4])]

    def att(make_layer, tq=4, tv=5, d=3, dv=None, key=False, masked=False, **call):
        def build():
            q = k.Input((tq, d))
            v = k.Input((tv, dv or d))
            ins = [q, v]
            args = [L.Masking()(q), L.Masking()(v)] if masked else [q, v]
            if key:
                kk = k.Input((tv, d))
                ins.append(kk)
                args.append(kk)
            y = make_layer()(args, **call)
            return k.Model(ins, list(y) if isinstance(y, tuple) else y)
        return build

    # ---- Attention
    out.append(case("att_dot", att(lambda: L.Attention()), qv()))
    out.append(case("att_dot_scale_key", att(lambda: L.Attention(use_scale=True), dv=2, key=True),
                    qv(dv=2, key=True)))
    out.append(case("att_concat", att(lambda: L.Attention(score_mode="concat")), qv()))
    out.append(case("att_concat_scale", att(lambda: L.Attention(use_scale=True, score_mode="concat")), qv()))
    out.append(case("att_causal_scores", att(lambda: L.Attention(use_scale=True), tq=5, use_causal_mask=True,
                                             return_attention_scores=True), qv(tq=5)))
    out.append(case("att_masked", att(lambda: L.Attention(), tq=4, masked=True), two_masked))
    out.append(case("att_masked_causal_scores", att(lambda: L.Attention(), tq=4, masked=True, use_causal_mask=True,
                                                    return_attention_scores=True), two_masked))
    out.append(case("att_dropout_inference", att(lambda: L.Attention(dropout=0.5)), qv(), grads=False))
    # ---- AdditiveAttention
    out.append(case("add_default", att(lambda: L.AdditiveAttention()), qv()))
    out.append(case("add_no_scale_key", att(lambda: L.AdditiveAttention(use_scale=False), dv=2, key=True),
                    qv(dv=2, key=True)))
    out.append(case("add_masked_causal_scores", att(lambda: L.AdditiveAttention(), masked=True, use_causal_mask=True,
                                                    return_attention_scores=True), two_masked))

    # ---- MultiHeadAttention
    def mha(make_layer, tq=4, tv=5, dq=3, dv=3, dk=None, masked=False, key=False, amask=False, **call):
        def build():
            q = k.Input((tq, dq))
            v = k.Input((tv, dv))
            ins = [q, v]
            qa, va = (L.Masking()(q), L.Masking()(v)) if masked else (q, v)
            kw = dict(call)
            if key:
                kk = k.Input((tv, dk or dq))
                ins.append(kk)
                kw["key"] = kk
            if amask:
                am = k.Input((tq, tv))
                ins.append(am)
                kw["attention_mask"] = am
            y = make_layer()(qa, va, **kw)
            return k.Model(ins, list(y) if isinstance(y, tuple) else y)
        return build

    def mha_in(tq=4, tv=5, dq=3, dv=3, dk=None, key=False, amask=False, masked=False, B=3):
        def make(rng):
            if masked:
                xs = two_masked(rng)
            else:
                xs = [randn(rng, (B, tq, dq)), randn(rng, (B, tv, dv))]
            if key:
                xs.append(randn(rng, (xs[0].shape[0], tv, dk or dq)))
            if amask:
                m = (rng.uniform(size=(xs[0].shape[0], tq, tv)) > 0.3).astype(np.float32)
                m[:, :, 0] = 1.0
                xs.append(m)
            return xs
        return make

    out.append(case("mha_self", mha(lambda: L.MultiHeadAttention(2, 3)), mha_in()))
    out.append(case("mha_key_value_dim_output_shape",
                    mha(lambda: L.MultiHeadAttention(2, 3, value_dim=4, output_shape=5), dv=2, dk=4, key=True),
                    mha_in(dv=2, dk=4, key=True)))
    out.append(case("mha_no_bias", mha(lambda: L.MultiHeadAttention(3, 2, use_bias=False)), mha_in()))
    out.append(case("mha_causal", mha(lambda: L.MultiHeadAttention(2, 3), tq=5, use_causal_mask=True),
                    mha_in(tq=5)))
    out.append(case("mha_causal_scores", mha(lambda: L.MultiHeadAttention(2, 3), tq=5, use_causal_mask=True,
                                             return_attention_scores=True), mha_in(tq=5)))
    out.append(case("mha_attention_mask", mha(lambda: L.MultiHeadAttention(2, 3), amask=True), mha_in(amask=True)))
    out.append(case("mha_masked", mha(lambda: L.MultiHeadAttention(2, 3), masked=True), mha_in(masked=True)))
    out.append(case("mha_masked_scores", mha(lambda: L.MultiHeadAttention(2, 3), masked=True,
                                             return_attention_scores=True), mha_in(masked=True)))
    out.append(case("mha_dropout_inference", mha(lambda: L.MultiHeadAttention(2, 3, dropout=0.3)), mha_in(),
                    grads=False))

    # ---- composite models
    def enc_dec():
        e_in = k.Input((6, 3))
        d_in = k.Input((4, 2))
        enc, h, c = L.LSTM(5, return_sequences=True, return_state=True)(e_in)
        dec = L.LSTM(5, return_sequences=True)(d_in, initial_state=[h, c])
        ctx = L.Attention()([dec, enc])
        x = L.Concatenate()([dec, ctx])
        return k.Model([e_in, d_in], L.TimeDistributed(L.Dense(4, activation="softmax"))(x))
    out.append(case("encoder_decoder_attention", enc_dec,
                    lambda rng: [randn(rng, (3, 6, 3)), randn(rng, (3, 4, 2))], keras_file=fdir))

    def transformer_block():
        i = k.Input((5, 3))
        h = L.LSTM(4, return_sequences=True)(i)
        a = L.MultiHeadAttention(2, 3)(h, h)
        x = L.LayerNormalization()(L.Add()([h, a]))
        return k.Model(i, L.Dense(2)(x))
    out.append(case("transformer_block_lstm", transformer_block, lambda rng: [randn(rng, (3, 5, 3))],
                    keras_file=fdir))

    def masked_self_attention():
        i = k.Input((6,), dtype="int32")
        e = L.Embedding(7, 3, mask_zero=True)(i)
        h = L.LSTM(4, return_sequences=True)(e)
        a = L.Attention(use_scale=True)([h, h])
        a2 = L.MultiHeadAttention(2, 2)(a, h)
        return k.Model(i, L.LSTM(2)(a2))

    def ids(rng):
        x = rng.randint(1, 7, size=(4, 6)).astype(np.float32)
        for b, n in enumerate([6, 4, 2, 5]):
            x[b, n:] = 0
        return [x]
    out.append(case("masked_self_attention_embedding", masked_self_attention, ids, keras_file=fdir,
                    int_inputs=(0,)))
    return out
