//! A small, fast, seeded pseudo-random generator: xoshiro256** seeded through splitmix64.
//!
//! Not cryptographic. It exists so that simulations, sandboxes and jitter are reproducible:
//! the same seed gives the same sequence on every platform. Only [`Rng::from_os`] reads OS
//! entropy, and it is the only place in the workspace that does.

use std::ops::Range;

/// The splitmix64 increment (the golden-ratio constant from the reference implementation).
const SPLITMIX_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// One step of splitmix64: advances `state` and returns the next output.
///
/// Used to expand a single `u64` seed into xoshiro's 256-bit state, as the xoshiro authors
/// recommend; its outputs for distinct counters are distinct, so the state is never all zero.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(SPLITMIX_GAMMA);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// xoshiro256**: 256 bits of state, period 2^256 − 1, passes BigCrush. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose sequence is fully determined by `seed`.
    pub fn from_seed(seed: u64) -> Self {
        let mut sm = seed;
        Self {
            s: [
                splitmix64(&mut sm),
                splitmix64(&mut sm),
                splitmix64(&mut sm),
                splitmix64(&mut sm),
            ],
        }
    }

    /// A generator with exactly this internal state, or `None` for the all-zero state (the one
    /// state xoshiro can never leave). For reproducing reference vectors and saved states.
    pub fn from_state(state: [u64; 4]) -> Option<Self> {
        (state != [0; 4]).then_some(Self { s: state })
    }

    /// A generator seeded from OS entropy (256 bits).
    ///
    /// # Errors
    /// Returns the OS error when no entropy source is available.
    pub fn from_os() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes)?;
        let mut s = [0_u64; 4];
        for (word, chunk) in s.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut le = [0_u8; 8];
            le.copy_from_slice(chunk);
            *word = u64::from_le_bytes(le);
        }
        // All-zero entropy (probability 2^-256) would be a stuck generator; fall back to a seed.
        Ok(Self::from_state(s).unwrap_or_else(|| Self::from_seed(0)))
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform value in `range` (`lo..hi`, `hi` excluded), without modulo bias.
    ///
    /// An empty range (`hi <= lo`) returns `lo` rather than panicking, so callers on input-driven
    /// paths cannot be crashed by a bad bound.
    #[inline]
    pub fn gen_range(&mut self, range: Range<u64>) -> u64 {
        let Range { start, end } = range;
        if end <= start {
            return start;
        }
        start + self.below(end - start)
    }

    /// Uniform in `0..n` for `n > 0` by Lemire's multiply-and-reject method: the high word of
    /// `x * n` is uniform once the few low words below `2^64 mod n` are rejected.
    fn below(&mut self, n: u64) -> u64 {
        let threshold = n.wrapping_neg() % n;
        loop {
            let wide = u128::from(self.next_u64()) * u128::from(n);
            // Truncation is the point: the low 64 bits decide rejection, the high 64 the value.
            let low = wide as u64;
            if low >= threshold {
                return (wide >> 64) as u64;
            }
        }
    }

    /// A uniform `f64` in `[0, 1)` with 53 random bits (every value a multiple of 2^-53).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        const SCALE: f64 = 1.0 / (1_u64 << 53) as f64;
        (self.next_u64() >> 11) as f64 * SCALE
    }

    /// `true` with probability `p`. `p <= 0` (or NaN) is never true, `p >= 1` always true.
    #[inline]
    pub fn gen_bool(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Fills `dest` with random bytes: the little-endian bytes of successive [`next_u64`]
    /// outputs, the last one truncated when `dest.len()` is not a multiple of 8.
    ///
    /// [`next_u64`]: Self::next_u64
    pub fn fill_bytes(&mut self, dest: &mut [u8]) {
        let mut chunks = dest.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            let bytes = self.next_u64().to_le_bytes();
            for (d, s) in tail.iter_mut().zip(bytes) {
                *d = s;
            }
        }
    }

    /// A value in `lo..=hi` whose logarithm is uniform: as many draws between 10 and 100 as
    /// between 10^20 and 10^21. For generating trade sizes in simulations, which span many
    /// orders of magnitude; it is a sampler, not money arithmetic, so `f64` is fine here.
    ///
    /// `lo == 0` is treated as 1 on the log scale (so 0 is drawn only when `hi == 0`), and
    /// `hi <= lo` returns `lo`. Above 2^53 the result is quantised to `f64` precision.
    pub fn log_uniform_u128(&mut self, lo: u128, hi: u128) -> u128 {
        if hi <= lo {
            return lo;
        }
        let floor = lo.max(1);
        let ln_lo = (floor as f64).ln();
        // Sampling [ln lo, ln(hi + 1)) and flooring gives every integer in lo..=hi a chance.
        let ln_hi = (hi as f64 + 1.0).ln();
        let x = (ln_lo + self.next_f64() * (ln_hi - ln_lo)).exp();
        // `as` saturates on out-of-range floats; the clamp mops up rounding at both ends.
        (x as u128).clamp(floor, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_state_rejects_only_the_all_zero_state() {
        assert!(Rng::from_state([0; 4]).is_none());
        assert!(Rng::from_state([0, 0, 0, 1]).is_some());
    }

    #[test]
    fn empty_ranges_return_the_lower_bound() {
        let mut rng = Rng::from_seed(7);
        assert_eq!(rng.gen_range(5..5), 5);
        let (hi, lo) = (3, 9);
        assert_eq!(rng.gen_range(lo..hi), 9);
        assert_eq!(rng.log_uniform_u128(40, 40), 40);
        assert_eq!(rng.log_uniform_u128(40, 2), 40);
    }

    #[test]
    fn gen_bool_extremes_are_exact() {
        let mut rng = Rng::from_seed(3);
        for _ in 0..10_000 {
            assert!(!rng.gen_bool(0.0));
            assert!(!rng.gen_bool(f64::NAN));
            assert!(rng.gen_bool(1.0));
        }
    }
}
