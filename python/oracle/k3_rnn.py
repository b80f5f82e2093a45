"""Keras 3 cases: families seed, lstm, gru, simple_rnn, dropout, bidirectional, stacked."""
import functools

from . import runner as R
from .common import Golden, case_seed, randn, rng_for, f32

MASKS = ("right", "left", "holes", "mixed")


def L():
    return R.keras.layers


def _mk(cls_name, units, **kw):
    return functools.partial(getattr(L(), cls_name), units, **kw)


def _abbrev(kw):
    ab = {"return_sequences": "rs", "return_state": "rst", "go_backwards": "gb",
          "unroll": "unroll", "use_bias": "bias", "zero_output_for_mask": "zofm",
          "implementation": "impl", "reset_after": "ra", "activation": "act",
          "recurrent_activation": "ract", "unit_forget_bias": "ufb"}
    parts = []
    for k, v in kw.items():
        a = ab.get(k, k)
        if v is True:
            parts.append(a)
        elif v is False:
            parts.append("no" + a if a == "bias" else a + "_false")
        else:
            parts.append("%s_%s" % (a, v))
    return "_".join(parts) if parts else "default"


# ---------------------------------------------------------------------------
def seed_cases():
    out = []
    for rs in (False, True):
        for rst in (False, True):
            name = "lstm2_rs%d_rst%d" % (rs, rst)
            out.append(R.layer_case("seed", name, _mk("LSTM", 2, return_sequences=rs,
                                                         return_state=rst),
                                    B=4, T=1, D=3))
    out.append(seed_stacked())
    return out


def seed_stacked():
    keras = R.keras
    R.clear("k3")
    name = "seed_stacked"
    keras.utils.set_random_seed(case_seed("seed/" + name))
    model = keras.Sequential([
        keras.Input((6, 5)),
        L().LSTM(32, return_sequences=True, kernel_initializer="orthogonal",
                 recurrent_initializer="orthogonal"),
        L().LSTM(8, return_sequences=True),
        L().GlobalMaxPooling1D(),
        L().Dense(20, activation="relu"),
    ])
    rng = rng_for("seed/" + name)
    x = randn(rng, (3, 6, 5))
    y = model(R.tensor(x))
    g = Golden("seed", name, "k3")
    g.set_model_json(R.model_json(model))
    g.set_weights(model.get_weights())
    g.add_call([x], [y])
    return g


