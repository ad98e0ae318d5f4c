//! Offline/online ECDSA for the relay auth header.
//!
//! The Flashbots header signs `keccak256(body)`, and the body holds the victim, so it cannot be
//! signed ahead of time. But ECDSA's cost is almost all in `R = k·G` and `k⁻¹`, which do not
//! depend on the message when `k` is random instead of RFC 6979's hash-derived nonce. The slow
//! lane precomputes `(r, k⁻¹)` pairs from fresh OS randomness into a [`PresigPool`]; the hot
//! lane finishes a signature with `s = k⁻¹ (z + r·d) mod n`: two modular products and a sum, done
//! with libsecp256k1's own scalar arithmetic (a generic 256-bit `mul_mod` is several times slower).
//!
//! **Invariant:** a nonce is used at most once. [`Presig`] is neither `Clone` nor `Copy`,
//! [`PresigPool::take`] moves it out of the queue, and signing consumes it. Reusing `k` for two
//! messages would reveal the key, so nothing here may ever copy a `Presig`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy_primitives::{U256, uint};
use crossbeam::queue::ArrayQueue;
use secp256k1::{PublicKey, SECP256K1, Scalar, SecretKey};

use crate::FireError;

/// The order of the secp256k1 group.
pub(crate) const N: U256 =
    uint!(0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141_U256);
const HALF_N: U256 = N.wrapping_shr(1);

/// `HALF_N` big-endian, for comparing `s` without converting it.
const HALF_N_BE: [u8; 32] = HALF_N.to_be_bytes::<32>();

/// One precomputed nonce: `r = (k·G).x`, `k⁻¹ mod n`, and `R`'s y parity.
///
/// **Invariant:** `0 < r < n` and `0 < k⁻¹ < n` (checked in [`Presig::generate`]).
pub struct Presig {
    r: Scalar,
    k_inv: SecretKey,
    parity: u8,
}

impl fmt::Debug for Presig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Presig(<secret nonce>)")
    }
}

impl Presig {
    /// A fresh nonce from the OS CSPRNG. Costs one scalar multiplication (slow lane only).
    pub fn generate() -> Result<Presig, FireError> {
        loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|_| FireError::InvalidKey)?;
            // Zero or >= n is not a valid scalar: draw again (probability ~2^-128).
            let Ok(k) = SecretKey::from_byte_array(bytes) else {
                continue;
            };
            let point = PublicKey::from_secret_key(SECP256K1, &k).serialize();
            let [prefix, x @ ..] = point;
            let r = U256::from_be_bytes(x);
            // r = x mod n; x >= n would need recovery ids 2/3, which verifiers reject: redraw.
            if r >= N || r.is_zero() {
                continue;
            }
            let Some(k_inv) = U256::from_be_bytes(k.secret_bytes()).inv_mod(N) else {
                continue;
            };
            let (Ok(r), Ok(k_inv)) = (
                Scalar::from_be_bytes(r.to_be_bytes()),
                SecretKey::from_byte_array(k_inv.to_be_bytes()),
            ) else {
                continue;
            };
            return Ok(Presig {
                r,
                k_inv,
                parity: prefix & 1,
            });
        }
    }

    /// Finishes the signature of `digest` with private scalar `d`: `r || s` (low-s) and the
    /// recovery id. Consumes the nonce. `None` only if `s` came out zero (probability ~2^-256).
    pub(crate) fn sign(self, d: &SecretKey, digest: [u8; 32]) -> Option<([u8; 64], u8)> {
        // z = digest mod n: the digest is below 2^256 < 2n, so one conditional subtraction.
        let z = U256::from_be_bytes(digest);
        let z = if z >= N { z - N } else { z };
        let z = Scalar::from_be_bytes(z.to_be_bytes()).ok()?;
        // r·d is never zero (both are in 1..n and n is prime); z + r·d is zero with
        // probability ~2^-256, and then `add_tweak` refuses and the caller signs in full.
        let t = d.mul_tweak(&self.r).ok()?.add_tweak(&z).ok()?;
        let s = self.k_inv.mul_tweak(&Scalar::from(t)).ok()?;
        let (s, parity) = if s.secret_bytes() > HALF_N_BE {
            (s.negate(), self.parity ^ 1)
        } else {
            (s, self.parity)
        };
        let mut rs = [0u8; 64];
        rs[..32].copy_from_slice(&self.r.to_be_bytes());
        rs[32..].copy_from_slice(&s.secret_bytes());
        Some((rs, parity))
    }
}

