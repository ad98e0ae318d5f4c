#!/usr/bin/env python3
"""statsmodels reference for the kestrel-quant tests.

Reads one JSON object of cases on stdin and prints the statsmodels (numpy, pandas) results as
one JSON object on stdout, case for case. Every section is optional:

  "coint":          [{"y0": [..], "y1": [..], "trend": "c", "maxlag": null|int, "autolag": "aic"|"bic"|"t-stat"|null}]
  "adf":            [{"x": [..], "regression": "n"|"c"|"ct"|"ctt", "maxlag": null|int, "autolag": ...}]
  "ols":            [{"y": [..], "x": [[..], ..], "trend": "n"|"c"|"ct"|"ctt"}]
  "mackinnonp":     [{"stat": float, "regression": "c", "n": int}]
  "mackinnoncrit":  [{"n": int, "regression": "c", "nobs": float|null}]   (null = asymptotic)
  "norm_cdf":       [float, ..]
  "spread":         [{"s": [..], "window": int}]

A case that raises yields {"error": "<message>"}. NaN and infinities are written as null.
Used by crates/quant/tests/it/statsmodels.rs; run with tools/py/bin/python.
"""

import json
import math
import sys
import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.regression.linear_model import OLS
from statsmodels.tsa.adfvalues import mackinnoncrit, mackinnonp
import statsmodels.tsa.stattools._stattools as _stattools
from statsmodels.tsa.stattools import adfuller, coint
from statsmodels.tsa.tsatools import add_trend

warnings.simplefilter("ignore")


def clean(v):
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [clean(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None
    return v


def guarded(fn):
    def run(case):
        try:
            return fn(case)
        except Exception as e:  # noqa: BLE001 - the error text goes back to the Rust test
            return {"error": f"{type(e).__name__}: {e}"}

    return run


def first_stage(y0, y1, trend):
    x = y1[:, None]
    xx = x if trend == "n" else add_trend(x, trend=trend, prepend=False)
    return OLS(y0, xx).fit()


class _RecordingAdfuller:
    """Stands in for the `adfuller` that `coint` calls, recording its full return value, so the
    lag details come from the very regression `coint` ran (no second, costly ADF)."""

    def __init__(self, inner):
        self.inner = inner
        self.last = None

    def __call__(self, *args, **kwargs):
        self.last = self.inner(*args, **kwargs)
        return self.last


_recorder = _RecordingAdfuller(_stattools.adfuller)
_stattools.adfuller = _recorder


@guarded
def run_coint(c):
    y0 = np.asarray(c["y0"], dtype=float)
    y1 = np.asarray(c["y1"], dtype=float)
    _recorder.last = None
    res = coint(y0, y1, trend=c["trend"], maxlag=c["maxlag"], autolag=c["autolag"])
    t, p, crit = res[0], res[1], res[2]
    fs = first_stage(y0, y1, c["trend"])
    out = {"t": t, "p": p, "crit": list(crit), "params": list(fs.params), "rsquared": fs.rsquared,
           "cond": np.linalg.cond(fs.model.exog)}
    if _recorder.last is not None:
        # (stat, pvalue, usedlag, nobs, critvalues[, icbest]) of the ADF on the residuals.
        a = _recorder.last
        out.update(adf_t=a[0], usedlag=a[2], nobs=a[3], icbest=a[5] if len(a) > 5 else None)
    return out


@guarded
def run_adf(c):
    a = adfuller(np.asarray(c["x"], dtype=float), maxlag=c["maxlag"], regression=c["regression"],
                 autolag=c["autolag"], store=True, result_object=True)
    cv = a.critical_values
    return {"t": a.statistic, "p": a.pvalue, "usedlag": a.lags, "nobs": a.nobs,
            "icbest": a.icbest, "crit": [cv["1%"], cv["5%"], cv["10%"]],
            "cond": np.linalg.cond(a.resstore.resols.model.exog)}


@guarded
def run_ols(c):
    y = np.asarray(c["y"], dtype=float)
    x = np.column_stack([np.asarray(v, dtype=float) for v in c["x"]]) if c["x"] else np.empty((len(y), 0))
    xx = x if c["trend"] == "n" else add_trend(x, trend=c["trend"], prepend=False, has_constant="add")
    r = OLS(y, xx).fit()
    return {"params": list(r.params), "bse": list(r.bse), "tvalues": list(r.tvalues), "ssr": r.ssr,
            "llf": r.llf, "aic": r.aic, "bic": r.bic, "rsquared": r.rsquared, "df_resid": r.df_resid}


@guarded
def run_mackinnonp(c):
    return {"p": mackinnonp(c["stat"], regression=c["regression"], N=c["n"])}


@guarded
def run_mackinnoncrit(c):
    nobs = np.inf if c["nobs"] is None else c["nobs"]
    return {"crit": list(mackinnoncrit(N=c["n"], regression=c["regression"], nobs=nobs))}


@guarded
def run_spread(c):
    s = np.asarray(c["s"], dtype=float)
    # Half-life: OLS of diff(s) on [1, s_{t-1}].
    lagged, ds = s[:-1], np.diff(s)
    x = np.column_stack([np.ones_like(lagged), lagged])
    lam = float(np.linalg.lstsq(x, ds, rcond=None)[0][1])
    # Zero crossings of the demeaned spread, exact zeros skipped.
    d = s - s.mean()
    nz = np.sign(d[d != 0])
    crossings = int(np.count_nonzero(nz[1:] != nz[:-1]))
    ser = pd.Series(s)
    w = c["window"]
    z = (ser - ser.rolling(w).mean()) / ser.rolling(w).std()
    # The same z-score by exact two-pass moments per window (pandas' online update loses digits
    # when the level is large against the deviation).
    win = np.lib.stride_tricks.sliding_window_view(s, w)
    m = win.mean(axis=1)
    sd = np.sqrt(((win - m[:, None]) ** 2).sum(axis=1) / (w - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z2 = np.concatenate([np.full(w - 1, np.nan), (s[w - 1:] - m) / sd])
    return {"lambda": lam, "half_life": (-math.log(2) / lam) if lam < 0 else None,
            "crossings": crossings, "z": list(z.to_numpy()), "z_two_pass": list(z2)}


def main():
    cases = json.load(sys.stdin)
    out = {
        "versions": {"statsmodels": __import__("statsmodels").__version__, "numpy": np.__version__,
                     "pandas": pd.__version__},
        "coint": [run_coint(c) for c in cases.get("coint", [])],
        "adf": [run_adf(c) for c in cases.get("adf", [])],
        "ols": [run_ols(c) for c in cases.get("ols", [])],
        "mackinnonp": [run_mackinnonp(c) for c in cases.get("mackinnonp", [])],
        "mackinnoncrit": [run_mackinnoncrit(c) for c in cases.get("mackinnoncrit", [])],
        "norm_cdf": [float(norm.cdf(x)) for x in cases.get("norm_cdf", [])],
        "spread": [run_spread(c) for c in cases.get("spread", [])],
    }
    json.dump(clean(out), sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
