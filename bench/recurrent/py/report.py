"""Writes bench/RESULTS.md from the raw results of driver.py (plain markdown tables).

Usage (to render again from a run's raw results): python report.py WORK/raw.json OUT.md
"""
import importlib.metadata
import json
import sys

import numpy as np

SHAPE_NOTE = {"A": "(64,28,28,128)", "A2": "(64,28,28,128) x2 layers", "B": "(32,100,128,256)",
              "C": "(64,50,256,512)", "D": "(1,1000,16,64)", "F": "(16,200,64,128)"}
COLUMNS = ["rnnx", "oneDNN", "oneDNN-PyPI", "ORT", "Keras", "PyTorch"]


def case_id(c):
    return "%s %s %s %dT" % (c["cell"], c["mode"], c["shape"], c["threads"])


def flops(c):
    """2*B*T*G*H*(I_l+H) per layer forward (bench_support.h case_flops), x3 for training."""
    g = 4 if c["cell"] == "lstm" else 3
    f = sum(2.0 * c["B"] * c["T"] * g * c["H"] * ((c["I"] if l == 0 else c["H"]) + c["H"]) for l in range(c["L"]))
    return 3 * f if c["mode"] == "train" else f


def versions(notes):
    v = {k: n for k, n in notes.items() if k != "rnnx"}  # rnnx's note says which step path ran
    for pkg in ("numpy", "onnx", "onnxruntime", "keras", "tensorflow-cpu", "torch"):
        try:
            v.setdefault("pip " + pkg, importlib.metadata.version(pkg))
        except importlib.metadata.PackageNotFoundError:
            pass
    return v


def stats(result, key, column):
    """(median ms, min ms, label) of a column; Keras = the better median of graph and XLA."""
    t = result["times"].get(key, {})
    names = ["Keras-graph", "Keras-xla"] if column == "Keras" else [column]
    best = None
    for n in names:
        if t.get(n):
            m = (float(np.median(t[n])), float(np.min(t[n])), n)
            if best is None or m[0] < best[0]:
                best = m
    return best


def fmt_ms(ms):
    return "%.3g" % ms if ms < 100 else "%.0f" % ms


def peak_of(result, threads):
    return max(p[threads]["gflops"] for p in result["peaks"])


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def mode_section(result, mode, title, columns):
    cases = [c for c in result["cases"] if c["mode"] == mode]
    if not cases:
        return ""
    head = ["case (B,T,I,H)", "thr"]
    ms_rows, gf_rows, ratio_rows = [], [], []
    for c in cases:
        key = case_id(c)
        label = "%s %s %s" % (c["cell"].upper(), c["shape"], SHAPE_NOTE.get(c["shape"], ""))
        base = [label, str(c["threads"])]
        rnnx = stats(result, key, "rnnx")
        ms_row, gf_row, ratio_row = list(base), list(base), list(base)
        for col in columns:
            s = stats(result, key, col)
            if s is None:
                ms_row.append("—")
                gf_row.append("—")
                if col != "rnnx":
                    ratio_row.append("—")
                continue
            tag = " (%s)" % s[2].split("-")[1] if col == "Keras" else ""
            ms_row.append("%s (%s)%s" % (fmt_ms(s[0]), fmt_ms(s[1]), tag))
            gf = flops(c) / (s[0] * 1e-3) / 1e9
            gf_row.append("%.1f (%.0f%%)" % (gf, 100 * gf / peak_of(result, c["threads"])))
            if col != "rnnx":
                ratio_row.append("%.2f" % (s[0] / rnnx[0]) if rnnx else "—")
        ms_rows.append(ms_row)
        gf_rows.append(gf_row)
        ratio_rows.append(ratio_row)
    out = "## %s\n\n" % title
    out += "Median ms per call (min in parentheses); Keras = the faster of tf.function graph `(graph)` and XLA " \
           "`jit_compile` `(xla)`.\n\n"
    out += table(head + columns, ms_rows)
    out += "\nGFLOP/s at the median time (% of the measured FMA peak at that thread count).\n\n"
    out += table(head + columns, gf_rows)
    out += "\nrnnx/peer speed ratio = peer median ÷ rnnx median (> 1: rnnx is faster).\n\n"
    out += table(head + ["vs " + c for c in columns if c != "rnnx"], ratio_rows)
    return out + "\n"


