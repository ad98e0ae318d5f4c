//! Kraken spot REST private endpoints (docs.kraken.com, "Spot REST authentication").
//!
//! `API-Sign = base64(HMAC-SHA512(key = base64decode(secret), msg = uri_path +
//! SHA256(nonce + post_data)))`, where `nonce` is the text of the body's `nonce` field and
//! `post_data` is the exact body sent. The nonce is an unsigned 64-bit integer that must grow
//! with every request on the same key; Kraken answers errors with HTTP 200 and an `error` array
//! (`EAPI:Invalid key`, `EAPI:Invalid signature`, `EAPI:Invalid nonce`).

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use kestrel_types::cex::Venue;
use sha2::{Digest as _, Sha256, Sha512};

use super::wire::{self, Redacted};
use super::{ApiSecret, AuthError, Rejection};

const VENUE: Venue = Venue::Kraken;

/// Signs Kraken private REST requests.
#[derive(Clone)]
pub struct KrakenSigner {
    api_key: String,
    mac: Hmac<Sha512>,
}

/// A signed form body and its `API-Sign` header.
#[derive(Clone, PartialEq, Eq)]
pub struct KrakenSigned {
    /// `nonce=<nonce>` followed by the caller's parameters: the POST body to send.
    pub body: String,
    /// The `API-Sign` header value.
    pub api_sign: String,
}

impl fmt::Debug for KrakenSigned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KrakenSigned")
            .field("body", &Redacted(self.body.len()))
            .field("api_sign", &Redacted(self.api_sign.len()))
            .finish()
    }
}

impl KrakenSigner {
    /// A signer for `api_key`; `secret` is the base64 private key Kraken issued with it.
    pub fn new(api_key: &str, secret: &ApiSecret) -> Result<Self, AuthError> {
        if !wire::is_visible_ascii(api_key) {
            return Err(AuthError::BadApiKey { venue: VENUE });
        }
        if secret.is_empty() {
            return Err(AuthError::EmptySecret { venue: VENUE });
        }
        let mut key = STANDARD
            .decode(secret.as_bytes())
            .map_err(|_| AuthError::SecretNotBase64 { venue: VENUE })?;
        let mac = Hmac::<Sha512>::new_from_slice(&key);
        key.fill(0);
        std::hint::black_box(&key);
        // HMAC takes keys of any length; the error arm only keeps this total.
        let mac = mac.map_err(|_| AuthError::EmptySecret { venue: VENUE })?;
        Ok(Self {
            api_key: api_key.to_owned(),
            mac,
        })
    }

    /// The API key, sent as the `API-Key` header.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The `API-Sign` header for a POST to `uri_path` (e.g. `/0/private/AddOrder`) whose body
    /// `post_data` carries `nonce` (its `nonce` field must be this number, in decimal).
    pub fn api_sign(&self, uri_path: &str, nonce: u64, post_data: &str) -> String {
        STANDARD.encode(self.tag(uri_path, &nonce.to_string(), post_data))
    }

    /// Builds the form body `nonce=<nonce>[&params]` and signs it. `params` are `key=value` pairs
    /// already form-encoded and joined by `&` (may be empty).
    pub fn signed_form(&self, uri_path: &str, nonce: u64, params: &str) -> KrakenSigned {
        let body = if params.is_empty() {
            format!("nonce={nonce}")
        } else {
            format!("nonce={nonce}&{params}")
        };
        let api_sign = self.api_sign(uri_path, nonce, &body);
        KrakenSigned { body, api_sign }
    }

    fn tag(&self, uri_path: &str, nonce: &str, post_data: &str) -> Vec<u8> {
        let inner = Sha256::new()
            .chain_update(nonce)
            .chain_update(post_data)
            .finalize();
        self.mac
            .clone()
            .chain_update(uri_path)
            .chain_update(inner)
            .finalize()
            .into_bytes()
            .to_vec()
    }
}

impl fmt::Debug for KrakenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KrakenSigner")
            .field(
                "api_key",
                &format_args!("{}…", wire::key_hint(&self.api_key)),
            )
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

/// The last nonce the venue accepted for one API key. Kraken requires every nonce to be
/// strictly greater than the one before; keep one tracker per key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NonceTracker {
    last: Option<u64>,
}

impl NonceTracker {
    /// A key that has not been used yet: any nonce is accepted first.
    pub const fn new() -> Self {
        Self { last: None }
    }

