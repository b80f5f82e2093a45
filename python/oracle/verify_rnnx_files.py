"""Load rnnx-written .keras files in real Keras 3 and check their predictions.

Usage (from the repository root):
    KERAS_BACKEND=tensorflow /work/venv-oracle/bin/python python/oracle/verify_rnnx_files.py \
        [DIR]   # default tests/data/rnnx_written

Each file must carry an rnnx test vector (zip member rnnx_test_vector.npz with input_0..,
output_0..; see include/rnnx/io/save_model.h). For every file this script:
  1. loads it with keras.models.load_model (Keras ignores the extra member),
  2. runs the test vector's inputs through the model (inference),
  3. compares each output with the expected one: worst absolute and relative error, and
     numpy.allclose(got, expected, atol=1e-5, rtol=1e-4),
  4. reloads the model's config.json from the archive and checks that Keras' own
     re-serialisation names the same layer classes (the config round-trips).
It writes DIR/VERIFIED.md with one row per file and exits 1 if any file fails.
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
                if mod.startswith("keras.layers") or mod.startswith("keras.src.ops"):
                    out.append(cn)
                elif cn in ("Sequential", "Functional"):  # a nested model
                    out.append(cn)
            for v in entry.values():
                walk(v)
        elif isinstance(entry, list):
            for v in entry:
                walk(v)

    walk(config.get("config", {}).get("layers", []))
    return out


def check_file(keras, path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        config = json.loads(z.read("config.json"))
        meta = json.loads(z.read("metadata.json"))
        tv = np.load(io.BytesIO(z.read("rnnx_test_vector.npz")))
    inputs = [tv[f"input_{i}"] for i in range(len(tv.files)) if f"input_{i}" in tv.files]
    expected = [tv[f"output_{i}"] for i in range(len(tv.files)) if f"output_{i}" in tv.files]
    model = keras.models.load_model(path, compile=False)
    # The test vector is flat (keras.tree.flatten order); nested / dict inputs and outputs
    # are packed into and flattened from the model's structure.
    feed = keras.tree.pack_sequence_as(model._inputs_struct, inputs)
    got = [np.asarray(g) for g in keras.tree.flatten(model(feed, training=False))]
    rows = []
    ok = len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        if g.shape != e.shape:
            rows.append((i, e.shape, float("inf"), float("inf"), False))
            ok = False
            continue
        err = np.abs(g.astype(np.float64) - e.astype(np.float64))
        nz = np.abs(e) > 0
        rel = float((err[nz] / np.abs(e[nz])).max()) if nz.any() else 0.0
        passed = bool(np.allclose(g, e, atol=ATOL, rtol=RTOL))
        rows.append((i, e.shape, float(err.max()) if err.size else 0.0, rel, passed))
        ok = ok and passed
    # Keras' own serialisation of the loaded model names the same layer classes.
    again = json.loads(model.to_json())
    # Keras 3's recorded mask operations, not layers (ConvertToTensor: the mask MultiHeadAttention
    # passes on, recorded when a later layer receives it).
    mask_ops = ("NotEqual", "Any", "LogicalOr", "ConvertToTensor")
    same_classes = sorted(c for c in layer_classes(config) if c not in mask_ops) == sorted(
        c for c in layer_classes(again) if c not in mask_ops)
    ok = ok and same_classes
    return {
        "file": os.path.basename(path),
        "members": names,
        "keras_version": meta.get("keras_version"),
        "classes": sorted(set(layer_classes(config))),
        "outputs": rows,
        "same_classes": same_classes,
        "passed": ok,
        "params": int(model.count_params()),
    }


def main():
    import keras
    import tensorflow as tf

    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "data", "rnnx_written")
    files = sorted(f for f in os.listdir(root) if f.endswith(".keras"))
    if not files:
        print(f"no .keras files in {root}")
        return 1
    results = []
    for f in files:
        try:
            results.append(check_file(keras, os.path.join(root, f)))
        except Exception as e:  # a file Keras cannot load is a failure, reported as such
            results.append({"file": f, "error": f"{type(e).__name__}: {e}".splitlines()[0][:200], "passed": False})
    classes = sorted({c for r in results for c in r.get("classes", [])})
    lines = [
        "# rnnx-written .keras files, checked in real Keras (generated - do not edit by hand)",
        "",
        f"Checked by `python/oracle/verify_rnnx_files.py` with keras {keras.__version__}, "
        f"tensorflow {tf.__version__}, numpy {np.__version__}, backend {keras.backend.backend()}.",
        "Each file was written by rnnx (`rnnx_write_fixtures`, see README.md) from a Keras parity golden",
        "and carries that golden's inputs and Keras outputs as its test vector; Keras loads the file",
        f"and must reproduce every output with numpy.allclose(atol={ATOL}, rtol={RTOL}).",
        "",
        f"Result: {sum(r['passed'] for r in results)} of {len(results)} files pass.",
        f"Layer classes covered: {', '.join(classes)}.",
        "",
        "| file | layer classes | params | output: shape, max abs err, max rel err | result |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['file']} | | | {r['error']} | FAILED |")
            continue
        outs = "; ".join(f"{i}: {tuple(s)}, {a:.2e}, {rl:.2e}" for i, s, a, rl, _ in r["outputs"])
        status = "ok" if r["passed"] else ("FAILED (config classes differ)" if not r["same_classes"] else "FAILED")
        lines.append(f"| {r['file']} | {', '.join(r['classes'])} | {r['params']} | {outs} | {status} |")
    with open(os.path.join(root, "VERIFIED.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for r in results:
        print(("ok     " if r["passed"] else "FAILED ") + r["file"] + ("" if "error" not in r else "  " + r["error"]))
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
