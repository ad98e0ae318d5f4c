//! Binance spot SIGNED requests (`rest-api.md`, "SIGNED Endpoint security").
//!
//! The signature payload is the query string concatenated **without a separator** to the
//! request body (both already percent-encoded), with the `signature` parameter itself left out.
//! HMAC keys sign it with HMAC-SHA256 and send lowercase hex (Binance compares it without regard
//! to case); Ed25519 keys send base64 of the 64-byte signature, percent-encoded as a parameter
//! value, and it is case-sensitive.
//!
//! Timing (rest-api.md, "Timing security"): the request is processed only when
//! `timestamp < serverTime + 1000` and `serverTime - timestamp <= recvWindow`. `recvWindow`
//! defaults to 5000 ms, may not exceed 60000 ms and may carry up to three decimals (microseconds);
//! `timestamp` may be in milliseconds or microseconds.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use kestrel_types::cex::Venue;
use sha2::Sha256;

use super::wire::{self, Redacted};
use super::{ApiSecret, AuthError, Rejection};

/// `recvWindow` when a request does not send one.
pub const BINANCE_DEFAULT_RECV_WINDOW_MS: u32 = 5_000;
/// The largest `recvWindow` Binance accepts.
pub const BINANCE_MAX_RECV_WINDOW_MS: u32 = 60_000;

/// Timestamps at or above this are microseconds (16 digits); below, milliseconds (13 digits
/// until the year 2286). Binance accepts both and does not document how it tells them apart.
const MICROSECOND_TIMESTAMP_FLOOR: u64 = 1_000_000_000_000_000;
/// How far ahead of the server a timestamp may be: strictly less than one second.
const AHEAD_LIMIT_US: u64 = 1_000_000;

const VENUE: Venue = Venue::Binance;

/// The private half of a Binance API key.
#[derive(Clone)]
enum SigningKind {
    Hmac(Hmac<Sha256>),
    Ed25519(SigningKey),
}

/// Signs Binance SIGNED requests with an HMAC or an Ed25519 API key.
#[derive(Clone)]
pub struct BinanceSigner {
    api_key: String,
    kind: SigningKind,
}

impl BinanceSigner {
    /// A signer for an HMAC key: `secret` is the secret key Binance issued with `api_key`.
    pub fn hmac(api_key: &str, secret: &ApiSecret) -> Result<Self, AuthError> {
        check_api_key(api_key)?;
        Ok(Self {
            api_key: api_key.to_owned(),
            kind: SigningKind::Hmac(hmac_key(secret)?),
        })
    }

    /// A signer for an Ed25519 key: `private_key_pem` is the PKCS#8 PEM
    /// (`-----BEGIN PRIVATE KEY-----`) whose public half was registered for `api_key`.
    pub fn ed25519_pem(api_key: &str, private_key_pem: &ApiSecret) -> Result<Self, AuthError> {
        check_api_key(api_key)?;
        let key = SigningKey::from_pkcs8_pem(private_key_pem.expose()).map_err(|_| {
            AuthError::BadKey {
                venue: VENUE,
                expected: "PKCS#8 Ed25519 private key PEM",
            }
        })?;
        Ok(Self {
            api_key: api_key.to_owned(),
            kind: SigningKind::Ed25519(key),
        })
    }

    /// The API key, sent as the `X-MBX-APIKEY` header.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The signature of `payload` (query string immediately followed by the body): lowercase
    /// hex for HMAC keys, base64 for Ed25519 keys. Not yet percent-encoded; see
    /// [`BinanceSigner::signed_query`].
    pub fn sign(&self, payload: &str) -> String {
        match &self.kind {
            SigningKind::Hmac(mac) => {
                hex::encode(mac.clone().chain_update(payload).finalize().into_bytes())
            }
            SigningKind::Ed25519(key) => STANDARD.encode(key.sign(payload.as_bytes()).to_bytes()),
        }
    }

    /// `params&recvWindow=..&timestamp=..&signature=..`, ready to send as the query string or
    /// the form body. `params` are `key=value` pairs already percent-encoded and joined by `&`
    /// (may be empty). The signature covers everything before `&signature=`, and is
    /// percent-encoded (an Ed25519 signature's `+`, `/` and `=` would otherwise be mangled).
    /// Binance refuses a `recv_window_ms` above [`BINANCE_MAX_RECV_WINDOW_MS`] (`-1102`).
    pub fn signed_query(&self, params: &str, timestamp_ms: u64, recv_window_ms: u32) -> String {
        let mut query = String::with_capacity(params.len() + 160);
        if !params.is_empty() {
            query.push_str(params);
            query.push('&');
        }
        query.push_str(&format!(
            "recvWindow={recv_window_ms}&timestamp={timestamp_ms}"
        ));
        let signature = wire::percent_encode(&self.sign(&query));
        query.push_str("&signature=");
        query.push_str(&signature);
        query
    }

