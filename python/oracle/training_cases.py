"""Keras 3 training goldens (tests/data/training, format in its README.md).

Each case builds a small functional model with explicitly set initial weights, compiles
it with one optimizer and one loss, and records, for STEPS fixed batches (no shuffling):
  - the gradients of the total loss (compiled loss + regularization penalties) with
    respect to every weight at the initial weights on batch 0 (tf.GradientTape around the
    same forward + compute_loss that Keras' train_step runs), before any clipping;
  - the loss model.train_on_batch returns at every step (total loss, regularization
    included, computed before that step's update);
  - every weight after every step.
One case ("fit_...") runs model.fit(shuffle=False) instead and records the epoch losses.
Dropout is used only with masks injected into the cell's mask cache (runner.k3_inject),
recorded per step. The generator checks that each feature a case is about really acts
(clipping binds, constraints bite, Huber sees both branches, ...), so a golden cannot
silently test nothing.
"""
import json
import os

import numpy as np

from . import runner as R
from .common import VERSIONS, _jsonable, case_seed, f32, randn, rng_for, write_npz

FAMILY = "training"
STEPS = 6
B, T, D, U, C = 4, 5, 3, 4, 3   # batch, steps, features, units, classes


def K():
    return R.keras


def L():
    return R.keras.layers


# ---------------------------------------------------------------------------
# recorder
# ---------------------------------------------------------------------------
class TrainingGolden:
    def __init__(self, case, description):
        self.family = FAMILY
        self.case = case
        self.arrays = {}
        self.doc = {
            "case": case,
            "family": FAMILY,
            "generator": "keras %s / tensorflow %s" % (VERSIONS["keras"], VERSIONS["tensorflow"]),
            "keras_version": VERSIONS["keras"],
            "description": description,
        }

    def put(self, key, arr):
        assert key not in self.arrays, key
        arr = np.asarray(arr)
        if np.issubdtype(arr.dtype, np.integer):
            arr = arr.astype(np.int32)
        elif arr.dtype == np.bool_:
            arr = arr.astype(np.uint8)
        else:
            arr = f32(arr)
            assert np.all(np.isfinite(arr)), (self.case, key)
        self.arrays[key] = arr
        return key

    def put_list(self, prefix, arrs):
        return [self.put("%s%d" % (prefix, i), a) for i, a in enumerate(arrs)]

    def write(self, root):
        os.makedirs(root, exist_ok=True)
        text = json.dumps(_jsonable(self.doc), indent=1, allow_nan=False)
        with open(os.path.join(root, self.case + ".json"), "w") as f:
            f.write(text + "\n")
        write_npz(os.path.join(root, self.case + ".npz"), self.arrays)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def np_weights(model):
    return [f32(R.tf.convert_to_tensor(w).numpy()) for w in model.weights]


def feed(xs):
    ts = [R.tensor(x) for x in xs]
    return ts if len(ts) > 1 else ts[0]


def class_weight_sw(y, class_weight):
    from keras.src.trainers.data_adapters import data_adapter_utils
    return data_adapter_utils.class_weight_to_sample_weights(y, class_weight)


def close(a, b, what, tol=1e-6):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if not np.allclose(a, b, atol=tol, rtol=tol):
        raise AssertionError("%s: %r vs %r" % (what, a, b))


def step0_grads(model, xs, y, sw, inject=None):
    """Gradients of the total training loss at the current weights (Keras train_step's
    forward + compute_loss, without clipping or the update)."""
    tf = R.tf
    if inject:
        inject()
    with tf.GradientTape() as tape:
        y_pred = model(feed(xs), training=True)
        loss = model.compute_loss(x=None, y=y, y_pred=y_pred, sample_weight=sw, training=True)
        reg = float(sum(float(r.numpy()) for r in model.losses)) if model.losses else 0.0
    grads = tape.gradient(loss, model.trainable_weights)
    assert all(g is not None for g in grads), "a weight gets no gradient"
    preds = [f32(p.numpy()) for p in (y_pred if isinstance(y_pred, (list, tuple)) else [y_pred])]
    return float(loss.numpy()), reg, [f32(tf.convert_to_tensor(g).numpy()) for g in grads], preds


