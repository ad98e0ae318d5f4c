//! Route confirmation ([`Confirmer::confirm_route`]) on the Uniswap V2 world deployed inside revm
//! from the real bytecode (WETH9, v2-core, Router02 and our executor). The victim is a signed
//! Router02 buy of 5 ETH on pool 0; our backrun is a signed `backrunRoute` from the executor's
//! owner, WETH → T on pool 1 then T → WETH on pool 0, sized with `kestrel_dex::math`.
//!
//! What is proven:
//! - the analytic amount in and gross profit are confirmed to the wei (`Agreed`), with the gas a
//!   plain [`Simulator::run`] of the same two transactions reports; a prediction one wei off
//!   (profit either way, or amount in) is a disagreement that carries the true profit, and a
//!   `minProfit` one wei above the gross profit is a reverted backrun;
//! - a victim whose sender the snapshot lacks is confirmed all the same: the sender is presumed
//!   from its transaction alone (its nonce, a balance of exactly gas limit × fee cap + value, zero
//!   for its own entry in the token it buys); a sender the snapshot holds is read from the
//!   snapshot instead, so a nonce the snapshot contradicts makes the victim invalid;
//! - a pool slot missing from the snapshot is a [`SimError::Miss`] naming it, kept in the
//!   simulator's miss log, and refetching exactly what the log holds makes the same confirmation
//!   agree;
//! - a presumed victim that spends what it was presumed not to hold fails on that presumption,
//!   and this is a miss on its balance entry (`keccak256(victim . p)`), never a disagreement;
//!   spending a v2-core token it first misses on its allowance entry, which is not presumed;
//! - a pre-signed V2 `backrun` (the V2 lane's ladder) is confirmed the same way off its own
//!   `Backrun` log ([`Confirmer::confirm_backrun`] with [`BackrunEntry::Pair`]), and neither entry point's log is taken for the
//!   other's;
//! - bytes that are not exactly one signed transaction are a [`ConfirmError::Decode`] naming
//!   which transaction, and nothing runs.

use std::sync::Arc;

use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::sol_types::{Revert, SolCall, SolError, SolValue};
use kestrel_dex::math::{get_amount_out, optimal_cycle_input};
use kestrel_fire::executor::{
    BACKRUN_ROUTE_CALLDATA_MAX_LEN, HopKind, RouteHop, encode_backrun_route,
};
use kestrel_sandbox::deploy::bindings::IUniswapV2Router02;
use kestrel_sim::devnet::v2::mapping_slot;
use kestrel_sim::revm::context::result::InvalidTransaction;
use kestrel_sim::{
    BackrunEntry, ConfirmError, Confirmer, Miss, MissKind, RouteExpectation, RouteVerdict,
    SimError, SimTx, Simulator, SnapshotBuilder, StateSnapshot, TxDecodeError,
};

use crate::support::{
    self, BASE_FEE, COINBASE, Call, ETHER, GWEI, RULES, RevmWorld, TOKEN_BALANCES_SLOT,
    WETH_BALANCES_SLOT, complete_for, dev_signer, next_block, plain_transfer, revm_world, sign,
    snapshot_without, swapExactTokensForTokensCall, victim_swap,
};

/// WETH the victim spends on pool 0.
const VICTIM_IN_WEI: u128 = 5 * ETHER;

/// Gas limit, fee cap and tip the victims here are signed with (as support's `victim_swap`).
const VICTIM_GAS_LIMIT: u64 = 300_000;
const VICTIM_MAX_FEE: u128 = 3 * GWEI;
const VICTIM_TIP: u128 = GWEI;

/// Our backrun's tip (its gas limit is 400 000, its fee cap 3 gwei).
const BACKRUN_TIP: u128 = 2 * GWEI;

/// Uniswap V2's fee numerator over 1000.
const V2_FEE_NUM: u16 = 997;

/// A V2 pair's slot of the packed `reserve0`, `reserve1` and `blockTimestampLast`.
const PAIR_RESERVES_SLOT: u64 = 8;

/// v2-core's ERC20 keeps `allowance` at slot 2.
const TOKEN_ALLOWANCES_SLOT: u64 = 2;

/// What the integer AMM math says the victim and our backrun do.
#[derive(Debug, Clone, Copy)]
struct Prediction {
    /// T the victim buys.
    victim_out: U256,
    /// WETH our route spends.
    amount_in: U256,
    /// WETH it brings back beyond `amount_in`.
    profit_gross: U256,
}

