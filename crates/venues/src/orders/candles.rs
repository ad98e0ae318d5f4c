//! What the five venues' candle requests and answers share: the query's checks, one bar read
//! exactly from its texts, and the ascending order every caller gets.

use std::fmt::Write as _;

use kestrel_types::cex::{Candle, Venue};

use super::common::{Ctx, Num, check_symbol, clip};
use super::{CandleQuery, Scales, VenueError, WriteError};

/// The symbol, a limit of 1 to the venue's maximum, and a start no later than the end.
pub(crate) fn check_query(venue: Venue, query: &CandleQuery<'_>) -> Result<(), WriteError> {
    check_symbol(venue, query.symbol)?;
    if query.limit == 0 || query.limit > CandleQuery::max_limit(venue) {
        return Err(WriteError::BadCandleQuery {
            venue,
            rule: "limit must be 1 to the venue's maximum",
        });
    }
    if let (Some(start), Some(end)) = (query.start_ms, query.end_ms)
        && start > end
    {
        return Err(WriteError::BadCandleQuery {
            venue,
            rule: "start after end",
        });
    }
    Ok(())
}

/// Appends `&name=value` when there is a value.
pub(crate) fn push_param(query: &mut String, name: &str, value: Option<u64>) {
    if let Some(value) = value {
        // Writing to a String cannot fail.
        let _ = write!(query, "&{name}={value}");
    }
}

/// One bar as the venue wrote it: an open time and five decimal texts.
pub(crate) struct Row<'a> {
    pub open_ms: u64,
    pub open: &'a str,
    pub high: &'a str,
    pub low: &'a str,
    pub close: &'a str,
    pub volume: &'a str,
}

/// A row of an array-shaped answer (Binance, OKX, Bybit, Kraken): the open time at index 0
/// in units of `time_unit_ms`, open, high, low, close at 1 to 4, the base volume at
/// `volume_at`.
pub(crate) fn array_row<'a>(
    ctx: &Ctx,
    fields: &[Num<'a>],
    volume_at: usize,
    time_unit_ms: u64,
) -> Result<Row<'a>, VenueError> {
    let text = |i: usize| {
        fields
            .get(i)
            .map(Num::text)
            .ok_or_else(|| ctx.unreadable(format_args!("a candle row of {} fields", fields.len())))
    };
    let time = time_of(ctx, text(0)?, "open time")?;
    let open_ms = time
        .checked_mul(time_unit_ms)
        .ok_or_else(|| ctx.unreadable("open time overflows"))?;
    Ok(Row {
        open_ms,
        open: text(1)?,
        high: text(2)?,
        low: text(3)?,
        close: text(4)?,
        volume: text(volume_at)?,
    })
}

/// A timestamp: plain digits.
pub(crate) fn time_of(ctx: &Ctx, text: &str, field: &str) -> Result<u64, VenueError> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| ctx.unreadable(format_args!("`{field}` = `{}`", clip(text))))
}

/// The bar, exactly at `scales`, with its high and low bounding its open and close.
pub(crate) fn bar(ctx: &Ctx, row: &Row<'_>, scales: Scales) -> Result<Candle, VenueError> {
    let candle = Candle {
        open_ms: row.open_ms,
        open: ctx.fixed(row.open, scales.price, "open")?,
        high: ctx.fixed(row.high, scales.price, "high")?,
        low: ctx.fixed(row.low, scales.price, "low")?,
        close: ctx.fixed(row.close, scales.price, "close")?,
        volume: ctx.fixed(row.volume, scales.size, "volume")?,
    };
    let bounded =
        candle.low <= candle.open.min(candle.close) && candle.high >= candle.open.max(candle.close);
    if !bounded {
        return Err(ctx.unreadable(format_args!(
            "the bar at {} has a high or low that does not bound its open and close",
            candle.open_ms
        )));
    }
    Ok(candle)
}

/// The bars sorted by open time; two with one open time make the answer unreadable.
pub(crate) fn ascending(ctx: &Ctx, mut candles: Vec<Candle>) -> Result<Vec<Candle>, VenueError> {
    candles.sort_unstable_by_key(|c| c.open_ms);
    if let Some(pair) = candles.windows(2).find(|w| w[0].open_ms == w[1].open_ms) {
        return Err(ctx.unreadable(format_args!("two bars open at {}", pair[0].open_ms)));
    }
    Ok(candles)
}

/// Array-shaped rows read into ascending bars.
pub(crate) fn from_arrays(
    ctx: &Ctx,
    rows: &[Vec<Num<'_>>],
    volume_at: usize,
    time_unit_ms: u64,
    scales: Scales,
) -> Result<Vec<Candle>, VenueError> {
    let candles = rows
        .iter()
        .map(|fields| {
            bar(
                ctx,
                &array_row(ctx, fields, volume_at, time_unit_ms)?,
                scales,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    ascending(ctx, candles)
}