def run_case(name, description, build, loss, optimizer, batches, *, class_weight=None,
             w_scale=0.5, init_weights=None, dropout=None, check=None, notes=None, loss_extra=None):
    """build() -> keras.Model; loss/optimizer: factories (fresh objects per case);
    batches: list of (inputs list, y, sample_weight or None), one per step;
    dropout: (layer name, per-step masks dicts) injected before every training call;
    check(model, info) raises when the case does not exercise what it claims."""
    keras = K()
    R.clear("k3")
    seed = case_seed(FAMILY + "/" + name)
    rng = rng_for(FAMILY + "/" + name + "/weights")
    R.set_seed("k3", seed)
    model = build()
    if init_weights is None:
        model.set_weights([f32(rng.uniform(-w_scale, w_scale, size=w.shape)) for w in model.get_weights()])
    else:
        model.set_weights(init_weights(model, rng))
    # Non-trainable weights (BatchNormalization's moving statistics) may sit among them.
    assert [w.path for w in model.trainable_weights] == [w.path for w in model.weights if w.trainable], \
        "the trainable weights must be in get_weights() order"
    opt, loss_obj = optimizer(), loss()
    model.compile(optimizer=opt, loss=loss_obj)

    g = TrainingGolden(name, description)
    g.doc["model"] = R.model_json(model)
    w0 = np_weights(model)
    g.doc["num_weights"] = len(w0)
    g.doc["weight_names"] = [w.path for w in model.weights]
    g.put_list("w", w0)
    g.doc["optimizer"] = keras.optimizers.serialize(opt)
    g.doc["loss"] = keras.losses.serialize(loss_obj)
    if loss_extra:
        g.doc["loss_extra"] = loss_extra
    g.doc["class_weight"] = (None if class_weight is None
                             else {str(k): float(v) for k, v in class_weight.items()})

    inject = None
    if dropout is not None:
        layer_name, step_masks = dropout
        cell = model.get_layer(layer_name).cell
        per_gate = getattr(cell, "dropout_mask_count", None) is not None
        g.doc["dropout_layer"] = layer_name
        g.doc["dropout_mask_per_gate"] = bool(per_gate)
        g.doc["implementation"] = int(cell.implementation)

        def inject_for(k):
            return lambda: R.k3_inject(cell, step_masks[k], per_gate)
    # step-0 gradients (weights untouched)
    xs0, y0, sw0 = batches[0]
    sw_eff = class_weight_sw(y0, class_weight) if class_weight is not None else sw0
    loss0, reg0, grads, preds0 = step0_grads(model, xs0, y0, sw_eff,
                                     inject_for(0) if dropout is not None else None)
    # The sample weights the gradient pass used (class weights resolved by Keras' own
    # class_weight_to_sample_weights), so that a test can redo it without a trainer.
    g.doc["grads_step0_sample_weight"] = None if sw_eff is None else g.put("g_sw", sw_eff)
    g.doc["step0_loss"] = loss0
    g.doc["step0_regularization_loss"] = reg0
    g.doc["grads_step0"] = g.put_list("g", grads)
    for v, w in zip(model.weights, w0):  # the tape's training call moved BatchNorm statistics
        if not v.trainable:
            v.assign(w)
    for a, b in zip(np_weights(model), w0):
        close(a, b, name + " weights untouched by the gradient pass")

    info = {"grads0": grads, "w0": w0, "preds0": preds0, "weights": [], "batches": batches}
    losses = []
    for k, (xs, y, sw) in enumerate(batches):
        if dropout is not None:
            inject_for(k)()
        losses.append(float(model.train_on_batch(feed(xs), y, sample_weight=sw, class_weight=class_weight)))
        info["weights"].append(np_weights(model))
    # Per-step arrays are stacked on a leading step axis (fewer .npz members, smaller files).
    stack = lambda key, seqs: g.put(key, np.stack(seqs))  # noqa: E731
    n_in = len(batches[0][0])
    steps = {
        "count": len(batches),
        "inputs": [stack("x%d" % i, [b[0][i] for b in batches]) for i in range(n_in)],
        "y": stack("y", [b[1] for b in batches]),
        "sample_weight": None if batches[0][2] is None else stack("sw", [b[2] for b in batches]),
        "dropout_masks": None,
        "losses": losses,
        "weights_after": [stack("t%d" % i, [wk[i] for wk in info["weights"]]) for i in range(len(w0))],
    }
    if dropout is not None:
        ms = dropout[1]
        steps["dropout_masks"] = {
            kind: [stack("%s%d" % (prefix, j), [m[kind][j] for m in ms]) for j in range(len(ms[0][kind]))]
            for kind, prefix in (("input", "dm"), ("recurrent", "drm"))}
    g.doc["steps"] = steps
    # The tape loss is the loss train_on_batch reports for step 0.
    close(loss0, losses[0], name + " step-0 loss (tape vs train_on_batch)", tol=1e-5)
    if check is not None:
        check(model, info)
    if notes:
        g.doc["notes"] = notes
    return g


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
def seq_batches(name, *, target, n=STEPS, b=B, t=T, d=D, sample_weight=False, x_scale=1.0):
    """Fixed batches for a (B,T,D) input: target(rng, b) -> y."""
    rng = rng_for(FAMILY + "/" + name + "/data")
    out = []
    for _ in range(n):
        x = randn(rng, (b, t, d), x_scale)
        y = target(rng, b)
        sw = f32(rng.uniform(0.2, 2.0, size=(b,))) if sample_weight else None
        out.append(([x], y, sw))
    return out


def sparse_labels(rng, b):
    return rng.randint(0, C, size=(b,)).astype(np.int32)


def one_hot(rng, b):
    return f32(np.eye(C)[rng.randint(0, C, size=(b,))])


def multi_hot(rng, b):
    return f32(rng.randint(0, 2, size=(b, C)))


