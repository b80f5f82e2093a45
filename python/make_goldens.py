#!/usr/bin/env python3
"""Keras "oracle" golden generator for rnnx.

Builds layers/models with real Keras 3 (TensorFlow backend) and tf_keras 2.x,
sets deterministic weights, runs them eagerly on deterministic inputs and writes
tests/data/parity/<family>/<case>.{json,npz}. The output directory is wiped first.

Usage (from the repository root):
    KERAS_BACKEND=tensorflow /work/venv-oracle/bin/python python/make_goldens.py
Options:
    --out DIR          output directory (default: tests/data/parity next to this script's repo)
    --training-out DIR output directory of the `training` family (default: tests/data/training)
    --files-out DIR    output directory of the `files` family (default: tests/data/files)
    --only FAM[,FAM]   only generate these families (does NOT wipe the other families)
                       (`struct_files`: only the nested input/output model files of
                       python/oracle/struct_file_cases.py, written into --files-out without
                       wiping it; `files` writes them too)
The `training` family (python/oracle/training_cases.py) writes its own folder, flat,
with its own README.md; so does the `files` family (python/oracle/file_cases.py: Keras
model files, --files-out DIR, default tests/data/files); every other family writes
<out>/<family>/.
"""
import argparse
import os
import shutil
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")      # CPU only: no cuDNN code paths
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")    # stable CPU numerics
os.environ.setdefault("PYTHONHASHSEED", "0")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
REPO = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "data", "parity"))
    ap.add_argument("--training-out", default=os.path.join(REPO, "tests", "data", "training"))
    ap.add_argument("--files-out", default=os.path.join(REPO, "tests", "data", "files"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()

    if os.environ.get("KERAS_BACKEND") != "tensorflow":
        sys.exit("KERAS_BACKEND must be 'tensorflow'")

    import logging
    import warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import tensorflow as tf
    tf.get_logger().setLevel(logging.ERROR)
    import keras
    import tf_keras
    import h5py  # noqa: F401  (pinned in requirements; imported to fail early)

    assert keras.backend.backend() == "tensorflow", keras.backend.backend()
    tf.config.run_functions_eagerly(True)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    from oracle import common, runner
    from oracle import k3_rnn, k3_models, tfk_cases, training_cases
    from oracle import file_cases, struct_file_cases
    from oracle import shared_object_cases
    from oracle import time_major_cases
    from oracle import plumbing_cases
    from oracle import conv1d_cases
    common.VERSIONS.update(keras=keras.__version__, tensorflow=tf.__version__,
                           tf_keras=tf_keras.__version__)
    runner.init_libs(keras, tf, tf_keras)

    families = [
        ("seed", k3_rnn.seed_cases),
        ("lstm", k3_rnn.lstm_cases),
        ("gru", k3_rnn.gru_cases),
        ("simple_rnn", k3_rnn.simple_rnn_cases),
        ("keras2", tfk_cases.keras2_cases),
        ("dropout", lambda: k3_rnn.dropout_cases() + tfk_cases.tfk_dropout_cases()),
        ("bidirectional", k3_rnn.bidirectional_cases),
        ("stacked", k3_rnn.stacked_cases),
        ("wrappers", k3_models.wrappers_cases),
        ("models", k3_models.models_cases),
        ("custom_cell", tfk_cases.custom_cell_cases),
        ("tf1", tfk_cases.tf1_cases),
        ("time_major", time_major_cases.time_major_cases),
        (plumbing_cases.FAMILY, lambda: plumbing_cases.plumbing_cases(out_root)),
        (conv1d_cases.FAMILY, conv1d_cases.conv1d_cases),
        ("conv2d", lambda: __import__("oracle.conv2d_cases", fromlist=["x"]).conv2d_cases()),
        ("conv_lstm", lambda: __import__("oracle.conv_lstm_cases", fromlist=["x"]).conv_lstm_cases(out_root)),
        ("normalization", lambda: __import__("oracle.normalization_cases", fromlist=["x"]).normalization_cases()),
        ("attention", lambda: __import__("oracle.attention_cases", fromlist=["x"]).attention_cases(out_root)),
        ("issue9_files", lambda: __import__("oracle.issue9_file_cases", fromlist=["x"]).issue9_file_cases()),
        (training_cases.FAMILY, training_cases.training_cases),
        (file_cases.FAMILY, None),  # writes model files, not Golden cases (below)
        ("struct_files", None),  # a part of `files` that can be rewritten alone (below)
        ("shared_objects", None),  # a part of `files`: shared_object_cases.py (below)
    ]
    only = [f for f in args.only.split(",") if f]
    unknown = set(only) - {f for f, _ in families}
    if unknown:
        sys.exit("unknown families: %s" % sorted(unknown))

    out_root = os.path.abspath(args.out)
    training_root = os.path.abspath(args.training_out)
    if only:
        for f in only:
            if f not in (training_cases.FAMILY, file_cases.FAMILY, "struct_files", "shared_objects"):
                shutil.rmtree(os.path.join(out_root, f), ignore_errors=True)
    else:
        shutil.rmtree(out_root, ignore_errors=True)
    if not only or training_cases.FAMILY in only:
        shutil.rmtree(training_root, ignore_errors=True)
        os.makedirs(training_root, exist_ok=True)
        training_cases.write_readme(training_root, np.__version__)
    os.makedirs(out_root, exist_ok=True)

    t0 = time.time()
    counts = {}
    for fam, fn in families:
        if only and fam not in only:
            continue
        t = time.time()
        if fam == file_cases.FAMILY:
            files_root = os.path.abspath(args.files_out)
            shutil.rmtree(files_root, ignore_errors=True)
            counts[fam] = file_cases.generate(files_root, dict(common.VERSIONS))
            print("%-14s %4d files  %6.1fs" % (fam, counts[fam], time.time() - t), flush=True)
            continue
        if fam == "shared_objects":
            if only:  # else written by the `files` family
                counts[fam] = shared_object_cases.generate(os.path.abspath(args.files_out), dict(common.VERSIONS))
            continue
        if fam == "struct_files":
            if not only:
                continue  # written by the `files` family
            counts[fam] = struct_file_cases.generate(os.path.abspath(args.files_out), dict(common.VERSIONS))
            print("%-14s %4d files  %6.1fs" % (fam, counts[fam], time.time() - t), flush=True)
            continue
        goldens = fn()
        names = set()
        for g in goldens:
            assert g.family == fam, (g.family, fam)
            assert g.case not in names, "duplicate case %s/%s" % (fam, g.case)
            names.add(g.case)
            g.write(training_root if fam == training_cases.FAMILY else out_root)
        counts[fam] = len(goldens)
        print("%-14s %4d cases  %6.1fs" % (fam, len(goldens), time.time() - t), flush=True)

    if not only:
        write_readme(out_root, keras.__version__, tf.__version__, tf_keras.__version__,
                     np.__version__)
    print("total          %4d cases  %6.1fs" % (sum(counts.values()), time.time() - t0))


README = """\
# Keras parity goldens (generated — do not edit by hand)

Regenerate (from the repository root; wipes and rewrites this directory):
`KERAS_BACKEND=tensorflow /work/venv-oracle/bin/python python/make_goldens.py`
(venv built from `python/requirements-oracle.txt`). Versions used: keras {keras},
tensorflow(-cpu) {tf}, tf_keras {tfk}, numpy {np}; CPU only (no cuDNN paths), eager.

Each case is `<family>/<case>.json` (description, layer/model config, calls) plus
`<family>/<case>.npz` (np.savez layout, uncompressed; weights `w0..wN-1` in
`get_weights()` order, per call `cI_x*` inputs, `cI_mask` (uint8), `cI_s*` initial
states, `cI_k*` constants, `cI_dm*`/`cI_drm*` dropout masks, `cI_y*` outputs).
Extra top-level JSON keys: `implementation` (LSTM/GRU cell value; Keras 3 does not
serialise it), `dropout_mask_per_gate` (masks listed in gate order: LSTM i,f,c,o /
GRU z,r,h), `weight_names` (tf1), `notes`.

custom_cell family (tf_keras `RNN(cell, ...)`, cell state_size = units, state `[h]`,
output `h`):
- `MinimalConstantsCell(units)`: weights `kernel (D,U)`, `recurrent_kernel (U,U)`,
  `constant_kernel (C,U)`; `h = tanh(x @ kernel + h_prev @ recurrent_kernel + c @ constant_kernel)`
  where `c` is the single constants tensor `(B,C)` passed as `constants=[c]`.
- `MinimalCell(units)`: weights `kernel`, `recurrent_kernel`;
  `h = tanh(x @ kernel + h_prev @ recurrent_kernel)`.

tf1 family: tf_keras `legacy_cells.BasicLSTMCell` / `LSTMCell` (what
`tf.compat.v1.nn.rnn_cell.*` resolves to under legacy Keras), stepped in Python from the
zero state; outputs = [sequence `(B,T,out)`, final `c`, final `h`].

time_major family: tf_keras layers with `time_major=True` (python/oracle/time_major_cases.py):
inputs `cI_x0` are `(T,B,D)`, masks `cI_mask` `(T,B)`, sequence outputs `(T,B,U)`, the
whole-sequence input dropout mask `cI_dm0` of the cuDNN-capable LSTM path `(T,B,D)`;
states and initial states stay `(B,U)`.

plumbing family (python/oracle/plumbing_cases.py): models run in inference; most cases
also carry Keras' gradients of `L = sum_k <r_k, y_k> + sum(model.losses)` under the JSON
key `grads` (`r`: `gr*`, per input `gx*`, per weight `gw*` in get_weights() order), and the
composite models and a Lambda model are saved next to them as Keras 3 `.keras` files.
"""


def write_readme(root, k, t, tfk, np_version):
    with open(os.path.join(root, "README.md"), "w") as f:
        f.write(README.format(keras=k, tf=t, tfk=tfk, np=np_version))


if __name__ == "__main__":
    main()
