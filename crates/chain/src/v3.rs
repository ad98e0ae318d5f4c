//! Uniswap V3 pools from the node: discovery for the configured factories and fee tiers, each
//! pool's whole swap state read at one block, and exact sync from the pools' logs.
//!
//! Data flow: at start, [`Chain::discover_v3_pools`] (`PoolCreated` logs over a block range) or
//! [`Chain::find_v3_pools`] (`getPool` for a token set) gives the pools' [`V3PoolKey`]s, and
//! [`Chain::load_v3_pools`] reads each pool at ONE block: slot0, liquidity, fee, tick spacing,
//! every non-zero `tickBitmap` word in the range the spacing allows and `ticks(t)` for every bit
//! set, into a [`V3Snapshot`]. On every new head, [`Chain::advance_v3`] applies the new block's
//! `Swap`, `Mint` and `Burn` logs with [`V3Pool::apply`] in (block, log index) order, or reads
//! every pool again when the head is not a child of the last one (a reorg, or missed heads),
//! like the V2 path in the engine.
//!
//! Reads are plain `eth_call`s pinned to the block, a bounded number in flight, so this works on
//! any node: no Multicall contract needs to be deployed.
//!
//! Only `Swap`, `Mint` and `Burn` change what a swap sees. `Flash` moves only the fee growth and
//! the protocol fees, `Collect` and `CollectProtocol` only what positions and the protocol are
//! owed, and `IncreaseObservationCardinalityNext` only the oracle: none of them is in a
//! [`V3Pool`]. `SetFeeProtocol` changes `slot0.feeProtocol`, which no log carries in full, so a
//! pool that logs it is read again at the new block.
//!
//! **Invariant:** a synced snapshot equals a fresh load at its block, to the field: slot0,
//! liquidity, every tick's gross and net liquidity, the bitmap.

use std::ops::RangeInclusive;

use alloy::eips::BlockId;
use alloy::primitives::aliases::{I24, U24};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, FilterBlockOption, Log, TransactionInput, TransactionRequest};
use alloy::sol;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use futures_util::{StreamExt, TryStreamExt};
use kestrel_dex::v3::tick_bitmap::BitmapWord;
use kestrel_dex::v3::tick_math::MAX_TICK;
use kestrel_dex::v3::{Slot0, TickInfo, V3Event, V3Pool, V3PoolKey};

use crate::{Chain, ChainError, HeadInfo, transport};

sol! {
    interface IUniswapV3Factory {
        event PoolCreated(address indexed token0, address indexed token1, uint24 indexed fee, int24 tickSpacing, address pool);
        function getPool(address tokenA, address tokenB, uint24 fee) external view returns (address pool);
        function feeAmountTickSpacing(uint24 fee) external view returns (int24);
    }
    interface IUniswapV3Pool {
        event Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick);
        event Mint(address sender, address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1);
        event Burn(address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1);
        event SetFeeProtocol(uint8 feeProtocol0Old, uint8 feeProtocol1Old, uint8 feeProtocol0New, uint8 feeProtocol1New);
        function token0() external view returns (address);
        function token1() external view returns (address);
        function fee() external view returns (uint24);
        function tickSpacing() external view returns (int24);
        function liquidity() external view returns (uint128);
        function slot0() external view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint8 feeProtocol, bool unlocked);
        function tickBitmap(int16 wordPosition) external view returns (uint256);
        function ticks(int24 tick) external view returns (uint128 liquidityGross, int128 liquidityNet, uint256 feeGrowthOutside0X128, uint256 feeGrowthOutside1X128, int56 tickCumulativeOutside, uint160 secondsPerLiquidityOutsideX128, uint32 secondsOutside, bool initialized);
    }
}

/// `eth_call`s one pool load keeps in flight.
const READ_CONCURRENCY: usize = 32;

/// Pools loaded at once (each with up to [`READ_CONCURRENCY`] reads in flight).
const POOL_CONCURRENCY: usize = 4;

/// Blocks per `eth_getLogs` request; many providers refuse wider ranges.
const LOG_BLOCK_RANGE: u64 = 10_000;

/// Pool addresses per `eth_getLogs` filter.
const LOG_ADDRESS_CHUNK: usize = 256;

