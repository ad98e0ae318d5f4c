//! An exchange's configuration: its assets and symbols, validated once with every problem
//! reported together.

use std::fmt;

use kestrel_types::cex::{Fixed, Scale, Venue};
use kestrel_venues::book::Book;

use super::Market;
use super::deltas::DeltaLog;

/// An asset accounts hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetSpec {
    /// The venue's spelling: `"BTC"`, `"USDT"`, `"XBT"`.
    pub name: String,
    /// Units of a balance: `10^-digits` of the asset.
    pub scale: Scale,
}

/// A symbol the exchange trades, with its order rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolSpec {
    /// The venue's spelling: `"BTCUSDT"`, `"BTC-USD"`, `"BTC/USD"`.
    pub symbol: String,
    /// Base asset name (an [`AssetSpec::name`]).
    pub base: String,
    /// Quote asset name (an [`AssetSpec::name`]).
    pub quote: String,
    /// Scale of prices.
    pub price_scale: Scale,
    /// Scale of sizes; the base asset's scale.
    pub size_scale: Scale,
    /// Every limit price is a positive multiple of this.
    pub tick: Fixed,
    /// Every size is a multiple of this.
    pub lot: Fixed,
    /// Smallest order size.
    pub min_size: Fixed,
    /// Smallest `size × limit`, in notional units.
    pub min_notional: u128,
    /// Book capacity per side.
    pub depth: usize,
}

/// One thing wrong with an exchange's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigIssue {
    /// Two assets share a name.
    DuplicateAsset(String),
    /// Two symbols share a name.
    DuplicateSymbol(String),
    /// A symbol names an asset that is not listed.
    UnknownAsset {
        /// The symbol.
        symbol: String,
        /// The missing asset.
        asset: String,
    },
    /// A symbol's base and quote are the same asset.
    SameAsset(String),
    /// The base asset's scale differs from the size scale.
    BaseScale {
        /// The symbol.
        symbol: String,
        /// The base asset's digits.
        asset_digits: u8,
        /// The size scale's digits.
        size_digits: u8,
    },
    /// The quote asset's scale differs from price scale + size scale.
    QuoteScale {
        /// The symbol.
        symbol: String,
        /// The quote asset's digits.
        asset_digits: u8,
        /// Price digits + size digits.
        notional_digits: u8,
    },
    /// A symbol's tick is zero.
    ZeroTick(String),
    /// A symbol's lot is zero.
    ZeroLot(String),
    /// A symbol's book depth is zero.
    ZeroDepth(String),
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigIssue::DuplicateAsset(a) => write!(f, "asset {a} is listed twice"),
            ConfigIssue::DuplicateSymbol(s) => write!(f, "symbol {s} is listed twice"),
            ConfigIssue::UnknownAsset { symbol, asset } => {
                write!(f, "symbol {symbol}: asset {asset} is not listed")
            }
            ConfigIssue::SameAsset(s) => write!(f, "symbol {s}: base and quote are one asset"),
            ConfigIssue::BaseScale {
                symbol,
                asset_digits,
                size_digits,
            } => write!(
                f,
                "symbol {symbol}: base asset has {asset_digits} digits, sizes {size_digits}"
            ),
            ConfigIssue::QuoteScale {
                symbol,
                asset_digits,
                notional_digits,
            } => write!(
                f,
                "symbol {symbol}: quote asset has {asset_digits} digits, \
                 price + size scales {notional_digits}"
            ),
            ConfigIssue::ZeroTick(s) => write!(f, "symbol {s}: tick is zero"),
            ConfigIssue::ZeroLot(s) => write!(f, "symbol {s}: lot is zero"),
            ConfigIssue::ZeroDepth(s) => write!(f, "symbol {s}: depth is zero"),
        }
    }
}

/// Every problem with an exchange's configuration, reported together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{venue} exchange config: {}", join_issues(.issues))]
pub struct ConfigError {
    /// The venue being configured.
    pub venue: Venue,
    /// What is wrong, in the order found.
    pub issues: Vec<ConfigIssue>,
}

fn join_issues(issues: &[ConfigIssue]) -> String {
    let texts: Vec<String> = issues.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

/// Validate one symbol's spec against the assets; its market when nothing is wrong.
pub(super) fn check_symbol(
    assets: &[AssetSpec],
    spec: &SymbolSpec,
    issues: &mut Vec<ConfigIssue>,
) -> Option<Market> {
    let found = issues.len();
    let symbol = || spec.symbol.clone();
    let mut find = |name: &str| {
        let index = assets.iter().position(|a| a.name == name);
        if index.is_none() {
            issues.push(ConfigIssue::UnknownAsset {
                symbol: symbol(),
                asset: name.to_owned(),
            });
        }
        index
    };
    let (base, quote) = (find(&spec.base), find(&spec.quote));
    if let (Some(base), Some(quote)) = (base, quote) {
        let notional_digits = spec.price_scale.digits() + spec.size_scale.digits();
        if base == quote {
            issues.push(ConfigIssue::SameAsset(symbol()));
        }
        if assets[base].scale != spec.size_scale {
            issues.push(ConfigIssue::BaseScale {
                symbol: symbol(),
                asset_digits: assets[base].scale.digits(),
                size_digits: spec.size_scale.digits(),
            });
        }
        if assets[quote].scale.digits() != notional_digits {
            issues.push(ConfigIssue::QuoteScale {
                symbol: symbol(),
                asset_digits: assets[quote].scale.digits(),
                notional_digits,
            });
        }
    }
    if spec.tick.is_zero() {
        issues.push(ConfigIssue::ZeroTick(symbol()));
    }
    if spec.lot.is_zero() {
        issues.push(ConfigIssue::ZeroLot(symbol()));
    }
    if spec.depth == 0 {
        issues.push(ConfigIssue::ZeroDepth(symbol()));
    }
    let book = Book::new(spec.depth, spec.price_scale, spec.size_scale);
    let deltas = DeltaLog::new(spec.depth);
    match (base, quote) {
        (Some(base), Some(quote)) if issues.len() == found => Some(Market {
            base,
            quote,
            book,
            deltas,
            candles: super::candles::CandleBook::default(),
        }),
        _ => None,
    }
}
