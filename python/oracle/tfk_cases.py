"""tf_keras 2.x cases: families keras2, custom_cell, tf1 (and tf_keras dropout cases)."""
import functools

import numpy as np

from . import runner as R
from .common import Golden, case_seed, f32, randn, rng_for
from .k3_models import model_case, padded_float, padded_ints


def TL():
    return R.tf_keras.layers


def _mk(cls, units, **kw):
    return functools.partial(getattr(TL(), cls), units, **kw)


def tfk_layer(fam, name, make, **kw):
    return R.layer_case(fam, name, make, lib="tfk", **kw)


# ---------------------------------------------------------------------------
def keras2_cases():
    fam = "keras2"
    out = []
    big = dict(w_scale=1.5, x_scale=2.0)   # push pre-activations past +-2.5
    hs = "hard_sigmoid"
    out.append(tfk_layer(fam, "lstm_hard_sigmoid_rs",
                         _mk("LSTM", 3, recurrent_activation=hs, return_sequences=True), **big))
    out.append(tfk_layer(fam, "lstm_hard_sigmoid_rst",
                         _mk("LSTM", 3, recurrent_activation=hs, return_state=True), **big))
    out.append(tfk_layer(fam, "lstm_hard_sigmoid_impl1_gb_rs",
                         _mk("LSTM", 3, recurrent_activation=hs, implementation=1,
                             go_backwards=True, return_sequences=True), **big))
    out.append(tfk_layer(fam, "lstm_hard_sigmoid_mask_mixed_rs_rst",
                         _mk("LSTM", 3, recurrent_activation=hs, return_sequences=True,
                             return_state=True), B=4, mask="mixed", **big))
    out.append(tfk_layer(fam, "gru_hard_sigmoid_rs",
                         _mk("GRU", 3, recurrent_activation=hs, return_sequences=True), **big))
    out.append(tfk_layer(fam, "gru_hard_sigmoid_ra_false_rs_rst",
                         _mk("GRU", 3, recurrent_activation=hs, reset_after=False,
                             return_sequences=True, return_state=True), **big))
    out.append(tfk_layer(fam, "gru_default_rs", _mk("GRU", 3, return_sequences=True)))
    out.append(tfk_layer(fam, "gru_ra_false_rs", _mk("GRU", 3, reset_after=False,
                                                      return_sequences=True)))
    out.append(tfk_layer(fam, "gru_ra_false_impl1_rst", _mk("GRU", 3, reset_after=False,
                                                             implementation=1,
                                                             return_state=True)))
    out.append(tfk_layer(fam, "gru_impl1_gb_rs", _mk("GRU", 3, implementation=1,
                                                      go_backwards=True, return_sequences=True)))
    out.append(tfk_layer(fam, "gru_ra_false_mask_left_zofm_rs",
                         _mk("GRU", 3, reset_after=False, zero_output_for_mask=True,
                             return_sequences=True), B=4, mask="left"))
    out.append(tfk_layer(fam, "simple_rnn_rs", _mk("SimpleRNN", 4, return_sequences=True)))
    out.append(tfk_layer(fam, "simple_rnn_relu_gb_rst",
                         _mk("SimpleRNN", 4, activation="relu", go_backwards=True,
                             return_state=True)))
    out.append(tfk_layer(fam, "simple_rnn_mask_holes_rs", _mk("SimpleRNN", 4, return_sequences=True),
                         B=4, mask="holes"))
    out.append(tfk_layer(fam, "lstm_default_rs", _mk("LSTM", 3, return_sequences=True)))
    out.append(tfk_layer(fam, "lstm_impl1_rs", _mk("LSTM", 3, implementation=1,
                                                    return_sequences=True)))
    out.append(tfk_layer(fam, "lstm_impl1_nobias_rst", _mk("LSTM", 3, implementation=1,
                                                            use_bias=False, return_state=True)))
    out.append(tfk_layer(fam, "lstm_mask_right_gb_rs", _mk("LSTM", 3, go_backwards=True,
                                                            return_sequences=True),
                         B=4, mask="right"))
    out.append(tfk_layer(fam, "lstm_mask_mixed_zofm_rs_rst",
                         _mk("LSTM", 3, zero_output_for_mask=True, return_sequences=True,
                             return_state=True), B=4, mask="mixed"))
    out.append(tfk_layer(fam, "lstm_init_state_rs_rst",
                         _mk("LSTM", 3, return_sequences=True, return_state=True),
                         init_state=True))
    out.append(tfk_layer(fam, "lstm_init_state_leading_mask_rs",
                         _mk("LSTM", 3, return_sequences=True), B=4, init_state=True,
                         mask="left"))
    out.append(tfk_layer(fam, "lstm_unroll_rs", _mk("LSTM", 3, unroll=True,
                                                     return_sequences=True)))
    out.append(tfk_layer(fam, "lstm_init_ufb_true", _mk("LSTM", 3, return_sequences=True),
                         init_weights=True))
    out.append(tfk_layer(fam, "lstm_stateful_rs", _mk("LSTM", 3, stateful=True,
                                                       return_sequences=True), stateful=True))
    out.append(tfk_layer(fam, "bidirectional_lstm_concat_rs_rst",
                         lambda: TL().Bidirectional(TL().LSTM(3, return_sequences=True,
                                                              return_state=True))))
    out.append(tfk_layer(fam, "bidirectional_gru_hard_sigmoid_sum_mask_rs",
                         lambda: TL().Bidirectional(TL().GRU(2, recurrent_activation=hs,
                                                             return_sequences=True),
                                                    merge_mode="sum"), B=4, mask="right", **big))
    out.append(tfk_layer(fam, "bidirectional_simple_none_rst",
                         lambda: TL().Bidirectional(TL().SimpleRNN(2, return_state=True),
                                                    merge_mode=None)))
    out.append(tfk_layer(fam, "stacked_cells_lstm_gru_rs_rst",
                         lambda: TL().RNN([TL().LSTMCell(3), TL().GRUCell(2)],
                                          return_sequences=True, return_state=True)))

    k = R.tf_keras

    def seq_lstm():
        return k.Sequential([k.Input((5, 3)),
                             TL().LSTM(4, recurrent_activation=hs, return_sequences=True),
                             TL().LSTM(2, recurrent_activation=hs), TL().Dense(3)])
    out.append(model_case(fam, "sequential_lstm_hard_sigmoid_dense", seq_lstm,
                          lambda rng: [randn(rng, (3, 5, 3), 2.0)], lib="tfk", w_scale=1.5))

    def seq_embed_gru():
        return k.Sequential([k.Input((6,), dtype="int32"),
                             TL().Embedding(9, 4, mask_zero=True),
                             TL().GRU(3, reset_after=False, recurrent_activation=hs),
                             TL().Dense(2, activation="softmax")])
    out.append(model_case(fam, "sequential_embedding_gru_ra_false_dense", seq_embed_gru,
                          lambda rng: [padded_ints(rng, 4, 6, 9)], lib="tfk", w_scale=1.5))

    def seq_mask_bilstm():
        return k.Sequential([k.Input((5, 3)), TL().Masking(),
                             TL().Bidirectional(TL().LSTM(3, return_sequences=True)),
                             TL().GlobalMaxPooling1D(), TL().Dense(2)])
    out.append(model_case(fam, "sequential_masking_bilstm_gmp_dense", seq_mask_bilstm,
                          lambda rng: [padded_float(rng, 4, 5, 3)], lib="tfk"))

    def func_enc_dec():
        ei = k.Input((5, 3))
        di = k.Input((4, 2))
        _, h, c = TL().LSTM(4, return_state=True)(ei)
        d = TL().LSTM(4, return_sequences=True)(di, initial_state=[h, c])
        return k.Model([ei, di], TL().Dense(3, activation="softmax")(d))
    out.append(model_case(fam, "functional_encoder_decoder_lstm", func_enc_dec,
                          lambda rng: [randn(rng, (3, 5, 3)), randn(rng, (3, 4, 2))], lib="tfk"))
    return out


