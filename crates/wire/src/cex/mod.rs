//! Exchange WebSocket and REST frames, decoded without allocation into borrowed views.
//!
//! One module per venue turns a frame into that venue's typed message; prices and sizes stay
//! the decimal text the venue sent, so the caller parses them exactly at the symbol's scale
//! (`kestrel_types::cex::Fixed`). Integrity (update ids, sequence numbers, checksums) is
//! checked by the book keeper in `kestrel-venues`, which needs the book itself. What the
//! channel-message decoders (Kraken, OKX) share is here: a frame read as one top-level object,
//! a `data` array read by its channel in whichever order the two come, a data array of exactly
//! one element, lazily read lists.

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

/// Read a frame that is one JSON object, each top-level field handed to `field`; bytes after
/// the object are malformed.
fn read_frame<'a, T: Default>(
    frame: &'a [u8],
    mut field: impl FnMut(&mut T, &'a [u8], &mut Scan<'a>) -> Result<(), CexError>,
) -> Result<T, CexError> {
    let mut scan = Scan::new(frame);
    let mut top = T::default();
    scan.object(|key, scan| field(&mut top, key, scan))?;
    if !scan.at_end() {
        return Err(scan.malformed());
    }
    Ok(top)
}

/// What a channel's `data` array held: its only element `E` (a book, a ticker, a status), or
/// the whole array for a lazily read list (trades), or neither for a channel the decoder does
/// not read. A struct rather than an enum: an element is far larger than a slice, and this
/// lives on the stack.
struct Data<'a, E> {
    one: Option<E>,
    list: Option<&'a [u8]>,
}

impl<'a, E: Default> Data<'a, E> {
    /// `data` as an array of exactly one object, its fields read by `field`. One book (or
    /// ticker) per message is the documented shape; several would each need their own
    /// checksum and sequence check, which one message view cannot carry.
    fn one(
        scan: &mut Scan<'a>,
        mut field: impl FnMut(&mut E, &'a [u8], &mut Scan<'a>) -> Result<(), CexError>,
    ) -> Result<Data<'a, E>, CexError> {
        let mut entry = None;
        let mut count = 0u32;
        scan.array(|scan| {
            count += 1;
            let mut fields = E::default();
            scan.object(|key, scan| field(&mut fields, key, scan))?;
            entry = Some(fields);
            Ok(())
        })?;
        match (entry, count) {
            (Some(entry), 1) => Ok(Data {
                one: Some(entry),
                list: None,
            }),
            (None, _) => Err(CexError::MissingField("data")),
            _ => Err(CexError::UnknownShape),
        }
    }

    /// `data` as an array kept whole, to be read lazily.
    fn list(scan: &mut Scan<'a>) -> Result<Data<'a, E>, CexError> {
        Ok(Data {
            one: None,
            list: Some(raw_array(scan)?),
        })
    }

    /// `data` of a channel the decoder does not read: skipped, but still checked to be JSON.
    fn skip(scan: &mut Scan<'a>) -> Result<Data<'a, E>, CexError> {
        scan.skip_value()?;
        Ok(Data {
            one: None,
            list: None,
        })
    }
}

/// A channel message's channel and its `data`, in whichever order they come: `data` seen
/// before the channel is kept raw and read once the channel is known.
struct ChannelData<'a, E> {
    channel: Option<&'a [u8]>,
    data: Option<Data<'a, E>>,
    /// `data` seen before the channel.
    raw: Option<&'a [u8]>,
}

impl<E> Default for ChannelData<'_, E> {
    fn default() -> Self {
        ChannelData {
            channel: None,
            data: None,
            raw: None,
        }
    }
}

impl<'a, E> ChannelData<'a, E> {
    /// The `data` value at `scan`: read with `read` if the channel is known, else kept.
    fn data(
        &mut self,
        scan: &mut Scan<'a>,
        read: impl FnOnce(&[u8], &mut Scan<'a>) -> Result<Data<'a, E>, CexError>,
    ) -> Result<(), CexError> {
        match self.channel {
            Some(channel) => self.data = Some(read(channel, scan)?),
            None => self.raw = Some(scan.skip_value()?),
        }
        Ok(())
    }

    /// The whole frame was read: read the `data` that came before the channel.
    fn finish(
        &mut self,
        read: impl FnOnce(&[u8], &mut Scan<'a>) -> Result<Data<'a, E>, CexError>,
    ) -> Result<(), CexError> {
        if let (Some(channel), Some(raw)) = (self.channel, self.raw) {
            self.data = Some(read(channel, &mut Scan::new(raw))?);
        }
        Ok(())
    }
}

/// The raw bytes of the array at `scan` (any other value is malformed).
fn raw_array<'a>(scan: &mut Scan<'a>) -> Result<&'a [u8], CexError> {
    if scan.peek() == Some(b'[') {
        scan.skip_value()
    } else {
        Err(scan.malformed())
    }
}

/// Visit each element of the JSON array `raw`, which must be exactly one array.
fn each_element<'a>(
    raw: &'a [u8],
    element: impl FnMut(&mut Scan<'a>) -> Result<(), CexError>,
) -> Result<(), CexError> {
    let mut scan = Scan::new(raw);
    scan.array(element)?;
    if scan.at_end() {
        Ok(())
    } else {
        Err(scan.malformed())
    }
}

/// Each element of the raw array `raw` (empty: none) read by `read` and handed to `element`.
fn for_each_element<'a, T>(
    raw: &'a [u8],
    read: impl Fn(&mut Scan<'a>) -> Result<T, CexError>,
    mut element: impl FnMut(T) -> Result<(), CexError>,
) -> Result<(), CexError> {
    if raw.is_empty() {
        return Ok(());
    }
    each_element(raw, |scan| element(read(scan)?))
}

/// A trade's `side`: `"buy"` when the taker bought (lifted an ask).
fn taker_buys(side: Option<&[u8]>) -> Result<bool, CexError> {
    match side.ok_or(CexError::MissingField("side"))? {
        b"buy" => Ok(true),
        b"sell" => Ok(false),
        _ => Err(CexError::UnknownShape),
    }
}