def step_section(result, columns):
    cases = [c for c in result["cases"] if c["mode"] == "step"]
    if not cases:
        return ""
    cols = [c for c in columns if c in ("rnnx", "oneDNN", "oneDNN-PyPI", "ORT")]
    rows = []
    for c in cases:
        row = ["%s I=%d H=%d" % (c["cell"].upper(), c["I"], c["H"]), str(c["threads"])]
        for col in cols:
            s = stats(result, case_id(c), col)
            row.append("—" if s is None else "%.2f (%.2f)" % (1e3 * s[0] / c["T"], 1e3 * s[1] / c["T"]))
        rows.append(row)
    for c in result["cases"]:  # the whole-sequence batch-1 shape D, amortised per step
        if c["mode"] == "infer" and c["shape"] == "D" and c["threads"] == 1:
            row = ["%s D ÷ %d (one call per sequence)" % (c["cell"].upper(), c["T"]), "1"]
            for col in cols:
                s = stats(result, case_id(c), col)
                row.append("—" if s is None else "%.2f (%.2f)" % (1e3 * s[0] / c["T"], 1e3 * s[1] / c["T"]))
            rows.append(row)
    out = "## Batch-1 streaming step latency\n\n"
    out += ("µs per step, median (min): one call per time step carrying the states, batch 1, %d steps per timed "
            "sequence. %s. oneDNN: a T=1 primitive executed per step. ORT: one `InferenceSession.run` per step from "
            "Python, so its numbers include Python's call overhead (several µs). The D rows are the whole-sequence "
            "calls of shape D divided by T (not streaming).\n\n") % (
        cases[0]["T"], "rnnx: " + result["notes"].get("rnnx", "") if result["notes"].get("rnnx") else "rnnx")
    return out + table(["case", "thr"] + cols, rows) + "\n"


def fashion_section(result):
    f = result.get("fashion")
    if not f:
        return ""
    rows = []
    for name in ("rnnx", "keras"):
        r = f.get(name, {})
        if "error" in r:
            rows.append([name, "error: " + r["error"].replace("|", "/").replace("\n", " ")[:200], ""])
        else:
            rows.append([name, "%.1f" % r["train_s"], "%.4f" % r["test_acc"]])
    out = "## Fashion-MNIST LSTM(128) epoch\n\n"
    out += ("bench/fashion_mnist: Input(28,28) -> LSTM(128) -> Dense(10), Adam(1e-3), batch 32, one epoch, "
            "all cores; data: %s. rnnx = fashion_mnist_bench, Keras = keras_reference.py (`fit`).\n\n") % f["limits"]
    out += table(["implementation", "train s (one epoch)", "test accuracy"], rows)
    r, k = f.get("rnnx", {}), f.get("keras", {})
    if "train_s" in r and "train_s" in k:
        out += "\nrnnx/Keras speed ratio: %.2f (Keras time ÷ rnnx time).\n" % (k["train_s"] / r["train_s"])
    return out + "\n"


def check_section(result):
    names = sorted({n for v in result["checks"].values() for n in v})
    rows = []
    for key, v in result["checks"].items():
        row = [key]
        for n in names:
            e = v.get(n)
            row.append("—" if e is None else ("%.1e" % e["err"]) + ("" if e["ok"] else " **MISMATCH (%s)**" % e["where"]))
        rows.append(row)
    bad = sum(1 for v in result["checks"].values() for e in v.values() if not e["ok"])
    out = "## Correctness check\n\n"
    out += ("Every implementation's round-1 outputs (training: also d/dx and the weight gradients, mapped back to "
            "Keras layout) against a float64 NumPy reference (bench/recurrent/py/reference.py): the largest "
            "normwise relative error over those arrays; tolerance 1e-5. %s\n\n") % (
        "**%d MISMATCH(ES).**" % bad if bad else "All agree.")
    return out + table(["case"] + names, rows) + "\n"


