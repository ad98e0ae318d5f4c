//! Victim replay over V2 and V3 legs: calldata encoded with `sol!`, decoded by the crate's
//! decoders, applied with `apply_swaps`, and compared with the pools' own quotes run one after
//! another the way each router runs them (the expected chains build intermediate pools with
//! `V3Pool::with_swap`, not with the overlay's `quote_from`). Plus every skip reason, and the
//! counting-allocator proof that replay and cycle search allocate nothing.

use alloy_primitives::aliases::{U24, U160};
use alloy_primitives::{Bytes, I256};
use alloy_sol_types::SolCall;
use kestrel_bus::thread_allocations as allocations;
use kestrel_dex::cycle::{
    CycleLimits, PoolRef, PoolRegistry, V3FactoryId, V3Id, find_cycle_backrun,
};
use kestrel_dex::math::{get_amount_in, get_amount_out};
use kestrel_dex::route::{ADDRESS_THIS, CONTRACT_BALANCE, MSG_SENDER};
use kestrel_dex::router_v3::decode_swap_router;
use kestrel_dex::universal::{UrVersion, decode_universal};
use kestrel_dex::v3::tick_math::get_sqrt_ratio_at_tick;
use kestrel_dex::v3::{SwapResult, V3Pool, default_price_limit};
use kestrel_dex::victim::{LegAmounts, PoolState, V3State, VictimEnv, apply_swaps};
use kestrel_types::{Address, B256, FactoryId, PoolId, SkipReason, U256};
use proptest::prelude::*;

use crate::cycle::{A, B, TIERS, W, e18, params, registry, v2_pair, v3_pool};
use crate::router_v3::packed_path;

mod ur {
    alloy_sol_types::sol! {
        function execute(bytes commands, bytes[] inputs, uint256 deadline);
        // 2.1+ swap inputs: the five fields of every version and `minHopPriceX36`.
        function v3Swap(address recipient, uint256 amount, uint256 limit, bytes path, bool payerIsUser, uint256[] minHopPriceX36);
        function v2Swap(address recipient, uint256 amount, uint256 limit, address[] path, bool payerIsUser, uint256[] minHopPriceX36);
        function wrapOrUnwrap(address recipient, uint256 amount);
        function actionsAndParams(bytes actions, bytes[] params);
        function subPlan(bytes commands, bytes[] inputs);
    }
}

/// The V3 `SwapRouter` (v3-periphery `ISwapRouter`).
mod v1 {
    alloy_sol_types::sol! {
        struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
        struct ExactOutputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountOut; uint256 amountInMaximum; uint160 sqrtPriceLimitX96; }
        struct ExactOutputParams { bytes path; address recipient; uint256 deadline; uint256 amountOut; uint256 amountInMaximum; }
        function exactInputSingle(ExactInputSingleParams params);
        function exactOutputSingle(ExactOutputSingleParams params);
        function exactOutput(ExactOutputParams params);
    }
}

/// `SwapRouter02` (swap-router-contracts `IV3SwapRouter`, `IV2SwapRouter`, multicalls).
mod v02 {
    alloy_sol_types::sol! {
        struct ExactInputParams { bytes path; address recipient; uint256 amountIn; uint256 amountOutMinimum; }
        function exactInput(ExactInputParams params);
        function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to);
        function swapTokensForExactTokens(uint256 amountOut, uint256 amountInMax, address[] path, address to);
        function multicall(uint256 deadline, bytes[] data);
        function multicall(bytes32 previousBlockhash, bytes[] data);
        function unwrapWETH9(uint256 amountMinimum);
    }
}

const NOW: u64 = 1_700_000_000;
const USER: Address = Address::with_last_byte(0xcc);
const PARENT: B256 = B256::with_last_byte(7);

/// V2 0 = W/A f0, V2 1 = A/B f0, V2 2 = W/A f1; V3 0 = W/A 3000, V3 1 = A/B 500,
/// V3 2 = W/A 500, V3 3 = B/W 3000. Prices near 1, several initialized ticks each.
fn vreg() -> PoolRegistry {
    let positions = |s: i32| -> Vec<(i32, i32, u128)> {
        (0..12)
            .map(|i| {
                (
                    -s * (3 + 4 * i),
                    s * (2 + 5 * i),
                    10u128.pow(20) * (1 + i as u128),
                )
            })
            .collect()
    };
    registry(
        vec![
            v2_pair(0, W, A, e18(5_000), e18(5_100), 0),
            v2_pair(1, A, B, e18(8_000), e18(7_900), 0),
            v2_pair(2, W, A, e18(3_000), e18(2_950), 1),
        ],
        vec![
            v3_pool(0, W, A, TIERS[1], 17, &positions(60)),
            v3_pool(1, A, B, TIERS[0], -23, &positions(10)),
            v3_pool(2, W, A, TIERS[0], 40, &positions(10)),
            v3_pool(3, B, W, TIERS[1], -70, &positions(60)),
        ],
    )
}

fn env() -> VictimEnv<'static> {
    VictimEnv {
        weth: W,
        now_unix: NOW,
        parent_hash: Some(PARENT),
        v2_factory: Some(FactoryId(0)),
        v3_factory: Some(V3FactoryId(0)),
        fee_on_transfer: &[],
    }
}

// --- encoders ---------------------------------------------------------------------------------

/// A 2.1 V3 swap input with no per-hop floors.
fn ur_v3(to: Address, amount: U256, limit: U256, path: Vec<u8>, payer_is_user: bool) -> Vec<u8> {
    ur_v3_floors(to, amount, limit, path, payer_is_user, &[])
}

fn ur_v3_floors(
    to: Address,
    amount: U256,
    limit: U256,
    path: Vec<u8>,
    payer_is_user: bool,
    floors: &[U256],
) -> Vec<u8> {
    let mut out = Vec::new();
    ur::v3SwapCall {
        recipient: to,
        amount,
        limit,
        path: Bytes::from(path),
        payerIsUser: payer_is_user,
        minHopPriceX36: floors.to_vec(),
    }
    .abi_encode_raw(&mut out);
    out
}

/// A 2.1 V2 swap input with no per-hop floors.
fn ur_v2(to: Address, amount: U256, limit: U256, path: &[Address], payer_is_user: bool) -> Vec<u8> {
    ur_v2_floors(to, amount, limit, path, payer_is_user, &[])
}

