//! Victim then backrun on the Uniswap V2 world deployed inside revm from the real bytecode: the
//! executor's profit matches the exact integer AMM math, and a simulator that starts from an
//! empty snapshot and re-fetches each miss from the local chain converges on the same result.

use std::sync::Arc;

use alloy::primitives::U256;
use kestrel_dex::math::{get_amount_out, optimal_cycle_input};
use kestrel_sim::devnet::v2::mapping_slot;
use kestrel_sim::{ChainRules, Miss, Simulator, SnapshotBuilder, TxOutcome, TxStatus};

use crate::support::{COINBASE, ETHER, complete_for, next_block, world_with_sequence};

/// WETH9 keeps `balanceOf` at slot 3.
const WETH_BALANCES_SLOT: u64 = 3;

#[test]
fn backrun_profit_in_revm_equals_the_integer_amm_math() {
    let (w, txs) = world_with_sequence();
    let weth = w.world.weth;
    let token = w.world.tokens[0];
    let executor = w.world.executor;
    let (pool0, pool1) = (
        w.world.pair(0, token).unwrap(),
        w.world.pair(1, token).unwrap(),
    );
    let mut sim = Simulator::new(Arc::clone(&w.snapshot), ChainRules::SEPOLIA_PRAGUE);
    let outcomes: Vec<TxOutcome> = sim.run(&next_block(2), &txs).unwrap().to_vec();
    assert_eq!(outcomes[0].status, TxStatus::Success, "{:?}", outcomes[0]);
    assert_eq!(outcomes[1].status, TxStatus::Success, "{:?}", outcomes[1]);

    // Reference: both pools start at 100 WETH / 100 000 T; the victim buys with 5 ETH on
    // pool 0; the executor buys T on pool 1 and sells it on pool 0, sized by the closed form.
    let (x, y) = (U256::from(100 * ETHER), U256::from(100_000 * ETHER));
    let victim_in = U256::from(5 * ETHER);
    let victim_out = get_amount_out(victim_in, x, y, 997).unwrap();
    let (x0, y0) = (x + victim_in, y - victim_out);
    let amount_in = optimal_cycle_input(x, y, y0, x0, 997, 997);
    assert!(amount_in > U256::ZERO);
    let mid = get_amount_out(amount_in, x, y, 997).unwrap();
    let back = get_amount_out(mid, y0, x0, 997).unwrap();
    let profit = back - amount_in;
    let capital = U256::from(50 * ETHER);
    assert_eq!(sim.erc20_balance(weth, executor).unwrap(), capital + profit);
    assert_eq!(
        sim.storage(weth, mapping_slot(executor, WETH_BALANCES_SLOT))
            .unwrap(),
        capital + profit
    );
    // The pools' WETH balances moved by exactly the trades.
    assert_eq!(
        sim.erc20_balance(weth, pool0).unwrap(),
        x0 - back,
        "pool 0 WETH"
    );
    assert_eq!(sim.erc20_balance(weth, pool1).unwrap(), x + amount_in);
    // Logs: the victim's swap emits Transfer, Sync and Swap among others; the backrun ends
    // with the executor's Backrun event.
    assert!(outcomes[0].logs.len() >= 4);
    assert_eq!(outcomes[1].logs.last().unwrap().address, executor);
    // The snapshot itself is untouched: the next run starts from it again.
    let again: Vec<TxOutcome> = sim.run(&next_block(2), &txs).unwrap().to_vec();
    assert_eq!(again, outcomes);
}

#[test]
fn refetching_every_miss_from_an_empty_snapshot_converges_on_the_full_result() {
    let (w, txs) = world_with_sequence();
    let block = next_block(2);
    let mut full = Simulator::new(Arc::clone(&w.snapshot), ChainRules::SEPOLIA_PRAGUE);
    let expected: Vec<TxOutcome> = full.run(&block, &txs).unwrap().to_vec();

    let mut builder = SnapshotBuilder::new(1);
    builder.absent(COINBASE);
    let (snapshot, seen) = complete_for(&w.chain, Arc::new(builder.build()), &block, &txs);
    let mut sim = Simulator::new(Arc::clone(&snapshot), ChainRules::SEPOLIA_PRAGUE);
    assert_eq!(sim.run(&block, &txs).unwrap(), expected.as_slice());
    // Every kind of lookup the swaps make showed up: accounts and slots, each exactly once
    // (`complete_for` checks that), and they are exactly what the snapshot now holds.
    assert!(seen.iter().any(|m| matches!(m, Miss::Account(_))));
    assert!(seen.iter().any(|m| matches!(m, Miss::Storage(..))));
    let slots = seen
        .iter()
        .filter(|m| matches!(m, Miss::Storage(..)))
        .count();
    assert_eq!(snapshot.slot_count(), slots);
    assert!(snapshot.slot_count() < w.snapshot.slot_count());
}