def regression(scale):
    return lambda rng, b: randn(rng, (b, C), scale)


def lstm_dense(activation=None, lstm_kw=None, dense_kw=None):
    def build():
        i = K().Input((T, D))
        h = L().LSTM(U, **(lstm_kw or {}))(i)
        y = L().Dense(C, activation=activation, **(dense_kw or {}))(h)
        return K().Model(i, y)
    return build


def sce_logits():
    return K().losses.SparseCategoricalCrossentropy(from_logits=True)


def sgd(lr=0.1, **kw):
    return lambda: K().optimizers.SGD(learning_rate=lr, **kw)


def adam(lr=0.01, **kw):
    return lambda: K().optimizers.Adam(learning_rate=lr, **kw)


# ---------------------------------------------------------------------------
# feature checks
# ---------------------------------------------------------------------------
def check_clipnorm(limit):
    def check(model, info):
        norms = [float(np.linalg.norm(g)) for g in info["grads0"]]
        assert max(norms) > limit, ("clipnorm never binds", norms)
        assert min(norms) < limit or len(norms) == 1, ("clipnorm binds everywhere", norms)
    return check


def check_global_clipnorm(limit):
    def check(model, info):
        n = float(np.sqrt(sum(np.sum(np.square(g.astype(np.float64))) for g in info["grads0"])))
        assert n > limit, ("global_clipnorm never binds", n)
    return check


def check_clipvalue(limit):
    def check(model, info):
        a = np.concatenate([np.abs(g).ravel() for g in info["grads0"]])
        assert np.mean(a > limit) > 0.05 and np.mean(a < limit) > 0.05, ("clipvalue does not split", np.mean(a > limit))
    return check


def check_huber(delta):
    def check(model, info):
        r = np.abs(info["preds0"][0] - info["batches"][0][1])
        assert np.any(r > delta) and np.any(r < delta), "huber: both branches must be used"
    return check


def check_nonneg(weight_index):
    def check(model, info):
        for wk in info["weights"]:
            assert np.all(wk[weight_index] >= 0)
        assert np.any(info["w0"][weight_index] < 0)
        assert np.any(info["weights"][-1][weight_index] > 0)
    return check


def check_maxnorm(weight_index, max_value):
    def check(model, info):
        n0 = np.sqrt(np.sum(np.square(info["w0"][weight_index]), axis=0))
        assert np.any(n0 > max_value * 1.05), ("max_norm never binds", n0)
        for wk in info["weights"]:
            n = np.sqrt(np.sum(np.square(wk[weight_index]), axis=0))
            assert np.all(n <= max_value + 1e-5), n
    return check


def check_unitnorm(weight_index):
    def check(model, info):
        n0 = np.sqrt(np.sum(np.square(info["w0"][weight_index]), axis=0))
        assert np.any(np.abs(n0 - 1.0) > 0.05), ("unit_norm never binds", n0)
        for wk in info["weights"]:
            n = np.sqrt(np.sum(np.square(wk[weight_index]), axis=0))
            assert np.allclose(n, 1.0, atol=1e-5), n
    return check


def check_minmaxnorm(weight_index, lo, hi):
    def check(model, info):
        n0 = np.sqrt(np.sum(np.square(info["w0"][weight_index]), axis=0))
        assert np.any((n0 < lo * 0.95) | (n0 > hi * 1.05)), ("min_max_norm never binds", n0)
    return check


def check_activity_loss(model, info):
    """The activity penalties (all of model.losses: these models have no weight regularizer)
    are a real part of the loss."""
    xs, _, _ = info["batches"][0]
    model(feed(xs), training=True)
    activity = float(sum(float(r.numpy()) for r in model.losses))
    assert activity > 1e-3, ("activity regularizer adds nothing", activity)


def step_labels(rng, b):
    return rng.randint(0, C, size=(b, T)).astype(np.int32)


