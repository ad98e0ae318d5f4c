//! Candles (OHLCV bars): the interval vocabulary every venue maps onto, and one bar with exact
//! prices and volume.

use std::fmt;

use crate::cex::Fixed;

/// A bar's length. Every venue Kestrel reads has these six (Coinbase lacks 4h: its writer
/// refuses it), and each is a whole number of minutes aligned on UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interval {
    /// One minute.
    M1,
    /// Five minutes.
    M5,
    /// Fifteen minutes.
    M15,
    /// One hour.
    H1,
    /// Four hours.
    H4,
    /// One day (UTC midnight to midnight).
    D1,
}

impl Interval {
    /// Every interval, shortest first.
    pub const ALL: [Interval; 6] = [
        Interval::M1,
        Interval::M5,
        Interval::M15,
        Interval::H1,
        Interval::H4,
        Interval::D1,
    ];

    /// The bar's length in milliseconds.
    pub const fn ms(self) -> u64 {
        self.minutes() * 60_000
    }

    /// The bar's length in minutes (Kraken's and Bybit's unit).
    pub const fn minutes(self) -> u64 {
        match self {
            Interval::M1 => 1,
            Interval::M5 => 5,
            Interval::M15 => 15,
            Interval::H1 => 60,
            Interval::H4 => 240,
            Interval::D1 => 1_440,
        }
    }

    /// The name used in config and in the journal: `1m`, `5m`, `15m`, `1h`, `4h`, `1d`
    /// (Binance's spelling too).
    pub const fn name(self) -> &'static str {
        match self {
            Interval::M1 => "1m",
            Interval::M5 => "5m",
            Interval::M15 => "15m",
            Interval::H1 => "1h",
            Interval::H4 => "4h",
            Interval::D1 => "1d",
        }
    }

    /// The interval a name refers to.
    pub fn from_name(name: &str) -> Option<Interval> {
        Interval::ALL.into_iter().find(|i| i.name() == name)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One bar. Prices are [`Fixed`] at the symbol's price scale, `volume` (base traded) at its
/// size scale; the scales travel with the symbol, not the bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Candle {
    /// The bar's open time, Unix milliseconds (a multiple of its interval's length).
    pub open_ms: u64,
    /// First trade price.
    pub open: Fixed,
    /// Highest trade price.
    pub high: Fixed,
    /// Lowest trade price.
    pub low: Fixed,
    /// Last trade price.
    pub close: Fixed,
    /// Base quantity traded.
    pub volume: Fixed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_names_round_trip_and_lengths_grow() {
        for (i, interval) in Interval::ALL.into_iter().enumerate() {
            assert_eq!(Interval::from_name(interval.name()), Some(interval));
            assert_eq!(interval.ms(), interval.minutes() * 60_000);
            if let Some(next) = Interval::ALL.get(i + 1) {
                assert!(next.ms() > interval.ms());
                assert_eq!(next.ms() % interval.ms(), 0, "{next} is whole {interval}s");
            }
        }
        assert_eq!(Interval::from_name("1H"), None);
    }
}
