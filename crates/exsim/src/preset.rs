//! Ready-made simulated venues for the bench and the sandbox: BTCUSDT with prices to 0.01 and
//! sizes to 0.00001, one funded account, a deep book from a [`MarketGen`].

use std::time::Duration;

use kestrel_types::cex::{FeeAsset, Fixed, Rate, Scale, Venue};
use kestrel_venues::auth::BinanceVerifyKey;

use crate::binance::BinanceFront;
use crate::engine::{AssetSpec, Exchange, FeeRates, SymbolSpec};
use crate::market::{MarketGen, MarketParams};
use crate::server::ExchangeServer;

/// The symbol every preset trades.
pub const SYMBOL: &str = "BTCUSDT";
/// Fraction digits of its prices.
pub const PRICE_DIGITS: u8 = 2;
/// Fraction digits of its sizes (and of BTC balances).
pub const SIZE_DIGITS: u8 = 5;
/// One USDT in notional units (price units × size units).
pub const ONE_USDT: u128 = 10_000_000;
/// One BTC in size units.
pub const ONE_BTC: u128 = 100_000;

/// The symbol's spec: tick 0.01, lot 0.00001, minimum 0.0001 BTC and 5 USDT.
pub fn btcusdt() -> SymbolSpec {
    let scale = |d| Scale::new(d).unwrap_or_else(|| unreachable!("digits below 19"));
    SymbolSpec {
        symbol: SYMBOL.into(),
        base: "BTC".into(),
        quote: "USDT".into(),
        price_scale: scale(PRICE_DIGITS),
        size_scale: scale(SIZE_DIGITS),
        tick: Fixed(1),
        lot: Fixed(1),
        min_size: Fixed(10),
        min_notional: 5 * ONE_USDT,
        depth: 200,
    }
}

/// A market around 65,000.00: 20 levels a side, 0.5 BTC each (±30%), moving a few basis
/// points a step.
pub fn market(seed: u64, venues: &[Venue]) -> MarketGen {
    MarketGen::new(
        seed,
        venues,
        MarketParams {
            start_mid: Fixed(6_500_000),
            tick: Fixed(1),
            vol_bps_per_step: 2,
            venue_noise_bps: 1,
            half_spread_ticks: 2,
            levels: 20,
            level_size: Fixed(50_000),
            level_size_jitter: 30,
        },
    )
    .with_lot(Fixed(1))
}

/// A Binance-format venue trading BTCUSDT, with `key`'s account holding `usdt` and `btc` (in
/// notional and size units), taker fee `taker`, publishing every 5 ms.
pub fn binance_venue(
    key: &BinanceVerifyKey,
    taker: Rate,
    usdt: u128,
    btc: u128,
) -> anyhow::Result<ExchangeServer> {
    let scale = |d| Scale::new(d).unwrap_or_else(|| unreachable!("digits below 19"));
    let mut ex = Exchange::new(
        Venue::Binance,
        vec![
            AssetSpec {
                name: "BTC".into(),
                scale: scale(SIZE_DIGITS),
            },
            AssetSpec {
                name: "USDT".into(),
                scale: scale(PRICE_DIGITS + SIZE_DIGITS),
            },
        ],
        vec![btcusdt()],
        FeeAsset::Base,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    ex.add_account(
        key.api_key(),
        FeeRates {
            maker: taker,
            taker,
        },
    );
    if usdt > 0 {
        ex.deposit(key.api_key(), "USDT", usdt);
    }
    if btc > 0 {
        ex.deposit(key.api_key(), "BTC", btc);
    }
    let front = BinanceFront::new(vec![key.clone()]);
    ExchangeServer::start(ex, Box::new(front), Duration::from_millis(5))
}
