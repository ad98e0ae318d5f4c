//! Bybit v5 public WebSocket frames (`wss://stream.bybit.com/v5/public/{spot|linear|..}`).
//!
//! Data messages are `{"topic":..,"type":"snapshot"|"delta","ts":..,"data":..,"cts":..}`; the
//! topic says what `data` is: `orderbook.{depth}.{symbol}` (a book snapshot or diff),
//! `tickers.{symbol}` (24 h stats and, for derivatives, the best bid and ask) or
//! `publicTrade.{symbol}` (an array of trades). Control messages carry an `op` instead:
//! subscribe acknowledgements `{"success":true,"ret_msg":"","conn_id":..,"op":"subscribe"}` and
//! pongs, which come as `{"success":true,"ret_msg":"pong",..,"op":"ping"}` (spot, linear) or
//! `{"op":"pong","args":[..]}` (option, private).
//!
//! Bybit documents that field order differs between spot and futures, so it is never relied
//! on: every field is collected in one pass and the message classified afterwards. Topics this
//! crate does not read (klines, liquidations, ...) decode to [`BybitMsg::Other`].

use super::CexError;
use super::json::{PairLevels, Scan};

/// One decoded Bybit frame.
#[derive(Debug, Clone, Copy)]
pub struct BybitFrame<'a> {
    /// The data message's topic (`"orderbook.50.BTCUSDT"`); `None` on control messages.
    pub topic: Option<&'a [u8]>,
    /// The message itself.
    pub msg: BybitMsg<'a>,
}

/// What a Bybit frame carries.
#[derive(Debug, Clone, Copy)]
pub enum BybitMsg<'a> {
    /// `orderbook.{depth}.{symbol}`: a full book or a diff.
    Depth(BybitDepth<'a>),
    /// `tickers.{symbol}`: derivatives send a snapshot, then deltas of changed fields only.
    Ticker(BybitTicker<'a>),
    /// `publicTrade.{symbol}`: up to 1024 trades, oldest first, read lazily.
    Trades(BybitTrades<'a>),
    /// The answer to a `subscribe`, `unsubscribe` or `auth` request.
    Reply(BybitReply<'a>),
    /// The answer to a `ping`, in either of its documented shapes.
    Pong,
    /// A well-formed message this crate does not read (klines, liquidations, ...).
    Other,
}

/// `type` of a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BybitKind {
    /// The whole state: replace what is kept.
    Snapshot,
    /// Changes since the previous message.
    Delta,
}

/// An `orderbook.*` message.
#[derive(Debug, Clone, Copy)]
pub struct BybitDepth<'a> {
    /// Snapshot (reset the local book) or delta (apply to it).
    pub kind: BybitKind,
    /// The depth named in the topic (1, 50, 200, 500, 1000, ...); `None` when the topic's middle
    /// part is not a number (`orderbook.rpi.BTCUSDT`).
    pub depth: Option<u32>,
    /// `data.s`: the symbol (`"BTCUSDT"`).
    pub symbol: &'a [u8],
    /// `ts`: when Bybit's system generated the message, ms.
    pub ts_ms: u64,
    /// `cts`: the matching engine's time for this book state, ms (comparable with trade `T`).
    pub cts_ms: Option<u64>,
    /// `data.u`: the update id. Consecutive per topic; `1` on a snapshot means the service
    /// restarted.
    pub update_id: u64,
    /// `data.seq`: the cross sequence, comparable across depths of one symbol.
    pub seq: Option<u64>,
    /// `data.b`: bids (size `"0"` removes the level in a delta).
    pub bids: PairLevels<'a>,
    /// `data.a`: asks.
    pub asks: PairLevels<'a>,
}

/// A `tickers.*` message. A delta carries only the fields that changed, so each is optional.
#[derive(Debug, Clone, Copy)]
pub struct BybitTicker<'a> {
    /// Snapshot or delta (spot and option tickers are snapshots only).
    pub kind: BybitKind,
    /// `data.symbol`.
    pub symbol: &'a [u8],
    /// `ts`, ms.
    pub ts_ms: u64,
    /// `cs`: cross sequence (derivatives).
    pub cross_seq: Option<u64>,
    /// `data.lastPrice`.
    pub last_price: Option<&'a [u8]>,
    /// `data.bid1Price` (derivatives only; spot tickers carry no best bid or ask).
    pub bid_price: Option<&'a [u8]>,
    /// `data.bid1Size`.
    pub bid_size: Option<&'a [u8]>,
    /// `data.ask1Price`.
    pub ask_price: Option<&'a [u8]>,
    /// `data.ask1Size`.
    pub ask_size: Option<&'a [u8]>,
}