    /// What the venue holds to check this signer's requests: the same secret for HMAC, the
    /// public key for Ed25519.
    pub fn verify_key(&self) -> BinanceVerifyKey {
        let kind = match &self.kind {
            SigningKind::Hmac(mac) => VerifyKind::Hmac(mac.clone()),
            SigningKind::Ed25519(key) => VerifyKind::Ed25519(key.verifying_key()),
        };
        BinanceVerifyKey {
            api_key: self.api_key.clone(),
            kind,
        }
    }
}

impl fmt::Debug for BinanceSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinanceSigner")
            .field(
                "api_key",
                &format_args!("{}…", wire::key_hint(&self.api_key)),
            )
            .field("kind", &self.kind_name())
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

impl BinanceSigner {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            SigningKind::Hmac(_) => "hmac",
            SigningKind::Ed25519(_) => "ed25519",
        }
    }
}

/// What the venue keeps to check a key's requests.
#[derive(Clone)]
enum VerifyKind {
    Hmac(Hmac<Sha256>),
    Ed25519(VerifyingKey),
}

/// The venue's side of one API key: the shared HMAC secret, or the registered Ed25519 public
/// key. Build it with [`BinanceSigner::verify_key`] or [`BinanceVerifyKey::ed25519_public_pem`].
#[derive(Clone)]
pub struct BinanceVerifyKey {
    api_key: String,
    kind: VerifyKind,
}

impl BinanceVerifyKey {
    /// The venue's record of an Ed25519 key: `public_key_pem` is the SPKI PEM
    /// (`-----BEGIN PUBLIC KEY-----`) the user registered.
    pub fn ed25519_public_pem(api_key: &str, public_key_pem: &str) -> Result<Self, AuthError> {
        check_api_key(api_key)?;
        let key =
            VerifyingKey::from_public_key_pem(public_key_pem).map_err(|_| AuthError::BadKey {
                venue: VENUE,
                expected: "Ed25519 public key PEM",
            })?;
        Ok(Self {
            api_key: api_key.to_owned(),
            kind: VerifyKind::Ed25519(key),
        })
    }

    /// The API key this record belongs to.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }
}

impl fmt::Debug for BinanceVerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, key) = match self.kind {
            VerifyKind::Hmac(_) => ("hmac", "<redacted>"),
            VerifyKind::Ed25519(_) => ("ed25519", "<public key>"),
        };
        f.debug_struct("BinanceVerifyKey")
            .field(
                "api_key",
                &format_args!("{}…", wire::key_hint(&self.api_key)),
            )
            .field("kind", &kind)
            .field("key", &format_args!("{key}"))
            .finish()
    }
}

/// A SIGNED request as it reaches the venue.
#[derive(Clone, Copy)]
pub struct BinanceRequest<'a> {
    /// The `X-MBX-APIKEY` header, if sent.
    pub api_key: Option<&'a str>,
    /// The query string, without the `?`.
    pub query: &'a str,
    /// The `application/x-www-form-urlencoded` body (empty for GET).
    pub body: &'a str,
}

impl fmt::Debug for BinanceRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinanceRequest")
            .field("api_key", &self.api_key.map(wire::key_hint))
            .field("query", &Redacted(self.query.len()))
            .field("body", &Redacted(self.body.len()))
            .finish()
    }
}

/// Checks a SIGNED request as Binance does, with the server's clock at `server_ms`.
///
/// In order: the API key header (`-2014` when absent, `-2015` when it is not `key`'s), exactly
/// one `signature` parameter (`-1102`, or `-1101` for duplicates), a well-formed `timestamp`
/// and `recvWindow` (`-1102`), the timing rule (`-1021`), then the signature (`-1022`).
/// A parameter sent in both the query string and the body is read from the query string.
pub fn verify_binance(
    request: &BinanceRequest<'_>,
    key: &BinanceVerifyKey,
    server_ms: u64,
) -> Result<(), Rejection> {
    match request.api_key {
        None | Some("") => return Err(rejection(-2014)),
        Some(sent) if !wire::ct_eq(sent.as_bytes(), key.api_key.as_bytes()) => {
            return Err(rejection(-2015));
        }
        Some(_) => {}
    }
    let payload = signed_payload(request)?;
    check_timing(request, server_ms)?;
    let signature = wire::find_param(request.query, "signature")
        .or_else(|| wire::find_param(request.body, "signature"))
        .and_then(wire::percent_decode)
        .ok_or_else(|| mandatory("signature"))?;
    if signature_matches(&key.kind, payload.as_bytes(), &signature) {
        Ok(())
    } else {
        Err(rejection(-1022))
    }
}

/// The query string and body with the one `signature` parameter left out, concatenated.
fn signed_payload(request: &BinanceRequest<'_>) -> Result<String, Rejection> {
    let in_query = wire::count_param(request.query, "signature");
    let in_body = wire::count_param(request.body, "signature");
    match (in_query, in_body) {
        (1, 0) => Ok(wire::without_param(request.query, "signature") + request.body),
        (0, 1) => Ok(format!(
            "{}{}",
            request.query,
            wire::without_param(request.body, "signature")
        )),
        (0, 0) => Err(mandatory("signature")),
        _ => Err(rejection(-1101)),
    }
}

