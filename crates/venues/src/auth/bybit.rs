//! Bybit API v5 REST authentication (bybit-exchange/docs `docs/v5/guide.mdx`).
//!
//! `X-BAPI-SIGN = hex(HMAC-SHA256(secret, timestamp + api_key + recv_window + payload))` in
//! lower case, where `payload` is the query string for GET and the raw JSON body for POST. The
//! request is valid while `server_time - recv_window <= timestamp < server_time + 1000`.

use std::borrow::Cow;
use std::fmt;

use hmac::{Hmac, Mac};
use kestrel_types::cex::Venue;
use sha2::Sha256;

use super::wire::{self, Redacted};
use super::{ApiSecret, AuthError, HttpMethod, Rejection};

/// `X-BAPI-RECV-WINDOW` when a request does not send one.
pub const BYBIT_DEFAULT_RECV_WINDOW_MS: u32 = 5_000;

const VENUE: Venue = Venue::Bybit;
/// How far ahead of the server a timestamp may be: strictly less than one second.
const AHEAD_LIMIT_MS: u64 = 1_000;

/// What a request signs after the timestamp, key and window: the query string for GET, the
/// JSON body for every other method.
pub fn bybit_sign_payload<'a>(method: HttpMethod, query: &'a str, body: &'a str) -> &'a str {
    match method {
        HttpMethod::Get => query,
        HttpMethod::Post | HttpMethod::Put | HttpMethod::Delete => body,
    }
}

/// Signs Bybit v5 REST requests with an HMAC key.
#[derive(Clone)]
pub struct BybitSigner {
    api_key: String,
    mac: Hmac<Sha256>,
}

/// The four authentication headers of one request.
#[derive(Clone, PartialEq, Eq)]
pub struct BybitHeaders {
    /// `X-BAPI-API-KEY`.
    pub api_key: String,
    /// `X-BAPI-TIMESTAMP`, unix milliseconds.
    pub timestamp: String,
    /// `X-BAPI-RECV-WINDOW`, milliseconds.
    pub recv_window: String,
    /// `X-BAPI-SIGN`, lowercase hex.
    pub sign: String,
}

impl fmt::Debug for BybitHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BybitHeaders")
            .field(
                "api_key",
                &format_args!("{}…", wire::key_hint(&self.api_key)),
            )
            .field("timestamp", &self.timestamp)
            .field("recv_window", &self.recv_window)
            .field("sign", &Redacted(self.sign.len()))
            .finish()
    }
}

impl BybitSigner {
    /// A signer for `api_key` with the HMAC secret Bybit issued with it.
    pub fn new(api_key: &str, secret: &ApiSecret) -> Result<Self, AuthError> {
        if !wire::is_visible_ascii(api_key) {
            return Err(AuthError::BadApiKey { venue: VENUE });
        }
        if secret.is_empty() {
            return Err(AuthError::EmptySecret { venue: VENUE });
        }
        // HMAC takes keys of any length; the error arm only keeps this total.
        let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| AuthError::EmptySecret { venue: VENUE })?;
        Ok(Self {
            api_key: api_key.to_owned(),
            mac,
        })
    }

    /// The API key, sent as `X-BAPI-API-KEY`.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// `X-BAPI-SIGN` for `payload` (see [`bybit_sign_payload`]).
    pub fn sign(&self, timestamp_ms: u64, recv_window_ms: u32, payload: &str) -> String {
        let tag = self.tag(
            &timestamp_ms.to_string(),
            &recv_window_ms.to_string(),
            payload,
        );
        hex::encode(tag)
    }

    /// All four headers for a request with this method, query string (without `?`) and body.
    pub fn headers(
        &self,
        timestamp_ms: u64,
        recv_window_ms: u32,
        method: HttpMethod,
        query: &str,
        body: &str,
    ) -> BybitHeaders {
        BybitHeaders {
            api_key: self.api_key.clone(),
            timestamp: timestamp_ms.to_string(),
            recv_window: recv_window_ms.to_string(),
            sign: self.sign(
                timestamp_ms,
                recv_window_ms,
                bybit_sign_payload(method, query, body),
            ),
        }
    }

    fn tag(&self, timestamp: &str, recv_window: &str, payload: &str) -> Vec<u8> {
        self.mac
            .clone()
            .chain_update(timestamp)
            .chain_update(&self.api_key)
            .chain_update(recv_window)
            .chain_update(payload)
            .finalize()
            .into_bytes()
            .to_vec()
    }
}