/// Both pools start at 100 WETH / 100 000 T; the victim buys on pool 0, we buy T on pool 1 and
/// sell it on pool 0, sized by the closed form.
fn predict() -> Prediction {
    let fee = u32::from(V2_FEE_NUM);
    let (x, y) = (U256::from(100 * ETHER), U256::from(100_000 * ETHER));
    let victim_in = U256::from(VICTIM_IN_WEI);
    let victim_out = get_amount_out(victim_in, x, y, fee).unwrap();
    let (x0, y0) = (x + victim_in, y - victim_out);
    let amount_in = optimal_cycle_input(x, y, y0, x0, fee, fee);
    assert!(amount_in > U256::ZERO, "the victim leaves a cycle to take");
    let mid = get_amount_out(amount_in, x, y, fee).unwrap();
    let back = get_amount_out(mid, y0, x0, fee).unwrap();
    Prediction {
        victim_out,
        amount_in,
        profit_gross: back - amount_in,
    }
}

/// Our signed `backrunRoute`: WETH → T on pool 1, then T → WETH on pool 0.
fn route_backrun(w: &RevmWorld, amount_in: U256, min_profit: U256, payment_bps: u32) -> Bytes {
    let (weth, token) = (w.world.weth, w.world.tokens[0]);
    // A hop's input is the pool's token0 when it sorts first.
    let hop = |factory, zero_for_one| RouteHop {
        pool: w.world.pair(factory, token).unwrap(),
        kind: HopKind::V2 {
            fee_num: V2_FEE_NUM,
        },
        zero_for_one,
    };
    let route = [hop(1, weth < token), hop(0, token < weth)];
    let mut data = [0u8; BACKRUN_ROUTE_CALLDATA_MAX_LEN];
    let len = encode_backrun_route(&mut data, &route, amount_in, min_profit, payment_bps).unwrap();
    let searcher = dev_signer(1);
    sign(
        &searcher,
        Call {
            to: w.world.executor,
            data: Bytes::copy_from_slice(&data[..len]),
            value: U256::ZERO,
            nonce: w.chain.nonce(searcher.address()),
            gas_limit: 400_000,
            max_fee: 3 * GWEI,
            tip: BACKRUN_TIP,
        },
    )
}

/// A Router02 call from the victim (dev 2) on factory 0's router, signed as `victim_swap` is.
fn victim_call(w: &RevmWorld, data: Vec<u8>, nonce: u64) -> Bytes {
    sign(
        &dev_signer(2),
        Call {
            to: w.world.routers[0],
            data: data.into(),
            value: U256::ZERO,
            nonce,
            gas_limit: VICTIM_GAS_LIMIT,
            max_fee: VICTIM_MAX_FEE,
            tip: VICTIM_TIP,
        },
    )
}

/// The world with its snapshot completed for the victim's buy and our exact backrun.
struct Fixture {
    w: RevmWorld,
    /// The victim's buy at its snapshot nonce.
    victim: Bytes,
    prediction: Prediction,
}

impl Fixture {
    fn new() -> Fixture {
        let mut w = revm_world();
        let prediction = predict();
        let nonce = w.chain.nonce(dev_signer(2).address());
        let victim = victim_swap(&w.world, U256::from(VICTIM_IN_WEI), U256::ZERO, nonce);
        let backrun = route_backrun(&w, prediction.amount_in, U256::ZERO, 0);
        let txs = [
            SimTx::from_raw(&victim).unwrap(),
            SimTx::from_raw(&backrun).unwrap(),
        ];
        let (snapshot, _) = complete_for(&w.chain, Arc::clone(&w.snapshot), &next_block(2), &txs);
        w.snapshot = snapshot;
        Fixture {
            w,
            victim,
            prediction,
        }
    }

    /// The prediction as the confirmer takes it.
    fn expectation(&self) -> RouteExpectation {
        RouteExpectation {
            executor: self.w.world.executor,
            amount_in: self.prediction.amount_in,
            profit_gross: self.prediction.profit_gross,
        }
    }

    /// Our backrun of exactly the predicted amount, no profit floor, no payment.
    fn backrun(&self) -> Bytes {
        route_backrun(&self.w, self.prediction.amount_in, U256::ZERO, 0)
    }
}

fn confirmer(snapshot: &Arc<StateSnapshot>) -> Confirmer {
    Confirmer::new(Arc::clone(snapshot), RULES)
}

