//! OKX v5 public WebSocket frames (`wss://ws.okx.com:8443/ws/v5/public`): channel pushes
//! `{"arg":{"channel":..,"instId":..},"action":..,"data":[..]}`, events
//! `{"event":"subscribe"|"error"|"notice",..}`, and the bare text `pong`.
//!
//! Prices and sizes stay the strings OKX sent; sequence ids and the checksum are integers.
//! Field order is never relied on: when `data` comes before `arg` its bytes are kept and read
//! once the channel is known. Channels Kestrel does not read (candles, ...) and events other
//! than those below decode to [`OkxFrame::Other`].

use super::json::{PairLevels, Scan};
use super::{CexError, ChannelData, Data, for_each_element, raw_array, read_frame, taker_buys};

/// One decoded OKX frame.
#[derive(Debug, Clone, Copy)]
pub enum OkxFrame<'a> {
    /// A book push: `books` (400 levels, snapshot then updates), `books-l2-tbt`,
    /// `books50-l2-tbt`, `books5` or `bbo-tbt` (each push the whole shallow book).
    Book(OkxBookMsg<'a>),
    /// `tickers`: last trade and best bid/ask.
    Ticker(OkxTicker<'a>),
    /// `trades`: one or more trades, read lazily.
    Trades(OkxTrades<'a>),
    /// `{"event":"subscribe","arg":..}`: a subscription is live.
    Subscribed(OkxArg<'a>),
    /// `{"event":"unsubscribe","arg":..}`.
    Unsubscribed(OkxArg<'a>),
    /// `{"event":"error","code":..,"msg":..}`: a request failed.
    Error {
        /// `code` as sent (`"60012"`).
        code: &'a [u8],
        /// `msg`.
        msg: &'a [u8],
    },
    /// `{"event":"notice","code":"64008",..}`: the server will close this connection for an
    /// upgrade; reconnect before it does.
    Notice {
        /// `code` as sent.
        code: &'a [u8],
        /// `msg`.
        msg: &'a [u8],
    },
    /// The text `pong`, the answer to the text `ping` keep-alive.
    Pong,
    /// A well-formed push or event this crate does not read.
    Other,
}

/// A subscription's channel and instrument.
#[derive(Debug, Clone, Copy)]
pub struct OkxArg<'a> {
    /// `channel` (`"books"`).
    pub channel: &'a [u8],
    /// `instId` (`"BTC-USDT"`), when the channel has one.
    pub inst_id: Option<&'a [u8]>,
}

/// How a book push relates to the book before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OkxAction {
    /// `"action":"snapshot"`: the whole book; the updates that follow chain from its `seqId`.
    Snapshot,
    /// `"action":"update"`: levels to set (size `"0"` removes).
    Update,
    /// No `action` (`books5`, `bbo-tbt`): every push is the whole (shallow) book.
    Full,
}

/// One book push.
#[derive(Debug, Clone, Copy)]
pub struct OkxBookMsg<'a> {
    /// `arg.channel`.
    pub channel: &'a [u8],
    /// `arg.instId`.
    pub inst_id: &'a [u8],
    /// `action`, or [`OkxAction::Full`] for the channels that send none.
    pub action: OkxAction,
    /// `asks`, `[["px","sz","0","orders"],..]`, best first.
    pub asks: PairLevels<'a>,
    /// `bids`, best first.
    pub bids: PairLevels<'a>,
    /// `ts`: book time, ms.
    pub ts_ms: u64,
    /// `checksum`: signed CRC32 of the venue's top 25 levels after this push. Absent on
    /// `books5`/`bbo-tbt`; OKX deprecated it in 2026 and then sends `0` on every push.
    pub checksum: Option<i32>,
    /// `seqId`, when sent (absent in captures from before OKX added it).
    pub seq_id: Option<i64>,
    /// `prevSeqId`: the `seqId` of the push before this one (`-1` on a snapshot).
    pub prev_seq_id: Option<i64>,
}

/// A `tickers` push's top of book (strings may be empty when a side is empty).
#[derive(Debug, Clone, Copy)]
pub struct OkxTicker<'a> {
    /// `instId`.
    pub inst_id: &'a [u8],
    /// `bidPx`.
    pub bid_px: &'a [u8],
    /// `bidSz`.
    pub bid_sz: &'a [u8],
    /// `askPx`.
    pub ask_px: &'a [u8],
    /// `askSz`.
    pub ask_sz: &'a [u8],
    /// `last`: last traded price.
    pub last: &'a [u8],
    /// `ts`, ms.
    pub ts_ms: u64,
}