impl fmt::Debug for BybitSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BybitSigner")
            .field(
                "api_key",
                &format_args!("{}…", wire::key_hint(&self.api_key)),
            )
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

/// A private REST request as it reaches the venue.
#[derive(Clone, Copy)]
pub struct BybitRequest<'a> {
    /// `X-BAPI-API-KEY`, if sent.
    pub api_key: Option<&'a str>,
    /// `X-BAPI-TIMESTAMP`, if sent.
    pub timestamp: Option<&'a str>,
    /// `X-BAPI-RECV-WINDOW`, if sent (5000 when absent).
    pub recv_window: Option<&'a str>,
    /// `X-BAPI-SIGN`, if sent.
    pub sign: Option<&'a str>,
    /// The request method.
    pub method: HttpMethod,
    /// The query string, without the `?`.
    pub query: &'a str,
    /// The body exactly as received.
    pub body: &'a str,
}

impl fmt::Debug for BybitRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BybitRequest")
            .field("api_key", &self.api_key.map(wire::key_hint))
            .field("timestamp", &self.timestamp)
            .field("recv_window", &self.recv_window)
            .field("sign", &wire::redacted(self.sign))
            .field("method", &self.method)
            .field("query", &Redacted(self.query.len()))
            .field("body", &Redacted(self.body.len()))
            .finish()
    }
}

/// Checks a private request as Bybit does, against the key's secret, with the server's clock
/// at `server_ms`.
///
/// In order: the key (`10003`, HTTP 401), the timestamp and window (`10002`), then the
/// signature (`10004`, which must be lowercase hex as the docs specify). When
/// `X-BAPI-RECV-WINDOW` is absent the window is 5000 ms and the sign string holds no window
/// text.
pub fn verify_bybit(
    request: &BybitRequest<'_>,
    key: &BybitSigner,
    server_ms: u64,
) -> Result<(), Rejection> {
    let key_matches = request
        .api_key
        .is_some_and(|sent| wire::ct_eq(sent.as_bytes(), key.api_key.as_bytes()));
    if !key_matches {
        return Err(Rejection::fixed(
            VENUE,
            401,
            Some(10003),
            "API key is invalid.",
        ));
    }
    let timestamp_text = request.timestamp.unwrap_or("");
    let recv_window_text = request.recv_window.unwrap_or("");
    let timestamp = wire::parse_u64(timestamp_text);
    let recv_window = match request.recv_window {
        None => Some(u64::from(BYBIT_DEFAULT_RECV_WINDOW_MS)),
        Some(text) => wire::parse_u64(text),
    };
    let in_window = match (timestamp, recv_window) {
        (Some(ts), Some(window)) => {
            server_ms.saturating_sub(window) <= ts && ts < server_ms.saturating_add(AHEAD_LIMIT_MS)
        }
        _ => false,
    };
    if !in_window {
        // Bybit echoes the values it compared; untrusted text is clipped to keep this bounded.
        let timestamp_text = wire::clip(timestamp_text, 24);
        let recv_window_text = wire::clip(recv_window_text, 24);
        return Err(Rejection {
            venue: VENUE,
            http_status: 200,
            code: Some(10002),
            message: Cow::Owned(format!(
                "invalid request, please check your server timestamp or recv_window param. \
                 req_timestamp[{timestamp_text}],server_timestamp[{server_ms}],\
                 recv_window[{recv_window_text}]"
            )),
        });
    }
    let payload = bybit_sign_payload(request.method, request.query, request.body);
    let signature_ok = request
        .sign
        .filter(|sign| !sign.bytes().any(|b| b.is_ascii_uppercase()))
        .and_then(|sign| hex::decode(sign).ok())
        .is_some_and(|sent| {
            wire::ct_eq(&sent, &key.tag(timestamp_text, recv_window_text, payload))
        });
    if signature_ok {
        Ok(())
    } else {
        Err(Rejection::fixed(VENUE, 200, Some(10004), "error sign!"))
    }
}
