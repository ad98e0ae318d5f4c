//! An account: balances per asset, open orders with their locks, and a bounded memory of
//! closed orders (for queries, and so a retried client id is refused rather than filled twice).

use std::collections::VecDeque;

use super::{FeeRates, Order, OrderRef};

/// Closed orders an account remembers (oldest forgotten first). Bounds memory; a client id
/// can be reused only once its order is forgotten.
pub const CLOSED_HISTORY: usize = 1000;

/// Units of one asset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Balance {
    pub(super) free: u128,
    pub(super) locked: u128,
}

/// A resting order and what it holds locked (quote for a buy, base for a sell).
#[derive(Clone, Debug)]
pub(super) struct OpenOrder {
    pub(super) order: Order,
    pub(super) lock: u128,
}

#[derive(Clone, Debug)]
pub(super) struct Account {
    pub(super) fees: FeeRates,
    /// Parallel to the exchange's assets.
    pub(super) balances: Vec<Balance>,
    /// Oldest first.
    pub(super) open: Vec<OpenOrder>,
    /// Oldest first.
    pub(super) closed: VecDeque<Order>,
}

impl Account {
    pub(super) fn new(fees: FeeRates, assets: usize) -> Account {
        Account {
            fees,
            balances: vec![Balance::default(); assets],
            open: Vec::new(),
            closed: VecDeque::new(),
        }
    }

    /// Whether an open or remembered order carries this client id (empty ids never clash).
    pub(super) fn knows_client_id(&self, client_id: &str) -> bool {
        !client_id.is_empty()
            && (self.open.iter().any(|o| o.order.client_id == client_id)
                || self.closed.iter().any(|o| o.client_id == client_id))
    }

    /// Index in `open` of the order `by` names on `symbol`.
    pub(super) fn open_position(&self, symbol: &str, by: &OrderRef) -> Option<usize> {
        self.open.iter().position(|o| names(&o.order, symbol, by))
    }

    /// The newest remembered closed order `by` names on `symbol`.
    pub(super) fn closed_order(&self, symbol: &str, by: &OrderRef) -> Option<&Order> {
        self.closed.iter().rev().find(|o| names(o, symbol, by))
    }

    /// Move `amount` of an asset from free to locked. The caller has checked it is free.
    pub(super) fn lock(&mut self, asset: usize, amount: u128) {
        let balance = &mut self.balances[asset];
        balance.free = balance
            .free
            .checked_sub(amount)
            .expect("Invariant: a lock is checked against the free balance first");
        balance.locked += amount;
    }

    /// Move `amount` of an asset from locked back to free.
    pub(super) fn release(&mut self, asset: usize, amount: u128) {
        let balance = &mut self.balances[asset];
        balance.locked = balance
            .locked
            .checked_sub(amount)
            .expect("Invariant: only what was locked is released");
        balance.free += amount;
    }

    /// Keep a closed order for queries, forgetting the oldest past [`CLOSED_HISTORY`].
    pub(super) fn remember(&mut self, order: Order) {
        debug_assert!(
            !order.status.is_open(),
            "Invariant: only closed orders are remembered"
        );
        if self.closed.len() == CLOSED_HISTORY {
            self.closed.pop_front();
        }
        self.closed.push_back(order);
    }
}

/// Whether `by` names `order` on `symbol`.
fn names(order: &Order, symbol: &str, by: &OrderRef) -> bool {
    order.symbol == symbol
        && match by {
            OrderRef::Id(id) => order.id == *id,
            OrderRef::Client(client_id) => !client_id.is_empty() && order.client_id == *client_id,
        }
}
