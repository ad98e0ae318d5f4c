//! The small dense linear algebra the Johansen test needs, written here so the crate keeps its
//! one dependency: a column-major matrix, Householder least-squares residuals, Cholesky,
//! triangular solves and the cyclic Jacobi eigensolver for symmetric matrices.
//!
//! Nothing here panics on finite input: every index is derived from the matrix's own shape, and
//! rank or definiteness failures come back as `None`/`Err` for the caller to classify.

/// A relative residual variance (`1 - R²`) at or below this marks a column as a linear
/// combination of the columns before it. Results from so ill-conditioned a system would carry no
/// correct digits (the condition number of the Gram matrix would exceed `1e12`), so the caller
/// reports a singular matrix instead of numbers.
pub(crate) const COLLINEAR_RTOL: f64 = 1e-12;

/// Sweeps after which the Jacobi iteration stops even if not fully converged. Cyclic Jacobi
/// converges quadratically; 12×12 matrices need fewer than 10 sweeps, so this is only a bound.
const MAX_JACOBI_SWEEPS: usize = 64;

/// A dense column-major matrix: column `j` is `data[j * rows..(j + 1) * rows]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mat {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Mat {
    /// A `rows × cols` matrix of zeros.
    pub(crate) fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// The `n × n` identity.
    pub(crate) fn identity(n: usize) -> Self {
        let mut m = Self::zeros(n, n);
        for i in 0..n {
            m.set(i, i, 1.0);
        }
        m
    }

    /// A matrix whose columns are produced by `column(j)`; each must have `rows` entries.
    pub(crate) fn from_columns(
        rows: usize,
        cols: usize,
        column: impl Fn(usize) -> Vec<f64>,
    ) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for j in 0..cols {
            let c = column(j);
            debug_assert_eq!(c.len(), rows, "Invariant: every column has `rows` entries");
            data.extend(c.into_iter().chain(std::iter::repeat(0.0)).take(rows));
        }
        Self { rows, cols, data }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    pub(crate) fn get(&self, i: usize, j: usize) -> f64 {
        self.data[j * self.rows + i]
    }

    pub(crate) fn set(&mut self, i: usize, j: usize, value: f64) {
        self.data[j * self.rows + i] = value;
    }

    pub(crate) fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    pub(crate) fn col_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[j * self.rows..(j + 1) * self.rows]
    }

    /// `selfᵀ · other / divisor`: the cross-moment matrix of two residual matrices.
    pub(crate) fn cross(&self, other: &Mat, divisor: f64) -> Mat {
        debug_assert_eq!(
            self.rows, other.rows,
            "Invariant: cross moments need equal row counts"
        );
        let mut out = Mat::zeros(self.cols, other.cols);
        for i in 0..self.cols {
            for j in 0..other.cols {
                out.set(i, j, dot(self.col(i), other.col(j)) / divisor);
            }
        }
        out
    }

    /// The transpose.
    pub(crate) fn transpose(&self) -> Mat {
        let mut out = Mat::zeros(self.cols, self.rows);
        for j in 0..self.cols {
            for i in 0..self.rows {
                out.set(j, i, self.get(i, j));
            }
        }
        out
    }

    /// `self · selfᵀ`, exactly symmetric.
    pub(crate) fn gram_rows(&self) -> Mat {
        let t = self.transpose();
        let mut out = Mat::zeros(self.rows, self.rows);
        for i in 0..self.rows {
            for j in 0..=i {
                let v = dot(t.col(i), t.col(j));
                out.set(i, j, v);
                out.set(j, i, v);
            }
        }
        out
    }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The regressor matrix has a column that is (numerically) a combination of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RankDeficient;

/// Replaces every column of each matrix in `targets` by its least-squares residual on the
/// columns of `x` (`y - X (XᵀX)⁻¹ Xᵀ y`), through a Householder QR of `x`, which is backward
/// stable where forming `XᵀX` would square the condition number. A regressor with no columns
/// leaves the targets unchanged.
pub(crate) fn residualize(x: &Mat, targets: &mut [&mut Mat]) -> Result<(), RankDeficient> {
    let mut qr = x.clone();
    let mut betas = Vec::with_capacity(x.cols);
    for j in 0..x.cols {
        let original_norm = norm(x.col(j));
        let beta = householder_column(&mut qr, j).ok_or(RankDeficient)?;
        // |R[j][j]| is the part of column j orthogonal to the columns before it.
        let remaining = qr.get(j, j).abs() / original_norm;
        if remaining * remaining <= COLLINEAR_RTOL {
            return Err(RankDeficient);
        }
        betas.push(beta);
    }
    for target in targets.iter_mut() {
        debug_assert_eq!(
            target.rows, x.rows,
            "Invariant: targets share the regressor rows"
        );
        for c in 0..target.cols {
            let y = target.col_mut(c);
            for (j, beta) in betas.iter().enumerate() {
                reflect(&qr, j, *beta, y);
            }
            y[..betas.len()].fill(0.0);
            for (j, beta) in betas.iter().enumerate().rev() {
                reflect(&qr, j, *beta, y);
            }
        }
    }
    Ok(())
}