fn ur_v2_floors(
    to: Address,
    amount: U256,
    limit: U256,
    path: &[Address],
    payer_is_user: bool,
    floors: &[U256],
) -> Vec<u8> {
    let mut out = Vec::new();
    ur::v2SwapCall {
        recipient: to,
        amount,
        limit,
        path: path.to_vec(),
        payerIsUser: payer_is_user,
        minHopPriceX36: floors.to_vec(),
    }
    .abi_encode_raw(&mut out);
    out
}

fn ur_wrap(to: Address, amount: U256) -> Vec<u8> {
    let mut out = Vec::new();
    ur::wrapOrUnwrapCall {
        recipient: to,
        amount,
    }
    .abi_encode_raw(&mut out);
    out
}

fn ur_execute(commands: &[(u8, Vec<u8>)], deadline: u64) -> Vec<u8> {
    ur::executeCall {
        commands: Bytes::from(commands.iter().map(|c| c.0).collect::<Vec<_>>()),
        inputs: commands.iter().map(|c| Bytes::from(c.1.clone())).collect(),
        deadline: U256::from(deadline),
    }
    .abi_encode()
}

/// An `EXECUTE_SUB_PLAN` input running `commands`.
fn ur_sub_plan(commands: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    ur::subPlanCall {
        commands: Bytes::from(commands.iter().map(|c| c.0).collect::<Vec<_>>()),
        inputs: commands.iter().map(|c| Bytes::from(c.1.clone())).collect(),
    }
    .abi_encode_raw(&mut out);
    out
}

const V3_IN: u8 = 0x00;
const V3_OUT: u8 = 0x01;
const V2_IN: u8 = 0x08;
const V2_OUT: u8 = 0x09;
const WRAP: u8 = 0x0b;
const UNWRAP: u8 = 0x0c;
const V4: u8 = 0x10;
const SUB_PLAN: u8 = 0x21;
const ALLOW_REVERT: u8 = 0x80;

fn apply_ur(
    reg: &PoolRegistry,
    env: &VictimEnv<'_>,
    data: &[u8],
    value: U256,
) -> Result<kestrel_dex::victim::VictimOutcome, SkipReason> {
    let swaps = decode_universal(data, value, UrVersion::V2_1).expect("decodes");
    apply_swaps(reg, env, &swaps)
}

fn apply_router(
    reg: &PoolRegistry,
    env: &VictimEnv<'_>,
    data: &[u8],
    value: U256,
) -> Result<kestrel_dex::victim::VictimOutcome, SkipReason> {
    let swaps = decode_swap_router(data, value).expect("decodes");
    apply_swaps(reg, env, &swaps)
}

// --- the expected chains, pool by pool ---------------------------------------------------------

/// A pool's exact swap and the pool after it, built with `with_swap` (the slow lane's update),
/// independent of the overlay's `quote_from`.
fn swap(pool: &V3Pool, zero_for_one: bool, amount: I256) -> (SwapResult, V3Pool) {
    let r = pool
        .quote(zero_for_one, amount, default_price_limit(zero_for_one))
        .unwrap();
    let after = pool
        .with_swap(r.sqrt_price_x96, r.liquidity, r.tick)
        .unwrap();
    (r, after)
}

fn i(x: U256) -> I256 {
    I256::try_from(x).unwrap()
}

fn raw(x: I256) -> U256 {
    assert!(!x.is_negative());
    x.into_raw()
}

fn v3_state(o: &kestrel_dex::victim::StateOverlay, id: u32) -> Option<V3State> {
    match o.get(PoolRef::V3(V3Id(id)))? {
        PoolState::V3(s) => Some(s),
        PoolState::V2 { .. } => None,
    }
}

fn v2_state(o: &kestrel_dex::victim::StateOverlay, id: u32) -> Option<(U256, U256)> {
    match o.get(PoolRef::V2(PoolId(id)))? {
        PoolState::V2 { reserve0, reserve1 } => Some((reserve0, reserve1)),
        PoolState::V3(_) => None,
    }
}

fn legs(o: &kestrel_dex::victim::VictimOutcome) -> Vec<(U256, U256)> {
    o.legs()
        .iter()
        .map(|l: &LegAmounts| (l.amount_in, l.amount_out))
        .collect()
}

// --- Universal Router --------------------------------------------------------------------------

#[test]
fn ur_wrap_then_v3_exact_in_of_the_contract_balance() {
    let reg = vreg();
    let value = e18(7);
    let pool = reg.v3(V3Id(0)).unwrap();
    // W > A, so W in is one-for-zero.
    let (r, _) = swap(pool, false, i(value));
    let out = raw(r.amount_out(false));
    let run = |min: U256| {
        let data = ur_execute(
            &[
                (WRAP, ur_wrap(ADDRESS_THIS, CONTRACT_BALANCE)),
                (
                    V3_IN,
                    ur_v3(
                        MSG_SENDER,
                        CONTRACT_BALANCE,
                        min,
                        packed_path(&[W, A], &[3000], false),
                        false,
                    ),
                ),
            ],
            NOW,
        );
        apply_ur(&reg, &env(), &data, value)
    };
    let done = run(out).unwrap();
    assert_eq!(legs(&done), [(value, out)]);
    assert_eq!(v3_state(&done.overlay, 0), Some(V3State::after(&r)));
    assert_eq!(done.overlay.len(), 1);
    assert_eq!(run(out + U256::ONE), Err(SkipReason::VictimWouldRevert));
}

#[test]
fn ur_v3_output_sent_to_a_pair_is_spent_by_an_already_paid_v2_leg() {
    let reg = vreg();
    let amount = e18(3);
    let (r, _) = swap(reg.v3(V3Id(0)).unwrap(), false, i(amount));
    let a_out = raw(r.amount_out(false));
    let pair = reg.v2().pool(PoolId(1));
    // A < B: A is token0 of the A/B pair.
    let b_out = get_amount_out(a_out, pair.reserve0, pair.reserve1, 997).unwrap();
    let data = ur_execute(
        &[
            (
                V3_IN,
                ur_v3(
                    pair.address,
                    amount,
                    U256::ZERO,
                    packed_path(&[W, A], &[3000], false),
                    true,
                ),
            ),
            (V2_IN, ur_v2(MSG_SENDER, U256::ZERO, b_out, &[A, B], false)),
        ],
        NOW,
    );
    let done = apply_ur(&reg, &env(), &data, U256::ZERO).unwrap();
    assert_eq!(legs(&done), [(amount, a_out), (U256::ZERO, b_out)]);
    assert_eq!(
        v2_state(&done.overlay, 1),
        Some((pair.reserve0 + a_out, pair.reserve1 - b_out))
    );
    // Without the V3 leg the pair holds nothing extra: the V2 leg has no input.
    let alone = ur_execute(
        &[(
            V2_IN,
            ur_v2(MSG_SENDER, U256::ZERO, U256::ZERO, &[A, B], false),
        )],
        NOW,
    );
    assert_eq!(
        apply_ur(&reg, &env(), &alone, U256::ZERO),
        Err(SkipReason::VictimWouldRevert)
    );
}

