//! The crate's one error type.

use std::io;

/// What can go wrong while building ladders, signing or writing to relays.
///
/// `Copy` and allocation-free because `RelayConn::send` returns it on the hot thread; I/O errors
/// keep only their [`io::ErrorKind`], which is what a caller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FireError {
    /// The private key is not 32 bytes of hex, or not a valid secp256k1 scalar.
    #[error("invalid private key")]
    InvalidKey,
    /// The ladder parameters cannot produce a ladder (the reason says which).
    #[error("invalid ladder parameters: {0}")]
    InvalidLadder(&'static str),
    /// A `X-Flashbots-Signature` header that is not `0x<address>:0x<65-byte signature>`.
    #[error("malformed X-Flashbots-Signature header")]
    MalformedHeader,
    /// The signature does not recover to any key.
    #[error("invalid signature")]
    InvalidSignature,
    /// The signature is valid but recovers to another address than the header names.
    #[error("signature does not match the header's address")]
    SignerMismatch,
    /// A relay URL that cannot be parsed.
    #[error("invalid relay url: {0}")]
    BadUrl(&'static str),
    /// A TLS handshake that failed, or a TLS session that cannot go on (the reason).
    #[error("TLS: {0}")]
    Tls(&'static str),
    /// The connection has ended and its successor is not dialed yet: nothing was written (the
    /// connection's background thread is dialing, with a backoff while the relay is down).
    #[error("relay not connected (redialing)")]
    NotConnected,
    /// A socket error (a failed write closes its stream; the next is dialed in the background).
    #[error("relay i/o error: {0:?}")]
    Io(io::ErrorKind),
}

impl From<io::Error> for FireError {
    fn from(e: io::Error) -> Self {
        FireError::Io(e.kind())
    }
}
