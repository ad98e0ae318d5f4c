//! Kraken spot WebSocket v2 frames (`wss://ws.kraken.com/v2`): channel messages
//! `{"channel":..,"type":"snapshot"|"update","data":[..]}` and method replies
//! `{"method":..,"success":..,"result"|"error":..,"req_id":..}`.
//!
//! Prices and quantities are JSON **numbers** on v2 (`"price":105944.20`). They are handed back
//! as the number's text exactly as written, so the caller parses them with
//! `kestrel_types::cex::Fixed::parse` at the instrument's precision and nothing passes through a
//! float. Field order is never relied on: when `data` comes before `channel` its bytes are kept
//! and read once the channel is known. Channels Kestrel does not read (`ohlc`, `instrument`, ...)
//! decode to [`KrakenFrame::Other`].

use super::json::Scan;
use super::{CexError, ChannelData, Data, for_each_element, raw_array, read_frame, taker_buys};

/// One decoded Kraken v2 frame.
#[derive(Debug, Clone, Copy)]
pub enum KrakenFrame<'a> {
    /// `book`: a snapshot (on subscribe) or an update of one symbol's book.
    Book(KrakenBookMsg<'a>),
    /// `ticker`: best bid and ask (subscribe with `"event_trigger":"bbo"` for every change).
    Ticker(KrakenTicker<'a>),
    /// `trade`: one or more trades, read lazily.
    Trades(KrakenTrades<'a>),
    /// `heartbeat`: sent about once a second when no subscribed channel has news.
    Heartbeat,
    /// `status`: the trading engine's state (`online`, `maintenance`, `cancel_only`, ...).
    Status {
        /// `data[0].system`.
        system: &'a [u8],
    },
    /// The answer to a `subscribe`/`unsubscribe` (or other) request.
    Reply(KrakenReply<'a>),
    /// The answer to an application-level `{"method":"ping"}`.
    Pong {
        /// The ping's `req_id`, when it had one.
        req_id: Option<u64>,
    },
    /// A well-formed channel message this crate does not read (`ohlc`, `instrument`, ...).
    Other,
}

/// Whether a `book` message replaces the book or changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KrakenBookKind {
    /// `"type":"snapshot"`: the whole book to the subscribed depth.
    Snapshot,
    /// `"type":"update"`: levels to set (`qty` 0 removes).
    Update,
}

/// A `book` message: one symbol's levels and the venue's CRC32 of its top 10 after them.
#[derive(Debug, Clone, Copy)]
pub struct KrakenBookMsg<'a> {
    /// `type`.
    pub kind: KrakenBookKind,
    /// `symbol` (`"BTC/USD"`).
    pub symbol: &'a [u8],
    /// `bids`, in the order sent.
    pub bids: KrakenLevels<'a>,
    /// `asks`, in the order sent.
    pub asks: KrakenLevels<'a>,
    /// `checksum`: CRC32 of the venue's top 10 levels after this message.
    pub checksum: u32,
    /// `timestamp` (RFC 3339), when present.
    pub timestamp: Option<&'a [u8]>,
}

/// A `ticker` message's best bid and ask.
#[derive(Debug, Clone, Copy)]
pub struct KrakenTicker<'a> {
    /// `symbol`.
    pub symbol: &'a [u8],
    /// `bid`: best bid price, as the number's text.
    pub bid: &'a [u8],
    /// `bid_qty`.
    pub bid_qty: &'a [u8],
    /// `ask`: best ask price.
    pub ask: &'a [u8],
    /// `ask_qty`.
    pub ask_qty: &'a [u8],
}

/// One trade of a `trade` message.
#[derive(Debug, Clone, Copy)]
pub struct KrakenTrade<'a> {
    /// `symbol`.
    pub symbol: &'a [u8],
    /// `side` is `"buy"`: the taker bought (lifted an ask).
    pub taker_buys: bool,
    /// `price`, as the number's text.
    pub price: &'a [u8],
    /// `qty`.
    pub qty: &'a [u8],
    /// `trade_id`.
    pub trade_id: u64,
    /// `timestamp` (RFC 3339), when present.
    pub timestamp: Option<&'a [u8]>,
}

/// A method reply (`subscribe`, `unsubscribe`, ...).
#[derive(Debug, Clone, Copy)]
pub struct KrakenReply<'a> {
    /// `method`.
    pub method: &'a [u8],
    /// `req_id`, when the request had one.
    pub req_id: Option<u64>,
    /// `success`.
    pub success: bool,
    /// `error`, when the request failed.
    pub error: Option<&'a [u8]>,
    /// `result.channel`, when present.
    pub channel: Option<&'a [u8]>,
    /// `result.symbol`, when present.
    pub symbol: Option<&'a [u8]>,
}

