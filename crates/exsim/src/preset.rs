//! Ready-made simulated venues for the bench and the sandbox: BTC listed on each of the five
//! venue formats as that venue spells it (`BTCUSDT`, `BTC/USD`, `BTC-USDT`, `BTCUSDT`,
//! `BTC-USD`), against its own quote asset, with its own fee rates and fee asset, prices to
//! 0.01 and sizes to 0.00001 everywhere; one funded account per venue; deep books from one
//! [`MarketGen`] over all of them.
//!
//! Same scales on every venue is deliberate: the cross-exchange lane compares books unit for
//! unit and requires it. What differs is what a client must learn from the venue itself (the
//! symbol, the quote asset's name, the fee rates, the rules), so a client that hard-codes one
//! venue's answers shows up here.

use std::time::Duration;

use kestrel_types::cex::{FeeAsset, Fixed, Rate, Scale, Venue};

use crate::engine::{AssetSpec, Exchange, FeeDiscount, FeeRates, SymbolSpec};
use crate::market::{MarketGen, MarketParams};
use crate::server::{ExchangeServer, Front};

/// Fraction digits of prices on every venue.
pub const PRICE_DIGITS: u8 = 2;
/// Fraction digits of sizes (and of BTC balances) on every venue.
pub const SIZE_DIGITS: u8 = 5;
/// One unit of any venue's quote asset (USDT or USD) in notional units (price units × size
/// units).
pub const ONE_QUOTE: u128 = 10_000_000;
/// One BTC in size units.
pub const ONE_BTC: u128 = 100_000;
/// How often each venue publishes its book changes: well inside the market's step, so what a
/// client sees of a venue lags its book by a millisecond at most. Every step moves a book by
/// far more than its 20 levels span (a basis point is 650 ticks), so an order sent on a book
/// that was one step stale mostly misses: at 5 ms a third of the bench's trades needed an
/// unwind, at 1 ms a tenth.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(1);

/// How one venue lists BTC and charges the preset account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listing {
    /// The venue whose formats the server speaks.
    pub venue: Venue,
    /// The symbol as the venue spells it, in REST and on its WebSocket.
    pub symbol: &'static str,
    /// The quote asset's name there.
    pub quote: &'static str,
    /// Where the venue takes a buy's fee.
    pub buy_fee_asset: FeeAsset,
    /// The account's taker rate.
    pub taker_fee: Rate,
    /// The account's maker rate.
    pub maker_fee: Rate,
    /// The smallest order value the venue takes, notional units (OKX has none).
    pub min_notional: u128,
    /// Fees the account pays in a third asset at a discount, where it does (Binance's BNB).
    pub third_asset_fees: Option<ThirdAssetFees>,
}

/// A preset account paying taker fees in a third asset at a discount (see
/// [`FeeDiscount`](crate::engine::FeeDiscount)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThirdAssetFees {
    /// The asset (listed at 8 digits).
    pub asset: &'static str,
    /// The factor on the taker rate.
    pub discount: Rate,
    /// Quote units one unit of the asset is worth.
    pub quote_units_per_unit: u128,
    /// What the account holds of it at start, units.
    pub funded: u128,
}

/// Binance's "use BNB to pay for fees": 0.75 of the rate, BNB at 600 (one 10^-8 BNB is 60
/// quote units), 20 BNB held: fees on about 16 million quote of taker volume, then the usual
/// asset.
pub const BINANCE_BNB_FEES: ThirdAssetFees = ThirdAssetFees {
    asset: "BNB",
    discount: Rate(75_000_000),
    quote_units_per_unit: 60,
    funded: 2_000_000_000,
};