/// The trades of one `publicTrade.*` message, read lazily with [`BybitTrades::for_each`].
#[derive(Debug, Clone, Copy)]
pub struct BybitTrades<'a> {
    /// `ts`, ms.
    pub ts_ms: u64,
    raw: &'a [u8],
}

/// Which side took liquidity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BybitSide {
    /// `"Buy"`.
    Buy,
    /// `"Sell"`.
    Sell,
}

/// One public trade.
#[derive(Debug, Clone, Copy)]
pub struct BybitTrade<'a> {
    /// `T`: fill time, ms.
    pub trade_ms: u64,
    /// `s`.
    pub symbol: &'a [u8],
    /// `S`: the taker's side.
    pub taker_side: BybitSide,
    /// `v`: size.
    pub size: &'a [u8],
    /// `p`: price.
    pub price: &'a [u8],
    /// `i`: trade id.
    pub id: &'a [u8],
    /// `BT`: a block trade (absent means no).
    pub block_trade: bool,
    /// `seq`: cross sequence; several messages may share one.
    pub seq: Option<u64>,
}

/// A request's answer.
#[derive(Debug, Clone, Copy)]
pub struct BybitReply<'a> {
    /// `op`: the request it answers (`"subscribe"`, `"unsubscribe"`, `"auth"`).
    pub op: &'a [u8],
    /// `success`.
    pub success: bool,
    /// `ret_msg`: empty on success, the reason otherwise.
    pub ret_msg: &'a [u8],
    /// `req_id`, when the request set one (as a string).
    pub req_id: Option<&'a [u8]>,
    /// `conn_id`: the server's id for this connection.
    pub conn_id: Option<&'a [u8]>,
}

impl<'a> BybitTrades<'a> {
    /// Call `trade` for each trade in order (the first error stops the walk and is returned).
    pub fn for_each(
        &self,
        mut trade: impl FnMut(BybitTrade<'a>) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        let mut scan = Scan::new(self.raw);
        scan.array(|scan| {
            let mut f = TradeFields::default();
            scan.object(|key, scan| trade_field(&mut f, key, scan))?;
            trade(BybitTrade {
                trade_ms: f.trade_ms.ok_or(CexError::MissingField("T"))?,
                symbol: f.symbol.ok_or(CexError::MissingField("s"))?,
                taker_side: f.side.ok_or(CexError::MissingField("S"))?,
                size: f.size.ok_or(CexError::MissingField("v"))?,
                price: f.price.ok_or(CexError::MissingField("p"))?,
                id: f.id.ok_or(CexError::MissingField("i"))?,
                block_trade: f.block_trade.unwrap_or(false),
                seq: f.seq,
            })
        })?;
        if scan.at_end() {
            Ok(())
        } else {
            Err(scan.malformed())
        }
    }
}

#[derive(Default)]
struct TradeFields<'a> {
    trade_ms: Option<u64>,
    symbol: Option<&'a [u8]>,
    side: Option<BybitSide>,
    size: Option<&'a [u8]>,
    price: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    block_trade: Option<bool>,
    seq: Option<u64>,
}

fn trade_field<'a>(
    f: &mut TradeFields<'a>,
    key: &'a [u8],
    scan: &mut Scan<'a>,
) -> Result<(), CexError> {
    match key {
        b"T" => f.trade_ms = Some(scan.u64()?),
        b"s" => f.symbol = Some(scan.string()?),
        b"S" => {
            f.side = Some(match scan.string()? {
                b"Buy" => BybitSide::Buy,
                b"Sell" => BybitSide::Sell,
                _ => return Err(CexError::UnknownShape),
            });
        }
        b"v" => f.size = Some(scan.decimal()?),
        b"p" => f.price = Some(scan.decimal()?),
        b"i" => f.id = Some(scan.string()?),
        b"BT" => f.block_trade = Some(scan.bool()?),
        b"seq" => f.seq = Some(scan.u64()?),
        _ => {
            scan.skip_value()?;
        }
    }
    Ok(())
}

