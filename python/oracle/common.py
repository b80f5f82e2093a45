"""Shared machinery: deterministic RNG, golden recorder, deterministic .npz writer."""
import json
import os
import zipfile
import zlib

import numpy as np

# Filled in by make_goldens.py after importing the libraries.
VERSIONS = {"keras": None, "tensorflow": None, "tf_keras": None}

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def case_seed(name):
    """Stable 32-bit seed from a case name (crc32, independent of PYTHONHASHSEED)."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def rng_for(name):
    return np.random.RandomState(case_seed(name))


def f32(a):
    return np.asarray(a, dtype=np.float32)


def uniform_like_weights(rng, shapes, scale=0.5):
    return [f32(rng.uniform(-scale, scale, size=s)) for s in shapes]


def randn(rng, shape, scale=1.0):
    return f32(rng.normal(0.0, 1.0, size=shape) * scale)


def write_npz(path, arrays):
    """Same layout as np.savez (ZIP_STORED, '<key>.npy' members, forced zip64),
    but with a fixed timestamp so that reruns are byte-identical."""
    with zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as zf:
        for key, val in arrays.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o600 << 16
            with zf.open(info, "w", force_zip64=True) as fid:
                np.lib.format.write_array(fid, np.asanyarray(val),
                                          allow_pickle=False)


def flatten(obj):
    """Flatten nested tuples/lists of tensors into a flat list (Keras return order)."""
    if isinstance(obj, (list, tuple)):
        out = []
        for o in obj:
            out.extend(flatten(o))
        return out
    if isinstance(obj, dict):
        raise TypeError("dict outputs not supported")
    return [obj]


def to_np(t):
    if hasattr(t, "numpy"):
        t = t.numpy()
    return np.asarray(t)


def mask_u8(m):
    return np.asarray(m).astype(bool).astype(np.uint8)


class Golden:
    """Collects one case and writes <case>.json / <case>.npz."""

    def __init__(self, family, case, lib):
        assert lib in ("k3", "tfk")
        self.family = family
        self.case = case
        self.lib = lib
        self.arrays = {}
        self.calls = []
        self.doc = {"case": case, "family": family}
        if lib == "k3":
            self.doc["generator"] = "keras %s / tensorflow %s" % (
                VERSIONS["keras"], VERSIONS["tensorflow"])
            self.doc["keras_version"] = VERSIONS["keras"]
        else:
            self.doc["generator"] = "tf_keras %s" % VERSIONS["tf_keras"]
            self.doc["keras_version"] = VERSIONS["tf_keras"]
        self.extra = {}

    # --- description -------------------------------------------------------
    def set_layer_json(self, layer_json):
        self.doc["kind"] = "layer"
        self.doc["layer"] = _jsonable(layer_json)

    def set_model_json(self, model_json):
        self.doc["kind"] = "model"
        self.doc["model"] = _jsonable(model_json)

    def set_weights(self, weights):
        weights = [f32(w) for w in weights]
        self.doc["num_weights"] = len(weights)
        for i, w in enumerate(weights):
            self._put("w%d" % i, w)

    # --- calls ---------------------------------------------------------------
    def add_call(self, inputs, outputs, *, mask=None, initial_state=None,
                 constants=None, dropout_masks=None, training=False,
                 reset_states_before=False):
        c = len(self.calls)
        rec = {"training": bool(training),
               "reset_states_before": bool(reset_states_before)}
        names = []
        for i, x in enumerate(inputs):
            x = np.asarray(x)
            if np.issubdtype(x.dtype, np.integer):
                x = x.astype(np.int32)
            else:
                x = f32(x)
            names.append(self._put("c%d_x%d" % (c, i), x))
        rec["inputs"] = names
        rec["mask"] = (None if mask is None
                       else self._put("c%d_mask" % c, mask_u8(mask)))
        rec["initial_state"] = (
            None if initial_state is None else
            [self._put("c%d_s%d" % (c, i), f32(s))
             for i, s in enumerate(initial_state)])
        rec["constants"] = (
            None if constants is None else
            [self._put("c%d_k%d" % (c, i), f32(k))
             for i, k in enumerate(constants)])
        if dropout_masks is None:
            rec["dropout_masks"] = None
        else:
            rec["dropout_masks"] = {
                "input": [self._put("c%d_dm%d" % (c, i), f32(m))
                          for i, m in enumerate(dropout_masks.get("input", []))],
                "recurrent": [self._put("c%d_drm%d" % (c, i), f32(m))
                              for i, m in enumerate(
                                  dropout_masks.get("recurrent", []))],
            }
        rec["outputs"] = [self._put("c%d_y%d" % (c, i), f32(to_np(y)))
                          for i, y in enumerate(flatten(outputs))]
        self.calls.append(rec)

    def note(self, key, value):
        self.extra[key] = value

    def _put(self, key, arr):
        assert key not in self.arrays, key
        arr = np.asarray(arr)
        if arr.dtype == np.float32:
            assert np.all(np.isfinite(arr)), (self.case, key)
        self.arrays[key] = arr
        return key

    def write(self, root):
        assert "kind" in self.doc and "num_weights" in self.doc, self.case
        assert self.calls, self.case
        d = os.path.join(root, self.family)
        os.makedirs(d, exist_ok=True)
        doc = dict(self.doc)
        doc["calls"] = self.calls
        doc.update(self.extra)
        text = json.dumps(doc, indent=1, sort_keys=False, allow_nan=False)
        with open(os.path.join(d, self.case + ".json"), "w") as f:
            f.write(text + "\n")
        write_npz(os.path.join(d, self.case + ".npz"), self.arrays)


def _jsonable(obj):
    """Round-trip through json to make sure the object is serialisable and to
    normalise tuples to lists / numpy scalars to python numbers."""
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError("not JSON serialisable: %r" % (o,))
    return json.loads(json.dumps(obj, default=default, allow_nan=False))