/// The recvWindow rule, in microseconds so that both timestamp units and a fractional
/// recvWindow compare exactly.
fn check_timing(request: &BinanceRequest<'_>, server_ms: u64) -> Result<(), Rejection> {
    let param = |name| {
        wire::find_param(request.query, name).or_else(|| wire::find_param(request.body, name))
    };
    let timestamp_us = param("timestamp")
        .and_then(wire::parse_u64)
        .map(|t| {
            if t >= MICROSECOND_TIMESTAMP_FLOOR {
                t
            } else {
                t * 1_000
            }
        })
        .ok_or_else(|| mandatory("timestamp"))?;
    let recv_window_us = match param("recvWindow") {
        None => u64::from(BINANCE_DEFAULT_RECV_WINDOW_MS) * 1_000,
        Some(text) => parse_recv_window_us(text).ok_or_else(|| mandatory("recvWindow"))?,
    };
    let server_us = server_ms.saturating_mul(1_000);
    if timestamp_us >= server_us.saturating_add(AHEAD_LIMIT_US) {
        return Err(Rejection::fixed(
            VENUE,
            400,
            Some(-1021),
            "Timestamp for this request was 1000ms ahead of the server's time.",
        ));
    }
    if server_us.saturating_sub(timestamp_us) > recv_window_us {
        return Err(rejection(-1021));
    }
    Ok(())
}

/// `recvWindow` in microseconds: whole milliseconds with up to three decimals, at most 60000.
fn parse_recv_window_us(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if (text.contains('.') && fraction.is_empty()) || fraction.len() > 3 {
        return None;
    }
    let whole_ms = wire::parse_u64(whole)?;
    let fraction_us = if fraction.is_empty() {
        0
    } else {
        let digits = wire::parse_u64(fraction)?;
        digits * 10u64.pow(3 - u32::try_from(fraction.len()).ok()?)
    };
    let us = whole_ms.checked_mul(1_000)?.checked_add(fraction_us)?;
    (us <= u64::from(BINANCE_MAX_RECV_WINDOW_MS) * 1_000).then_some(us)
}

fn signature_matches(kind: &VerifyKind, payload: &[u8], signature: &[u8]) -> bool {
    match kind {
        VerifyKind::Hmac(mac) => {
            // Binance HMAC signatures are case-insensitive hex.
            match hex::decode(signature) {
                Ok(tag) => mac.clone().chain_update(payload).verify_slice(&tag).is_ok(),
                Err(_) => false,
            }
        }
        VerifyKind::Ed25519(key) => {
            let Ok(raw) = STANDARD.decode(signature) else {
                return false;
            };
            let Ok(sig) = ed25519_dalek::Signature::from_slice(&raw) else {
                return false;
            };
            key.verify_strict(payload, &sig).is_ok()
        }
    }
}

fn rejection(code: i64) -> Rejection {
    let (status, message) = match code {
        -1021 => (
            400,
            "Timestamp for this request is outside of the recvWindow.",
        ),
        -1022 => (400, "Signature for this request is not valid."),
        -1101 => (400, "Duplicate values for a parameter detected."),
        -2014 => (401, "API-key format invalid."),
        _ => (401, "Invalid API-key, IP, or permissions for action."),
    };
    Rejection::fixed(VENUE, status, Some(code), message)
}

fn mandatory(name: &str) -> Rejection {
    Rejection {
        venue: VENUE,
        http_status: 400,
        code: Some(-1102),
        message: Cow::Owned(format!(
            "Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )),
    }
}

fn check_api_key(api_key: &str) -> Result<(), AuthError> {
    if wire::is_visible_ascii(api_key) {
        Ok(())
    } else {
        Err(AuthError::BadApiKey { venue: VENUE })
    }
}

fn hmac_key(secret: &ApiSecret) -> Result<Hmac<Sha256>, AuthError> {
    if secret.is_empty() {
        return Err(AuthError::EmptySecret { venue: VENUE });
    }
    // HMAC takes keys of any length, so this cannot fail; the error arm only keeps it total.
    Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| AuthError::EmptySecret { venue: VENUE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recv_window_parses_milliseconds_with_up_to_three_decimals() {
        assert_eq!(parse_recv_window_us("5000"), Some(5_000_000));
        assert_eq!(parse_recv_window_us("6000.346"), Some(6_000_346));
        assert_eq!(parse_recv_window_us("6000.3"), Some(6_000_300));
        assert_eq!(parse_recv_window_us("60000"), Some(60_000_000));
        assert_eq!(parse_recv_window_us("60000.001"), None);
        assert_eq!(parse_recv_window_us("6000."), None);
        assert_eq!(parse_recv_window_us("6000.3461"), None);
        assert_eq!(parse_recv_window_us(".5"), None);
        assert_eq!(parse_recv_window_us("-1"), None);
    }
}