# ---------------------------------------------------------------------------
def _common_arg_cases(family, cls, units, extra_variants):
    """Cases shared by LSTM / GRU / SimpleRNN."""
    out = []
    mk = functools.partial(_mk, cls, units)
    variants = [
        {}, {"return_sequences": True}, {"return_state": True},
        {"return_sequences": True, "return_state": True},
        {"go_backwards": True}, {"go_backwards": True, "return_sequences": True},
        {"go_backwards": True, "return_sequences": True, "return_state": True},
        {"activation": "relu", "return_sequences": True},
        {"activation": "sigmoid", "return_sequences": True},
        {"activation": "linear", "return_sequences": True},
        {"activation": "tanh", "return_sequences": True, "return_state": True},
        {"use_bias": False, "return_sequences": True},
        {"use_bias": False, "go_backwards": True, "return_state": True},
        {"unroll": True, "return_sequences": True},
        {"unroll": True, "go_backwards": True, "return_sequences": True, "return_state": True},
    ] + extra_variants
    for kw in variants:
        big = kw.get("recurrent_activation") == "hard_sigmoid"
        out.append(R.layer_case(family, _abbrev(kw), mk(**kw),
                                w_scale=1.5 if big else 0.5,
                                x_scale=2.0 if big else 1.0))
    # shape edge cases
    out.append(R.layer_case(family, "t1_rs_rst", mk(return_sequences=True, return_state=True), T=1))
    out.append(R.layer_case(family, "b1_t6", mk(return_sequences=True), B=1, T=6, D=2))
    out.append(R.layer_case(family, "units1_rst", _mk(cls, 1, return_state=True), D=2))
    # explicit masks x go_backwards x return_sequences x zero_output_for_mask
    for pat in MASKS:
        for gb in (False, True):
            for rs in (False, True):
                for z in (False, True):
                    name = "mask_%s_gb%d_rs%d_zofm%d" % (pat, gb, rs, z)
                    out.append(R.layer_case(
                        family, name,
                        mk(go_backwards=gb, return_sequences=rs, return_state=True,
                           zero_output_for_mask=z),
                        B=4, T=5, mask=pat))
    out.append(R.layer_case(family, "mask_mixed_unroll_rs", mk(unroll=True, return_sequences=True,
                                                               return_state=True),
                            B=4, mask="mixed"))
    # initial_state
    out.append(R.layer_case(family, "init_state", mk(), init_state=True))
    out.append(R.layer_case(family, "init_state_rs_rst", mk(return_sequences=True, return_state=True),
                            init_state=True))
    out.append(R.layer_case(family, "init_state_gb_rs_rst",
                            mk(go_backwards=True, return_sequences=True, return_state=True),
                            init_state=True))
    out.append(R.layer_case(family, "init_state_leading_mask_rs_rst",
                            mk(return_sequences=True, return_state=True),
                            B=4, init_state=True, mask="left"))
    out.append(R.layer_case(family, "init_state_leading_mask_zofm_rs_rst",
                            mk(return_sequences=True, return_state=True, zero_output_for_mask=True),
                            B=4, init_state=True, mask="left"))
    out.append(R.layer_case(family, "init_state_mixed_mask_gb_rs_rst",
                            mk(return_sequences=True, return_state=True, go_backwards=True),
                            B=4, init_state=True, mask="mixed"))
    # stateful
    out.append(R.layer_case(family, "stateful_rs", mk(stateful=True, return_sequences=True),
                            stateful=True))
    out.append(R.layer_case(family, "stateful_rst", mk(stateful=True, return_state=True),
                            stateful=True))
    out.append(R.layer_case(family, "stateful_gb_rs_rst",
                            mk(stateful=True, go_backwards=True, return_sequences=True,
                               return_state=True), stateful=True))
    out.append(R.layer_case(family, "stateful_mask_rs_rst",
                            mk(stateful=True, return_sequences=True, return_state=True),
                            B=4, stateful=True, mask="mixed"))
    out.append(R.layer_case(family, "stateful_gb_mask_rst",
                            mk(stateful=True, go_backwards=True, return_state=True),
                            B=4, stateful=True, mask="right"))
    return out


def lstm_cases():
    extra = [
        {"recurrent_activation": "hard_sigmoid", "return_sequences": True},
        {"recurrent_activation": "hard_sigmoid", "activation": "relu", "go_backwards": True,
         "return_state": True},
        {"recurrent_activation": "tanh", "return_sequences": True},
        {"recurrent_activation": "linear", "return_sequences": True},
        {"implementation": 1},
        {"implementation": 1, "return_sequences": True, "go_backwards": True},
        {"implementation": 1, "return_state": True, "use_bias": False},
        {"implementation": 1, "recurrent_activation": "hard_sigmoid", "return_sequences": True},
    ]
    out = _common_arg_cases("lstm", "LSTM", 3, extra)
    C = R.keras.initializers.Constant
    # unit_forget_bias only changes initialisation -> use the layer's own init
    for ufb in (True, False):
        out.append(R.layer_case("lstm", "init_ufb_%s" % str(ufb).lower(),
                                _mk("LSTM", 3, unit_forget_bias=ufb, return_sequences=True),
                                init_weights=True))
        out.append(R.layer_case("lstm", "init_ufb_%s_bias_const" % str(ufb).lower(),
                                lambda ufb=ufb: L().LSTM(3, unit_forget_bias=ufb,
                                                         bias_initializer=C(0.03),
                                                         return_sequences=True),
                                init_weights=True))
    return out


def gru_cases():
    extra = [
        {"recurrent_activation": "hard_sigmoid", "return_sequences": True},
        {"recurrent_activation": "hard_sigmoid", "reset_after": False, "return_sequences": True},
        {"recurrent_activation": "tanh", "return_sequences": True},
        {"reset_after": False},
        {"reset_after": False, "return_sequences": True, "return_state": True},
        {"reset_after": False, "go_backwards": True, "return_sequences": True},
        {"reset_after": False, "use_bias": False, "return_sequences": True},
        {"reset_after": False, "activation": "relu", "return_sequences": True},
        {"reset_after": False, "unroll": True, "return_state": True},
        {"implementation": 1},
        {"implementation": 1, "return_sequences": True, "go_backwards": True},
        {"implementation": 1, "reset_after": False, "return_sequences": True},
        {"implementation": 1, "reset_after": False, "use_bias": False, "return_state": True},
    ]
    out = _common_arg_cases("gru", "GRU", 3, extra)
    for pat in ("mixed", "left"):
        out.append(R.layer_case("gru", "mask_%s_ra_false_gb1_rs1" % pat,
                                _mk("GRU", 3, reset_after=False, go_backwards=True,
                                    return_sequences=True, return_state=True),
                                B=4, mask=pat))
    out.append(R.layer_case("gru", "init_state_ra_false_rs", _mk("GRU", 3, reset_after=False,
                                                                  return_sequences=True),
                            init_state=True))
    out.append(R.layer_case("gru", "stateful_ra_false_rs",
                            _mk("GRU", 3, reset_after=False, stateful=True, return_sequences=True),
                            stateful=True))
    out.append(R.layer_case("gru", "init_default_weights_rs", _mk("GRU", 3, return_sequences=True),
                            init_weights=True))
    return out


