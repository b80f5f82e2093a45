#!/usr/bin/env python3
"""Runs the side-by-side recurrent benchmark (called by bench/recurrent/run.sh).

Every implementation ("peer") is a long-lived worker process per thread count, speaking the
protocol of bench/recurrent/bench_support.h. The run is INTERLEAVED in rounds: round r runs
every peer once on every case (peer order rotated per round) before round r + 1 starts, so
drift of this shared machine hits all peers alike. Round 1 also dumps every peer's outputs
(and gradients), which are checked against a float64 NumPy reference (reference.py); a
mismatch is reported loudly and makes the exit status 3. Raw results go to WORK/raw.json,
the tables to the report (report.py).

Usage: driver.py --mode quick|full --build BUILD_DIR --work WORK --out RESULTS.md
                 [--onednn-pypi EXE --onednn-pypi-env K=V ...] [--rounds N] [--no-fashion]
                 [--budget-min M]   (default 25: no round starts that would not fit)
                 [--only REGEX]     (cases whose id, e.g. "lstm train C 2T", matches)
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import reference  # noqa: E402
import report  # noqa: E402

SHAPES = {  # name: (B, T, I, H, L)
    "A": (64, 28, 28, 128, 1), "B": (32, 100, 128, 256, 1), "C": (64, 50, 256, 512, 1),
    "D": (1, 1000, 16, 64, 1), "F": (16, 200, 64, 128, 1), "A2": (64, 28, 28, 128, 2),
}
TOLERANCE = 1e-5  # normwise relative error against the float64 reference
STEP_T = 200      # streamed steps per timed call in step mode
PAUSE_S = 0.02    # between two peers' calls


class Worker:
    """One peer process at one thread count."""

    def __init__(self, argv, env, name, log):
        self.name, self.log = name, log
        with open(log, "w") as err:  # the libraries' own chatter (TensorFlow logs) goes there
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
                                         text=True, bufsize=1)

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            return {"ok": False, "error": "%s: worker exited (status %s, see %s)" % (
                self.name, self.proc.poll(), self.log)}
        return json.loads(answer)

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class Peer:
    """A peer: how to start its worker, which modes it runs, which variants (impl) it has."""

    def __init__(self, name, argv, modes, impls=("",), env=None):
        self.name, self.argv, self.modes, self.impls, self.env = name, argv, modes, impls, env or {}
        self.workers = {}

    def worker(self, threads, work):
        if threads not in self.workers:
            env = dict(os.environ, OMP_NUM_THREADS=str(threads), **self.env)
            name = "%s-%dT" % (self.name, threads)
            self.workers[threads] = Worker(self.argv, env, name, os.path.join(work, name + ".log"))
        return self.workers[threads]

    def close(self):
        for w in self.workers.values():
            w.close()


def make_cases(mode):
    """Each case: dict(cell, shape, B, T, I, H, L, mode, threads)."""
    cases = []

    def add(cell, shape, m, threads, dims=None):
        B, T, I, H, L = dims or SHAPES[shape]
        cases.append(dict(cell=cell, shape=shape, B=B, T=T, I=I, H=H, L=L, mode=m, threads=threads))

    if mode == "quick":
        for cell in ("lstm", "gru"):
            add(cell, "A", "infer", 1)
            add(cell, "A", "train", 1)
        add("lstm", "A2", "train", 2)
        add("gru", "D", "infer", 2)
        add("lstm", "step64", "step", 1, (1, STEP_T, 16, 64, 1))
        add("gru", "step128", "step", 1, (1, STEP_T, 16, 128, 1))
        return cases
    for m in ("infer", "train"):
        for cell in ("lstm", "gru"):
            for shape in ("A", "A2", "B", "C", "D", "F"):
                for threads in (1, 2):
                    add(cell, shape, m, threads)
    for cell in ("lstm", "gru"):
        for h in (64, 128):
            add(cell, "step%d" % h, "step", 1, (1, STEP_T, 16, h, 1))
    return cases


def data_dir(work, c):
    return os.path.join(work, "data", "%s_B%d_T%d_I%d_H%d_L%d" % (c["cell"], c["B"], c["T"], c["I"], c["H"], c["L"]))


def write_data(work, c, cache):
    """Keras-layout float32 files (bench_support.h), uniform like make_case_data; returned too."""
    d = data_dir(work, c)
    if d in cache:
        return cache[d]
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32(os.path.basename(d).encode()))
    g = 4 if c["cell"] == "lstm" else 3
    s = 1.0 / np.sqrt(c["H"])
    x = rng.uniform(-1, 1, (c["B"], c["T"], c["I"])).astype(np.float32)
    x.tofile(os.path.join(d, "x.bin"))
    layers = []
    for l in range(c["L"]):
        n_in = c["I"] if l == 0 else c["H"]
        k = rng.uniform(-s, s, (n_in, g * c["H"])).astype(np.float32)
        r = rng.uniform(-s, s, (c["H"], g * c["H"])).astype(np.float32)
        b = rng.uniform(-s, s, (2, 3 * c["H"]) if g == 3 else (4 * c["H"],)).astype(np.float32)
        for name, a in (("k", k), ("r", r), ("b", b)):
            a.tofile(os.path.join(d, "%s%d.bin" % (name, l)))
        layers.append((k, r, b))
    cache[d] = (x, layers)
    return cache[d]


def case_line(c, data, reps, max_s, impl, dump):
    line = "cell=%s B=%d T=%d I=%d H=%d L=%d mode=%s reps=%d max_s=%g data=%s" % (
        c["cell"], c["B"], c["T"], c["I"], c["H"], c["L"], c["mode"], reps, max_s, data)
    if impl:
        line += " impl=" + impl
    if dump:
        line += " dump=" + dump
    return line


def check(c, dump, ref):
    """Max normwise relative error of a peer's dumped arrays against the reference."""
    out, dx, grads = ref
    B, T, H = c["B"], c["T"], c["H"]
    arrays = [("out", out)]
    if c["mode"] == "train":
        arrays.append(("dx", dx))
        for l, (dk, dr, db) in enumerate(grads):
            arrays += [("dk%d" % l, dk), ("dr%d" % l, dr), ("db%d" % l, db)]
    worst, where = 0.0, ""
    for name, want in arrays:
        got = np.fromfile(os.path.join(dump, name + ".bin"), np.float32)
        if got.size != want.size:
            return float("inf"), "%s has %d values, expected %d" % (name, got.size, want.size)
        e = reference.rel_error(got, want.ravel())
        if not e <= worst:  # also catches NaN
            worst, where = e, name
    return worst, where