# ---------------------------------------------------------------------------
# the cases
# ---------------------------------------------------------------------------
def optimizer_cases():
    """Optimizers, gradient clipping and learning-rate schedules on the base model."""
    ko = lambda: K().optimizers  # noqa: E731
    sch = lambda: K().optimizers.schedules  # noqa: E731
    specs = [  # (name, description, optimizer factory, check)
        ("opt_sgd", "SGD(0.1)", sgd(0.1), None),
        ("opt_sgd_momentum", "SGD(0.05, momentum=0.9)", sgd(0.05, momentum=0.9), None),
        ("opt_sgd_momentum_nesterov", "SGD(0.05, momentum=0.9, nesterov=True)",
         sgd(0.05, momentum=0.9, nesterov=True), None),
        ("opt_sgd_weight_decay", "SGD(0.1, weight_decay=0.1) (Keras 3 decoupled decay, any optimizer)",
         sgd(0.1, weight_decay=0.1), None),
        ("opt_adam", "Adam(0.01)", adam(0.01), None),
        ("opt_adam_amsgrad", "Adam(0.01, amsgrad=True)", adam(0.01, amsgrad=True), None),
        ("opt_adamw", "AdamW(0.01, weight_decay=0.05)",
         lambda: ko().AdamW(learning_rate=0.01, weight_decay=0.05), None),
        ("opt_rmsprop", "RMSprop(0.01)", lambda: ko().RMSprop(learning_rate=0.01), None),
        ("opt_rmsprop_centered_momentum", "RMSprop(0.01, momentum=0.5, centered=True)",
         lambda: ko().RMSprop(learning_rate=0.01, momentum=0.5, centered=True), None),
        ("opt_adagrad", "Adagrad(0.1)", lambda: ko().Adagrad(learning_rate=0.1), None),
        ("clip_clipnorm", "SGD(0.5, clipnorm=0.15) (per-variable norm clipping)",
         sgd(0.5, clipnorm=0.15), check_clipnorm(0.15)),
        ("clip_global_clipnorm", "SGD(0.5, global_clipnorm=0.2)",
         sgd(0.5, global_clipnorm=0.2), check_global_clipnorm(0.2)),
        ("clip_clipvalue", "SGD(0.5, clipvalue=0.02)", sgd(0.5, clipvalue=0.02), check_clipvalue(0.02)),
        ("clip_clipnorm_adam", "Adam(0.01, clipnorm=0.15) (clipping before the moments)",
         adam(0.01, clipnorm=0.15), check_clipnorm(0.15)),
        ("schedule_exponential_decay", "SGD(ExponentialDecay(0.3, decay_steps=2, decay_rate=0.5))",
         lambda: ko().SGD(sch().ExponentialDecay(0.3, decay_steps=2, decay_rate=0.5)), None),
        ("schedule_exponential_decay_staircase",
         "SGD(ExponentialDecay(0.3, 2, 0.5, staircase=True), momentum=0.5)",
         lambda: ko().SGD(sch().ExponentialDecay(0.3, 2, 0.5, staircase=True), momentum=0.5), None),
        ("schedule_piecewise_constant_adam", "Adam(PiecewiseConstantDecay([1, 3], [0.02, 0.01, 0.005]))",
         lambda: ko().Adam(sch().PiecewiseConstantDecay([1, 3], [0.02, 0.01, 0.005])), None),
        ("schedule_cosine_decay_warmup",
         "SGD(CosineDecay(0.1, decay_steps=4, alpha=0.1, warmup_target=0.3, warmup_steps=2))",
         lambda: ko().SGD(sch().CosineDecay(0.1, decay_steps=4, alpha=0.1, warmup_target=0.3, warmup_steps=2)),
         None),
    ]
    out = []
    for name, what, opt, check in specs:
        out.append(run_case(name, "LSTM(4) -> Dense(3) logits, sparse CE from_logits, " + what,
                            lstm_dense(), sce_logits, opt, seq_batches(name, target=sparse_labels), check=check))
    return out


