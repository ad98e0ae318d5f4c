#!/usr/bin/env python3
"""`kestrel pairs scan` against statsmodels' `coint` on the same data, side by side.

Generates SYMBOLS seeded random series of BARS bars (random walks, a third of them cointegrated
with another), writes them as freqtrade JSON candle files, then times:

- `kestrel pairs scan --json` over all files (every pair, in parallel on every core), best of
  --runs runs (the median is printed too);
- statsmodels.tsa.stattools.coint (trend "c", autolag "aic": what the scan computes) on every
  pair with --full, else on a seeded sample of --sample pairs, extrapolated per pair to all
  pairs (stated in the output). statsmodels runs on one core, as it does by default.

It also checks the numbers: for every pair statsmodels ran, the scan's t-statistic must agree to
a relative 1e-9 and its p-value to 1e-6, and the script exits non-zero otherwise.

Usage (from the repository root, after `cargo build --release -p kestrel`):
    tools/py/bin/python benches/pairs_scan_vs_statsmodels.py [--symbols 100] [--bars 5000]
        [--runs 5] [--sample 300 | --full] [--kestrel target/release/kestrel] [--json]
"""

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

# One BLAS thread: statsmodels' small regressions are slower with a thread pool fighting over
# 2 cores (measured: 0.36 s per pair with the default pool, much less without).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from statsmodels.tsa.stattools import coint  # noqa: E402


def make_series(symbols: int, bars: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(symbols):
        if i % 3 == 2 and out:
            # Cointegrated with an earlier walk: beta * x + c + AR(1) noise.
            base = out[int(rng.integers(0, len(out)))]
            beta = float(rng.uniform(0.5, 2.0))
            noise = np.zeros(bars)
            shocks = rng.normal(0.0, 0.5, bars)
            for t in range(1, bars):
                noise[t] = 0.8 * noise[t - 1] + shocks[t]
            out.append(beta * base + 50.0 + noise)
        else:
            out.append(100.0 + np.cumsum(rng.normal(0.0, 1.0, bars)) + 200.0)
    return out


def write_files(series: list[np.ndarray], directory: str) -> list[str]:
    paths = []
    t0 = 1_600_000_000_000
    for i, s in enumerate(series):
        path = os.path.join(directory, f"S{i:03d}-5m.json")
        rows = [[t0 + k * 300_000, 0, 0, 0, float(v), 0] for k, v in enumerate(s)]
        with open(path, "w") as f:
            json.dump(rows, f)
        paths.append(path)
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--bars", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--full", action="store_true", help="run statsmodels on every pair")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--kestrel", default="target/release/kestrel")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()

    if not os.path.exists(a.kestrel):
        print(f"error: {a.kestrel} not found; build it with cargo build --release -p kestrel",
              file=sys.stderr)
        return 2
    series = make_series(a.symbols, a.bars, a.seed)
    pairs = list(itertools.combinations(range(a.symbols), 2))
    with tempfile.TemporaryDirectory() as d:
        paths = write_files(series, d)
        times = []
        rows = None
        for _ in range(a.runs):
            start = time.perf_counter()
            out = subprocess.run([a.kestrel, "pairs", "scan", "--json", "--candles", *paths],
                                 check=True, capture_output=True)
            times.append(time.perf_counter() - start)
            rows = json.loads(out.stdout)
    by_pair = {(r["a"], r["b"]): r for r in rows}

    sample = pairs if a.full else random.Random(a.seed).sample(pairs, min(a.sample, len(pairs)))
    worst_t, worst_p = 0.0, 0.0
    start = time.perf_counter()
    for i, j in sample:
        t, p, _crit = coint(series[i], series[j], trend="c", autolag="aic")
        r = by_pair.get((f"S{i:03d}", f"S{j:03d}"))
        if r is None:
            print(f"error: the scan has no row for S{i:03d} ~ S{j:03d}", file=sys.stderr)
            return 1
        worst_t = max(worst_t, abs(r["t_stat"] - t) / max(abs(t), 1e-300))
        worst_p = max(worst_p, abs(r["p_value"] - p))
    sm_seconds = time.perf_counter() - start
    per_pair = sm_seconds / len(sample)
    sm_all = per_pair * len(pairs)
    result = {
        "symbols": a.symbols,
        "bars": a.bars,
        "pairs": len(pairs),
        "cores": os.cpu_count(),
        "kestrel_runs_s": [round(x, 4) for x in times],
        "kestrel_best_s": round(min(times), 4),
        "kestrel_median_s": round(statistics.median(times), 4),
        "statsmodels_pairs_run": len(sample),
        "statsmodels_s_per_pair": round(per_pair, 6),
        "statsmodels_all_pairs_s": round(sm_all, 2),
        "statsmodels_all_pairs_extrapolated": not a.full,
        "speedup_vs_median": round(sm_all / statistics.median(times), 1),
        "max_rel_err_t_stat": worst_t,
        "max_abs_err_p_value": worst_p,
    }
    if a.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:34} {v}")
    ok = worst_t <= 1e-9 and worst_p <= 1e-6
    if not ok:
        print("error: the scan disagrees with statsmodels beyond 1e-9 (t) / 1e-6 (p)",
              file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