/// Most tokens [`Chain::find_v3_pools`] takes: it makes one `getPool` per pair and fee tier.
pub const MAX_FIND_TOKENS: usize = 64;

/// Most blocks one [`Chain::sync_v3`] applies; past that, reading the pools again is cheaper.
pub const MAX_SYNC_BLOCKS: u64 = LOG_BLOCK_RANGE;

/// One configured V3 factory: where to look and which fee tiers to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3FactoryInfo {
    /// The factory contract.
    pub address: Address,
    /// keccak256 of the pool creation code: every pool found must sit at the CREATE2 address
    /// it gives, or the configuration names the wrong factory or hash.
    pub pool_init_code_hash: B256,
    /// Fee tiers in pips; pools of other tiers are left out.
    pub fee_tiers: Vec<u32>,
}

/// Every loaded V3 pool at one block. Immutable: sync returns a new one, and pools that did not
/// change share their tick tables with the previous snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3Snapshot {
    block: u64,
    /// Sorted by address, no duplicates.
    pools: Vec<V3Pool>,
}

impl V3Snapshot {
    /// A snapshot of `pools` as of `block`; a pool listed twice is kept once (the last).
    pub fn new(block: u64, mut pools: Vec<V3Pool>) -> Self {
        pools.reverse();
        pools.sort_by_key(V3Pool::address);
        pools.dedup_by_key(|p| p.address());
        Self { block, pools }
    }

    /// The block whose state this is.
    pub fn block(&self) -> u64 {
        self.block
    }

    /// Every pool, sorted by address.
    pub fn pools(&self) -> &[V3Pool] {
        &self.pools
    }

    /// The pool at `address`, if loaded.
    pub fn pool(&self, address: Address) -> Option<&V3Pool> {
        self.index_of(address).and_then(|i| self.pools.get(i))
    }

    fn index_of(&self, address: Address) -> Option<usize> {
        self.pools
            .binary_search_by_key(&address, V3Pool::address)
            .ok()
    }
}

/// What one sync step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3Sync {
    /// The pools at the new block.
    pub snapshot: V3Snapshot,
    /// `Swap`, `Mint` and `Burn` logs applied.
    pub events_applied: usize,
    /// Pools read again in full at the new block instead of updated from their logs (they
    /// logged `SetFeeProtocol`), sorted.
    pub reloaded: Vec<Address>,
    /// Whether every pool was read again (the new head was not a child of the last one).
    pub full_reload: bool,
}

/// The CREATE2 address of the `fee_pips` pool of two tokens (in either order), as the factory
/// deploys it: salt `keccak256(abi.encode(token0, token1, fee))`.
pub fn pool_address(
    factory: Address,
    (token_a, token_b): (Address, Address),
    fee_pips: u32,
    init_code_hash: B256,
) -> Address {
    let (token0, token1) = sorted(token_a, token_b);
    let salt = alloy::primitives::keccak256((token0, token1, U24::from(fee_pips)).abi_encode());
    factory.create2(salt, init_code_hash)
}

/// The `tickBitmap` word positions that can hold a usable tick of a pool with this spacing;
/// `None` for a spacing that is not positive.
pub fn bitmap_word_range(tick_spacing: i32) -> Option<RangeInclusive<i16>> {
    if tick_spacing <= 0 {
        return None;
    }
    // The usable ticks are the multiples of the spacing in [-MAX_TICK, MAX_TICK]; a word holds
    // 256 compressed ticks, and `>> 8` rounds down like the pool's `int16(tick >> 8)`.
    let last = (MAX_TICK / tick_spacing) >> 8;
    let first = (-(MAX_TICK / tick_spacing)) >> 8;
    // |MAX_TICK / spacing| >> 8 is at most 3466, so both fit in i16.
    Some(i16::try_from(first).ok()?..=i16::try_from(last).ok()?)
}

/// The ticks whose bits are set in `words`, in order (words sorted by position).
pub fn initialized_ticks(words: &[BitmapWord], tick_spacing: i32) -> Vec<i32> {
    let mut ticks = Vec::new();
    for &(word, bits) in words {
        let mut rest = bits;
        while !rest.is_zero() {
            let bit = rest.trailing_zeros();
            rest.set_bit(bit, false);
            // bit < 256, and the word came from `bitmap_word_range`, so this stays in range.
            let compressed = i32::from(word) * 256 + i32::try_from(bit).unwrap_or(0);
            ticks.push(compressed.saturating_mul(tick_spacing));
        }
    }
    ticks
}

