//! OKX API v5 REST authentication (okx.com/docs-v5, "REST Authentication").
//!
//! `OK-ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body))`,
//! where `requestPath` includes `?query` for GET and `body` is the JSON text for POST (empty for
//! GET). `OK-ACCESS-TIMESTAMP` is ISO 8601 UTC with milliseconds (`2020-12-08T09:08:57.715Z`),
//! the same text that was signed, and a request more than 30 s away from the server's clock is
//! refused. The secret is used as its ASCII bytes (it is not base64-decoded).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use kestrel_types::cex::Venue;
use sha2::Sha256;

use super::wire::{self, Redacted};
use super::{ApiSecret, AuthError, HttpMethod, Rejection};

/// How far `OK-ACCESS-TIMESTAMP` may be from the server's clock, either way.
pub const OKX_MAX_CLOCK_SKEW_MS: u64 = 30_000;

const VENUE: Venue = Venue::Okx;
/// Unix milliseconds of 10000-01-01T00:00:00Z: the first instant four year digits cannot show.
const YEAR_10000_MS: u64 = 253_402_300_800_000;
const MS_PER_DAY: u64 = 86_400_000;
/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const UNIX_EPOCH_DAYS_FROM_0000_03_01: u64 = 719_468;
const DAYS_PER_ERA: u64 = 146_097;

/// An `OK-ACCESS-TIMESTAMP`: `YYYY-MM-DDTHH:MM:SS.mmmZ`, 24 ASCII bytes, no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OkxTimestamp([u8; 24]);

impl OkxTimestamp {
    /// The timestamp text.
    pub fn as_str(&self) -> &str {
        // Built from ASCII digits and punctuation only, so this is always valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for OkxTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OkxTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OkxTimestamp({})", self.as_str())
    }
}

/// Formats unix milliseconds as OKX's timestamp, e.g. `1607418537715` as
/// `2020-12-08T09:08:57.715Z`. Years past 9999 do not fit the format.
pub fn format_okx_timestamp(unix_ms: u64) -> Result<OkxTimestamp, AuthError> {
    if unix_ms >= YEAR_10000_MS {
        return Err(AuthError::TimestampOutOfRange { unix_ms });
    }
    let days = unix_ms / MS_PER_DAY;
    let ms_of_day = unix_ms % MS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"0000-00-00T00:00:00.000Z";
    write_digits(&mut out[0..4], year);
    write_digits(&mut out[5..7], month);
    write_digits(&mut out[8..10], day);
    write_digits(&mut out[11..13], ms_of_day / 3_600_000);
    write_digits(&mut out[14..16], ms_of_day / 60_000 % 60);
    write_digits(&mut out[17..19], ms_of_day / 1_000 % 60);
    write_digits(&mut out[20..23], ms_of_day % 1_000);
    Ok(OkxTimestamp(out))
}

/// Parses an OKX timestamp back to unix milliseconds. Exactly `YYYY-MM-DDTHH:MM:SS.mmmZ`, a
/// real calendar date from 1970 on, hours below 24, minutes and seconds below 60; anything
/// else is `None`.
pub fn parse_okx_timestamp(text: &str) -> Option<u64> {
    let b: &[u8; 24] = text.as_bytes().try_into().ok()?;
    let punctuation = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ];
    if punctuation.iter().any(|&(i, c)| b[i] != c) || b[23] != b'Z' {
        return None;
    }
    let year = read_digits(&b[0..4])?;
    let month = read_digits(&b[5..7])?;
    let day = read_digits(&b[8..10])?;
    let hour = read_digits(&b[11..13])?;
    let minute = read_digits(&b[14..16])?;
    let second = read_digits(&b[17..19])?;
    let milli = read_digits(&b[20..23])?;
    let valid = year >= 1970
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1_000 + milli)
}

/// Year, month, day of the day `days` after 1970-01-01 (H. Hinnant's `civil_from_days`,
/// restricted to non-negative days so that it is all unsigned arithmetic).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + UNIX_EPOCH_DAYS_FROM_0000_03_01;
    let era = z / DAYS_PER_ERA;
    let doe = z - era * DAYS_PER_ERA;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to the given date, for years from 1970 on (`days_from_civil`).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * DAYS_PER_ERA + doe - UNIX_EPOCH_DAYS_FROM_0000_03_01
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn write_digits(out: &mut [u8], mut value: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn read_digits(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u64::from(d - b'0'))
    })
}

