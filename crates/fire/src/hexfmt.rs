//! Hand-written hex and decimal formatting into reserved buffers.
//!
//! The hot thread writes bundle bodies and auth headers; `hex::encode` and `format!` would
//! allocate a `String` each time, so these append into buffers reserved up front instead.

/// Lowercase hex digits.
const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The two lowercase hex digits of one byte.
#[inline]
pub(crate) fn byte_hex(b: u8) -> [u8; 2] {
    // Both indices are < 16, and `get` keeps this free of any panic path anyway.
    let hi = DIGITS.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
    let lo = DIGITS.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0');
    [hi, lo]
}

/// Appends `bytes` as lowercase hex (no prefix). Allocates only if `out` lacks capacity.
#[inline]
pub(crate) fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.extend_from_slice(&byte_hex(b));
    }
}

/// Writes `bytes` as lowercase hex into `out`; returns how many bytes of `out` were written
/// (stops early, never panics, if `out` is too short).
#[inline]
pub(crate) fn write_hex(out: &mut [u8], bytes: &[u8]) -> usize {
    let mut n = 0;
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&byte_hex(b));
        n += 2;
    }
    n
}

/// Appends `n` in decimal.
pub(crate) fn push_u64_dec(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut start = buf.len();
    loop {
        start -= 1;
        // `n % 10` is a single decimal digit, so the cast cannot truncate.
        if let Some(slot) = buf.get_mut(start) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(start..).unwrap_or_default());
}

/// Appends `0x` and `n` in minimal lowercase hex (`0x0` for zero), the JSON-RPC quantity form.
pub(crate) fn push_quantity(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"0x");
    let digits = if n == 0 {
        1
    } else {
        16 - (n.leading_zeros() / 4)
    };
    for i in (0..digits).rev() {
        let nibble = ((n >> (i * 4)) & 0xf) as usize;
        out.push(DIGITS.get(nibble).copied().unwrap_or(b'0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn hex_matches_the_hex_crate(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut out = Vec::new();
            push_hex(&mut out, &bytes);
            let expected = hex::encode(&bytes);
            prop_assert_eq!(String::from_utf8(out).unwrap(), expected.as_str());
            let mut fixed = [0u8; 128];
            let n = write_hex(&mut fixed, &bytes);
            prop_assert_eq!(&fixed[..n], expected.as_bytes());
        }

        #[test]
        fn decimal_and_quantity_match_std(n in any::<u64>()) {
            let mut dec = Vec::new();
            push_u64_dec(&mut dec, n);
            prop_assert_eq!(String::from_utf8(dec).unwrap(), n.to_string());
            let mut q = Vec::new();
            push_quantity(&mut q, n);
            prop_assert_eq!(String::from_utf8(q).unwrap(), format!("{n:#x}"));
        }
    }

    #[test]
    fn edges() {
        let mut q = Vec::new();
        push_quantity(&mut q, 0);
        assert_eq!(q, b"0x0");
        let mut d = Vec::new();
        push_u64_dec(&mut d, u64::MAX);
        assert_eq!(d, b"18446744073709551615");
        let mut short = [0u8; 3];
        assert_eq!(write_hex(&mut short, &[0xab, 0xcd]), 2);
        assert_eq!(&short[..2], b"ab");
    }
}
