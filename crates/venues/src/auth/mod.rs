//! Request authentication for each venue, both sides of it.
//!
//! Every venue module has a **signer** (the client's side: it turns a request into the headers
//! or parameters the venue's documentation asks for) and a **`verify_*`** function (the venue's
//! side: a fake exchange checks an incoming request with it and answers with the venue's own
//! error code and text). Both sides compute the MAC or signature with the same function, and the
//! published test vectors (Binance, Kraken, OKX) pin that function to the venue's formula, so a
//! test can trust that what the fake accepts the venue would accept, and the reverse.
//!
//! | venue | scheme | module |
//! | --- | --- | --- |
//! | Binance spot | HMAC-SHA256 hex, or Ed25519 base64, over `query + body` | [`binance`] |
//! | Kraken spot | HMAC-SHA512 over `path + SHA256(nonce + body)`, base64 | [`kraken`] |
//! | OKX v5 | HMAC-SHA256 over `timestamp + METHOD + path + body`, base64 | [`okx`] |
//! | Bybit v5 | HMAC-SHA256 over `timestamp + key + recv_window + payload`, hex | [`bybit`] |
//! | Coinbase Advanced | ES256 JWT per request (CDP key) | [`coinbase`] |
//!
//! **Invariant:** nothing here reads a clock or draws randomness. The current time, nonces and
//! timestamps are arguments; only `kestrel-stdx` reads clocks and entropy.
//!
//! **Invariant:** no secret is printed. [`ApiSecret`] and every signer write `Debug` by hand
//! and show at most the first characters of the (public) API key.
//!
//! **Invariant:** a verifier never panics, whatever the request holds: it sees untrusted input.

use std::borrow::Cow;
use std::fmt;

use kestrel_types::cex::Venue;

pub mod binance;
pub mod bybit;
pub mod coinbase;
pub mod kraken;
pub mod okx;
mod wire;

pub use wire::percent_decode;

pub use binance::{
    BINANCE_DEFAULT_RECV_WINDOW_MS, BINANCE_MAX_RECV_WINDOW_MS, BinanceRequest, BinanceSigner,
    BinanceVerifyKey, verify_binance,
};
pub use bybit::{
    BYBIT_DEFAULT_RECV_WINDOW_MS, BybitHeaders, BybitRequest, BybitSigner, bybit_sign_payload,
    verify_bybit,
};
pub use coinbase::{
    COINBASE_JWT_LIFETIME_S, CoinbaseClaims, CoinbaseRequest, CoinbaseSigner, CoinbaseVerifyKey,
    coinbase_uri, verify_coinbase, verify_coinbase_ws,
};
pub use kraken::{KrakenRequest, KrakenSigned, KrakenSigner, NonceTracker, verify_kraken};
pub use okx::{
    OKX_MAX_CLOCK_SKEW_MS, OkxHeaders, OkxRequest, OkxSigner, OkxTimestamp, format_okx_timestamp,
    parse_okx_timestamp, verify_okx,
};

/// A venue secret: an HMAC secret, or the text of a private key PEM.
///
/// `Debug` prints `ApiSecret(<redacted>)` and there is no `Display`, so a secret cannot reach a
/// log by formatting. The bytes are overwritten with zeros on drop (best effort: copies the
/// allocator or the caller made earlier are out of reach).
#[derive(Clone)]
pub struct ApiSecret(String);

impl ApiSecret {
    /// Wraps a secret the caller has just read (from the environment, through `kestrel-config`).
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself. Hand it straight to a signer; never log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string (a configuration mistake every signer rejects).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret(<redacted>)")
    }
}

impl Drop for ApiSecret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        // Keeps the zeroing from being optimised away as a dead store.
        std::hint::black_box(&bytes);
    }
}

/// The HTTP methods the venues' signed endpoints use. The text is upper case, as every venue
/// signs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl HttpMethod {
    /// The method as it appears on the request line and in every venue's sign string.
    pub const fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a signer could not be built or could not sign. All of these are configuration or input
/// mistakes: none is retryable, and none carries the secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The API key (or Coinbase key name) is empty or holds a character an HTTP header or a
    /// JSON token cannot carry as is (only visible ASCII is accepted).
    #[error("{venue}: the API key is empty or not visible ASCII")]
    BadApiKey {
        /// The venue the key is for.
        venue: Venue,
    },
    /// The secret is the empty string.
    #[error("{venue}: the secret is empty")]
    EmptySecret {
        /// The venue the secret is for.
        venue: Venue,
    },
    /// The secret should be base64 (Kraken) and is not.
    #[error("{venue}: the secret is not valid base64")]
    SecretNotBase64 {
        /// The venue the secret is for.
        venue: Venue,
    },
    /// A private or public key could not be read from its PEM text.
    #[error("{venue}: the key is not a valid {expected}")]
    BadKey {
        /// The venue the key is for.
        venue: Venue,
        /// The encodings that were tried, e.g. `"PKCS#8 Ed25519 private key PEM"`.
        expected: &'static str,
    },
    /// The OKX timestamp formatter covers years 1970 to 9999 only.
    #[error("okx: unix time {unix_ms} ms is past 9999-12-31T23:59:59.999Z")]
    TimestampOutOfRange {
        /// The time that was asked for.
        unix_ms: u64,
    },
    /// A JWT part could not be encoded as JSON.
    #[error("{venue}: could not encode the token {part}")]
    Encode {
        /// The venue the token is for.
        venue: Venue,
        /// `"header"` or `"claims"`.
        part: &'static str,
    },
}

impl AuthError {
    /// Whether trying again could help: never, since every variant is a key or input mistake.
    pub const fn is_retryable(&self) -> bool {
        false
    }
}

/// A request a venue refuses, as the venue words it: what a fake exchange answers.
///
/// `code` is the venue's numeric error code where it has one (Binance `-1022`, OKX `50113`,
/// Bybit `10004`); Kraken and Coinbase have none, and the text is the whole answer there
/// (`EAPI:Invalid nonce`, `Unauthorized`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The venue whose rules refused the request.
    pub venue: Venue,
    /// The HTTP status the venue answers with.
    pub http_status: u16,
    /// The venue's error code, where the venue has numeric codes.
    pub code: Option<i64>,
    /// The venue's error text.
    pub message: Cow<'static, str>,
}

impl Rejection {
    pub(crate) const fn fixed(
        venue: Venue,
        http_status: u16,
        code: Option<i64>,
        message: &'static str,
    ) -> Self {
        Self {
            venue,
            http_status,
            code,
            message: Cow::Borrowed(message),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(
                f,
                "{} rejected the request (HTTP {}, code {code}): {}",
                self.venue, self.http_status, self.message
            ),
            None => write!(
                f,
                "{} rejected the request (HTTP {}): {}",
                self.venue, self.http_status, self.message
            ),
        }
    }
}

impl std::error::Error for Rejection {}
