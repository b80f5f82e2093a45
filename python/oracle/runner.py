"""Generic runners: build a layer / model, set weights, call it, record a Golden."""
import numpy as np

from .common import Golden, f32, randn, rng_for, case_seed, to_np, flatten

# Set by make_goldens.py
keras = None
tf = None
tf_keras = None


def init_libs(keras_mod, tf_mod, tfk_mod):
    global keras, tf, tf_keras
    keras, tf, tf_keras = keras_mod, tf_mod, tfk_mod


# ---------------------------------------------------------------------------
# mask patterns (B, T) -> bool
# ---------------------------------------------------------------------------
def mask_pattern(kind, B, T):
    m = np.ones((B, T), dtype=bool)
    if kind == "none":
        return m
    for b in range(B):
        if kind == "right":          # right padding, different lengths
            n = max(1, T - 1 - (b % max(1, T - 1)))
            m[b, n:] = False
        elif kind == "left":         # leading padding
            n = 1 + (b % (T - 1))
            m[b, :n] = False
        elif kind == "holes":        # mid-sequence holes, first+last valid
            for t in range(1, T - 1):
                if (t + b) % 2 == 0:
                    m[b, t] = False
        elif kind == "mixed":        # one row of each + a fully masked row
            r = b % 4
            if r == 0:
                m[b, T - 2:] = False
            elif r == 1:
                m[b, :2] = False
            elif r == 2:
                m[b, 1] = False
                m[b, T - 2] = False
            else:
                m[b, :] = False
        elif kind == "leading1":     # only the first step masked (all rows)
            m[b, 0] = False
        else:
            raise ValueError(kind)
    return m


# ---------------------------------------------------------------------------
# library abstraction
# ---------------------------------------------------------------------------
def clear(lib):
    if lib == "k3":
        keras.backend.clear_session()
    else:
        tf_keras.backend.clear_session()


def layer_json(lib, layer):
    if lib == "k3":
        return keras.saving.serialize_keras_object(layer)
    return {"class_name": layer.__class__.__name__, "config": layer.get_config()}


def model_json(model):
    import json
    return json.loads(model.to_json())


def tensor(x, dtype=None):
    return tf.convert_to_tensor(x) if dtype is None else tf.convert_to_tensor(x, dtype=dtype)


def set_seed(lib, seed):
    if lib == "k3":
        keras.utils.set_random_seed(seed)
    else:
        tf_keras.utils.set_random_seed(seed)


def reset_states(lib, layer):
    if lib == "k3":
        layer.reset_state()
    else:
        layer.reset_states()


def flat_sizes(state_size):
    if isinstance(state_size, (list, tuple)):
        out = []
        for s in state_size:
            out.extend(flat_sizes(s))
        return out
    if hasattr(state_size, "as_list"):
        return flat_sizes(state_size.as_list())
    return [int(state_size)]


def state_units(layer):
    """Flat list of state widths accepted as initial_state by this layer."""
    if hasattr(layer, "forward_layer"):
        return state_units(layer.forward_layer) + state_units(layer.backward_layer)
    return flat_sizes(layer.cell.state_size)


def nest_states(layer, flat):
    """Regroup a flat state list into what the layer's initial_state expects."""
    if hasattr(layer, "forward_layer"):
        return flat
    cell = layer.cell
    if hasattr(cell, "cells"):   # StackedRNNCells: one entry per cell
        out, i = [], 0
        for c in cell.cells:
            n = len(flat_sizes(c.state_size))
            out.append(flat[i:i + n] if n > 1 else flat[i])
            i += n
        return out
    return flat


def implementation_of(layer):
    cell = getattr(layer, "cell", None)
    if cell is not None and hasattr(cell, "implementation"):
        return int(cell.implementation)
    return None


# ---------------------------------------------------------------------------
# dropout-mask injection
# ---------------------------------------------------------------------------
def draw_dropout(rng, shape, rate):
    keep = rng.uniform(size=shape) >= rate
    return f32(keep / (1.0 - rate))


def k3_dropout_masks(cell, rng, B, D, U, ones=False):
    """Masks as Keras 3 would cache them on this cell (per-gate lists when
    cell.dropout_mask_count is set, i.e. implementation=1)."""
    count = getattr(cell, "dropout_mask_count", None)
    n = 1 if count is None else count
    res = {"input": [], "recurrent": []}
    if cell.dropout > 0:
        res["input"] = [np.ones((B, D), np.float32) if ones else draw_dropout(rng, (B, D), cell.dropout)
                        for _ in range(n)]
    if cell.recurrent_dropout > 0:
        res["recurrent"] = [np.ones((B, U), np.float32) if ones else draw_dropout(rng, (B, U), cell.recurrent_dropout)
                            for _ in range(n)]
    return res, count is not None