/// A bounded, lock-free pool of precomputed nonces: filled by the slow lane, drained by the hot
/// lane. An empty pool is not an error: the signer falls back to a full signature and counts it.
pub struct PresigPool {
    queue: ArrayQueue<Presig>,
    fallbacks: AtomicU64,
}

impl fmt::Debug for PresigPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresigPool")
            .field("ready", &self.queue.len())
            .field("capacity", &self.queue.capacity())
            .field("fallbacks", &self.fallbacks())
            .finish()
    }
}

impl PresigPool {
    /// An empty pool holding at most `capacity` nonces.
    pub fn with_capacity(capacity: usize) -> PresigPool {
        PresigPool {
            queue: ArrayQueue::new(capacity.max(1)),
            fallbacks: AtomicU64::new(0),
        }
    }

    /// Tops the pool up; returns how many nonces were added. Slow lane only.
    pub fn refill(&self) -> Result<usize, FireError> {
        let mut added = 0;
        while !self.queue.is_full() {
            if self.queue.push(Presig::generate()?).is_err() {
                break;
            }
            added += 1;
        }
        Ok(added)
    }

    /// Takes one nonce (lock-free, no allocation), moving it out of the pool.
    pub fn take(&self) -> Option<Presig> {
        self.queue.pop()
    }

    /// Nonces ready now.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no nonce is ready.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Signatures that found the pool empty and paid for a full ECDSA.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    pub(crate) fn count_fallback(&self) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
    }
}

/// Keeps `pool` topped up from a slow-lane thread until `stop()` says so. Refilling costs one
/// scalar multiplication per nonce (~25 µs here), far below any bundle rate.
pub fn spawn_refill_thread(
    pool: std::sync::Arc<PresigPool>,
    stop: impl Fn() -> bool + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("kestrel-presign".into())
        .spawn(move || {
            while !stop() {
                if pool.refill().is_err() {
                    // No OS randomness: the hot lane falls back to full signatures, counted.
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign;

    #[test]
    fn half_n_is_floor_of_n_over_two() {
        assert_eq!(HALF_N * U256::from(2) + U256::from(1), N);
    }

    #[test]
    fn presigned_signatures_recover_to_the_key_and_are_low_s() {
        let key =
            sign::parse_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
                .unwrap();
        let me = sign::address_of(&key);
        for i in 0..200u32 {
            let digest = alloy_primitives::keccak256(i.to_be_bytes()).0;
            let (rs, parity) = Presig::generate().unwrap().sign(&key, digest).unwrap();
            let s = U256::from_be_slice(&rs[32..]);
            assert!(s <= HALF_N, "high s");
            // Independent check: libsecp256k1 recovers the signer from (digest, r, s, v).
            assert_eq!(sign::recover(digest, &rs, parity).unwrap(), me, "case {i}");
        }
    }

    #[test]
    fn every_nonce_is_fresh() {
        let pool = PresigPool::with_capacity(256);
        assert_eq!(pool.refill().unwrap(), 256);
        let mut rs: Vec<[u8; 32]> = std::iter::from_fn(|| pool.take())
            .map(|p| p.r.to_be_bytes())
            .collect();
        assert_eq!(rs.len(), 256);
        rs.sort_unstable();
        rs.dedup();
        assert_eq!(rs.len(), 256, "a nonce repeated");
        assert!(pool.is_empty());
    }
}
