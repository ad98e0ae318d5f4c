//! Cross-exchange arbitrage: buy on one venue's asks, sell on another's bids, at once, only
//! when the profit survives every cost.
//!
//! Units, all exact integers:
//! - prices are [`Fixed`] at the symbol's price scale (`10^-pd` quote per whole base),
//! - sizes are [`Fixed`] at its size scale (`10^-sd` base),
//! - a notional (money) is a `u128` at `10^-(pd+sd)` quote: price units × size units, so a walk
//!   of the book sums to it with no rounding at all,
//! - rates (fees, margin) are [`Rate`]s in `10^-8`.
//!
//! The size is found by walking both books together, best levels first: each slice is taken
//! only while its marginal edge, `bid × (1 − sell fee) − ask × (1 + buy fee + margin) −
//! transfer per unit`, is positive, within the inventory on each side and the size cap. The
//! total is rounded down to both venues' lot sizes, the legs are re-walked at that size, and
//! fees are rounded **up**: the profit reported is a floor on what the fills give.

pub use kestrel_types::cex::Rate;
use kestrel_types::cex::{Fixed, Venue};
use kestrel_venues::book::Book;

/// A venue's trading rules for the symbol (loaded from the venue at start, never hard-coded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SymbolRules {
    /// Size step: an order's size must be a multiple of it (non-zero).
    pub lot: Fixed,
    /// Smallest order size.
    pub min_size: Fixed,
    /// Smallest order notional, in notional units.
    pub min_notional: u128,
}

/// One venue's side of a possible trade.
#[derive(Clone, Copy, Debug)]
pub struct Leg<'a> {
    /// Which venue.
    pub venue: Venue,
    /// Its synced book for the symbol.
    pub book: &'a Book,
    /// Its taker fee for this account and symbol.
    pub taker_fee: Rate,
    /// Its symbol rules.
    pub rules: SymbolRules,
    /// What may be spent there: for the buying leg, quote in notional units (fee included);
    /// for the selling leg, base in size units.
    pub available: u128,
}

/// The strategy's parameters (from config; tunable at run time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XarbParams {
    /// Largest size one trade may take.
    pub max_size: Fixed,
    /// Smallest profit worth trading, in notional units, after every cost.
    pub min_profit: u128,
    /// Kept back on top of fees, on the buying notional, against slippage between decision
    /// and fill.
    pub safety_margin: Rate,
    /// The transfer cost of moving inventory back, amortized over the inventory cycle, per
    /// whole base unit traded (a price, at the price scale): `ceil(transfer cost / cycle size)`.
    pub transfer_per_base: Fixed,
}

/// A trade worth making: both legs, priced exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opportunity {
    /// Where to buy.
    pub buy_venue: Venue,
    /// Where to sell.
    pub sell_venue: Venue,
    /// Base size of both legs.
    pub size: Fixed,
    /// IOC limit for the buy: the worst ask the walk reaches.
    pub buy_limit: Fixed,
    /// IOC limit for the sell: the worst bid the walk reaches.
    pub sell_limit: Fixed,
    /// Quote paid for the base, before fees.
    pub buy_notional: u128,
    /// Quote received for the base, before fees.
    pub sell_notional: u128,
    /// Taker fee on the buy, rounded up.
    pub buy_fee: u128,
    /// Taker fee on the sell, rounded up.
    pub sell_fee: u128,
    /// Amortized transfer cost of this size.
    pub transfer: u128,
    /// Safety margin kept back.
    pub margin: u128,
    /// Profit after all of it: `sell − sell fee − buy − buy fee − transfer − margin`.
    pub net: u128,
}

impl Opportunity {
    /// Profit before the margin: what the fills give if they come at the walked prices.
    pub fn expected(&self) -> u128 {
        self.net + self.margin
    }
}

/// What the strategy concluded for one direction (buy on A, sell on B).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Trade this.
    Trade(Opportunity),
    /// The best bid is not above the best ask: nothing to look at.
    NoCross,
    /// The books cross, but fees, transfer and margin take all of it: an opportunity seen and
    /// rightly not taken.
    CostsEatIt,
    /// Profitable, but less than the minimum profit (`net` is what it would have made).
    BelowMinProfit {
        /// Net profit at the size found.
        net: u128,
    },
    /// Profitable only below a venue's minimum size or notional, or the lot size.
    BelowMinimums,
    /// No quote to buy with or no base to sell.
    NoInventory,
    /// A book is empty on the side needed.
    NoBook,
}

/// Why the inputs cannot be compared at all (a configuration error, not a market state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum XarbError {
    /// The two books use different scales for the same symbol.
    #[error("the two books' price or size scales differ")]
    ScaleMismatch,
    /// A lot size of zero, or lots whose common multiple overflows.
    #[error("bad lot size")]
    BadLot,
}

