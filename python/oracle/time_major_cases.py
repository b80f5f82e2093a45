"""tf_keras time_major=True recurrent layers: family time_major.

In tf_keras (layers/rnn/base_rnn.py, lstm.py, gru.py, backend.rnn) a time-major layer takes
inputs (T, B, D) and a mask (T, B) (backend.rnn transposes the mask only when
time_major=False), returns sequences (T, B, U) and states (B, U); tf_keras rejects a (B, T)
mask. The cuDNN-capable LSTM/GRU path draws its whole-sequence input dropout mask with the
input's shape, (T, B, D). Bidirectional reverses the backward sequence along axis 0.
"""
import functools

from . import runner as R
from .common import randn
from .k3_models import model_case, padded_float


def TL():
    return R.tf_keras.layers


def _tm(cls, units, **kw):
    return functools.partial(getattr(TL(), cls), units, time_major=True, **kw)


def time_major_cases():
    fam = "time_major"
    out = []

    def case(name, make, **kw):
        out.append(R.layer_case(fam, name, make, lib="tfk", time_major=True, **kw))

    case("lstm_rs_rst", _tm("LSTM", 3, return_sequences=True, return_state=True))
    case("lstm_gb_rst", _tm("LSTM", 3, go_backwards=True, return_state=True))
    case("lstm_impl1_gb_rs", _tm("LSTM", 3, implementation=1, go_backwards=True, return_sequences=True))
    case("lstm_mask_mixed_rs_rst", _tm("LSTM", 3, return_sequences=True, return_state=True),
         B=4, mask="mixed")
    case("lstm_mask_right_gb_rs", _tm("LSTM", 3, go_backwards=True, return_sequences=True),
         B=4, mask="right")
    case("lstm_init_state_mask_left_rs_rst", _tm("LSTM", 3, return_sequences=True, return_state=True),
         B=4, init_state=True, mask="left")
    case("lstm_stateful_rs", _tm("LSTM", 3, stateful=True, return_sequences=True), stateful=True)
    case("gru_rs_rst", _tm("GRU", 3, return_sequences=True, return_state=True))
    case("gru_ra_false_gb_rs_rst", _tm("GRU", 3, reset_after=False, go_backwards=True,
                                       return_sequences=True, return_state=True))
    case("gru_mask_holes_zofm_rs", _tm("GRU", 3, zero_output_for_mask=True, return_sequences=True),
         B=4, mask="holes")
    case("gru_ra_false_init_state_mask_mixed_rst",
         _tm("GRU", 3, reset_after=False, return_state=True), B=4, init_state=True, mask="mixed")
    case("simple_rnn_rs_rst", _tm("SimpleRNN", 4, return_sequences=True, return_state=True))
    case("simple_rnn_mask_right_gb_rs", _tm("SimpleRNN", 4, go_backwards=True, return_sequences=True),
         B=4, mask="right")
    case("simple_rnn_init_state_rst", _tm("SimpleRNN", 4, return_state=True), init_state=True)
    case("lstm_dropout_cudnn_path_rs", _tm("LSTM", 3, dropout=0.4, return_sequences=True),
         tfk_dropout=True,
         notes="cuDNN-capable path: the input dropout mask has the input's time-major shape (T,B,D)")
    case("gru_dropout_both_impl1_rs", _tm("GRU", 3, dropout=0.3, recurrent_dropout=0.5,
                                          return_sequences=True), tfk_dropout=True)
    case("bidirectional_lstm_concat_mask_rs_rst",
         lambda: TL().Bidirectional(TL().LSTM(3, time_major=True, return_sequences=True,
                                              return_state=True)), B=4, mask="right")
    case("bidirectional_gru_sum_rs",
         lambda: TL().Bidirectional(TL().GRU(2, time_major=True, return_sequences=True),
                                    merge_mode="sum"))

    k = R.tf_keras

    def seq_masking_lstm_dense():
        # Input(shape=(B, D)): the leading None of batch_input_shape is the steps axis here.
        return k.Sequential([k.Input((4, 3)), TL().Masking(),
                             TL().LSTM(3, time_major=True, return_sequences=True),
                             TL().Dense(2)])

    def time_major_padded(rng):
        return [padded_float(rng, 4, 5, 3).transpose(1, 0, 2).copy()]   # (T=5, B=4, D=3)

    out.append(model_case(fam, "sequential_masking_lstm_dense", seq_masking_lstm_dense,
                          time_major_padded, lib="tfk",
                          notes="Masking on a time-major input gives a (T, B) mask"))

    def func_gru_state_dense():
        x = k.Input((3, 2))
        y, h = TL().GRU(4, time_major=True, return_sequences=True, return_state=True)(x)
        return k.Model(x, [TL().Dense(2)(y), h])

    out.append(model_case(fam, "functional_gru_rs_rst_dense", func_gru_state_dense,
                          lambda rng: [randn(rng, (6, 3, 2))], lib="tfk"))
    return out
