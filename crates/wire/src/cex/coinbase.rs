//! Coinbase Advanced Trade market-data WebSocket frames (`wss://advanced-trade-ws.coinbase.com`).
//!
//! Every channel message shares one envelope:
//! `{"channel":..,"client_id":..,"timestamp":..,"sequence_num":N,"events":[..]}`, where
//! `sequence_num` counts the messages of the whole connection, across channels, so a jump in it
//! means some message (of any channel) was lost. The channels read here:
//! - `l2_data` (subscribed as `level2`): events `{"type":"snapshot"|"update","product_id":..,
//!   "updates":[{"side":"bid"|"offer","event_time":..,"price_level":..,"new_quantity":..}]}`,
//!   where `new_quantity` is the level's new size (not a change) and `"0"` removes it;
//! - `ticker` / `ticker_batch`: events `{"tickers":[{"product_id","price","best_bid",..}]}`;
//! - `market_trades`: events `{"trades":[{"trade_id","product_id","price","size","side",..}]}`;
//! - `heartbeats`: `{"current_time":..,"heartbeat_counter":N}`;
//! - `subscriptions`: the answer to a (un)subscribe.
//!
//! Errors come without the envelope: `{"type":"error","message":..}`. Event arrays are kept as
//! raw bytes and read lazily, so decoding a frame allocates nothing and a caller walks only what
//! it needs. Field order is never relied on; unknown fields are skipped.

use kestrel_types::cex::BookSide;

use super::json::Scan;
use super::{CexError, each_element};

/// One decoded Coinbase frame.
#[derive(Debug, Clone, Copy)]
pub struct CoinbaseFrame<'a> {
    /// `channel` (`"l2_data"`); empty on an error message, which has none.
    pub channel: &'a [u8],
    /// `sequence_num`: the connection-wide message counter. `None` only on an error message.
    pub sequence_num: Option<u64>,
    /// `timestamp` (RFC 3339), as sent.
    pub timestamp: Option<&'a [u8]>,
    /// The message itself.
    pub msg: CoinbaseMsg<'a>,
}

/// What a Coinbase frame carries.
#[derive(Debug, Clone, Copy)]
pub enum CoinbaseMsg<'a> {
    /// `l2_data`: book snapshots and updates, per product.
    L2(CoinbaseL2<'a>),
    /// `ticker` or `ticker_batch`.
    Ticker(CoinbaseTickers<'a>),
    /// `market_trades`.
    Trades(CoinbaseTrades<'a>),
    /// `heartbeats`: the last event's counter (it increases by one a second).
    Heartbeat {
        /// `heartbeat_counter`.
        counter: u64,
        /// `current_time`, as sent.
        current_time: &'a [u8],
    },
    /// `subscriptions`: what this connection is now subscribed to.
    Subscriptions,
    /// `{"type":"error","message":..}`.
    Error {
        /// `message`.
        message: &'a [u8],
    },
    /// A channel this crate does not read (`candles`, `status`, `user`, ...).
    Other,
}

/// `type` of an `l2_data` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoinbaseKind {
    /// The product's whole book: replace what is kept.
    Snapshot,
    /// Levels whose size changed.
    Update,
}

/// The events of an `l2_data` message, read lazily with [`CoinbaseL2::for_each`].
#[derive(Debug, Clone, Copy)]
pub struct CoinbaseL2<'a> {
    events: &'a [u8],
}

/// One `l2_data` event: one product's snapshot or update.
#[derive(Debug, Clone, Copy)]
pub struct CoinbaseL2Event<'a> {
    /// Snapshot or update.
    pub kind: CoinbaseKind,
    /// `product_id` (`"BTC-USD"`).
    pub product_id: &'a [u8],
    /// `updates`, read lazily.
    pub updates: CoinbaseLevels<'a>,
}

/// The `updates` array of an `l2_data` event, read lazily with [`CoinbaseLevels::for_each`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CoinbaseLevels<'a> {
    raw: &'a [u8],
}