def k3_inject(cell, masks, per_gate):
    def conv(lst):
        if not lst:
            return None
        ts = [tensor(m) for m in lst]
        return ts if per_gate else ts[0]
    # RNN.call -> _maybe_config_dropout_masks -> cell.get_dropout_mask() returns
    # the cached self._dropout_mask when it is not None, so setting the cache
    # before the call makes Keras use our masks for every step; RNN.call clears
    # the cache after the loop.
    cell._dropout_mask = conv(masks["input"])
    cell._recurrent_dropout_mask = conv(masks["recurrent"])


class TfkMaskInjector:
    """tf_keras: replace get_(recurrent_)dropout_mask_for_cell on the cell
    instance. Masks are drawn lazily with the shape of the tensor Keras passes
    (the cuDNN-capable LSTM/GRU layer path asks for a (B,T,D) input mask!) and
    cached for the whole call."""

    def __init__(self, layer, rng, ones=False):
        self.cell, self.rng, self.ones = layer.cell, rng, ones
        self.cache = {}
        # tf_keras LSTM/GRU layers are DropoutRNNCellMixin themselves: their
        # cuDNN-capable call path asks the LAYER for a whole-sequence mask.
        for obj in (layer.cell, layer):
            if hasattr(obj, "get_dropout_mask_for_cell"):
                obj.get_dropout_mask_for_cell = self._get_in
                obj.get_recurrent_dropout_mask_for_cell = self._get_rec

    def _draw(self, key, inputs, rate, count, training):
        if rate == 0:
            return None
        if key not in self.cache:
            shape = tuple(int(s) for s in inputs.shape)
            ms = [np.ones(shape, np.float32) if self.ones else draw_dropout(self.rng, shape, rate)
                  for _ in range(count)]
            self.cache[key] = ms
        ms = [tensor(m) for m in self.cache[key]]
        return ms if count > 1 else ms[0]

    def _get_in(self, inputs, training, count=1):
        return self._draw("in", inputs, self.cell.dropout, count, training)

    def _get_rec(self, inputs, training, count=1):
        return self._draw("rec", inputs, self.cell.recurrent_dropout, count, training)


# ---------------------------------------------------------------------------
# the generic layer case
# ---------------------------------------------------------------------------
def call_layer(layer, x, mask=None, initial_state=None, constants=None, training=False):
    kw = {}
    if mask is not None:
        kw["mask"] = tensor(mask.astype(bool))
    if initial_state is not None:
        kw["initial_state"] = [tensor(s) if not isinstance(s, list) else [tensor(t) for t in s]
                               for s in nest_states(layer, initial_state)]
    if constants is not None:
        kw["constants"] = [tensor(c) for c in constants]
    if training:
        kw["training"] = True
    return layer(tensor(x), **kw)


