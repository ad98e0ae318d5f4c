//! Coinbase Advanced Trade authentication with CDP API keys (docs.cdp.coinbase.com,
//! "Advanced Trade API: API key authentication").
//!
//! Every REST request carries its own ES256 JWT as `Authorization: Bearer <jwt>`; every
//! authenticated WebSocket subscribe carries a fresh one in its `jwt` field.
//!
//! - header: `{"alg":"ES256","kid":<key name>,"nonce":<hex>,"typ":"JWT"}`;
//! - claims: `{"iss":"cdp","sub":<key name>,"nbf":now,"exp":now+120,"uri":"<METHOD> <host><path>"}`
//!   (no `uri` for WebSocket tokens);
//! - base64url without padding, signed with the CDP key's P-256 private key, the signature as
//!   the raw 64-byte `r || s` (JOSE form, not DER).
//!
//! CDP hands out the private key as a SEC1 PEM (`-----BEGIN EC PRIVATE KEY-----`); PKCS#8
//! (`-----BEGIN PRIVATE KEY-----`) is accepted too. Coinbase answers every failure with HTTP
//! 401 `Unauthorized`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kestrel_types::cex::Venue;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use serde::{Deserialize, Serialize};

use super::wire;
use super::{ApiSecret, AuthError, HttpMethod, Rejection};

/// How long a token is valid: `exp = nbf + 120`.
pub const COINBASE_JWT_LIFETIME_S: u64 = 120;

const VENUE: Venue = Venue::Coinbase;
/// The longest token the verifier reads; a CDP token is about 600 bytes.
const MAX_TOKEN_BYTES: usize = 4_096;
const ISSUER: &str = "cdp";
const ALGORITHM: &str = "ES256";

/// The `uri` claim of a REST token: `"<METHOD> <host><path>"`, e.g.
/// `POST api.coinbase.com/api/v3/brokerage/orders`. `path` starts with `/` and carries no query.
pub fn coinbase_uri(method: HttpMethod, host: &str, path: &str) -> String {
    format!("{method} {host}{path}")
}

/// Signs Coinbase Advanced Trade JWTs with a CDP ECDSA (P-256) key.
#[derive(Clone)]
pub struct CoinbaseSigner {
    key_name: String,
    key: SigningKey,
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'static str,
    kid: &'a str,
    nonce: &'a str,
    typ: &'static str,
}

#[derive(Serialize)]
struct ClaimsOut<'a> {
    iss: &'static str,
    sub: &'a str,
    nbf: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<&'a str>,
}

impl CoinbaseSigner {
    /// A signer for the CDP key `key_name` (`organizations/{org_id}/apiKeys/{key_id}`) with its
    /// private key PEM, SEC1 or PKCS#8. Literal `\n` escapes, as the key appears in CDP's JSON
    /// download, are read as line breaks.
    pub fn from_pem(key_name: &str, private_key_pem: &ApiSecret) -> Result<Self, AuthError> {
        check_key_name(key_name)?;
        let pem = ApiSecret::new(private_key_pem.expose().trim().replace("\\n", "\n"));
        let secret = if pem.expose().contains("-----BEGIN EC PRIVATE KEY-----") {
            p256::SecretKey::from_sec1_pem(pem.expose()).ok()
        } else {
            p256::SecretKey::from_pkcs8_pem(pem.expose()).ok()
        };
        let secret = secret.ok_or(AuthError::BadKey {
            venue: VENUE,
            expected: "P-256 private key PEM (SEC1 or PKCS#8)",
        })?;
        Ok(Self {
            key_name: key_name.to_owned(),
            key: SigningKey::from(&secret),
        })
    }

    /// The key name, the token's `kid` and `sub`.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// A token for one REST request, valid from `now_s` (unix seconds) for 120 s. `nonce` is
    /// fresh randomness from the caller (it is hex-encoded into the header).
    pub fn rest_jwt(
        &self,
        method: HttpMethod,
        host: &str,
        path: &str,
        now_s: u64,
        nonce: &[u8; 16],
    ) -> Result<String, AuthError> {
        let uri = coinbase_uri(method, host, path);
        self.jwt(Some(&uri), now_s, nonce)
    }

    /// A token for one WebSocket subscribe message (no `uri` claim).
    pub fn ws_jwt(&self, now_s: u64, nonce: &[u8; 16]) -> Result<String, AuthError> {
        self.jwt(None, now_s, nonce)
    }

    /// The venue's record of this key: its public half.
    pub fn verify_key(&self) -> CoinbaseVerifyKey {
        CoinbaseVerifyKey {
            key_name: self.key_name.clone(),
            key: *self.key.verifying_key(),
        }
    }

    fn jwt(&self, uri: Option<&str>, now_s: u64, nonce: &[u8; 16]) -> Result<String, AuthError> {
        let nonce = hex::encode(nonce);
        let header = HeaderOut {
            alg: ALGORITHM,
            kid: &self.key_name,
            nonce: &nonce,
            typ: "JWT",
        };
        let claims = ClaimsOut {
            iss: ISSUER,
            sub: &self.key_name,
            nbf: now_s,
            exp: now_s.saturating_add(COINBASE_JWT_LIFETIME_S),
            uri,
        };
        let header = serde_json::to_vec(&header).map_err(|_| AuthError::Encode {
            venue: VENUE,
            part: "header",
        })?;
        let claims = serde_json::to_vec(&claims).map_err(|_| AuthError::Encode {
            venue: VENUE,
            part: "claims",
        })?;
        let mut token = URL_SAFE_NO_PAD.encode(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let signature: Signature = self.key.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
        Ok(token)
    }
}

impl fmt::Debug for CoinbaseSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoinbaseSigner")
            .field("key_name", &self.key_name)
            .field("private_key", &format_args!("<redacted>"))
            .finish()
    }
}

