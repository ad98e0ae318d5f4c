//! Executing an admitted order: lock, take the book level by level, settle each fill, then
//! expire or rest the remainder.

use kestrel_types::cex::{Fixed, OrderSide, Rate};

use super::account::{Account, OpenOrder};
use super::rules::Terms;
use super::{
    Exchange, FeeAsset, Fill, Ledger, Liquidity, NewOrder, Order, OrderStatus, TRADE_HISTORY, Tif,
    Trade,
};

/// An order that passed every check, with what matching it will do.
#[derive(Debug)]
pub(super) struct Admitted {
    /// Symbol index.
    pub(super) sym: usize,
    /// `(price, size)` to take, best level first.
    pub(super) plan: Vec<(Fixed, Fixed)>,
    /// What to lock before matching (checked to be free).
    pub(super) need: u128,
    /// What stays locked after matching (a GTC remainder's lock).
    pub(super) rest: u128,
}

/// The asset indices a fill moves.
#[derive(Clone, Copy, Debug)]
struct Pair {
    base: usize,
    quote: usize,
}

impl Exchange {
    /// Execute an admitted order for `key`; returns it as it stands afterwards.
    pub(super) fn execute(
        &mut self,
        key: &str,
        new: NewOrder,
        admitted: Admitted,
        now_ms: u64,
    ) -> Order {
        let Admitted {
            sym,
            plan,
            need,
            rest,
        } = admitted;
        let pair = Pair {
            base: self.markets[sym].base,
            quote: self.markets[sym].quote,
        };
        let lock_asset = match new.side {
            OrderSide::Buy => pair.quote,
            OrderSide::Sell => pair.base,
        };
        let taker = self.account(key).fees.taker;
        self.account(key).lock(lock_asset, need);
        let mut order = Order {
            id: self.next_order_id,
            client_id: new.client_id,
            account: key.to_owned(),
            symbol: new.symbol,
            side: new.side,
            size: new.size,
            limit: new.limit,
            tif: new.tif,
            filled: Fixed::ZERO,
            notional: 0,
            fees: 0,
            status: OrderStatus::New,
            fills: Vec::with_capacity(plan.len()),
            created_ms: now_ms,
        };
        self.next_order_id += 1;
        let mut spent = 0u128;
        for (price, size) in plan {
            spent += self.fill(key, sym, &mut order, (price, size), taker, now_ms);
        }
        let unused = need
            .checked_sub(spent + rest)
            .expect("Invariant: the lock covers the fills and the resting remainder");
        self.account(key).release(lock_asset, unused);
        order.status = final_status(&order);
        let account = self.account(key);
        if order.status.is_open() {
            account.open.push(OpenOrder {
                order: order.clone(),
                lock: rest,
            });
        } else {
            debug_assert_eq!(rest, 0, "Invariant: a closed order holds no lock");
            account.remember(order.clone());
        }
        debug_assert!(
            self.conserved(pair.base)
                .and(self.conserved(pair.quote))
                .and(
                    self.fee_discount
                        .as_ref()
                        .map_or(Ok(()), |d| self.conserved(d.asset))
                )
                .is_ok(),
            "Invariant: matching neither creates nor destroys units"
        );
        order
    }

    /// Take `size` at `price` from the book for `order` and settle it; returns what it took
    /// from the order's lock.
    fn fill(
        &mut self,
        key: &str,
        sym: usize,
        order: &mut Order,
        (price, size): (Fixed, Fixed),
        taker: Rate,
        now_ms: u64,
    ) -> u128 {
        let side = order.side;
        let terms = self.discounted(key, self.terms(side, price, size, taker), taker);
        let market = &mut self.markets[sym];
        let pair = Pair {
            base: market.base,
            quote: market.quote,
        };
        let book_side = side.takes();
        let left = super::deltas::size_at(market.book.side(book_side), price);
        let left = left
            .0
            .checked_sub(size.0)
            .expect("Invariant: a fill takes no more than its level holds");
        market
            .deltas
            .set(&mut market.book, book_side, price, Fixed(left));
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        self.record_trade(Trade {
            trade_id,
            symbol: order.symbol.clone(),
            price,
            size,
            taker_side: side,
            ts_ms: now_ms,
        });
        let account = self
            .accounts
            .get_mut(key)
            .expect("Invariant: an admitted order's account exists");
        settle(account, &mut self.ledger, pair, side, terms, size);
        order.filled = Fixed(order.filled.0 + size.0);
        order.notional += terms.notional;
        if terms.discount_asset.is_none() {
            order.fees += terms.fee;
        }
        order.fills.push(Fill {
            price,
            size,
            fee: terms.fee,
            fee_asset: terms.fee_asset,
            discounted: terms.discount_asset.is_some(),
            liquidity: Liquidity::Taker,
            trade_id,
        });
        self.lock_debit(side, terms, size)
    }

