//! Route transactions signed on the hot path decode with alloy, carry exactly the parameters and
//! calldata given, recover to our signer, and encode the very payload alloy signs; the fallback
//! signature is byte-identical to `LocalSigner::sign_tx`; a filled pool means no allocation.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, TxKind, U256, keccak256};
use kestrel_bus::thread_allocations as allocations;
use kestrel_fire::executor::{
    BACKRUN_ROUTE_CALLDATA_MAX_LEN, HopKind, RouteError, RouteHop, encode_backrun_route,
};
use kestrel_fire::route_tx::ROUTE_TX_MAX_LEN;
use kestrel_fire::{
    LocalSigner, PresigPool, RouteCall, RouteTx, RouteTxBuilder, RouteTxError, RouteTxParams,
};
use proptest::prelude::*;

/// anvil's account 0, a published key.
const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ANVIL_0: Address = alloy_primitives::address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

fn signer() -> LocalSigner {
    LocalSigner::from_hex(KEY).unwrap()
}

fn params() -> RouteTxParams {
    RouteTxParams {
        chain_id: 1,
        nonce: 1_234,
        max_fee_per_gas: 40_000_000_000,
        max_priority_fee_per_gas: 1_500_000_000,
        gas_limit: 420_000,
        executor: Address::repeat_byte(0xee),
    }
}

/// A mixed three-hop cycle: V2 in, V3, V2 out.
fn route() -> [RouteHop; 3] {
    [
        RouteHop {
            pool: Address::repeat_byte(0x11),
            kind: HopKind::V2 { fee_num: 997 },
            zero_for_one: true,
        },
        RouteHop {
            pool: Address::repeat_byte(0x22),
            kind: HopKind::V3,
            zero_for_one: false,
        },
        RouteHop {
            pool: Address::repeat_byte(0x33),
            kind: HopKind::V2 { fee_num: 996 },
            zero_for_one: false,
        },
    ]
}

fn call(route: &[RouteHop]) -> RouteCall<'_> {
    RouteCall {
        route,
        amount_in: U256::from(3_000_000_000_000_000_000u128),
        min_profit: U256::from(10_000_000_000_000u64),
        payment_bps: 9_000,
    }
}

fn filled_pool(n: usize) -> PresigPool {
    let pool = PresigPool::with_capacity(n);
    assert_eq!(pool.refill().unwrap(), n);
    pool
}

/// The calldata, by the encoder the executor's tests check against alloy's ABI encoder.
fn expected_calldata(call: &RouteCall<'_>) -> Vec<u8> {
    let mut buf = [0u8; BACKRUN_ROUTE_CALLDATA_MAX_LEN];
    let n = encode_backrun_route(
        &mut buf,
        call.route,
        call.amount_in,
        call.min_profit,
        call.payment_bps,
    )
    .unwrap();
    buf[..n].to_vec()
}

/// The same transaction built the alloy way.
fn alloy_tx(p: &RouteTxParams, call: &RouteCall<'_>) -> TxEip1559 {
    TxEip1559 {
        chain_id: p.chain_id,
        nonce: p.nonce,
        gas_limit: p.gas_limit,
        max_fee_per_gas: p.max_fee_per_gas,
        max_priority_fee_per_gas: p.max_priority_fee_per_gas,
        to: TxKind::Call(p.executor),
        value: U256::ZERO,
        access_list: Default::default(),
        input: expected_calldata(call).into(),
    }
}

/// Decodes `tx` with alloy and checks every field, the signer and the hash.
fn check(tx: &RouteTx<'_>, p: &RouteTxParams, call: &RouteCall<'_>) {
    assert!(tx.raw.len() <= ROUTE_TX_MAX_LEN);
    assert_eq!(tx.hash, keccak256(tx.raw));
    let mut rest = tx.raw;
    let env = TxEnvelope::decode_2718(&mut rest).unwrap();
    assert!(rest.is_empty(), "trailing bytes after the envelope");
    let TxEnvelope::Eip1559(signed) = &env else {
        panic!("not EIP-1559: {env:?}")
    };
    assert_eq!(*signed.hash(), tx.hash);
    assert_eq!(env.recover_signer().unwrap(), ANVIL_0);
    let want = alloy_tx(p, call);
    let got = signed.tx();
    assert_eq!(
        (got.chain_id, got.nonce, got.gas_limit),
        (p.chain_id, p.nonce, p.gas_limit)
    );
    assert_eq!(
        (got.max_fee_per_gas, got.max_priority_fee_per_gas),
        (p.max_fee_per_gas, p.max_priority_fee_per_gas)
    );
    assert_eq!((got.to, got.value), (TxKind::Call(p.executor), U256::ZERO));
    assert!(got.access_list.is_empty());
    assert_eq!(got.input, want.input);
    assert_eq!(*got, want);
    // Recovery above used alloy's signing hash, so we signed exactly the payload alloy signs.
    assert_eq!(got.signature_hash(), want.signature_hash());
}