def regularizer_constraint_cases():
    reg, con = (lambda: K().regularizers), (lambda: K().constraints)
    base = "LSTM(4) -> Dense(3) logits, sparse CE from_logits, SGD(0.1), "
    out = []
    name = "reg_l2_lstm_kernel"
    out.append(run_case(name, base + "LSTM kernel_regularizer='l2' (0.01 * sum W^2, in the loss)",
                        lstm_dense(lstm_kw={"kernel_regularizer": "l2"}), sce_logits, sgd(0.1),
                        seq_batches(name, target=sparse_labels)))
    name = "reg_l1_recurrent_l2_bias"
    out.append(run_case(name, base + "LSTM recurrent_regularizer=L1(0.02), bias_regularizer=L2(0.05)",
                        lstm_dense(lstm_kw={"recurrent_regularizer": reg().L1(0.02),
                                            "bias_regularizer": reg().L2(0.05)}),
                        sce_logits, sgd(0.1), seq_batches(name, target=sparse_labels)))
    name = "reg_dense_l1l2"
    out.append(run_case(name, base + "Dense kernel_regularizer=L1L2(0.01, 0.02), bias_regularizer='l1'",
                        lstm_dense(dense_kw={"kernel_regularizer": reg().L1L2(l1=0.01, l2=0.02),
                                             "bias_regularizer": "l1"}),
                        sce_logits, sgd(0.1), seq_batches(name, target=sparse_labels)))
    name = "constraint_lstm_maxnorm_nonneg"
    out.append(run_case(name, base + "LSTM kernel_constraint=MaxNorm(0.45), recurrent_constraint=NonNeg() "
                        "(projections after every update)",
                        lstm_dense(lstm_kw={"kernel_constraint": con().MaxNorm(0.45),
                                            "recurrent_constraint": con().NonNeg()}),
                        sce_logits, sgd(0.1), seq_batches(name, target=sparse_labels),
                        check=lambda m, i: (check_maxnorm(0, 0.45)(m, i), check_nonneg(1)(m, i))))
    name = "constraint_dense_nonneg"
    out.append(run_case(name, base + "Dense kernel_constraint='non_neg'",
                        lstm_dense(dense_kw={"kernel_constraint": "non_neg"}),
                        sce_logits, sgd(0.1), seq_batches(name, target=sparse_labels),
                        check=check_nonneg(3)))
    name = "constraint_gru_unitnorm"
    out.append(run_case(name, "GRU(4) -> Dense(3) logits, sparse CE from_logits, SGD(0.1), GRU "
                        "kernel_regularizer=L2(0.03), recurrent_constraint=UnitNorm(axis=0)",
                        lambda: K().Model(*_chain((T, D), L().GRU(U, kernel_regularizer=reg().L2(0.03),
                                                                  recurrent_constraint=con().UnitNorm(axis=0)),
                                                  L().Dense(C))),
                        sce_logits, sgd(0.1), seq_batches(name, target=sparse_labels),
                        check=check_unitnorm(1)))
    name = "constraint_simple_rnn_minmaxnorm"
    out.append(run_case(name, "SimpleRNN(4) -> Dense(3) logits, sparse CE from_logits, SGD(0.1), SimpleRNN "
                        "recurrent_regularizer=L1L2(0.01, 0.02), "
                        "kernel_constraint=MinMaxNorm(min_value=0.6, max_value=0.8, rate=0.7, axis=0)",
                        lambda: K().Model(*_chain((T, D), L().SimpleRNN(
                            U, recurrent_regularizer=reg().L1L2(l1=0.01, l2=0.02),
                            kernel_constraint=con().MinMaxNorm(min_value=0.6, max_value=0.8, rate=0.7, axis=0)),
                            L().Dense(C))),
                        sce_logits, sgd(0.1), seq_batches(name, target=sparse_labels),
                        check=check_minmaxnorm(0, 0.6, 0.8)))
    name = "reg_activity_lstm_sequence_dense"
    out.append(run_case(name, "LSTM(4, return_sequences, activity_regularizer=L1L2(0.01, 0.02)) -> "
                        "Dense(3, activity_regularizer='l2') logits per step, sparse CE from_logits over (B,T) "
                        "labels, SGD(0.1) (penalties divided by the batch size, Keras >= 3.14)",
                        lambda: K().Model(*_chain((T, D), L().LSTM(U, return_sequences=True,
                                                                   activity_regularizer=reg().L1L2(0.01, 0.02)),
                                                  L().Dense(C, activity_regularizer="l2"))),
                        sce_logits, sgd(0.1), seq_batches(name, target=step_labels),
                        check=check_activity_loss))

    def state_build():
        i = K().Input((T, D))
        _, h, _ = L().LSTM(U, return_state=True, activity_regularizer=reg().L1(0.05))(i)
        return K().Model(i, L().Dense(C)(h))
    name = "reg_activity_lstm_return_state"
    out.append(run_case(name, "LSTM(4, return_state, activity_regularizer=L1(0.05)) -> Dense(3) on h, sparse CE "
                        "from_logits, SGD(0.1): the penalty covers out, h and the unused c",
                        state_build, sce_logits, sgd(0.1), seq_batches(name, target=sparse_labels),
                        check=check_activity_loss))
    name = "sample_weight"
    out.append(run_case(name, base + "per-sample weights (B,) in [0.2, 2]",
                        lstm_dense(), sce_logits, sgd(0.1),
                        seq_batches(name, target=sparse_labels, sample_weight=True)))
    name = "class_weight"
    out.append(run_case(name, base + "class_weight {0: 1.0, 1: 2.5, 2: 0.4} (-> sample weights by label)",
                        lstm_dense(), sce_logits, sgd(0.1), seq_batches(name, target=sparse_labels),
                        class_weight={0: 1.0, 1: 2.5, 2: 0.4}))
    return out


def loss_cases():
    kl = lambda: K().losses  # noqa: E731
    specs = [
        ("loss_mse", None, lambda: kl().MeanSquaredError(), regression(1.0)),
        ("loss_mae", None, lambda: kl().MeanAbsoluteError(), regression(1.0)),
        ("loss_huber", None, lambda: kl().Huber(delta=0.7), regression(2.0)),
        ("loss_binary_crossentropy", "sigmoid", lambda: kl().BinaryCrossentropy(), multi_hot),
        ("loss_binary_crossentropy_logits", None, lambda: kl().BinaryCrossentropy(from_logits=True), multi_hot),
        ("loss_categorical_crossentropy", "softmax", lambda: kl().CategoricalCrossentropy(), one_hot),
        ("loss_categorical_crossentropy_logits", None,
         lambda: kl().CategoricalCrossentropy(from_logits=True), one_hot),
        ("loss_categorical_crossentropy_logits_label_smoothing", None,
         lambda: kl().CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), one_hot),
        ("loss_binary_crossentropy_label_smoothing", "sigmoid",
         lambda: kl().BinaryCrossentropy(label_smoothing=0.2), multi_hot),
        ("loss_sparse_categorical_crossentropy", "softmax",
         lambda: kl().SparseCategoricalCrossentropy(), sparse_labels),
    ]
    out = []
    for name, act, loss, target in specs:
        huber = name == "loss_huber"
        out.append(run_case(name, "LSTM(4) -> Dense(3, %s), %s, Adam(0.01)" % (act or "linear", name[5:]),
                            lstm_dense(activation=act), loss, adam(0.01), seq_batches(name, target=target),
                            check=check_huber(0.7) if huber else None,
                            # Keras' Huber.get_config() omits delta: recorded here instead.
                            loss_extra={"delta": 0.7} if huber else None))
    return out