/// One level of an `l2_data` event.
#[derive(Debug, Clone, Copy)]
pub struct CoinbaseLevel<'a> {
    /// `side`: `"bid"` or `"offer"`.
    pub side: BookSide,
    /// `price_level`.
    pub price: &'a [u8],
    /// `new_quantity`: the level's size from now on (`"0"` removes it).
    pub quantity: &'a [u8],
    /// `event_time`, as sent.
    pub event_time: &'a [u8],
}

/// The tickers of a `ticker` message, read lazily with [`CoinbaseTickers::for_each`].
#[derive(Debug, Clone, Copy)]
pub struct CoinbaseTickers<'a> {
    events: &'a [u8],
}

/// One product's ticker. `ticker_batch` leaves out the best bid and ask quantities.
#[derive(Debug, Clone, Copy)]
pub struct CoinbaseTicker<'a> {
    /// `product_id`.
    pub product_id: &'a [u8],
    /// `price`: the last trade's price.
    pub price: &'a [u8],
    /// `best_bid`.
    pub best_bid: Option<&'a [u8]>,
    /// `best_bid_quantity`.
    pub best_bid_quantity: Option<&'a [u8]>,
    /// `best_ask`.
    pub best_ask: Option<&'a [u8]>,
    /// `best_ask_quantity`.
    pub best_ask_quantity: Option<&'a [u8]>,
}

/// The trades of a `market_trades` message, read lazily with [`CoinbaseTrades::for_each`].
#[derive(Debug, Clone, Copy)]
pub struct CoinbaseTrades<'a> {
    events: &'a [u8],
}

/// `side` of a market trade, as Coinbase writes it. Coinbase does not define it on this
/// channel; the Coinbase Exchange feed and nautilus's adapter read it as the maker's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoinbaseTradeSide {
    /// `"BUY"`.
    Buy,
    /// `"SELL"`.
    Sell,
}

/// One market trade.
#[derive(Debug, Clone, Copy)]
pub struct CoinbaseTrade<'a> {
    /// `trade_id`.
    pub trade_id: &'a [u8],
    /// `product_id`.
    pub product_id: &'a [u8],
    /// `price`.
    pub price: &'a [u8],
    /// `size`.
    pub size: &'a [u8],
    /// `side`.
    pub side: CoinbaseTradeSide,
    /// `time`, as sent.
    pub time: &'a [u8],
}

impl<'a> CoinbaseL2<'a> {
    /// Call `event` for each event in order (the first error stops the walk and is returned).
    pub fn for_each(
        &self,
        mut event: impl FnMut(CoinbaseL2Event<'a>) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        each_element(self.events, |scan| {
            let mut kind = None;
            let mut product_id = None;
            let mut updates = None;
            scan.object(|key, scan| {
                match key {
                    b"type" => {
                        kind = Some(match scan.string()? {
                            b"snapshot" => CoinbaseKind::Snapshot,
                            b"update" => CoinbaseKind::Update,
                            _ => return Err(CexError::UnknownShape),
                        });
                    }
                    b"product_id" => product_id = Some(scan.string()?),
                    b"updates" if scan.peek() == Some(b'[') => updates = Some(scan.skip_value()?),
                    b"updates" => return Err(scan.malformed()),
                    _ => {
                        scan.skip_value()?;
                    }
                }
                Ok(())
            })?;
            event(CoinbaseL2Event {
                kind: kind.ok_or(CexError::MissingField("type"))?,
                product_id: product_id.ok_or(CexError::MissingField("product_id"))?,
                updates: CoinbaseLevels {
                    raw: updates.ok_or(CexError::MissingField("updates"))?,
                },
            })
        })
    }
}

