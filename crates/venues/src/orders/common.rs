//! What the five venue modules share: the HTTP/1.1 framing, input checks, exact decimal
//! helpers, and the context that turns an unreadable answer into a classified error.

use std::fmt;
use std::io::Write as _;

use kestrel_types::cex::{Fixed, FixedError, OrderSide, Scale, Venue};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    Amount, Call, ErrorClass, ErrorCode, OrderRef, Scales, VenueError, WriteError, classify,
    classify_by_status,
};
use crate::auth::HttpMethod;

/// Sent on every request: Kraken requires a `User-Agent`, and the others accept one.
pub(crate) const USER_AGENT: &str = "kestrel/0.1";
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";
pub(crate) const JSON: &str = "application/json";

/// The request line and the headers every request carries.
pub(crate) struct Head<'a> {
    pub method: HttpMethod,
    pub path: &'a str,
    /// Without the `?`; empty for none.
    pub query: &'a str,
    pub host: &'a str,
    /// `None` for a request without a body.
    pub content_type: Option<&'static str>,
}

/// Completes a request whose body is already `out[..body_len]`: appends the head (request
/// line, `Host`, `User-Agent`, the venue's `headers`, `Content-Type`, `Content-Length`, blank
/// line) and rotates it in front of the body, in place.
pub(crate) fn finish(
    out: &mut Vec<u8>,
    body_len: usize,
    head: &Head<'_>,
    headers: &[(&str, &str)],
) {
    debug_assert!(
        body_len <= out.len(),
        "Invariant: the body is in the buffer"
    );
    out.extend_from_slice(head.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(head.path.as_bytes());
    if !head.query.is_empty() {
        out.push(b'?');
        out.extend_from_slice(head.query.as_bytes());
    }
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(head.host.as_bytes());
    out.extend_from_slice(b"\r\nUser-Agent: ");
    out.extend_from_slice(USER_AGENT.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(content_type) = head.content_type {
        out.extend_from_slice(b"Content-Type: ");
        out.extend_from_slice(content_type.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // Writing to a Vec cannot fail.
    let _ = write!(out, "Content-Length: {body_len}\r\n\r\n");
    out.rotate_left(body_len);
}

/// Writes `value` as plain decimal text with exactly `scale` fraction digits.
pub(crate) fn put_fixed(out: &mut Vec<u8>, value: Fixed, scale: Scale) {
    let one = scale.one();
    let whole = value.0 / one;
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{whole}");
    if scale.digits() > 0 {
        let width = usize::from(scale.digits());
        let _ = write!(out, ".{:0width$}", value.0 % one);
    }
}

/// The buffer's text: everything written into it is ASCII, so this never fails in practice.
pub(crate) fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// A symbol any venue's path, query, form or JSON can carry unescaped.
pub(crate) fn check_symbol(venue: Venue, symbol: &str) -> Result<(), WriteError> {
    let ok = !symbol.is_empty()
        && symbol.len() <= 64
        && symbol
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(WriteError::BadSymbol { venue })
    }
}

/// The venue's own id of `order`, for a request that takes no other reference (an order's
/// fills), on a checked `symbol`; `check` is the venue's rule for order references.
pub(crate) fn venue_order_id<'a>(
    venue: Venue,
    symbol: &str,
    order: OrderRef<'a>,
    check: fn(OrderRef<'_>) -> Result<(), WriteError>,
) -> Result<&'a str, WriteError> {
    check_symbol(venue, symbol)?;
    let OrderRef::Venue(id) = order else {
        return Err(WriteError::NeedsVenueOrderId { venue });
    };
    check(order)?;
    Ok(id)
}

/// A client id of `1..=max_len` bytes, each accepted by `allowed`.
pub(crate) fn check_client_id(
    venue: Venue,
    client_id: &str,
    max_len: usize,
    allowed: fn(u8) -> bool,
    rule: &'static str,
) -> Result<(), WriteError> {
    if !client_id.is_empty() && client_id.len() <= max_len && client_id.bytes().all(allowed) {
        Ok(())
    } else {
        Err(WriteError::BadClientId { venue, rule })
    }
}

/// Letters, digits, `-` and `_`.
pub(crate) fn id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')
}

/// A positive size and limit.
pub(crate) fn check_amounts(venue: Venue, size: Fixed, limit: Fixed) -> Result<(), WriteError> {
    if size.is_zero() || limit.is_zero() {
        Err(WriteError::ZeroAmount { venue })
    } else {
        Ok(())
    }
}

/// The side as `BUY`/`SELL`, `Buy`/`Sell` or `buy`/`sell`.
pub(crate) const fn side_upper(side: OrderSide) -> &'static str {
    match side {
        OrderSide::Buy => "BUY",
        OrderSide::Sell => "SELL",
    }
}

