//! Hex digits to bytes and JSON-RPC quantities to integers, without allocating.
//!
//! Quantities are `0x`-prefixed big-endian hex; leading zeros are accepted (nodes do not send
//! them, but being lenient costs nothing). An empty quantity (`"0x"`) is rejected.

use crate::WireError;
use alloy_primitives::U256;

/// Marks a byte that is not a hex digit in [`NIBBLE`].
const BAD: u8 = 0xff;

/// Digit value of every byte, `BAD` for non-digits: one load per digit instead of branches.
const NIBBLE: [u8; 256] = {
    let mut table = [BAD; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The value of one hex digit, or `None`.
#[inline]
fn nibble(digit: u8) -> Option<u8> {
    let value = NIBBLE[usize::from(digit)];
    (value != BAD).then_some(value)
}

/// Decode `hex` (no `0x`) into `out`; returns bytes written.
///
/// Errors: [`WireError::BadHex`] for an odd length or a bad digit, [`WireError::TooLong`] when
/// `out` is shorter than `hex.len() / 2`. On error, `out` may hold a partial prefix.
pub fn decode_hex_into(hex: &str, out: &mut [u8]) -> Result<usize, WireError> {
    decode_field_into(hex, out, "hex")
}

/// [`decode_hex_into`] naming the JSON field in the error.
pub(crate) fn decode_field_into(
    hex: &str,
    out: &mut [u8],
    field: &'static str,
) -> Result<usize, WireError> {
    let digits = hex.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(WireError::BadHex(field));
    }
    let len = digits.len() / 2;
    let out = out.get_mut(..len).ok_or(WireError::TooLong)?;
    for (pair, byte) in digits.chunks_exact(2).zip(out.iter_mut()) {
        let (Some(hi), Some(lo)) = (
            pair.first().copied().and_then(nibble),
            pair.get(1).copied().and_then(nibble),
        ) else {
            return Err(WireError::BadHex(field));
        };
        *byte = (hi << 4) | lo;
    }
    Ok(len)
}

/// `s` without its `0x` prefix, or `BadHex(field)`.
#[inline]
pub(crate) fn strip_0x<'a>(s: &'a str, field: &'static str) -> Result<&'a str, WireError> {
    s.strip_prefix("0x").ok_or(WireError::BadHex(field))
}

/// Exactly `N` bytes from `0x` + `2N` hex digits (an address or a hash).
pub(crate) fn parse_fixed<const N: usize>(
    s: &str,
    field: &'static str,
) -> Result<[u8; N], WireError> {
    let digits = strip_0x(s, field)?;
    if digits.len() != 2 * N {
        return Err(WireError::BadHex(field));
    }
    let mut out = [0u8; N];
    decode_field_into(digits, &mut out, field)?;
    Ok(out)
}

/// The significant digits of a quantity: `0x` stripped, leading zeros stripped, at most
/// `max_digits` left. Digits are validated by the caller's fold.
#[inline]
fn significant<'a>(
    s: &'a str,
    field: &'static str,
    max_digits: usize,
) -> Result<&'a [u8], WireError> {
    let digits = s.strip_prefix("0x").ok_or(WireError::BadNumber(field))?;
    if digits.is_empty() {
        return Err(WireError::BadNumber(field));
    }
    let trimmed = digits.trim_start_matches('0').as_bytes();
    if trimmed.len() > max_digits {
        return Err(WireError::BadNumber(field));
    }
    Ok(trimmed)
}

/// A `0x` quantity that fits in a `u128`.
pub(crate) fn parse_u128(s: &str, field: &'static str) -> Result<u128, WireError> {
    let digits = significant(s, field, 32)?;
    digits.iter().try_fold(0u128, |acc, &d| {
        let value = nibble(d).ok_or(WireError::BadNumber(field))?;
        Ok((acc << 4) | u128::from(value))
    })
}

/// A `0x` quantity that fits in a `u64`.
pub(crate) fn parse_u64(s: &str, field: &'static str) -> Result<u64, WireError> {
    let digits = significant(s, field, 16)?;
    digits.iter().try_fold(0u64, |acc, &d| {
        let value = nibble(d).ok_or(WireError::BadNumber(field))?;
        Ok((acc << 4) | u64::from(value))
    })
}

/// A `0x` quantity that fits in a `U256`.
pub(crate) fn parse_u256(s: &str, field: &'static str) -> Result<U256, WireError> {
    let digits = significant(s, field, 64)?;
    let mut be = [0u8; 32];
    // Fill from the least significant digit so an odd digit count needs no special case.
    for (i, &d) in digits.iter().rev().enumerate() {
        let value = nibble(d).ok_or(WireError::BadNumber(field))?;
        let slot = 31usize.checked_sub(i / 2).and_then(|k| be.get_mut(k));
        let byte = slot.ok_or(WireError::BadNumber(field))?;
        *byte |= value << (4 * (i % 2));
    }
    Ok(U256::from_be_bytes(be))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_by_hand_values() {
        assert_eq!(parse_u64("0x0", "f"), Ok(0));
        assert_eq!(parse_u64("0x00ff", "f"), Ok(255));
        assert_eq!(parse_u64("0xaa36a7", "f"), Ok(11_155_111));
        assert_eq!(parse_u64("0xffffffffffffffff", "f"), Ok(u64::MAX));
        assert_eq!(
            parse_u64("0x10000000000000000", "f"),
            Err(WireError::BadNumber("f"))
        );
        assert_eq!(parse_u64("0x", "f"), Err(WireError::BadNumber("f")));
        assert_eq!(parse_u64("12", "f"), Err(WireError::BadNumber("f")));
        assert_eq!(parse_u64("0x1g", "f"), Err(WireError::BadNumber("f")));
        assert_eq!(parse_u128("0x4a817c800", "f"), Ok(20_000_000_000));
        assert_eq!(
            parse_u128(&format!("0x1{}", "0".repeat(32)), "f"),
            Err(WireError::BadNumber("f"))
        );
        assert_eq!(parse_u256("0xABC", "f"), Ok(U256::from(0xabc)));
        assert_eq!(
            parse_u256(&format!("0x{}", "f".repeat(64)), "f"),
            Ok(U256::MAX)
        );
        assert_eq!(
            parse_u256(&format!("0x1{}", "0".repeat(64)), "f"),
            Err(WireError::BadNumber("f"))
        );
        assert_eq!(
            parse_u256(&format!("0x000{}", "f".repeat(64)), "f"),
            Ok(U256::MAX)
        );
    }

    #[test]
    fn hex_decoding_rejects_bad_input() {
        let mut out = [0u8; 4];
        assert_eq!(decode_hex_into("deadBEEF", &mut out), Ok(4));
        assert_eq!(out, [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(decode_hex_into("", &mut out), Ok(0));
        assert_eq!(
            decode_hex_into("abc", &mut out),
            Err(WireError::BadHex("hex"))
        );
        assert_eq!(
            decode_hex_into("zz", &mut out),
            Err(WireError::BadHex("hex"))
        );
        assert_eq!(
            decode_hex_into("0011223344", &mut out),
            Err(WireError::TooLong)
        );
        assert_eq!(parse_fixed::<2>("0x1234", "a"), Ok([0x12, 0x34]));
        assert_eq!(parse_fixed::<2>("1234", "a"), Err(WireError::BadHex("a")));
        assert_eq!(
            parse_fixed::<2>("0x123456", "a"),
            Err(WireError::BadHex("a"))
        );
    }
}