#[test]
fn presigned_tx_decodes_with_alloy_and_recovers() {
    let (p, route, signer) = (params(), route(), signer());
    let pool = filled_pool(4);
    let mut builder = RouteTxBuilder::new();
    let tx = builder.build(&p, &call(&route), &signer, &pool).unwrap();
    check(&tx, &p, &call(&route));
    assert_eq!((pool.len(), pool.fallbacks()), (3, 0), "one nonce spent");
    let alloy = signer.sign_tx(alloy_tx(&p, &call(&route))).unwrap();
    assert_ne!(tx.hash, alloy.hash, "a random nonce, not RFC 6979's");
    assert!(
        tx.raw.len().abs_diff(alloy.raw.len()) <= 2,
        "only r and s may differ"
    );
}

#[test]
fn fallback_is_counted_and_identical_to_the_alloy_path() {
    let (p, route, signer) = (params(), route(), signer());
    let empty = PresigPool::with_capacity(4);
    let mut builder = RouteTxBuilder::new();
    let tx = builder.build(&p, &call(&route), &signer, &empty).unwrap();
    check(&tx, &p, &call(&route));
    assert_eq!(empty.fallbacks(), 1);
    // Both sign with libsecp256k1's RFC 6979 nonce: the whole envelope must match.
    let alloy = signer.sign_tx(alloy_tx(&p, &call(&route))).unwrap();
    assert_eq!(tx.raw, alloy.raw.as_slice());
    assert_eq!(tx.hash, alloy.hash);
}

#[test]
fn extreme_fields_encode_like_alloy() {
    let (route, signer) = (route(), signer());
    let mut builder = RouteTxBuilder::new();
    let empty = PresigPool::with_capacity(1);
    // Zero is the empty string, 0x7f is its own byte, 0x80 needs a header; then the maxima.
    for (small, big) in [
        (0u64, 0u128),
        (0x7f, 0x7f),
        (0x80, 0x80),
        (u64::MAX, u128::MAX),
    ] {
        let p = RouteTxParams {
            chain_id: small,
            nonce: small,
            max_fee_per_gas: big,
            max_priority_fee_per_gas: big,
            gas_limit: small,
            executor: Address::ZERO,
        };
        for hops in [2, 3] {
            let c = call(&route[..hops]);
            let tx = builder.build(&p, &c, &signer, &empty).unwrap();
            check(&tx, &p, &c);
            let alloy = signer.sign_tx(alloy_tx(&p, &c)).unwrap();
            assert_eq!(tx.raw, alloy.raw.as_slice(), "{small:#x} {hops} hops");
        }
    }
    // The longest fields with three hops come within r's and s's leading zeros of the bound.
    let p = RouteTxParams {
        chain_id: u64::MAX,
        nonce: u64::MAX,
        max_fee_per_gas: u128::MAX,
        max_priority_fee_per_gas: u128::MAX,
        gas_limit: u64::MAX,
        executor: Address::repeat_byte(0xff),
    };
    let tx = builder.build(&p, &call(&route), &signer, &empty).unwrap();
    assert!(tx.raw.len() + 2 >= ROUTE_TX_MAX_LEN, "{}", tx.raw.len());
}

#[test]
fn rejected_calls_spend_no_nonce() {
    let (p, route, signer) = (params(), route(), signer());
    let pool = filled_pool(2);
    let mut builder = RouteTxBuilder::new();
    let mut build = |c: RouteCall<'_>| builder.build(&p, &c, &signer, &pool).map(|t| t.hash);
    assert_eq!(
        build(call(&route[..1])),
        Err(RouteTxError::Route(RouteError::HopCount(1)))
    );
    assert_eq!(
        build(RouteCall {
            amount_in: U256::ZERO,
            ..call(&route)
        }),
        Err(RouteTxError::Route(RouteError::Amount))
    );
    assert_eq!(
        build(RouteCall {
            payment_bps: 10_001,
            ..call(&route)
        }),
        Err(RouteTxError::Route(RouteError::PaymentBps(10_001)))
    );
    assert_eq!((pool.len(), pool.fallbacks()), (2, 0));
}

