//! A pending transaction run alone ([`Confirmer::run_pending`]) on the Uniswap V2 world deployed
//! inside revm from the real bytecode (WETH9, v2-core, Router02). The pending transaction is the
//! victim's signed Router02 buy of 5 ETH on pool 0 (dev 2), as support's `victim_swap` signs it.
//!
//! What is proven:
//! - a swap from a sender the snapshot never saw runs through on the presumption alone, and its
//!   logs carry pool 0's `Sync` with exactly the reserves the same call leaves on the local chain
//!   (and its `Swap` with the amounts that moved them); the logs are those of a plain
//!   [`Simulator::run`] of the same swap from the known sender;
//! - a sender the snapshot holds is read from it: a nonce it contradicts makes the transaction
//!   invalid;
//! - bytes that are not exactly one signed transaction are a [`ConfirmError::Decode`] of index 0,
//!   and nothing runs;
//! - a swap whose minimum out is one wei above what the pool gives reverts, and that is an
//!   outcome (`Ok`, not a success), while the exact minimum goes through;
//! - a presumed sender spending WETH it was presumed not to hold is a miss on its balance entry;
//!   once the node answers that entry (zero), the same transaction is a plain revert.

use std::sync::Arc;

use alloy::primitives::{Address, U256};
use alloy::sol_types::{Revert, SolCall, SolError, SolEvent};
use kestrel_dex::math::get_amount_out;
use kestrel_sandbox::deploy::bindings::IUniswapV2Pair;
use kestrel_sim::devnet::LocalChain;
use kestrel_sim::devnet::v2::mapping_slot;
use kestrel_sim::revm::context::result::InvalidTransaction;
use kestrel_sim::{
    ConfirmError, Confirmer, Miss, SimError, SimTx, Simulator, SnapshotBuilder, StateSnapshot,
    TxDecodeError, TxOutcome, TxStatus,
};

use crate::support::{
    Call, ETHER, GWEI, RULES, RevmWorld, TOKEN_BALANCES_SLOT, WETH_BALANCES_SLOT, complete_for,
    dev_signer, next_block, plain_transfer, revm_world, sign, snapshot_without,
    swapExactTokensForTokensCall, victim_swap,
};

/// WETH the pending swap spends on pool 0.
const SWAP_IN_WEI: u128 = 5 * ETHER;

/// A nonce the victim's account has neither on the chain nor in the snapshot (it has 0).
const UNSEEN_NONCE: u64 = 7;

/// Uniswap V2's fee numerator over 1000.
const V2_FEE_NUM: u32 = 997;

/// The victim (dev 2), the sender of every pending transaction here.
fn victim() -> Address {
    dev_signer(2).address()
}

/// The revm world with its snapshot completed for the victim's 5 ETH buy at its chain nonce.
fn world() -> RevmWorld {
    let mut w = revm_world();
    let nonce = w.chain.nonce(victim());
    let swap = victim_swap(&w.world, U256::from(SWAP_IN_WEI), U256::ZERO, nonce);
    let txs = [SimTx::from_raw(&swap).unwrap()];
    let (snapshot, _) = complete_for(&w.chain, Arc::clone(&w.snapshot), &next_block(2), &txs);
    w.snapshot = snapshot;
    w
}

/// The world's snapshot as it was prefetched before the victim showed up: neither its account
/// nor its entry in the token it buys.
fn unseen_sender_snapshot(w: &RevmWorld) -> Arc<StateSnapshot> {
    let token = w.world.tokens[0];
    let balance_entry = mapping_slot(victim(), TOKEN_BALANCES_SLOT);
    let leave_out = [Miss::Account(victim()), Miss::Storage(token, balance_entry)];
    let snapshot = snapshot_without(&w.snapshot, &leave_out);
    assert!(!snapshot.contains_account(victim()));
    assert_eq!(snapshot.storage(token, balance_entry), Err(leave_out[1]));
    Arc::new(snapshot)
}

/// `run_pending` in block 2 from the victim, the outcome cloned off the confirmer.
fn run_pending(confirmer: &mut Confirmer, raw: &[u8]) -> Result<TxOutcome, ConfirmError> {
    confirmer
        .run_pending(&next_block(2), (raw, victim()))
        .cloned()
}

/// `(reserve0, reserve1)` of `pair` on the local chain, through its own `getReserves`.
fn chain_reserves(chain: &LocalChain, pair: Address) -> (U256, U256) {
    // A call commits (the caller's nonce moves): do it on a copy.
    let mut chain = chain.clone();
    let out = chain
        .call(
            Address::repeat_byte(0x77),
            pair,
            IUniswapV2Pair::getReservesCall {}.abi_encode().into(),
            U256::ZERO,
        )
        .unwrap();
    let r = IUniswapV2Pair::getReservesCall::abi_decode_returns(&out.output).unwrap();
    (U256::from(r.reserve0), U256::from(r.reserve1))
}

