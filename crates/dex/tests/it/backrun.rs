//! Victim replay and backrun choice: hand-worked examples, every skip reason, and a property
//! test against brute-force scans.

use kestrel_dex::backrun::{BackrunParams, Overlay, apply_victim, find_backrun};
use kestrel_dex::math::get_amount_out;
use kestrel_dex::pool::{FactoryInfo, PoolSnapshot, V2Pool};
use kestrel_dex::router::decode_router02;
use kestrel_types::{Address, B256, FactoryId, PoolId, SkipReason, U256};
use proptest::prelude::*;

use crate::support::{Args, coarse_sizes, cycle_gain, encode, u, within_tolerance};

// Token addresses chosen so that WETH < TKN < TK2 (token0 is the lower address).
const WETH: Address = Address::with_last_byte(0x01);
const TKN: Address = Address::with_last_byte(0x02);
const TK2: Address = Address::with_last_byte(0x03);
const NOW: u64 = 1_700_000_000;

fn factory(i: u8, fee_num: u32) -> FactoryInfo {
    FactoryInfo {
        address: Address::with_last_byte(0xf0 + i),
        router: Address::with_last_byte(0xe0 + i),
        init_code_hash: B256::ZERO,
        fee_num,
    }
}

fn pool(a: u8, token0: Address, token1: Address, r0: U256, r1: U256, f: u8) -> V2Pool {
    V2Pool {
        address: Address::with_last_byte(a),
        token0,
        token1,
        reserve0: r0,
        reserve1: r1,
        factory: FactoryId(f),
    }
}

/// P0 = WETH/TKN on factory 0, P1 = WETH/TKN on factory 1, P2 = TKN/TK2 on factory 0, all at
/// 1000 / 2000.
fn snapshot() -> PoolSnapshot {
    PoolSnapshot::new(
        1,
        vec![factory(0, 997), factory(1, 997)],
        vec![
            pool(0x10, WETH, TKN, u(1000), u(2000), 0),
            pool(0x11, WETH, TKN, u(1000), u(2000), 1),
            pool(0x12, TKN, TK2, u(1000), u(2000), 0),
        ],
    )
}

/// Encodes function `which` (see `support::encode`) with a deadline of NOW.
fn call(which: u8, a: u128, b: u128, path: &[Address], value: u128) -> (Vec<u8>, U256) {
    let x = Args {
        a: u(a),
        b: u(b),
        path: path.to_vec(),
        to: Address::with_last_byte(0xcc),
        deadline: U256::from(NOW),
        value: u(value),
    };
    (encode(which, &x).0, x.value)
}

fn replay(
    snap: &PoolSnapshot,
    which: u8,
    a: u128,
    b: u128,
    path: &[Address],
    value: u128,
    fot: &[Address],
) -> Result<Overlay, SkipReason> {
    let (data, value) = call(which, a, b, path, value);
    let intent = decode_router02(&data, value).expect("test calldata decodes");
    apply_victim(snap, FactoryId(0), WETH, &intent, NOW, fot)
}

fn params(gas: u128, min_profit: u128, bps: u32) -> BackrunParams {
    BackrunParams {
        capital_token: WETH,
        capital: u(1_000_000),
        min_profit_wei: u(min_profit),
        gas_cost_wei: u(gas),
        payment_bps: bps,
    }
}

