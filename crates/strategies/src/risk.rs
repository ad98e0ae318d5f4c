//! The cross-exchange lane's guard rails: inventory per venue, a kill switch (drawdown, open
//! imbalance, order rate), the unwind of a leg that filled without its partner, and paper fills.
//!
//! All exact integers in the units of [`crate::xarb`]: sizes in size units, money in notional
//! units (price units × size units).

use kestrel_types::cex::{FeeAsset, Fixed, OrderSide, Rate, Venue};
use kestrel_venues::book::Book;

/// What one venue holds of the symbol's two assets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holdings {
    /// Base, in size units.
    pub base: u128,
    /// Quote, in notional units.
    pub quote: u128,
}

/// Why the kill switch tripped. Once tripped it stays tripped until an operator resets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TripReason {
    /// Realized PnL fell more than the limit below its peak.
    Drawdown {
        /// Peak minus now, in notional units.
        drawdown: u128,
    },
    /// More base bought than sold (or the reverse) across venues than allowed.
    Imbalance {
        /// The open imbalance, in size units.
        imbalance: u128,
    },
    /// More orders in the last minute than allowed.
    OrderRate {
        /// Orders in the window, counting the one refused.
        orders: u32,
    },
    /// An order's outcome could not be learned from the venue (no answer, and queries that
    /// never told): the position there is unknown until an operator reconciles it.
    Unresolved,
    /// An operator stopped the lane.
    Manual,
}

impl TripReason {
    /// A stable lowercase word for the reason (what the journal keeps; never renamed).
    pub fn key(&self) -> &'static str {
        match self {
            TripReason::Drawdown { .. } => "drawdown",
            TripReason::Imbalance { .. } => "imbalance",
            TripReason::OrderRate { .. } => "order_rate",
            TripReason::Unresolved => "unresolved",
            TripReason::Manual => "manual",
        }
    }

    /// The number the reason carries: the drawdown in notional units, the imbalance in size
    /// units, the orders in the window; `None` for a reason without one.
    pub fn amount(&self) -> Option<u128> {
        match self {
            TripReason::Drawdown { drawdown } => Some(*drawdown),
            TripReason::Imbalance { imbalance } => Some(*imbalance),
            TripReason::OrderRate { orders } => Some(u128::from(*orders)),
            TripReason::Unresolved | TripReason::Manual => None,
        }
    }

    /// The reason back from its [`key`](TripReason::key) and [`amount`](TripReason::amount);
    /// `None` for an unknown key, or an amount missing, out of range or where none belongs.
    pub fn from_key(key: &str, amount: Option<u128>) -> Option<TripReason> {
        match (key, amount) {
            ("drawdown", Some(drawdown)) => Some(TripReason::Drawdown { drawdown }),
            ("imbalance", Some(imbalance)) => Some(TripReason::Imbalance { imbalance }),
            ("order_rate", Some(orders)) => u32::try_from(orders)
                .ok()
                .map(|orders| TripReason::OrderRate { orders }),
            ("unresolved", None) => Some(TripReason::Unresolved),
            ("manual", None) => Some(TripReason::Manual),
            _ => None,
        }
    }
}

/// Why an order is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// An arbitrage leg: opens risk, subject to every limit.
    Open,
    /// An unwind: closes risk left by a leg that filled without its partner.
    Unwind,
}

/// The kill switch's limits (from config; tunable at run time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskLimits {
    /// Largest fall of realized PnL from its peak, in notional units.
    pub max_drawdown: u128,
    /// Largest open base imbalance across venues, in size units.
    pub max_imbalance: u128,
    /// Most orders (legs and unwinds) in any 60 s.
    pub max_orders_per_minute: u32,
}

/// Order-rate window capacity: the most orders per minute any config may allow.
pub const MAX_ORDERS_PER_MINUTE: usize = 16_384;

/// The kill switch: checks every order before it is sent and every PnL and position change.
#[derive(Clone, Debug)]
pub struct KillSwitch {
    limits: RiskLimits,
    tripped: Option<TripReason>,
    /// Times it went from armed to tripped.
    trips: u64,
    peak_pnl: i128,
    /// Send times of recent orders, ms, oldest first (bounded by [`MAX_ORDERS_PER_MINUTE`]).
    recent: std::collections::VecDeque<u64>,
}

impl KillSwitch {
    /// A switch with these limits, not tripped.
    pub fn new(limits: RiskLimits) -> KillSwitch {
        KillSwitch {
            limits,
            tripped: None,
            trips: 0,
            peak_pnl: 0,
            recent: std::collections::VecDeque::with_capacity(MAX_ORDERS_PER_MINUTE),
        }
    }

    /// Why it tripped, if it has.
    pub fn tripped(&self) -> Option<TripReason> {
        self.tripped
    }

