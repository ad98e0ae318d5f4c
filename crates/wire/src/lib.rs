//! kestrel-wire: zero-copy decoding of the node's WebSocket frames and re-encoding of signed
//! raw transactions.
//!
//! Data flow on the hot lane:
//!
//! 1. The feed thread reads one text frame from a node subscribed with
//!    [`subscribe_request`] (`eth_subscribe ["newPendingTransactions", true]`) and
//!    [`subscribe_heads_request`].
//! 2. [`parse_frame`] turns it into a [`Frame`]: a [`TxView`] borrowing hex slices from the
//!    frame, a [`HeadView`], or a request [`Frame::Reply`]. No allocation for the common
//!    pending tx, no panics on any bytes; failures are a small `Copy` [`WireError`].
//! 3. Only for a victim worth backrunning, [`encode_signed_tx`] re-encodes the view into its
//!    signed EIP-2718 envelope (legacy, 2930, 1559) in a reused buffer for the bundle, and
//!    returns its keccak hash, which must equal the node's `hash`.
//!
//! [`decode_hex_into`] is the hex decoder the rest of the engine uses for calldata.
//! [`fuzz_one`] drives parse and encode on arbitrary bytes for fuzzing.

#![forbid(unsafe_code)]

pub mod cex;
mod encode;
mod error;
mod frame;
mod hex;
mod request;

pub use encode::encode_signed_tx;
pub use error::WireError;
pub use frame::{Frame, HeadView, TxView, parse_frame};
pub use hex::decode_hex_into;
pub use request::{subscribe_heads_request, subscribe_request};

/// Run parse and (for pending transactions) encode on arbitrary input, checking the
/// invariants that must hold for every input. Used by proptest here and by a fuzz target.
///
/// Panics only when an invariant is broken, which is the point of fuzzing it.
pub fn fuzz_one(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let mut buffer = [0u8; 64];
        if let Ok(written) = decode_hex_into(text, &mut buffer) {
            assert_eq!(
                written * 2,
                text.len(),
                "Invariant: hex decodes two digits per byte"
            );
        }
    }
    let Ok(Frame::PendingTx { tx, .. }) = parse_frame(bytes) else {
        return;
    };
    let mut out = vec![0xaa];
    match encode_signed_tx(&tx, &mut out) {
        Ok(_) => {
            let first = out.get(1).copied().unwrap_or_default();
            let expected_first = if tx.tx_type == 0 {
                first >= 0xc0
            } else {
                first == tx.tx_type
            };
            assert!(
                expected_first,
                "Invariant: envelope starts with its type or a list header"
            );
        }
        Err(_) => assert_eq!(
            out,
            [0xaa],
            "Invariant: a failed encode leaves the buffer as it was"
        ),
    }
}