#[test]
fn exact_eth_in_victim_then_hand_worked_backrun() {
    let snap = snapshot();
    // swapExactETHForTokens(amountOutMin 181), value 100, path WETH -> TKN on P0 (1000 / 2000):
    // 100*997 = 99_700; 99_700*2000 = 199_400_000; 1000*1000 + 99_700 = 1_099_700;
    // 199_400_000 / 1_099_700 = 181.3 -> 181. P0 becomes WETH 1100, TKN 1819.
    let overlay = replay(&snap, 2, 181, 0, &[WETH, TKN], 100, &[]).unwrap();
    assert_eq!(overlay.touched().collect::<Vec<_>>(), [PoolId(0)]);
    assert_eq!(overlay.reserves(&snap, PoolId(0)), (u(1100), u(1819)));
    assert_eq!(
        overlay.reserves(&snap, PoolId(1)),
        (u(1000), u(2000)),
        "untouched pools read the snapshot"
    );

    // TKN is now dearer in WETH on P0, so buy TKN on P1 and sell it on P0:
    //   k = 997_000_000; s = isqrt(1000*2000) * isqrt(1100*1819) = 1414 * 1414 = 1_999_396
    //   lhs = 1_999_396 * 997_000_000 / 1000 = 1_993_397_812_000; rhs = 10^6*1000*1819
    //   den = 1000*997*1819 + 997*997*2000 = 3_801_561_000
    //   opt = (1_993_397_812_000 - 1_819_000_000_000) / 3_801_561_000 = 45.9 -> 45
    //   mid = 45*997*2000 / (1_000_000 + 44_865) = 89_730_000 / 1_044_865 = 85.9 -> 85
    //   out = 85*997*1100 / (1_819_000 + 84_745) = 93_219_500 / 1_903_745 = 48.97 -> 48
    //   gross = 3; payment at 50 % = 1 (1.5 floored); net = 2.
    let plan = find_backrun(&snap, &overlay, &params(1, 1, 5000)).unwrap();
    assert_eq!((plan.pool_buy, plan.pool_sell), (PoolId(1), PoolId(0)));
    assert_eq!(
        (plan.amount_in, plan.amount_mid, plan.amount_out),
        (u(45), u(85), u(48))
    );
    assert_eq!(
        (plan.profit_gross, plan.payment, plan.profit_net),
        (u(3), u(1), u(2))
    );
    // Net 2 < gas 2 + min 1.
    assert_eq!(
        find_backrun(&snap, &overlay, &params(2, 1, 5000)),
        Err(SkipReason::BelowMinProfit)
    );
    // Capital of 10: mid = 9970*2000/1_009_970 = 19.7 -> 19; out = 18_943*1100/1_837_943 = 11.3 -> 11.
    let small = BackrunParams {
        capital: u(10),
        ..params(0, 0, 0)
    };
    let plan = find_backrun(&snap, &overlay, &small).unwrap();
    assert_eq!(
        (
            plan.amount_in,
            plan.amount_mid,
            plan.amount_out,
            plan.profit_net
        ),
        (u(10), u(19), u(11), u(1))
    );
}

#[test]
fn no_price_move_is_unprofitable_and_lone_pairs_have_no_cycle() {
    let snap = snapshot();
    // A victim on TKN -> TK2 only touches P2, which holds no WETH.
    let overlay = replay(&snap, 0, 100, 1, &[TKN, TK2], 0, &[]).unwrap();
    assert_eq!(
        find_backrun(&snap, &overlay, &params(0, 0, 0)),
        Err(SkipReason::NoCycle)
    );
    // 1 wei in: 997*2000/1_000_997 = 1.99 -> 1 TKN out; P0 = 1001 / 1999, too small a move.
    let overlay = replay(&snap, 0, 1, 1, &[WETH, TKN], 0, &[]).unwrap();
    assert_eq!(overlay.reserves(&snap, PoolId(0)), (u(1001), u(1999)));
    assert_eq!(
        find_backrun(&snap, &overlay, &params(0, 0, 0)),
        Err(SkipReason::Unprofitable)
    );
}

#[test]
fn exact_out_victims_that_would_revert() {
    let snap = snapshot();
    // swapETHForExactTokens(181 TKN): getAmountIn = 1000*181*1000 / ((2000-181)*997) + 1
    // = 181_000_000 / 1_813_543 + 1 = 99 + 1 = 100. A value of 99 reverts, 100 passes.
    assert_eq!(
        replay(&snap, 5, 181, 0, &[WETH, TKN], 99, &[]),
        Err(SkipReason::VictimWouldRevert)
    );
    let overlay = replay(&snap, 5, 181, 0, &[WETH, TKN], 100, &[]).unwrap();
    assert_eq!(overlay.reserves(&snap, PoolId(0)), (u(1100), u(1819)));
    // swapTokensForExactTokens(181 TKN, amountInMax 99) reverts the same way.
    assert_eq!(
        replay(&snap, 1, 181, 99, &[WETH, TKN], 0, &[]),
        Err(SkipReason::VictimWouldRevert)
    );
    // Exact-out of the whole reserve is impossible.
    assert_eq!(
        replay(&snap, 1, 2000, 1 << 100, &[WETH, TKN], 0, &[]),
        Err(SkipReason::VictimWouldRevert)
    );
    // Exact-in below its amountOutMin (181 out, 182 asked).
    assert_eq!(
        replay(&snap, 2, 182, 0, &[WETH, TKN], 100, &[]),
        Err(SkipReason::VictimWouldRevert)
    );
    // ETH in on a path that does not start with WETH, ETH out on one that does not end with it.
    assert_eq!(
        replay(&snap, 2, 1, 0, &[TKN, WETH], 100, &[]),
        Err(SkipReason::VictimWouldRevert)
    );
    assert_eq!(
        replay(&snap, 4, 100, 1, &[WETH, TKN], 0, &[]),
        Err(SkipReason::VictimWouldRevert)
    );
    // A zero input: the library reverts.
    assert_eq!(
        replay(&snap, 0, 0, 0, &[WETH, TKN], 0, &[]),
        Err(SkipReason::VictimWouldRevert)
    );
}