/// Signs OKX v5 REST requests.
#[derive(Clone)]
pub struct OkxSigner {
    api_key: String,
    passphrase: ApiSecret,
    mac: Hmac<Sha256>,
}

/// The four authentication headers of one request.
#[derive(Clone, PartialEq, Eq)]
pub struct OkxHeaders {
    /// `OK-ACCESS-KEY`.
    pub key: String,
    /// `OK-ACCESS-SIGN`.
    pub sign: String,
    /// `OK-ACCESS-TIMESTAMP`.
    pub timestamp: OkxTimestamp,
    /// `OK-ACCESS-PASSPHRASE` (a secret: redacted in `Debug`).
    pub passphrase: String,
}

impl fmt::Debug for OkxHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OkxHeaders")
            .field("key", &format_args!("{}…", wire::key_hint(&self.key)))
            .field("sign", &Redacted(self.sign.len()))
            .field("timestamp", &self.timestamp)
            .field("passphrase", &format_args!("<redacted>"))
            .finish()
    }
}

impl OkxSigner {
    /// A signer for `api_key`, with the secret key and the passphrase chosen when the key was
    /// created.
    pub fn new(
        api_key: &str,
        secret: &ApiSecret,
        passphrase: &ApiSecret,
    ) -> Result<Self, AuthError> {
        if !wire::is_visible_ascii(api_key) {
            return Err(AuthError::BadApiKey { venue: VENUE });
        }
        if secret.is_empty() || passphrase.is_empty() {
            return Err(AuthError::EmptySecret { venue: VENUE });
        }
        // HMAC takes keys of any length; the error arm only keeps this total.
        let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| AuthError::EmptySecret { venue: VENUE })?;
        Ok(Self {
            api_key: api_key.to_owned(),
            passphrase: passphrase.clone(),
            mac,
        })
    }

    /// The API key, sent as `OK-ACCESS-KEY`.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// `OK-ACCESS-SIGN` for the given timestamp text, method, request path (with `?query` for
    /// GET) and body (empty for GET).
    pub fn sign(
        &self,
        timestamp: &str,
        method: HttpMethod,
        request_path: &str,
        body: &str,
    ) -> String {
        STANDARD.encode(self.tag(timestamp, method.as_str(), request_path, body))
    }

    /// All four headers for a request made at `unix_ms`.
    pub fn headers(
        &self,
        unix_ms: u64,
        method: HttpMethod,
        request_path: &str,
        body: &str,
    ) -> Result<OkxHeaders, AuthError> {
        let timestamp = format_okx_timestamp(unix_ms)?;
        Ok(OkxHeaders {
            key: self.api_key.clone(),
            sign: self.sign(timestamp.as_str(), method, request_path, body),
            timestamp,
            passphrase: self.passphrase.expose().to_owned(),
        })
    }

    fn tag(&self, timestamp: &str, method: &str, request_path: &str, body: &str) -> Vec<u8> {
        self.mac
            .clone()
            .chain_update(timestamp)
            .chain_update(method)
            .chain_update(request_path)
            .chain_update(body)
            .finalize()
            .into_bytes()
            .to_vec()
    }
}

impl fmt::Debug for OkxSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OkxSigner")
            .field(
                "api_key",
                &format_args!("{}…", wire::key_hint(&self.api_key)),
            )
            .field("secret", &format_args!("<redacted>"))
            .field("passphrase", &self.passphrase)
            .finish()
    }
}

/// A private REST request as it reaches the venue.
#[derive(Clone, Copy)]
pub struct OkxRequest<'a> {
    /// `OK-ACCESS-KEY`, if sent.
    pub access_key: Option<&'a str>,
    /// `OK-ACCESS-SIGN`, if sent.
    pub access_sign: Option<&'a str>,
    /// `OK-ACCESS-TIMESTAMP`, if sent.
    pub access_timestamp: Option<&'a str>,
    /// `OK-ACCESS-PASSPHRASE`, if sent.
    pub access_passphrase: Option<&'a str>,
    /// The request method.
    pub method: HttpMethod,
    /// The path with its `?query`, e.g. `/api/v5/account/balance?ccy=BTC`.
    pub request_path: &'a str,
    /// The body exactly as received (empty for GET).
    pub body: &'a str,
}