/// Top-level fields of any Bybit message.
#[derive(Default)]
struct Fields<'a> {
    topic: Option<&'a [u8]>,
    kind: Option<&'a [u8]>,
    ts_ms: Option<u64>,
    cts_ms: Option<u64>,
    cross_seq: Option<u64>,
    data: Data<'a>,
    op: Option<&'a [u8]>,
    success: Option<bool>,
    ret_msg: Option<&'a [u8]>,
    req_id: Option<&'a [u8]>,
    conn_id: Option<&'a [u8]>,
}

/// `data`'s fields when it is an object, or its raw bytes when it is an array.
#[derive(Default)]
struct Data<'a> {
    present: bool,
    array: Option<&'a [u8]>,
    s: Option<&'a [u8]>,
    symbol: Option<&'a [u8]>,
    bids: Option<&'a [u8]>,
    asks: Option<&'a [u8]>,
    update_id: Option<u64>,
    seq: Option<u64>,
    last_price: Option<&'a [u8]>,
    bid_price: Option<&'a [u8]>,
    bid_size: Option<&'a [u8]>,
    ask_price: Option<&'a [u8]>,
    ask_size: Option<&'a [u8]>,
}

/// Decode one Bybit v5 public WebSocket frame.
pub fn parse_bybit(frame: &[u8]) -> Result<BybitFrame<'_>, CexError> {
    let mut scan = Scan::new(frame);
    let mut fields = Fields::default();
    scan.object(|key, scan| field(&mut fields, key, scan))?;
    if !scan.at_end() {
        return Err(scan.malformed());
    }
    let msg = classify(&fields)?;
    Ok(BybitFrame {
        topic: fields.topic,
        msg,
    })
}

fn field<'a>(f: &mut Fields<'a>, key: &'a [u8], scan: &mut Scan<'a>) -> Result<(), CexError> {
    match key {
        b"topic" => f.topic = Some(scan.string()?),
        b"type" => f.kind = Some(scan.string()?),
        b"ts" => f.ts_ms = Some(scan.u64()?),
        b"cts" => f.cts_ms = Some(scan.u64()?),
        b"cs" => f.cross_seq = Some(scan.u64()?),
        b"data" => {
            f.data.present = true;
            match scan.peek() {
                Some(b'{') => scan.object(|key, scan| data_field(&mut f.data, key, scan))?,
                Some(b'[') => f.data.array = Some(scan.skip_value()?),
                _ => {
                    scan.skip_value()?;
                }
            }
        }
        b"op" => f.op = Some(scan.string()?),
        b"success" => f.success = Some(scan.bool()?),
        b"ret_msg" => f.ret_msg = Some(scan.string()?),
        b"conn_id" => f.conn_id = Some(scan.string()?),
        // `req_id` echoes what the client sent: only a string is kept.
        b"req_id" if scan.peek() == Some(b'"') => f.req_id = Some(scan.string()?),
        _ => {
            scan.skip_value()?;
        }
    }
    Ok(())
}

fn data_field<'a>(d: &mut Data<'a>, key: &'a [u8], scan: &mut Scan<'a>) -> Result<(), CexError> {
    match key {
        b"s" => d.s = Some(scan.string()?),
        b"symbol" => d.symbol = Some(scan.string()?),
        // Kept raw whatever they are: only an `orderbook.*` topic requires them to be arrays.
        b"b" => d.bids = Some(scan.skip_value()?),
        b"a" => d.asks = Some(scan.skip_value()?),
        b"u" => d.update_id = Some(scan.u64()?),
        b"seq" => d.seq = Some(scan.u64()?),
        b"lastPrice" => d.last_price = Some(scan.decimal()?),
        b"bid1Price" => d.bid_price = Some(scan.decimal()?),
        b"bid1Size" => d.bid_size = Some(scan.decimal()?),
        b"ask1Price" => d.ask_price = Some(scan.decimal()?),
        b"ask1Size" => d.ask_size = Some(scan.decimal()?),
        _ => {
            scan.skip_value()?;
        }
    }
    Ok(())
}