#[test]
fn expired_unknown_and_fee_on_transfer() {
    let snap = snapshot();
    let (data, value) = call(0, 100, 1, &[WETH, TKN], 0);
    let intent = decode_router02(&data, value).unwrap();
    assert_eq!(
        apply_victim(&snap, FactoryId(0), WETH, &intent, NOW + 1, &[]),
        Err(SkipReason::VictimExpired)
    );
    assert!(
        apply_victim(&snap, FactoryId(0), WETH, &intent, NOW, &[]).is_ok(),
        "deadline == now is allowed"
    );
    // WETH -> TK2 has no pool; factory 1 has no TKN/TK2 pool; factory 5 is not configured.
    assert_eq!(
        replay(&snap, 0, 100, 1, &[WETH, TK2], 0, &[]),
        Err(SkipReason::UnknownPool)
    );
    assert_eq!(
        apply_victim(&snap, FactoryId(5), WETH, &intent, NOW, &[]),
        Err(SkipReason::UnknownPool)
    );
    let (data2, _) = call(0, 100, 1, &[TKN, TK2], 0);
    let intent2 = decode_router02(&data2, U256::ZERO).unwrap();
    assert_eq!(
        apply_victim(&snap, FactoryId(1), WETH, &intent2, NOW, &[]),
        Err(SkipReason::UnknownPool)
    );
    // A listed fee-on-transfer token, with the plain and with the FoT variant.
    assert_eq!(
        replay(&snap, 0, 100, 1, &[WETH, TKN], 0, &[TKN]),
        Err(SkipReason::FeeOnTransfer)
    );
    assert_eq!(
        replay(&snap, 6, 100, 1, &[WETH, TKN], 0, &[TKN]),
        Err(SkipReason::FeeOnTransfer)
    );
    // The FoT variant with ordinary tokens moves the pool exactly like the exact-in function.
    let plain = replay(&snap, 0, 100, 1, &[WETH, TKN], 0, &[TK2]).unwrap();
    assert_eq!(
        replay(&snap, 6, 100, 1, &[WETH, TKN], 0, &[TK2]).unwrap(),
        plain
    );
    assert_eq!(
        replay(&snap, 7, 1, 0, &[WETH, TKN], 100, &[]).unwrap(),
        plain
    );
}

#[test]
fn multi_hop_path_touches_two_pools() {
    let snap = snapshot();
    // swapExactTokensForTokens(100, 1, [WETH, TKN, TK2]):
    //   hop 1 on P0: 100 WETH -> 181 TKN (as above); P0 = 1100 WETH / 1819 TKN.
    //   hop 2 on P2 (TKN 1000 / TK2 2000): 181*997 = 180_457; *2000 = 360_914_000;
    //   1000*1000 + 180_457 = 1_180_457; 360_914_000 / 1_180_457 = 305.7 -> 305.
    //   P2 = 1181 TKN / 1695 TK2.
    let overlay = replay(&snap, 0, 100, 305, &[WETH, TKN, TK2], 0, &[]).unwrap();
    assert_eq!(
        overlay.touched().collect::<Vec<_>>(),
        [PoolId(0), PoolId(2)]
    );
    assert_eq!(overlay.reserves(&snap, PoolId(0)), (u(1100), u(1819)));
    assert_eq!(overlay.reserves(&snap, PoolId(2)), (u(1181), u(1695)));
    assert_eq!(
        replay(&snap, 0, 100, 306, &[WETH, TKN, TK2], 0, &[]),
        Err(SkipReason::VictimWouldRevert)
    );
    // The cycle goes through P0, the touched WETH pool, as in the single-hop case.
    let plan = find_backrun(&snap, &overlay, &params(0, 0, 0)).unwrap();
    assert_eq!(
        (plan.pool_buy, plan.pool_sell, plan.profit_gross),
        (PoolId(1), PoolId(0), u(3))
    );
    // A five-token path is too long (the decoder already refuses it).
    let (data, _) = call(0, 100, 1, &[WETH, TKN, TK2, WETH, TKN], 0);
    assert_eq!(
        decode_router02(&data, U256::ZERO),
        Err(SkipReason::PathTooLong)
    );
}