def simple_rnn_cases():
    extra = [{"activation": "relu", "go_backwards": True, "return_state": True}]
    out = _common_arg_cases("simple_rnn", "SimpleRNN", 4, extra)
    return out


# ---------------------------------------------------------------------------
def dropout_cases():
    fam = "dropout"
    out = []

    def case(name, cls, units, mask=None, **kw):
        if cls in ("LSTM", "GRU"):
            kw.setdefault("use_cudnn", False)   # see report: K3 3.15.1 crash otherwise
        out.append(R.layer_case(fam, name, _mk(cls, units, **kw), dropout=True, mask=mask,
                                B=4 if mask else 3))

    for rs in (False, True):
        sfx = "_rs" if rs else ""
        case("lstm_in_impl2" + sfx, "LSTM", 3, dropout=0.4, return_sequences=rs)
        case("lstm_in_impl1" + sfx, "LSTM", 3, dropout=0.4, implementation=1, return_sequences=rs)
        case("lstm_rec" + sfx, "LSTM", 3, recurrent_dropout=0.4, return_sequences=rs)
        case("lstm_both" + sfx, "LSTM", 3, dropout=0.3, recurrent_dropout=0.5,
             return_sequences=rs, return_state=True)
        for ra in (True, False):
            r = "ra%d" % ra
            case("gru_%s_in_impl2%s" % (r, sfx), "GRU", 3, dropout=0.4, reset_after=ra,
                 return_sequences=rs)
            case("gru_%s_in_impl1%s" % (r, sfx), "GRU", 3, dropout=0.4, reset_after=ra,
                 implementation=1, return_sequences=rs)
            case("gru_%s_rec%s" % (r, sfx), "GRU", 3, recurrent_dropout=0.4, reset_after=ra,
                 return_sequences=rs)
            case("gru_%s_both%s" % (r, sfx), "GRU", 3, dropout=0.3, recurrent_dropout=0.5,
                 reset_after=ra, return_sequences=rs, return_state=True)
        case("simple_rnn_in" + sfx, "SimpleRNN", 4, dropout=0.4, return_sequences=rs)
        case("simple_rnn_rec" + sfx, "SimpleRNN", 4, recurrent_dropout=0.4, return_sequences=rs)
        case("simple_rnn_both" + sfx, "SimpleRNN", 4, dropout=0.3, recurrent_dropout=0.5,
             return_sequences=rs, return_state=True)
    case("lstm_in_impl2_gb_rs", "LSTM", 3, dropout=0.4, go_backwards=True, return_sequences=True)
    case("lstm_both_gb_rs", "LSTM", 3, dropout=0.3, recurrent_dropout=0.3, go_backwards=True,
         return_sequences=True)
    case("lstm_both_mask_rs", "LSTM", 3, mask="mixed", dropout=0.3, recurrent_dropout=0.3,
         return_sequences=True, return_state=True)
    case("gru_both_mask_rs", "GRU", 3, mask="mixed", dropout=0.3, recurrent_dropout=0.3,
         return_sequences=True)
    case("lstm_in_impl2_cudnn_auto", "LSTM", 3, dropout=0.4, return_sequences=True,
         use_cudnn="auto")
    return out