/// `confirm_route` in block 2 with the victim from dev 2 and the backrun from the searcher.
fn confirm(
    confirmer: &mut Confirmer,
    victim: &[u8],
    backrun: &[u8],
    expect: &RouteExpectation,
) -> Result<RouteVerdict, ConfirmError> {
    confirmer.confirm_route(
        &next_block(2),
        (victim, dev_signer(2).address()),
        (backrun, dev_signer(1).address()),
        expect,
    )
}

/// The transaction a [`ConfirmError::Decode`] names, when its bytes are not a transaction at all.
fn undecodable(result: Result<RouteVerdict, ConfirmError>) -> Option<usize> {
    match result {
        Err(ConfirmError::Decode {
            index,
            error: TxDecodeError::Decode(_),
        }) => Some(index),
        _ => None,
    }
}

/// Slot of `mapping(address => mapping(address => uint256))` at `position`, entry
/// `[owner][spender]` (v2-core's `allowance`).
fn nested_mapping_slot(owner: Address, spender: Address, position: u64) -> U256 {
    let inner = mapping_slot(owner, position);
    U256::from_be_bytes(keccak256((spender, inner).abi_encode_params()).0)
}

#[test]
fn the_exact_prediction_is_agreed_with_the_gas_of_a_plain_run() {
    let f = Fixture::new();
    // 10 % of the gross profit goes to the coinbase.
    let backrun = route_backrun(&f.w, f.prediction.amount_in, U256::ZERO, 1_000);
    let mut confirmer = confirmer(&f.w.snapshot);
    let verdict = confirm(&mut confirmer, &f.victim, &backrun, &f.expectation()).unwrap();

    let mut plain = Simulator::new(Arc::clone(&f.w.snapshot), RULES);
    let txs = [
        SimTx::from_raw(&f.victim).unwrap(),
        SimTx::from_raw(&backrun).unwrap(),
    ];
    let outcomes = plain.run(&next_block(2), &txs).unwrap();
    let (victim_gas, backrun_gas) = (outcomes[0].gas_used, outcomes[1].gas_used);
    // Different, so a verdict that swapped them would not pass.
    assert_ne!(victim_gas, backrun_gas);
    assert_eq!(
        verdict,
        RouteVerdict::Agreed {
            victim_gas,
            gas_used: backrun_gas,
        }
    );
    // The log's last word is the payment, and the coinbase got it on top of both tips, to the
    // wei (it is absent from the snapshot, so it starts at zero).
    let payment = f.prediction.profit_gross / U256::from(10);
    let log = outcomes[1].logs.last().unwrap();
    assert_eq!(log.address, f.w.world.executor);
    assert_eq!(U256::from_be_slice(&log.data.data[96..128]), payment);
    let tips = U256::from(victim_gas) * U256::from(VICTIM_TIP)
        + U256::from(backrun_gas) * U256::from(BACKRUN_TIP);
    let coinbase = confirmer.simulator().balance(COINBASE).unwrap();
    assert_eq!(coinbase, tips + payment);
}

#[test]
fn a_prediction_one_wei_off_is_a_disagreement_carrying_the_true_profit() {
    let f = Fixture::new();
    let backrun = f.backrun();
    let mut confirmer = confirmer(&f.w.snapshot);
    let exact = confirm(&mut confirmer, &f.victim, &backrun, &f.expectation()).unwrap();
    let RouteVerdict::Agreed { gas_used, .. } = exact else {
        panic!("the exact prediction is not agreed: {exact:?}");
    };
    let true_profit = f.prediction.profit_gross;
    let off_by_one = [
        RouteExpectation {
            profit_gross: true_profit + U256::from(1),
            ..f.expectation()
        },
        RouteExpectation {
            profit_gross: true_profit - U256::from(1),
            ..f.expectation()
        },
        // The same profit from one wei more input is a different trade.
        RouteExpectation {
            amount_in: f.prediction.amount_in + U256::from(1),
            ..f.expectation()
        },
    ];
    for expect in off_by_one {
        assert_eq!(
            confirm(&mut confirmer, &f.victim, &backrun, &expect).unwrap(),
            RouteVerdict::ProfitDiffers {
                simulated_gross: true_profit,
                gas_used,
            },
            "{expect:?}"
        );
    }
}