/// The one log of `event` that `pool` emitted.
fn only_event<E: SolEvent>(outcome: &TxOutcome, pool: Address) -> E {
    let mut found = outcome
        .logs
        .iter()
        .filter(|l| l.data.topics().first() == Some(&E::SIGNATURE_HASH));
    let log = found.next().expect("no such event");
    assert!(found.next().is_none(), "{} emitted twice", E::SIGNATURE);
    assert_eq!(log.address, pool, "{} from another contract", E::SIGNATURE);
    E::decode_log_data(&log.data).unwrap()
}

#[test]
fn a_swap_from_an_unseen_sender_reports_the_sync_the_chain_then_has() {
    let w = world();
    let (weth, token) = (w.world.weth, w.world.tokens[0]);
    let pool = w.world.pair(0, token).unwrap();
    let raw = victim_swap(&w.world, U256::from(SWAP_IN_WEI), U256::ZERO, UNSEEN_NONCE);
    let mut confirmer = Confirmer::new(unseen_sender_snapshot(&w), RULES);
    let outcome = run_pending(&mut confirmer, &raw).unwrap();
    assert_eq!(outcome.status, TxStatus::Success, "{outcome:?}");
    // It went through the presumption: its token entry read as zero, and nothing missed.
    let sim = confirmer.simulator();
    let balance_entry = mapping_slot(victim(), TOKEN_BALANCES_SLOT);
    assert_eq!(sim.presumed_slot(), Some((token, balance_entry)));
    assert_eq!(sim.misses().total(), 0);

    // The same call on the local chain itself (the node's view of what it does to the pool).
    let before = chain_reserves(&w.chain, pool);
    let mut chain = w.chain.clone();
    let env = SimTx::from_raw(&raw).unwrap().env().clone();
    let to = env.kind.to().copied().unwrap();
    chain.call(victim(), to, env.data, env.value).unwrap();
    let after = chain_reserves(&chain, pool);
    assert_ne!(after, before, "the swap did not move the pool");

    let sync: IUniswapV2Pair::Sync = only_event(&outcome, pool);
    assert_eq!(
        (U256::from(sync.reserve0), U256::from(sync.reserve1)),
        after
    );
    // The Swap event accounts for the move: WETH in, the token out, to the victim.
    let swap: IUniswapV2Pair::Swap = only_event(&outcome, pool);
    let weth_is_0 = weth < token;
    let (weth_in, token_out) = if weth_is_0 {
        (swap.amount0In, swap.amount1Out)
    } else {
        (swap.amount1In, swap.amount0Out)
    };
    let (weth_before, token_before, weth_after, token_after) = if weth_is_0 {
        (before.0, before.1, after.0, after.1)
    } else {
        (before.1, before.0, after.1, after.0)
    };
    assert_eq!(weth_in, U256::from(SWAP_IN_WEI));
    assert_eq!(weth_after - weth_before, weth_in);
    assert_eq!(token_before - token_after, token_out);
    assert_eq!(swap.to, victim());

    // A plain run of the same swap from the sender the full snapshot knows logs the same.
    let known = victim_swap(
        &w.world,
        U256::from(SWAP_IN_WEI),
        U256::ZERO,
        w.chain.nonce(victim()),
    );
    let mut plain = Simulator::new(Arc::clone(&w.snapshot), RULES);
    let outcomes = plain
        .run(&next_block(2), &[SimTx::from_raw(&known).unwrap()])
        .unwrap();
    assert!(outcomes[0].is_success(), "{:?}", outcomes[0]);
    assert_eq!(outcome.logs, outcomes[0].logs);
}

#[test]
fn a_nonce_the_known_sender_does_not_have_is_invalid() {
    let w = world();
    let state = w.chain.nonce(victim());
    let (_, snapshot_nonce, _) = w.snapshot.account(victim()).unwrap().unwrap();
    assert_eq!(snapshot_nonce, state);
    let raw = victim_swap(
        &w.world,
        U256::from(SWAP_IN_WEI),
        U256::ZERO,
        state + UNSEEN_NONCE,
    );
    let mut confirmer = Confirmer::new(Arc::clone(&w.snapshot), RULES);
    assert_eq!(
        run_pending(&mut confirmer, &raw),
        Err(ConfirmError::Sim(SimError::Invalid {
            index: 0,
            reason: InvalidTransaction::NonceTooHigh {
                tx: state + UNSEEN_NONCE,
                state,
            },
        }))
    );
    // At the snapshot's nonce the same swap runs.
    let raw = victim_swap(&w.world, U256::from(SWAP_IN_WEI), U256::ZERO, state);
    assert!(run_pending(&mut confirmer, &raw).unwrap().is_success());
}