# ---------------------------------------------------------------------------
def bidirectional_cases():
    fam = "bidirectional"
    out = []
    units = {"LSTM": 3, "GRU": 3, "SimpleRNN": 2}
    for cls in ("LSTM", "GRU", "SimpleRNN"):
        for mm in ("concat", "sum", "ave", "mul", None):
            for rs in (False, True):
                for rst in (False, True):
                    name = "%s_%s_rs%d_rst%d" % (cls.lower(), mm or "none", rs, rst)
                    mk = (lambda cls=cls, mm=mm, rs=rs, rst=rst: L().Bidirectional(
                        getattr(L(), cls)(units[cls], return_sequences=rs, return_state=rst),
                        merge_mode=mm))
                    out.append(R.layer_case(fam, name, mk))
        for pat in ("right", "mixed"):
            for rs in (False, True):
                name = "%s_mask_%s_rs%d" % (cls.lower(), pat, rs)
                mk = (lambda cls=cls, rs=rs: L().Bidirectional(
                    getattr(L(), cls)(units[cls], return_sequences=rs, return_state=True),
                    merge_mode="concat"))
                out.append(R.layer_case(fam, name, mk, B=4, mask=pat))
        for mm in ("concat", None):
            name = "%s_init_state_%s_rs1_rst1" % (cls.lower(), mm or "none")
            mk = (lambda cls=cls, mm=mm: L().Bidirectional(
                getattr(L(), cls)(units[cls], return_sequences=True, return_state=True),
                merge_mode=mm))
            out.append(R.layer_case(fam, name, mk, init_state=True))
    out.append(R.layer_case(fam, "gru_ra_false_sum_rs1", lambda: L().Bidirectional(
        L().GRU(3, reset_after=False, return_sequences=True), merge_mode="sum")))
    out.append(R.layer_case(fam, "lstm_init_state_mask_left_rs1", lambda: L().Bidirectional(
        L().LSTM(3, return_sequences=True, return_state=True)), B=4, mask="left",
        init_state=True))
    out.append(R.layer_case(fam, "lstm_explicit_backward_layer_rs1", lambda: L().Bidirectional(
        L().LSTM(3, return_sequences=True),
        backward_layer=L().GRU(2, return_sequences=True, go_backwards=True))))
    return out


# ---------------------------------------------------------------------------
def stacked_cases():
    fam = "stacked"
    out = []
    combos = [(False, False, False), (True, False, False), (False, True, False),
              (True, True, False), (False, False, True), (True, True, True)]

    def rnn(cells_fn, **kw):
        return lambda: L().RNN(cells_fn(), **kw)

    mixes = {
        "lstm3_lstm4": lambda: [L().LSTMCell(3), L().LSTMCell(4)],
        "gru3_simple2": lambda: [L().GRUCell(3), L().SimpleRNNCell(2)],
        "simple3_lstm2_gru2": lambda: [L().SimpleRNNCell(3), L().LSTMCell(2),
                                       L().GRUCell(2, reset_after=False)],
    }
    for mname, cf in mixes.items():
        for rs, rst, gb in combos:
            name = "%s_rs%d_rst%d_gb%d" % (mname, rs, rst, gb)
            out.append(R.layer_case(fam, name, rnn(cf, return_sequences=rs, return_state=rst,
                                                   go_backwards=gb)))
    out.append(R.layer_case(fam, "lstm3_lstm4_mask_mixed_rs1_rst1",
                            rnn(mixes["lstm3_lstm4"], return_sequences=True, return_state=True),
                            B=4, mask="mixed"))
    out.append(R.layer_case(fam, "lstm3_lstm4_init_state_rs1_rst1",
                            rnn(mixes["lstm3_lstm4"], return_sequences=True, return_state=True),
                            init_state=True,
                            notes="initial_state is flat [h1,c1,h2,c2]; Keras receives "
                                  "[[h1,c1],[h2,c2]]"))
    singles = {
        "single_lstm": lambda: L().LSTMCell(3),
        "single_gru": lambda: L().GRUCell(3),
        "single_gru_ra_false": lambda: L().GRUCell(3, reset_after=False),
        "single_simple": lambda: L().SimpleRNNCell(3),
    }
    for sname, cf in singles.items():
        for rs, rst, gb in [(False, False, False), (True, True, False), (True, True, True)]:
            name = "%s_rs%d_rst%d_gb%d" % (sname, rs, rst, gb)
            out.append(R.layer_case(fam, name, (lambda cf=cf, rs=rs, rst=rst, gb=gb: L().RNN(
                cf(), return_sequences=rs, return_state=rst, go_backwards=gb))))
    out.append(R.layer_case(fam, "single_lstm_mask_left_rs1",
                            lambda: L().RNN(L().LSTMCell(3), return_sequences=True),
                            B=4, mask="left"))
    return out
