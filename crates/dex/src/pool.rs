//! The immutable V2 pool snapshot the hot lane reads, and CREATE2 pair addressing.
//!
//! The slow lane builds a [`PoolSnapshot`] once per block (or per batch of `Sync` logs) and
//! publishes it behind an `Arc`; the hot lane only reads it. Indexes are built at construction
//! so lookups hash and compare but never allocate. Reserve refreshes share the indexes.

use std::collections::HashMap;
use std::sync::Arc;

use kestrel_types::{Address, B256, FactoryId, PoolId, U256, keccak256};

/// Most V2 factories one snapshot holds (one sibling pool per factory for each pair).
pub const MAX_FACTORIES: usize = 8;

/// One Uniswap V2 pair as of the snapshot's block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V2Pool {
    /// The pair contract.
    pub address: Address,
    /// `token0()` of the pair.
    pub token0: Address,
    /// `token1()` of the pair.
    pub token1: Address,
    /// Reserve of `token0`.
    pub reserve0: U256,
    /// Reserve of `token1`.
    pub reserve1: U256,
    /// The factory that deployed the pair (an index into [`PoolSnapshot::factories`]).
    pub factory: FactoryId,
}

impl V2Pool {
    /// `(reserve of token, reserve of the other token)`, or `None` if `token` is not in the pair.
    pub fn oriented(&self, token: Address) -> Option<(U256, U256)> {
        orient(self, self.reserve0, self.reserve1, token)
    }

    /// The other token of the pair, or `None` if `token` is not in it.
    pub fn other(&self, token: Address) -> Option<Address> {
        if token == self.token0 {
            Some(self.token1)
        } else if token == self.token1 {
            Some(self.token0)
        } else {
            None
        }
    }
}

/// Orients reserves `(reserve0, reserve1)` of `pool` around `token`: `(reserve of token, reserve
/// of the other token)`, or `None` if `token` is not in the pair. The executor uses the same
/// orientation to pick `amount0Out` / `amount1Out`.
pub fn orient(
    pool: &V2Pool,
    reserve0: U256,
    reserve1: U256,
    token: Address,
) -> Option<(U256, U256)> {
    if token == pool.token0 {
        Some((reserve0, reserve1))
    } else if token == pool.token1 {
        Some((reserve1, reserve0))
    } else {
        None
    }
}

/// A V2 factory and the router that uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FactoryInfo {
    /// The factory contract.
    pub address: Address,
    /// Its Router02.
    pub router: Address,
    /// keccak256 of the pair's creation code, for CREATE2 addressing.
    pub init_code_hash: B256,
    /// Fee numerator over 1000 (997 for Uniswap V2).
    pub fee_num: u32,
}

/// Lookup tables over a pool set; shared between snapshots that differ only in reserves.
#[derive(Debug)]
struct Index {
    by_address: HashMap<Address, PoolId>,
    /// Sorted token pair to its pool on each factory (`None` where that factory has none).
    by_pair: HashMap<(Address, Address), [Option<PoolId>; MAX_FACTORIES]>,
}

/// Every known V2 pool with its reserves at one block. Immutable once built.
#[derive(Clone, Debug)]
pub struct PoolSnapshot {
    block: u64,
    factories: Arc<[FactoryInfo]>,
    pools: Vec<V2Pool>,
    index: Arc<Index>,
}

impl PoolSnapshot {
    /// Builds the snapshot and its indexes.
    ///
    /// # Panics
    ///
    /// On inconsistent discovery data, which must stop the engine rather than mis-price
    /// trades: more than [`MAX_FACTORIES`] factories, more than `u32::MAX` pools, a pool whose
    /// factory id is out of range or whose two tokens are equal, two pools at one address, or
    /// two pools for one pair on one factory.
    pub fn new(block: u64, factories: Vec<FactoryInfo>, pools: Vec<V2Pool>) -> Self {
        assert!(
            factories.len() <= MAX_FACTORIES,
            "at most {MAX_FACTORIES} factories"
        );
        assert!(u32::try_from(pools.len()).is_ok(), "pool ids are u32");
        let mut by_address = HashMap::with_capacity(pools.len());
        let mut by_pair: HashMap<(Address, Address), [Option<PoolId>; MAX_FACTORIES]> =
            HashMap::with_capacity(pools.len());
        for (i, pool) in pools.iter().enumerate() {
            let id = PoolId(i as u32);
            let f = usize::from(pool.factory.0);
            assert!(
                f < factories.len(),
                "pool {} has unknown factory {f}",
                pool.address
            );
            assert!(
                pool.token0 != pool.token1,
                "pool {} pairs a token with itself",
                pool.address
            );
            let dup = by_address.insert(pool.address, id);
            assert!(dup.is_none(), "pool {} listed twice", pool.address);
            let slot = &mut by_pair
                .entry(sort_tokens(pool.token0, pool.token1))
                .or_default()[f];
            assert!(
                slot.is_none(),
                "two pools for one pair on factory {f}: {}",
                pool.address
            );
            *slot = Some(id);
        }
        let index = Arc::new(Index {
            by_address,
            by_pair,
        });
        PoolSnapshot {
            block,
            factories: factories.into(),
            pools,
            index,
        }
    }