def masked_batches(name, *, vocab=None, sample_weight=False):
    """Right-padded sequences with per-step sparse labels (B,T); padded steps are 0."""
    rng = rng_for(FAMILY + "/" + name + "/data")
    out = []
    for k in range(STEPS):
        lengths = [T - ((b + k) % (T - 1)) for b in range(B)]
        if vocab is None:
            x = randn(rng, (B, T, D))
        else:
            x = rng.randint(1, vocab, size=(B, T)).astype(np.int32)
        for b, n in enumerate(lengths):
            x[b, n:] = 0
        y = rng.randint(0, C, size=(B, T)).astype(np.int32)
        sw = f32(rng.uniform(0.2, 2.0, size=(B, T))) if sample_weight else None
        out.append(([x], y, sw))
    return out


def model_cases():
    keras = K()
    out = []

    name = "model_gru_dense"
    out.append(run_case(name, "GRU(4) -> Dense(3) logits, sparse CE from_logits, Adam(0.01)",
                        lambda: keras.Model(*_chain((T, D), L().GRU(U), L().Dense(C))),
                        sce_logits, adam(0.01), seq_batches(name, target=sparse_labels)))
    name = "model_gru_reset_after_false"
    out.append(run_case(name, "GRU(4, reset_after=False) -> Dense(3) logits, sparse CE from_logits, Adam(0.01)",
                        lambda: keras.Model(*_chain((T, D), L().GRU(U, reset_after=False), L().Dense(C))),
                        sce_logits, adam(0.01), seq_batches(name, target=sparse_labels)))
    name = "model_simple_rnn"
    out.append(run_case(name, "SimpleRNN(4) -> Dense(3) logits, sparse CE from_logits, SGD(0.1)",
                        lambda: keras.Model(*_chain((T, D), L().SimpleRNN(U), L().Dense(C))),
                        sce_logits, sgd(0.1), seq_batches(name, target=sparse_labels)))
    name = "model_bidirectional_lstm"
    out.append(run_case(name, "Bidirectional(LSTM(3)) (concat) -> Dense(3) logits, sparse CE from_logits, "
                        "Adam(0.01)",
                        lambda: keras.Model(*_chain((T, D), L().Bidirectional(L().LSTM(3)), L().Dense(C))),
                        sce_logits, adam(0.01), seq_batches(name, target=sparse_labels)))
    name = "model_stacked"
    out.append(run_case(name, "LSTM(4, return_sequences) -> GRU(4, return_sequences) -> SimpleRNN(3) -> "
                        "Dense(3) logits, sparse CE from_logits, RMSprop(0.01)",
                        lambda: keras.Model(*_chain((T, D), L().LSTM(U, return_sequences=True),
                                                    L().GRU(U, return_sequences=True), L().SimpleRNN(3),
                                                    L().Dense(C))),
                        sce_logits, lambda: keras.optimizers.RMSprop(0.01),
                        seq_batches(name, target=sparse_labels)))
    name = "model_masked_sequence"
    out.append(run_case(name, "Masking(0) -> LSTM(4, return_sequences) -> Dense(3) logits per step, "
                        "sparse CE from_logits over (B,T) labels; padded steps are masked out of the loss "
                        "(Keras 3 divides by the number of valid steps), Adam(0.01)",
                        lambda: keras.Model(*_chain((T, D), L().Masking(0.0), L().LSTM(U, return_sequences=True),
                                                    L().Dense(C))),
                        sce_logits, adam(0.01), masked_batches(name)))
    name = "model_masked_sequence_sample_weight"
    out.append(run_case(name, "as model_masked_sequence with per-step sample weights (B,T), SGD(0.1)",
                        lambda: keras.Model(*_chain((T, D), L().Masking(0.0), L().LSTM(U, return_sequences=True),
                                                    L().Dense(C))),
                        sce_logits, sgd(0.1), masked_batches(name, sample_weight=True)))

    def embed_build():
        i = keras.Input((T,), dtype="int32")
        h = L().Embedding(7, 3, mask_zero=True)(i)
        h = L().GRU(U, return_sequences=True)(h)
        return keras.Model(i, L().Dense(C)(h))
    name = "model_embedding_mask_zero_gru_sequence"
    # SGD, not Adam: on the TF backend the Embedding gradient is a tf.IndexedSlices with one
    # slice per occurrence of an id, and Keras' Adam/RMSprop/Adagrad square those slices
    # before summing duplicates (v += (1-beta_2) * sum_j g_j^2, not (sum_j g_j)^2), so with
    # ids repeated in a batch their update differs from the dense math of the JAX/torch
    # backends. SGD is linear in the gradient and the same on every backend.
    out.append(run_case(name, "Embedding(7, 3, mask_zero) -> GRU(4, return_sequences) -> Dense(3) logits "
                        "per step, sparse CE from_logits, masked, SGD(0.1)",
                        embed_build, sce_logits, sgd(0.1), masked_batches(name, vocab=7),
                        notes="SGD on purpose: Keras-TF's sparse (IndexedSlices) Embedding gradients "
                              "make Adam-type optimizers differ from dense math when ids repeat"))

    def encdec_build():
        ei = keras.Input((T, D), name="encoder_in")
        di = keras.Input((4, 2), name="decoder_in")
        _, h, c = L().LSTM(U, return_state=True, name="encoder")(ei)
        s = L().LSTM(U, return_sequences=True, name="decoder")(di, initial_state=[h, c])
        return keras.Model([ei, di], L().Dense(C, name="head")(s))
    name = "model_encoder_decoder"
    rng = rng_for(FAMILY + "/" + name + "/data")
    batches = [([randn(rng, (B, T, D)), randn(rng, (B, 4, 2))], rng.randint(0, C, size=(B, 4)).astype(np.int32),
                None) for _ in range(STEPS)]
    out.append(run_case(name, "encoder LSTM(4, return_state) -> [h, c] as initial_state of decoder "
                        "LSTM(4, return_sequences) -> Dense(3) logits per step, sparse CE from_logits, Adam(0.01)",
                        encdec_build, sce_logits, adam(0.01), batches))
    return out


