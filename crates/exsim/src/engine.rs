//! One venue's matching state: symbols and their rules, the exchange's own order book per
//! symbol, accounts with balances and fee rates, and the orders placed against them; and, for
//! the fronts' candle endpoints, per-symbol candle histories set from outside
//! ([`Exchange::set_candles`], [`Exchange::push_candle`]).
//!
//! Pure: no I/O, no clock, no tasks. The venue front-ends own the wire formats and pass the
//! time in (`now_ms`); a market maker (see [`crate::market`]) shapes the books through
//! [`Exchange::set_level`].
//!
//! Money is exact. Prices are [`Fixed`] units of `10^-price_scale`, sizes `10^-size_scale`,
//! and a notional (price × size) is a `u128` in `10^-(price_scale + size_scale)`. Each
//! symbol's quote asset is configured with exactly that scale, so a notional *is* an amount of
//! quote and balances never need rescaling.
//!
//! **Invariant:** for every asset, deposits plus what the book paid out equal the accounts'
//! balances plus the fees collected plus what the book took in: no unit is created or lost.
//! **Invariant:** an account's locked balance of an asset is exactly the sum of its open
//! orders' locks of that asset. [`Exchange::audit`] checks both.
//!
//! Deliberately simple: an order's taker part walks the exchange's book (the market maker's
//! liquidity, not other accounts' orders). A GTC remainder rests as an open order holding its
//! funds, but it is *not* added to the public book and never matches a later book move: it
//! only waits to be canceled. Maker fills therefore never happen here.

mod account;
mod audit;
mod candles;
mod config;
mod deltas;
mod execute;
mod order;
mod rules;

use std::collections::{BTreeMap, VecDeque};
use std::ops::RangeInclusive;

use kestrel_types::cex::{BookSide, Candle, Fixed, Interval, OrderSide, Rate, Venue};
use kestrel_venues::book::Book;

use account::{Account, OpenOrder};
use candles::CandleBook;
use deltas::DeltaLog;
use execute::Admitted;
use rules::{check_rules, plan_fills};

pub use account::CLOSED_HISTORY;
pub use candles::{Keep, MAX_CANDLES};
pub use config::{AssetSpec, ConfigError, ConfigIssue, SymbolSpec};
pub use order::{
    FeeAsset, FeeRates, Fill, Liquidity, NewOrder, Order, OrderRef, OrderStatus, Reject, Tif, Trade,
};

/// Public trades kept for the trade stream (oldest dropped first).
pub const TRADE_HISTORY: usize = 1024;

/// Injected rejections that may wait at once (more are ignored: a test hook, not a queue).
const MAX_INJECTED: usize = 256;

/// One symbol's live state.
#[derive(Clone, Debug)]
struct Market {
    /// Index of the base asset.
    base: usize,
    /// Index of the quote asset.
    quote: usize,
    book: Book,
    deltas: DeltaLog,
    candles: CandleBook,
}

/// Per-asset totals that balance against the accounts (see the module's invariants).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Ledger {
    deposited: u128,
    /// Paid to accounts by the book (base bought, quote for base sold).
    from_book: u128,
    /// Paid by accounts to the book.
    to_book: u128,
    fees: u128,
}

/// Taker fees paid in a third asset at a discount: Binance's "use BNB to pay for fees".
///
/// A fill's fee is then worth `taker × discount` (rounded up to `10^-8`, as the venue's
/// `discount` factor applies to the standard rate) of its notional, rounded up to a quote
/// unit, and is charged as that value in `asset` at `quote_units_per_unit`, rounded up to a
/// unit of `asset`, from the account's free balance of it. Where that balance does not cover
/// it, the fill pays the usual fee in its usual asset instead, as Binance falls back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeDiscount {
    /// The asset fees are paid in (`"BNB"`); it must be listed.
    pub asset: String,
    /// The factor on the taker rate (Binance: `Rate(75_000_000)`, 0.75).
    pub discount: Rate,
    /// Units of the quote asset one unit of `asset` is worth (one price for every quote asset
    /// of the venue: a simulator's simplification).
    pub quote_units_per_unit: u128,
}