def tfk_dropout_cases():
    fam = "dropout"
    out = []

    def case(name, make, **kw):
        out.append(tfk_layer(fam, name, make, tfk_dropout=True, **kw))

    case("tfk_lstm_in_cudnn_path_rs", _mk("LSTM", 3, dropout=0.4, return_sequences=True),
         notes="tf_keras LSTM with cuDNN-compatible args draws the INPUT mask for the whole "
               "sequence: mask shape (B,T,D), a different mask per time step")
    case("tfk_lstm_in_impl2_relu_rs", _mk("LSTM", 3, dropout=0.4, activation="relu",
                                           return_sequences=True))
    case("tfk_lstm_in_impl1_relu_rs", _mk("LSTM", 3, dropout=0.4, activation="relu",
                                           implementation=1, return_sequences=True))
    case("tfk_lstm_both_impl1_rs", _mk("LSTM", 3, dropout=0.3, recurrent_dropout=0.5,
                                        return_sequences=True, return_state=True))
    case("tfk_gru_both_impl1_rs", _mk("GRU", 3, dropout=0.3, recurrent_dropout=0.5,
                                       return_sequences=True))
    case("tfk_gru_ra_false_rec_impl1", _mk("GRU", 3, recurrent_dropout=0.4, reset_after=False,
                                            return_sequences=True))
    case("tfk_simple_rnn_both_rs", _mk("SimpleRNN", 4, dropout=0.3, recurrent_dropout=0.5,
                                        return_sequences=True))
    return out