pub(crate) const fn side_lower(side: OrderSide) -> &'static str {
    match side {
        OrderSide::Buy => "buy",
        OrderSide::Sell => "sell",
    }
}

// ---------------------------------------------------------------------------------------------
// Exact decimals
// ---------------------------------------------------------------------------------------------

fn pow10(exp: u8) -> Option<u128> {
    10u128.checked_pow(u32::from(exp))
}

/// `units × 10^-from` as units of `10^-to`, or `None` when a non-zero digit would be lost or
/// the value overflows.
pub(crate) fn rescale(units: u128, from: u8, to: u8) -> Option<u128> {
    if to >= from {
        units.checked_mul(pow10(to - from)?)
    } else {
        let divisor = pow10(from - to)?;
        units.is_multiple_of(divisor).then(|| units / divisor)
    }
}

pub(crate) fn parse_amount(text: &str) -> Result<Amount, FixedError> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() {
        return Err(FixedError::Syntax);
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) || (text.contains('.') && fraction.is_empty()) {
        return Err(FixedError::Syntax);
    }
    // Trailing zeros past the widest scale carry nothing.
    let mut fraction = fraction;
    while fraction.len() > usize::from(Amount::MAX_DIGITS) && fraction.ends_with('0') {
        fraction = &fraction[..fraction.len() - 1];
    }
    let digits = u8::try_from(fraction.len())
        .ok()
        .filter(|d| *d <= Amount::MAX_DIGITS)
        .ok_or(FixedError::Precision)?;
    let units = whole
        .bytes()
        .chain(fraction.bytes())
        .try_fold(0u128, |acc, b| {
            acc.checked_mul(10)?.checked_add(u128::from(b - b'0'))
        })
        .ok_or(FixedError::Overflow)?;
    Amount::new(units, digits).ok_or(FixedError::Precision)
}

/// Parses decimal text that may carry a leading `-`: `(negative, magnitude)`. `-0` is not
/// negative.
pub(crate) fn parse_signed(text: &str) -> Result<(bool, Amount), FixedError> {
    match text.strip_prefix('-') {
        Some(rest) => parse_amount(rest).map(|a| (!a.is_zero(), a)),
        None => parse_amount(text).map(|a| (false, a)),
    }
}

pub(crate) fn fmt_units(units: u128, digits: u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let Some(one) = pow10(digits) else {
        return write!(f, "{units}e-{digits}");
    };
    write!(f, "{}", units / one)?;
    if digits > 0 {
        write!(f, ".{:0width$}", units % one, width = usize::from(digits))?;
    }
    Ok(())
}

/// Fraction digits of a step such as `"0.00100000"` (3): the place of its last non-zero digit.
pub(crate) fn step_digits(text: &str) -> u8 {
    let fraction = text.split_once('.').map_or("", |(_, f)| f);
    let used = fraction.trim_end_matches('0').len();
    u8::try_from(used).unwrap_or(u8::MAX)
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/// A JSON value kept as written: a decimal as a string (`"0.1"`) or a bare number (`0.1`,
/// Kraken's examples), or an id as a number (Binance `orderId`). Exact, never through `f64`.
#[derive(Clone, Copy, Deserialize)]
#[serde(transparent)]
pub(crate) struct Num<'a>(#[serde(borrow)] pub &'a RawValue);