    /// The block whose state this snapshot holds.
    pub fn block(&self) -> u64 {
        self.block
    }

    /// Configured factories; a [`FactoryId`] indexes this slice.
    pub fn factories(&self) -> &[FactoryInfo] {
        &self.factories
    }

    /// The factory with this id, if configured.
    pub fn factory(&self, id: FactoryId) -> Option<&FactoryInfo> {
        self.factories.get(usize::from(id.0))
    }

    /// The factory whose Router02 is at `router`.
    pub fn factory_of_router(&self, router: Address) -> Option<FactoryId> {
        let i = self.factories.iter().position(|f| f.router == router)?;
        // At most MAX_FACTORIES (8) entries, so the index fits a u8.
        u8::try_from(i).ok().map(FactoryId)
    }

    /// The pool with this id.
    ///
    /// # Panics
    ///
    /// If `id` does not come from this snapshot's pool set. Use [`PoolSnapshot::get`] for ids
    /// of unknown origin.
    pub fn pool(&self, id: PoolId) -> &V2Pool {
        &self.pools[id.0 as usize]
    }

    /// The pool with this id, or `None` if it is out of range.
    pub fn get(&self, id: PoolId) -> Option<&V2Pool> {
        self.pools.get(usize::try_from(id.0).ok()?)
    }

    /// Every pool; a [`PoolId`] indexes this slice.
    pub fn pools(&self) -> &[V2Pool] {
        &self.pools
    }

    /// The id of the pool at `a`.
    pub fn pool_by_address(&self, a: Address) -> Option<PoolId> {
        self.index.by_address.get(&a).copied()
    }

    /// The pool for tokens `a` and `b` (either order) on `factory`.
    pub fn pool_for(&self, factory: FactoryId, a: Address, b: Address) -> Option<PoolId> {
        let slots = self.index.by_pair.get(&sort_tokens(a, b))?;
        slots.get(usize::from(factory.0)).copied().flatten()
    }

    /// The same pair on every factory (for cycles), at most [`MAX_FACTORIES`], in factory order.
    pub fn pools_for_pair(&self, a: Address, b: Address) -> impl Iterator<Item = PoolId> + '_ {
        self.index
            .by_pair
            .get(&sort_tokens(a, b))
            .into_iter()
            .flatten()
            .flatten()
            .copied()
    }

    /// A new snapshot at `block` with some reserves replaced: `(pool, reserve0, reserve1)`.
    /// Later updates of one pool win. The indexes are shared, not rebuilt.
    ///
    /// # Panics
    ///
    /// If an update names a pool id outside this snapshot.
    pub fn with_reserves(&self, block: u64, updates: &[(PoolId, U256, U256)]) -> Self {
        let mut pools = self.pools.clone();
        for &(id, reserve0, reserve1) in updates {
            let pool = pools
                .get_mut(id.0 as usize)
                .expect("reserve update for a pool outside the snapshot");
            pool.reserve0 = reserve0;
            pool.reserve1 = reserve1;
        }
        PoolSnapshot {
            block,
            factories: Arc::clone(&self.factories),
            pools,
            index: Arc::clone(&self.index),
        }
    }
}

/// `UniswapV2Library.sortTokens`: the lower address first.
pub fn sort_tokens(a: Address, b: Address) -> (Address, Address) {
    if a < b { (a, b) } else { (b, a) }
}