impl<'a> CoinbaseLevels<'a> {
    /// No levels at all.
    pub fn is_empty(&self) -> bool {
        self.raw
            .iter()
            .all(|b| matches!(b, b'[' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
    }

    /// Call `level` for each level in order.
    pub fn for_each(
        &self,
        mut level: impl FnMut(CoinbaseLevel<'a>) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        if self.raw.is_empty() {
            return Ok(());
        }
        each_element(self.raw, |scan| {
            let mut side = None;
            let mut price = None;
            let mut quantity = None;
            let mut event_time = None;
            scan.object(|key, scan| {
                match key {
                    b"side" => {
                        side = Some(match scan.string()? {
                            b"bid" => BookSide::Bid,
                            b"offer" => BookSide::Ask,
                            _ => return Err(CexError::UnknownShape),
                        });
                    }
                    b"price_level" => price = Some(scan.decimal()?),
                    b"new_quantity" => quantity = Some(scan.decimal()?),
                    b"event_time" => event_time = Some(scan.string()?),
                    _ => {
                        scan.skip_value()?;
                    }
                }
                Ok(())
            })?;
            level(CoinbaseLevel {
                side: side.ok_or(CexError::MissingField("side"))?,
                price: price.ok_or(CexError::MissingField("price_level"))?,
                quantity: quantity.ok_or(CexError::MissingField("new_quantity"))?,
                event_time: event_time.unwrap_or_default(),
            })
        })
    }
}

impl<'a> CoinbaseTickers<'a> {
    /// Call `ticker` for each ticker of each event, in order.
    pub fn for_each(
        &self,
        mut ticker: impl FnMut(CoinbaseTicker<'a>) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        each_inner(self.events, b"tickers", |scan| {
            let mut f = TickerFields::default();
            scan.object(|key, scan| {
                match key {
                    b"product_id" => f.product_id = Some(scan.string()?),
                    b"price" => f.price = Some(scan.decimal()?),
                    b"best_bid" => f.best_bid = Some(scan.decimal()?),
                    b"best_bid_quantity" => f.best_bid_quantity = Some(scan.decimal()?),
                    b"best_ask" => f.best_ask = Some(scan.decimal()?),
                    b"best_ask_quantity" => f.best_ask_quantity = Some(scan.decimal()?),
                    _ => {
                        scan.skip_value()?;
                    }
                }
                Ok(())
            })?;
            ticker(CoinbaseTicker {
                product_id: f.product_id.ok_or(CexError::MissingField("product_id"))?,
                price: f.price.ok_or(CexError::MissingField("price"))?,
                best_bid: f.best_bid,
                best_bid_quantity: f.best_bid_quantity,
                best_ask: f.best_ask,
                best_ask_quantity: f.best_ask_quantity,
            })
        })
    }
}

#[derive(Default)]
struct TickerFields<'a> {
    product_id: Option<&'a [u8]>,
    price: Option<&'a [u8]>,
    best_bid: Option<&'a [u8]>,
    best_bid_quantity: Option<&'a [u8]>,
    best_ask: Option<&'a [u8]>,
    best_ask_quantity: Option<&'a [u8]>,
}

impl<'a> CoinbaseTrades<'a> {
    /// Call `trade` for each trade of each event, in order.
    pub fn for_each(
        &self,
        mut trade: impl FnMut(CoinbaseTrade<'a>) -> Result<(), CexError>,
    ) -> Result<(), CexError> {
        each_inner(self.events, b"trades", |scan| {
            let mut f = TradeFields::default();
            scan.object(|key, scan| {
                match key {
                    b"trade_id" => f.trade_id = Some(scan.string()?),
                    b"product_id" => f.product_id = Some(scan.string()?),
                    b"price" => f.price = Some(scan.decimal()?),
                    b"size" => f.size = Some(scan.decimal()?),
                    b"side" => {
                        f.side = Some(match scan.string()? {
                            b"BUY" => CoinbaseTradeSide::Buy,
                            b"SELL" => CoinbaseTradeSide::Sell,
                            _ => return Err(CexError::UnknownShape),
                        });
                    }
                    b"time" => f.time = Some(scan.string()?),
                    _ => {
                        scan.skip_value()?;
                    }
                }
                Ok(())
            })?;
            trade(CoinbaseTrade {
                trade_id: f.trade_id.ok_or(CexError::MissingField("trade_id"))?,
                product_id: f.product_id.ok_or(CexError::MissingField("product_id"))?,
                price: f.price.ok_or(CexError::MissingField("price"))?,
                size: f.size.ok_or(CexError::MissingField("size"))?,
                side: f.side.ok_or(CexError::MissingField("side"))?,
                time: f.time.unwrap_or_default(),
            })
        })
    }
}

#[derive(Default)]
struct TradeFields<'a> {
    trade_id: Option<&'a [u8]>,
    product_id: Option<&'a [u8]>,
    price: Option<&'a [u8]>,
    size: Option<&'a [u8]>,
    side: Option<CoinbaseTradeSide>,
    time: Option<&'a [u8]>,
}