impl<'a> Num<'a> {
    /// The text without surrounding quotes.
    pub fn text(&self) -> &'a str {
        let raw = self.0.get();
        raw.strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(raw)
    }
}

impl fmt::Debug for Num<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get())
    }
}

/// The text of an optional value, empty when absent or `null`.
pub(crate) fn opt_text<'a>(value: Option<Num<'a>>) -> &'a str {
    value.map_or("", |n| if n.0.get() == "null" { "" } else { n.text() })
}

// ---------------------------------------------------------------------------------------------
// Reading answers
// ---------------------------------------------------------------------------------------------

/// The answer being read: enough to classify any error it turns out to be.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx {
    pub venue: Venue,
    pub call: Call,
    pub http_status: u16,
}

impl Ctx {
    pub fn new(venue: Venue, call: Call, http_status: u16) -> Ctx {
        Ctx {
            venue,
            call,
            http_status,
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.http_status)
    }

    /// The venue said no, with this code and message.
    pub fn refused(&self, code: Option<ErrorCode>, message: String) -> VenueError {
        let class = classify(self.venue, self.call, self.http_status, code.as_ref());
        VenueError {
            venue: self.venue,
            http_status: self.http_status,
            code,
            message,
            class,
        }
    }

    /// The answer could not be read. On a 2xx to an order change the change may have
    /// happened (query first); on a 2xx to a read, retrying reads the same thing (rejected);
    /// otherwise the HTTP status decides.
    pub fn unreadable(&self, what: impl fmt::Display) -> VenueError {
        let class = match (self.is_success(), self.call.changes_order()) {
            (true, true) => ErrorClass::UnknownOutcome,
            (true, false) => ErrorClass::Rejected,
            (false, _) => classify_by_status(self.venue, self.call, self.http_status),
        };
        VenueError {
            venue: self.venue,
            http_status: self.http_status,
            code: None,
            message: format!("unreadable answer: {what}"),
            class,
        }
    }

    /// An error answer in no format the venue documents (an HTML page from a proxy, an empty
    /// body): classified by status, with the start of the body as the message.
    pub fn by_status(&self, body: &[u8]) -> VenueError {
        let shown = String::from_utf8_lossy(body.get(..200).unwrap_or(body)).into_owned();
        VenueError {
            venue: self.venue,
            http_status: self.http_status,
            code: None,
            message: shown,
            class: classify_by_status(self.venue, self.call, self.http_status),
        }
    }

    pub fn json<'a, T: Deserialize<'a>>(&self, body: &'a [u8]) -> Result<T, VenueError> {
        serde_json::from_slice(body).map_err(|e| self.unreadable(e))
    }

    pub fn fixed(&self, text: &str, scale: Scale, field: &str) -> Result<Fixed, VenueError> {
        Fixed::parse(text.as_bytes(), scale).map_err(|e| {
            self.unreadable(format_args!(
                "`{field}` = `{}`: {e} ({} digits)",
                clip(text),
                scale.digits()
            ))
        })
    }

    pub fn amount(&self, text: &str, field: &str) -> Result<Amount, VenueError> {
        parse_amount(text)
            .map_err(|e| self.unreadable(format_args!("`{field}` = `{}`: {e}", clip(text))))
    }

    /// An amount that may be empty (`""`): `None` then.
    pub fn opt_amount(&self, text: &str, field: &str) -> Result<Option<Amount>, VenueError> {
        if text.is_empty() {
            Ok(None)
        } else {
            self.amount(text, field).map(Some)
        }
    }

    pub fn signed(&self, text: &str, field: &str) -> Result<(bool, Amount), VenueError> {
        parse_signed(text)
            .map_err(|e| self.unreadable(format_args!("`{field}` = `{}`: {e}", clip(text))))
    }