#[test]
fn a_pre_signed_pair_backrun_is_confirmed_off_its_backrun_log_and_not_off_a_route_log() {
    let mut f = Fixture::new();
    // The V2 lane's ladder entry: the executor sizes the cycle itself with the closed form, on
    // the state the victim left, so the same prediction holds for it.
    let searcher_nonce = f.w.chain.nonce(dev_signer(1).address());
    let pair = support::backrun(&f.w.world, 0, searcher_nonce);
    let txs = [
        SimTx::from_raw(&f.victim).unwrap(),
        SimTx::from_raw(&pair).unwrap(),
    ];
    let (snapshot, _) = complete_for(&f.w.chain, Arc::clone(&f.w.snapshot), &next_block(2), &txs);
    f.w.snapshot = snapshot;
    let outcomes = Simulator::new(Arc::clone(&f.w.snapshot), RULES)
        .run(&next_block(2), &txs)
        .unwrap()
        .to_vec();
    let (victim_gas, gas_used) = (outcomes[0].gas_used, outcomes[1].gas_used);

    let mut confirmer = confirmer(&f.w.snapshot);
    let block = next_block(2);
    let victim = (&f.victim[..], dev_signer(2).address());
    let backrun = (&pair[..], dev_signer(1).address());
    let exact = confirmer.confirm_backrun(
        &block,
        victim,
        backrun,
        &f.expectation(),
        BackrunEntry::Pair,
    );
    assert_eq!(
        exact.unwrap(),
        RouteVerdict::Agreed {
            victim_gas,
            gas_used
        }
    );
    let off = RouteExpectation {
        profit_gross: f.prediction.profit_gross + U256::from(1),
        ..f.expectation()
    };
    assert_eq!(
        confirmer
            .confirm_backrun(&block, victim, backrun, &off, BackrunEntry::Pair)
            .unwrap(),
        RouteVerdict::ProfitDiffers {
            simulated_gross: f.prediction.profit_gross,
            gas_used
        }
    );
    // Read as a route backrun, the same run has no `BackrunRoute` log; and a route backrun read
    // as a pair backrun has no `Backrun` log: each entry point is held to its own event.
    assert_eq!(
        confirmer
            .confirm_route(&block, victim, backrun, &f.expectation())
            .unwrap(),
        RouteVerdict::NoBackrunLog { gas_used }
    );
    let route = f.backrun();
    let route_run = confirmer.confirm_backrun(
        &block,
        victim,
        (&route[..], dev_signer(1).address()),
        &f.expectation(),
        BackrunEntry::Pair,
    );
    assert!(
        matches!(route_run, Ok(RouteVerdict::NoBackrunLog { .. })),
        "{route_run:?}"
    );
}

#[test]
fn a_min_profit_one_wei_above_the_gross_profit_reverts_the_backrun() {
    let f = Fixture::new();
    let (amount_in, gross) = (f.prediction.amount_in, f.prediction.profit_gross);
    let mut confirmer = confirmer(&f.w.snapshot);
    let at_floor = route_backrun(&f.w, amount_in, gross, 0);
    let verdict = confirm(&mut confirmer, &f.victim, &at_floor, &f.expectation()).unwrap();
    assert!(
        matches!(verdict, RouteVerdict::Agreed { .. }),
        "{verdict:?}"
    );

    let above = route_backrun(&f.w, amount_in, gross + U256::from(1), 0);
    let verdict = confirm(&mut confirmer, &f.victim, &above, &f.expectation()).unwrap();
    let RouteVerdict::BackrunReverted { gas_used } = verdict else {
        panic!("minProfit above the gross profit did not revert: {verdict:?}");
    };
    assert!(gas_used > 21_000 && gas_used < 400_000, "{gas_used}");
    // It is the executor's profit check that reverted, after the whole route ran.
    let output = &confirmer.simulator().outcomes()[1].output;
    assert_eq!(Revert::abi_decode(output).unwrap().reason, "profit");
}