fn norm(v: &[f64]) -> f64 {
    // Scaled to avoid overflow or underflow of the squares on extreme but finite input.
    let scale = v.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    scale
        * v.iter()
            .map(|x| (x / scale) * (x / scale))
            .sum::<f64>()
            .sqrt()
}

/// Turns column `j` of `qr` (rows `j..`) into a Householder vector `v` with `v[j] = 1` stored
/// below the diagonal, writes `R[j][j]` on the diagonal, applies the reflector `I - β v vᵀ` to
/// the columns right of `j`, and returns `β`. `None` when the column is already zero below the
/// diagonal and on it (nothing left to reflect).
fn householder_column(qr: &mut Mat, j: usize) -> Option<f64> {
    let rows = qr.rows;
    let alpha = norm(&qr.col(j)[j..]);
    if alpha == 0.0 || !alpha.is_finite() {
        return None;
    }
    let x0 = qr.get(j, j);
    // Choose the sign that avoids cancellation in `x0 - r`.
    let r = if x0 >= 0.0 { -alpha } else { alpha };
    let v0 = x0 - r;
    let col = qr.col_mut(j);
    for value in &mut col[j + 1..rows] {
        *value /= v0;
    }
    col[j] = r;
    let beta = -v0 / r;
    for c in j + 1..qr.cols {
        let (head, tail) = qr.data.split_at_mut(c * rows);
        let v = &head[j * rows..(j + 1) * rows];
        apply_reflector(v, j, beta, &mut tail[..rows]);
    }
    Some(beta)
}

/// Applies reflector `j` (vector stored in column `j` of `qr` below the diagonal) to `y`.
fn reflect(qr: &Mat, j: usize, beta: f64, y: &mut [f64]) {
    apply_reflector(qr.col(j), j, beta, y);
}

fn apply_reflector(v_col: &[f64], j: usize, beta: f64, y: &mut [f64]) {
    // v = [0…0, 1, v_col[j+1..]]; y ← y - β v (vᵀ y).
    let mut s = y[j];
    s += dot(&v_col[j + 1..], &y[j + 1..]);
    let f = beta * s;
    y[j] -= f;
    for (yi, vi) in y[j + 1..].iter_mut().zip(&v_col[j + 1..]) {
        *yi -= f * vi;
    }
}

/// The lower Cholesky factor `L` of a symmetric positive definite `a` (`a = L Lᵀ`). `None` when
/// a pivot is not positive or is at most [`COLLINEAR_RTOL`] of its diagonal entry, i.e. when the
/// matrix is (numerically) singular or indefinite.
pub(crate) fn cholesky(a: &Mat) -> Option<Mat> {
    let n = a.rows;
    debug_assert_eq!(n, a.cols, "Invariant: Cholesky needs a square matrix");
    let mut l = Mat::zeros(n, n);
    for j in 0..n {
        let mut d = a.get(j, j);
        for k in 0..j {
            d -= l.get(j, k) * l.get(j, k);
        }
        if !d.is_finite() || d <= 0.0 || d <= COLLINEAR_RTOL * a.get(j, j) {
            return None;
        }
        let ljj = d.sqrt();
        l.set(j, j, ljj);
        for i in j + 1..n {
            let mut s = a.get(i, j);
            for k in 0..j {
                s -= l.get(i, k) * l.get(j, k);
            }
            l.set(i, j, s / ljj);
        }
    }
    Some(l)
}

/// Solves `L x = b` in place for lower-triangular `L` with a non-zero diagonal.
pub(crate) fn solve_lower(l: &Mat, b: &mut [f64]) {
    for i in 0..l.rows {
        let s = b[i]
            - b[..i]
                .iter()
                .enumerate()
                .map(|(k, bk)| l.get(i, k) * bk)
                .sum::<f64>();
        b[i] = s / l.get(i, i);
    }
}

/// Solves `Lᵀ x = b` in place for lower-triangular `L` with a non-zero diagonal.
pub(crate) fn solve_lower_transposed(l: &Mat, b: &mut [f64]) {
    for i in (0..l.rows).rev() {
        // Row i of Lᵀ right of the diagonal is column i of L below it.
        let s = b[i] - dot(&l.col(i)[i + 1..], &b[i + 1..]);
        b[i] = s / l.get(i, i);
    }
}