/// One trade of a `trades` push.
#[derive(Debug, Clone, Copy)]
pub struct OkxTrade<'a> {
    /// `instId`.
    pub inst_id: &'a [u8],
    /// `tradeId`.
    pub trade_id: u64,
    /// `px`.
    pub px: &'a [u8],
    /// `sz`.
    pub sz: &'a [u8],
    /// `side` is `"buy"`: the taker bought.
    pub taker_buys: bool,
    /// `ts`, ms.
    pub ts_ms: u64,
}

/// The trades of one `trades` push, read lazily.
#[derive(Debug, Clone, Copy)]
pub struct OkxTrades<'a> {
    /// `arg.instId`.
    pub inst_id: &'a [u8],
    raw: &'a [u8],
}

impl<'a> OkxTrades<'a> {
    /// Call `trade(..)` for each trade in order.
    pub fn for_each(
        &self,
        trade: impl FnMut(OkxTrade<'a>) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        for_each_element(self.raw, read_trade, trade)
    }
}

fn read_trade<'a>(scan: &mut Scan<'a>) -> Result<OkxTrade<'a>, CexError> {
    let mut e = Entry::default();
    scan.object(|key, scan| entry_field(&mut e, key, scan))?;
    let need = |v: Option<&'a [u8]>, name| v.ok_or(CexError::MissingField(name));
    let taker_buys = taker_buys(e.side)?;
    Ok(OkxTrade {
        inst_id: need(e.inst_id, "instId")?,
        trade_id: e.trade_id.ok_or(CexError::MissingField("tradeId"))?,
        px: need(e.px, "px")?,
        sz: need(e.sz, "sz")?,
        taker_buys,
        ts_ms: e.ts_ms.ok_or(CexError::MissingField("ts"))?,
    })
}

/// The fields of one `data` element Kestrel reads, whatever its channel.
#[derive(Default)]
struct Entry<'a> {
    asks: Option<&'a [u8]>,
    bids: Option<&'a [u8]>,
    ts_ms: Option<u64>,
    checksum: Option<i32>,
    seq_id: Option<i64>,
    prev_seq_id: Option<i64>,
    inst_id: Option<&'a [u8]>,
    bid_px: Option<&'a [u8]>,
    bid_sz: Option<&'a [u8]>,
    ask_px: Option<&'a [u8]>,
    ask_sz: Option<&'a [u8]>,
    last: Option<&'a [u8]>,
    trade_id: Option<u64>,
    px: Option<&'a [u8]>,
    sz: Option<&'a [u8]>,
    side: Option<&'a [u8]>,
}

/// The channels whose pushes are books.
fn is_book_channel(channel: &[u8]) -> bool {
    matches!(
        channel,
        b"books" | b"books5" | b"bbo-tbt" | b"books-l2-tbt" | b"books50-l2-tbt"
    )
}

#[derive(Default)]
struct Top<'a> {
    /// `arg.channel` and `data`.
    body: ChannelData<'a, Entry<'a>>,
    inst_id: Option<&'a [u8]>,
    action: Option<&'a [u8]>,
    event: Option<&'a [u8]>,
    code: Option<&'a [u8]>,
    msg: Option<&'a [u8]>,
}

/// Decode one OKX WebSocket text frame.
pub fn parse_okx(frame: &[u8]) -> Result<OkxFrame<'_>, CexError> {
    if frame.trim_ascii() == b"pong" {
        return Ok(OkxFrame::Pong);
    }
    let mut top: Top<'_> = read_frame(frame, top_field)?;
    top.body.finish(read_data)?;
    classify(top)
}

fn top_field<'a>(top: &mut Top<'a>, key: &'a [u8], scan: &mut Scan<'a>) -> Result<(), CexError> {
    match key {
        b"arg" => scan.object(|key, scan| {
            match key {
                b"channel" => top.body.channel = Some(scan.string()?),
                b"instId" => top.inst_id = Some(scan.string()?),
                _ => {
                    scan.skip_value()?;
                }
            }
            Ok(())
        })?,
        b"action" => top.action = Some(scan.string()?),
        b"data" => top.body.data(scan, read_data)?,
        b"event" => top.event = Some(scan.string()?),
        b"code" => top.code = Some(scan.decimal()?),
        b"msg" => top.msg = Some(scan.string()?),
        _ => {
            scan.skip_value()?;
        }
    }
    Ok(())
}

fn read_data<'a>(channel: &[u8], scan: &mut Scan<'a>) -> Result<Data<'a, Entry<'a>>, CexError> {
    if is_book_channel(channel) || channel == b"tickers" {
        Data::one(scan, entry_field)
    } else if channel == b"trades" {
        Data::list(scan)
    } else {
        Data::skip(scan)
    }
}