#[test]
fn bytes_that_are_not_one_signed_transaction_are_a_decode_error_of_index_0() {
    // Decoding comes before any run: an empty snapshot will do, and nothing may miss on it.
    let mut confirmer = Confirmer::new(Arc::new(SnapshotBuilder::new(1).build()), RULES);
    let signed = plain_transfer();
    let mut trailing = signed.to_vec();
    trailing.push(0);

    for garbage in [&[0xde, 0xad, 0xbe, 0xef][..], &[]] {
        let result = run_pending(&mut confirmer, garbage);
        assert!(
            matches!(
                result,
                Err(ConfirmError::Decode {
                    index: 0,
                    error: TxDecodeError::Decode(_),
                })
            ),
            "{garbage:?}: {result:?}"
        );
    }
    assert_eq!(
        run_pending(&mut confirmer, &trailing),
        Err(ConfirmError::Decode {
            index: 0,
            error: TxDecodeError::Trailing(1),
        })
    );
    assert_eq!(confirmer.simulator().misses().total(), 0);
    assert!(confirmer.simulator().outcomes().is_empty());
}

#[test]
fn a_swap_whose_min_out_is_one_wei_too_high_reverts_as_an_outcome() {
    let w = world();
    let (weth, token) = (w.world.weth, w.world.tokens[0]);
    let pool = w.world.pair(0, token).unwrap();
    let (r0, r1) = chain_reserves(&w.chain, pool);
    let (weth_reserve, token_reserve) = if weth < token { (r0, r1) } else { (r1, r0) };
    let out = get_amount_out(
        U256::from(SWAP_IN_WEI),
        weth_reserve,
        token_reserve,
        V2_FEE_NUM,
    )
    .unwrap();
    let mut confirmer = Confirmer::new(unseen_sender_snapshot(&w), RULES);

    // Exactly what the pool gives is accepted...
    let exact = victim_swap(&w.world, U256::from(SWAP_IN_WEI), out, UNSEEN_NONCE);
    let outcome = run_pending(&mut confirmer, &exact).unwrap();
    assert!(outcome.is_success(), "{outcome:?}");

    // ...one wei more is the router's revert, reported as the transaction's outcome.
    let above = victim_swap(
        &w.world,
        U256::from(SWAP_IN_WEI),
        out + U256::from(1),
        UNSEEN_NONCE,
    );
    let outcome = run_pending(&mut confirmer, &above).unwrap();
    assert!(!outcome.is_success());
    assert_eq!(outcome.status, TxStatus::Revert);
    assert!(outcome.logs.is_empty(), "{:?}", outcome.logs);
    assert!(
        outcome.gas_used > 21_000 && outcome.gas_used < 300_000,
        "{}",
        outcome.gas_used
    );
    assert_eq!(
        Revert::abi_decode(&outcome.output).unwrap().reason,
        "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT"
    );
    // The router checked the amount before any presumed entry was read: not a miss.
    let sim = confirmer.simulator();
    assert_eq!(sim.presumed_slot(), None);
    assert_eq!(sim.misses().total(), 0);
}

#[test]
fn spending_weth_presumed_not_held_is_a_miss_that_the_node_answer_turns_into_a_revert() {
    let w = world();
    let (weth, token) = (w.world.weth, w.world.tokens[0]);
    let snapshot = snapshot_without(&w.snapshot, &[Miss::Account(victim())]);
    let balance_entry = mapping_slot(victim(), WETH_BALANCES_SLOT);
    let miss = Miss::Storage(weth, balance_entry);
    assert_eq!(snapshot.storage(weth, balance_entry), Err(miss));
    // Router02 pulls the WETH with `transferFrom`, and WETH9 checks the balance first.
    let spend = swapExactTokensForTokensCall {
        amountIn: U256::from(ETHER),
        amountOutMin: U256::ZERO,
        path: vec![weth, token],
        to: victim(),
        deadline: U256::MAX,
    };
    let raw = sign(
        &dev_signer(2),
        Call {
            to: w.world.routers[0],
            data: spend.abi_encode().into(),
            value: U256::ZERO,
            nonce: UNSEEN_NONCE,
            gas_limit: 300_000,
            max_fee: 3 * GWEI,
            tip: GWEI,
        },
    );
    let snapshot = Arc::new(snapshot);
    let mut confirmer = Confirmer::new(Arc::clone(&snapshot), RULES);
    assert_eq!(
        run_pending(&mut confirmer, &raw),
        Err(ConfirmError::Sim(SimError::Miss { index: 0, miss }))
    );
    assert_eq!(confirmer.simulator().misses().pending(), &[miss]);

    // The node's answer (the victim holds no WETH on the chain): now a plain revert.
    let pending: Vec<Miss> = confirmer.simulator().misses_mut().drain().collect();
    let refetched = Arc::new(w.chain.refetch(&snapshot, &pending));
    assert_eq!(refetched.storage(weth, balance_entry), Ok(U256::ZERO));
    confirmer.set_snapshot(&refetched);
    let outcome = run_pending(&mut confirmer, &raw).unwrap();
    assert_eq!(outcome.status, TxStatus::Revert, "{outcome:?}");
    // Nothing missed this time (drains keep the count: still the first miss only).
    let sim = confirmer.simulator();
    assert!(sim.misses().pending().is_empty(), "{:?}", sim.misses());
    assert_eq!(sim.misses().total(), 1);
    assert_eq!(sim.presumed_slot(), None);
}