/// The venue's record of a CDP key: its name and public key.
#[derive(Clone, PartialEq, Eq)]
pub struct CoinbaseVerifyKey {
    key_name: String,
    key: VerifyingKey,
}

impl CoinbaseVerifyKey {
    /// From the key's SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_public_pem(key_name: &str, public_key_pem: &str) -> Result<Self, AuthError> {
        check_key_name(key_name)?;
        let key = p256::PublicKey::from_public_key_pem(public_key_pem).map_err(|_| {
            AuthError::BadKey {
                venue: VENUE,
                expected: "P-256 public key PEM",
            }
        })?;
        Ok(Self {
            key_name: key_name.to_owned(),
            key: VerifyingKey::from(&key),
        })
    }

    /// The key name tokens must carry as `kid` and `sub`.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }
}

impl fmt::Debug for CoinbaseVerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoinbaseVerifyKey")
            .field("key_name", &self.key_name)
            .finish_non_exhaustive()
    }
}

/// What an accepted token said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoinbaseClaims {
    /// The header's `kid`: the key name.
    pub kid: String,
    /// The header's `nonce`, if any.
    pub nonce: Option<String>,
    /// `sub`: the key name again.
    pub sub: String,
    /// `nbf`: not before, unix seconds.
    pub nbf: u64,
    /// `exp`: expiry, unix seconds (the token is valid while `now < exp`).
    pub exp: u64,
    /// `uri`: `"<METHOD> <host><path>"` for REST tokens, absent for WebSocket tokens.
    pub uri: Option<String>,
}

#[derive(Deserialize)]
struct HeaderIn {
    alg: Option<String>,
    kid: Option<String>,
    nonce: Option<String>,
}

#[derive(Deserialize)]
struct ClaimsIn {
    iss: Option<String>,
    sub: Option<String>,
    nbf: Option<u64>,
    exp: Option<u64>,
    uri: Option<String>,
}

/// A REST request as it reaches the venue.
#[derive(Clone, Copy)]
pub struct CoinbaseRequest<'a> {
    /// The `Authorization` header, if sent: `Bearer <jwt>`.
    pub authorization: Option<&'a str>,
    /// The request method.
    pub method: HttpMethod,
    /// The host the request was sent to, e.g. `api.coinbase.com`.
    pub host: &'a str,
    /// The path without the query, e.g. `/api/v3/brokerage/orders`.
    pub path: &'a str,
}

impl fmt::Debug for CoinbaseRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoinbaseRequest")
            .field("authorization", &wire::redacted(self.authorization))
            .field("method", &self.method)
            .field("host", &self.host)
            .field("path", &self.path)
            .finish()
    }
}

/// Checks a REST request's bearer token as Coinbase does, at unix time `now_s`.
///
/// The token must be an ES256 JWT signed by `key`, with `kid` and `sub` equal to its name,
/// `iss` `cdp`, `nbf <= now_s < exp`, and a `uri` claim equal to the request's
/// `"<METHOD> <host><path>"`. Every failure is HTTP 401 `Unauthorized`.
pub fn verify_coinbase(
    request: &CoinbaseRequest<'_>,
    key: &CoinbaseVerifyKey,
    now_s: u64,
) -> Result<CoinbaseClaims, Rejection> {
    let token = request
        .authorization
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let uri = coinbase_uri(request.method, request.host, request.path);
    verify_token(token, Some(&uri), key, now_s)
}

/// Checks the `jwt` of a WebSocket subscribe message: as [`verify_coinbase`], without a `uri`.
pub fn verify_coinbase_ws(
    jwt: &str,
    key: &CoinbaseVerifyKey,
    now_s: u64,
) -> Result<CoinbaseClaims, Rejection> {
    verify_token(jwt, None, key, now_s)
}

fn verify_token(
    token: &str,
    expected_uri: Option<&str>,
    key: &CoinbaseVerifyKey,
    now_s: u64,
) -> Result<CoinbaseClaims, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(unauthorized());
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized());
    };
    let header: HeaderIn = decode_json(header_b64)?;
    let kid = header.kid.ok_or_else(unauthorized)?;
    if header.alg.as_deref() != Some(ALGORITHM) || kid != key.key_name {
        return Err(unauthorized());
    }
    // The signature covers the first two parts exactly as sent.
    let signing_input = token
        .get(..header_b64.len() + 1 + claims_b64.len())
        .ok_or_else(unauthorized)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .ok()
        .and_then(|raw| Signature::from_slice(&raw).ok())
        .ok_or_else(unauthorized)?;
    key.key
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| unauthorized())?;
    let claims: ClaimsIn = decode_json(claims_b64)?;
    let (Some(sub), Some(nbf), Some(exp)) = (claims.sub, claims.nbf, claims.exp) else {
        return Err(unauthorized());
    };
    let valid = claims.iss.as_deref() == Some(ISSUER)
        && sub == kid
        && nbf <= now_s
        && now_s < exp
        && expected_uri.is_none_or(|uri| claims.uri.as_deref() == Some(uri));
    if !valid {
        return Err(unauthorized());
    }
    Ok(CoinbaseClaims {
        kid,
        nonce: header.nonce,
        sub,
        nbf,
        exp,
        uri: claims.uri,
    })
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, Rejection> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| unauthorized())?;
    serde_json::from_slice(&bytes).map_err(|_| unauthorized())
}

fn unauthorized() -> Rejection {
    Rejection::fixed(VENUE, 401, None, "Unauthorized")
}

fn check_key_name(key_name: &str) -> Result<(), AuthError> {
    if wire::is_visible_ascii(key_name) {
        Ok(())
    } else {
        Err(AuthError::BadApiKey { venue: VENUE })
    }
}