def machine_info():
    info = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "kernel": platform.release(), "nproc": os.cpu_count()}
    try:
        text = open("/proc/cpuinfo").read()
        info["cpu"] = re.search(r"^model name\s*:\s*(.*)$", text, re.M).group(1).strip()
        flags = set(re.search(r"^flags\s*:\s*(.*)$", text, re.M).group(1).split())
        note = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "avx512_vnni", "amx_tile", "amx_bf16"]
        info["flags"] = " ".join(f for f in note if f in flags)
    except (OSError, AttributeError):
        info.setdefault("cpu", "unknown")
    try:
        info["gcc"] = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        info["rnnx"] = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                                      text=True).stdout.strip()
    except (OSError, IndexError):
        pass
    return info


def peak(build):
    exe = os.path.join(build, "bench", "recurrent", "bench_peak")
    res = {}
    for t in (1, 2):
        out = subprocess.run([exe, str(t), "1.0"], capture_output=True, text=True, check=True).stdout
        res[t] = json.loads(out)
    return res


def fashion(build, python, quick):
    """One Fashion-MNIST LSTM(128) epoch: rnnx's fashion_mnist_bench, then Keras fit."""
    lim = ["--train-limit", "3200", "--test-limit", "1000"] if quick else []
    exe = os.path.join(build, "bench", "fashion_mnist", "fashion_mnist_bench")
    script = os.path.join(ROOT, "bench", "fashion_mnist", "keras_reference.py")
    res = {"limits": " ".join(lim) or "full (60000 train, 10000 test)"}
    for name, argv in (("rnnx", [exe]), ("keras", [python, script])):
        p = subprocess.run(argv + ["--epochs", "1"] + lim, capture_output=True, text=True)
        m = re.search(r"test_acc ([0-9.]+)\s+train ([0-9.]+) s", p.stdout)
        if p.returncode != 0 or not m:
            res[name] = {"error": (p.stderr or p.stdout)[-400:]}
        else:
            res[name] = {"test_acc": float(m.group(1)), "train_s": float(m.group(2))}
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("quick", "full"), default="quick")
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--onednn-pypi")
    ap.add_argument("--onednn-pypi-env", action="append", default=[])
    ap.add_argument("--no-fashion", action="store_true")
    ap.add_argument("--only", help="run only the cases whose id (e.g. 'lstm train C 2T') matches this regex")
    ap.add_argument("--budget-min", type=float, default=25.0,
                    help="whole-run time budget: no further round starts if it would not fit")
    a = ap.parse_args()
    quick = a.mode == "quick"
    rounds = a.rounds or (1 if quick else 3)
    reps, max_s = (3, 0.3) if quick else (15, 0.5)
    # Time left for the fashion epoch and the final peak (full epoch: about 2-3 minutes here).
    budget_s = 60 * a.budget_min - (0 if a.no_fashion else (30 if quick else 240))
    t_start = time.time()
    os.makedirs(a.work, exist_ok=True)
    rec = os.path.join(a.build, "bench", "recurrent")
    py = [sys.executable, os.path.join(HERE, "peers.py")]
    peers = [Peer("rnnx", [os.path.join(rec, "rnnx_peer")], ("infer", "train", "step")),
             Peer("oneDNN", [os.path.join(rec, "onednn_peer")], ("infer", "train", "step"))]
    if a.onednn_pypi:
        env = dict(kv.split("=", 1) for kv in a.onednn_pypi_env)
        peers.append(Peer("oneDNN-PyPI", [a.onednn_pypi], ("infer", "train", "step"), env=env))
    peers += [Peer("ORT", py + ["ort"], ("infer", "step")),
              Peer("Keras", py + ["keras"], ("infer", "train"), impls=("graph", "xla")),
              Peer("PyTorch", py + ["torch"], ("infer", "train"))]
    result = {"mode": a.mode, "only": a.only, "rounds": rounds, "reps": reps, "max_s": max_s, "machine": machine_info(),
              "peers": [p.name for p in peers], "notes": {}, "times": {}, "checks": {}, "errors": []}
    print("machine: %s (%s)" % (result["machine"].get("cpu"), result["machine"].get("flags")), flush=True)
    result["peaks"] = [peak(a.build)]
    cases = [c for c in make_cases(a.mode) if not a.only or re.search(a.only, report.case_id(c))]
    data, refs, mismatches = {}, {}, 0
    for c in cases:
        write_data(a.work, c, data)
    result["rounds_done"], result["budget_s"] = 0, int(60 * a.budget_min)
    for r in range(rounds):
        elapsed = time.time() - t_start
        if r > 0 and elapsed + last_round > budget_s:
            print("stopping after %d rounds: another would pass the %.0f-minute budget" % (r, a.budget_min),
                  file=sys.stderr, flush=True)
            break
        t_round = time.time()
        print("round %d/%d" % (r + 1, rounds), flush=True)
        for ci, c in enumerate(cases):
            key = report.case_id(c)
            d = data_dir(a.work, c)
            x, layers = data[d]
            order = peers[r % len(peers):] + peers[:r % len(peers)]
            for p in order:
                if c["mode"] not in p.modes:
                    continue
                for impl in p.impls:
                    name = p.name + ("-" + impl if impl else "")
                    dump = ""
                    if r == 0:
                        dump = os.path.join(a.work, "dump", "%d_%s" % (ci, name))
                        shutil.rmtree(dump, ignore_errors=True)
                        os.makedirs(dump)
                    # The previous peer's idle OpenMP / Eigen threads spin for a while after a call;
                    # a short pause lets them sleep before the next peer is timed.
                    time.sleep(PAUSE_S)
                    ans = p.worker(c["threads"], a.work).ask(case_line(c, d, reps, max_s, impl, dump))
                    if not ans.get("ok"):
                        msg = "%s on %s: %s" % (name, key, ans.get("error"))
                        print("ERROR " + msg, file=sys.stderr, flush=True)
                        result["errors"].append(msg)
                        continue
                    result["notes"][p.name] = ans.get("note", "")
                    result["times"].setdefault(key, {}).setdefault(name, []).extend(ans["ms"])
                    if dump:
                        rkey = (d, c["mode"])
                        if rkey not in refs:
                            refs[rkey] = reference.forward_backward(c["cell"], x, layers, c["mode"] == "train")
                        err, where = check(c, dump, refs[rkey])
                        ok = err <= TOLERANCE
                        result["checks"].setdefault(key, {})[name] = {"err": err, "where": where, "ok": ok}
                        if not ok:
                            mismatches += 1
                            print("MISMATCH %s on %s: relative error %.3g in %s (tolerance %g)" % (
                                name, key, err, where, TOLERANCE), file=sys.stderr, flush=True)
            meds = {n: float(np.median(v)) for n, v in result["times"].get(key, {}).items()}
            print("  %-28s %s" % (key, "  ".join("%s %.3g" % kv for kv in sorted(meds.items()))), flush=True)
        # Later rounds skip the first round's one-off work (Keras tracing and XLA compiles, checks).
        last_round = time.time() - t_round
        result["rounds_done"] = r + 1
        result["peaks"].append(peak(a.build))  # a noise monitor as well as the peak
    for p in peers:
        p.close()
    result["cases"] = cases
    if not a.no_fashion:
        print("fashion-mnist epoch (rnnx, then Keras fit)", flush=True)
        result["fashion"] = fashion(a.build, sys.executable, quick)
    result["versions"] = report.versions(result["notes"])
    result["wall_s"] = time.time() - t_start
    with open(os.path.join(a.work, "raw.json"), "w") as f:
        json.dump(result, f, indent=1, default=str)
    with open(a.out, "w") as f:
        f.write(report.render(result))
    print("wrote %s (%.0f s); raw results in %s" % (a.out, result["wall_s"], os.path.join(a.work, "raw.json")))
    if mismatches or result["errors"]:
        print("%d MISMATCH(ES), %d error(s): see above and the report" % (mismatches, len(result["errors"])),
              file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