#[test]
fn ur_exact_in_may_reuse_a_pool_and_sees_its_own_move() {
    let reg = vreg();
    let amount = e18(40);
    let pool = reg.v3(V3Id(1)).unwrap();
    let (r1, after) = swap(pool, true, i(amount));
    let b_out = raw(r1.amount_out(true));
    let (r2, _) = swap(&after, false, i(b_out));
    let a_back = raw(r2.amount_out(false));
    let path = packed_path(&[A, B, A], &[500, 500], false);
    let data = ur_execute(
        &[(V3_IN, ur_v3(MSG_SENDER, amount, U256::ZERO, path, true))],
        NOW,
    );
    let done = apply_ur(&reg, &env(), &data, U256::ZERO).unwrap();
    assert_eq!(legs(&done), [(amount, a_back)]);
    assert_eq!(v3_state(&done.overlay, 1), Some(V3State::after(&r2)));
    // Exact output through the same pool twice re-enters a locked pool.
    let path = packed_path(&[A, B, A], &[500, 500], true);
    let data = ur_execute(
        &[(V3_OUT, ur_v3(MSG_SENDER, e18(1), e18(2), path, true))],
        NOW,
    );
    assert_eq!(
        apply_ur(&reg, &env(), &data, U256::ZERO),
        Err(SkipReason::VictimWouldRevert)
    );
}

#[test]
fn ur_v2_exact_out_prices_with_amounts_in_then_swaps_forward() {
    let reg = vreg();
    let want = e18(25);
    let (wa, ab) = (reg.v2().pool(PoolId(0)), reg.v2().pool(PoolId(1)));
    // W > A: in W/A, A is token0. In A/B, A is token0.
    let a_needed = get_amount_in(want, ab.reserve0, ab.reserve1, 997).unwrap();
    let w_needed = get_amount_in(a_needed, wa.reserve1, wa.reserve0, 997).unwrap();
    let a_got = get_amount_out(w_needed, wa.reserve1, wa.reserve0, 997).unwrap();
    let b_got = get_amount_out(a_got, ab.reserve0, ab.reserve1, 997).unwrap();
    assert!(b_got >= want);
    let run = |max: U256| {
        let data = ur_execute(&[(V2_OUT, ur_v2(USER, want, max, &[W, A, B], true))], NOW);
        apply_ur(&reg, &env(), &data, U256::ZERO)
    };
    let done = run(w_needed).unwrap();
    assert_eq!(legs(&done), [(w_needed, b_got)]);
    assert_eq!(
        v2_state(&done.overlay, 0),
        Some((wa.reserve0 - a_got, wa.reserve1 + w_needed))
    );
    assert_eq!(
        v2_state(&done.overlay, 1),
        Some((ab.reserve0 + a_got, ab.reserve1 - b_got))
    );
    assert_eq!(
        run(w_needed - U256::ONE),
        Err(SkipReason::VictimWouldRevert)
    );
}

/// Every touched pool with its state, in the order first touched.
fn touched(o: &kestrel_dex::victim::VictimOutcome) -> Vec<(PoolRef, Option<PoolState>)> {
    o.overlay.touched().map(|p| (p, o.overlay.get(p))).collect()
}

/// A flagged sub-plan of swaps: when one of its legs reverts, the router's call to itself fails,
/// everything the sub-plan did is undone and the plan goes on. The replay must equal the same
/// plan without the sub-plan (pools, router balance, amounts), and with the sub-plan succeeding
/// the same plan with its commands inline. Without the flag, or with a wrap inside, the victim
/// is a revert.
#[test]
fn ur_flagged_sub_plan_that_reverts_is_undone_and_the_plan_goes_on() {
    let reg = vreg();
    // A: 3 W of the user's into A, kept by the router.
    let a = (
        V3_IN,
        ur_v3(
            ADDRESS_THIS,
            e18(3),
            U256::ZERO,
            packed_path(&[W, A], &[3000], false),
            true,
        ),
    );
    // In the sub-plan: the router pays 1 A into the A/B pair; the user swaps 1 W on W/A 500
    // with the floor `min`.
    let spend = (V2_IN, ur_v2(MSG_SENDER, e18(1), U256::ZERO, &[A, B], false));
    let guarded = |min: U256| {
        (
            V3_IN,
            ur_v3(
                MSG_SENDER,
                e18(1),
                min,
                packed_path(&[W, A], &[500], false),
                true,
            ),
        )
    };
    // D: whatever A the router still holds, into B on A/B 500.
    let d = (
        V3_IN,
        ur_v3(
            MSG_SENDER,
            CONTRACT_BALANCE,
            U256::ZERO,
            packed_path(&[A, B], &[500], false),
            false,
        ),
    );
    let run = |cmds: &[(u8, Vec<u8>)]| apply_ur(&reg, &env(), &ur_execute(cmds, NOW), U256::ZERO);
    let with_sub = |byte: u8, min: U256| {
        run(&[
            a.clone(),
            (byte, ur_sub_plan(&[spend.clone(), guarded(min)])),
            d.clone(),
        ])
    };

    // The sub-plan succeeds: the same as its commands inline.
    let inline = run(&[a.clone(), spend.clone(), guarded(U256::ZERO), d.clone()]).unwrap();
    let ok = with_sub(SUB_PLAN | ALLOW_REVERT, U256::ZERO).unwrap();
    assert_eq!(legs(&ok), legs(&inline));
    assert_eq!(touched(&ok), touched(&inline));
    assert_eq!(ok.overlay.len(), 4);

    // Its second leg misses its floor: the sub-plan's two legs are undone, including the A the
    // router paid, so D swaps all of A's output, as if the sub-plan were not there.
    let without = run(&[a.clone(), d.clone()]).unwrap();
    let failed = with_sub(SUB_PLAN | ALLOW_REVERT, U256::MAX).unwrap();
    let [la, ld] = legs(&without)[..] else {
        panic!("two legs")
    };
    assert_eq!(
        legs(&failed),
        [la, (U256::ZERO, U256::ZERO), (U256::ZERO, U256::ZERO), ld]
    );
    assert_eq!(ld.0, la.1, "D swaps the router's whole A");
    assert_eq!(touched(&failed), touched(&without));
    assert_eq!(failed.overlay.len(), 2);

    // Without the flag the failed call reverts the transaction; so does a flagged sub-plan
    // holding a wrap (not modelled inside a sub-plan), and a swap's own flag outside one.
    assert_eq!(
        with_sub(SUB_PLAN, U256::MAX),
        Err(SkipReason::VictimWouldRevert)
    );
    let wrapped = run(&[
        a.clone(),
        (
            SUB_PLAN | ALLOW_REVERT,
            ur_sub_plan(&[
                (WRAP, ur_wrap(ADDRESS_THIS, U256::ZERO)),
                guarded(U256::MAX),
            ]),
        ),
        d.clone(),
    ]);
    assert_eq!(wrapped, Err(SkipReason::VictimWouldRevert));
    let own_flag = run(&[
        a.clone(),
        (V3_IN | ALLOW_REVERT, guarded(U256::MAX).1),
        d.clone(),
    ]);
    assert_eq!(own_flag, Err(SkipReason::VictimWouldRevert));

    // Nested: an inner flagged sub-plan fails and is undone; the outer one goes on and its
    // other leg stays.
    let nested = run(&[
        a.clone(),
        (
            SUB_PLAN | ALLOW_REVERT,
            ur_sub_plan(&[
                spend.clone(),
                (SUB_PLAN | ALLOW_REVERT, ur_sub_plan(&[guarded(U256::MAX)])),
            ]),
        ),
        d.clone(),
    ])
    .unwrap();
    let spent = run(&[a.clone(), spend.clone(), d.clone()]).unwrap();
    let [sa, ss, sd] = legs(&spent)[..] else {
        panic!("three legs")
    };
    assert_eq!(legs(&nested), [sa, ss, (U256::ZERO, U256::ZERO), sd]);
    assert_eq!(touched(&nested), touched(&spent));
}

