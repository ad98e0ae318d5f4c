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

#[cfg(test)]
mod tests {
    use alloy::primitives::aliases::{I24, U112, U160};
    use alloy::primitives::{Address, B256, I256, LogData};
    use kestrel_dex::cycle::V3FactoryId;
    use kestrel_dex::pool::{FactoryInfo, PoolSnapshot, V2Pool};
    use kestrel_dex::v3::{Slot0, V3Pool, V3PoolKey};
    use kestrel_types::{FactoryId, PoolId};

    use super::*;
    use crate::v3::IUniswapV3Pool;

    const WETH: Address = Address::repeat_byte(0xee);
    const TOKEN: Address = Address::repeat_byte(0x11);
    const PAIR: Address = Address::repeat_byte(0x22);
    const POOL: Address = Address::repeat_byte(0x33);

    fn registry() -> PoolRegistry {
        let factory = FactoryInfo {
            address: Address::repeat_byte(0xf0),
            router: Address::repeat_byte(0xf1),
            init_code_hash: B256::ZERO,
            fee_num: 997,
        };
        let pair = V2Pool {
            address: PAIR,
            token0: TOKEN,
            token1: WETH,
            reserve0: U256::from(1_000u64),
            reserve1: U256::from(2_000u64),
            factory: FactoryId(0),
        };
        let key = V3PoolKey {
            address: POOL,
            token0: TOKEN,
            token1: WETH,
            fee_pips: 3000,
            tick_spacing: 60,
        };
        let slot0 = Slot0 {
            sqrt_price_x96: U256::from(1u64) << 96,
            tick: 0,
            fee_protocol: 0,
        };
        let pool = V3Pool::new(key, slot0, 0, Vec::new()).unwrap();
        let v2 = PoolSnapshot::new(1, vec![factory], vec![pair]);
        PoolRegistry::new(WETH, v2, vec![(V3FactoryId(0), pool)]).unwrap()
    }

    fn log(address: Address, data: LogData) -> Log {
        Log { address, data }
    }

    fn sync(address: Address, r0: u64, r1: u64) -> Log {
        let ev = IUniswapV2Pair::Sync {
            reserve0: U112::from(r0),
            reserve1: U112::from(r1),
        };
        log(address, ev.encode_log_data())
    }

    fn swap(address: Address, sqrt_price: U256, liquidity: u128, tick: i32) -> Log {
        let ev = IUniswapV3Pool::Swap {
            sender: Address::repeat_byte(1),
            recipient: Address::repeat_byte(2),
            amount0: I256::try_from(-5i64).unwrap(),
            amount1: I256::try_from(7i64).unwrap(),
            sqrtPriceX96: U160::from(sqrt_price),
            liquidity,
            tick: I24::try_from(tick).unwrap(),
        };
        log(address, ev.encode_log_data())
    }

    #[test]
    fn sync_and_swap_of_watched_pools_become_their_post_states_the_last_one_winning() {
        let reg = registry();
        let price = (U256::from(3u64) << 96) / U256::from(2u64);
        let logs = [
            sync(PAIR, 1, 2),
            // Another contract's Sync and a watched pool's unrelated log are passed over.
            sync(Address::repeat_byte(0x99), 5, 5),
            log(
                POOL,
                LogData::new_unchecked(vec![B256::repeat_byte(7)], Default::default()),
            ),
            swap(POOL, price, 123_456, -887),
            sync(PAIR, 1_100, 1_819),
        ];
        let overlay = overlay_from_logs(&reg, &logs).unwrap();
        assert_eq!(overlay.len(), 2);
        assert_eq!(
            overlay.get(PoolRef::V2(PoolId(0))),
            Some(PoolState::V2 {
                reserve0: U256::from(1_100u64),
                reserve1: U256::from(1_819u64),
            })
        );
        let v3 = reg.v3_by_address(POOL).unwrap();
        assert_eq!(
            overlay.get(PoolRef::V3(v3)),
            Some(PoolState::V3(V3State {
                sqrt_price_x96: price,
                tick: -887,
                liquidity: 123_456,
            }))
        );
        // Touched in the order first seen.
        let touched: Vec<_> = overlay.touched().collect();
        assert_eq!(touched, [PoolRef::V2(PoolId(0)), PoolRef::V3(v3)]);
    }

    proptest::proptest! {
        /// The log decoders read what any contract may emit: arbitrary topics and data, from
        /// watched pools or not, with the real events' signatures or not, are an answer or an
        /// error, never a panic (the fuzzing-ready form of issue 3's fuzz targets).
        #[test]
        fn arbitrary_logs_never_panic_the_decoders(
            raw in proptest::collection::vec(
                (0usize..3, 0usize..5, proptest::collection::vec(proptest::prelude::any::<[u8; 32]>(), 0..4),
                 proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)),
                0..8,
            )
        ) {
            let reg = registry();
            let signatures = [
                IUniswapV2Pair::Sync::SIGNATURE_HASH,
                IUniswapV3Pool::Swap::SIGNATURE_HASH,
                IUniswapV3Pool::Mint::SIGNATURE_HASH,
                IUniswapV3Pool::Burn::SIGNATURE_HASH,
            ];
            let logs: Vec<Log> = raw
                .into_iter()
                .map(|(emitter, sig, extra, data)| {
                    let address = [PAIR, POOL, Address::repeat_byte(0x99)][emitter];
                    let mut topics: Vec<B256> = signatures.get(sig).copied().into_iter().collect();
                    topics.extend(extra.into_iter().map(B256::from));
                    log(address, LogData::new_unchecked(topics, data.into()))
                })
                .collect();
            for l in &logs {
                let _ = crate::v3::decode_event(l);
            }
            let _ = overlay_from_logs(&reg, &logs);
        }
    }

    #[test]
    fn logs_of_no_watched_pool_give_an_empty_overlay() {
        let reg = registry();
        let logs = [
            sync(Address::repeat_byte(0x98), 1, 1),
            swap(Address::repeat_byte(0x97), U256::from(1u64) << 96, 1, 0),
        ];
        assert!(overlay_from_logs(&reg, &logs).unwrap().is_empty());
    }

    #[test]
    fn a_position_change_on_a_watched_v3_pool_is_refused() {
        let reg = registry();
        let mint = IUniswapV3Pool::Mint {
            sender: Address::repeat_byte(1),
            owner: Address::repeat_byte(2),
            tickLower: I24::try_from(-60).unwrap(),
            tickUpper: I24::try_from(60).unwrap(),
            amount: 10,
            amount0: U256::from(1u64),
            amount1: U256::from(1u64),
        };
        let logs = [
            swap(POOL, U256::from(1u64) << 96, 1, 0),
            log(POOL, mint.encode_log_data()),
        ];
        assert_eq!(
            overlay_from_logs(&reg, &logs),
            Err(EffectsError::PositionsChanged)
        );
        // The same Mint from a pool nobody watches changes nothing.
        let elsewhere = [log(Address::repeat_byte(0x96), mint.encode_log_data())];
        assert!(overlay_from_logs(&reg, &elsewhere).unwrap().is_empty());
    }
}