    /// The last accepted nonce.
    pub const fn last(&self) -> Option<u64> {
        self.last
    }

    fn admits(&self, nonce: u64) -> bool {
        self.last.is_none_or(|last| nonce > last)
    }
}

/// A private request as it reaches the venue.
#[derive(Clone, Copy)]
pub struct KrakenRequest<'a> {
    /// The `API-Key` header, if sent.
    pub api_key: Option<&'a str>,
    /// The `API-Sign` header, if sent.
    pub api_sign: Option<&'a str>,
    /// The request path, e.g. `/0/private/AddOrder`.
    pub uri_path: &'a str,
    /// The POST body exactly as received: form-encoded, or JSON.
    pub body: &'a str,
}

impl fmt::Debug for KrakenRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KrakenRequest")
            .field("api_key", &self.api_key.map(wire::key_hint))
            .field("api_sign", &wire::redacted(self.api_sign))
            .field("uri_path", &self.uri_path)
            .field("body", &Redacted(self.body.len()))
            .finish()
    }
}

/// Checks a private request as Kraken does, against the key's secret and its nonce history.
/// On success the nonce is recorded in `nonces` and returned.
///
/// In order: the `API-Key` header (`EAPI:Invalid key`), a `nonce` in the body that is a `u64`
/// (`EAPI:Invalid nonce`), the signature (`EAPI:Invalid signature`), then that the nonce is
/// greater than the last accepted one (`EAPI:Invalid nonce`). A request with a bad signature
/// does not move the nonce.
pub fn verify_kraken(
    request: &KrakenRequest<'_>,
    key: &KrakenSigner,
    nonces: &mut NonceTracker,
) -> Result<u64, Rejection> {
    let key_matches = request
        .api_key
        .is_some_and(|sent| wire::ct_eq(sent.as_bytes(), key.api_key.as_bytes()));
    if !key_matches {
        return Err(rejection("EAPI:Invalid key"));
    }
    let nonce_text = body_nonce(request.body).ok_or_else(|| rejection("EAPI:Invalid nonce"))?;
    let nonce = wire::parse_u64(&nonce_text).ok_or_else(|| rejection("EAPI:Invalid nonce"))?;
    let signature_ok = request
        .api_sign
        .and_then(|sign| STANDARD.decode(sign).ok())
        .is_some_and(|sent| {
            let expected = key.tag(request.uri_path, &nonce_text, request.body);
            wire::ct_eq(&sent, &expected)
        });
    if !signature_ok {
        return Err(rejection("EAPI:Invalid signature"));
    }
    if !nonces.admits(nonce) {
        return Err(rejection("EAPI:Invalid nonce"));
    }
    nonces.last = Some(nonce);
    Ok(nonce)
}

/// The text of the body's `nonce` field: a form parameter, or a JSON member (string or number).
fn body_nonce(body: &str) -> Option<Cow<'_, str>> {
    if body.trim_start().starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(body).ok()?;
        return match value.get("nonce")? {
            serde_json::Value::String(text) => Some(Cow::Owned(text.clone())),
            serde_json::Value::Number(number) => Some(Cow::Owned(number.to_string())),
            _ => None,
        };
    }
    let raw = wire::find_param(body, "nonce")?;
    let decoded = wire::percent_decode(raw)?;
    String::from_utf8(decoded).ok().map(Cow::Owned)
}

fn rejection(message: &'static str) -> Rejection {
    Rejection::fixed(VENUE, 200, None, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_is_read_from_form_and_json_bodies() {
        assert_eq!(body_nonce("nonce=12&a=b").as_deref(), Some("12"));
        assert_eq!(body_nonce("a=b&nonce=13").as_deref(), Some("13"));
        assert_eq!(body_nonce(r#"{"nonce":"14","x":1}"#).as_deref(), Some("14"));
        assert_eq!(body_nonce(r#"{"nonce":15}"#).as_deref(), Some("15"));
        assert_eq!(body_nonce(r#"{"nonce":null}"#), None);
        assert_eq!(body_nonce("a=b"), None);
        assert_eq!(body_nonce("{not json"), None);
    }

    #[test]
    fn tracker_admits_strictly_increasing_nonces() {
        let mut t = NonceTracker::new();
        assert!(t.admits(0));
        t.last = Some(5);
        assert!(!t.admits(5));
        assert!(!t.admits(4));
        assert!(t.admits(6));
    }
}
