"""statsmodels reference for the Johansen tests in crates/quant/tests/it/johansen.rs.

stdin: a JSON list of cases, each
    {"endog": [[...], [...], ...], "det_order": -1 | 0 | 1, "k_ar_diff": int, "exact": bool}
where "endog" is COLUMN-major: one inner list per series, all of equal length
(statsmodels wants rows = observations, so it is transposed here).

stdout: {"versions": {...}, "results": [...]}, one result per case, in order:
    {"eig": [m], "evec": [[m] * m], "lr1": [m], "lr2": [m], "cvt": [[3] * m],
     "cvm": [[3] * m], "rank_trace_95": int, "rank_max_eig_95": int}
"evec" is column-major too: evec[j] is statsmodels' evec[:, j], the eigenvector of eig[j].
The ranks come from statsmodels' select_coint_rank(signif=0.05). A case statsmodels rejects
gives {"error": "<message>"} instead.

A case with "exact": true also gets "eig_exact": statsmodels' procedure carried out in exact
rational arithmetic (fractions.Fraction from the exact binary values of the inputs), with the
roots of det(Sk0 S00^-1 Sk0' - lambda Skk) refined to 50 digits, then rounded to float. It
arbitrates where statsmodels' floating point (the non-symmetric eig of inv(Skk) @ ...) loses
digits. It is slow: use it on short series only.
"""

import json
import sys
import warnings
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import scipy
import statsmodels
from statsmodels.tsa.vector_ar import vecm


# ---------------------------------------------------------------------------------------------
# Exact rational arithmetic. Series blocks are lists of columns, like the input; small square
# matrices are lists of rows.