/// Visit each element of the array under `key` in each event object of `events`; an event
/// without that key contributes nothing.
fn each_inner<'a>(
    events: &'a [u8],
    key: &'static [u8],
    mut element: impl FnMut(&mut Scan<'a>) -> Result<(), CexError>,
) -> Result<(), CexError> {
    each_element(events, |scan| {
        scan.object(|k, scan| {
            if k == key {
                scan.array(&mut element)
            } else {
                scan.skip_value().map(drop)
            }
        })
    })
}

#[derive(Default)]
struct Fields<'a> {
    channel: Option<&'a [u8]>,
    sequence_num: Option<u64>,
    timestamp: Option<&'a [u8]>,
    events: Option<&'a [u8]>,
    kind: Option<&'a [u8]>,
    message: Option<&'a [u8]>,
}

/// Decode one Coinbase Advanced Trade WebSocket frame.
pub fn parse_coinbase(frame: &[u8]) -> Result<CoinbaseFrame<'_>, CexError> {
    let mut scan = Scan::new(frame);
    let mut f = Fields::default();
    scan.object(|key, scan| {
        match key {
            b"channel" => f.channel = Some(scan.string()?),
            b"sequence_num" => f.sequence_num = Some(scan.u64()?),
            b"timestamp" => f.timestamp = Some(scan.string()?),
            b"events" if scan.peek() == Some(b'[') => f.events = Some(scan.skip_value()?),
            b"events" => return Err(scan.malformed()),
            b"type" => f.kind = Some(scan.string()?),
            b"message" => f.message = Some(scan.string()?),
            _ => {
                scan.skip_value()?;
            }
        }
        Ok(())
    })?;
    if !scan.at_end() {
        return Err(scan.malformed());
    }
    let Some(channel) = f.channel else {
        return match f.kind {
            Some(b"error") => Ok(CoinbaseFrame {
                channel: b"",
                sequence_num: f.sequence_num,
                timestamp: f.timestamp,
                msg: CoinbaseMsg::Error {
                    message: f.message.unwrap_or_default(),
                },
            }),
            _ => Err(CexError::UnknownShape),
        };
    };
    let sequence_num = f
        .sequence_num
        .ok_or(CexError::MissingField("sequence_num"))?;
    let events = || f.events.ok_or(CexError::MissingField("events"));
    let msg = match channel {
        // Subscribed as `level2`, delivered as `l2_data`; both names are accepted.
        b"l2_data" | b"level2" => CoinbaseMsg::L2(CoinbaseL2 { events: events()? }),
        b"ticker" | b"ticker_batch" => CoinbaseMsg::Ticker(CoinbaseTickers { events: events()? }),
        b"market_trades" => CoinbaseMsg::Trades(CoinbaseTrades { events: events()? }),
        b"heartbeats" => heartbeat(events()?)?,
        b"subscriptions" => CoinbaseMsg::Subscriptions,
        _ => CoinbaseMsg::Other,
    };
    Ok(CoinbaseFrame {
        channel,
        sequence_num: Some(sequence_num),
        timestamp: f.timestamp,
        msg,
    })
}

fn heartbeat(events: &[u8]) -> Result<CoinbaseMsg<'_>, CexError> {
    let mut counter = None;
    let mut current_time = None;
    each_element(events, |scan| {
        scan.object(|key, scan| {
            match key {
                b"heartbeat_counter" => counter = Some(scan.u64()?),
                b"current_time" => current_time = Some(scan.string()?),
                _ => {
                    scan.skip_value()?;
                }
            }
            Ok(())
        })
    })?;
    Ok(CoinbaseMsg::Heartbeat {
        counter: counter.ok_or(CexError::MissingField("heartbeat_counter"))?,
        current_time: current_time.unwrap_or_default(),
    })
}