/// One pool log as a snapshot update: `Swap`, `Mint` or `Burn`; `None` for any other log.
pub fn decode_event(log: &alloy::primitives::Log) -> Option<V3Event> {
    if let Ok(swap) = IUniswapV3Pool::Swap::decode_log(log) {
        return Some(V3Event::Swap {
            sqrt_price_x96: U256::from(swap.sqrtPriceX96),
            liquidity: swap.liquidity,
            tick: swap.tick.as_i32(),
        });
    }
    if let Ok(mint) = IUniswapV3Pool::Mint::decode_log(log) {
        return Some(V3Event::Mint {
            tick_lower: mint.tickLower.as_i32(),
            tick_upper: mint.tickUpper.as_i32(),
            amount: mint.amount,
        });
    }
    if let Ok(burn) = IUniswapV3Pool::Burn::decode_log(log) {
        return Some(V3Event::Burn {
            tick_lower: burn.tickLower.as_i32(),
            tick_upper: burn.tickUpper.as_i32(),
            amount: burn.amount,
        });
    }
    None
}

fn sorted(a: Address, b: Address) -> (Address, Address) {
    if a < b { (a, b) } else { (b, a) }
}

fn invalid(what: &'static str, detail: impl Into<String>) -> ChainError {
    ChainError::Invalid {
        what,
        detail: detail.into(),
    }
}

/// Where a log sits in the chain; logs apply in this order.
fn log_position(log: &Log) -> Result<(u64, u64), ChainError> {
    match (log.block_number, log.log_index) {
        (Some(block), Some(index)) => Ok((block, index)),
        _ => Err(invalid(
            "eth_getLogs",
            "a log without block number or index",
        )),
    }
}

impl Chain {
    /// One view call at `at`, decoded. A reply that does not decode (no contract there, or not
    /// a V3 contract) is [`ChainError::Invalid`].
    async fn view<C: SolCall>(
        &self,
        to: Address,
        call: C,
        at: BlockId,
        what: &'static str,
    ) -> Result<C::Return, ChainError> {
        let tx = TransactionRequest::default()
            .to(to)
            .input(TransactionInput::new(call.abi_encode().into()));
        let out = self
            .provider
            .call(tx)
            .block(at)
            .await
            .map_err(transport(what))?;
        C::abi_decode_returns(&out).map_err(|e| invalid(what, format!("{to}: {e}")))
    }

    /// Pools created by each factory in blocks `from..=to` (`PoolCreated` logs) in its
    /// configured fee tiers, at most `max_pools` per factory, earliest first. Every pool must
    /// sit at its CREATE2 address.
    pub async fn discover_v3_pools(
        &self,
        factories: &[V3FactoryInfo],
        from: u64,
        to: u64,
        max_pools: usize,
    ) -> Result<Vec<V3PoolKey>, ChainError> {
        let mut keys = Vec::new();
        for factory in factories {
            // An empty topic filter would match every tier.
            if factory.fee_tiers.is_empty() {
                continue;
            }
            let tiers: Vec<B256> = factory
                .fee_tiers
                .iter()
                .map(|&fee| B256::from(U256::from(fee)))
                .collect();
            let mut found = 0usize;
            let mut start = from;
            while start <= to && found < max_pools {
                let end = to.min(start.saturating_add(LOG_BLOCK_RANGE - 1));
                let filter = Filter::new()
                    .from_block(start)
                    .to_block(end)
                    .address(factory.address)
                    .event_signature(IUniswapV3Factory::PoolCreated::SIGNATURE_HASH)
                    .topic3(tiers.clone());
                let mut logs = self
                    .provider
                    .get_logs(&filter)
                    .await
                    .map_err(transport("eth_getLogs"))?;
                logs.sort_by_key(|l| (l.block_number, l.log_index));
                for log in logs.iter().take(max_pools - found) {
                    keys.push(created_pool(factory, log)?);
                    found += 1;
                }
                start = end.saturating_add(1);
                if end == u64::MAX {
                    break;
                }
            }
        }
        Ok(keys)
    }