#[derive(Clone, Debug)]
struct Discount {
    spec: FeeDiscount,
    /// Index of `spec.asset`.
    asset: usize,
}

/// One venue's matching state. See the module docs.
#[derive(Clone, Debug)]
pub struct Exchange {
    venue: Venue,
    assets: Vec<AssetSpec>,
    symbols: Vec<SymbolSpec>,
    /// Parallel to `symbols`.
    markets: Vec<Market>,
    /// Parallel to `assets`.
    ledger: Vec<Ledger>,
    fee_asset_on_buy: FeeAsset,
    /// Fees paid in a third asset at a discount, where set ([`Exchange::set_fee_discount`]).
    fee_discount: Option<Discount>,
    accounts: BTreeMap<String, Account>,
    next_order_id: u64,
    next_trade_id: u64,
    trades: VecDeque<Trade>,
    injected: VecDeque<Reject>,
}

impl Exchange {
    /// An exchange trading `symbols` over `assets`, charging buys' fees in `fee_asset_on_buy`.
    ///
    /// # Errors
    /// Every configuration problem at once: duplicate names, unknown assets, a base asset
    /// whose scale is not the size scale, a quote asset whose scale is not price + size scale,
    /// a zero tick, lot or depth.
    pub fn new(
        venue: Venue,
        assets: Vec<AssetSpec>,
        symbols: Vec<SymbolSpec>,
        fee_asset_on_buy: FeeAsset,
    ) -> Result<Exchange, ConfigError> {
        let mut issues = Vec::new();
        for (i, asset) in assets.iter().enumerate() {
            if assets[..i].iter().any(|a| a.name == asset.name) {
                issues.push(ConfigIssue::DuplicateAsset(asset.name.clone()));
            }
        }
        let mut markets = Vec::with_capacity(symbols.len());
        for (i, spec) in symbols.iter().enumerate() {
            if symbols[..i].iter().any(|s| s.symbol == spec.symbol) {
                issues.push(ConfigIssue::DuplicateSymbol(spec.symbol.clone()));
            }
            if let Some(market) = config::check_symbol(&assets, spec, &mut issues) {
                markets.push(market);
            }
        }
        if !issues.is_empty() {
            return Err(ConfigError { venue, issues });
        }
        Ok(Exchange {
            venue,
            ledger: vec![Ledger::default(); assets.len()],
            assets,
            symbols,
            markets,
            fee_asset_on_buy,
            fee_discount: None,
            accounts: BTreeMap::new(),
            next_order_id: 1,
            next_trade_id: 1,
            trades: VecDeque::with_capacity(TRADE_HISTORY),
            injected: VecDeque::new(),
        })
    }

    /// The venue this exchange imitates.
    pub fn venue(&self) -> Venue {
        self.venue
    }

    /// Assets, as configured.
    pub fn assets(&self) -> &[AssetSpec] {
        &self.assets
    }

    /// Fraction digits of `asset`'s balances (a base asset's are its symbols' size digits, a
    /// quote asset's their notional digits); 8, the most venues write, for one not listed.
    pub fn asset_digits(&self, asset: &str) -> u8 {
        self.asset_index(asset)
            .map_or(8, |i| self.assets[i].scale.digits())
    }

    /// Symbols, as configured.
    pub fn symbols(&self) -> &[SymbolSpec] {
        &self.symbols
    }

    /// One symbol's spec.
    pub fn symbol(&self, name: &str) -> Option<&SymbolSpec> {
        self.symbols.iter().find(|s| s.symbol == name)
    }

    /// The asset a buy's fee is charged in.
    pub fn fee_asset_on_buy(&self) -> FeeAsset {
        self.fee_asset_on_buy
    }

