//! Small dense linear algebra for the regressions: a blocked dot product, Householder QR least
//! squares (the careful path, as accurate as statsmodels' pseudo-inverse on full-rank designs) and
//! an upper Cholesky factorisation of Gram matrices (the fast path of the ADF lag search).
//! Matrices are flat `Vec<f64>`: designs column-major (one contiguous column per regressor),
//! square factors row-major.

use crate::QuantError;

/// `Σ a_i b_i` over the common length, with eight independent partial sums: the compiler
/// vectorises it, and the blocked summation also halves the rounding error of a plain loop.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len(), "Invariant: dot of equal-length slices");
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0_f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (xa, xb) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += xa[k] * xb[k];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `Σ a_i²`.
pub(crate) fn sum_sq(a: &[f64]) -> f64 {
    dot(a, a)
}

/// Mean by plain summation.
pub(crate) fn mean(a: &[f64]) -> f64 {
    a.iter().sum::<f64>() / a.len() as f64
}

/// A least-squares solution by Householder QR of a full-rank `m × p` design.
#[derive(Debug)]
pub(crate) struct QrFit {
    /// Coefficients, one per column.
    pub beta: Vec<f64>,
    /// `diag((XᵀX)⁻¹)`, for the standard errors.
    pub inv_diag: Vec<f64>,
}

/// Householder QR of the column-major design `a` (`m` rows, `p` columns), applying `Qᵀ` to `y`
/// as it goes: afterwards `R` is the strict upper part of `a` plus the returned diagonal, and
/// `y[..p]` holds `(Qᵀy)[..p]`, `y[p..]` the part of `y` outside the column space. A column whose
/// remaining norm is below `m·ε` times its original norm makes the design singular.
pub(crate) fn householder_qr(
    a: &mut [f64],
    m: usize,
    p: usize,
    y: &mut [f64],
) -> Result<Vec<f64>, QuantError> {
    debug_assert!(
        a.len() == m * p && y.len() == m,
        "Invariant: design is m × p"
    );
    if p == 0 || m < p {
        return Err(QuantError::TooFewObservations {
            got: m,
            needed: p.max(1),
        });
    }
    let mut diag = vec![0.0; p];
    for k in 0..p {
        let (done, rest) = a.split_at_mut((k + 1) * m);
        let col = &mut done[k * m..];
        let col_norm = scaled_norm(col);
        let norm = scaled_norm(&col[k..]);
        let independent = norm > (m as f64) * f64::EPSILON * col_norm;
        if !independent {
            return Err(QuantError::Singular);
        }
        let x0 = col[k];
        let alpha = if x0 > 0.0 { -norm } else { norm };
        // The reflector u = x - alpha·e1, stored in place; uᵀu = 2·norm·(norm + |x0|).
        col[k] = x0 - alpha;
        let utu = 2.0 * norm * (norm + x0.abs());
        let u = &col[k..];
        for j in 0..(p - k - 1) {
            let cj = &mut rest[j * m + k..(j + 1) * m];
            let s = 2.0 * dot(u, cj) / utu;
            cj.iter_mut().zip(u).for_each(|(c, &v)| *c -= s * v);
        }
        let s = 2.0 * dot(u, &y[k..]) / utu;
        y[k..].iter_mut().zip(u).for_each(|(c, &v)| *c -= s * v);
        diag[k] = alpha;
    }
    Ok(diag)
}

/// Solves `min ‖y - Xβ‖` for the column-major design `a` (`m` rows, `p` columns) by Householder
/// QR. `a` and `y` are overwritten.
pub(crate) fn qr_lstsq(
    a: &mut [f64],
    m: usize,
    p: usize,
    y: &mut [f64],
) -> Result<QrFit, QuantError> {
    let diag = householder_qr(a, m, p, y)?;
    // R is the strict upper part of `a` plus `diag`; solve Rβ = (Qᵀy)[..p].
    let r = |i: usize, j: usize| if i == j { diag[i] } else { a[j * m + i] };
    let mut beta = vec![0.0; p];
    for i in (0..p).rev() {
        let s: f64 = ((i + 1)..p).map(|j| r(i, j) * beta[j]).sum();
        beta[i] = (y[i] - s) / r(i, i);
    }
    // diag((RᵀR)⁻¹) = squared row norms of R⁻¹; build R⁻¹ column by column.
    let mut rinv = vec![0.0; p * p];
    for j in 0..p {
        rinv[j * p + j] = 1.0 / r(j, j);
        for i in (0..j).rev() {
            let s: f64 = ((i + 1)..=j).map(|l| r(i, l) * rinv[l * p + j]).sum();
            rinv[i * p + j] = -s / r(i, i);
        }
    }
    let inv_diag = (0..p)
        .map(|i| sum_sq(&rinv[i * p + i..(i + 1) * p]))
        .collect();
    Ok(QrFit { beta, inv_diag })
}