    /// The pools of every pair of `tokens` in each factory's fee tiers that exist at `block`
    /// (`getPool`), at most `max_pools` per factory, in (pair, tier) order with pairs in token
    /// address order. Tiers the factory
    /// has not enabled have no pools. At most [`MAX_FIND_TOKENS`] tokens.
    pub async fn find_v3_pools(
        &self,
        factories: &[V3FactoryInfo],
        tokens: &[Address],
        block: u64,
        max_pools: usize,
    ) -> Result<Vec<V3PoolKey>, ChainError> {
        if tokens.len() > MAX_FIND_TOKENS {
            let n = tokens.len();
            return Err(invalid(
                "find_v3_pools",
                format!("{n} tokens, at most {MAX_FIND_TOKENS}"),
            ));
        }
        let mut tokens = tokens.to_vec();
        tokens.sort_unstable();
        tokens.dedup();
        let at = BlockId::number(block);
        let mut keys = Vec::new();
        for factory in factories {
            let spacings = self.enabled_tiers(factory, at).await?;
            let mut candidates = Vec::new();
            for (i, &a) in tokens.iter().enumerate() {
                for &b in tokens.iter().skip(i + 1) {
                    candidates.extend(spacings.iter().map(|&(fee, spacing)| (a, b, fee, spacing)));
                }
            }
            let found: Vec<Option<V3PoolKey>> = futures_util::stream::iter(candidates)
                .map(|(a, b, fee, spacing)| self.get_pool(factory, (a, b), (fee, spacing), at))
                .buffered(READ_CONCURRENCY)
                .try_collect()
                .await?;
            keys.extend(found.into_iter().flatten().take(max_pools));
        }
        Ok(keys)
    }

    /// `(fee, tick spacing)` of each configured tier the factory has enabled at `at`.
    async fn enabled_tiers(
        &self,
        factory: &V3FactoryInfo,
        at: BlockId,
    ) -> Result<Vec<(u32, i32)>, ChainError> {
        let mut enabled = Vec::with_capacity(factory.fee_tiers.len());
        for &fee in &factory.fee_tiers {
            let call = IUniswapV3Factory::feeAmountTickSpacingCall {
                fee: U24::from(fee),
            };
            let spacing = self
                .view(factory.address, call, at, "feeAmountTickSpacing")
                .await?
                .as_i32();
            if spacing > 0 {
                enabled.push((fee, spacing));
            } else {
                tracing::info!(factory = %factory.address, fee, "fee tier not enabled");
            }
        }
        Ok(enabled)
    }

    /// `getPool` for one pair and tier; `None` when the pool does not exist.
    async fn get_pool(
        &self,
        factory: &V3FactoryInfo,
        (token_a, token_b): (Address, Address),
        (fee, tick_spacing): (u32, i32),
        at: BlockId,
    ) -> Result<Option<V3PoolKey>, ChainError> {
        let call = IUniswapV3Factory::getPoolCall {
            tokenA: token_a,
            tokenB: token_b,
            fee: U24::from(fee),
        };
        let pool = self.view(factory.address, call, at, "getPool").await?;
        if pool == Address::ZERO {
            return Ok(None);
        }
        let (token0, token1) = sorted(token_a, token_b);
        let key = V3PoolKey {
            address: pool,
            token0,
            token1,
            fee_pips: fee,
            tick_spacing,
        };
        check_create2(factory, &key)?;
        Ok(Some(key))
    }

    /// The immutables of the pool at `pool`, read at `block`.
    pub async fn v3_pool_key(&self, pool: Address, block: u64) -> Result<V3PoolKey, ChainError> {
        self.key_at(pool, BlockId::number(block)).await
    }

    async fn key_at(&self, pool: Address, at: BlockId) -> Result<V3PoolKey, ChainError> {
        let (token0, token1, fee, spacing) = futures_util::try_join!(
            self.view(pool, IUniswapV3Pool::token0Call {}, at, "token0"),
            self.view(pool, IUniswapV3Pool::token1Call {}, at, "token1"),
            self.view(pool, IUniswapV3Pool::feeCall {}, at, "fee"),
            self.view(pool, IUniswapV3Pool::tickSpacingCall {}, at, "tickSpacing"),
        )?;
        Ok(V3PoolKey {
            address: pool,
            token0,
            token1,
            fee_pips: fee.to(),
            tick_spacing: spacing.as_i32(),
        })
    }

