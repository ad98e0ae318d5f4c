//! Property tests: no input panics; hex decoding inverts an independent encoder; random signed
//! transactions built and encoded by alloy-consensus survive the JSON view and re-encode to
//! alloy's exact bytes and hash.

use crate::support::{notification, quantity};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, hex};
use kestrel_wire::{Frame, decode_hex_into, encode_signed_tx, fuzz_one, parse_frame};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The fields every generated transaction shares.
#[derive(Debug, Clone)]
struct Common {
    chain_id: u64,
    nonce: u64,
    gas_limit: u64,
    fees: (u128, u128),
    to: Option<Address>,
    value: U256,
    input: Vec<u8>,
    access: Vec<(Address, Vec<B256>)>,
    signature: (U256, U256, bool),
}

fn u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        any::<u64>().prop_map(U256::from),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ]
}

fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address::from)
}

fn common() -> impl Strategy<Value = Common> {
    let access = prop::collection::vec(
        (
            address(),
            prop::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 0..3),
        ),
        0..3,
    );
    (
        (
            0u64..=u64::from(u32::MAX),
            any::<u64>(),
            any::<u64>(),
            (any::<u128>(), any::<u128>()),
        ),
        (
            prop::option::of(address()),
            u256(),
            prop::collection::vec(any::<u8>(), 0..300),
        ),
        (access, (u256(), u256(), any::<bool>())),
    )
        .prop_map(
            |((chain_id, nonce, gas_limit, fees), (to, value, input), (access, signature))| {
                Common {
                    chain_id,
                    nonce,
                    gas_limit,
                    fees,
                    to,
                    value,
                    input,
                    access,
                    signature,
                }
            },
        )
}

fn kind(to: Option<Address>) -> TxKind {
    to.map_or(TxKind::Create, TxKind::Call)
}

fn access_list(common: &Common) -> AccessList {
    AccessList(
        common
            .access
            .iter()
            .map(|(address, keys)| AccessListItem {
                address: *address,
                storage_keys: keys.clone(),
            })
            .collect(),
    )
}

/// Sign (with an arbitrary, not necessarily valid, signature) and encode with alloy.
fn alloy_envelope(tx_type: u8, c: &Common) -> TxEnvelope {
    let (r, s, parity) = c.signature;
    let signature = Signature::new(r, s, parity);
    let input = Bytes::from(c.input.clone());
    match tx_type {
        0 => TxLegacy {
            chain_id: (c.chain_id != 0).then_some(c.chain_id),
            nonce: c.nonce,
            gas_price: c.fees.0,
            gas_limit: c.gas_limit,
            to: kind(c.to),
            value: c.value,
            input,
        }
        .into_signed(signature)
        .into(),
        1 => TxEip2930 {
            chain_id: c.chain_id,
            nonce: c.nonce,
            gas_price: c.fees.0,
            gas_limit: c.gas_limit,
            to: kind(c.to),
            value: c.value,
            access_list: access_list(c),
            input,
        }
        .into_signed(signature)
        .into(),
        _ => TxEip1559 {
            chain_id: c.chain_id,
            nonce: c.nonce,
            gas_limit: c.gas_limit,
            max_fee_per_gas: c.fees.0,
            max_priority_fee_per_gas: c.fees.1,
            to: kind(c.to),
            value: c.value,
            access_list: access_list(c),
            input,
        }
        .into_signed(signature)
        .into(),
    }
}

/// The JSON-RPC tx object a node would send for these fields, written from the spec.
fn json_object(tx_type: u8, c: &Common, hash: B256) -> Value {
    let (r, s, parity) = c.signature;
    let parity = u64::from(parity);
    // EIP-155: v = 35 + 2 * chainId + parity; pre-155 legacy: 27 + parity; typed: parity.
    let v = match (tx_type, c.chain_id) {
        (0, 0) => 27 + parity,
        (0, chain_id) => 35 + 2 * chain_id + parity,
        _ => parity,
    };
    let access: Vec<Value> = c
        .access
        .iter()
        .map(|(address, keys)| json!({"address": address, "storageKeys": keys}))
        .collect();
    let mut object = json!({
        "hash": hash, "type": quantity(tx_type), "nonce": quantity(c.nonce),
        "from": Address::ZERO, "to": c.to, "value": quantity(c.value), "gas": quantity(c.gas_limit),
        "gasPrice": quantity(c.fees.0), "input": format!("0x{}", hex::encode(&c.input)),
        "accessList": access, "v": quantity(v), "r": quantity(r), "s": quantity(s),
    });
    let fields = object.as_object_mut().expect("an object");
    if tx_type != 0 || c.chain_id != 0 {
        fields.insert("chainId".into(), quantity(c.chain_id).into());
    }
    if tx_type == 2 {
        fields.insert("maxFeePerGas".into(), quantity(c.fees.0).into());
        fields.insert("maxPriorityFeePerGas".into(), quantity(c.fees.1).into());
        // Half the cases omit yParity so the encoder must fall back to v.
        if c.nonce.is_multiple_of(2) {
            fields.insert("yParity".into(), quantity(parity).into());
        }
    }
    object
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        fuzz_one(&bytes);
    }

    #[test]
    fn mutated_valid_frames_never_panic(
        common in common(),
        tx_type in 0u8..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let envelope = alloy_envelope(tx_type, &common);
        let mut frame = notification(&json_object(tx_type, &common, *envelope.tx_hash())).into_bytes();
        fuzz_one(&frame);
        for (index, byte) in edits {
            let at = index.index(frame.len());
            frame[at] = byte;
            fuzz_one(&frame);
            fuzz_one(&frame[..at]);
        }
    }

    #[test]
    fn hex_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..200), upper in any::<bool>()) {
        let mut text = hex::encode(&bytes);
        if upper {
            text = text.to_uppercase();
        }
        let mut out = vec![0u8; bytes.len() + 3];
        prop_assert_eq!(decode_hex_into(&text, &mut out), Ok(bytes.len()));
        prop_assert_eq!(&out[..bytes.len()], bytes.as_slice());
    }

    #[test]
    fn alloy_signed_txs_round_trip_through_the_json_view(common in common(), tx_type in 0u8..3) {
        let envelope = alloy_envelope(tx_type, &common);
        let expected = envelope.encoded_2718();
        let hash = *envelope.tx_hash();
        let frame = notification(&json_object(tx_type, &common, hash));
        let Ok(Frame::PendingTx { tx, .. }) = parse_frame(frame.as_bytes()) else {
            panic!("not a pending tx: {frame}");
        };
        prop_assert_eq!(tx.hash, hash);
        let mut out = Vec::with_capacity(expected.len());
        prop_assert_eq!(encode_signed_tx(&tx, &mut out), Ok(hash));
        prop_assert_eq!(out, expected);
    }
}