/// Eigenvalues and orthonormal eigenvectors (columns, in the same order) of a symmetric matrix
/// by cyclic Jacobi rotations, which are accurate to a few ulps of the matrix norm and never
/// fail to converge on finite input.
pub(crate) fn symmetric_eigen(mut a: Mat) -> (Vec<f64>, Mat) {
    let n = a.rows;
    let mut v = Mat::identity(n);
    for _ in 0..MAX_JACOBI_SWEEPS {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                // Demmel & Veselić's threshold: an entry below ε·sqrt(|a_pp a_qq|) no longer
                // moves the eigenvalues, not even the small ones, relatively.
                let apq = a.get(p, q).abs();
                if apq > f64::EPSILON * (a.get(p, p) * a.get(q, q)).abs().sqrt() && apq > 0.0 {
                    rotate(&mut a, &mut v, p, q);
                    rotated = true;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    ((0..n).map(|i| a.get(i, i)).collect(), v)
}

/// One Jacobi rotation `A ← Pᵀ A P`, `V ← V P` in the `(p, q)` plane chosen to zero `a[p][q]`
/// (Golub & Van Loan, Algorithm 8.5.1, with the smaller of the two rotation angles).
fn rotate(a: &mut Mat, v: &mut Mat, p: usize, q: usize) {
    let apq = a.get(p, q);
    let theta = (a.get(q, q) - a.get(p, p)) / (2.0 * apq);
    let t = theta.signum() / (theta.abs() + theta.hypot(1.0));
    let c = 1.0 / t.hypot(1.0);
    let s = t * c;
    let n = a.rows;
    for r in 0..n {
        let (arp, arq) = (a.get(r, p), a.get(r, q));
        a.set(r, p, c * arp - s * arq);
        a.set(r, q, s * arp + c * arq);
    }
    for r in 0..n {
        let (apr, aqr) = (a.get(p, r), a.get(q, r));
        a.set(p, r, c * apr - s * aqr);
        a.set(q, r, s * apr + c * aqr);
    }
    a.set(p, q, 0.0);
    a.set(q, p, 0.0);
    for r in 0..n {
        let (vrp, vrq) = (v.get(r, p), v.get(r, q));
        v.set(r, p, c * vrp - s * vrq);
        v.set(r, q, s * vrp + c * vrq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mat(rows: usize, cols: usize, row_major: &[f64]) -> Mat {
        Mat::from_columns(rows, cols, |j| {
            (0..rows).map(|i| row_major[i * cols + j]).collect()
        })
    }

    #[test]
    fn residualize_removes_the_fitted_part() {
        // y = 2 + 3 t + e with e orthogonal to [1, t]: the residual is exactly e.
        let x = mat(4, 2, &[1.0, 0.0, 1.0, 1.0, 1.0, 2.0, 1.0, 3.0]);
        let e = [1.0, -1.0, -1.0, 1.0];
        let mut y = Mat::from_columns(4, 1, |_| {
            (0..4).map(|i| 2.0 + 3.0 * i as f64 + e[i]).collect()
        });
        residualize(&x, &mut [&mut y]).unwrap();
        for (got, want) in y.col(0).iter().zip(e) {
            assert!((got - want).abs() < 1e-14, "{got} vs {want}");
        }
    }

    #[test]
    fn residualize_rejects_collinear_regressors() {
        let x = mat(3, 2, &[1.0, 2.0, 2.0, 4.0, 3.0, 6.0]);
        let mut y = Mat::zeros(3, 1);
        assert_eq!(residualize(&x, &mut [&mut y]), Err(RankDeficient));
        assert_eq!(
            residualize(&Mat::zeros(3, 1), &mut [&mut y]),
            Err(RankDeficient)
        );
    }

    #[test]
    fn cholesky_factors_and_rejects_singular() {
        let a = mat(2, 2, &[4.0, 2.0, 2.0, 5.0]);
        let l = cholesky(&a).unwrap();
        assert_eq!(
            (l.get(0, 0), l.get(1, 0), l.get(1, 1), l.get(0, 1)),
            (2.0, 1.0, 2.0, 0.0)
        );
        let mut b = [2.0, 3.0];
        solve_lower(&l, &mut b);
        assert_eq!(b, [1.0, 1.0]);
        solve_lower_transposed(&l, &mut b);
        assert_eq!(b, [0.25, 0.5]);
        assert!(cholesky(&mat(2, 2, &[1.0, 1.0, 1.0, 1.0])).is_none());
        assert!(cholesky(&mat(2, 2, &[1.0, 2.0, 2.0, 1.0])).is_none());
    }

    #[test]
    fn jacobi_diagonalizes() {
        let a = mat(3, 3, &[2.0, -1.0, 0.0, -1.0, 2.0, -1.0, 0.0, -1.0, 2.0]);
        let (mut values, vectors) = symmetric_eigen(a.clone());
        for (j, lambda) in values.iter().enumerate() {
            // `a` is symmetric, so its column i is its row i: (A v)_i = a.col(i) · v.
            for (i, vi) in vectors.col(j).iter().enumerate() {
                let av_i = dot(a.col(i), vectors.col(j));
                assert!((av_i - lambda * vi).abs() < 1e-14);
            }
        }
        values.sort_by(f64::total_cmp);
        let s = 2.0_f64.sqrt();
        for (got, want) in values.iter().zip([2.0 - s, 2.0, 2.0 + s]) {
            assert!((got - want).abs() < 1e-14, "{got} vs {want}");
        }
    }
}
