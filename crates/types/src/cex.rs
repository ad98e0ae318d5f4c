//! Centralized-exchange vocabulary: venues, book sides and exact fixed-point decimals.
//!
//! Exchange prices and sizes arrive as decimal text (`"0.35130000"`, or a JSON number on
//! Kraken). They become a [`Fixed`]: an unsigned integer count of `10^-digits` units, where
//! `digits` is set per symbol (its [`Scale`]). Parsing is exact or it fails: a non-zero digit
//! past the scale is [`FixedError::Precision`], never rounded away.

use std::fmt;

pub use crate::candle::{Candle, Interval};

/// The five exchanges Kestrel connects to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Venue {
    /// Binance spot.
    Binance,
    /// Coinbase Advanced Trade.
    Coinbase,
    /// Kraken spot, WebSocket v2.
    Kraken,
    /// OKX, API v5.
    Okx,
    /// Bybit, API v5.
    Bybit,
}

impl Venue {
    /// Every venue, in a fixed order (indexes per-venue arrays).
    pub const ALL: [Venue; 5] = [
        Venue::Binance,
        Venue::Coinbase,
        Venue::Kraken,
        Venue::Okx,
        Venue::Bybit,
    ];

    /// Lowercase name, as used in config and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Venue::Binance => "binance",
            Venue::Coinbase => "coinbase",
            Venue::Kraken => "kraken",
            Venue::Okx => "okx",
            Venue::Bybit => "bybit",
        }
    }

    /// The venue a config name refers to.
    pub fn from_name(name: &str) -> Option<Venue> {
        Venue::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Position in [`Venue::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One side of an order book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BookSide {
    /// Buy orders, best (highest) first.
    Bid,
    /// Sell orders, best (lowest) first.
    Ask,
}

/// Which way an order trades.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderSide {
    /// Pay quote, receive base: takes the asks.
    Buy,
    /// Pay base, receive quote: takes the bids.
    Sell,
}

impl OrderSide {
    /// The book side an order of this side takes liquidity from.
    pub const fn takes(self) -> BookSide {
        match self {
            OrderSide::Buy => BookSide::Ask,
            OrderSide::Sell => BookSide::Bid,
        }
    }
}

/// Which asset a taker fee is charged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeeAsset {
    /// The base asset (Binance, Bybit and OKX charge a buy's fee in the base received).
    Base,
    /// The quote asset (Coinbase, Kraken; every venue for sells).
    Quote,
}

/// A rate in `10^-8` (0.1% = `Rate(100_000)`): fees and margins. Venues publish fee rates
/// with at most 8 fraction digits (Binance's `"0.00100000"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(pub u64);

impl Rate {
    /// `10^8`: a rate of one.
    pub const ONE: u128 = 100_000_000;

    /// `ceil(amount × rate)`: what a fee or margin costs, never under-counted.
    pub fn of(self, amount: u128) -> u128 {
        // Saturates only past 10^30 units, where no balance or book reaches.
        amount
            .saturating_mul(u128::from(self.0))
            .div_ceil(Self::ONE)
    }

    /// This rate times `factor` (also a rate), rounded up to `10^-8`: a fee rate reduced by
    /// a discount (Binance states the BNB discount as a factor, `"0.75000000"`).
    pub fn times(self, factor: Rate) -> Rate {
        let product = u128::from(self.0) * u128::from(factor.0);
        Rate(u64::try_from(product.div_ceil(Self::ONE)).unwrap_or(u64::MAX))
    }
}

/// Number of fraction digits of a symbol's prices or sizes: a [`Fixed`] counts `10^-digits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scale(u8);

impl Scale {
    /// The most fraction digits a scale may have: `10^18` still leaves `u64` room for 18 whole
    /// units, and no venue quotes finer than 10^-18.
    pub const MAX_DIGITS: u8 = 18;

    /// A scale of `digits` fraction digits, or `None` past [`Scale::MAX_DIGITS`].
    pub const fn new(digits: u8) -> Option<Scale> {
        if digits <= Self::MAX_DIGITS {
            Some(Scale(digits))
        } else {
            None
        }
    }

    /// Fraction digits.
    pub const fn digits(self) -> u8 {
        self.0
    }

    /// `10^digits`: the number of units in one whole.
    pub const fn one(self) -> u64 {
        10u64.pow(self.0 as u32)
    }
}

/// Why decimal text is not an exact [`Fixed`] at a scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FixedError {
    /// Empty, a sign, two points, a stray character, or an exponent out of range.
    #[error("not a plain non-negative decimal")]
    Syntax,
    /// A non-zero digit past the scale's last fraction digit.
    #[error("more precision than the symbol's scale")]
    Precision,
    /// Too large for 64 bits at this scale.
    #[error("too large for the scale")]
    Overflow,
}

/// An exact non-negative decimal: `units × 10^-digits` of its [`Scale`] (which the book or
/// symbol carries, not the value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fixed(pub u64);

impl Fixed {
    /// Zero.
    pub const ZERO: Fixed = Fixed(0);

    /// Parse decimal text (`"0.35130000"`, `"6195"`, `"1.5e-3"`) at `scale`, exactly.
    ///
    /// Accepts digits with one optional `.` and an optional exponent (Kraken sends JSON numbers,
    /// which a producer may write in exponent form). Trailing zeros past the scale are fine;
    /// any other digit there is [`FixedError::Precision`].
    pub fn parse(text: &[u8], scale: Scale) -> Result<Fixed, FixedError> {
        let (mantissa, exponent) = split_exponent(text)?;
        // Fraction digits still to fill once the mantissa's own are placed.
        let mut frac_left = i32::from(scale.0) + exponent;
        let mut units: u64 = 0;
        let mut seen_digit = false;
        let mut seen_point = false;
        let mut excess_nonzero = false;
        for &b in mantissa {
            match b {
                b'0'..=b'9' => {
                    seen_digit = true;
                    if seen_point {
                        if frac_left <= 0 {
                            excess_nonzero |= b != b'0';
                            continue;
                        }
                        frac_left -= 1;
                    }
                    units = units
                        .checked_mul(10)
                        .and_then(|u| u.checked_add(u64::from(b - b'0')))
                        .ok_or(FixedError::Overflow)?;
                }
                b'.' if !seen_point => seen_point = true,
                _ => return Err(FixedError::Syntax),
            }
        }
        if !seen_digit {
            return Err(FixedError::Syntax);
        }
        if excess_nonzero {
            return Err(FixedError::Precision);
        }
        if frac_left < 0 {
            // A positive exponent larger than the fraction, or a negative one: divide exactly.
            let divisor = pow10(frac_left.unsigned_abs()).ok_or(FixedError::Precision)?;
            if !units.is_multiple_of(divisor) {
                return Err(FixedError::Precision);
            }
            return Ok(Fixed(units / divisor));
        }
        let factor = pow10(frac_left.unsigned_abs()).ok_or(FixedError::Overflow)?;
        units
            .checked_mul(factor)
            .map(Fixed)
            .ok_or(FixedError::Overflow)
    }

    /// Whether this is zero (a level to remove, in every venue's book updates).
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Write as plain decimal text with exactly `scale` fraction digits (`"0.35130000"`), the
    /// shape venues accept in order requests.
    pub fn write(self, scale: Scale, out: &mut String) {
        let one = scale.one();
        let whole = self.0 / one;
        let frac = self.0 % one;
        use fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(out, "{whole}");
        if scale.0 > 0 {
            let _ = write!(out, ".{frac:0width$}", width = usize::from(scale.0));
        }
    }

    /// [`Fixed::write`] to a new `String` (off the hot path: reports, logs, tests).
    pub fn to_text(self, scale: Scale) -> String {
        let mut out = String::new();
        self.write(scale, &mut out);
        out
    }
}

fn pow10(exp: u32) -> Option<u64> {
    10u64.checked_pow(exp)
}

/// Split `1.5e-3` into (`1.5`, -3). Exponents beyond ±40 are syntax errors: no venue sends them.
fn split_exponent(text: &[u8]) -> Result<(&[u8], i32), FixedError> {
    let Some(pos) = text.iter().position(|&b| b == b'e' || b == b'E') else {
        return Ok((text, 0));
    };
    let (mantissa, rest) = text.split_at(pos);
    let rest = rest.get(1..).unwrap_or_default();
    let (negative, digits) = match rest.first() {
        Some(b'-') => (true, rest.get(1..).unwrap_or_default()),
        Some(b'+') => (false, rest.get(1..).unwrap_or_default()),
        _ => (false, rest),
    };
    if digits.is_empty() || digits.len() > 2 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(FixedError::Syntax);
    }
    let value = digits
        .iter()
        .fold(0i32, |acc, &d| acc * 10 + i32::from(d - b'0'));
    if value > 40 {
        return Err(FixedError::Syntax);
    }
    Ok((mantissa, if negative { -value } else { value }))
}