    /// Charge taker fees in a third asset at a discount from now on (see [`FeeDiscount`]).
    ///
    /// # Errors
    /// The venue is not Binance (the only front that writes such fees), the asset is not
    /// listed, is the base or quote of a symbol, is worth nothing, or the factor is over one.
    pub fn set_fee_discount(&mut self, discount: FeeDiscount) -> Result<(), String> {
        if self.venue != Venue::Binance {
            return Err(format!(
                "fee discount: only the Binance front writes fees paid in a third asset, not {}",
                self.venue
            ));
        }
        let asset = self
            .asset_index(&discount.asset)
            .ok_or_else(|| format!("fee discount: {} is not listed", discount.asset))?;
        if self
            .markets
            .iter()
            .any(|m| m.base == asset || m.quote == asset)
        {
            return Err(format!(
                "fee discount: {} is traded here (the simulator charges discounted fees in a \
                 third asset only)",
                discount.asset
            ));
        }
        if discount.quote_units_per_unit == 0 || u128::from(discount.discount.0) > Rate::ONE {
            return Err(format!("fee discount: {discount:?} is not a discount"));
        }
        self.fee_discount = Some(Discount {
            spec: discount,
            asset,
        });
        Ok(())
    }

    /// The fee discount, where one is set.
    pub fn fee_discount(&self) -> Option<&FeeDiscount> {
        self.fee_discount.as_ref().map(|d| &d.spec)
    }

    /// Open an account (an API key) with these fee rates, or change an existing account's
    /// rates (orders already open keep the lock they were placed with). Rates above 100% are
    /// capped at 100%, so a fee never exceeds what it is charged on.
    pub fn add_account(&mut self, key: &str, fees: FeeRates) {
        let cap = |r: Rate| Rate(r.0.min(Rate::ONE as u64));
        let fees = FeeRates {
            maker: cap(fees.maker),
            taker: cap(fees.taker),
        };
        let assets = self.assets.len();
        self.accounts
            .entry(key.to_owned())
            .and_modify(|a| a.fees = fees)
            .or_insert_with(|| Account::new(fees, assets));
    }

    /// Credit `amount` units of `asset` to an account's free balance.
    ///
    /// # Panics
    /// When the account or the asset does not exist: funding is set-up code, and a typo there
    /// must not silently leave an account empty.
    pub fn deposit(&mut self, key: &str, asset: &str, amount: u128) {
        let index = self
            .asset_index(asset)
            .unwrap_or_else(|| panic!("deposit: asset {asset} is not listed on {}", self.venue));
        let account = self
            .accounts
            .get_mut(key)
            .unwrap_or_else(|| panic!("deposit: no account {key} on {}", self.venue));
        account.balances[index].free += amount;
        self.ledger[index].deposited += amount;
    }

    /// `(free, locked)` units of `asset`; zeros for an unknown account or asset.
    pub fn balance(&self, key: &str, asset: &str) -> (u128, u128) {
        let (Some(account), Some(index)) = (self.accounts.get(key), self.asset_index(asset)) else {
            return (0, 0);
        };
        let b = account.balances[index];
        (b.free, b.locked)
    }

    /// `(asset, free, locked)` for every listed asset, in listing order; empty for an unknown
    /// account.
    pub fn balances(&self, key: &str) -> Vec<(String, u128, u128)> {
        let Some(account) = self.accounts.get(key) else {
            return Vec::new();
        };
        self.assets
            .iter()
            .zip(&account.balances)
            .map(|(asset, b)| (asset.name.clone(), b.free, b.locked))
            .collect()
    }

    /// An account's fee rates.
    pub fn fees(&self, key: &str) -> Option<FeeRates> {
        self.accounts.get(key).map(|a| a.fees)
    }

    /// A symbol's book: the market maker's liquidity, less what orders took.
    pub fn book(&self, symbol: &str) -> Option<&Book> {
        self.symbol_index(symbol).map(|i| &self.markets[i].book)
    }

    /// Set the size at a price on a symbol's book (size zero removes the level); a no-op for
    /// an unknown symbol. The market maker's only lever: it may cross the book if asked to,
    /// and [`Exchange::audit`] reports a price off the symbol's tick.
    /// Changes are recorded for [`Exchange::take_deltas`], including a worst level pushed out
    /// of a full side.
    pub fn set_level(&mut self, symbol: &str, side: BookSide, price: Fixed, size: Fixed) {
        let Some(i) = self.symbol_index(symbol) else {
            return;
        };
        let market = &mut self.markets[i];
        market.deltas.set(&mut market.book, side, price, size);
    }