#[test]
fn ur_skip_reasons() {
    let reg = vreg();
    let path = || packed_path(&[W, A], &[3000], false);
    let plain = |amount: U256, payer_is_user: bool| {
        ur_execute(
            &[(
                V3_IN,
                ur_v3(MSG_SENDER, amount, U256::ZERO, path(), payer_is_user),
            )],
            NOW,
        )
    };
    // The router pays but holds nothing.
    assert_eq!(
        apply_ur(&reg, &env(), &plain(e18(1), false), U256::ZERO),
        Err(SkipReason::VictimWouldRevert)
    );
    // A wrap of more than the value.
    let over = ur_execute(
        &[
            (WRAP, ur_wrap(ADDRESS_THIS, e18(2))),
            (V3_IN, ur_v3(MSG_SENDER, e18(1), U256::ZERO, path(), false)),
        ],
        NOW,
    );
    assert_eq!(
        apply_ur(&reg, &env(), &over, e18(1)),
        Err(SkipReason::VictimWouldRevert)
    );
    assert!(apply_ur(&reg, &env(), &over, e18(2)).is_ok());
    // The unwrap floor: the router must end with at least that much WETH.
    let unwrap = |floor: U256| {
        let data = ur_execute(
            &[
                (
                    V3_IN,
                    ur_v3(
                        ADDRESS_THIS,
                        e18(1),
                        U256::ZERO,
                        packed_path(&[A, W], &[3000], false),
                        true,
                    ),
                ),
                (UNWRAP, ur_wrap(MSG_SENDER, floor)),
            ],
            NOW,
        );
        apply_ur(&reg, &env(), &data, U256::ZERO)
    };
    let got = unwrap(U256::ZERO).unwrap().legs()[0].amount_out;
    assert!(unwrap(got).is_ok());
    assert_eq!(unwrap(got + U256::ONE), Err(SkipReason::VictimWouldRevert));
    // Deadline, unknown pools, unknown factories, fee-on-transfer tokens, V4.
    let late = ur_execute(
        &[(V3_IN, ur_v3(MSG_SENDER, e18(1), U256::ZERO, path(), true))],
        NOW - 1,
    );
    assert_eq!(
        apply_ur(&reg, &env(), &late, U256::ZERO),
        Err(SkipReason::VictimExpired)
    );
    let tier = ur_execute(
        &[(
            V3_IN,
            ur_v3(
                MSG_SENDER,
                e18(1),
                U256::ZERO,
                packed_path(&[W, A], &[100], false),
                true,
            ),
        )],
        NOW,
    );
    assert_eq!(
        apply_ur(&reg, &env(), &tier, U256::ZERO),
        Err(SkipReason::UnknownPool)
    );
    let no_v3 = VictimEnv {
        v3_factory: None,
        ..env()
    };
    assert_eq!(
        apply_ur(&reg, &no_v3, &plain(e18(1), true), U256::ZERO),
        Err(SkipReason::UnknownPool)
    );
    let v2_other = ur_execute(
        &[(V2_IN, ur_v2(MSG_SENDER, e18(1), U256::ZERO, &[W, B], true))],
        NOW,
    );
    assert_eq!(
        apply_ur(&reg, &env(), &v2_other, U256::ZERO),
        Err(SkipReason::UnknownPool)
    );
    let fot = [A];
    let taxed = VictimEnv {
        fee_on_transfer: &fot,
        ..env()
    };
    assert_eq!(
        apply_ur(&reg, &taxed, &plain(e18(1), true), U256::ZERO),
        Err(SkipReason::FeeOnTransfer)
    );
    let mut v4 = Vec::new();
    ur::actionsAndParamsCall {
        actions: Bytes::from(vec![0u8]),
        params: vec![Bytes::new()],
    }
    .abi_encode_raw(&mut v4);
    let with_v4 = ur_execute(
        &[
            (V3_IN, ur_v3(MSG_SENDER, e18(1), U256::ZERO, path(), true)),
            (V4, v4),
        ],
        NOW,
    );
    assert_eq!(
        apply_ur(&reg, &env(), &with_v4, U256::ZERO),
        Err(SkipReason::UnsupportedV4)
    );
    let unknown = ur_execute(
        &[
            (V3_IN, ur_v3(MSG_SENDER, e18(1), U256::ZERO, path(), true)),
            (0x3f, Vec::new()),
        ],
        NOW,
    );
    assert_eq!(
        apply_ur(&reg, &env(), &unknown, U256::ZERO),
        Err(SkipReason::UnknownCommand)
    );
}

// --- SwapRouter and SwapRouter02 ---------------------------------------------------------------

