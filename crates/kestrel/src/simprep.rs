//! The slow lane's side of revm confirmation: the head's [`StateSnapshot`], prefetched for every
//! watched pool, token, router and our executor, and grown by what simulations missed.
//!
//! - **First snapshot.** Accounts: our executor and searcher, WETH, the head's coinbase, every
//!   decoded router, every pool and token. Slots: the V3 pools' price state, ticks near the
//!   price and oracle slots, from `UniswapV3Pool`'s storage layout; the pools' token balances,
//!   from the node's access lists of `balanceOf(pool)` calls. Then a warm-up: our executor's `backrunRoute` is simulated in revm
//!   over one cycle through each pool (a small amount; it reverts on the profit check after
//!   every swap ran), and what it misses is fetched, round after round, until nothing misses.
//! - **Each new head.** Every account and slot of the last snapshot is read again at the new
//!   head, plus what the hot lane reported missing since.
//! - **Between heads.** Misses the hot lane reports are fetched at the same block and the state
//!   is published again with the grown snapshot, so the next victim through that state
//!   confirms.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use alloy::primitives::{Address, B256, Bytes, U256};
use anyhow::Context;
use kestrel_chain::prefetch::PrefetchCall;
use kestrel_chain::{Chain, HeadInfo};
use kestrel_dex::cycle::{PoolRef, PoolRegistry, V3Id};
use kestrel_fire::executor::{backrun_route_calldata_len, encode_backrun_route};
use kestrel_sim::revm::context::TxEnv;
use kestrel_sim::revm::primitives::TxKind;
use kestrel_sim::{
    ChainRules, Miss, NextBlock, SimTx, Simulator, StateSnapshot, balance_of_calldata, int_key,
    mapping_slot,
};
use kestrel_types::PoolId;

/// Warm-up rounds at most (each fetches what the previous round's runs missed).
const WARM_ROUNDS: usize = 48;
/// Representative backruns simulated in the warm-up, at most.
const WARM_CYCLES: usize = 128;
/// Misses the hot lane reported that wait for the slow lane, at most (more are dropped: they
/// come back the next time they miss).
pub const MISS_INBOX: usize = 4096;
/// Gas limit of a warm-up backrun.
const WARM_GAS: u64 = 2_000_000;

/// Misses reported by the hot lane, waiting to be fetched.
#[derive(Debug, Default)]
pub struct MissInbox(Mutex<Vec<Miss>>);

impl MissInbox {
    /// Queues a miss (dropped when the inbox is full or already holds it).
    pub fn push(&self, miss: Miss) {
        let mut q = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if q.len() < MISS_INBOX && !q.contains(&miss) {
            q.push(miss);
        }
    }

    /// Takes every queued miss.
    pub fn take(&self) -> Vec<Miss> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// What the slow lane needs to prefetch snapshots.
#[derive(Debug)]
pub struct SimPrep {
    /// Chain id and hardfork the simulations run with.
    pub rules: ChainRules,
    /// Our executor contract.
    pub executor: Address,
    /// The account that signs our backruns.
    pub searcher: Address,
    /// The capital token.
    pub weth: Address,
    /// Decoded routers (their storage and code are part of what victims run).
    pub routers: Vec<Address>,
    /// Misses the hot lane reported.
    pub inbox: Arc<MissInbox>,
}

/// What one snapshot build did, for the log.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrepReport {
    /// Accounts in the snapshot.
    pub accounts: usize,
    /// Slots in the snapshot.
    pub slots: usize,
    /// Warm-up rounds run (first snapshot only).
    pub warm_rounds: usize,
    /// Items the hot lane had reported missing, fetched into this snapshot.
    pub reported: usize,
}

/// The block a bundle on `head` targets, as revm needs it.
pub fn next_block(head: &HeadInfo) -> NextBlock {
    NextBlock {
        number: head.number + 1,
        // The earliest the next block can be: deadlines pass exactly when the analytic check
        // (`timestamp + 1`) says they do.
        timestamp: head.timestamp + 1,
        basefee: u64::try_from(head.next_base_fee).unwrap_or(u64::MAX),
        gas_limit: head.gas_limit,
        coinbase: head.beneficiary,
        prevrandao: head.prev_randao,
        excess_blob_gas: 0,
    }
}

