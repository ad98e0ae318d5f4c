//! `kestrel-fire` owns everything between "this backrun is worth firing" and "the bytes are on
//! the wire": executor calldata, the per-block ladder of pre-signed backrun transactions, the
//! `eth_sendBundle` / `eth_callBundle` body, the Flashbots auth header, and warm keep-alive
//! connections to relays.
//!
//! Data flow:
//!
//! 1. Slow lane, once per block: [`ladder::Ladder::build`] signs, for every watched cycle, one
//!    backrun transaction per profit floor (calldata from [`executor::backrun_calldata`]). The
//!    ladder is immutable and handed to the hot thread behind an `Arc`.
//! 2. Hot thread, per victim: [`ladder::Ladder::pick`] finds the pre-signed transaction with the
//!    largest floor the predicted profit covers (no ECDSA), [`bundle::BundleWriter`] writes the
//!    JSON body into a reserved buffer, [`bundle::FlashbotsAuth::sign_header`] signs it (the one
//!    ECDSA left, libsecp256k1, no allocation), and [`relay::RelayConn::send`] writes the
//!    pre-built request head and the body to each warm connection.
//! 3. V3 and mixed V2/V3 cycles carry the exact `amountIn`, so they cannot be pre-signed:
//!    [`route_tx::RouteTxBuilder::build`] encodes the `backrunRoute` call, RLP-encodes the
//!    EIP-1559 transaction and signs it on the hot thread with a precomputed nonce from
//!    [`presign::PresigPool`], into buffers it owns (no allocation).
//! 4. Reader threads, one per connection, parse relay replies and hand them back on a bounded
//!    channel.
//!
//! Signing and recovery use libsecp256k1 (the `secp256k1` crate), never k256.

#![forbid(unsafe_code)]

pub mod bundle;
mod error;
pub mod executor;
pub mod handoff;
mod hexfmt;
pub mod ladder;
pub mod presign;
pub mod relay;
pub mod route_tx;
mod sign;
pub mod tls;

pub use bundle::{BundleWriter, FlashbotsAuth, verify_flashbots_signature};
pub use error::FireError;
pub use executor::backrun_calldata;
pub use handoff::{Handoff, Parcel, ParcelKind};
pub use ladder::{Cycle, Ladder, LadderParams, LocalSigner, SignedTx};
pub use presign::{Presig, PresigPool, spawn_refill_thread};
pub use relay::{RelayConn, RelayReply};
pub use route_tx::{RouteCall, RouteTx, RouteTxBuilder, RouteTxError, RouteTxParams};