def _chain(input_shape, *layers):
    i = K().Input(input_shape)
    h = i
    for layer in layers:
        h = layer(h)
    return i, h


def dropout_cases():
    name = "dropout_lstm_injected"
    rng = rng_for(FAMILY + "/" + name + "/masks")
    masks = []
    for _ in range(STEPS):
        # implementation 1 (forced by recurrent_dropout): 4 input + 4 recurrent masks, gate order i, f, c, o
        masks.append({"input": [R.draw_dropout(rng, (B, D), 0.3) for _ in range(4)],
                      "recurrent": [R.draw_dropout(rng, (B, U), 0.25) for _ in range(4)]})

    def build():
        return K().Model(*_chain((T, D), L().LSTM(U, dropout=0.3, recurrent_dropout=0.25, name="lstm"),
                                 L().Dense(C)))
    return [run_case(name, "LSTM(4, dropout=0.3, recurrent_dropout=0.25) -> Dense(3) logits, sparse CE "
                     "from_logits, Adam(0.01); Keras' per-gate masks injected every step (recorded)",
                     build, sce_logits, adam(0.01), seq_batches(name, target=sparse_labels),
                     dropout=("lstm", masks))]


def fit_case():
    """model.fit(batch_size=4, epochs=3, shuffle=False) on 10 samples: batches 4, 4, 2."""
    keras = K()
    name = "fit_epochs_partial_batch"
    R.clear("k3")
    R.set_seed("k3", case_seed(FAMILY + "/" + name))
    rng = rng_for(FAMILY + "/" + name + "/weights")
    model = lstm_dense()()
    model.set_weights([f32(rng.uniform(-0.5, 0.5, size=w.shape)) for w in model.get_weights()])
    opt = keras.optimizers.Adam(0.01)
    loss = sce_logits()
    model.compile(optimizer=opt, loss=loss)
    drng = rng_for(FAMILY + "/" + name + "/data")
    n, batch_size, epochs = 10, 4, 3
    x = randn(drng, (n, T, D))
    y = drng.randint(0, C, size=(n,)).astype(np.int32)

    g = TrainingGolden(name, "LSTM(4) -> Dense(3) logits, sparse CE from_logits, Adam(0.01); "
                       "model.fit(x, y, batch_size=4, epochs=3, shuffle=False) on 10 samples (batches of "
                       "4, 4, 2); the epoch loss is the batch losses' mean weighted by batch size")
    g.doc["model"] = R.model_json(model)
    w0 = np_weights(model)
    g.doc["num_weights"] = len(w0)
    g.doc["weight_names"] = [w.path for w in model.weights]
    g.put_list("w", w0)
    g.doc["optimizer"] = keras.optimizers.serialize(opt)
    g.doc["loss"] = keras.losses.serialize(loss)
    g.doc["class_weight"] = None
    loss0, reg0, grads, _ = step0_grads(model, [x[:batch_size]], y[:batch_size], None)
    g.doc["grads_step0_sample_weight"] = None
    g.doc["step0_loss"] = loss0
    g.doc["step0_regularization_loss"] = reg0
    g.doc["grads_step0"] = g.put_list("g", grads)

    epoch_weights = []

    class Rec(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            epoch_weights.append(np_weights(self.model))

    hist = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, callbacks=[Rec()])
    g.doc["fit"] = {
        "x": g.put("fit_x", x), "y": g.put("fit_y", y), "batch_size": batch_size, "epochs": epochs,
        "shuffle": False, "epoch_losses": [float(v) for v in hist.history["loss"]],
        "weights_after_epoch": [g.put("e%d" % i, np.stack([ws[i] for ws in epoch_weights]))
                                for i in range(len(w0))],
    }
    # A manual replay with train_on_batch gives the same epoch means (Keras' epoch loss is
    # the batch-size-weighted mean of the batch losses).
    model2 = lstm_dense()()
    model2.set_weights(w0)
    model2.compile(optimizer=keras.optimizers.Adam(0.01), loss=sce_logits())
    for e in range(epochs):
        tot = 0.0
        for s in range(0, n, batch_size):
            tot += float(model2.train_on_batch(x[s:s + batch_size], y[s:s + batch_size])) * len(y[s:s + batch_size])
        close(tot / n, hist.history["loss"][e], name + " epoch %d mean" % e, tol=1e-5)
    return [g]


