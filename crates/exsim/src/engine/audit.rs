//! The exchange's invariants, checked in full: what tests call after every step.

use kestrel_types::cex::OrderSide;

use super::account::Account;
use super::{Exchange, Order, OrderStatus};

impl Exchange {
    /// Check every invariant; the first violation found, described.
    ///
    /// - Conservation, per asset: deposits + paid out by the book == balances + fees
    ///   collected + paid into the book.
    /// - Locks, per account and asset: locked == the sum of the open orders' locks, and each
    ///   open order's lock covers its remainder (a sell's is exactly the remaining base).
    /// - Orders: `filled`, `notional` and `fees` are the sums of the fills; fills respect the
    ///   limit; the status agrees with what filled.
    /// - Books: every level is a positive size at a positive multiple of the tick.
    ///
    /// # Errors
    /// A description of the first violation.
    pub fn audit(&self) -> Result<(), String> {
        for asset in 0..self.assets.len() {
            self.conserved(asset)?;
        }
        for (key, account) in &self.accounts {
            self.audit_account(key, account)?;
        }
        self.audit_books()
    }

    /// Conservation of one asset (see [`Exchange::audit`]).
    pub(super) fn conserved(&self, asset: usize) -> Result<(), String> {
        let held = self
            .accounts
            .values()
            .map(|a| a.balances[asset].free + a.balances[asset].locked)
            .sum::<u128>();
        let l = self.ledger[asset];
        let sources = l.deposited + l.from_book;
        let sinks = held + l.fees + l.to_book;
        if sources == sinks {
            return Ok(());
        }
        Err(format!(
            "{}: deposits {} + from book {} != held {held} + fees {} + to book {}",
            self.assets[asset].name, l.deposited, l.from_book, l.fees, l.to_book
        ))
    }

    fn audit_account(&self, key: &str, account: &Account) -> Result<(), String> {
        let mut locks = vec![0u128; self.assets.len()];
        for open in &account.open {
            let order = &open.order;
            let sym = self
                .symbol_index(&order.symbol)
                .ok_or_else(|| format!("order {} on unknown symbol {}", order.id, order.symbol))?;
            let market = &self.markets[sym];
            let remaining = u128::from(order.size.0 - order.filled.0);
            let (asset, least) = match order.side {
                OrderSide::Buy => (market.quote, remaining * u128::from(order.limit.0)),
                OrderSide::Sell => (market.base, remaining),
            };
            let exact = order.side == OrderSide::Buy || open.lock == least;
            if !order.status.is_open() || open.lock < least || !exact {
                return Err(format!(
                    "{key}: open order {} is {:?} with lock {} for remainder needing {least}",
                    order.id, order.status, open.lock
                ));
            }
            locks[asset] += open.lock;
        }
        for (asset, (balance, lock)) in account.balances.iter().zip(&locks).enumerate() {
            if balance.locked != *lock {
                return Err(format!(
                    "{key}: {} locked {} but open orders hold {lock}",
                    self.assets[asset].name, balance.locked
                ));
            }
        }
        let orders = account.open.iter().map(|o| &o.order);
        for order in orders.chain(&account.closed) {
            audit_order(key, order)?;
        }
        Ok(())
    }

    fn audit_books(&self) -> Result<(), String> {
        for (spec, market) in self.symbols.iter().zip(&self.markets) {
            let levels = market.book.bids().iter().chain(market.book.asks());
            for level in levels {
                let on_tick = !level.price.is_zero() && level.price.0.is_multiple_of(spec.tick.0);
                if !on_tick || level.size.is_zero() {
                    return Err(format!(
                        "{}: book level {:?} is off tick or empty",
                        spec.symbol, level
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One order's fills against its totals, limit and status.
fn audit_order(key: &str, order: &Order) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{key}: order {}: {what}", order.id));
    if order.account != key {
        return fail("filed under another account");
    }
    let filled: u64 = order.fills.iter().map(|f| f.size.0).sum();
    let notional: u128 = order
        .fills
        .iter()
        .map(|f| u128::from(f.price.0) * u128::from(f.size.0))
        .sum();
    let fees: u128 = order
        .fills
        .iter()
        .filter(|f| !f.discounted)
        .map(|f| f.fee)
        .sum();
    if filled != order.filled.0 || notional != order.notional || fees != order.fees {
        return fail("totals differ from the sum of its fills");
    }
    if order.filled > order.size {
        return fail("filled more than its size");
    }
    let within = |f: &super::Fill| match order.side {
        OrderSide::Buy => f.price <= order.limit,
        OrderSide::Sell => f.price >= order.limit,
    };
    if !order.fills.iter().all(within) {
        return fail("filled beyond its limit");
    }
    let complete = order.filled == order.size;
    let consistent = match order.status {
        OrderStatus::New => order.filled.is_zero(),
        OrderStatus::PartiallyFilled => !order.filled.is_zero() && !complete,
        OrderStatus::Filled => complete,
        OrderStatus::Canceled | OrderStatus::Expired => !complete,
    };
    if !consistent {
        return fail("status disagrees with what filled");
    }
    Ok(())
}