/// The levels of one book side as sent, read lazily: `[{"price":<number>,"qty":<number>},..]`.
///
/// The bytes were checked to be one JSON value when the frame was decoded; iteration still
/// checks every step and yields an error rather than panicking.
#[derive(Debug, Clone, Copy, Default)]
pub struct KrakenLevels<'a> {
    raw: &'a [u8],
}

impl<'a> KrakenLevels<'a> {
    /// Wrap the raw bytes of an array of `{"price":..,"qty":..}` objects.
    pub fn new(raw: &'a [u8]) -> KrakenLevels<'a> {
        KrakenLevels { raw }
    }

    /// The raw bytes, as sent.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Call `level(price, qty)` for each level in order, with each number's text.
    pub fn for_each(
        &self,
        mut level: impl FnMut(&'a [u8], &'a [u8]) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        for_each_element(self.raw, read_level, |(price, qty)| level(price, qty))
    }
}

/// One `{"price":..,"qty":..}` level: each number's text.
fn read_level<'a>(scan: &mut Scan<'a>) -> Result<(&'a [u8], &'a [u8]), CexError> {
    let mut price = None;
    let mut qty = None;
    scan.object(|key, scan| {
        match key {
            b"price" => price = Some(scan.decimal()?),
            b"qty" => qty = Some(scan.decimal()?),
            _ => {
                scan.skip_value()?;
            }
        }
        Ok(())
    })?;
    Ok((
        price.ok_or(CexError::MissingField("price"))?,
        qty.ok_or(CexError::MissingField("qty"))?,
    ))
}

/// The trades of one `trade` message, read lazily.
#[derive(Debug, Clone, Copy, Default)]
pub struct KrakenTrades<'a> {
    raw: &'a [u8],
}

impl<'a> KrakenTrades<'a> {
    /// Call `trade(..)` for each trade in order.
    pub fn for_each(
        &self,
        trade: impl FnMut(KrakenTrade<'a>) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        for_each_element(self.raw, read_trade, trade)
    }
}

fn read_trade<'a>(scan: &mut Scan<'a>) -> Result<KrakenTrade<'a>, CexError> {
    let mut symbol = None;
    let mut side = None;
    let mut price = None;
    let mut qty = None;
    let mut trade_id = None;
    let mut timestamp = None;
    scan.object(|key, scan| {
        match key {
            b"symbol" => symbol = Some(scan.string()?),
            b"side" => side = Some(scan.string()?),
            b"price" => price = Some(scan.decimal()?),
            b"qty" => qty = Some(scan.decimal()?),
            b"trade_id" => trade_id = Some(scan.u64()?),
            b"timestamp" => timestamp = Some(scan.string()?),
            _ => {
                scan.skip_value()?;
            }
        }
        Ok(())
    })?;
    let taker_buys = taker_buys(side)?;
    Ok(KrakenTrade {
        symbol: symbol.ok_or(CexError::MissingField("symbol"))?,
        taker_buys,
        price: price.ok_or(CexError::MissingField("price"))?,
        qty: qty.ok_or(CexError::MissingField("qty"))?,
        trade_id: trade_id.ok_or(CexError::MissingField("trade_id"))?,
        timestamp,
    })
}

/// The fields of one `data` element Kestrel reads, whatever its channel.
#[derive(Default)]
struct Entry<'a> {
    symbol: Option<&'a [u8]>,
    bids: Option<&'a [u8]>,
    asks: Option<&'a [u8]>,
    checksum: Option<u32>,
    timestamp: Option<&'a [u8]>,
    bid: Option<&'a [u8]>,
    bid_qty: Option<&'a [u8]>,
    ask: Option<&'a [u8]>,
    ask_qty: Option<&'a [u8]>,
    system: Option<&'a [u8]>,
}

#[derive(Default)]
struct Top<'a> {
    /// `channel` and `data`.
    body: ChannelData<'a, Entry<'a>>,
    kind: Option<&'a [u8]>,
    method: Option<&'a [u8]>,
    success: Option<bool>,
    error: Option<&'a [u8]>,
    req_id: Option<u64>,
    result_channel: Option<&'a [u8]>,
    result_symbol: Option<&'a [u8]>,
}

/// Decode one Kraken WebSocket v2 text frame.
pub fn parse_kraken(frame: &[u8]) -> Result<KrakenFrame<'_>, CexError> {
    let mut top: Top<'_> = read_frame(frame, top_field)?;
    top.body.finish(read_data)?;
    classify(top)
}