#[test]
fn build_allocates_nothing_with_a_filled_pool() {
    const WARM: usize = 8;
    const MEASURED: usize = 200;
    let (p, route, signer) = (params(), route(), signer());
    let pool = filled_pool(WARM + MEASURED);
    let mut builder = RouteTxBuilder::new();
    for i in 0..WARM {
        let c = RouteCall {
            amount_in: U256::from(i + 1),
            ..call(&route)
        };
        builder.build(&p, &c, &signer, &pool).unwrap();
    }
    let mut hashes = 0u8;
    let before = allocations();
    for i in 0..MEASURED {
        let c = RouteCall {
            amount_in: U256::from(i + 1) << 64,
            ..call(&route[..2 + i % 2])
        };
        let tx = builder.build(&p, &c, &signer, &pool).unwrap();
        hashes ^= tx.hash[0];
    }
    let allocated = allocations() - before;
    std::hint::black_box(hashes);
    assert_eq!(allocated, 0, "build allocated {allocated} times");
    assert_eq!(
        (pool.len(), pool.fallbacks()),
        (0, 0),
        "every build presigned"
    );
    // The counter is live in this binary: one allocation shows.
    let probe = allocations();
    std::hint::black_box(Vec::<u8>::with_capacity(64));
    assert!(allocations() > probe);
}

fn hop_strategy() -> impl Strategy<Value = RouteHop> {
    let kind = prop_oneof![
        (1u16..=1000).prop_map(|fee_num| HopKind::V2 { fee_num }),
        Just(HopKind::V3),
    ];
    (any::<[u8; 20]>(), kind, any::<bool>()).prop_map(|(pool, kind, zero_for_one)| RouteHop {
        pool: Address::from(pool),
        kind,
        zero_for_one,
    })
}

/// Integers around RLP's boundaries (empty, one byte, headed) as often as random ones.
fn u64_strategy() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(0x7f),
        Just(0x80),
        Just(u64::MAX),
        any::<u64>(),
        (any::<u64>(), 0u32..64).prop_map(|(v, shift)| v >> shift),
    ]
}

fn u128_strategy() -> impl Strategy<Value = u128> {
    prop_oneof![
        Just(0u128),
        Just(0x7f),
        Just(0x80),
        Just(u128::MAX),
        (any::<u128>(), 0u32..128).prop_map(|(v, shift)| v >> shift),
    ]
}

fn params_strategy() -> impl Strategy<Value = RouteTxParams> {
    (
        u64_strategy(),
        u64_strategy(),
        u128_strategy(),
        u128_strategy(),
        u64_strategy(),
        any::<[u8; 20]>(),
    )
        .prop_map(
            |(chain_id, nonce, max_fee, max_priority, gas, executor)| RouteTxParams {
                chain_id,
                nonce,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: max_priority,
                gas_limit: gas,
                executor: Address::from(executor),
            },
        )
}

proptest! {
    #[test]
    fn random_params_and_routes_round_trip(
        p in params_strategy(),
        route in prop::collection::vec(hop_strategy(), 2..=3),
        amount in any::<[u8; 32]>(), shift in 1usize..256,
        min_profit in any::<[u8; 32]>(), payment_bps in 0u32..=10_000,
    ) {
        let c = RouteCall {
            route: &route,
            // amountIn below 2^255, and never zero.
            amount_in: (U256::from_be_bytes(amount) >> shift).max(U256::ONE),
            min_profit: U256::from_be_bytes(min_profit),
            payment_bps,
        };
        let signer = signer();
        let mut builder = RouteTxBuilder::new();
        let pool = filled_pool(1);
        let tx = builder.build(&p, &c, &signer, &pool).unwrap();
        check(&tx, &p, &c);
        prop_assert_eq!(pool.fallbacks(), 0);
        // Same builder, now an empty pool: the fallback matches alloy's envelope byte for byte.
        let tx = builder.build(&p, &c, &signer, &pool).unwrap();
        check(&tx, &p, &c);
        prop_assert_eq!(pool.fallbacks(), 1);
        let alloy = signer.sign_tx(alloy_tx(&p, &c)).unwrap();
        prop_assert_eq!(tx.raw, alloy.raw.as_slice());
        prop_assert_eq!(tx.hash, alloy.hash);
    }
}