def render(result):
    m = result["machine"]
    columns = [c for c in COLUMNS if c in result["peers"] or (c == "Keras" and "Keras" in result["peers"])]
    out = "# Recurrent benchmark: rnnx side by side with oneDNN, ONNX Runtime, Keras and PyTorch\n\n"
    out += ("Generated by `bench/recurrent/run.sh --%s` (%d interleaved round(s), up to %d timed calls of at most "
            "%.1f s per implementation, case and round, after one untimed warm-up; wall time %.0f s). Compare numbers "
            "only within one run: this machine is shared and its speed drifts.\n\n") % (
        result["mode"], result.get("rounds_done", result["rounds"]), result["reps"], result["max_s"], result.get("wall_s", 0))
    if result.get("only"):
        out += "Only the cases matching `--only %s`.\n\n" % result["only"]
    if result.get("rounds_done", result["rounds"]) < result["rounds"]:
        out += ("**Stopped after %d of %d rounds to stay within the time budget (%d s).**\n\n" % (
            result["rounds_done"], result["rounds"], result["budget_s"]))
    out += "## Machine and software\n\n"
    rows = [["CPU", m.get("cpu", "?")], ["flags of note", m.get("flags", "")], ["cores (nproc)", str(m.get("nproc"))],
            ["kernel", m.get("kernel", "")], ["compiler", m.get("gcc", "")], ["rnnx", m.get("rnnx", "")],
            ["date", m.get("date", "")]]
    rows += [[k, v] for k, v in sorted(result.get("versions", {}).items())]
    out += table(["what", "value"], rows) + "\n"
    out += "## FP32 FMA peak\n\n"
    out += ("bench_peak: 16 independent FMA chains per thread (%s), best of 3 tries of ~0.3 s, measured before the "
            "run and after every round (a noise monitor: a low value means another process had the cores); "
            "%% of peak below uses the largest.\n\n") % result["peaks"][0][1]["isa"]
    heads = ["threads", "before"] + ["after round %d" % (i + 1) for i in range(len(result["peaks"]) - 1)]
    out += table(heads + ["used"], [[str(t)] + ["%.1f" % p[t]["gflops"] for p in result["peaks"]] +
                                    ["%.1f" % peak_of(result, t)] for t in (1, 2)]) + "\n"
    out += ("FLOPs per call: 2·B·T·G·H·(I+H) per layer forward (G = 4 LSTM, 3 GRU; layer 2 of A2 reads H features), "
            "×3 for a training step (forward + full backward of sum(output): d/dx and d/dweights). Layouts: each "
            "library's native one, converted once outside the timing (oneDNN, ORT, PyTorch time-major; rnnx, Keras "
            "batch-major). ORT has no training (inference package). Threads: OMP_NUM_THREADS, torch.set_num_threads, "
            "ORT intra_op_num_threads, TF intra-op threads; nothing pinned.\n\n")
    out += mode_section(result, "infer", "Inference (forward, return_sequences=True)", columns)
    out += mode_section(result, "train", "Training step (forward + backward of sum(output))",
                        [c for c in columns if c != "ORT"])
    out += step_section(result, columns)
    out += fashion_section(result)
    out += check_section(result)
    if result["errors"]:
        out += "## Errors\n\n" + "".join("- %s\n" % e.replace("\n", " ") for e in result["errors"]) + "\n"
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        raw = json.load(f)
    raw["peaks"] = [{int(t): v for t, v in p.items()} for p in raw["peaks"]]  # JSON made the keys strings
    with open(sys.argv[2], "w") as f:
        f.write(render(raw))