impl fmt::Debug for OkxRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OkxRequest")
            .field("access_key", &self.access_key.map(wire::key_hint))
            .field("access_sign", &wire::redacted(self.access_sign))
            .field("access_timestamp", &self.access_timestamp)
            .field("access_passphrase", &wire::redacted(self.access_passphrase))
            .field("method", &self.method)
            .field("request_path", &self.request_path)
            .field("body", &Redacted(self.body.len()))
            .finish()
    }
}

/// Checks a private request as OKX does, against the key's secret and passphrase, with the
/// server's clock at `server_ms`. All rejections are HTTP 401.
///
/// In order: a missing or empty header (`50103` key, `50104` passphrase, `50106` sign, `50107`
/// timestamp), the key (`50111`), the timestamp format (`50112`), its age (`50102`), the
/// passphrase (`50105`), then the signature (`50113`).
pub fn verify_okx(
    request: &OkxRequest<'_>,
    key: &OkxSigner,
    server_ms: u64,
) -> Result<(), Rejection> {
    let sent_key = present(request.access_key).ok_or_else(|| rejection(50103))?;
    let passphrase = present(request.access_passphrase).ok_or_else(|| rejection(50104))?;
    let sign = present(request.access_sign).ok_or_else(|| rejection(50106))?;
    let timestamp = present(request.access_timestamp).ok_or_else(|| rejection(50107))?;
    if !wire::ct_eq(sent_key.as_bytes(), key.api_key.as_bytes()) {
        return Err(rejection(50111));
    }
    let timestamp_ms = parse_okx_timestamp(timestamp).ok_or_else(|| rejection(50112))?;
    if timestamp_ms.abs_diff(server_ms) > OKX_MAX_CLOCK_SKEW_MS {
        return Err(rejection(50102));
    }
    if !wire::ct_eq(passphrase.as_bytes(), key.passphrase.as_bytes()) {
        return Err(rejection(50105));
    }
    let signature_ok = STANDARD.decode(sign).is_ok_and(|sent| {
        let expected = key.tag(
            timestamp,
            request.method.as_str(),
            request.request_path,
            request.body,
        );
        wire::ct_eq(&sent, &expected)
    });
    if signature_ok {
        Ok(())
    } else {
        Err(rejection(50113))
    }
}

/// A header that was sent and is not empty.
fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

fn rejection(code: i64) -> Rejection {
    let message = match code {
        50102 => "Timestamp request expired",
        50103 => "Request header \"OK-ACCESS-KEY\" cannot be empty",
        50104 => "Request header \"OK-ACCESS-PASSPHRASE\" cannot be empty",
        50105 => "Request header \"OK-ACCESS-PASSPHRASE\" incorrect",
        50106 => "Request header \"OK-ACCESS-SIGN\" cannot be empty",
        50107 => "Request header \"OK-ACCESS-TIMESTAMP\" cannot be empty",
        50111 => "Invalid OK-ACCESS-KEY",
        50112 => "Invalid OK-ACCESS-TIMESTAMP",
        _ => "Invalid Sign",
    };
    Rejection::fixed(VENUE, 401, Some(code), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_conversions_agree_on_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(18_604), (2020, 12, 8));
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(9999, 12, 31),
            YEAR_10000_MS / MS_PER_DAY - 1
        );
    }

    #[test]
    fn parser_rejects_impossible_dates_and_shapes() {
        for bad in [
            "2021-02-29T00:00:00.000Z",
            "2020-13-01T00:00:00.000Z",
            "2020-00-01T00:00:00.000Z",
            "2020-04-31T00:00:00.000Z",
            "2020-01-01T24:00:00.000Z",
            "2020-01-01T00:60:00.000Z",
            "2020-01-01T00:00:60.000Z",
            "1969-12-31T23:59:59.999Z",
            "2020-01-01T00:00:00.000",
            "2020-01-01T00:00:00.00Z",
            "2020-01-01 00:00:00.000Z",
            "2020-01-01T00:00:00.0a0Z",
            "+020-01-01T00:00:00.000Z",
        ] {
            assert_eq!(parse_okx_timestamp(bad), None, "{bad}");
        }
        assert_eq!(
            parse_okx_timestamp("2000-02-29T00:00:00.000Z"),
            Some(11_016 * MS_PER_DAY)
        );
    }
}