def training_cases():
    out = []
    out += optimizer_cases()
    out += regularizer_constraint_cases()
    out += loss_cases()
    out += model_cases()
    out += dropout_cases()
    out += fit_case()
    from . import embedding_training_cases  # noqa: E402 (it imports this module)
    out += embedding_training_cases.embedding_cases()
    from . import conv1d_training_cases  # noqa: E402 (it imports this module)
    out += conv1d_training_cases.cases()
    from . import normalization_training_cases  # noqa: E402 (it imports this module)
    out += normalization_training_cases.cases()
    from . import conv2d_training_cases  # noqa: E402 (it imports this module)
    out += conv2d_training_cases.cases()
    from . import conv_lstm_training_cases  # noqa: E402 (it imports this module)
    out += conv_lstm_training_cases.cases()
    from . import attention_training_cases  # noqa: E402 (it imports this module)
    out += attention_training_cases.cases()
    from . import composite_training_cases  # noqa: E402 (it imports this module)
    out += composite_training_cases.cases()
    return out


README = """\
# Keras training goldens (generated — do not edit by hand)

Regenerate (from the repository root; wipes and rewrites this directory only):
`KERAS_BACKEND=tensorflow /work/venv-oracle/bin/python python/make_goldens.py --only training`
(a full run without `--only` also rewrites it). Generator: python/oracle/training_cases.py.
Versions used: keras {keras}, tensorflow(-cpu) {tf}, numpy {np}; CPU only, eager, float32.
Read by tests/parity/training_parity_test.cpp.

Each case is `<case>.json` + `<case>.npz` (np.savez layout, uncompressed). JSON keys:
- `model`: model.to_json(); `keras_version`; `weight_names` (Keras variable paths,
  get_weights() order; all weights are trainable); `num_weights`; initial weights `w0..`.
- `optimizer`: keras.optimizers.serialize() (learning_rate may be a schedule dict);
  `loss`: keras.losses.serialize(), plus `loss_extra` for arguments Keras does not
  serialise (Huber's `delta`); `class_weight`: {{"label": weight}} or null.
- `grads_step0`: arrays `g0..` = d(total loss)/d(weight) at the initial weights on the
  batch of step 0 (tf.GradientTape around Keras' train_step forward + compute_loss; no
  clipping); `grads_step0_sample_weight` (null or `g_sw`: the sample weights that pass
  used, class weights already resolved); `step0_loss`, `step0_regularization_loss` (sum of
  the penalties, included in the total).
- `steps`: `count` (N) and per-step arrays stacked on a leading step axis of length N:
  `inputs` (`x0..`, one per model input, int32 for Embedding ids), `y` (int32 for sparse
  labels), `sample_weight` (`sw` or null), `dropout_masks` (null, or {{"input": [dm0..],
  "recurrent": [drm0..]}} injected into the layer named `dropout_layer`, one mask per gate
  in gate order when `dropout_mask_per_gate`), `losses` (N numbers: what
  model.train_on_batch returned, the total loss before that step's update),
  `weights_after` (`t0..`, weight i after each step).
- `fit` (fit_* cases only, no `steps`): `x`, `y`, `batch_size`, `epochs`, `shuffle`
  (false), `epoch_losses` (history["loss"]), `weights_after_epoch` (`e0..`, stacked on
  a leading epoch axis); `grads_step0` there is on the first `batch_size` samples.

Embedding weights with repeated ids (`embed_*`, python/oracle/embedding_training_cases.py):
on the TF backend the Embedding gradient is a tf.IndexedSlices with one row per looked-up
token, and Keras' Adam/AdamW/RMSprop/Adagrad square the rows before duplicates are summed
(v gets sum_j g_j^2, not (sum_j g_j)^2); clipnorm / global_clipnorm take the norm over the
rows and clipvalue clips each row (global_clipnorm's `v * scale` then densifies the
gradient). rnnx follows this by default (RowGradients::tensorflow);
the dense math of the JAX/torch backends is RowGradients::dense. With an
embeddings_regularizer TensorFlow densifies the gradient (`embed_adam_l2`).
"""


def write_readme(root, np_version):
    with open(os.path.join(root, "README.md"), "w") as f:
        f.write(README.format(keras=VERSIONS["keras"], tf=VERSIONS["tensorflow"], np=np_version))