/// Two WETH/TKN pools on factories with random fees; a random exact-in victim on factory 0.
fn scenario() -> impl Strategy<Value = (PoolSnapshot, bool, u128, u128)> {
    (
        1_000_000_000u128..(1u128 << 100),
        1_000_000_000u128..(1u128 << 100),
        1u128..10_000,
        -50i128..=50,
        (990u32..=1000, 990u32..=1000),
        any::<bool>(),
        1u128..1000,
        prop_oneof![Just(u128::MAX), 1u128..(1u128 << 100)],
    )
        .prop_map(
            |(w, t, depth, skew, (f0, f1), weth_in, victim_milli, capital)| {
                let (w1, t1) = (
                    w * depth / 1000 + 1,
                    (t * depth / 1000) * (1000 + skew) as u128 / 1000 + 1,
                );
                let snap = PoolSnapshot::new(
                    1,
                    vec![factory(0, f0), factory(1, f1)],
                    vec![
                        pool(0x10, WETH, TKN, u(w), u(t), 0),
                        pool(0x11, WETH, TKN, u(w1), u(t1), 1),
                    ],
                );
                // The victim pays up to 100 % of P0's input-side reserve.
                let victim_in = if weth_in { w } else { t } / 1000 * victim_milli + 1;
                (snap, weth_in, victim_in, capital)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn plan_is_exact_and_no_scanned_cycle_beats_it((snap, weth_in, victim_in, capital) in scenario()) {
        let path = if weth_in { [WETH, TKN] } else { [TKN, WETH] };
        let overlay = replay(&snap, 0, victim_in, 1, &path, 0, &[]).unwrap();
        let p = BackrunParams { capital: u(capital), ..params(0, 0, 1234) };
        let result = find_backrun(&snap, &overlay, &p);

        // Brute force over both directions and coarse sizes up to the capital.
        let oriented = |id: PoolId| {
            let (r0, r1) = overlay.reserves(&snap, id);
            let f = snap.factories()[usize::from(snap.pool(id).factory.0)].fee_num;
            (r0, r1, f) // token0 is WETH in both pools
        };
        let mut best_scan = U256::ZERO;
        for (buy, sell) in [(PoolId(0), PoolId(1)), (PoolId(1), PoolId(0))] {
            let ((x1, y1, n1), (x2, y2, n2)) = (oriented(buy), oriented(sell));
            for dx in coarse_sizes(x1, x1 / u(1000), u(capital)) {
                best_scan = best_scan.max(cycle_gain(dx, x1, y1, y2, x2, n1, n2));
            }
        }

        match result {
            Ok(plan) => {
                let ((x1, y1, n1), (x2, y2, n2)) = (oriented(plan.pool_buy), oriented(plan.pool_sell));
                prop_assert!(plan.amount_in <= u(capital));
                let mid = get_amount_out(plan.amount_in, x1, y1, n1).unwrap();
                let out = get_amount_out(mid, y2, x2, n2).unwrap();
                prop_assert_eq!((plan.amount_mid, plan.amount_out), (mid, out));
                prop_assert_eq!(plan.profit_gross, out - plan.amount_in);
                prop_assert_eq!(plan.payment, plan.profit_gross * u(1234) / u(10_000));
                prop_assert_eq!(plan.profit_net + plan.payment, plan.profit_gross);
                prop_assert!(within_tolerance(plan.profit_gross, best_scan, 4), "plan {:?}, scan {}", plan, best_scan);
            }
            Err(reason) => {
                prop_assert_eq!(reason, SkipReason::Unprofitable);
                prop_assert!(best_scan <= u(4), "skipped, but a scan gains {}", best_scan);
            }
        }
    }
}

#[test]
fn a_path_that_turns_straight_back_through_one_pair_reverts() {
    // [WETH, TKN, WETH] on P0: Router02 prices both hops on the pre-swap reserves and sends the
    // first hop's TKN to the second hop's pair, which is P0 itself. The TKN never leaves, so
    // `_update` keeps P0's TKN reserve at 2000 and the second `swap` finds nothing above the
    // reserves: INSUFFICIENT_INPUT_AMOUNT (anvil agrees: kestrel's engine test
    // `a_path_back_through_the_same_pair_reverts_on_chain_and_gets_no_bundle`).
    let snap = snapshot();
    let back = [WETH, TKN, WETH];
    assert_eq!(
        replay(&snap, 0, 100, 0, &back, 0, &[]),
        Err(SkipReason::VictimWouldRevert)
    );
    assert_eq!(
        replay(&snap, 1, 10, 1_000, &back, 0, &[]),
        Err(SkipReason::VictimWouldRevert)
    );
    // Through two different pairs the same amounts go.
    assert!(replay(&snap, 0, 100, 0, &[WETH, TKN, TK2], 0, &[]).is_ok());
}