impl SimPrep {
    /// The snapshot at `head`: the last one's accounts and slots read again (or, the first time,
    /// a prefetch and warm-up from scratch), plus whatever the hot lane reported missing.
    pub async fn snapshot(
        &self,
        chain: &Chain,
        head: &HeadInfo,
        reg: &PoolRegistry,
        previous: Option<&StateSnapshot>,
        (nonce, capital): (u64, U256),
    ) -> anyhow::Result<(StateSnapshot, PrepReport)> {
        let extra = self.accounts(head, reg);
        let reported = self.inbox.take();
        let mut report = PrepReport {
            reported: reported.len(),
            ..PrepReport::default()
        };
        let slots = v3_slots(reg, previous);
        let mut snapshot = match previous {
            Some(previous) => {
                chain
                    .prefetch_with_slots(head.number, &[], &extra, &slots, Some(previous))
                    .await
                    .context("prefetching the snapshot")?
                    .0
            }
            None => {
                let calls = self.view_calls(reg);
                let (first, _) = chain
                    .prefetch_with_slots(head.number, &calls, &extra, &slots, None)
                    .await
                    .context("prefetching the first snapshot")?;
                let (warm, rounds) = self
                    .warm_up(chain, first, reg, &next_block(head), (nonce, capital))
                    .await?;
                report.warm_rounds = rounds;
                warm
            }
        };
        if !reported.is_empty() {
            snapshot = chain
                .refetch(&snapshot, &reported)
                .await
                .context("fetching reported misses")?;
        }
        report.accounts = snapshot.account_count();
        report.slots = snapshot.slot_count();
        Ok((snapshot, report))
    }

    /// `snapshot` plus what the hot lane reported missing since it was built (same block);
    /// `None` when nothing was reported.
    pub async fn grow(
        &self,
        chain: &Chain,
        snapshot: &StateSnapshot,
    ) -> anyhow::Result<Option<StateSnapshot>> {
        let reported = self.inbox.take();
        if reported.is_empty() {
            return Ok(None);
        }
        let grown = chain
            .refetch(snapshot, &reported)
            .await
            .context("fetching reported misses")?;
        Ok(Some(grown))
    }

    /// Accounts every snapshot holds.
    fn accounts(&self, head: &HeadInfo, reg: &PoolRegistry) -> Vec<Address> {
        let mut set: BTreeSet<Address> =
            [self.executor, self.searcher, self.weth, head.beneficiary]
                .into_iter()
                .chain(self.routers.iter().copied())
                .collect();
        for pool in pools(reg) {
            set.extend(reg.address(pool));
            if let Some((t0, t1)) = reg.tokens(pool) {
                set.insert(t0);
                set.insert(t1);
            }
        }
        set.into_iter().collect()
    }

    /// View calls whose access lists name the slots swaps read first: each pool's balance of
    /// both its tokens, and the executor's WETH. (V3 price state comes from the pools' layout,
    /// V2 reserves from the warm-up.)
    fn view_calls(&self, reg: &PoolRegistry) -> Vec<PrefetchCall> {
        let balance_of = |token: Address, owner: Address| PrefetchCall {
            from: self.searcher,
            to: token,
            data: balance_of_calldata(owner),
            value: U256::ZERO,
        };
        let mut calls = vec![balance_of(self.weth, self.executor)];
        for pool in pools(reg) {
            if let (Some(address), Some((t0, t1))) = (reg.address(pool), reg.tokens(pool)) {
                calls.push(balance_of(t0, address));
                calls.push(balance_of(t1, address));
            }
        }
        calls
    }

    /// Simulates a small `backrunRoute` over one cycle through each pool until no run misses
    /// (or `WARM_ROUNDS`), fetching each round's misses. Returns the snapshot and the rounds.
    async fn warm_up(
        &self,
        chain: &Chain,
        mut snapshot: StateSnapshot,
        reg: &PoolRegistry,
        next: &NextBlock,
        (nonce, capital): (u64, U256),
    ) -> anyhow::Result<(StateSnapshot, usize)> {
        let amount = (capital / U256::from(1000)).max(U256::from(1));
        let txs = self.warm_txs(reg, amount, nonce, next.basefee);
        if txs.is_empty() {
            return Ok((snapshot, 0));
        }
        let txs = Arc::new(txs);
        for round in 0..WARM_ROUNDS {
            let shared = Arc::new(snapshot);
            let (rules, block, batch) = (self.rules, *next, Arc::clone(&txs));
            let sim_on = Arc::clone(&shared);
            let misses = tokio::task::spawn_blocking(move || {
                let mut sim = Simulator::new(sim_on, rules);
                let mut misses = Vec::new();
                for tx in batch.iter() {
                    if let Err(kestrel_sim::SimError::Miss { miss, .. }) =
                        sim.run(&block, std::slice::from_ref(tx))
                        && !misses.contains(&miss)
                    {
                        misses.push(miss);
                    }
                }
                misses
            })
            .await
            .context("warm-up simulation task")?;
            snapshot = Arc::unwrap_or_clone(shared);
            if misses.is_empty() {
                return Ok((snapshot, round));
            }
            snapshot = chain
                .refetch(&snapshot, &misses)
                .await
                .context("warm-up fetch")?;
        }
        tracing::warn!(
            rounds = WARM_ROUNDS,
            "revm warm-up still missing state; the hot lane will report the rest"
        );
        Ok((snapshot, WARM_ROUNDS))
    }

