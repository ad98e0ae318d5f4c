//! Binance spot market-data frames: raw (`/ws/<stream>`) or combined (`/stream?streams=`,
//! wrapped as `{"stream":..,"data":..}`) WebSocket messages, and the REST depth snapshot.
//!
//! Field order is never relied on. Only what the book, the arbitrage lane and the feed's
//! health need is read; other events (klines, mark prices) decode to [`BinanceMsg::Other`].

use super::CexError;
use super::json::{PairLevels, Scan};

/// One decoded Binance frame.
#[derive(Debug, Clone, Copy)]
pub struct BinanceFrame<'a> {
    /// The combined stream's name (`"nknusdt@depth@100ms"`), when the frame was wrapped.
    pub stream: Option<&'a [u8]>,
    /// The message itself.
    pub msg: BinanceMsg<'a>,
}

/// What a Binance frame carries.
#[derive(Debug, Clone, Copy)]
pub enum BinanceMsg<'a> {
    /// `depthUpdate`: a diff of the book between update ids `first_id..=last_id`.
    Depth(BinanceDepth<'a>),
    /// A full book: the REST `GET /api/v3/depth` answer or a partial-depth stream message.
    Snapshot(BinanceSnapshot<'a>),
    /// `bookTicker`: best bid and ask (spot sends no `e` field for it).
    Ticker(BinanceTicker<'a>),
    /// `trade` or `aggTrade`.
    Trade(BinanceTrade<'a>),
    /// The answer to a `SUBSCRIBE` request: `error_code` is `None` on success.
    Reply {
        /// The request's `id` (0 when `null`).
        id: u64,
        /// `error.code` when the request failed.
        error_code: Option<i64>,
    },
    /// `serverShutdown`: the server will close this connection soon; reconnect elsewhere first.
    Shutdown,
    /// A well-formed event this crate does not read (klines, mark prices, ...).
    Other,
}

/// A `depthUpdate` event.
#[derive(Debug, Clone, Copy)]
pub struct BinanceDepth<'a> {
    /// `s`: the symbol, upper case (`"BNBBTC"`).
    pub symbol: &'a [u8],
    /// `E`: event time, ms.
    pub event_ms: u64,
    /// `U`: first update id in the event.
    pub first_id: u64,
    /// `u`: final update id in the event.
    pub last_id: u64,
    /// `b`: bid levels to set (size 0 removes).
    pub bids: PairLevels<'a>,
    /// `a`: ask levels to set (size 0 removes).
    pub asks: PairLevels<'a>,
}

/// A full book with the update id it is valid at.
#[derive(Debug, Clone, Copy)]
pub struct BinanceSnapshot<'a> {
    /// `lastUpdateId`.
    pub last_update_id: u64,
    /// `bids`, best first.
    pub bids: PairLevels<'a>,
    /// `asks`, best first.
    pub asks: PairLevels<'a>,
}

/// A `bookTicker` message.
#[derive(Debug, Clone, Copy)]
pub struct BinanceTicker<'a> {
    /// `u`: the book update id this top of book is valid at.
    pub update_id: u64,
    /// `s`.
    pub symbol: &'a [u8],
    /// `b`.
    pub bid_price: &'a [u8],
    /// `B`.
    pub bid_size: &'a [u8],
    /// `a`.
    pub ask_price: &'a [u8],
    /// `A`.
    pub ask_size: &'a [u8],
}

/// A `trade` or `aggTrade` event.
#[derive(Debug, Clone, Copy)]
pub struct BinanceTrade<'a> {
    /// `s`.
    pub symbol: &'a [u8],
    /// `p`.
    pub price: &'a [u8],
    /// `q`.
    pub size: &'a [u8],
    /// `T`: trade time, ms.
    pub trade_ms: u64,
    /// `m`: the buyer was the maker, so the taker sold.
    pub buyer_is_maker: bool,
}

#[derive(Default)]
struct Fields<'a> {
    event: Option<&'a [u8]>,
    event_ms: Option<u64>,
    symbol: Option<&'a [u8]>,
    first_id: Option<u64>,
    last_id: Option<u64>,
    bid_levels: Option<&'a [u8]>,
    ask_levels: Option<&'a [u8]>,
    bid_price: Option<&'a [u8]>,
    ask_price: Option<&'a [u8]>,
    bid_size: Option<&'a [u8]>,
    ask_size: Option<&'a [u8]>,
    last_update_id: Option<u64>,
    price: Option<&'a [u8]>,
    size: Option<&'a [u8]>,
    trade_ms: Option<u64>,
    buyer_is_maker: Option<bool>,
    id: Option<u64>,
    is_reply: bool,
    error_code: Option<i64>,
}

/// Decode one Binance frame (WebSocket text or REST depth body).
pub fn parse_binance(frame: &[u8]) -> Result<BinanceFrame<'_>, CexError> {
    let mut scan = Scan::new(frame);
    let mut stream = None;
    let mut inner: Option<BinanceMsg<'_>> = None;
    let mut fields = Fields::default();
    scan.object(|key, scan| match key {
        b"stream" => {
            stream = Some(scan.string()?);
            Ok(())
        }
        b"data" => {
            let mut data = Fields::default();
            scan.object(|key, scan| field(&mut data, key, scan))?;
            inner = Some(classify(&data)?);
            Ok(())
        }
        _ => field(&mut fields, key, scan),
    })?;
    if !scan.at_end() {
        return Err(scan.malformed());
    }
    let msg = match inner {
        Some(msg) => msg,
        None => classify(&fields)?,
    };
    Ok(BinanceFrame { stream, msg })
}