    /// Every pool of `keys` read at `block`, all at that one block. Pools not initialized yet
    /// (no price) are left out.
    pub async fn load_v3_pools(
        &self,
        keys: &[V3PoolKey],
        block: u64,
    ) -> Result<V3Snapshot, ChainError> {
        let pools = self.load_all(keys, BlockId::number(block)).await?;
        Ok(V3Snapshot::new(block, pools))
    }

    /// One pool's whole swap state at `block`, or `None` if it is not initialized yet.
    pub async fn load_v3_pool(
        &self,
        key: &V3PoolKey,
        block: u64,
    ) -> Result<Option<V3Pool>, ChainError> {
        self.load_at(key, BlockId::number(block)).await
    }

    /// Every pool of `snap` read again at `block` (after a reorg, when logs of the old branch
    /// cannot be trusted).
    pub async fn reload_v3(&self, snap: &V3Snapshot, block: u64) -> Result<V3Snapshot, ChainError> {
        self.reload_at(snap, block, BlockId::number(block)).await
    }

    async fn reload_at(
        &self,
        snap: &V3Snapshot,
        block: u64,
        at: BlockId,
    ) -> Result<V3Snapshot, ChainError> {
        let keys: Vec<V3PoolKey> = snap.pools.iter().map(|p| *p.key()).collect();
        let pools = self.load_all(&keys, at).await?;
        if pools.len() != keys.len() {
            return Err(invalid(
                "reload_v3",
                "a loaded pool is no longer initialized",
            ));
        }
        Ok(V3Snapshot::new(block, pools))
    }