#[test]
fn a_sender_missing_from_the_snapshot_is_presumed_from_its_transaction() {
    let f = Fixture::new();
    let (victim, token) = (dev_signer(2).address(), f.w.world.tokens[0]);
    // Neither the victim's account nor its entry in the token it buys was prefetched.
    let balance_entry = mapping_slot(victim, TOKEN_BALANCES_SLOT);
    let leave_out = [Miss::Account(victim), Miss::Storage(token, balance_entry)];
    let snapshot = snapshot_without(&f.w.snapshot, &leave_out);
    assert!(!snapshot.contains_account(victim));
    assert_eq!(snapshot.storage(token, balance_entry), Err(leave_out[1]));
    // A nonce no unknown account has: only the transaction vouches for it.
    let victim_raw = victim_swap(&f.w.world, U256::from(VICTIM_IN_WEI), U256::ZERO, 7);
    let mut confirmer = confirmer(&Arc::new(snapshot));
    let verdict = confirm(&mut confirmer, &victim_raw, &f.backrun(), &f.expectation()).unwrap();
    let RouteVerdict::Agreed { victim_gas, .. } = verdict else {
        panic!("a presumed sender's victim is not agreed: {verdict:?}");
    };

    let sim = confirmer.simulator();
    // The balance was exactly gas limit × fee cap + value: what is left is that minus the value
    // and the gas at base fee + tip.
    let value = U256::from(VICTIM_IN_WEI);
    let presumed = U256::from(VICTIM_GAS_LIMIT) * U256::from(VICTIM_MAX_FEE) + value;
    let paid = U256::from(victim_gas) * U256::from(VICTIM_TIP + u128::from(BASE_FEE)) + value;
    assert_eq!(sim.balance(victim).unwrap(), presumed - paid);
    // Its token entry read as zero: it now holds exactly what it bought.
    assert_eq!(sim.presumed_slot(), Some((token, balance_entry)));
    assert_eq!(
        sim.erc20_balance(token, victim).unwrap(),
        f.prediction.victim_out
    );
    assert_eq!(sim.misses().total(), 0);
}

#[test]
fn a_sender_the_snapshot_holds_is_read_from_the_snapshot_not_presumed() {
    let f = Fixture::new();
    let victim = dev_signer(2).address();
    let (_, snapshot_nonce, _) = f.w.snapshot.account(victim).unwrap().unwrap();
    assert_eq!(snapshot_nonce, 0);
    // The transaction says 7, which a presumption would take (see the test above).
    let victim_raw = victim_swap(&f.w.world, U256::from(VICTIM_IN_WEI), U256::ZERO, 7);
    let mut confirmer = confirmer(&f.w.snapshot);
    assert_eq!(
        confirm(&mut confirmer, &victim_raw, &f.backrun(), &f.expectation()),
        Err(ConfirmError::Sim(SimError::Invalid {
            index: 0,
            reason: InvalidTransaction::NonceTooHigh { tx: 7, state: 0 },
        }))
    );
}

#[test]
fn a_pool_slot_missing_from_the_snapshot_is_a_logged_miss_that_a_refetch_cures() {
    let f = Fixture::new();
    let pool1 = f.w.world.pair(1, f.w.world.tokens[0]).unwrap();
    let miss = Miss::Storage(pool1, U256::from(PAIR_RESERVES_SLOT));
    let holed = Arc::new(snapshot_without(&f.w.snapshot, &[miss]));
    let backrun = f.backrun();
    let mut confirmer = confirmer(&holed);
    // The victim trades on pool 0 only: our first hop is the first to read pool 1's reserves.
    assert_eq!(
        confirm(&mut confirmer, &f.victim, &backrun, &f.expectation()),
        Err(ConfirmError::Sim(SimError::Miss { index: 1, miss }))
    );
    let log = confirmer.simulator().misses();
    assert_eq!(log.pending(), &[miss]);
    assert_eq!(log.count(MissKind::Storage), 1);
    assert_eq!(log.total(), 1);

    // Fetching exactly what the log holds (from the chain, as the slow lane does from a node).
    let pending: Vec<Miss> = confirmer.simulator().misses_mut().drain().collect();
    let refetched = Arc::new(f.w.chain.refetch(&holed, &pending));
    confirmer.set_snapshot(&refetched);
    let verdict = confirm(&mut confirmer, &f.victim, &backrun, &f.expectation()).unwrap();
    assert!(
        matches!(verdict, RouteVerdict::Agreed { .. }),
        "{verdict:?}"
    );
}

#[test]
fn a_victim_spending_weth_it_was_presumed_not_to_hold_is_a_miss_on_its_balance_entry() {
    let f = Fixture::new();
    let (victim, weth, token) = (dev_signer(2).address(), f.w.world.weth, f.w.world.tokens[0]);
    let snapshot = snapshot_without(&f.w.snapshot, &[Miss::Account(victim)]);
    let balance_entry = mapping_slot(victim, WETH_BALANCES_SLOT);
    let miss = Miss::Storage(weth, balance_entry);
    assert_eq!(snapshot.storage(weth, balance_entry), Err(miss));
    // Router02 pulls the WETH with `transferFrom`, and WETH9 checks the balance first.
    let spend = swapExactTokensForTokensCall {
        amountIn: U256::from(ETHER),
        amountOutMin: U256::ZERO,
        path: vec![weth, token],
        to: victim,
        deadline: U256::MAX,
    };
    let victim_raw = victim_call(&f.w, spend.abi_encode(), 0);
    let mut confirmer = confirmer(&Arc::new(snapshot));
    assert_eq!(
        confirm(&mut confirmer, &victim_raw, &f.backrun(), &f.expectation()),
        Err(ConfirmError::Sim(SimError::Miss { index: 0, miss }))
    );
    assert_eq!(
        confirmer.simulator().presumed_slot(),
        Some((weth, balance_entry))
    );
    assert_eq!(confirmer.simulator().misses().pending(), &[miss]);
}

