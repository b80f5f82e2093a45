#!/usr/bin/env python3
"""Keras's model.summary() rows for model files in tests/data, as a golden for `rnnx summary`.

Writes tests/data/files/summaries.json: for each file, per layer (model.layers order) the
name, class name, output shape as Keras's summary prints it, and count_params(); and the
model's total. Run from the repository root:
    KERAS_BACKEND=tensorflow /work/venv-oracle/bin/python python/oracle/summary_cases.py
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = [
    "tests/data/files/conv1d_cnn_lstm.k3.keras",
    "tests/data/files/conv1d_causal_gru.k3.keras",
    "tests/data/files/conv2d_cnn_lstm.k3.keras",
    "tests/data/files/conv2d_cnn_gru.k3.keras",
    "tests/data/parity/attention/encoder_decoder_attention.keras",
    "tests/data/parity/attention/masked_self_attention_embedding.keras",
    "tests/data/parity/attention/transformer_block_lstm.keras",
    "tests/data/parity/conv_lstm/model_conv_lstm1d_lstm.keras",
    "tests/data/parity/conv_lstm/model_next_frame.keras",
    "tests/data/parity/plumbing/gated_lstm_masked.keras",
    "tests/data/parity/plumbing/gated_lstm_multiply_subtract.keras",
    "tests/data/parity/plumbing/lstm_autoencoder.keras",
]


def shape_text(layer):
    # As keras/src/utils/summary_utils.py format_layer_shape: one tensor's shape as a tuple,
    # several as a list of tuples.
    out = layer.output
    if isinstance(out, (list, tuple)):
        return "[" + ", ".join(str(tuple(t.shape)) for t in out) + "]"
    return str(tuple(out.shape))


def main():
    import keras
    import tensorflow as tf
    cases = {}
    for rel in FILES:
        model = keras.saving.load_model(os.path.join(REPO, rel), compile=False)
        rows = [{"name": l.name, "class_name": l.__class__.__name__, "output_shape": shape_text(l),
                 "params": int(l.count_params())} for l in model.layers]
        cases[rel] = {"rows": rows, "total_params": int(model.count_params())}
    out = {"generator": "python/oracle/summary_cases.py",
           "versions": {"keras": keras.__version__, "tensorflow": tf.__version__},
           "files": cases}
    path = os.path.join(REPO, "tests", "data", "files", "summaries.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path, len(cases), "files")


if __name__ == "__main__":
    sys.exit(main())