    /// `terms` with its fee paid in the discount asset instead, where the exchange has one and
    /// `key`'s free balance of it covers the fee's value there (see
    /// [`FeeDiscount`](super::FeeDiscount)).
    fn discounted(&self, key: &str, terms: Terms, taker: Rate) -> Terms {
        let Some(d) = &self.fee_discount else {
            return terms;
        };
        let value = taker.times(d.spec.discount).of(terms.notional);
        let fee = value.div_ceil(d.spec.quote_units_per_unit);
        let free = self
            .accounts
            .get(key)
            .map_or(0, |a| a.balances[d.asset].free);
        if free < fee {
            return terms;
        }
        Terms {
            fee,
            discount_asset: Some(d.asset),
            ..terms
        }
    }

    fn record_trade(&mut self, trade: Trade) {
        if self.trades.len() == TRADE_HISTORY {
            self.trades.pop_front();
        }
        self.trades.push_back(trade);
    }

    fn account(&mut self, key: &str) -> &mut Account {
        self.accounts
            .get_mut(key)
            .expect("Invariant: an admitted order's account exists")
    }
}

/// Move one fill's units: the taker pays from its lock, receives into free, the book takes
/// the other side, the exchange keeps the fee.
fn settle(
    account: &mut Account,
    ledger: &mut [Ledger],
    pair: Pair,
    side: OrderSide,
    terms: Terms,
    size: Fixed,
) {
    let size = u128::from(size.0);
    let fee_index = match (terms.discount_asset, terms.fee_asset) {
        (Some(asset), _) => asset,
        (None, FeeAsset::Base) => pair.base,
        (None, FeeAsset::Quote) => pair.quote,
    };
    let (paid, paid_amount, got, got_amount) = match side {
        OrderSide::Buy => (pair.quote, terms.notional, pair.base, size),
        OrderSide::Sell => (pair.base, size, pair.quote, terms.notional),
    };
    // The fee comes out of the lock when charged in the asset paid, out of the free balance
    // when in the discount asset, else out of the proceeds.
    let (debit, credit) = if terms.discount_asset.is_some() {
        let balance = &mut account.balances[fee_index];
        balance.free = balance
            .free
            .checked_sub(terms.fee)
            .expect("Invariant: a discounted fee is charged only where the balance covers it");
        (paid_amount, got_amount)
    } else if fee_index == paid {
        (paid_amount + terms.fee, got_amount)
    } else {
        (paid_amount, got_amount - terms.fee)
    };
    let payer = &mut account.balances[paid];
    payer.locked = payer
        .locked
        .checked_sub(debit)
        .expect("Invariant: a fill is paid from its order's lock");
    account.balances[got].free += credit;
    ledger[paid].to_book += paid_amount;
    ledger[got].from_book += got_amount;
    ledger[fee_index].fees += terms.fee;
}

/// An order's status once matching is done.
fn final_status(order: &Order) -> OrderStatus {
    match order.tif {
        _ if order.filled == order.size => OrderStatus::Filled,
        Tif::Ioc => OrderStatus::Expired,
        Tif::Gtc if order.filled.is_zero() => OrderStatus::New,
        Tif::Gtc => OrderStatus::PartiallyFilled,
    }
}