    /// Replace `out` with every level change on `symbol`'s book since the last call, in order
    /// (`size` zero: the level was removed), from [`Exchange::set_level`] and from fills
    /// taking liquidity. Left empty for an unknown symbol.
    ///
    /// The log is bounded: past a limit it is compacted into the minimal diff from the book
    /// as last taken to the book now, which loses the order of intermediate steps but not
    /// the resulting book.
    pub fn take_deltas(&mut self, symbol: &str, out: &mut Vec<(BookSide, Fixed, Fixed)>) {
        out.clear();
        if let Some(i) = self.symbol_index(symbol) {
            let market = &mut self.markets[i];
            market.deltas.take(&market.book, out);
        }
    }

    /// Replace `symbol`'s `interval` bars (a no-op for an unknown symbol). Any order in;
    /// a repeated open time keeps the later bar; at most [`MAX_CANDLES`], the latest.
    pub fn set_candles(&mut self, symbol: &str, interval: Interval, candles: Vec<Candle>) {
        if let Some(i) = self.symbol_index(symbol) {
            self.markets[i].candles.set(interval, candles);
        }
    }

    /// Add one bar to `symbol`'s `interval` history, or replace the bar with its open time
    /// (a no-op for an unknown symbol).
    pub fn push_candle(&mut self, symbol: &str, interval: Interval, candle: Candle) {
        if let Some(i) = self.symbol_index(symbol) {
            self.markets[i].candles.push(interval, candle);
        }
    }

    /// At most `limit` of `symbol`'s `interval` bars opening within `range` (inclusive), the
    /// earliest or the latest of them as `keep` says, oldest first. Empty for an unknown
    /// symbol.
    pub fn candles(
        &self,
        symbol: &str,
        interval: Interval,
        range: RangeInclusive<u64>,
        limit: usize,
        keep: Keep,
    ) -> Vec<Candle> {
        self.symbol_index(symbol).map_or_else(Vec::new, |i| {
            self.markets[i].candles.select(interval, range, limit, keep)
        })
    }