# ---------------------------------------------------------------------------
_CELL_CLASSES = {}


def _cells():
    if _CELL_CLASSES:
        return _CELL_CLASSES
    k = R.tf_keras
    tf = R.tf

    class MinimalConstantsCell(k.layers.Layer):
        # tf_keras RNN.build hands the cell only the step-input shape (the
        # constants' shape is dropped), so the constants width is passed in.
        def __init__(self, units, constant_dim=None, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.constant_dim = constant_dim
            self.state_size = units

        def build(self, input_shape):
            if isinstance(input_shape, list) and isinstance(input_shape[0], (list, tuple)):
                input_shape = input_shape[0]
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    name="recurrent_kernel")
            self.constant_kernel = self.add_weight(shape=(self.constant_dim, self.units),
                                                   name="constant_kernel")
            self.built = True

        def call(self, inputs, states, constants):
            h = tf.tanh(tf.matmul(inputs, self.kernel)
                        + tf.matmul(states[0], self.recurrent_kernel)
                        + tf.matmul(constants[0], self.constant_kernel))
            return h, [h]

        def get_config(self):
            return {"units": self.units}

    class MinimalCell(k.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    name="recurrent_kernel")
            self.built = True

        def call(self, inputs, states):
            h = tf.tanh(tf.matmul(inputs, self.kernel)
                        + tf.matmul(states[0], self.recurrent_kernel))
            return h, [h]

        def get_config(self):
            return {"units": self.units}

    _CELL_CLASSES["MinimalConstantsCell"] = MinimalConstantsCell
    _CELL_CLASSES["MinimalCell"] = MinimalCell
    return _CELL_CLASSES


def custom_cell_cases():
    fam = "custom_cell"
    out = []
    cells = _cells()

    def cfg(cell_name, U, **kw):
        c = {"cell": {"class_name": cell_name, "config": {"units": U}},
             "return_sequences": kw.get("return_sequences", False),
             "return_state": kw.get("return_state", False),
             "go_backwards": kw.get("go_backwards", False),
             "stateful": False, "unroll": False}
        if cell_name == "MinimalConstantsCell":
            c["num_constants"] = 1
        return {"class_name": "RNN", "config": c}

    variants = [("rs", {"return_sequences": True}),
                ("last", {}),
                ("rs_rst", {"return_sequences": True, "return_state": True}),
                ("gb_rs", {"return_sequences": True, "go_backwards": True})]
    for vname, kw in variants:
        U = 3
        out.append(tfk_layer(
            fam, "constants_" + vname,
            lambda kw=kw: TL().RNN(cells["MinimalConstantsCell"](U, constant_dim=2), **kw),
            constants_dim=2, layer_json_override=cfg("MinimalConstantsCell", U, **kw),
            notes="h = tanh(x@kernel + h_prev@recurrent_kernel + c@constant_kernel)"))
    out.append(tfk_layer(fam, "constants_mask_mixed_rs",
                         lambda: TL().RNN(cells["MinimalConstantsCell"](3, constant_dim=2), return_sequences=True),
                         B=4, mask="mixed", constants_dim=2,
                         layer_json_override=cfg("MinimalConstantsCell", 3,
                                                 return_sequences=True)))
    for vname, kw in variants[:3]:
        out.append(tfk_layer(
            fam, "no_constants_" + vname,
            lambda kw=kw: TL().RNN(cells["MinimalCell"](3), **kw),
            layer_json_override=cfg("MinimalCell", 3, **kw),
            notes="h = tanh(x@kernel + h_prev@recurrent_kernel)"))
    return out


