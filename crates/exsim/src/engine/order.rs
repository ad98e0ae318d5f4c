//! What front-ends send the engine and get back: orders, fills, trades and rejections.

use kestrel_types::cex::{Fixed, OrderSide, Rate};

/// How long an order's remainder lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tif {
    /// Good till canceled: the unfilled rest stays open.
    Gtc,
    /// Immediate or cancel: the unfilled rest expires at once.
    Ioc,
}

/// An order as a front-end decoded it from a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// The venue's symbol spelling.
    pub symbol: String,
    /// Buy or sell.
    pub side: OrderSide,
    /// Base size, in the symbol's size units.
    pub size: Fixed,
    /// Limit price, in the symbol's price units.
    pub limit: Fixed,
    /// Time in force.
    pub tif: Tif,
    /// The client's id; empty means none (not checked for duplicates, not queryable).
    pub client_id: String,
}

/// Which side of a trade an order was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Liquidity {
    /// Took resting liquidity.
    Taker,
    /// Was the resting liquidity (never, here: resting orders do not match).
    Maker,
}

pub use kestrel_types::cex::FeeAsset;

/// One execution of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// Execution price: the book level's price.
    pub price: Fixed,
    /// Base filled.
    pub size: Fixed,
    /// Fee, in units of [`Fill::fee_asset`] (of the discount asset when
    /// [`Fill::discounted`]), rounded up.
    pub fee: u128,
    /// The asset the fee was charged in, unless `discounted`.
    pub fee_asset: FeeAsset,
    /// Whether the fee was paid in the exchange's discount asset
    /// ([`Exchange::set_fee_discount`](super::Exchange::set_fee_discount)) instead.
    pub discounted: bool,
    /// Taker or maker.
    pub liquidity: Liquidity,
    /// The public trade this fill was.
    pub trade_id: u64,
}

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Open, nothing filled.
    New,
    /// Open, partly filled.
    PartiallyFilled,
    /// Closed, all filled.
    Filled,
    /// Closed by a cancel (possibly after partial fills).
    Canceled,
    /// Closed by its time in force: an IOC order's unfilled rest, whether or not anything
    /// filled (Binance reports `EXPIRED` for both).
    Expired,
}

impl OrderStatus {
    /// Whether the order still rests (and holds a lock).
    pub const fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// An order the exchange accepted, as it stands now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// Exchange order id: increasing per exchange, from 1.
    pub id: u64,
    /// The client's id (may be empty).
    pub client_id: String,
    /// The account (API key) that placed it.
    pub account: String,
    /// The venue's symbol spelling.
    pub symbol: String,
    /// Buy or sell.
    pub side: OrderSide,
    /// Size asked for.
    pub size: Fixed,
    /// Limit price.
    pub limit: Fixed,
    /// Time in force.
    pub tif: Tif,
    /// Base filled so far: the sum of the fills' sizes.
    pub filled: Fixed,
    /// Quote paid or received so far, in notional units: the sum of the fills' notionals.
    pub notional: u128,
    /// Fees paid so far, in the fills' fee asset (fees paid in the discount asset left out:
    /// see [`Fill::discounted`]).
    pub fees: u128,
    /// Where the order stands.
    pub status: OrderStatus,
    /// Executions, in order.
    pub fills: Vec<Fill>,
    /// When the order was placed (the front-end's clock).
    pub created_ms: u64,
}

/// A public trade, for the venues' trade streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trade {
    /// Increasing per exchange, from 1.
    pub trade_id: u64,
    /// The venue's symbol spelling.
    pub symbol: String,
    /// Execution price.
    pub price: Fixed,
    /// Base traded.
    pub size: Fixed,
    /// The taker's side (the aggressor).
    pub taker_side: OrderSide,
    /// When it happened (the placing front-end's clock).
    pub ts_ms: u64,
}

/// Why the exchange refused a request. Nothing changes when it does.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    /// The symbol is not traded here.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// No account has this key.
    #[error("unknown account")]
    UnknownAccount,
    /// The account's free balance does not cover the order and its fee.
    #[error("account has insufficient balance for the requested action")]
    InsufficientBalance,
    /// The limit is zero or not a multiple of the symbol's tick.
    #[error("limit price is not a positive multiple of the tick size")]
    BadTick,
    /// The size is not a multiple of the symbol's lot.
    #[error("size is not a multiple of the lot size")]
    BadLot,
    /// The size is zero or below the symbol's minimum.
    #[error("size is below the minimum order size")]
    BelowMinSize,
    /// `size × limit` is below the symbol's minimum notional.
    #[error("order value is below the minimum notional")]
    BelowMinNotional,
    /// The account already has an order (open or remembered) with this client id.
    #[error("duplicate client order id")]
    DuplicateClientId,
    /// No such order for this account and symbol.
    #[error("unknown order")]
    UnknownOrder,
    /// The order exists but is already closed (filled, canceled or expired).
    #[error("order is not open")]
    NotOpen,
    /// A failure a test injected, with the venue's own code and message.
    #[error("{message} (code {code})")]
    Injected {
        /// The venue's error code (`-1015`, `10016`, ...).
        code: i64,
        /// The venue's error message.
        message: String,
    },
}

/// Which order a cancel or query means.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrderRef {
    /// The exchange's order id.
    Id(u64),
    /// The client's id.
    Client(String),
}

/// An account's fee rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FeeRates {
    /// Rate for resting liquidity taken by others.
    pub maker: Rate,
    /// Rate for taking liquidity.
    pub taker: Rate,
}