def layer_case(family, name, make, *, lib="k3", B=3, T=5, D=4, x_scale=1.0,
               w_scale=0.5, mask=None, init_state=False, n_calls=1,
               stateful=False, init_weights=False, dropout=False,
               tfk_dropout=False, notes=None, layer_json_override=None,
               constants_dim=None, time_major=False):
    """mask: pattern name (see mask_pattern) or None.
    time_major: the layer takes (T, B, D) inputs and a (T, B) mask (tf_keras time_major=True).
    init_state: pass a random non-zero initial_state on every call.
    stateful: 3 calls, the third with reset_states_before.
    init_weights: keep the weights from the layer's own initialisers (seeded).
    dropout: K3 training=True with injected masks (sanity-checked)."""
    clear(lib)
    seed = case_seed(family + "/" + name)
    rng = rng_for(family + "/" + name)
    if init_weights:
        set_seed(lib, seed)
    layer = make()
    x_shape = (T, B, D) if time_major else (B, T, D)
    xs = [randn(rng, x_shape, x_scale)]
    consts = None
    if constants_dim is not None:
        consts = [randn(rng, (B, constants_dim))]
    if stateful:
        n_calls = 3
    for _ in range(n_calls - 1):
        xs.append(randn(rng, x_shape, x_scale))
    # build
    if consts is not None:
        layer(tensor(xs[0]), constants=[tensor(c) for c in consts])
    else:
        layer(tensor(xs[0]))
    if not init_weights:
        shapes = [w.shape for w in layer.get_weights()]
        layer.set_weights([f32(rng.uniform(-w_scale, w_scale, size=s)) for s in shapes])
    if stateful:
        reset_states(lib, layer)

    g = Golden(family, name, lib)
    g.set_layer_json(layer_json_override if layer_json_override is not None
                     else layer_json(lib, layer))
    g.set_weights(layer.get_weights())
    impl = implementation_of(layer)
    if impl is not None:
        g.note("implementation", impl)

    units = state_units(layer) if init_state else None
    m = None if mask is None else mask_pattern(mask, B, T)
    if m is not None and time_major:
        m = np.ascontiguousarray(m.T)
    for ci, x in enumerate(xs):
        st = None
        if init_state:
            st = [randn(rng, (B, u), 0.8) for u in units]
        reset_before = stateful and ci == 2
        if reset_before:
            reset_states(lib, layer)
        dmasks = None
        if dropout:
            dmasks = _k3_dropout_call(layer, x, m, st, rng, B, D, g)
            out = dmasks.pop("_out")
        elif tfk_dropout:
            dmasks = _tfk_dropout_call(layer, x, m, st, rng, g)
            out = dmasks.pop("_out")
        else:
            out = call_layer(layer, x, mask=m, initial_state=st, constants=consts)
        g.add_call([x], out, mask=m, initial_state=st, constants=consts,
                   dropout_masks=dmasks, training=dropout or tfk_dropout,
                   reset_states_before=reset_before)
    if notes:
        g.note("notes", notes)
    return g


def _assert_close(a, b, what):
    fa, fb = [to_np(t) for t in flatten(a)], [to_np(t) for t in flatten(b)]
    assert len(fa) == len(fb)
    for u, v in zip(fa, fb):
        if not np.allclose(u, v, atol=1e-6, rtol=1e-6):
            raise AssertionError("%s: max diff %g" % (what, np.max(np.abs(u - v))))


def _k3_dropout_call(layer, x, m, st, rng, B, D, g):
    cell = layer.cell
    U = flat_sizes(cell.state_size)[0]
    ref = call_layer(layer, x, mask=m, initial_state=st, training=False)
    # sanity 1: all-ones masks with training=True == inference
    ones, per_gate = k3_dropout_masks(cell, rng, B, D, U, ones=True)
    k3_inject(cell, ones, per_gate)
    o1 = call_layer(layer, x, mask=m, initial_state=st, training=True)
    _assert_close(o1, ref, g.case + " ones-mask sanity")
    assert getattr(cell, "_dropout_mask", None) is None, "mask cache not cleared"
    # the recorded call
    masks, per_gate = k3_dropout_masks(cell, rng, B, D, U)
    k3_inject(cell, masks, per_gate)
    out = call_layer(layer, x, mask=m, initial_state=st, training=True)
    # sanity 2: same masks again -> identical result (proves injection is used)
    k3_inject(cell, masks, per_gate)
    out2 = call_layer(layer, x, mask=m, initial_state=st, training=True)
    _assert_close(out, out2, g.case + " injected-mask repeatability")
    g.note("dropout_mask_per_gate", bool(per_gate))
    res = dict(masks)
    res["_out"] = out
    return res


def _tfk_dropout_call(layer, x, m, st, rng, g):
    ref = call_layer(layer, x, mask=m, initial_state=st, training=False)
    TfkMaskInjector(layer, rng, ones=True)
    o1 = call_layer(layer, x, mask=m, initial_state=st, training=True)
    _assert_close(o1, ref, g.case + " ones-mask sanity")
    inj = TfkMaskInjector(layer, rng)
    out = call_layer(layer, x, mask=m, initial_state=st, training=True)
    out2 = call_layer(layer, x, mask=m, initial_state=st, training=True)
    _assert_close(out, out2, g.case + " injected-mask repeatability")
    impl = implementation_of(layer)
    ins = inj.cache.get("in", [])
    recs = inj.cache.get("rec", [])
    per_gate = impl == 1 and len(ins + recs) > 0 and max(len(ins), len(recs)) > 1
    if not per_gate:   # implementation 2 / SimpleRNN / cuDNN path: only mask[0] used
        ins, recs = ins[:1], recs[:1]
    g.note("dropout_mask_per_gate", bool(per_gate))
    return {"input": ins, "recurrent": recs, "_out": out}