def _solve(a_rows, b_rows):
    """Gauss-Jordan on exact rationals: returns X (rows) with A X = B, A square non-singular."""
    n = len(a_rows)
    m = [a_rows[i][:] + b_rows[i][:] for i in range(n)]
    for c in range(n):
        p = next(r for r in range(c, n) if m[r][c] != 0)
        m[c], m[p] = m[p], m[c]
        pivot = m[c][c]
        m[c] = [x / pivot for x in m[c]]
        for r in range(n):
            if r != c and m[r][c] != 0:
                f = m[r][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [row[n:] for row in m]


def _dot(x, y):
    return sum(a * b for a, b in zip(x, y))


def _residuals(ys, xs):
    """Least-squares residuals of each column in ys on the columns xs (exact normal equations)."""
    if not xs:
        return ys
    xtx = [[_dot(xi, xj) for xj in xs] for xi in xs]
    xty = [[_dot(xi, y) for y in ys] for xi in xs]
    beta = _solve(xtx, xty)
    rows = range(len(ys[0]))
    return [
        [y[t] - sum(x[t] * beta[l][j] for l, x in enumerate(xs)) for t in rows]
        for j, y in enumerate(ys)
    ]


def _detrend(cols, order):
    """statsmodels' inner detrend: OLS residuals on a constant (0) or constant and trend (1)."""
    if order == -1:
        return cols
    n = len(cols[0])
    xs = [[Fraction(1)] * n]
    if order == 1:
        # Any affine grid spans the same space as statsmodels' linspace(-1, 1, n).
        xs.append([Fraction(t) for t in range(n)])
    return _residuals(cols, xs)


def _determinant(a_rows):
    a = [row[:] for row in a_rows]
    n, det = len(a), Fraction(1)
    for c in range(n):
        p = next((r for r in range(c, n) if a[r][c] != 0), None)
        if p is None:
            return Fraction(0)
        if p != c:
            a[c], a[p] = a[p], a[c]
            det = -det
        det *= a[c][c]
        for r in range(c + 1, n):
            f = a[r][c] / a[c][c]
            a[r] = [x - f * y for x, y in zip(a[r], a[c])]
    return det


def _generalized_eigenvalues(sig, skk):
    """Roots of det(sig - x skk), descending: exact coefficients, Newton in 60-digit Decimal."""
    m = len(skk)
    points = [Fraction(i) for i in range(m + 1)]
    values = [
        _determinant([[sig[i][j] - x * skk[i][j] for j in range(m)] for i in range(m)])
        for x in points
    ]
    vander = [[x**p for p in range(m + 1)] for x in points]
    coef = [c[0] for c in _solve(vander, [[v] for v in values])]
    guesses = sorted(np.roots([float(c) for c in reversed(coef)]).real, reverse=True)
    with localcontext() as ctx:
        ctx.prec = 60
        cd = [Decimal(c.numerator) / Decimal(c.denominator) for c in coef]
        roots = []
        for guess in guesses:
            x = Decimal(float(guess))
            for _ in range(100):
                p = sum(c * x**i for i, c in enumerate(cd))
                dp = sum(i * c * x ** (i - 1) for i, c in enumerate(cd) if i)
                step = p / dp
                x -= step
                if abs(step) <= abs(x) * Decimal(10) ** -50:
                    break
            roots.append(x)
    # A polynomial of degree m has m roots: m distinct refined roots are all of them.
    distinct = all(abs(a - b) > abs(a) * Decimal(10) ** -30 for a, b in zip(roots, roots[1:]))
    if not distinct:
        raise ValueError("exact eigenvalues: Newton refinement merged two roots")
    return [float(r) for r in roots]


def exact_eigenvalues(case):
    """statsmodels' coint_johansen eigenvalues, computed without rounding (see the docstring)."""
    det_order, k = int(case["det_order"]), int(case["k_ar_diff"])
    levels = _detrend([[Fraction(v) for v in col] for col in case["endog"]], det_order)
    m, n = len(levels), len(levels[0])
    diff = [[col[i + 1] - col[i] for i in range(n - 1)] for col in levels]
    t = n - 1 - k
    z = [[diff[j][k + i - lag] for i in range(t)] for lag in range(1, k + 1) for j in range(m)]
    dy = [[diff[j][k + i] for i in range(t)] for j in range(m)]
    # statsmodels' alignment: rows 1..n-k-1 of the levels (y_{t-k}; y_t when k = 0).
    lv = [[levels[j][1 + i] for i in range(t)] for j in range(m)]
    if det_order > -1:
        z, dy, lv = (_detrend(block, 0) if block else block for block in (z, dy, lv))
    r0, rk = _residuals(dy, z), _residuals(lv, z)
    s00 = [[_dot(a, b) / t for b in r0] for a in r0]
    skk = [[_dot(a, b) / t for b in rk] for a in rk]
    sk0 = [[_dot(a, b) / t for b in r0] for a in rk]
    # The S matrices are lists of rows here; sig = Sk0 S00^-1 Sk0'.
    sk0t = [[sk0[j][i] for j in range(m)] for i in range(m)]
    x = _solve(s00, sk0t)
    sig = [[sum(sk0[i][l] * x[l][j] for l in range(m)) for j in range(m)] for i in range(m)]
    return _generalized_eigenvalues(sig, skk)


def one(case):
    endog = np.asarray(case["endog"], dtype=float).T
    det_order = int(case["det_order"])
    k_ar_diff = int(case["k_ar_diff"])
    try:
        res = vecm.coint_johansen(endog, det_order, k_ar_diff)
        # select_coint_rank recomputes coint_johansen (two thirds of the run time); hand it
        # the result just computed so its own rank logic runs on the same numbers, once.
        original = vecm.coint_johansen
        vecm.coint_johansen = lambda *_: res
        try:
            trace = vecm.select_coint_rank(endog, det_order, k_ar_diff, "trace", 0.05)
            maxeig = vecm.select_coint_rank(endog, det_order, k_ar_diff, "maxeig", 0.05)
        finally:
            vecm.coint_johansen = original
    except Exception as exc:  # noqa: BLE001 - any rejection is reported, not raised
        return {"error": f"{type(exc).__name__}: {exc}"}
    arrays = (res.eig, res.evec, res.lr1, res.lr2, res.cvt, res.cvm)
    if not all(np.all(np.isfinite(a)) for a in arrays):
        # JSON has no NaN; a degenerate case is reported like a rejection.
        return {"error": "non-finite statsmodels result"}
    out = {
        "eig": res.eig.tolist(),
        "evec": res.evec.T.tolist(),
        "lr1": res.lr1.tolist(),
        "lr2": res.lr2.tolist(),
        "cvt": res.cvt.tolist(),
        "cvm": res.cvm.tolist(),
        "rank_trace_95": int(trace.rank),
        "rank_max_eig_95": int(maxeig.rank),
    }
    if case.get("exact"):
        out["eig_exact"] = exact_eigenvalues(case)
    return out


def main():
    cases = json.load(sys.stdin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = [one(case) for case in cases]
    versions = {
        "statsmodels": statsmodels.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    json.dump({"versions": versions, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