    async fn load_all(&self, keys: &[V3PoolKey], at: BlockId) -> Result<Vec<V3Pool>, ChainError> {
        // Owned keys: a closure over `&V3PoolKey` makes the future's `Send` bound
        // higher-ranked, which `tokio::spawn` of a caller cannot prove.
        let loaded: Vec<Option<V3Pool>> = futures_util::stream::iter(keys.iter().copied())
            .map(|key| async move { self.load_at(&key, at).await })
            .buffered(POOL_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(loaded.into_iter().flatten().collect())
    }

    /// Reads the immutables (checked against `key`), slot0 and liquidity, then the bitmap
    /// words and the initialized ticks, and checks that the bitmap the snapshot derives from
    /// the ticks is the chain's.
    async fn load_at(&self, key: &V3PoolKey, at: BlockId) -> Result<Option<V3Pool>, ChainError> {
        let pool = key.address;
        let immutables = async {
            let actual = self.key_at(pool, at).await?;
            if actual != *key {
                let detail = format!("{pool} is {actual:?}, not {key:?}");
                return Err(invalid("load_v3_pool", detail));
            }
            Ok(())
        };
        let ((), slot0, liquidity) = futures_util::try_join!(
            immutables,
            self.view(pool, IUniswapV3Pool::slot0Call {}, at, "slot0"),
            self.view(pool, IUniswapV3Pool::liquidityCall {}, at, "liquidity"),
        )?;
        let spacing = key.tick_spacing;
        if slot0.sqrtPriceX96.is_zero() {
            return Ok(None);
        }
        let words = self.read_bitmap(pool, spacing, at).await?;
        let ticks = self
            .read_ticks(pool, &initialized_ticks(&words, spacing), at)
            .await?;
        let slot0 = Slot0 {
            sqrt_price_x96: U256::from(slot0.sqrtPriceX96),
            tick: slot0.tick.as_i32(),
            fee_protocol: slot0.feeProtocol,
        };
        let snapshot = V3Pool::new(*key, slot0, liquidity, ticks)
            .map_err(|e| invalid("load_v3_pool", format!("{pool} is inconsistent: {e}")))?;
        if snapshot.bitmap() != words.as_slice() {
            return Err(invalid(
                "load_v3_pool",
                format!("{pool}: the bitmap derived from its ticks is not the chain's"),
            ));
        }
        // The hot lane's quotes cross ticks through the table (slow lane work, done here).
        Ok(Some(snapshot.with_step_table()))
    }

    /// Every non-zero `tickBitmap` word of the pool, sorted by position.
    async fn read_bitmap(
        &self,
        pool: Address,
        tick_spacing: i32,
        at: BlockId,
    ) -> Result<Vec<BitmapWord>, ChainError> {
        let range = bitmap_word_range(tick_spacing).ok_or_else(|| {
            invalid(
                "tickBitmap",
                format!("{pool} has tick spacing {tick_spacing}"),
            )
        })?;
        let words: Vec<BitmapWord> = futures_util::stream::iter(range)
            .map(|word| async move {
                let call = IUniswapV3Pool::tickBitmapCall { wordPosition: word };
                let bits = self.view(pool, call, at, "tickBitmap").await?;
                Ok::<_, ChainError>((word, bits))
            })
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(words
            .into_iter()
            .filter(|(_, bits)| !bits.is_zero())
            .collect())
    }

    /// `ticks(t)` for each tick, which must be initialized.
    async fn read_ticks(
        &self,
        pool: Address,
        ticks: &[i32],
        at: BlockId,
    ) -> Result<Vec<TickInfo>, ChainError> {
        futures_util::stream::iter(ticks.iter().copied())
            .map(|tick| async move {
                let i24 = I24::try_from(tick)
                    .map_err(|_| invalid("ticks", format!("{pool}: tick {tick} out of range")))?;
                let info = self
                    .view(pool, IUniswapV3Pool::ticksCall { tick: i24 }, at, "ticks")
                    .await?;
                if !info.initialized {
                    return Err(invalid(
                        "ticks",
                        format!("{pool}: tick {tick} is in the bitmap but not initialized"),
                    ));
                }
                Ok(TickInfo {
                    tick,
                    liquidity_gross: info.liquidityGross,
                    liquidity_net: info.liquidityNet,
                })
            })
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await
    }

    /// The pools after blocks `snap.block() + 1 ..= to`: their `Swap`, `Mint` and `Burn` logs
    /// applied in (block, log index) order; a pool that logged `SetFeeProtocol` is read again
    /// at `to`. At most [`MAX_SYNC_BLOCKS`] blocks.
    ///
    /// A log that does not apply means the snapshot is not the chain's state: that is
    /// [`ChainError::Invalid`], and the caller should load every pool again.
    pub async fn sync_v3(&self, snap: &V3Snapshot, to: u64) -> Result<V3Sync, ChainError> {
        let from = snap.block.saturating_add(1);
        if to < from || to - from >= MAX_SYNC_BLOCKS {
            return Err(invalid(
                "sync_v3",
                format!("cannot sync {from}..={to} from block {}", snap.block),
            ));
        }
        let range = FilterBlockOption::Range {
            from_block: Some(from.into()),
            to_block: Some(to.into()),
        };
        self.sync_with(snap, range, to, BlockId::number(to)).await
    }

    /// Follows the head like the V2 path: a child of `head` (the head `snap` is at) is applied
    /// from its own logs, fetched by block hash; anything else (a block replaced at the same
    /// height, a missed parent, several blocks at once) may be a reorg, and every pool is read
    /// again at `new_head`, pinned by its hash.
    pub async fn advance_v3(
        &self,
        snap: &V3Snapshot,
        head: &HeadInfo,
        new_head: &HeadInfo,
    ) -> Result<V3Sync, ChainError> {
        if snap.block != head.number {
            return Err(invalid(
                "advance_v3",
                format!("snapshot at {} but head {}", snap.block, head.number),
            ));
        }
        let at = BlockId::hash(new_head.hash);
        if new_head.hash == head.hash {
            return Ok(V3Sync {
                snapshot: snap.clone(),
                events_applied: 0,
                reloaded: Vec::new(),
                full_reload: false,
            });
        }
        let extends =
            new_head.number == head.number.saturating_add(1) && new_head.parent_hash == head.hash;
        if extends {
            let range = FilterBlockOption::AtBlockHash(new_head.hash);
            return self.sync_with(snap, range, new_head.number, at).await;
        }
        tracing::info!(
            from = head.number,
            to = new_head.number,
            "head is not a child of ours: reloading V3 pools"
        );
        Ok(V3Sync {
            snapshot: self.reload_at(snap, new_head.number, at).await?,
            events_applied: 0,
            reloaded: Vec::new(),
            full_reload: true,
        })
    }

    /// Applies the pools' logs in `range` to `snap`, giving the snapshot at `block` (read at
    /// `at` where a pool must be read again).
    async fn sync_with(
        &self,
        snap: &V3Snapshot,
        range: FilterBlockOption,
        block: u64,
        at: BlockId,
    ) -> Result<V3Sync, ChainError> {
        let logs = self.pool_logs(snap, range).await?;
        let mut pools = snap.pools.clone();
        let mut reload = vec![false; pools.len()];
        let mut touched = vec![false; pools.len()];
        let mut events_applied = 0;
        for log in &logs {
            let Some(i) = snap.index_of(log.address()) else {
                continue;
            };
            let (Some(pool), Some(stale), Some(moved)) =
                (pools.get_mut(i), reload.get_mut(i), touched.get_mut(i))
            else {
                continue;
            };
            if *stale {
                continue;
            }
            if log.topic0() == Some(&IUniswapV3Pool::SetFeeProtocol::SIGNATURE_HASH) {
                *stale = true;
                continue;
            }
            let (number, index) = log_position(log)?;
            let address = log.address();
            // The filter asked for these topics only: a log that does not decode is corrupt.
            let event = decode_event(&log.inner).ok_or_else(|| {
                invalid(
                    "V3 log",
                    format!("{address} block {number} log {index} does not decode"),
                )
            })?;
            *pool = pool.apply(&event).map_err(|e| {
                invalid(
                    "V3 log",
                    format!("{address} block {number} log {index}: {event:?} does not apply: {e}"),
                )
            })?;
            *moved = true;
            events_applied += 1;
        }
        // A position change drops a pool's step table, and a swap moves the price away from
        // the boundaries it covers: compute it again for every pool a log changed.
        let changed = touched.iter().zip(&reload).map(|(t, stale)| *t && !*stale);
        for (pool, _) in pools.iter_mut().zip(changed).filter(|(_, c)| *c) {
            *pool = pool.clone().with_step_table();
        }
        let mut reloaded = Vec::new();
        for (pool, _) in pools.iter_mut().zip(&reload).filter(|(_, stale)| **stale) {
            let key = *pool.key();
            *pool = self
                .load_at(&key, at)
                .await?
                .ok_or_else(|| invalid("sync_v3", "a loaded pool is no longer initialized"))?;
            reloaded.push(pool.address());
        }
        Ok(V3Sync {
            snapshot: V3Snapshot { block, pools },
            events_applied,
            reloaded,
            full_reload: false,
        })
    }

    /// The state-changing logs of every pool of `snap` in `range`, in (block, log index) order.
    async fn pool_logs(
        &self,
        snap: &V3Snapshot,
        range: FilterBlockOption,
    ) -> Result<Vec<Log>, ChainError> {
        let topics = vec![
            IUniswapV3Pool::Swap::SIGNATURE_HASH,
            IUniswapV3Pool::Mint::SIGNATURE_HASH,
            IUniswapV3Pool::Burn::SIGNATURE_HASH,
            IUniswapV3Pool::SetFeeProtocol::SIGNATURE_HASH,
        ];
        let addresses: Vec<Address> = snap.pools.iter().map(V3Pool::address).collect();
        let mut logs = Vec::new();
        for chunk in addresses.chunks(LOG_ADDRESS_CHUNK) {
            let filter = Filter::new()
                .select(range)
                .address(chunk.to_vec())
                .event_signature(topics.clone());
            let got = self
                .provider
                .get_logs(&filter)
                .await
                .map_err(transport("eth_getLogs"))?;
            logs.extend(got.into_iter().filter(|l| !l.removed));
        }
        let mut keyed = logs
            .into_iter()
            .map(|log| Ok((log_position(&log)?, log)))
            .collect::<Result<Vec<_>, ChainError>>()?;
        keyed.sort_by_key(|(position, _)| *position);
        Ok(keyed.into_iter().map(|(_, log)| log).collect())
    }
}

/// The key of a `PoolCreated` log, checked against the factory's CREATE2 rule.
fn created_pool(factory: &V3FactoryInfo, log: &Log) -> Result<V3PoolKey, ChainError> {
    let created = IUniswapV3Factory::PoolCreated::decode_log(&log.inner)
        .map_err(|e| invalid("PoolCreated", format!("{}: {e}", factory.address)))?;
    let key = V3PoolKey {
        address: created.pool,
        token0: created.token0,
        token1: created.token1,
        fee_pips: created.fee.to(),
        tick_spacing: created.tickSpacing.as_i32(),
    };
    if key.token0 >= key.token1 || key.tick_spacing <= 0 {
        return Err(invalid("PoolCreated", format!("impossible pool {key:?}")));
    }
    check_create2(factory, &key)?;
    Ok(key)
}

fn check_create2(factory: &V3FactoryInfo, key: &V3PoolKey) -> Result<(), ChainError> {
    let expected = pool_address(
        factory.address,
        (key.token0, key.token1),
        key.fee_pips,
        factory.pool_init_code_hash,
    );
    if key.address != expected {
        return Err(invalid(
            "pool address",
            format!(
                "factory {} reports pool {} where CREATE2 with the configured init code hash \
                 gives {expected}: wrong factory or pool_init_code_hash",
                factory.address, key.address
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{address, b256};

    use super::*;

    /// Mainnet pools of the canonical factory, as deployed (Etherscan).
    #[test]
    fn pool_addresses_are_the_factorys_create2() {
        let factory = address!("0x1F98431c8aD98523631AE4a59f267346ea31F984");
        let hash = b256!("0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54");
        let usdc = address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
        let weth = address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");
        let wbtc = address!("0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599");
        let cases = [
            (
                (usdc, weth),
                500,
                address!("0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"),
            ),
            (
                (weth, usdc),
                3000,
                address!("0x8ad599c3A0ff1De082011EFDDc58f1908eb6e6D8"),
            ),
            (
                (wbtc, weth),
                3000,
                address!("0xCBCdF9626bC03E24f779434178A73a0B4bad62eD"),
            ),
        ];
        for (tokens, fee, pool) in cases {
            assert_eq!(pool_address(factory, tokens, fee, hash), pool, "{fee}");
        }
    }

    #[test]
    fn bitmap_words_cover_exactly_the_usable_ticks() {
        // 887272 / spacing compressed ticks each side, 256 per word, rounded down.
        assert_eq!(bitmap_word_range(1), Some(-3466..=3465));
        assert_eq!(bitmap_word_range(10), Some(-347..=346));
        assert_eq!(bitmap_word_range(60), Some(-58..=57));
        assert_eq!(bitmap_word_range(200), Some(-18..=17));
        assert_eq!(bitmap_word_range(0), None);
        assert_eq!(bitmap_word_range(-60), None);
    }

    #[test]
    fn set_bits_become_ticks_in_order() {
        let mut low = U256::ZERO;
        low.set_bit(0, true);
        low.set_bit(255, true);
        let words = [
            (-1i16, low),
            (0, U256::from(2u8)),
            (3, U256::from(1u8) << 7),
        ];
        // Word -1 holds compressed ticks -256..=-1; word 3 holds 768..=1023.
        assert_eq!(initialized_ticks(&words, 10), [-2560, -10, 10, 7750]);
        assert!(initialized_ticks(&[], 10).is_empty());
    }

    #[test]
    fn snapshots_keep_one_pool_per_address() {
        let key = |last: u8| V3PoolKey {
            address: Address::with_last_byte(last),
            token0: Address::with_last_byte(0xa0),
            token1: Address::with_last_byte(0xb0),
            fee_pips: 3000,
            tick_spacing: 60,
        };
        let pool = |last: u8, tick: i32| {
            let slot0 = Slot0 {
                sqrt_price_x96: kestrel_dex::v3::tick_math::get_sqrt_ratio_at_tick(tick).unwrap(),
                tick,
                fee_protocol: 0,
            };
            V3Pool::new(key(last), slot0, 0, Vec::new()).unwrap()
        };
        let snap = V3Snapshot::new(7, vec![pool(3, 0), pool(1, 0), pool(3, 60)]);
        assert_eq!(snap.block(), 7);
        let addresses: Vec<Address> = snap.pools().iter().map(V3Pool::address).collect();
        assert_eq!(addresses, [key(1).address, key(3).address]);
        // The later of two entries for one address wins.
        assert_eq!(snap.pool(key(3).address).map(V3Pool::tick), Some(60));
        assert!(snap.pool(key(2).address).is_none());
    }
}
