//! What the cross-exchange lane loads from each venue before it trades: the account's fee
//! rates, the symbol's rules and the balances, over plain blocking HTTP/1.1 (start-up only,
//! never on the lane's thread). Fees and rules are never hard-coded.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use kestrel_hot::cex::exchange;
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_types::cex::Venue;
use kestrel_venues::orders::{
    Balance, FeeRates, RequestWriter, Scales, Stamp, SymbolRules, VenueError, WriteError,
    parse_balances, parse_fee_rates, parse_last_price, parse_symbol_rules,
};

/// One venue's account and symbol, as the venue reports them.
#[derive(Clone, Debug)]
pub struct VenueSetup {
    /// The account's maker and taker rates on the symbol.
    pub fees: FeeRates,
    /// Tick, lot and minimums.
    pub rules: SymbolRules,
    /// Every balance the account holds.
    pub balances: Vec<Balance>,
}

/// Ask the venue at `addr` (`host:port`) for fees, rules and balances with `writer`'s requests.
pub fn load(
    writer: &dyn RequestWriter,
    addr: &str,
    symbol: &str,
    scales: Scales,
) -> anyhow::Result<VenueSetup> {
    let venue = writer.venue();
    let stamp = || {
        let unix_ms = LiveClock.unix_ms();
        let nonce = next_nonce(unix_ms);
        Stamp {
            unix_ms,
            nonce,
            // Coinbase's JWT nonce: unique per request, as the nonce is.
            entropy: u128::from(nonce).to_le_bytes(),
        }
    };
    let fees = ask(
        venue,
        addr,
        "fee rates",
        |out| writer.fee_rates(symbol, &stamp(), out),
        |status, body| parse_fee_rates(venue, status, body),
    )?;
    let rules = ask(
        venue,
        addr,
        &format!("symbol rules of {symbol}"),
        |out| writer.symbol_rules(symbol, out),
        |status, body| parse_symbol_rules(venue, status, body, scales),
    )?;
    let balances = ask(
        venue,
        addr,
        "balances",
        |out| writer.balances(&stamp(), out),
        |status, body| parse_balances(venue, status, body),
    )?;
    Ok(VenueSetup {
        fees,
        rules,
        balances,
    })
}

/// What the account's fee-discount asset (Binance's BNB, named by the venue's commission
/// answer) is worth in `quote_asset`, at `digits` fraction digits, rounded down: its free
/// balance at the venue's last price for `{asset}{quote_asset}`. 0 where the venue states no
/// discount, the account holds none of the asset, or the asset is the symbol's own
/// `base_asset` or `quote_asset` (not modelled on paper, which then pays the undiscounted
/// rate where live pays the discounted one). Paper fills pay their fees from this value (see
/// [`kestrel_hot::cex::lane::LegConfig::fee_funds`]).
pub fn discount_funds(
    writer: &dyn RequestWriter,
    addr: &str,
    setup: &VenueSetup,
    (base_asset, quote_asset): (&str, &str),
    digits: u8,
) -> anyhow::Result<u128> {
    let venue = writer.venue();
    let Some(asset) = setup.fees.discount_asset.as_deref() else {
        return Ok(0);
    };
    if asset == base_asset || asset == quote_asset {
        return Ok(0);
    }
    let Some(free) = setup
        .balances
        .iter()
        .find(|b| b.asset == asset)
        .map(|b| b.free)
        .filter(|f| !f.is_zero())
    else {
        return Ok(0);
    };
    let symbol = format!("{asset}{quote_asset}");
    let price = ask(
        venue,
        addr,
        &format!("{symbol} price"),
        |out| writer.last_price(&symbol, out),
        |status, body| parse_last_price(venue, status, body),
    )?;
    free.checked_mul(price)
        .and_then(|value| value.units_at_floor(digits))
        .ok_or_else(|| anyhow::anyhow!("{venue}: {free} {asset} at {price} overflows"))
}

/// One start-up request: written by `write`, sent to `addr`, its answer read by `read`; each
/// failure names the venue and `what` was asked for.
fn ask<T>(
    venue: Venue,
    addr: &str,
    what: &str,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), WriteError>,
    read: impl FnOnce(u16, &[u8]) -> Result<T, VenueError>,
) -> anyhow::Result<T> {
    let mut request = Vec::with_capacity(2048);
    write(&mut request).map_err(|e| anyhow::anyhow!("{venue}: {what}: request: {e}"))?;
    let (status, body) = exchange(addr, &request)
        .map_err(|e| anyhow::anyhow!(e))
        .with_context(|| format!("{venue}: {what}"))?;
    read(status, &body).map_err(|e| anyhow::anyhow!("{venue}: {what}: {e}"))
}

/// A nonce above every one handed out before in this process, and at least `unix_ms` × 1000
/// (the lane's own nonces start there): Kraken refuses a nonce not above the key's last, and
/// two requests of one start-up can fall in the same millisecond.
pub(crate) fn next_nonce(unix_ms: u64) -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let floor = unix_ms.saturating_mul(1_000);
    let mut next = floor;
    // The closure always stores, so the update cannot fail; `next` is what was stored.
    let _ = LAST.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
        next = last.saturating_add(1).max(floor);
        Some(next)
    });
    next
}
