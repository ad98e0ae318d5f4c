//! The acceptance test on a real Sepolia block: every full tx object, wrapped as a pending-tx
//! notification, re-encodes to bytes that hash to the node's `hash` and that alloy decodes and
//! recovers to the node's `from`.

use crate::support::notification;
use alloy_consensus::TxEnvelope;
use alloy_consensus::transaction::SignerRecoverable;
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, U256, b256};
use kestrel_wire::{Frame, WireError, encode_signed_tx, parse_frame};
use serde_json::Value;

fn load_block(test: &str) -> Option<Value> {
    let path = kestrel_stdx::testdata::data_file(test, "eth/sepolia-block/tenderly.sepolia.json")?;
    let text = std::fs::read_to_string(path).expect("read the recorded block");
    Some(serde_json::from_str(&text).expect("the recorded block is JSON"))
}

fn field<T: std::str::FromStr>(tx: &Value, name: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    tx[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is a string"))
        .parse()
        .expect(name)
}

#[test]
fn every_sepolia_tx_reencodes_to_its_hash_and_signer() {
    let Some(block) = load_block("every_sepolia_tx_reencodes_to_its_hash_and_signer") else {
        return;
    };
    let txs = block["transactions"].as_array().expect("full transactions");
    assert_eq!(txs.len(), 94);
    let mut out = Vec::with_capacity(64 * 1024);
    let buffer = out.as_ptr();
    let mut by_type = [0usize; 4];
    for json in txs {
        let frame = notification(json);
        let Ok(Frame::PendingTx { subscription, tx }) = parse_frame(frame.as_bytes()) else {
            panic!("not a pending tx: {json}");
        };
        assert_eq!(subscription, "0x9ce59a13059e417087c02d3236a0b1cc");
        let hash: B256 = field(json, "hash");
        assert_eq!(tx.hash, hash);
        assert_eq!(tx.from, Some(field::<Address>(json, "from")));
        assert_eq!(
            tx.value,
            U256::from_str_radix(&field::<String>(json, "value")[2..], 16).unwrap()
        );
        assert_eq!(tx.chain_id, Some(11_155_111));
        *by_type.get_mut(usize::from(tx.tx_type)).expect("type 0..3") += 1;
        out.clear();
        if tx.tx_type == 3 {
            assert_eq!(encode_signed_tx(&tx, &mut out), Err(WireError::Unsupported));
            assert!(out.is_empty(), "a refused tx writes nothing");
            continue;
        }
        assert_eq!(encode_signed_tx(&tx, &mut out), Ok(hash), "tx {hash}");
        let decoded = TxEnvelope::decode_2718(&mut out.as_slice()).expect("alloy decodes it");
        assert_eq!(*decoded.tx_hash(), hash);
        assert_eq!(
            decoded.recover_signer().expect("valid signature"),
            field::<Address>(json, "from")
        );
    }
    assert_eq!(by_type, [17, 0, 76, 1]);
    assert_eq!(
        out.as_ptr(),
        buffer,
        "a buffer with enough capacity is reused, not reallocated"
    );
}

#[test]
fn a_block_header_parses_as_new_head() {
    let Some(block) = load_block("a_block_header_parses_as_new_head") else {
        return;
    };
    let frame = notification(&block);
    let Ok(Frame::NewHead { head, .. }) = parse_frame(frame.as_bytes()) else {
        panic!("the block object is a header by shape");
    };
    assert_eq!(head.number, 0x6edcde);
    assert_eq!(
        head.hash,
        b256!("c0c3190292a82c2ee148774e37e5665f6a205f5ef0cd0885e84701d90ebd442e")
    );
    assert_eq!(head.timestamp, 0x675b2c38);
    assert_eq!(head.base_fee_per_gas, Some(0xdb634f3d));
}