fn classify<'a>(f: &Fields<'a>) -> Result<BybitMsg<'a>, CexError> {
    if let Some(topic) = f.topic {
        if let Some(rest) = topic.strip_prefix(b"orderbook.") {
            return depth(f, rest);
        }
        if topic.starts_with(b"tickers.") {
            return ticker(f);
        }
        if topic.starts_with(b"publicTrade.") {
            return trades(f);
        }
        return Ok(BybitMsg::Other);
    }
    match f.op {
        Some(b"pong") => Ok(BybitMsg::Pong),
        Some(b"ping") if f.ret_msg == Some(b"pong") => Ok(BybitMsg::Pong),
        Some(op) => Ok(BybitMsg::Reply(BybitReply {
            op,
            success: f.success.ok_or(CexError::MissingField("success"))?,
            ret_msg: f.ret_msg.unwrap_or_default(),
            req_id: f.req_id,
            conn_id: f.conn_id,
        })),
        None => Err(CexError::UnknownShape),
    }
}

fn kind(f: &Fields<'_>) -> Result<BybitKind, CexError> {
    match f.kind {
        Some(b"snapshot") => Ok(BybitKind::Snapshot),
        Some(b"delta") => Ok(BybitKind::Delta),
        Some(_) => Err(CexError::UnknownShape),
        None => Err(CexError::MissingField("type")),
    }
}

/// `rest` is the topic after `orderbook.`: `50.BTCUSDT`.
fn depth<'a>(f: &Fields<'a>, rest: &'a [u8]) -> Result<BybitMsg<'a>, CexError> {
    let d = &f.data;
    if !d.present {
        return Err(CexError::MissingField("data"));
    }
    let levels = |raw: Option<&'a [u8]>, name| match raw {
        Some(raw) if raw.first() == Some(&b'[') => Ok(PairLevels::new(raw)),
        Some(_) => Err(CexError::UnknownShape),
        None => Err(CexError::MissingField(name)),
    };
    let depth = rest
        .split(|&b| b == b'.')
        .next()
        .and_then(super::json::parse_u64)
        .and_then(|n| u32::try_from(n).ok());
    Ok(BybitMsg::Depth(BybitDepth {
        kind: kind(f)?,
        depth,
        symbol: d.s.ok_or(CexError::MissingField("s"))?,
        ts_ms: f.ts_ms.ok_or(CexError::MissingField("ts"))?,
        cts_ms: f.cts_ms,
        update_id: d.update_id.ok_or(CexError::MissingField("u"))?,
        seq: d.seq,
        bids: levels(d.bids, "b")?,
        asks: levels(d.asks, "a")?,
    }))
}

fn ticker<'a>(f: &Fields<'a>) -> Result<BybitMsg<'a>, CexError> {
    let d = &f.data;
    Ok(BybitMsg::Ticker(BybitTicker {
        kind: kind(f)?,
        symbol: d.symbol.ok_or(CexError::MissingField("symbol"))?,
        ts_ms: f.ts_ms.ok_or(CexError::MissingField("ts"))?,
        cross_seq: f.cross_seq,
        last_price: d.last_price,
        bid_price: d.bid_price,
        bid_size: d.bid_size,
        ask_price: d.ask_price,
        ask_size: d.ask_size,
    }))
}

fn trades<'a>(f: &Fields<'a>) -> Result<BybitMsg<'a>, CexError> {
    let raw = match (f.data.present, f.data.array) {
        (_, Some(raw)) => raw,
        (true, None) => return Err(CexError::UnknownShape),
        (false, None) => return Err(CexError::MissingField("data")),
    };
    Ok(BybitMsg::Trades(BybitTrades {
        ts_ms: f.ts_ms.ok_or(CexError::MissingField("ts"))?,
        raw,
    }))
}
