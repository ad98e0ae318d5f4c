//! Per-symbol candle histories, one per interval, that the fronts serve from their venues'
//! candle endpoints. Set by a test or the sandbox; nothing here builds bars from trades.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use kestrel_types::cex::{Candle, Interval};

/// Bars kept per symbol and interval; past it the oldest go first.
pub const MAX_CANDLES: usize = 10_000;

/// Which end of a time range a limited answer keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Keep {
    /// The first bars from the start (Binance with a `startTime`).
    Earliest,
    /// The most recent bars (every venue without a start; OKX, Bybit and Coinbase always).
    Latest,
}

/// One symbol's candle histories.
#[derive(Clone, Debug, Default)]
pub(super) struct CandleBook {
    series: BTreeMap<Interval, BTreeMap<u64, Candle>>,
}

impl CandleBook {
    /// Replaces one interval's history; a repeated open time keeps the later bar.
    pub(super) fn set(&mut self, interval: Interval, candles: Vec<Candle>) {
        let series = self.series.entry(interval).or_default();
        series.clear();
        for candle in candles {
            series.insert(candle.open_ms, candle);
        }
        trim(series);
    }

    /// Adds a bar, or replaces the one with its open time (a bar still forming).
    pub(super) fn push(&mut self, interval: Interval, candle: Candle) {
        let series = self.series.entry(interval).or_default();
        series.insert(candle.open_ms, candle);
        trim(series);
    }

    /// At most `limit` bars opening within `range`, from the end `keep` says, oldest first.
    pub(super) fn select(
        &self,
        interval: Interval,
        range: RangeInclusive<u64>,
        limit: usize,
        keep: Keep,
    ) -> Vec<Candle> {
        let Some(series) = self.series.get(&interval) else {
            return Vec::new();
        };
        if range.is_empty() {
            return Vec::new();
        }
        let within = series.range(range).map(|(_, c)| *c);
        match keep {
            Keep::Earliest => within.take(limit).collect(),
            Keep::Latest => {
                let mut latest: Vec<Candle> = within.rev().take(limit).collect();
                latest.reverse();
                latest
            }
        }
    }
}

fn trim(series: &mut BTreeMap<u64, Candle>) {
    while series.len() > MAX_CANDLES {
        series.pop_first();
    }
}