#[test]
fn a_victim_spending_a_v2_token_misses_on_its_allowance_then_on_its_presumed_balance() {
    let f = Fixture::new();
    let (victim, router) = (dev_signer(2).address(), f.w.world.routers[0]);
    let (weth, token) = (f.w.world.weth, f.w.world.tokens[0]);
    let allowance_entry = nested_mapping_slot(victim, router, TOKEN_ALLOWANCES_SLOT);
    let allowance = Miss::Storage(token, allowance_entry);
    let balance_entry = mapping_slot(victim, TOKEN_BALANCES_SLOT);
    let balance = Miss::Storage(token, balance_entry);
    let snapshot = snapshot_without(&f.w.snapshot, &[Miss::Account(victim), balance]);
    let sell = IUniswapV2Router02::swapExactTokensForETHCall {
        amountIn: U256::from(1_000 * ETHER),
        amountOutMin: U256::ZERO,
        path: vec![token, weth],
        to: victim,
        deadline: U256::MAX,
    };
    let victim_raw = victim_call(&f.w, sell.abi_encode(), 0);
    let backrun = f.backrun();
    let mut confirmer = confirmer(&Arc::new(snapshot.clone()));
    // v2-core's `transferFrom` reads `allowance[victim][router]` before the balance: a nested
    // entry, which is not presumed, so a plain miss.
    assert_eq!(
        confirm(&mut confirmer, &victim_raw, &backrun, &f.expectation()),
        Err(ConfirmError::Sim(SimError::Miss {
            index: 0,
            miss: allowance,
        }))
    );
    // The node answers with the victim's approval of the router; then its balance entry, read
    // as a presumed zero, fails the transfer: a miss on that entry, not a disagreement.
    let mut approved = snapshot.to_builder();
    approved.storage(token, allowance_entry, U256::MAX);
    confirmer.set_snapshot(&Arc::new(approved.build()));
    assert_eq!(
        confirm(&mut confirmer, &victim_raw, &backrun, &f.expectation()),
        Err(ConfirmError::Sim(SimError::Miss {
            index: 0,
            miss: balance,
        }))
    );
    // It went through the presumption (a plain miss on the entry would look the same).
    assert_eq!(
        confirmer.simulator().presumed_slot(),
        Some((token, balance_entry))
    );
    assert_eq!(
        confirmer.simulator().misses().pending(),
        &[allowance, balance]
    );
}

#[test]
fn bytes_that_are_not_one_signed_transaction_are_a_decode_error() {
    // Decoding comes before any run: an empty snapshot will do, and nothing may miss on it.
    let mut confirmer = confirmer(&Arc::new(SnapshotBuilder::new(1).build()));
    let expect = RouteExpectation {
        executor: Address::repeat_byte(0xee),
        amount_in: U256::from(1),
        profit_gross: U256::from(1),
    };
    let signed = plain_transfer();
    let garbage = [0xde, 0xad, 0xbe, 0xef];
    let mut trailing = signed.to_vec();
    trailing.push(0);

    assert_eq!(
        undecodable(confirm(&mut confirmer, &garbage, &signed, &expect)),
        Some(0)
    );
    assert_eq!(
        undecodable(confirm(&mut confirmer, &[], &signed, &expect)),
        Some(0)
    );
    assert_eq!(
        undecodable(confirm(&mut confirmer, &signed, &garbage, &expect)),
        Some(1)
    );
    assert_eq!(
        confirm(&mut confirmer, &trailing, &signed, &expect),
        Err(ConfirmError::Decode {
            index: 0,
            error: TxDecodeError::Trailing(1),
        })
    );
    assert_eq!(confirmer.simulator().misses().total(), 0);
    assert!(confirmer.simulator().outcomes().is_empty());
}