#[test]
fn swap_router_exact_output_runs_the_reversed_path_backwards() {
    let reg = vreg();
    let want = e18(12);
    // Trade order W -> A -> B; the last pool (A/B, 500) goes first, for exactly `want`.
    let (r_ab, _) = swap(reg.v3(V3Id(1)).unwrap(), true, i(want).wrapping_neg());
    assert_eq!(raw(r_ab.amount_out(true)), want);
    let a_needed = raw(r_ab.amount_in(true));
    let (r_wa, _) = swap(reg.v3(V3Id(0)).unwrap(), false, i(a_needed).wrapping_neg());
    assert_eq!(raw(r_wa.amount_out(false)), a_needed);
    let w_needed = raw(r_wa.amount_in(false));
    let run = |max: U256| {
        let data = v1::exactOutputCall {
            params: v1::ExactOutputParams {
                path: Bytes::from(packed_path(&[W, A, B], &[3000, 500], true)),
                recipient: USER,
                deadline: U256::from(NOW),
                amountOut: want,
                amountInMaximum: max,
            },
        }
        .abi_encode();
        apply_router(&reg, &env(), &data, U256::ZERO)
    };
    let done = run(w_needed).unwrap();
    assert_eq!(legs(&done), [(w_needed, want)]);
    assert_eq!(v3_state(&done.overlay, 1), Some(V3State::after(&r_ab)));
    assert_eq!(v3_state(&done.overlay, 0), Some(V3State::after(&r_wa)));
    // The nested swap runs the last trade pool first.
    assert_eq!(
        done.overlay.touched().collect::<Vec<_>>(),
        [PoolRef::V3(V3Id(1)), PoolRef::V3(V3Id(0))]
    );
    assert_eq!(
        run(w_needed - U256::ONE),
        Err(SkipReason::VictimWouldRevert)
    );
}

#[test]
fn single_pool_price_limits_stop_the_swap_where_the_pool_would() {
    let reg = vreg();
    let pool = reg.v3(V3Id(2)).unwrap();
    // W > A: buying A with W moves the price up; a limit a little above stops it there.
    let limit = pool.sqrt_price_x96() + pool.sqrt_price_x96() / U256::from(200);
    let r = pool.quote(false, i(e18(1_000_000)), limit).unwrap();
    let paid = raw(r.amount_in(false));
    assert!(paid < e18(1_000_000), "the limit makes a partial fill");
    let single = |amount: U256, limit: U256| {
        v1::exactInputSingleCall {
            params: v1::ExactInputSingleParams {
                tokenIn: W,
                tokenOut: A,
                fee: U24::from(500),
                recipient: USER,
                deadline: U256::from(NOW),
                amountIn: amount,
                amountOutMinimum: U256::ZERO,
                sqrtPriceLimitX96: U160::from(limit),
            },
        }
        .abi_encode()
    };
    let done = apply_router(&reg, &env(), &single(e18(1_000_000), limit), U256::ZERO).unwrap();
    assert_eq!(legs(&done), [(paid, raw(r.amount_out(false)))]);
    assert_eq!(v3_state(&done.overlay, 2).unwrap().sqrt_price_x96, limit);
    // A limit on the wrong side of the price is the pool's 'SPL'.
    let wrong = pool.sqrt_price_x96() - U256::ONE;
    assert_eq!(
        apply_router(&reg, &env(), &single(e18(1), wrong), U256::ZERO),
        Err(SkipReason::VictimWouldRevert)
    );
    // Exact output with a limit may fill partially; without one it must fill in full.
    let out_single = |limit: U256| {
        v1::exactOutputSingleCall {
            params: v1::ExactOutputSingleParams {
                tokenIn: W,
                tokenOut: A,
                fee: U24::from(500),
                recipient: USER,
                deadline: U256::from(NOW),
                amountOut: e18(1_000_000),
                amountInMaximum: U256::MAX,
                sqrtPriceLimitX96: U160::from(limit),
            },
        }
        .abi_encode()
    };
    let partial = apply_router(&reg, &env(), &out_single(limit), U256::ZERO).unwrap();
    assert!(partial.legs()[0].amount_out < e18(1_000_000));
    assert_eq!(
        apply_router(&reg, &env(), &out_single(U256::ZERO), U256::ZERO),
        Err(SkipReason::VictimWouldRevert),
        "the pool cannot pay a million A"
    );
}

#[test]
fn swap_router02_chains_v3_into_v2_through_the_router_balance() {
    let reg = vreg();
    let amount = e18(9);
    let (r, _) = swap(reg.v3(V3Id(0)).unwrap(), false, i(amount));
    let a_out = raw(r.amount_out(false));
    let ab = reg.v2().pool(PoolId(1));
    let b_out = get_amount_out(a_out, ab.reserve0, ab.reserve1, 997).unwrap();
    let calls = |hash: B256, min: U256| {
        let v3 = v02::exactInputCall {
            params: v02::ExactInputParams {
                path: Bytes::from(packed_path(&[W, A], &[3000], false)),
                recipient: ADDRESS_THIS,
                amountIn: amount,
                amountOutMinimum: U256::ZERO,
            },
        }
        .abi_encode();
        // amountIn 0: the router's whole balance of A.
        let v2 = v02::swapExactTokensForTokensCall {
            amountIn: U256::ZERO,
            amountOutMin: min,
            path: vec![A, B],
            to: MSG_SENDER,
        }
        .abi_encode();
        v02::multicall_1Call {
            previousBlockhash: hash,
            data: vec![Bytes::from(v3), Bytes::from(v2)],
        }
        .abi_encode()
    };
    let done = apply_router(&reg, &env(), &calls(PARENT, b_out), U256::ZERO).unwrap();
    assert_eq!(legs(&done), [(amount, a_out), (a_out, b_out)]);
    assert_eq!(
        v2_state(&done.overlay, 1),
        Some((ab.reserve0 + a_out, ab.reserve1 - b_out))
    );
    assert_eq!(
        apply_router(&reg, &env(), &calls(PARENT, b_out + U256::ONE), U256::ZERO),
        Err(SkipReason::VictimWouldRevert)
    );
    assert_eq!(
        apply_router(
            &reg,
            &env(),
            &calls(B256::with_last_byte(8), b_out),
            U256::ZERO
        ),
        Err(SkipReason::VictimWouldRevert),
        "built on another block"
    );
    let unknown_parent = VictimEnv {
        parent_hash: None,
        ..env()
    };
    assert!(
        apply_router(
            &reg,
            &unknown_parent,
            &calls(B256::with_last_byte(8), b_out),
            U256::ZERO
        )
        .is_ok()
    );
}