/// Euclidean norm without overflow for large entries.
fn scaled_norm(x: &[f64]) -> f64 {
    let scale = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    let s: f64 = x.iter().map(|v| (v / scale) * (v / scale)).sum();
    scale * s.sqrt()
}

/// Upper Cholesky factor `G = RᵀR` of the leading `c × c` block of the row-major Gram matrix `g`
/// (stride `c`), written into `r`. Column `k < checked` must keep at least `rel_tol` of its own
/// squared length after the columns before it are projected out, else `Err(k)` (numerically
/// dependent). Later columns (the dependent variable) are only clamped at zero. Returns the
/// smallest kept fraction seen among the checked columns, a cheap conditioning measure.
pub(crate) fn cholesky_upper(
    g: &[f64],
    r: &mut [f64],
    c: usize,
    checked: usize,
    rel_tol: f64,
) -> Result<f64, usize> {
    debug_assert!(
        g.len() >= c * c && r.len() >= c * c,
        "Invariant: c × c buffers"
    );
    let mut min_ratio = 1.0_f64;
    for k in 0..c {
        let mut piv = g[k * c + k];
        for i in 0..k {
            piv -= r[i * c + k] * r[i * c + k];
        }
        if k < checked {
            let ratio = piv / g[k * c + k];
            let independent = ratio > rel_tol;
            if !independent {
                return Err(k);
            }
            min_ratio = min_ratio.min(ratio);
        }
        let rkk = piv.max(0.0).sqrt();
        r[k * c + k] = rkk;
        for j in (k + 1)..c {
            let mut s = g[k * c + j];
            for i in 0..k {
                s -= r[i * c + k] * r[i * c + j];
            }
            r[j * c + k] = 0.0;
            r[k * c + j] = if rkk > 0.0 { s / rkk } else { 0.0 };
        }
    }
    Ok(min_ratio)
}

/// Solves `R x = b` in place for the upper-triangular leading `k × k` block of `r` (stride `c`).
pub(crate) fn back_substitute(r: &[f64], c: usize, k: usize, x: &mut [f64]) {
    for i in (0..k).rev() {
        let mut s = x[i];
        for j in (i + 1)..k {
            s -= r[i * c + j] * x[j];
        }
        x[i] = s / r[i * c + i];
    }
}

/// Solves `Rᵀ x = b` in place for the leading `k × k` block of `r` (stride `c`).
pub(crate) fn forward_substitute(r: &[f64], c: usize, k: usize, x: &mut [f64]) {
    for i in 0..k {
        let mut s = x[i];
        for j in 0..i {
            s -= r[j * c + i] * x[j];
        }
        x[i] = s / r[i * c + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_on_odd_lengths() {
        for n in [0, 1, 7, 8, 9, 31] {
            let a: Vec<f64> = (0..n).map(|i| f64::from(i) * 0.5 - 3.0).collect();
            let b: Vec<f64> = (0..n).map(|i| 1.0 / (f64::from(i) + 1.0)).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-12);
        }
    }

    #[test]
    fn qr_solves_exact_system_and_flags_collinear_columns() {
        // y = 2 + 3x exactly.
        let x: Vec<f64> = (0..6).map(f64::from).collect();
        let mut a: Vec<f64> = x
            .iter()
            .copied()
            .chain(std::iter::repeat_n(1.0, 6))
            .collect();
        let mut y: Vec<f64> = x.iter().map(|v| 2.0 + 3.0 * v).collect();
        let fit = qr_lstsq(&mut a, 6, 2, &mut y).unwrap();
        assert!((fit.beta[0] - 3.0).abs() < 1e-14 && (fit.beta[1] - 2.0).abs() < 1e-14);
        let mut a: Vec<f64> = x.iter().copied().chain(x.iter().map(|v| 2.0 * v)).collect();
        let mut y = x.clone();
        assert_eq!(
            qr_lstsq(&mut a, 6, 2, &mut y).unwrap_err(),
            QuantError::Singular
        );
    }

    #[test]
    fn cholesky_reports_dependent_column() {
        // Columns (1, 1) and (2, 2) are dependent.
        let g = [2.0, 4.0, 4.0, 8.0];
        let mut r = [0.0; 4];
        assert_eq!(cholesky_upper(&g, &mut r, 2, 2, 1e-12), Err(1));
        let g = [4.0, 2.0, 2.0, 3.0];
        let ratio = cholesky_upper(&g, &mut r, 2, 2, 1e-12).unwrap();
        assert_eq!(r, [2.0, 1.0, 0.0, 2.0_f64.sqrt()]);
        assert!((ratio - 2.0 / 3.0).abs() < 1e-15);
    }
}