/// Decide whether to buy on `buy` and sell on `sell` now, and how much.
pub fn evaluate(buy: &Leg<'_>, sell: &Leg<'_>, params: &XarbParams) -> Result<Decision, XarbError> {
    if buy.book.price_scale() != sell.book.price_scale()
        || buy.book.size_scale() != sell.book.size_scale()
    {
        return Err(XarbError::ScaleMismatch);
    }
    let lot = common_lot(buy.rules.lot, sell.rules.lot)?;
    let (Some(best_ask), Some(best_bid)) = (buy.book.best_ask(), sell.book.best_bid()) else {
        return Ok(Decision::NoBook);
    };
    if best_bid.price <= best_ask.price {
        return Ok(Decision::NoCross);
    }
    if buy.available == 0 || sell.available == 0 {
        return Ok(Decision::NoInventory);
    }
    let raw = profitable_size(buy, sell, params);
    if raw == 0 {
        return Ok(Decision::CostsEatIt);
    }
    let size = Fixed(raw - raw % lot);
    if size.0 == 0 || size < buy.rules.min_size || size < sell.rules.min_size {
        return Ok(Decision::BelowMinimums);
    }
    let bought = buy.book.walk_buy(size);
    let sold = sell.book.walk_sell(size);
    debug_assert!(
        bought.size == size && sold.size == size,
        "Invariant: the walk found this size on both books"
    );
    if bought.notional < buy.rules.min_notional || sold.notional < sell.rules.min_notional {
        return Ok(Decision::BelowMinimums);
    }
    let buy_fee = buy.taker_fee.of(bought.notional);
    let sell_fee = sell.taker_fee.of(sold.notional);
    if bought.notional + buy_fee > buy.available {
        // Only the fee's rounding can get here: the walk kept within the quote.
        return Ok(Decision::NoInventory);
    }
    let transfer = u128::from(params.transfer_per_base.0) * u128::from(size.0);
    let margin = params.safety_margin.of(bought.notional);
    let costs = bought.notional + buy_fee + sell_fee + transfer + margin;
    let Some(net) = sold.notional.checked_sub(costs).filter(|n| *n > 0) else {
        return Ok(Decision::CostsEatIt);
    };
    if net < params.min_profit {
        return Ok(Decision::BelowMinProfit { net });
    }
    Ok(Decision::Trade(Opportunity {
        buy_venue: buy.venue,
        sell_venue: sell.venue,
        size,
        buy_limit: bought.worst_price,
        sell_limit: sold.worst_price,
        buy_notional: bought.notional,
        sell_notional: sold.notional,
        buy_fee,
        sell_fee,
        transfer,
        margin,
        net,
    }))
}

/// Walk both books together; the total size (in size units) of the slices whose marginal edge
/// is positive, within inventory and the size cap.
fn profitable_size(buy: &Leg<'_>, sell: &Leg<'_>, params: &XarbParams) -> u64 {
    let buy_cost_rate =
        Rate::ONE + u128::from(buy.taker_fee.0) + u128::from(params.safety_margin.0);
    let sell_keep_rate = Rate::ONE.saturating_sub(u128::from(sell.taker_fee.0));
    let transfer = u128::from(params.transfer_per_base.0) * Rate::ONE;
    let buy_fee_rate = Rate::ONE + u128::from(buy.taker_fee.0);
    let mut asks = buy.book.asks().iter().copied();
    let mut bids = sell.book.bids().iter().copied();
    let (mut ask, mut bid) = (asks.next(), bids.next());
    let mut size_left = u128::from(params.max_size.0).min(sell.available);
    let mut quote_left = buy.available;
    let mut total: u64 = 0;
    while let (Some(a), Some(b)) = (ask.as_mut(), bid.as_mut()) {
        if size_left == 0 {
            break;
        }
        let revenue = u128::from(b.price.0) * sell_keep_rate;
        let cost = u128::from(a.price.0) * buy_cost_rate + transfer;
        if revenue <= cost {
            break;
        }
        // Base this slice can take: both levels, the caps, and the quote it needs (fee included).
        let affordable =
            quote_left.saturating_mul(Rate::ONE) / (u128::from(a.price.0) * buy_fee_rate).max(1);
        let take = u128::from(a.size.0.min(b.size.0))
            .min(size_left)
            .min(affordable);
        if take == 0 {
            break;
        }
        let take_u64 = u64::try_from(take).unwrap_or(u64::MAX);
        total = total.saturating_add(take_u64);
        size_left -= take;
        let spent = take * u128::from(a.price.0);
        quote_left = quote_left.saturating_sub(spent + buy.taker_fee.of(spent));
        a.size.0 -= take_u64;
        b.size.0 -= take_u64;
        if a.size.0 == 0 {
            ask = asks.next();
        }
        if b.size.0 == 0 {
            bid = bids.next();
        }
    }
    total
}

/// The smallest size both venues accept as a multiple of their lots.
fn common_lot(a: Fixed, b: Fixed) -> Result<u64, XarbError> {
    if a.0 == 0 || b.0 == 0 {
        return Err(XarbError::BadLot);
    }
    let gcd = {
        let (mut x, mut y) = (a.0, b.0);
        while y != 0 {
            (x, y) = (y, x % y);
        }
        x
    };
    (a.0 / gcd).checked_mul(b.0).ok_or(XarbError::BadLot)
}