    /// How many times it has gone from armed to tripped (a reset re-arms it; reasons added to
    /// a switch already tripped do not count). What tells a caller that a trip is new.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// The limits in force.
    pub fn limits(&self) -> RiskLimits {
        self.limits
    }

    /// Change the limits (an operator's command); a tripped switch stays tripped.
    pub fn set_limits(&mut self, limits: RiskLimits) {
        self.limits = limits;
    }

    /// Trip it by hand (or at start, for a trip an earlier run left unreset). A switch already
    /// tripped keeps its first reason.
    pub fn trip(&mut self, reason: TripReason) {
        if self.tripped.is_none() {
            self.tripped = Some(reason);
            self.trips += 1;
        }
    }

    /// Re-arm after an operator has looked (the PnL peak restarts from `pnl`).
    pub fn reset(&mut self, pnl: i128) {
        self.tripped = None;
        self.peak_pnl = pnl;
        self.recent.clear();
    }

    /// Carry on from earlier runs: realized PnL since the last reset is `pnl` and its highest
    /// point was `peak` (at least 0, where the reset left it), so the drawdown limit counts
    /// from there rather than from a fresh start. Trips at once when that drawdown is already
    /// past the limit (the limit may have been lowered since).
    pub fn resume(&mut self, pnl: i128, peak: i128) {
        self.peak_pnl = self.peak_pnl.max(peak);
        self.on_pnl(pnl);
    }

    /// Realized PnL's highest point since the switch was made or reset.
    pub fn peak_pnl(&self) -> i128 {
        self.peak_pnl
    }

    /// May `orders` more orders of `purpose` be sent at `now_ms`? Records them when yes.
    /// Unwinds are counted but never refused, even on a tripped switch: closing risk is what a
    /// tripped switch wants.
    pub fn allow(&mut self, now_ms: u64, orders: u32, purpose: Purpose) -> Result<(), TripReason> {
        while self
            .recent
            .front()
            .is_some_and(|t| now_ms.saturating_sub(*t) >= 60_000)
        {
            self.recent.pop_front();
        }
        if purpose == Purpose::Open {
            if let Some(reason) = self.tripped {
                return Err(reason);
            }
            let in_window = u32::try_from(self.recent.len()).unwrap_or(u32::MAX) + orders;
            if in_window > self.limits.max_orders_per_minute {
                let reason = TripReason::OrderRate { orders: in_window };
                self.trip(reason);
                return Err(reason);
            }
        }
        for _ in 0..orders {
            if self.recent.len() == MAX_ORDERS_PER_MINUTE {
                self.recent.pop_front();
            }
            self.recent.push_back(now_ms);
        }
        Ok(())
    }

    /// Realized PnL is now `pnl` (notional units): trips on a drawdown past the limit.
    pub fn on_pnl(&mut self, pnl: i128) {
        self.peak_pnl = self.peak_pnl.max(pnl);
        let drawdown = (self.peak_pnl - pnl).unsigned_abs();
        if drawdown > self.limits.max_drawdown {
            self.trip(TripReason::Drawdown { drawdown });
        }
    }

    /// The open base imbalance is now `imbalance` size units: trips past the limit.
    pub fn on_imbalance(&mut self, imbalance: u128) {
        if imbalance > self.limits.max_imbalance {
            self.trip(TripReason::Imbalance { imbalance });
        }
    }
}

/// An order that closes an imbalance left by legs that did not fill alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unwind {
    /// Where.
    pub venue: Venue,
    /// Sell the excess base, or buy back what was oversold.
    pub side: OrderSide,
    /// How much.
    pub size: Fixed,
    /// The IOC limit: the best price now, worsened by at most the allowed slippage, so the
    /// loss is bounded.
    pub limit: Fixed,
}

/// After both legs answered: how to close the difference between what was bought and what
/// was sold, at most `max_slippage` worse than each venue's best price now, on the venue where
/// that is cheapest (the legs' own venues: the buy venue to sell excess base back, the sell
/// venue to buy back what was oversold). `None` when the legs match or the book is empty.
pub fn plan_unwind(
    bought: Fixed,
    sold: Fixed,
    buy_venue: (Venue, &Book),
    sell_venue: (Venue, &Book),
    max_slippage: Rate,
    tick: Fixed,
) -> Option<Unwind> {
    if bought == sold {
        return None;
    }
    if bought > sold {
        // Long the difference: sell it where it was bought (its bids are the reference).
        let (venue, book) = buy_venue;
        let best = book.best_bid()?.price;
        let worst = u128::from(best.0) - slippage(best, max_slippage);
        // Round the limit up to the tick (a sell limit may not go below the bound).
        let limit =
            u64::try_from(worst.div_ceil(u128::from(tick.0.max(1))) * u128::from(tick.0.max(1)))
                .ok()?;
        Some(Unwind {
            venue,
            side: OrderSide::Sell,
            size: Fixed(bought.0 - sold.0),
            limit: Fixed(limit),
        })
    } else {
        let (venue, book) = sell_venue;
        let best = book.best_ask()?.price;
        let worst = u128::from(best.0) + slippage(best, max_slippage);
        // A buy limit is rounded down to the tick so it never exceeds the bound.
        let tick = u128::from(tick.0.max(1));
        let limit = u64::try_from(worst / tick * tick).ok()?;
        Some(Unwind {
            venue,
            side: OrderSide::Buy,
            size: Fixed(sold.0 - bought.0),
            limit: Fixed(limit),
        })
    }
}