/// The five listings, one per venue format. Fees are each venue's entry tier, roughly: what a
/// new account pays, and distinct enough that the venue a trade picks matters.
pub const LISTINGS: [Listing; 5] = [
    Listing {
        venue: Venue::Binance,
        symbol: "BTCUSDT",
        quote: "USDT",
        buy_fee_asset: FeeAsset::Base,
        taker_fee: Rate(100_000),
        maker_fee: Rate(100_000),
        min_notional: 5 * ONE_QUOTE,
        third_asset_fees: Some(BINANCE_BNB_FEES),
    },
    Listing {
        venue: Venue::Kraken,
        symbol: "BTC/USD",
        quote: "USD",
        buy_fee_asset: FeeAsset::Quote,
        taker_fee: Rate(260_000),
        maker_fee: Rate(160_000),
        min_notional: ONE_QUOTE / 2,
        third_asset_fees: None,
    },
    Listing {
        venue: Venue::Okx,
        symbol: "BTC-USDT",
        quote: "USDT",
        buy_fee_asset: FeeAsset::Base,
        taker_fee: Rate(100_000),
        maker_fee: Rate(80_000),
        min_notional: 0,
        third_asset_fees: None,
    },
    Listing {
        venue: Venue::Bybit,
        symbol: "BTCUSDT",
        quote: "USDT",
        buy_fee_asset: FeeAsset::Base,
        taker_fee: Rate(100_000),
        maker_fee: Rate(100_000),
        min_notional: 5 * ONE_QUOTE,
        third_asset_fees: None,
    },
    Listing {
        venue: Venue::Coinbase,
        symbol: "BTC-USD",
        quote: "USD",
        buy_fee_asset: FeeAsset::Quote,
        taker_fee: Rate(400_000),
        maker_fee: Rate(250_000),
        min_notional: ONE_QUOTE,
        third_asset_fees: None,
    },
];

/// The listing on `venue`.
pub fn listing(venue: Venue) -> Listing {
    LISTINGS
        .into_iter()
        .find(|l| l.venue == venue)
        .unwrap_or_else(|| unreachable!("every venue has a listing"))
}

fn scale(digits: u8) -> Scale {
    Scale::new(digits).unwrap_or_else(|| unreachable!("digits below 19"))
}

/// The symbol's spec on `l`'s venue: tick 0.01, lot 0.00001, at least 0.0001 BTC and the
/// venue's minimum value, 200 levels a side.
pub fn spec(l: &Listing) -> SymbolSpec {
    SymbolSpec {
        symbol: l.symbol.into(),
        base: "BTC".into(),
        quote: l.quote.into(),
        price_scale: scale(PRICE_DIGITS),
        size_scale: scale(SIZE_DIGITS),
        tick: Fixed(1),
        lot: Fixed(1),
        min_size: Fixed(10),
        min_notional: l.min_notional,
        depth: 200,
    }
}

/// Binance's BTCUSDT.
pub fn btcusdt() -> SymbolSpec {
    spec(&listing(Venue::Binance))
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

/// An exchange listing `l`, with `account` paying `l`'s fee rates and holding `quote`
/// (notional units) and `btc` (size units).
pub fn exchange(l: &Listing, account: &str, quote: u128, btc: u128) -> anyhow::Result<Exchange> {
    let mut assets = vec![
        AssetSpec {
            name: "BTC".into(),
            scale: scale(SIZE_DIGITS),
        },
        AssetSpec {
            name: l.quote.into(),
            scale: scale(PRICE_DIGITS + SIZE_DIGITS),
        },
    ];
    if let Some(t) = l.third_asset_fees {
        assets.push(AssetSpec {
            name: t.asset.into(),
            scale: scale(8),
        });
    }
    let mut ex = Exchange::new(l.venue, assets, vec![spec(l)], l.buy_fee_asset)
        .map_err(|e| anyhow::anyhow!("{}: {e}", l.venue))?;
    if let Some(t) = l.third_asset_fees {
        ex.set_fee_discount(FeeDiscount {
            asset: t.asset.into(),
            discount: t.discount,
            quote_units_per_unit: t.quote_units_per_unit,
        })
        .map_err(|e| anyhow::anyhow!("{}: {e}", l.venue))?;
    }
    ex.add_account(
        account,
        FeeRates {
            maker: l.maker_fee,
            taker: l.taker_fee,
        },
    );
    if quote > 0 {
        ex.deposit(account, l.quote, quote);
    }
    if btc > 0 {
        ex.deposit(account, "BTC", btc);
    }
    if let Some(t) = l.third_asset_fees {
        ex.deposit(account, t.asset, t.funded);
    }
    Ok(ex)
}

/// Serve `ex` through `front` on loopback, publishing every [`PUBLISH_EVERY`].
pub fn serve(ex: Exchange, front: Box<dyn Front>) -> anyhow::Result<ExchangeServer> {
    anyhow::ensure!(
        ex.venue() == front.venue(),
        "a {} exchange behind a {} front",
        ex.venue(),
        front.venue()
    );
    ExchangeServer::start(ex, front, PUBLISH_EVERY)
}
