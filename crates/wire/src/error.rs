//! The one error type of this crate: small and `Copy`, because it is returned on the hot path.

/// Why a frame could not be decoded or a transaction could not be re-encoded.
///
/// Field names are `&'static str` JSON-RPC names (`"nonce"`, `"maxFeePerGas"`), so the error
/// says where the problem is without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not JSON, truncated JSON, or a JSON value of the wrong type for a known field.
    #[error("malformed JSON or a field of the wrong JSON type")]
    Json,
    /// A required field is absent (or `null`).
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A hex string (data, address, hash) lacks `0x`, has an odd length, a bad digit or the
    /// wrong length for its type.
    #[error("bad hex in `{0}`")]
    BadHex(&'static str),
    /// A quantity is not `0x`-prefixed hex or does not fit its integer type.
    #[error("bad quantity in `{0}`")]
    BadNumber(&'static str),
    /// A string field contains JSON escapes; hex never does, and borrowing it would need a copy.
    #[error("escaped string in `{0}`")]
    EscapedString(&'static str),
    /// The output buffer is too small for the decoded bytes.
    #[error("output buffer too small")]
    TooLong,
    /// A transaction type this crate does not re-encode (blob type 3, set-code type 4, others).
    #[error("unsupported transaction type")]
    Unsupported,
    /// Valid JSON-RPC, but neither a subscription notification nor a reply to a request.
    #[error("not a subscription notification or reply")]
    NotSubscription,
    /// A subscription result that is neither a transaction object nor a block header.
    #[error("subscription result is neither a transaction nor a header")]
    UnknownShape,
    /// A hash-only `newPendingTransactions` notification; subscribe with `true` for full objects.
    #[error("hash-only pending-tx notification (subscribe with full objects)")]
    HashOnly,
}
