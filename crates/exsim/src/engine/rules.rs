//! The order path's arithmetic: the symbol's rules, what crosses, what an order locks and what
//! each fill costs. Planning and execution both use these, so they cannot disagree, except
//! that execution may pay a fill's fee in the discount asset instead
//! ([`Exchange::set_fee_discount`]): that only takes less from the lock planning sized.

use kestrel_types::cex::{Fixed, OrderSide, Rate};
use kestrel_venues::book::Book;

use super::{Exchange, FeeAsset, NewOrder, Reject, SymbolSpec, Tif};

/// One fill's amounts, computed identically when planning and when executing.
#[derive(Clone, Copy, Debug)]
pub(super) struct Terms {
    pub(super) notional: u128,
    pub(super) fee: u128,
    pub(super) fee_asset: FeeAsset,
    /// Set when the fee is paid in this asset (the discount asset) instead: `fee` is in its
    /// units, out of the account's free balance.
    pub(super) discount_asset: Option<usize>,
}

impl Exchange {
    /// What an order of `size` at `limit` locks: the base for a sell; for a buy the quote
    /// `size × limit`, plus the taker fee on it when fees are charged in quote.
    pub(super) fn lock_for(&self, side: OrderSide, size: Fixed, limit: Fixed, taker: Rate) -> u128 {
        match side {
            OrderSide::Sell => u128::from(size.0),
            OrderSide::Buy => {
                let notional = notional(limit, size);
                match self.fee_asset_on_buy {
                    FeeAsset::Quote => notional + taker.of(notional),
                    FeeAsset::Base => notional,
                }
            }
        }
    }

    /// What stays locked after matching: the remainder's lock for a GTC order, nothing else.
    pub(super) fn rest_lock(&self, order: &NewOrder, remaining: Fixed, taker: Rate) -> u128 {
        match order.tif {
            Tif::Gtc if !remaining.is_zero() => {
                self.lock_for(order.side, remaining, order.limit, taker)
            }
            _ => 0,
        }
    }

    /// The locked asset the planned fills spend, and the base they fill.
    pub(super) fn plan_spend(
        &self,
        plan: &[(Fixed, Fixed)],
        side: OrderSide,
        taker: Rate,
    ) -> (u128, u64) {
        let mut spend = 0u128;
        let mut filled = 0u64;
        for &(price, size) in plan {
            spend += self.lock_debit(side, self.terms(side, price, size, taker), size);
            filled += size.0;
        }
        (spend, filled)
    }

    /// A fill's amounts: notional, and the taker fee in its asset, rounded up.
    pub(super) fn terms(&self, side: OrderSide, price: Fixed, size: Fixed, taker: Rate) -> Terms {
        let notional = notional(price, size);
        match (side, self.fee_asset_on_buy) {
            (OrderSide::Buy, FeeAsset::Base) => Terms {
                notional,
                fee: taker.of(u128::from(size.0)),
                fee_asset: FeeAsset::Base,
                discount_asset: None,
            },
            _ => Terms {
                notional,
                fee: taker.of(notional),
                fee_asset: FeeAsset::Quote,
                discount_asset: None,
            },
        }
    }

    /// What a fill takes out of the order's lock.
    pub(super) fn lock_debit(&self, side: OrderSide, terms: Terms, size: Fixed) -> u128 {
        match (side, terms.fee_asset) {
            (OrderSide::Sell, _) => u128::from(size.0),
            (OrderSide::Buy, _) if terms.discount_asset.is_some() => terms.notional,
            (OrderSide::Buy, FeeAsset::Quote) => terms.notional + terms.fee,
            (OrderSide::Buy, FeeAsset::Base) => terms.notional,
        }
    }
}

/// The symbol's order rules, in the order venues check them.
pub(super) fn check_rules(spec: &SymbolSpec, order: &NewOrder) -> Result<(), Reject> {
    if order.limit.is_zero() || !order.limit.0.is_multiple_of(spec.tick.0) {
        return Err(Reject::BadTick);
    }
    if !order.size.0.is_multiple_of(spec.lot.0) {
        return Err(Reject::BadLot);
    }
    if order.size.is_zero() || order.size < spec.min_size {
        return Err(Reject::BelowMinSize);
    }
    if notional(order.limit, order.size) < spec.min_notional {
        return Err(Reject::BelowMinNotional);
    }
    Ok(())
}

/// `price × size` in notional units, exactly.
pub(super) fn notional(price: Fixed, size: Fixed) -> u128 {
    u128::from(price.0) * u128::from(size.0)
}

/// Whether a book level at `price` is within an order's limit.
pub(super) fn crosses(side: OrderSide, price: Fixed, limit: Fixed) -> bool {
    match side {
        OrderSide::Buy => price <= limit,
        OrderSide::Sell => price >= limit,
    }
}

/// The `(price, size)` fills an order would take from the book, best level first.
pub(super) fn plan_fills(
    book: &Book,
    side: OrderSide,
    limit: Fixed,
    size: Fixed,
) -> Vec<(Fixed, Fixed)> {
    let mut left = size.0;
    let mut plan = Vec::new();
    for level in book.side(side.takes()) {
        if left == 0 || !crosses(side, level.price, limit) {
            break;
        }
        let take = left.min(level.size.0);
        plan.push((level.price, Fixed(take)));
        left -= take;
    }
    plan
}