fn entry_field<'a>(e: &mut Entry<'a>, key: &'a [u8], scan: &mut Scan<'a>) -> Result<(), CexError> {
    match key {
        b"asks" => e.asks = Some(raw_array(scan)?),
        b"bids" => e.bids = Some(raw_array(scan)?),
        b"ts" => e.ts_ms = Some(scan.u64()?),
        b"checksum" => {
            let value = scan.i64()?;
            e.checksum = Some(i32::try_from(value).map_err(|_| scan.malformed())?);
        }
        b"seqId" => e.seq_id = Some(scan.i64()?),
        b"prevSeqId" => e.prev_seq_id = Some(scan.i64()?),
        b"instId" => e.inst_id = Some(scan.string()?),
        b"bidPx" => e.bid_px = Some(scan.string()?),
        b"bidSz" => e.bid_sz = Some(scan.string()?),
        b"askPx" => e.ask_px = Some(scan.string()?),
        b"askSz" => e.ask_sz = Some(scan.string()?),
        b"last" => e.last = Some(scan.string()?),
        b"tradeId" => e.trade_id = Some(scan.u64()?),
        b"px" => e.px = Some(scan.string()?),
        b"sz" => e.sz = Some(scan.string()?),
        b"side" => e.side = Some(scan.string()?),
        _ => {
            scan.skip_value()?;
        }
    }
    Ok(())
}

fn classify<'a>(top: Top<'a>) -> Result<OkxFrame<'a>, CexError> {
    if let Some(event) = top.event {
        return classify_event(event, &top);
    }
    let Some(channel) = top.body.channel else {
        return Err(CexError::UnknownShape);
    };
    let need = |v: Option<&'a [u8]>, name| v.ok_or(CexError::MissingField(name));
    match top.body.data {
        Some(Data { one: Some(e), .. }) if is_book_channel(channel) => {
            let action = match top.action {
                Some(b"snapshot") => OkxAction::Snapshot,
                Some(b"update") => OkxAction::Update,
                Some(_) => return Err(CexError::UnknownShape),
                // Only the whole-book channels may leave `action` out: an incremental push
                // without one cannot be told from a snapshot.
                None if matches!(channel, b"books5" | b"bbo-tbt") => OkxAction::Full,
                None => return Err(CexError::MissingField("action")),
            };
            Ok(OkxFrame::Book(OkxBookMsg {
                channel,
                inst_id: need(top.inst_id, "instId")?,
                action,
                asks: PairLevels::new(need(e.asks, "asks")?),
                bids: PairLevels::new(need(e.bids, "bids")?),
                ts_ms: e.ts_ms.ok_or(CexError::MissingField("ts"))?,
                checksum: e.checksum,
                seq_id: e.seq_id,
                prev_seq_id: e.prev_seq_id,
            }))
        }
        Some(Data { one: Some(e), .. }) => Ok(OkxFrame::Ticker(OkxTicker {
            inst_id: need(e.inst_id.or(top.inst_id), "instId")?,
            bid_px: need(e.bid_px, "bidPx")?,
            bid_sz: need(e.bid_sz, "bidSz")?,
            ask_px: need(e.ask_px, "askPx")?,
            ask_sz: need(e.ask_sz, "askSz")?,
            last: need(e.last, "last")?,
            ts_ms: e.ts_ms.ok_or(CexError::MissingField("ts"))?,
        })),
        Some(Data {
            list: Some(raw), ..
        }) => Ok(OkxFrame::Trades(OkxTrades {
            inst_id: need(top.inst_id, "instId")?,
            raw,
        })),
        Some(Data {
            one: None,
            list: None,
        }) => Ok(OkxFrame::Other),
        None => Err(CexError::MissingField("data")),
    }
}

fn classify_event<'a>(event: &'a [u8], top: &Top<'a>) -> Result<OkxFrame<'a>, CexError> {
    let arg = || -> Result<OkxArg<'a>, CexError> {
        Ok(OkxArg {
            channel: top.body.channel.ok_or(CexError::MissingField("arg"))?,
            inst_id: top.inst_id,
        })
    };
    match event {
        b"subscribe" => Ok(OkxFrame::Subscribed(arg()?)),
        b"unsubscribe" => Ok(OkxFrame::Unsubscribed(arg()?)),
        b"error" => Ok(OkxFrame::Error {
            code: top.code.ok_or(CexError::MissingField("code"))?,
            msg: top.msg.unwrap_or_default(),
        }),
        b"notice" => Ok(OkxFrame::Notice {
            code: top.code.ok_or(CexError::MissingField("code"))?,
            msg: top.msg.unwrap_or_default(),
        }),
        _ => Ok(OkxFrame::Other),
    }
}