/// `UniswapV2Library.pairFor`: the CREATE2 address of the `a`/`b` pair of `factory`
/// (`keccak256(0xff ++ factory ++ keccak256(token0 ++ token1) ++ init_code_hash)[12..]`).
pub fn pair_address(factory: Address, init_code_hash: B256, a: Address, b: Address) -> Address {
    let (token0, token1) = sort_tokens(a, b);
    let mut packed = [0u8; 40];
    packed[..20].copy_from_slice(token0.as_slice());
    packed[20..].copy_from_slice(token1.as_slice());
    factory.create2(keccak256(packed), init_code_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(b: u8) -> Address {
        Address::with_last_byte(b)
    }

    fn factory(b: u8) -> FactoryInfo {
        FactoryInfo {
            address: addr(0xf0 + b),
            router: addr(0xe0 + b),
            init_code_hash: B256::ZERO,
            fee_num: 997,
        }
    }

    fn pool(a: u8, t0: u8, t1: u8, f: u8) -> V2Pool {
        V2Pool {
            address: addr(a),
            token0: addr(t0),
            token1: addr(t1),
            reserve0: U256::from(a),
            reserve1: U256::from(a) * U256::from(2),
            factory: FactoryId(f),
        }
    }

    fn snapshot() -> PoolSnapshot {
        PoolSnapshot::new(
            7,
            vec![factory(0), factory(1), factory(2)],
            vec![
                pool(0x10, 1, 2, 0),
                pool(0x11, 1, 2, 2),
                pool(0x12, 2, 3, 0),
                pool(0x13, 1, 3, 1),
            ],
        )
    }

    #[test]
    fn lookups() {
        let s = snapshot();
        assert_eq!(s.block(), 7);
        assert_eq!(s.factory_of_router(addr(0xe1)), Some(FactoryId(1)));
        assert_eq!(s.factory_of_router(addr(0xe9)), None);
        assert_eq!(s.pool_by_address(addr(0x12)), Some(PoolId(2)));
        assert_eq!(s.pool_by_address(addr(0x99)), None);
        assert_eq!(s.pool_for(FactoryId(2), addr(2), addr(1)), Some(PoolId(1)));
        assert_eq!(s.pool_for(FactoryId(1), addr(2), addr(1)), None);
        assert_eq!(s.pool_for(FactoryId(7), addr(2), addr(1)), None);
        let siblings: Vec<_> = s.pools_for_pair(addr(2), addr(1)).collect();
        assert_eq!(siblings, [PoolId(0), PoolId(1)]);
        assert_eq!(s.pools_for_pair(addr(4), addr(1)).count(), 0);
        assert_eq!(s.pool(PoolId(3)).address, addr(0x13));
        assert_eq!(s.get(PoolId(4)), None);
    }

    #[test]
    fn with_reserves_replaces_only_named_pools() {
        let s = snapshot();
        let t = s.with_reserves(8, &[(PoolId(1), U256::from(5), U256::from(6))]);
        assert_eq!(t.block(), 8);
        assert_eq!(
            (t.pool(PoolId(1)).reserve0, t.pool(PoolId(1)).reserve1),
            (U256::from(5), U256::from(6))
        );
        assert_eq!(t.pool(PoolId(0)), s.pool(PoolId(0)));
        assert_eq!(
            s.pool(PoolId(1)).reserve0,
            U256::from(0x11),
            "the original is untouched"
        );
        assert_eq!(t.pool_for(FactoryId(2), addr(1), addr(2)), Some(PoolId(1)));
    }

    #[test]
    fn orientation() {
        let p = pool(0x10, 1, 2, 0);
        assert_eq!(
            p.oriented(addr(1)),
            Some((U256::from(0x10), U256::from(0x20)))
        );
        assert_eq!(
            p.oriented(addr(2)),
            Some((U256::from(0x20), U256::from(0x10)))
        );
        assert_eq!(p.oriented(addr(3)), None);
        assert_eq!(p.other(addr(2)), Some(addr(1)));
    }

    #[test]
    #[should_panic(expected = "two pools for one pair")]
    fn duplicate_pair_on_a_factory_panics() {
        PoolSnapshot::new(
            1,
            vec![factory(0)],
            vec![pool(0x10, 1, 2, 0), pool(0x11, 2, 1, 0)],
        );
    }

    #[test]
    #[should_panic(expected = "unknown factory")]
    fn unknown_factory_panics() {
        PoolSnapshot::new(1, vec![factory(0)], vec![pool(0x10, 1, 2, 3)]);
    }
}
