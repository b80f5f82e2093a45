#!/usr/bin/env python3
"""The Keras twin of fashion_mnist_bench (same data scaling, model, optimizer, batch size,
validation on the test set), printing the same per-epoch line, for comparison.

Usage: KERAS_BACKEND=tensorflow python keras_reference.py [--data DIR] [--epochs N]
           [--batch-size N] [--lr X] [--train-limit N] [--test-limit N] [--seed N]
"""
import argparse
import gzip
import os
import struct
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402


def read_idx(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, path
    shape = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(shape)


def find(d, stem):
    for p in (os.path.join(d, stem), os.path.join(d, stem + ".gz")):
        if os.path.exists(p):
            return p
    raise SystemExit("missing %s/%s[.gz]" % (d, stem))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--train-limit", type=int, default=0)
    ap.add_argument("--test-limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    import keras

    def split(prefix, limit):
        x = read_idx(find(a.data, prefix + "-images-idx3-ubyte")).astype("float32") / 255.0
        y = read_idx(find(a.data, prefix + "-labels-idx1-ubyte")).astype("int32")
        return (x[:limit], y[:limit]) if limit > 0 else (x, y)

    xtr, ytr = split("train", a.train_limit)
    xte, yte = split("t10k", a.test_limit)
    keras.utils.set_random_seed(a.seed)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.LSTM(128), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(a.lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])

    class Report(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.time()

        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.c0 = time.time(), time.process_time()

        def on_test_begin(self, logs=None):
            self.t1, self.c1 = time.time(), time.process_time()

        def on_test_end(self, logs=None):
            self.t2 = time.time()

        def on_epoch_end(self, epoch, logs=None):
            print("epoch %2d  loss %.4f  acc %.4f  test_loss %.4f  test_acc %.4f  train %.1f s (cpu %.1f s)  "
                  "eval %.1f s  (total %.1f s)" % (
                      epoch + 1, logs["loss"], logs["accuracy"], logs["val_loss"], logs["val_accuracy"],
                      self.t1 - self.t0, self.c1 - self.c0, self.t2 - self.t1, time.time() - self.start),
                  flush=True)

    print("keras %s: LSTM(128) -> Dense(10), Adam(lr=%g), batch %d, %d epochs" % (
        keras.__version__, a.lr, a.batch_size, a.epochs), flush=True)
    model.fit(xtr, ytr, batch_size=a.batch_size, epochs=a.epochs, validation_data=(xte, yte),
              validation_batch_size=1000, verbose=0, callbacks=[Report()])


if __name__ == "__main__":
    main()