# ---------------------------------------------------------------------------
def tf1_cases():
    from tf_keras.src.layers.rnn import legacy_cells as lc
    import warnings
    fam = "tf1"
    out = []
    specs = [
        ("basic_lstm_fb1", "TF1BasicLSTMCell", dict(num_units=3, forget_bias=1.0)),
        ("basic_lstm_fb05", "TF1BasicLSTMCell", dict(num_units=3, forget_bias=0.5)),
        ("basic_lstm_fb0_units2", "TF1BasicLSTMCell", dict(num_units=2, forget_bias=0.0)),
        ("lstm_plain", "TF1LSTMCell", dict(num_units=3)),
        ("lstm_peepholes", "TF1LSTMCell", dict(num_units=3, use_peepholes=True)),
        ("lstm_cell_clip", "TF1LSTMCell", dict(num_units=3, cell_clip=0.4)),
        ("lstm_peepholes_clip", "TF1LSTMCell", dict(num_units=3, use_peepholes=True,
                                                     cell_clip=0.5, forget_bias=0.5)),
        ("lstm_num_proj", "TF1LSTMCell", dict(num_units=4, num_proj=2)),
        ("lstm_num_proj_clip", "TF1LSTMCell", dict(num_units=4, num_proj=2, proj_clip=0.3)),
        ("lstm_all", "TF1LSTMCell", dict(num_units=4, use_peepholes=True, cell_clip=0.6,
                                        num_proj=3, proj_clip=0.35, forget_bias=0.7)),
    ]
    for name, cls, kw in specs:
        R.clear("tfk")
        rng = rng_for(fam + "/" + name)
        B, T, D = 3, 5, 4
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if cls == "TF1BasicLSTMCell":
                cell = lc.BasicLSTMCell(**kw)
            else:
                cell = lc.LSTMCell(**kw)
        x = randn(rng, (B, T, D), 1.5)
        state = cell.zero_state(B, R.tf.float32)
        cell(R.tensor(x[:, 0]), state)     # build
        ws = [f32(rng.uniform(-0.8, 0.8, size=tuple(w.shape))) for w in cell.weights]
        for var, w in zip(cell.weights, ws):
            var.assign(w)
        names = [w.name.split("/", 1)[1].split(":")[0] for w in cell.weights]
        state = cell.zero_state(B, R.tf.float32)
        outs = []
        for t in range(T):
            o, state = cell(R.tensor(x[:, t]), state)
            outs.append(o.numpy())
        seq = np.stack(outs, axis=1)
        conf = {"num_units": kw["num_units"], "forget_bias": kw.get("forget_bias", 1.0),
                "use_peepholes": kw.get("use_peepholes", False),
                "cell_clip": kw.get("cell_clip"), "num_proj": kw.get("num_proj"),
                "proj_clip": kw.get("proj_clip"), "activation": "tanh"}
        g = Golden(fam, name, "tfk")
        g.set_layer_json({"class_name": cls, "config": conf})
        g.set_weights(ws)
        g.note("weight_names", names)
        g.note("notes", "run step by step: for t: out_t, (c,h) = cell(x[:,t], (c,h)) from zero "
                        "state; outputs = [sequence (B,T,out), final c, final h]")
        g.add_call([x], [seq, state[0], state[1]])
        out.append(g)
    return out
