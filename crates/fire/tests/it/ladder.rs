//! Every ladder transaction decodes with alloy, recovers to our signer, carries the parameters
//! given, and pays out only above its floor; `pick` picks the largest floor the profit covers.

use std::sync::LazyLock;

use alloy_consensus::{Transaction, TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, TxKind, U256, keccak256};
use alloy_sol_types::{SolCall, sol};
use kestrel_fire::{Cycle, Ladder, LadderParams, LocalSigner};
use proptest::prelude::*;

sol! {
    function backrun(address poolBuy, address poolSell, uint256 feeNumBuy, uint256 feeNumSell,
        uint256 minProfit, uint256 paymentBps);
}

/// anvil's account 0, a published key.
const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ANVIL_0: Address = alloy_primitives::address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

fn params() -> LadderParams {
    LadderParams {
        chain_id: 11_155_111,
        nonce: 42,
        block: 7_000_000,
        max_fee_per_gas: 30_000_000_000,
        max_priority_fee_per_gas: 2_000_000_000,
        gas_limit: 350_000,
        executor: Address::repeat_byte(0xee),
        payment_bps: 9_000,
        min_profit: U256::from(10_000_000_000_000u64),
        levels: 6,
        step_bps: 2_500,
    }
}

fn cycles() -> Vec<Cycle> {
    (1u8..=3)
        .map(|i| Cycle {
            pool_buy: Address::repeat_byte(i),
            pool_sell: Address::repeat_byte(0x80 + i),
            fee_buy: 997,
            fee_sell: 9970 + u32::from(i),
        })
        .collect()
}

static LADDER: LazyLock<Ladder> = LazyLock::new(|| {
    Ladder::build(&LocalSigner::from_hex(KEY).unwrap(), &params(), &cycles()).unwrap()
});

#[test]
fn signer_address_is_the_published_one() {
    assert_eq!(LocalSigner::from_hex(KEY).unwrap().address(), ANVIL_0);
}

#[test]
fn every_tx_decodes_recovers_and_carries_its_floor() {
    let (p, ladder) = (params(), &*LADDER);
    assert_eq!(
        (ladder.block(), ladder.nonce(), ladder.floors().len()),
        (p.block, p.nonce, 6)
    );
    for (ci, cycle) in cycles().iter().enumerate() {
        let txs = ladder.cycle_txs(ci as u32);
        assert_eq!(txs.len(), ladder.floors().len());
        for (signed, &floor) in txs.iter().zip(ladder.floors()) {
            assert_eq!(signed.hash, keccak256(&signed.raw));
            let env = TxEnvelope::decode_2718(&mut signed.raw.as_slice()).unwrap();
            let TxEnvelope::Eip1559(tx) = &env else {
                panic!("not EIP-1559: {env:?}")
            };
            assert_eq!(*tx.hash(), signed.hash);
            assert_eq!(env.recover_signer().unwrap(), ANVIL_0);
            let t = tx.tx();
            assert_eq!(
                (t.chain_id, t.nonce, t.gas_limit),
                (p.chain_id, p.nonce, p.gas_limit)
            );
            assert_eq!(
                (t.max_fee_per_gas, t.max_priority_fee_per_gas),
                (p.max_fee_per_gas, p.max_priority_fee_per_gas)
            );
            assert_eq!((t.to, t.value), (TxKind::Call(p.executor), U256::ZERO));
            let call = backrunCall::abi_decode(env.input()).unwrap();
            assert_eq!(
                (call.poolBuy, call.poolSell),
                (cycle.pool_buy, cycle.pool_sell)
            );
            assert_eq!(
                (call.feeNumBuy, call.feeNumSell),
                (U256::from(cycle.fee_buy), U256::from(cycle.fee_sell))
            );
            assert_eq!(call.minProfit, floor);
            assert_eq!(call.paymentBps, U256::from(p.payment_bps));
        }
    }
}

#[test]
fn cycles_are_found_by_their_pools_only() {
    for (i, c) in cycles().iter().enumerate() {
        assert_eq!(LADDER.cycle_index(c.pool_buy, c.pool_sell), Some(i as u32));
        assert_eq!(
            LADDER.cycle_index(c.pool_sell, c.pool_buy),
            None,
            "direction matters"
        );
    }
    assert_eq!(LADDER.cycle_count(), 3);
}

#[test]
fn pick_edges() {
    let floors = LADDER.floors();
    assert!(LADDER.pick(0, floors[0] - U256::ONE).is_none());
    assert_eq!(LADDER.pick(0, floors[0]).map(|(_, f)| f), Some(floors[0]));
    assert_eq!(LADDER.pick(2, U256::MAX).map(|(_, f)| f), Some(floors[5]));
    assert!(LADDER.pick(3, U256::MAX).is_none(), "unknown cycle");
    assert!(LADDER.pick(u32::MAX, U256::MAX).is_none());
}

proptest! {
    #[test]
    fn pick_returns_the_largest_floor_at_or_below_profit(
        cycle in 0u32..3,
        // Floors span 1e13..~3.1e13: most profits land around them, some anywhere in u128.
        near in 5_000_000_000_000u64..40_000_000_000_000,
        far in any::<u128>(),
        use_far in proptest::bool::weighted(0.2),
    ) {
        let profit = if use_far { U256::from(far) } else { U256::from(near) };
        let floors = LADDER.floors();
        let expected = floors.iter().copied().filter(|f| *f <= profit).max();
        let picked = LADDER.pick(cycle, profit);
        prop_assert_eq!(picked.map(|(_, f)| f), expected);
        if let Some((tx, floor)) = picked {
            let env = TxEnvelope::decode_2718(&mut tx.raw.as_slice()).unwrap();
            let call = backrunCall::abi_decode(env.input()).unwrap();
            prop_assert_eq!(call.minProfit, floor);
            prop_assert_eq!(call.poolBuy, cycles()[cycle as usize].pool_buy);
        }
    }
}
