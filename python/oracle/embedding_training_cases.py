"""Training goldens of Embedding weights with repeated token ids, for every optimizer and
clipping option (part of the `training` family; training_cases.training_cases() adds them).

On the TensorFlow backend the Embedding gradient reaches the optimizer as a tf.IndexedSlices
with one row per looked-up token; repeated ids are not summed first (keras/src/backend/
tensorflow/optimizer.py, sparse.py, numpy.py; tf.clip_by_norm / tf.clip_by_value):
  - where Keras squares the gradient (Adam/AdamW velocity, RMSprop velocity, Adagrad
    accumulator), each row is squared and the squares summed: g1^2 + g2^2, not (g1 + g2)^2;
  - clipnorm / global_clipnorm take the norm over the unsummed rows, and clipvalue clips
    each row on its own; global_clipnorm then scales with `v * scale`, which turns the
    slices into a dense tensor (rows summed), so its update is the dense one;
  - everything linear in the gradient (SGD, Adam's m, ...) sees the summed rows, and every
    moment is updated densely (rows of ids not looked up still decay).
An embeddings_regularizer adds a dense gradient, and TensorFlow then sums everything into a
dense tensor (the `embed_adam_l2` case). Every batch here repeats ids within and across
sequences, and holds id 0.
"""
import numpy as np

from . import training_cases as TC
from .common import rng_for

VOCAB = 6  # ids 0..5 over B*T = 20 positions: every batch repeats ids


def _batches(name):
    rng = rng_for(TC.FAMILY + "/" + name + "/data")
    out = []
    for _ in range(TC.STEPS):
        x = rng.randint(0, VOCAB, size=(TC.B, TC.T)).astype(np.int32)
        x[0, :2] = 2  # a repeat within one sequence in every batch
        x[1, -1] = 0
        assert len(np.unique(x)) < x.size
        out.append(([x], TC.sparse_labels(rng, TC.B), None))
    return out


def _build(mask_zero=False, regularizer=None):
    def build():
        keras = TC.K()
        i = keras.Input((TC.T,), dtype="int32")
        h = TC.L().Embedding(VOCAB, 3, mask_zero=mask_zero, embeddings_regularizer=regularizer)(i)
        h = TC.L().GRU(TC.U)(h)
        return keras.Model(i, TC.L().Dense(TC.C)(h))
    return build


def embedding_cases():
    ko = lambda: TC.K().optimizers  # noqa: E731
    specs = [  # (name, description, optimizer factory, check, build kwargs)
        ("embed_sgd", "SGD(0.1)", TC.sgd(0.1), None, {}),
        ("embed_sgd_momentum", "SGD(0.05, momentum=0.9)", TC.sgd(0.05, momentum=0.9), None, {}),
        ("embed_adam", "Adam(0.01)", TC.adam(0.01), None, {}),
        ("embed_adam_amsgrad", "Adam(0.01, amsgrad=True)", TC.adam(0.01, amsgrad=True), None, {}),
        ("embed_adam_mask_zero", "Adam(0.01), Embedding(mask_zero=True)", TC.adam(0.01), None,
         {"mask_zero": True}),
        ("embed_adamw", "AdamW(0.01, weight_decay=0.05)",
         lambda: ko().AdamW(learning_rate=0.01, weight_decay=0.05), None, {}),
        ("embed_rmsprop", "RMSprop(0.01)", lambda: ko().RMSprop(learning_rate=0.01), None, {}),
        ("embed_rmsprop_centered_momentum", "RMSprop(0.01, momentum=0.5, centered=True)",
         lambda: ko().RMSprop(learning_rate=0.01, momentum=0.5, centered=True), None, {}),
        ("embed_adagrad", "Adagrad(0.1)", lambda: ko().Adagrad(learning_rate=0.1), None, {}),
        ("embed_sgd_clipnorm", "SGD(0.5, clipnorm=0.05)", TC.sgd(0.5, clipnorm=0.05), TC.check_clipnorm(0.05), {}),
        ("embed_adam_clipnorm", "Adam(0.01, clipnorm=0.05)", TC.adam(0.01, clipnorm=0.05), TC.check_clipnorm(0.05),
         {}),
        ("embed_adam_global_clipnorm", "Adam(0.01, global_clipnorm=0.1)", TC.adam(0.01, global_clipnorm=0.1),
         TC.check_global_clipnorm(0.1), {}),
        ("embed_sgd_global_clipnorm", "SGD(0.5, global_clipnorm=0.1)", TC.sgd(0.5, global_clipnorm=0.1),
         TC.check_global_clipnorm(0.1), {}),
        ("embed_adam_clipvalue", "Adam(0.01, clipvalue=0.01) (each row clipped on its own)",
         TC.adam(0.01, clipvalue=0.01), None, {}),
        ("embed_adam_l2", "Adam(0.01), embeddings_regularizer L2(0.01) (TensorFlow densifies the gradient)",
         TC.adam(0.01), None, {"regularizer": "l2_obj"}),
    ]
    out = []
    for name, what, opt, check, kw in specs:
        if kw.get("regularizer") == "l2_obj":
            kw = dict(kw, regularizer=TC.K().regularizers.L2(0.01))
        out.append(TC.run_case(name, "Embedding(6, 3) -> GRU(4) -> Dense(3) logits, sparse CE from_logits, repeated "
                               "ids, " + what, _build(**kw), TC.sce_logits, opt, _batches(name), check=check,
                               notes="Keras-TF IndexedSlices gradient for the embeddings (rows squared one by one)"))
    return out
