//! Shared helpers: a seeded RNG and series generators, paths to the data and the Python
//! reference, the call into `tests/py/coint_ref.py`, and error measures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// SplitMix64: small, seeded, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Log-uniform integer in `lo..=hi`.
    pub fn log_range(&mut self, lo: usize, hi: usize) -> usize {
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        ((a + (b - a) * self.uniform()).exp().round() as usize).clamp(lo, hi)
    }
}

/// `start + Σ sigma·ε`.
pub fn random_walk(rng: &mut Rng, n: usize, start: f64, sigma: f64) -> Vec<f64> {
    let mut v = start;
    (0..n)
        .map(|_| {
            v += sigma * rng.normal();
            v
        })
        .collect()
}

/// AR(1) `u_t = phi·u_{t-1} + sigma·ε_t` from 0.
pub fn ar1(rng: &mut Rng, n: usize, phi: f64, sigma: f64) -> Vec<f64> {
    let mut u = 0.0;
    (0..n)
        .map(|_| {
            u = phi * u + sigma * rng.normal();
            u
        })
        .collect()
}

/// The workspace root ([`kestrel_stdx::paths::workspace_root`]).
pub fn workspace_root() -> PathBuf {
    kestrel_stdx::paths::workspace_root()
}

/// The shared data directory: `$KESTREL_DATA_DIR`, else `<workspace>/../shared/data`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("KESTREL_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/data"))
}

/// The statsmodels interpreter, or `None` after printing a `skipped:` line. With
/// `KESTREL_REQUIRE_PY=1` a missing interpreter fails the test instead.
pub fn python(test: &str) -> Option<PathBuf> {
    let py = workspace_root().join("tools/py/bin/python");
    if py.exists() {
        return Some(py);
    }
    if std::env::var("KESTREL_REQUIRE_PY").is_ok_and(|v| v == "1") {
        panic!(
            "{test}: KESTREL_REQUIRE_PY=1 but {} is missing; run scripts/install-tools.sh",
            py.display()
        );
    }
    println!(
        "skipped: {test}: {} not found (run scripts/install-tools.sh)",
        py.display()
    );
    None
}

/// Runs `tests/py/coint_ref.py` on `input` and parses its answer.
pub fn statsmodels(py: &Path, input: &Value) -> Value {
    let script = kestrel_stdx::paths::workspace_root().join("crates/quant/tests/py/coint_ref.py");
    let mut child = Command::new(py)
        .arg(&script)
        // One BLAS thread: the matrices are tiny, and spinning BLAS threads on a loaded 2-core
        // machine (nextest runs tests side by side) slow the reference down tenfold.
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("OMP_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the statsmodels reference");
    let body = serde_json::to_vec(input).expect("serialise cases");
    let mut stdin = child.stdin.take().expect("stdin");
    // Write from a thread so a large answer cannot deadlock against a full input pipe.
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child
        .wait_with_output()
        .expect("statsmodels reference output");
    writer.join().expect("writer thread").expect("write cases");
    assert!(
        out.status.success(),
        "coint_ref.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("parse reference JSON")
}

/// `|got - want| / |want|` (absolute below 1e-300).
pub fn rel_err(got: f64, want: f64) -> f64 {
    if got == want {
        return 0.0;
    }
    (got - want).abs() / want.abs().max(1e-300)
}

/// A JSON number, with `null` read as NaN.
pub fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// A JSON array of numbers.
pub fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(num).collect())
        .unwrap_or_default()
}

/// Largest error seen per quantity, printed at the end of a test (`--nocapture` shows it).
#[derive(Debug, Default)]
pub struct MaxErr(Vec<(&'static str, f64, String)>);

impl MaxErr {
    pub fn see(&mut self, what: &'static str, err: f64, case: impl FnOnce() -> String) {
        match self.0.iter_mut().find(|(w, _, _)| *w == what) {
            Some(slot) if err > slot.1 => *slot = (what, err, case()),
            Some(_) => {}
            None => self.0.push((what, err, case())),
        }
    }

    pub fn print(&self, title: &str) {
        println!("{title}: max errors");
        for (what, err, case) in &self.0 {
            println!("  {what:<28} {err:.3e}  ({case})");
        }
    }
}