    /// A quote amount as notional units (`scales.notional_digits()`), exactly.
    pub fn notional(&self, text: &str, scales: Scales, field: &str) -> Result<u128, VenueError> {
        let amount = self.amount(text, field)?;
        amount.units_at(scales.notional_digits()).ok_or_else(|| {
            self.unreadable(format_args!(
                "`{field}` = `{}` is not exact at {} digits",
                clip(text),
                scales.notional_digits()
            ))
        })
    }

    pub fn missing(&self, what: &str) -> VenueError {
        self.unreadable(format_args!("no {what}"))
    }
}

/// At most 40 characters of untrusted text, for a message.
pub(crate) fn clip(text: &str) -> &str {
    let end = text.char_indices().nth(40).map_or(text.len(), |(i, _)| i);
    text.get(..end).unwrap_or("")
}

/// `price × size` in notional units; `None` on overflow (past 10^38 units).
pub(crate) fn product(price: Fixed, size: Fixed) -> Option<u128> {
    u128::from(price.0).checked_mul(u128::from(size.0))
}

/// Adds `amount` of `asset` to the per-asset fee totals.
pub(crate) fn add_fee(
    fees: &mut Vec<super::Fee>,
    asset: &str,
    amount: Amount,
    rebate: bool,
) -> Option<()> {
    match fees
        .iter_mut()
        .find(|f| f.asset == asset && f.rebate == rebate)
    {
        Some(fee) => fee.amount = fee.amount.checked_add(amount)?,
        None => fees.push(super::Fee {
            asset: asset.to_owned(),
            amount,
            rebate,
        }),
    }
    Some(())
}

/// A rate from decimal text exactly, at 10^-8; a negative rate (a rebate) is zero.
pub(crate) fn rate_of(
    ctx: &Ctx,
    text: &str,
    field: &str,
) -> Result<kestrel_types::cex::Rate, VenueError> {
    let (negative, amount) = ctx.signed(text, field)?;
    rate_from(
        ctx,
        if negative { Amount::default() } else { amount },
        field,
    )
}

pub(crate) fn rate_from(
    ctx: &Ctx,
    amount: Amount,
    field: &str,
) -> Result<kestrel_types::cex::Rate, VenueError> {
    amount
        .units_at(8)
        .and_then(|u| u64::try_from(u).ok())
        .map(kestrel_types::cex::Rate)
        .ok_or_else(|| ctx.unreadable(format_args!("`{field}` = {amount} is not exact at 10^-8")))
}

/// Writes an unsigned `GET path?query` to `host` into `out`.
pub(crate) fn public_get(out: &mut Vec<u8>, host: &str, path: &str, query: &str) {
    out.clear();
    let head = Head {
        method: crate::auth::HttpMethod::Get,
        path,
        query,
        host,
        content_type: None,
    };
    finish(out, 0, &head, &[]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_exactly_and_print_back() {
        for text in [
            "0",
            "0.00000192834",
            "26.2",
            "4834.317093622894",
            "12",
            "0.10",
        ] {
            let amount = parse_amount(text).expect(text);
            assert_eq!(amount.to_string(), text);
        }
        for bad in ["", ".", "1.", ".5", "-1", "1e5", "1.2.3", " 1", "0x1"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_signed("-0.0008"),
            Ok((true, parse_amount("0.0008").unwrap()))
        );
        assert_eq!(parse_signed("-0"), Ok((false, parse_amount("0").unwrap())));
    }

    #[test]
    fn rescaling_is_exact_or_refused() {
        assert_eq!(rescale(1_500, 3, 5), Some(150_000));
        assert_eq!(rescale(1_500, 3, 1), Some(15));
        assert_eq!(rescale(1_501, 3, 1), None);
        assert_eq!(rescale(u128::MAX, 0, 1), None);
        assert_eq!(step_digits("0.00100000"), 3);
        assert_eq!(step_digits("1"), 0);
        assert_eq!(step_digits("0.1"), 1);
    }
}
