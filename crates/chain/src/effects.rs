//! What a transaction did to the watched pools, read off the logs revm (or a receipt) gives:
//! the post-transaction state of every touched pool as a [`StateOverlay`], the same structure
//! the decoders' replay produces, so the cycle search runs on either.
//!
//! A V2 pair's `Sync` carries its new reserves; a V3 pool's `Swap` carries its new price,
//! active liquidity and tick. Those are exact: they are the values the pool stored. A V3
//! `Mint` or `Burn` changes the tick table, which the overlay does not hold, so a transaction
//! that emits one on a watched pool is refused rather than quoted on stale ticks.

use alloy::primitives::Log;
use alloy::sol_types::SolEvent;
use kestrel_dex::cycle::{PoolRef, PoolRegistry};
use kestrel_dex::v3::V3Event;
use kestrel_dex::victim::{PoolState, StateOverlay, V3State};
use kestrel_types::U256;

use crate::IUniswapV2Pair;
use crate::v3::decode_event;

/// Why a transaction's logs give no overlay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EffectsError {
    /// A watched V3 pool's liquidity positions changed (`Mint`/`Burn`).
    #[error("the transaction changes liquidity positions of a watched V3 pool")]
    PositionsChanged,
    /// More distinct watched pools than the fixed overlay holds.
    #[error("the transaction touches more watched pools than the overlay holds")]
    TooManyPools,
}

/// The post-transaction state of each watched pool in `logs` (in log order, the last event
/// of a pool winning). Logs of other contracts, and other events of watched pools, are passed
/// over; an empty overlay means the transaction moved no watched pool.
pub fn overlay_from_logs(reg: &PoolRegistry, logs: &[Log]) -> Result<StateOverlay, EffectsError> {
    let mut overlay = StateOverlay::default();
    for log in logs {
        let Some((pool, state)) = pool_state(reg, log)? else {
            continue;
        };
        overlay
            .set(pool, state)
            .map_err(|_| EffectsError::TooManyPools)?;
    }
    Ok(overlay)
}

/// The new state one log gives a watched pool, if it is such a log.
fn pool_state(reg: &PoolRegistry, log: &Log) -> Result<Option<(PoolRef, PoolState)>, EffectsError> {
    if let Some(id) = reg.v2().pool_by_address(log.address) {
        let Ok(sync) = IUniswapV2Pair::Sync::decode_log_data(&log.data) else {
            return Ok(None);
        };
        let state = PoolState::V2 {
            reserve0: U256::from(sync.reserve0),
            reserve1: U256::from(sync.reserve1),
        };
        return Ok(Some((PoolRef::V2(id), state)));
    }
    let Some(id) = reg.v3_by_address(log.address) else {
        return Ok(None);
    };
    match decode_event(log) {
        Some(V3Event::Swap {
            sqrt_price_x96,
            liquidity,
            tick,
        }) => {
            let state = V3State {
                sqrt_price_x96,
                tick,
                liquidity,
            };
            Ok(Some((PoolRef::V3(id), PoolState::V3(state))))
        }
        Some(V3Event::Mint { .. } | V3Event::Burn { .. }) => Err(EffectsError::PositionsChanged),
        None => Ok(None),
    }
}