    /// One representative backrun per pool (the first cycle through it), signed by nobody:
    /// revm checks no signature.
    fn warm_txs(&self, reg: &PoolRegistry, amount: U256, nonce: u64, basefee: u64) -> Vec<SimTx> {
        let mut seen = BTreeSet::new();
        let mut txs = Vec::new();
        for pool in pools(reg) {
            if txs.len() >= WARM_CYCLES {
                break;
            }
            let mut route = None;
            let _ = reg.for_each_cycle(pool, |cycle| {
                route = kestrel_hot::cycle_route(reg, cycle);
                if route.is_some() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            let Some((hops, n)) = route else { continue };
            let route = &hops[..n];
            let key: Vec<Address> = route.iter().map(|h| h.pool).collect();
            if !seen.insert(key) {
                continue;
            }
            let mut data = vec![0u8; backrun_route_calldata_len(n)];
            let Ok(len) = encode_backrun_route(&mut data, route, amount, U256::ZERO, 0) else {
                continue;
            };
            data.truncate(len);
            let env = TxEnv {
                tx_type: 2,
                caller: self.searcher,
                gas_limit: WARM_GAS,
                gas_price: u128::from(basefee) * 2 + 1,
                gas_priority_fee: Some(1),
                kind: TxKind::Call(self.executor),
                data: Bytes::from(data),
                nonce,
                chain_id: Some(self.rules.chain_id),
                ..TxEnv::default()
            };
            txs.push(SimTx::from_env(env, B256::ZERO));
        }
        txs
    }
}

/// Initialized ticks prefetched on each side of a V3 pool's price: a swap crossing more finds
/// the rest missing (fetched for next time).
const TICKS_EACH_SIDE: usize = 16;

/// The storage a swap through each V3 pool reads, from `UniswapV3Pool`'s layout: `slot0` (0),
/// `feeGrowthGlobal0X128`/`1X128` (1, 2), `protocolFees` (3), `liquidity` (4), the four words
/// of each `ticks[t]` (mapping at 5) for the `TICKS_EACH_SIDE` initialized ticks on each side
/// of the price, the `tickBitmap` words (mapping at 6) that hold them, and the oracle
/// observations (array at 8) a swap reads and writes, from the last snapshot's `slot0`.
fn v3_slots(reg: &PoolRegistry, previous: Option<&StateSnapshot>) -> Vec<(Address, U256)> {
    let mut out = Vec::new();
    for pool in reg.v3_pools() {
        let a = pool.address();
        out.extend((0u64..=4).map(|s| (a, U256::from(s))));
        let ticks = pool.ticks();
        let at = ticks.partition_point(|t| t.tick <= pool.tick());
        let lo = at.saturating_sub(TICKS_EACH_SIDE);
        let hi = at.saturating_add(TICKS_EACH_SIDE).min(ticks.len());
        let spacing = pool.tick_spacing().max(1);
        let mut words = BTreeSet::new();
        for t in ticks.get(lo..hi).unwrap_or(&[]) {
            let base = mapping_slot(int_key(i64::from(t.tick)), 5);
            out.extend((0u64..4).map(|i| (a, base.wrapping_add(U256::from(i)))));
            words.insert(t.tick.div_euclid(spacing) >> 8);
        }
        // The current tick's own word, even with no initialized tick in it.
        words.insert(pool.tick().div_euclid(spacing) >> 8);
        for w in words {
            out.push((a, mapping_slot(int_key(i64::from(w)), 6)));
        }
        // slot0: observationIndex at bits 184..200, observationCardinalityNext at 216..232.
        if let Some(slot0) = previous.and_then(|p| p.storage(a, U256::ZERO).ok()) {
            let index = (slot0 >> 184usize).to::<u64>() & 0xffff;
            let next = ((slot0 >> 216usize).to::<u64>() & 0xffff).max(1);
            out.push((a, U256::from(8 + index)));
            out.push((a, U256::from(8 + (index + 1) % next)));
        } else {
            out.push((a, U256::from(8)));
        }
    }
    out
}

/// Every pool of the registry.
fn pools(reg: &PoolRegistry) -> impl Iterator<Item = PoolRef> + '_ {
    let v2 = (0..reg.v2().pools().len()).map(|i| PoolRef::V2(PoolId(i as u32)));
    let v3 = (0..reg.v3_pools().len()).map(|i| PoolRef::V3(V3Id(i as u32)));
    v2.chain(v3)
}