    /// Recent public trades, oldest first (at most [`TRADE_HISTORY`]).
    pub fn trades(&self) -> impl DoubleEndedIterator<Item = &Trade> + ExactSizeIterator + '_ {
        self.trades.iter()
    }

    /// Recent public trades with ids above `trade_id`, oldest first: what a trade stream that
    /// last sent `trade_id` sends next.
    pub fn trades_after(&self, trade_id: u64) -> impl Iterator<Item = &Trade> + '_ {
        let start = self.trades.partition_point(|t| t.trade_id <= trade_id);
        self.trades.range(start..)
    }

    /// Make the next [`Exchange::place`] fail with `reject` (queued: several calls fail the
    /// next several orders). A test hook for rate limits and unknown-status errors.
    pub fn inject_reject(&mut self, reject: Reject) {
        if self.injected.len() < MAX_INJECTED {
            self.injected.push_back(reject);
        }
    }

    /// Place an order: validate it, check and lock the funds, take the book up to the limit,
    /// then expire (IOC) or rest (GTC) the remainder. Returns the order as it stands.
    ///
    /// - Funds: a buy locks `size × limit` quote, plus the taker fee on that when buys pay
    ///   fees in quote; a sell locks `size` base. Fee rounding over several fills can make
    ///   the exact cost a few units more; then that is locked (and checked) instead.
    /// - Fills: each level that crosses the limit is taken at its own price, best first, and
    ///   removed from the book. The taker fee is charged per fill, rounded up: on the base
    ///   received for a buy when [`Exchange::fee_asset_on_buy`] is `Base`, else on the
    ///   notional in quote.
    /// - Remainder: IOC expires (`Expired`, even after partial fills, as Binance reports);
    ///   GTC rests as `New` or `PartiallyFilled`, holding its lock. The rest is released.
    ///
    /// # Errors
    /// A queued injected rejection first; then, in this order: unknown symbol, unknown
    /// account, bad tick, bad lot, below minimum size, below minimum notional, duplicate
    /// client id, insufficient balance. A rejected order changes nothing and takes no id.
    pub fn place(&mut self, key: &str, order: NewOrder, now_ms: u64) -> Result<Order, Reject> {
        if let Some(reject) = self.injected.pop_front() {
            return Err(reject);
        }
        let sym = self
            .symbol_index(&order.symbol)
            .ok_or(Reject::UnknownSymbol)?;
        let account = self.accounts.get(key).ok_or(Reject::UnknownAccount)?;
        check_rules(&self.symbols[sym], &order)?;
        if account.knows_client_id(&order.client_id) {
            return Err(Reject::DuplicateClientId);
        }
        let taker = account.fees.taker;
        let plan = plan_fills(&self.markets[sym].book, order.side, order.limit, order.size);
        let (spend, filled) = self.plan_spend(&plan, order.side, taker);
        let rest = self.rest_lock(&order, Fixed(order.size.0 - filled), taker);
        let full = self.lock_for(order.side, order.size, order.limit, taker);
        // The exact taker cost can exceed the full-size formula only by fee rounding across
        // several fills; locking the larger keeps every debit below covered.
        let need = full.max(spend + rest);
        let market = &self.markets[sym];
        let lock_asset = match order.side {
            OrderSide::Buy => market.quote,
            OrderSide::Sell => market.base,
        };
        if account.balances[lock_asset].free < need {
            return Err(Reject::InsufficientBalance);
        }
        let admitted = Admitted {
            sym,
            plan,
            need,
            rest,
        };
        Ok(self.execute(key, order, admitted, now_ms))
    }

    /// Cancel an open order, releasing its lock. Returns the order, now `Canceled`.
    ///
    /// # Errors
    /// Unknown account or symbol; [`Reject::UnknownOrder`] when no such order is known;
    /// [`Reject::NotOpen`] when it is already closed.
    pub fn cancel(&mut self, key: &str, symbol: &str, by: OrderRef) -> Result<Order, Reject> {
        let sym = self.symbol_index(symbol).ok_or(Reject::UnknownSymbol)?;
        let (base, quote) = (self.markets[sym].base, self.markets[sym].quote);
        let account = self.accounts.get_mut(key).ok_or(Reject::UnknownAccount)?;
        let Some(position) = account.open_position(symbol, &by) else {
            return match account.closed_order(symbol, &by) {
                Some(_) => Err(Reject::NotOpen),
                None => Err(Reject::UnknownOrder),
            };
        };
        let OpenOrder { mut order, lock } = account.open.remove(position);
        let asset = match order.side {
            OrderSide::Buy => quote,
            OrderSide::Sell => base,
        };
        account.release(asset, lock);
        order.status = OrderStatus::Canceled;
        account.remember(order.clone());
        Ok(order)
    }

    /// An account's order on `symbol`, open or among the recently closed it remembers.
    pub fn order(&self, key: &str, symbol: &str, by: &OrderRef) -> Option<&Order> {
        let account = self.accounts.get(key)?;
        match account.open_position(symbol, by) {
            Some(i) => Some(&account.open[i].order),
            None => account.closed_order(symbol, by),
        }
    }

    /// An account's orders on `symbol` it still knows: the open ones and the recently closed
    /// it remembers (at most [`CLOSED_HISTORY`]), in no particular order; empty for an unknown
    /// account. What a venue's trade list is drawn from: each order's fills are its trades.
    pub fn orders(&self, key: &str, symbol: &str) -> Vec<&Order> {
        let Some(account) = self.accounts.get(key) else {
            return Vec::new();
        };
        account
            .open
            .iter()
            .map(|o| &o.order)
            .chain(account.closed.iter())
            .filter(|o| o.symbol == symbol)
            .collect()
    }

    /// An account's open orders, on one symbol or all, oldest first.
    pub fn open_orders(&self, key: &str, symbol: Option<&str>) -> Vec<&Order> {
        let Some(account) = self.accounts.get(key) else {
            return Vec::new();
        };
        account
            .open
            .iter()
            .map(|o| &o.order)
            .filter(|o| symbol.is_none_or(|s| o.symbol == s))
            .collect()
    }

    fn symbol_index(&self, name: &str) -> Option<usize> {
        self.symbols.iter().position(|s| s.symbol == name)
    }

    fn asset_index(&self, name: &str) -> Option<usize> {
        self.assets.iter().position(|a| a.name == name)
    }
}