fn top_field<'a>(top: &mut Top<'a>, key: &'a [u8], scan: &mut Scan<'a>) -> Result<(), CexError> {
    match key {
        b"channel" => top.body.channel = Some(scan.string()?),
        b"type" => top.kind = Some(scan.string()?),
        b"data" => top.body.data(scan, read_data)?,
        b"method" => top.method = Some(scan.string()?),
        b"success" => top.success = Some(scan.bool()?),
        b"error" => {
            if !scan.null() {
                top.error = Some(scan.string()?);
            }
        }
        b"req_id" => top.req_id = Some(scan.u64()?),
        b"result" if scan.peek() == Some(b'{') => scan.object(|key, scan| {
            match key {
                b"channel" => top.result_channel = Some(scan.string()?),
                b"symbol" if scan.peek() == Some(b'"') => top.result_symbol = Some(scan.string()?),
                _ => {
                    scan.skip_value()?;
                }
            }
            Ok(())
        })?,
        _ => {
            scan.skip_value()?;
        }
    }
    Ok(())
}

fn read_data<'a>(channel: &[u8], scan: &mut Scan<'a>) -> Result<Data<'a, Entry<'a>>, CexError> {
    match channel {
        // One symbol per message is the documented shape.
        b"book" | b"ticker" | b"status" => Data::one(scan, entry_field),
        b"trade" => Data::list(scan),
        _ => Data::skip(scan),
    }
}

fn entry_field<'a>(e: &mut Entry<'a>, key: &'a [u8], scan: &mut Scan<'a>) -> Result<(), CexError> {
    match key {
        b"symbol" => e.symbol = Some(scan.string()?),
        b"bids" => e.bids = Some(raw_array(scan)?),
        b"asks" => e.asks = Some(raw_array(scan)?),
        b"checksum" => {
            let value = scan.u64()?;
            e.checksum = Some(u32::try_from(value).map_err(|_| scan.malformed())?);
        }
        b"timestamp" => e.timestamp = Some(scan.string()?),
        b"bid" => e.bid = Some(scan.decimal()?),
        b"bid_qty" => e.bid_qty = Some(scan.decimal()?),
        b"ask" => e.ask = Some(scan.decimal()?),
        b"ask_qty" => e.ask_qty = Some(scan.decimal()?),
        b"system" => e.system = Some(scan.string()?),
        _ => {
            scan.skip_value()?;
        }
    }
    Ok(())
}

fn classify(top: Top<'_>) -> Result<KrakenFrame<'_>, CexError> {
    if let Some(channel) = top.body.channel {
        return classify_channel(channel, top.kind, top.body.data);
    }
    match top.method {
        Some(b"pong") => Ok(KrakenFrame::Pong { req_id: top.req_id }),
        Some(method) => Ok(KrakenFrame::Reply(KrakenReply {
            method,
            req_id: top.req_id,
            success: top.success.ok_or(CexError::MissingField("success"))?,
            error: top.error,
            channel: top.result_channel,
            symbol: top.result_symbol,
        })),
        None => Err(CexError::UnknownShape),
    }
}

fn classify_channel<'a>(
    channel: &'a [u8],
    kind: Option<&'a [u8]>,
    data: Option<Data<'a, Entry<'a>>>,
) -> Result<KrakenFrame<'a>, CexError> {
    let need = |v: Option<&'a [u8]>, name| v.ok_or(CexError::MissingField(name));
    match (channel, data) {
        (b"heartbeat", _) => Ok(KrakenFrame::Heartbeat),
        (b"book", Some(Data { one: Some(e), .. })) => {
            let kind = match need(kind, "type")? {
                b"snapshot" => KrakenBookKind::Snapshot,
                b"update" => KrakenBookKind::Update,
                _ => return Err(CexError::UnknownShape),
            };
            Ok(KrakenFrame::Book(KrakenBookMsg {
                kind,
                symbol: need(e.symbol, "symbol")?,
                bids: KrakenLevels::new(e.bids.unwrap_or_default()),
                asks: KrakenLevels::new(e.asks.unwrap_or_default()),
                checksum: e.checksum.ok_or(CexError::MissingField("checksum"))?,
                timestamp: e.timestamp,
            }))
        }
        (b"ticker", Some(Data { one: Some(e), .. })) => Ok(KrakenFrame::Ticker(KrakenTicker {
            symbol: need(e.symbol, "symbol")?,
            bid: need(e.bid, "bid")?,
            bid_qty: need(e.bid_qty, "bid_qty")?,
            ask: need(e.ask, "ask")?,
            ask_qty: need(e.ask_qty, "ask_qty")?,
        })),
        (
            b"trade",
            Some(Data {
                list: Some(raw), ..
            }),
        ) => Ok(KrakenFrame::Trades(KrakenTrades { raw })),
        (b"status", Some(Data { one: Some(e), .. })) => Ok(KrakenFrame::Status {
            system: need(e.system, "system")?,
        }),
        (b"book" | b"ticker" | b"trade" | b"status", _) => Err(CexError::MissingField("data")),
        _ => Ok(KrakenFrame::Other),
    }
}