fn field<'a>(f: &mut Fields<'a>, key: &'a [u8], scan: &mut Scan<'a>) -> Result<(), CexError> {
    match key {
        b"e" => f.event = Some(scan.string()?),
        b"E" => f.event_ms = Some(scan.u64()?),
        b"s" => f.symbol = Some(scan.string()?),
        b"U" => f.first_id = Some(scan.u64()?),
        b"u" => f.last_id = Some(scan.u64()?),
        // `b`/`a` are level arrays in a depth diff and price strings in a book ticker.
        b"b" | b"bids" if scan.peek() == Some(b'[') => f.bid_levels = Some(scan.skip_value()?),
        b"a" | b"asks" if scan.peek() == Some(b'[') => f.ask_levels = Some(scan.skip_value()?),
        b"b" if scan.peek() == Some(b'"') => f.bid_price = Some(scan.string()?),
        // `a` is the aggregate trade id (a number) in an `aggTrade`.
        b"a" if scan.peek() == Some(b'"') => f.ask_price = Some(scan.string()?),
        b"B" => f.bid_size = Some(scan.string()?),
        b"A" => f.ask_size = Some(scan.string()?),
        b"lastUpdateId" => f.last_update_id = Some(scan.u64()?),
        b"p" => f.price = Some(scan.string()?),
        b"q" => f.size = Some(scan.string()?),
        b"T" => f.trade_ms = Some(scan.u64()?),
        b"m" => f.buyer_is_maker = Some(scan.bool()?),
        b"id" => {
            f.id = if scan.null() {
                Some(0)
            } else {
                Some(scan.u64()?)
            }
        }
        b"result" => {
            f.is_reply = true;
            scan.skip_value()?;
        }
        b"error" => {
            f.is_reply = true;
            if !scan.null() {
                let mut code = None;
                scan.object(|key, scan| {
                    if key == b"code" {
                        code = Some(scan.i64()?);
                    } else {
                        scan.skip_value()?;
                    }
                    Ok(())
                })?;
                f.error_code = Some(code.unwrap_or(0));
            }
        }
        _ => {
            scan.skip_value()?;
        }
    }
    Ok(())
}

fn classify<'a>(f: &Fields<'a>) -> Result<BinanceMsg<'a>, CexError> {
    let need = |v: Option<&'a [u8]>, name| v.ok_or(CexError::MissingField(name));
    match f.event {
        Some(b"depthUpdate") => Ok(BinanceMsg::Depth(BinanceDepth {
            symbol: need(f.symbol, "s")?,
            event_ms: f.event_ms.unwrap_or(0),
            first_id: f.first_id.ok_or(CexError::MissingField("U"))?,
            last_id: f.last_id.ok_or(CexError::MissingField("u"))?,
            bids: PairLevels::new(f.bid_levels.unwrap_or_default()),
            asks: PairLevels::new(f.ask_levels.unwrap_or_default()),
        })),
        Some(b"trade" | b"aggTrade") => Ok(BinanceMsg::Trade(BinanceTrade {
            symbol: need(f.symbol, "s")?,
            price: need(f.price, "p")?,
            size: need(f.size, "q")?,
            trade_ms: f.trade_ms.or(f.event_ms).unwrap_or(0),
            buyer_is_maker: f.buyer_is_maker.ok_or(CexError::MissingField("m"))?,
        })),
        Some(b"bookTicker") => ticker(f),
        Some(b"serverShutdown") => Ok(BinanceMsg::Shutdown),
        Some(_) => Ok(BinanceMsg::Other),
        None if f.last_update_id.is_some() => Ok(BinanceMsg::Snapshot(BinanceSnapshot {
            last_update_id: f.last_update_id.unwrap_or_default(),
            bids: PairLevels::new(need(f.bid_levels, "bids")?),
            asks: PairLevels::new(need(f.ask_levels, "asks")?),
        })),
        // Spot's `bookTicker` has no `e`; futures' has one.
        None if f.bid_price.is_some() => ticker(f),
        None if f.is_reply => Ok(BinanceMsg::Reply {
            id: f.id.unwrap_or(0),
            error_code: f.error_code,
        }),
        None => Err(CexError::UnknownShape),
    }
}

fn ticker<'a>(f: &Fields<'a>) -> Result<BinanceMsg<'a>, CexError> {
    let need = |v: Option<&'a [u8]>, name| v.ok_or(CexError::MissingField(name));
    Ok(BinanceMsg::Ticker(BinanceTicker {
        update_id: f.last_id.ok_or(CexError::MissingField("u"))?,
        symbol: need(f.symbol, "s")?,
        bid_price: need(f.bid_price, "b")?,
        bid_size: need(f.bid_size, "B")?,
        ask_price: need(f.ask_price, "a")?,
        ask_size: need(f.ask_size, "A")?,
    }))
}
