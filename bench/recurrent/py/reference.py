"""Float64 NumPy reference of the benchmark's computations (Keras semantics), against which
every peer's dump is checked: the forward pass of stacked LSTM / GRU (reset_after=True)
layers with return_sequences from zero states, and the backward pass of sum(output) giving
d/dx and d/d(kernel, recurrent_kernel, bias) in Keras layout.

Keras LSTM: z = x K + h R + b, gates i f c o: c' = f c + i tanh(zc), h' = o tanh(c').
Keras GRU (reset_after): xz = x K + b_in, hz = h R + b_rec, gates z r h:
z = s(xz_z + hz_z), r = s(xz_r + hz_r), hh = tanh(xz_h + r hz_h), h' = z h + (1 - z) hh.
"""
import numpy as np


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _lstm_layer(x, k, r, b):
    B, T, _ = x.shape
    H = r.shape[0]
    h, c = np.zeros((B, H)), np.zeros((B, H))
    ys, cache = np.empty((B, T, H)), []
    for t in range(T):
        z = x[:, t] @ k + h @ r + b
        i, f, g, o = _sig(z[:, :H]), _sig(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), _sig(z[:, 3 * H:])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        cache.append((h, c, i, f, g, o, tc))
        h, c = o * tc, c_new
        ys[:, t] = h
    return ys, cache


def _lstm_backward(x, k, r, cache, dy):
    B, T, _ = x.shape
    H = r.shape[0]
    dk, dr, db = np.zeros_like(k), np.zeros_like(r), np.zeros(4 * H)
    dx = np.empty_like(x)
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev, c_prev, i, f, g, o, tc = cache[t]
        dh = dy[:, t] + dh_next
        do = dh * tc
        dc = dh * o * (1 - tc * tc) + dc_next
        da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g), do * o * (1 - o)],
                            axis=1)
        dc_next = dc * f
        dk += x[:, t].T @ da
        dr += h_prev.T @ da
        db += da.sum(0)
        dx[:, t] = da @ k.T
        dh_next = da @ r.T
    return dx, (dk, dr, db)


def _gru_layer(x, k, r, b):
    B, T, _ = x.shape
    H = r.shape[0]
    h = np.zeros((B, H))
    ys, cache = np.empty((B, T, H)), []
    for t in range(T):
        xz = x[:, t] @ k + b[0]
        hz = h @ r + b[1]
        z = _sig(xz[:, :H] + hz[:, :H])
        rr = _sig(xz[:, H:2 * H] + hz[:, H:2 * H])
        hh = np.tanh(xz[:, 2 * H:] + rr * hz[:, 2 * H:])
        cache.append((h, z, rr, hh, hz[:, 2 * H:]))
        h = z * h + (1 - z) * hh
        ys[:, t] = h
    return ys, cache


def _gru_backward(x, k, r, cache, dy):
    B, T, _ = x.shape
    H = r.shape[0]
    dk, dr, db = np.zeros_like(k), np.zeros_like(r), np.zeros((2, 3 * H))
    dx = np.empty_like(x)
    dh_next = np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev, z, rr, hh, hz_h = cache[t]
        dh = dy[:, t] + dh_next
        da_h = dh * (1 - z) * (1 - hh * hh)
        da_z = dh * (h_prev - hh) * z * (1 - z)
        da_r = da_h * hz_h * rr * (1 - rr)
        dxz = np.concatenate([da_z, da_r, da_h], axis=1)
        dhz = np.concatenate([da_z, da_r, da_h * rr], axis=1)
        dk += x[:, t].T @ dxz
        dr += h_prev.T @ dhz
        db[0] += dxz.sum(0)
        db[1] += dhz.sum(0)
        dx[:, t] = dxz @ k.T
        dh_next = dh * z + dhz @ r.T
    return dx, (dk, dr, db)


def forward_backward(cell, x, layers, train):
    """Returns (out [B,T,H], dx or None, [(dk, dr, db)] per layer or None), all float64."""
    fwd, bwd = (_lstm_layer, _lstm_backward) if cell == "lstm" else (_gru_layer, _gru_backward)
    inputs, caches = [], []
    h = x.astype(np.float64)
    for k, r, b in layers:
        inputs.append(h)
        h, cache = fwd(h, k.astype(np.float64), r.astype(np.float64), b.astype(np.float64))
        caches.append(cache)
    if not train:
        return h, None, None
    dy = np.ones_like(h)
    grads = [None] * len(layers)
    for l in reversed(range(len(layers))):
        k, r, _ = layers[l]
        dy, grads[l] = bwd(inputs[l], k.astype(np.float64), r.astype(np.float64), caches[l], dy)
    return h, dy, grads


def rel_error(got, want):
    """Normwise relative error ||got - want|| / ||want||."""
    want = np.asarray(want, np.float64)
    den = np.linalg.norm(want.ravel())
    return float(np.linalg.norm((np.asarray(got, np.float64) - want).ravel()) / (den if den > 0 else 1.0))
