"""Check that real Keras 3 loads what `rnnx train` writes and computes the same numbers.

Usage (from the repository root):
    KERAS_BACKEND=tensorflow /work/venv-oracle/bin/python python/oracle/check_train_outputs.py \
        OUTDIR [OUTDIR ...]

Each OUTDIR is an `rnnx train -o OUTDIR` folder. Its model.keras carries an rnnx test vector
(zip member rnnx_test_vector.npz with input_0.., output_0..; see include/rnnx/io/save_model.h):
the inputs and the outputs rnnx computed for them with the trained weights. For every folder
this script:
  1. loads OUTDIR/model.keras with keras.saving.load_model (compile=False; Keras ignores the
     extra member),
  2. runs the test vector's inputs through the model (inference),
  3. compares every output with the stored one: worst absolute and relative error, pass when
     numpy.allclose(got, expected, atol=1e-5, rtol=1e-4),
  4. checks that Keras' own re-serialisation (model.to_json()) names the same layer classes as
     the file's config.json (the config round-trips).
It prints one row per folder and a summary, and exits 1 if any folder fails.
"""
import io
import json
import os
import sys
import zipfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ATOL = 1e-5
RTOL = 1e-4


def layer_classes(config):
    """Class names of a model config's layers, nested layers and cells included."""
    out = []

    def walk(entry):
        if isinstance(entry, dict):
            cn = entry.get("class_name")
            if isinstance(cn, str) and cn not in ("__keras_tensor__", "DTypePolicy") and "module" in entry:
                mod = entry.get("module") or ""
                if mod.startswith("keras.layers") or cn in ("Sequential", "Functional"):
                    out.append(cn)
            for v in entry.values():
                walk(v)
        elif isinstance(entry, list):
            for v in entry:
                walk(v)

    walk(config.get("config", {}).get("layers", []))
    return sorted(c for c in out if c not in ("NotEqual", "Any"))


def check_dir(keras, outdir):
    path = os.path.join(outdir, "model.keras")
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
        if "rnnx_test_vector.npz" not in z.namelist():
            raise RuntimeError("model.keras has no rnnx_test_vector.npz member")
        tv = np.load(io.BytesIO(z.read("rnnx_test_vector.npz")))
        tv = {k: tv[k] for k in tv.files}
    inputs = [tv[f"input_{i}"] for i in range(len(tv)) if f"input_{i}" in tv]
    expected = [tv[f"output_{i}"] for i in range(len(tv)) if f"output_{i}" in tv]
    model = keras.saving.load_model(path, compile=False)
    # The test vector is flat (keras.tree.flatten order): a single input is fed as it is,
    # several are packed into the (functional) model's input structure.
    if len(inputs) == 1:
        feed = inputs[0]
    else:
        feed = keras.tree.pack_sequence_as(model._inputs_struct, inputs)
    got = [np.asarray(g) for g in keras.tree.flatten(model(feed, training=False))]
    problems = []
    if len(got) != len(expected):
        problems.append(f"{len(got)} outputs, test vector has {len(expected)}")
    max_abs = 0.0
    max_rel = 0.0
    close = True
    for i, (g, e) in enumerate(zip(got, expected)):
        if g.shape != e.shape:
            problems.append(f"output_{i}: shape {g.shape}, expected {e.shape}")
            close = False
            continue
        err = np.abs(g.astype(np.float64) - e.astype(np.float64))
        nz = np.abs(e) > 0
        if err.size:
            max_abs = max(max_abs, float(err.max()))
        if nz.any():
            max_rel = max(max_rel, float((err[nz] / np.abs(e[nz])).max()))
        if not np.allclose(g, e, atol=ATOL, rtol=RTOL):
            close = False
            idx = np.unravel_index(int(np.argmax(err)), err.shape)
            problems.append(f"output_{i}: worst at {idx}: keras {g[idx]!r}, rnnx {e[idx]!r}")
    file_classes = layer_classes(config)
    keras_classes = layer_classes(json.loads(model.to_json()))
    if file_classes != keras_classes:
        problems.append(f"layer classes differ: file {file_classes}, keras {keras_classes}")
    return {
        "dir": outdir,
        "passed": close and not problems,
        "max_abs": max_abs,
        "max_rel": max_rel,
        "shapes": " ".join(f"{tuple(x.shape)}->{tuple(y.shape)}" for x, y in zip(inputs, expected)),
        "classes": keras_classes,
        "params": int(model.count_params()),
        "problems": problems,
    }


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    import keras
    import tensorflow as tf

    results = []
    for outdir in argv[1:]:
        try:
            results.append(check_dir(keras, outdir))
        except Exception as e:  # a file Keras cannot load is a failure, reported as such
            msg = f"{type(e).__name__}: {e}".strip().splitlines()
            results.append({"dir": outdir, "passed": False, "problems": [" | ".join(msg)[:600]]})
    print(f"keras {keras.__version__}, tensorflow {tf.__version__}, numpy {np.__version__}, "
          f"backend {keras.backend.backend()}; pass: allclose(atol={ATOL}, rtol={RTOL})")
    for r in results:
        if "max_abs" in r:
            print(f"{'PASS' if r['passed'] else 'FAIL'}  {r['dir']}: max abs {r['max_abs']:.3g}, "
                  f"max rel {r['max_rel']:.3g}, {r['shapes']}, {r['params']} params, "
                  f"layers {', '.join(r['classes'])}")
        else:
            print(f"FAIL  {r['dir']}: not loaded")
        for p in r["problems"]:
            print(f"      {p}")
    n_pass = sum(r["passed"] for r in results)
    print(f"summary: {n_pass}/{len(results)} passed")
    return 0 if n_pass == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
