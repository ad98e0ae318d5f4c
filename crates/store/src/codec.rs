//! How values become TEXT columns and back: amounts as decimal, hashes and addresses as `0x`
//! lowercase hex. Parsing is strict so a damaged row is reported, not misread.

use std::str::FromStr;

use kestrel_types::{Address, B256, U256};

use crate::StoreError;

/// `0x` followed by 64 lowercase hex digits.
pub(crate) fn hash_text(h: &B256) -> String {
    format!("{h:#x}")
}

/// `0x` followed by 40 lowercase hex digits (not checksummed: the column compares as text).
pub(crate) fn address_text(a: &Address) -> String {
    format!("{a:#x}")
}

/// Decimal digits, no sign, no exponent.
pub(crate) fn amount_text(v: &U256) -> String {
    v.to_string()
}

/// Parses a column written by [`hash_text`].
pub(crate) fn parse_hash(
    table: &'static str,
    column: &'static str,
    s: String,
) -> Result<B256, StoreError> {
    if is_prefixed_hex(&s, 64)
        && let Ok(h) = B256::from_str(&s)
    {
        return Ok(h);
    }
    Err(StoreError::Corrupt {
        table,
        column,
        value: s,
    })
}

/// Parses a column written by [`address_text`].
pub(crate) fn parse_address(
    table: &'static str,
    column: &'static str,
    s: String,
) -> Result<Address, StoreError> {
    if is_prefixed_hex(&s, 40)
        && let Ok(a) = Address::from_str(&s)
    {
        return Ok(a);
    }
    Err(StoreError::Corrupt {
        table,
        column,
        value: s,
    })
}

/// Parses a column written by [`amount_text`]: decimal digits only, at most `U256::MAX`.
pub(crate) fn parse_amount(
    table: &'static str,
    column: &'static str,
    s: String,
) -> Result<U256, StoreError> {
    let digits_only = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match U256::from_str_radix(&s, 10) {
        Ok(v) if digits_only => Ok(v),
        _ => Err(StoreError::Corrupt {
            table,
            column,
            value: s,
        }),
    }
}

/// Parses a column written by an integer's `to_string` (`u64`, `u128`, `i128`, ...): an
/// optional `-` then decimal digits, in `T`'s range. A `+`, spaces or an exponent are refused.
pub(crate) fn parse_int<T: FromStr>(
    table: &'static str,
    column: &'static str,
    s: String,
) -> Result<T, StoreError> {
    let digits = s.strip_prefix('-').unwrap_or(&s);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(v) = s.parse::<T>()
    {
        return Ok(v);
    }
    Err(StoreError::Corrupt {
        table,
        column,
        value: s,
    })
}

fn is_prefixed_hex(s: &str, digits: usize) -> bool {
    s.len() == digits + 2
        && s.starts_with("0x")
        && s.bytes()
            .skip(2)
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_types::{address, b256};

    #[test]
    fn hashes_and_addresses_are_prefixed_lowercase_hex() {
        let h = b256!("00000000000000000000000000000000000000000000000000000000000000ab");
        assert_eq!(
            hash_text(&h),
            "0x00000000000000000000000000000000000000000000000000000000000000ab"
        );
        // The EIP-55 checksummed form is 0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D.
        let a = address!("7a250d5630b4cf539739df2c5dacb4c659f2488d");
        assert_eq!(
            address_text(&a),
            "0x7a250d5630b4cf539739df2c5dacb4c659f2488d"
        );
        assert_eq!(parse_hash("t", "c", hash_text(&h)).unwrap(), h);
        assert_eq!(parse_address("t", "c", address_text(&a)).unwrap(), a);
    }

    #[test]
    fn amounts_are_plain_decimal() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(amount_text(&U256::MAX), max);
        assert_eq!(
            amount_text(&U256::from(1_000_000_000_000_000_000u128)),
            "1000000000000000000"
        );
        assert_eq!(parse_amount("t", "c", max.to_owned()).unwrap(), U256::MAX);
        assert_eq!(parse_amount("t", "c", "0".to_owned()).unwrap(), U256::ZERO);
    }

    #[test]
    fn integers_round_trip_and_damaged_ones_are_reported() {
        for v in [i128::MIN, -1, 0, 1, i128::MAX] {
            assert_eq!(parse_int::<i128>("t", "c", v.to_string()).unwrap(), v);
        }
        assert_eq!(
            parse_int::<u128>("t", "c", u128::MAX.to_string()).unwrap(),
            u128::MAX
        );
        for bad in ["", "-", "+1", " 1", "1e3", "1.0", "0x1", "--1"] {
            assert!(
                parse_int::<i128>("t", "c", bad.to_owned()).is_err(),
                "{bad:?} parsed"
            );
        }
        // Out of the type's range.
        assert!(parse_int::<u128>("t", "c", "-1".to_owned()).is_err());
        assert!(parse_int::<u64>("t", "c", u128::MAX.to_string()).is_err());
        let past_max = format!("{}0", i128::MAX);
        assert!(parse_int::<i128>("t", "c", past_max).is_err());
    }

    #[test]
    fn damaged_text_is_reported() {
        let over_max =
            "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        for bad in ["", "-1", "1e18", "0x10", "12.5", " 7", over_max] {
            assert!(
                parse_amount("t", "c", bad.to_owned()).is_err(),
                "{bad:?} parsed"
            );
        }
        for bad in [
            "",
            "0x",
            "ab",
            "0xAB",
            "0x00000000000000000000000000000000000000000000000000000000000000AB",
        ] {
            assert!(
                parse_hash("t", "c", bad.to_owned()).is_err(),
                "{bad:?} parsed"
            );
        }
        assert!(
            parse_address(
                "t",
                "c",
                "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D".to_owned()
            )
            .is_err()
        );
    }
}
