//! Exchange WebSocket and REST frames, decoded without allocation into borrowed views.
//!
//! One module per venue turns a frame into that venue's typed message; prices and sizes stay
//! the decimal text the venue sent, so the caller parses them exactly at the symbol's scale
//! (`kestrel_types::cex::Fixed`). Integrity (update ids, sequence numbers, checksums) is
//! checked by the book keeper in `kestrel-venues`, which needs the book itself.

pub mod binance;
pub mod bybit;
pub mod coinbase;
pub mod json;
pub mod kraken;
pub mod okx;

pub use binance::{
    BinanceDepth, BinanceFrame, BinanceMsg, BinanceSnapshot, BinanceTicker, BinanceTrade,
    parse_binance,
};
pub use json::{PairLevels, Scan};

/// Why an exchange frame could not be decoded. Small and `Copy`: a malformed frame is a
/// counted skip on the feed thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CexError {
    /// Not JSON, or JSON of an unexpected shape, at this byte offset.
    #[error("malformed frame at byte {offset}")]
    Malformed {
        /// Byte offset of the problem.
        offset: u32,
    },
    /// Nested deeper than any venue's frames.
    #[error("frame nested too deeply")]
    TooDeep,
    /// A field the message type requires is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A price or size that is not an exact decimal at the symbol's scale.
    #[error("price or size not exact at the symbol's scale")]
    BadNumber,
    /// Well-formed JSON that is none of the venue's known messages.
    #[error("unknown message shape")]
    UnknownShape,
}