/// The price move `max_slippage` allows from `best`, rounded down: the bound is never exceeded.
fn slippage(best: Fixed, max_slippage: Rate) -> u128 {
    u128::from(best.0) * u128::from(max_slippage.0).min(Rate::ONE) / Rate::ONE
}

/// What an IOC order would get from a book: the paper fill. It walks the levels at or better
/// than the limit, as the venues' matching does, and charges the taker fee per level taken,
/// rounded up, in the venue's fee asset (a buy's fee in base where the venue takes it there),
/// so paper results are what live would have done on the same book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaperFill {
    /// Base filled.
    pub size: Fixed,
    /// Quote paid or received before fees, notional units.
    pub notional: u128,
    /// Fee in quote, notional units (0 when it was taken in base).
    pub fee_quote: u128,
    /// Fee in base, size units (0 when it was taken in quote).
    pub fee_base: u128,
    /// Fee paid in the venue's discount asset, valued in quote notional units at the
    /// discounted rate ([`DiscountFunds`]); 0 without one.
    pub fee_other: u128,
    /// Levels taken.
    pub levels: u32,
}

/// What paper fills may pay fees from in a venue's discount asset (Binance's BNB with "use BNB
/// to pay for fees" on): the live venue takes each fill's fee there, at the discounted rate,
/// while the asset's free balance covers it, and in the usual asset after. Paper does the same
/// with the asset's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscountFunds {
    /// The taker rate when the fee is paid in the discount asset.
    pub rate: Rate,
    /// What is left of the discount asset, valued in quote notional units (at its price when
    /// the run started: the venue converts each fee at its own price, which paper does not
    /// follow).
    pub left: u128,
}

/// Fill an IOC order of `side`, `size`, `limit` against `book` on paper; `buy_fee_asset` is
/// where the venue takes a buy's fee (sells always pay in quote).
pub fn paper_fill(
    book: &Book,
    side: OrderSide,
    size: Fixed,
    limit: Fixed,
    taker_fee: Rate,
    buy_fee_asset: FeeAsset,
) -> PaperFill {
    paper_fill_discounted(book, side, size, limit, taker_fee, buy_fee_asset, None)
}

/// [`paper_fill`] on an account that pays fees in a discount asset while `discount` covers
/// them: each level's fee goes there, at `discount.rate` rounded up, where what is left is at
/// least that fee (and is taken from it); otherwise the level pays the usual fee, as the
/// venue falls back per fill.
pub fn paper_fill_discounted(
    book: &Book,
    side: OrderSide,
    size: Fixed,
    limit: Fixed,
    taker_fee: Rate,
    buy_fee_asset: FeeAsset,
    mut discount: Option<&mut DiscountFunds>,
) -> PaperFill {
    let levels = match side {
        OrderSide::Buy => book.asks(),
        OrderSide::Sell => book.bids(),
    };
    let fee_in_base = side == OrderSide::Buy && buy_fee_asset == FeeAsset::Base;
    let mut fill = PaperFill {
        size: Fixed::ZERO,
        notional: 0,
        fee_quote: 0,
        fee_base: 0,
        fee_other: 0,
        levels: 0,
    };
    let mut left = size.0;
    for level in levels {
        let crosses = match side {
            OrderSide::Buy => level.price <= limit,
            OrderSide::Sell => level.price >= limit,
        };
        if left == 0 || !crosses {
            break;
        }
        let take = left.min(level.size.0);
        let notional = u128::from(take) * u128::from(level.price.0);
        fill.notional += notional;
        let funded = discount.as_deref_mut().and_then(|d| {
            let fee = d.rate.of(notional);
            d.left = d.left.checked_sub(fee)?;
            Some(fee)
        });
        if let Some(fee) = funded {
            fill.fee_other += fee;
        } else if fee_in_base {
            fill.fee_base += taker_fee.of(u128::from(take));
        } else {
            fill.fee_quote += taker_fee.of(notional);
        }
        left -= take;
        fill.levels += 1;
    }
    fill.size = Fixed(size.0 - left);
    fill
}