#[test]
fn swap_router02_v2_exact_out_and_unwrap_floor() {
    let reg = vreg();
    let want = e18(4);
    let wa = reg.v2().pool(PoolId(0));
    // A -> W: W is token1 of W/A.
    let a_needed = get_amount_in(want, wa.reserve0, wa.reserve1, 997).unwrap();
    let w_got = get_amount_out(a_needed, wa.reserve0, wa.reserve1, 997).unwrap();
    let calls = |floor: U256| {
        let swap = v02::swapTokensForExactTokensCall {
            amountOut: want,
            amountInMax: a_needed,
            path: vec![A, W],
            to: ADDRESS_THIS,
        }
        .abi_encode();
        let unwrap = v02::unwrapWETH9Call {
            amountMinimum: floor,
        }
        .abi_encode();
        v02::multicall_0Call {
            deadline: U256::from(NOW),
            data: vec![Bytes::from(swap), Bytes::from(unwrap)],
        }
        .abi_encode()
    };
    let done = apply_router(&reg, &env(), &calls(w_got), U256::ZERO).unwrap();
    assert_eq!(legs(&done), [(a_needed, w_got)]);
    assert_eq!(
        v2_state(&done.overlay, 0),
        Some((wa.reserve0 + a_needed, wa.reserve1 - w_got))
    );
    assert_eq!(
        apply_router(&reg, &env(), &calls(w_got + U256::ONE), U256::ZERO),
        Err(SkipReason::VictimWouldRevert)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random multi-hop exact-input legs through the Universal Router equal the pools' swaps
    /// run one after another on updated snapshots.
    #[test]
    fn ur_exact_in_paths_match_sequential_swaps(
        reversed in any::<bool>(),
        amount in 10u128.pow(15)..10u128.pow(21),
        three in any::<bool>(),
    ) {
        let reg = vreg();
        // W -> A (3000) -> B (500) [-> W (3000)], or the reverse.
        let mut tokens = vec![W, A, B];
        let mut fees = vec![3000, 500];
        let mut ids = vec![0u32, 1];
        if three {
            tokens.push(W);
            fees.push(3000);
            ids.push(3);
        }
        if reversed {
            tokens.reverse();
            fees.reverse();
            ids.reverse();
        }
        let mut x = U256::from(amount);
        let mut paid = None;
        let mut states = Vec::new();
        for (k, &id) in ids.iter().enumerate() {
            let zero_for_one = tokens[k] < tokens[k + 1];
            let (r, _) = swap(reg.v3(V3Id(id)).unwrap(), zero_for_one, i(x));
            // A pool that runs out of liquidity takes only part of the input.
            paid.get_or_insert(raw(r.amount_in(zero_for_one)));
            x = raw(r.amount_out(zero_for_one));
            states.push((id, V3State::after(&r)));
        }
        let data = ur_execute(
            &[(V3_IN, ur_v3(MSG_SENDER, U256::from(amount), x, packed_path(&tokens, &fees, false), true))],
            NOW,
        );
        let done = apply_ur(&reg, &env(), &data, U256::ZERO).unwrap();
        prop_assert_eq!(legs(&done), vec![(paid.unwrap(), x)]);
        for (id, state) in states {
            prop_assert_eq!(v3_state(&done.overlay, id), Some(state));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// `quote_from` on the pool's own state is `quote`; on any state at all it answers
    /// without panicking.
    #[test]
    fn quote_from_any_state_never_panics(
        limbs in any::<[u64; 4]>(),
        bits in 0usize..=256,
        tick in any::<i32>(),
        liquidity in any::<u128>(),
        zero_for_one in any::<bool>(),
        amount in any::<i128>(),
    ) {
        let reg = vreg();
        let pool = reg.v3(V3Id(0)).unwrap();
        let amount = I256::try_from(amount).unwrap();
        let limit = default_price_limit(zero_for_one);
        prop_assert_eq!(
            V3State::of(pool).quote(pool, zero_for_one, amount, limit),
            pool.quote(zero_for_one, amount, limit)
        );
        let sqrt = if bits == 0 { U256::ZERO } else { U256::from_limbs(limbs) >> (256 - bits) };
        let state = V3State { sqrt_price_x96: sqrt, tick, liquidity };
        let _ = state.quote(pool, zero_for_one, amount, limit);
        // A consistent price and tick with any liquidity: the loop runs.
        let near = tick % 20_000;
        let consistent = V3State {
            sqrt_price_x96: get_sqrt_ratio_at_tick(near).unwrap(),
            tick: near,
            liquidity,
        };
        let _ = consistent.quote(pool, zero_for_one, amount, limit);
    }
}

// --- allocation -------------------------------------------------------------------------------

#[test]
fn replay_and_cycle_search_allocate_nothing() {
    let reg = vreg();
    let data = ur_execute(
        &[
            (WRAP, ur_wrap(ADDRESS_THIS, CONTRACT_BALANCE)),
            // With per-hop floors, which are checked (and met) without allocating either.
            (
                V3_IN,
                ur_v3_floors(
                    ADDRESS_THIS,
                    CONTRACT_BALANCE,
                    U256::ZERO,
                    packed_path(&[W, A], &[3000], false),
                    false,
                    &[U256::ONE],
                ),
            ),
            // A flagged sub-plan whose swap misses its floor: saved, undone, passed over.
            (
                SUB_PLAN | ALLOW_REVERT,
                ur_sub_plan(&[(
                    V3_IN,
                    ur_v3(
                        MSG_SENDER,
                        e18(1),
                        U256::MAX,
                        packed_path(&[W, A], &[500], false),
                        true,
                    ),
                )]),
            ),
            (
                V2_IN,
                ur_v2_floors(
                    MSG_SENDER,
                    CONTRACT_BALANCE,
                    U256::ZERO,
                    &[A, B],
                    false,
                    &[U256::ONE],
                ),
            ),
        ],
        NOW,
    );
    let value = e18(400);
    let env = env();
    let limits = CycleLimits::default();
    let p = params(e18(100_000));
    let before = allocations();
    let swaps = decode_universal(&data, value, UrVersion::V2_1).unwrap();
    let done = apply_swaps(&reg, &env, &swaps).unwrap();
    let (plan, stats) = find_cycle_backrun(&reg, &done.overlay, &p, &limits);
    let allocated = allocations() - before;
    assert_eq!(allocated, 0, "replay and search allocated");
    assert_eq!(
        done.legs()[1],
        LegAmounts::default(),
        "the sub-plan was undone"
    );
    let plan = plan.expect("a 400 WETH victim leaves a backrun");
    assert!(stats.cycles >= 6 && stats.evaluations >= 10, "{stats:?}");
    assert!(plan.profit_gross > U256::ZERO);
}

// --- Universal Router 2.1 per-hop price floors ------------------------------------------------
//
// Read off `V2SwapRouter.sol` / `V3SwapRouter.sol` at tag 2.1.1 (the same in 2.2.0): a hop's
// price is `amountOut * 1e36 / amountIn` (floored); `price < floor` reverts, so a floor equal to
// the price passes and one above it reverts. The prices below come from the pools' quotes and
// that formula, written out here.

/// Each set of floors makes `run` revert.
fn reverts_for_each(
    run: &dyn Fn(&[U256]) -> Result<kestrel_dex::victim::VictimOutcome, SkipReason>,
    cases: &[Vec<U256>],
) {
    for floors in cases {
        assert_eq!(
            run(floors),
            Err(SkipReason::VictimWouldRevert),
            "{floors:?}"
        );
    }
}

/// `Constants.PRICE_PRECISION`.
fn e36() -> U256 {
    U256::from(10u8).pow(U256::from(36u8))
}

fn hop_price(amount_out: U256, amount_in: U256) -> U256 {
    amount_out.checked_mul(e36()).unwrap() / amount_in
}

#[test]
fn ur_v2_exact_in_hop_floors_pass_at_the_price_and_revert_one_above() {
    let reg = vreg();
    let amount = e18(30);
    let (wa, ab) = (reg.v2().pool(PoolId(0)), reg.v2().pool(PoolId(1)));
    // W -> A on W/A (A is token0), then A -> B on A/B (A is token0).
    let a_out = get_amount_out(amount, wa.reserve1, wa.reserve0, 997).unwrap();
    let b_out = get_amount_out(a_out, ab.reserve0, ab.reserve1, 997).unwrap();
    let (p0, p1) = (hop_price(a_out, amount), hop_price(b_out, a_out));
    let run = |floors: &[U256]| {
        let data = ur_execute(
            &[(
                V2_IN,
                ur_v2_floors(MSG_SENDER, amount, U256::ZERO, &[W, A, B], true, floors),
            )],
            NOW,
        );
        apply_ur(&reg, &env(), &data, U256::ZERO)
    };
    let one = U256::ONE;
    for floors in [
        vec![],
        vec![U256::ZERO, U256::ZERO],
        vec![p0, p1],
        vec![p0, U256::ZERO],
        vec![U256::ZERO, p1],
    ] {
        let done = run(&floors).unwrap_or_else(|e| panic!("{floors:?}: {e:?}"));
        assert_eq!(legs(&done), [(amount, b_out)]);
    }
    reverts_for_each(
        &run,
        &[
            vec![p0 + one, p1],
            vec![p0, p1 + one],
            vec![p0 + one, U256::ZERO],
            vec![U256::ZERO, p1 + one],
            vec![U256::MAX, U256::ZERO],
        ],
    );
    // V2InvalidHopPriceLength: one floor per pair or none, even when all are zero.
    reverts_for_each(&run, &[vec![U256::ZERO], vec![U256::ZERO; 3], vec![p0]]);
}

#[test]
fn ur_v2_exact_out_hop_floors_use_the_forward_pass() {
    let reg = vreg();
    let want = e18(25);
    let (wa, ab) = (reg.v2().pool(PoolId(0)), reg.v2().pool(PoolId(1)));
    let a_needed = get_amount_in(want, ab.reserve0, ab.reserve1, 997).unwrap();
    let w_needed = get_amount_in(a_needed, wa.reserve1, wa.reserve0, 997).unwrap();
    // `_v2Swap` reruns the pairs forward from what was paid; the prices are of those amounts.
    let a_got = get_amount_out(w_needed, wa.reserve1, wa.reserve0, 997).unwrap();
    let b_got = get_amount_out(a_got, ab.reserve0, ab.reserve1, 997).unwrap();
    let (p0, p1) = (hop_price(a_got, w_needed), hop_price(b_got, a_got));
    let run = |floors: &[U256]| {
        let data = ur_execute(
            &[(
                V2_OUT,
                ur_v2_floors(USER, want, w_needed, &[W, A, B], true, floors),
            )],
            NOW,
        );
        apply_ur(&reg, &env(), &data, U256::ZERO)
    };
    assert_eq!(legs(&run(&[p0, p1]).unwrap()), [(w_needed, b_got)]);
    assert_eq!(
        run(&[p0 + U256::ONE, p1]),
        Err(SkipReason::VictimWouldRevert)
    );
    assert_eq!(
        run(&[p0, p1 + U256::ONE]),
        Err(SkipReason::VictimWouldRevert)
    );
    assert_eq!(run(&[p0]), Err(SkipReason::VictimWouldRevert), "length");
}

#[test]
fn ur_v2_leg_paying_its_own_pair_moves_only_the_input_reserve() {
    let reg = vreg();
    let amount = e18(2);
    let ab = reg.v2().pool(PoolId(1));
    let (r0, r1) = (ab.reserve0, ab.reserve1);
    // A -> B with the pair as recipient: it sends its B to itself, and `_update` syncs both
    // reserves to its balances: A grew by the input, B did not move.
    let data = ur_execute(
        &[(V2_IN, ur_v2(ab.address, amount, U256::ZERO, &[A, B], true))],
        NOW,
    );
    let outcome = apply_ur(&reg, &env(), &data, U256::ZERO).expect("swaps");
    let expected = if ab.token0 == A {
        (r0 + amount, r1)
    } else {
        (r0, r1 + amount)
    };
    assert_eq!(v2_state(&outcome.overlay, 1), Some(expected));
    // Paid to anyone else, the B leaves the pair.
    let data = ur_execute(
        &[(V2_IN, ur_v2(USER, amount, U256::ZERO, &[A, B], true))],
        NOW,
    );
    let outcome = apply_ur(&reg, &env(), &data, U256::ZERO).expect("swaps");
    let (_, out) = legs(&outcome)[0];
    let b_left = if ab.token0 == A { r1 - out } else { r0 - out };
    let state = v2_state(&outcome.overlay, 1).expect("moved");
    assert!(state.0 == b_left || state.1 == b_left, "{state:?}");
}

#[test]
fn ur_v2_hop_floor_reads_the_receivers_balance_so_a_pair_paying_itself_gets_nothing() {
    let reg = vreg();
    let amount = e18(2);
    let ab = reg.v2().pool(PoolId(1));
    let run = |floors: &[U256]| {
        // The recipient is the pair itself: its balance of B does not grow.
        let data = ur_execute(
            &[(
                V2_IN,
                ur_v2_floors(ab.address, amount, U256::ZERO, &[A, B], true, floors),
            )],
            NOW,
        );
        apply_ur(&reg, &env(), &data, U256::ZERO)
    };
    assert!(run(&[U256::ZERO]).is_ok(), "a zero floor is not checked");
    assert_eq!(run(&[U256::ONE]), Err(SkipReason::VictimWouldRevert));
    // A -> B -> A: the next pair is the same pair, which pays its B to itself; the second
    // hop then finds no input above its reserve and reverts, with or without floors.
    let back = |floors: &[U256]| {
        let data = ur_execute(
            &[(
                V2_IN,
                ur_v2_floors(MSG_SENDER, amount, U256::ZERO, &[A, B, A], true, floors),
            )],
            NOW,
        );
        apply_ur(&reg, &env(), &data, U256::ZERO)
    };
    reverts_for_each(
        &back,
        &[vec![U256::ONE, U256::ZERO], vec![U256::ZERO; 2], vec![]],
    );
}

#[test]
fn ur_v3_exact_in_hop_floors_pass_at_the_price_and_revert_one_above() {
    let reg = vreg();
    let amount = e18(20);
    // W -> A on pool 0 (W > A: one-for-zero), A -> B on pool 1 (zero-for-one).
    let (r0, _) = swap(reg.v3(V3Id(0)).unwrap(), false, i(amount));
    let a_out = raw(r0.amount_out(false));
    let (r1, _) = swap(reg.v3(V3Id(1)).unwrap(), true, i(a_out));
    let b_out = raw(r1.amount_out(true));
    let (p0, p1) = (hop_price(a_out, amount), hop_price(b_out, a_out));
    let run = |floors: &[U256]| {
        let path = packed_path(&[W, A, B], &[3000, 500], false);
        let data = ur_execute(
            &[(
                V3_IN,
                ur_v3_floors(MSG_SENDER, amount, U256::ZERO, path, true, floors),
            )],
            NOW,
        );
        apply_ur(&reg, &env(), &data, U256::ZERO)
    };
    let one = U256::ONE;
    for floors in [vec![], vec![U256::ZERO; 2], vec![p0, p1]] {
        let done = run(&floors).unwrap_or_else(|e| panic!("{floors:?}: {e:?}"));
        assert_eq!(legs(&done), [(amount, b_out)]);
    }
    reverts_for_each(
        &run,
        &[
            vec![p0 + one, p1],
            vec![p0, p1 + one],
            vec![p0 + one, U256::ZERO],
            vec![U256::ZERO, p1 + one],
        ],
    );
    // V3HopPriceAndPathLengthMismatch.
    reverts_for_each(&run, &[vec![U256::ZERO], vec![U256::ZERO; 3]]);
}

#[test]
fn ur_v3_exact_in_hop_price_divides_by_the_amount_asked_not_the_amount_taken() {
    let reg = vreg();
    // More W than pool 0 can take: it fills partially, to its price bound.
    let amount = e18(1_000_000_000);
    let (r, _) = swap(reg.v3(V3Id(0)).unwrap(), false, i(amount));
    let (taken, out) = (raw(r.amount_in(false)), raw(r.amount_out(false)));
    assert!(taken < amount, "a partial fill");
    let asked = hop_price(out, amount);
    assert!(hop_price(out, taken) > asked + U256::ONE);
    let run = |floor: U256| {
        let path = packed_path(&[W, A], &[3000], false);
        let data = ur_execute(
            &[(
                V3_IN,
                ur_v3_floors(MSG_SENDER, amount, U256::ZERO, path, true, &[floor]),
            )],
            NOW,
        );
        apply_ur(&reg, &env(), &data, U256::ZERO)
    };
    assert_eq!(legs(&run(asked).unwrap()), [(taken, out)]);
    assert_eq!(run(asked + U256::ONE), Err(SkipReason::VictimWouldRevert));
}

#[test]
fn ur_v3_exact_out_hop_floors_are_in_trade_order_and_checked_per_pool() {
    let reg = vreg();
    let want = e18(12);
    // Trade W -> A -> B; the pools run A/B first (for `want`), then W/A (for what A/B asks).
    let (r_ab, _) = swap(reg.v3(V3Id(1)).unwrap(), true, i(want).wrapping_neg());
    assert_eq!(raw(r_ab.amount_out(true)), want);
    let a_needed = raw(r_ab.amount_in(true));
    let (r_wa, _) = swap(reg.v3(V3Id(0)).unwrap(), false, i(a_needed).wrapping_neg());
    assert_eq!(raw(r_wa.amount_out(false)), a_needed);
    let w_needed = raw(r_wa.amount_in(false));
    // Trade hop 0 is W -> A, hop 1 is A -> B.
    let (p0, p1) = (hop_price(a_needed, w_needed), hop_price(want, a_needed));
    assert_ne!(p0, p1);
    let run = |floors: &[U256]| {
        let path = packed_path(&[W, A, B], &[3000, 500], true);
        let data = ur_execute(
            &[(
                V3_OUT,
                ur_v3_floors(USER, want, w_needed, path, true, floors),
            )],
            NOW,
        );
        apply_ur(&reg, &env(), &data, U256::ZERO)
    };
    let one = U256::ONE;
    for floors in [vec![p0, p1], vec![p0, U256::ZERO], vec![U256::ZERO, p1]] {
        let done = run(&floors).unwrap_or_else(|e| panic!("{floors:?}: {e:?}"));
        assert_eq!(legs(&done), [(w_needed, want)]);
    }
    reverts_for_each(
        &run,
        &[
            vec![p0 + one, p1],
            vec![p0, p1 + one],
            vec![p0 + one, U256::ZERO],
            vec![U256::ZERO, p1 + one],
        ],
    );
    reverts_for_each(&run, &[vec![p0], vec![p0, p1, U256::ZERO]]);
    // One pool: its single floor.
    let single = |floor: U256| {
        let path = packed_path(&[A, B], &[500], true);
        let data = ur_execute(
            &[(
                V3_OUT,
                ur_v3_floors(USER, want, U256::MAX, path, true, &[floor]),
            )],
            NOW,
        );
        apply_ur(&reg, &env(), &data, U256::ZERO)
    };
    assert!(single(p1).is_ok());
    assert_eq!(single(p1 + one), Err(SkipReason::VictimWouldRevert));
}
