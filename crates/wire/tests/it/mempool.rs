//! A real mainnet pending tx from mempool-dumpster: a tx object built from its summary fields
//! re-encodes byte for byte to the envelope inside its network-form `rawTx`.

use crate::support::{notification, quantity};
use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{U256, address, hex};
use alloy_rlp::Header;
use kestrel_wire::{Frame, encode_signed_tx, parse_frame};
use serde_json::{Value, json};

fn decimal(summary: &Value, name: &str) -> U256 {
    let text = summary[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is a decimal string"));
    U256::from_str_radix(text, 10).expect(name)
}

#[test]
fn mainnet_pending_tx_reencodes_byte_for_byte() {
    let test = "mainnet_pending_tx_reencodes_byte_for_byte";
    let Some(path) = kestrel_stdx::testdata::data_file(
        test,
        "eth/mempool/mempool-dumpster-example-tx-summary.json",
    ) else {
        return;
    };
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let raw = hex::decode(summary["rawTx"].as_str().unwrap()).unwrap();
    // Network form: an RLP string header around the EIP-2718 envelope.
    let mut rest = raw.as_slice();
    let header = Header::decode(&mut rest).unwrap();
    assert!(!header.list);
    assert_eq!(header.payload_length, rest.len());
    let envelope = rest;
    // The summary has no calldata (only dataSize); take it from alloy's decode of the envelope.
    let decoded = TxEnvelope::decode_2718(&mut &envelope[..]).unwrap();
    assert_eq!(decoded.input().len(), 228);

    let object = json!({
        "hash": summary["hash"],
        "type": "0x2",
        "chainId": quantity(decimal(&summary, "chainId")),
        "nonce": quantity(summary["nonce"].as_u64().unwrap()),
        "from": summary["from"],
        "to": summary["to"],
        "value": quantity(decimal(&summary, "value")),
        "gas": quantity(summary["gas"].as_u64().unwrap()),
        "gasPrice": quantity(decimal(&summary, "gasPrice")),
        "maxPriorityFeePerGas": quantity(decimal(&summary, "gasTipCap")),
        "maxFeePerGas": quantity(decimal(&summary, "gasFeeCap")),
        "input": format!("0x{}", hex::encode(decoded.input())),
        "accessList": [],
        // No yParity: the encoder must take the parity from v.
        "v": quantity(decimal(&summary, "v")),
        "r": quantity(decimal(&summary, "r")),
        "s": quantity(decimal(&summary, "s")),
    });
    let frame = notification(&object);
    let Ok(Frame::PendingTx { tx, .. }) = parse_frame(frame.as_bytes()) else {
        panic!("the built object parses as a pending tx");
    };
    assert_eq!(tx.y_parity, None);
    let mut out = Vec::with_capacity(512);
    let hash = encode_signed_tx(&tx, &mut out).unwrap();
    assert_eq!(out.as_slice(), envelope, "byte for byte");
    assert_eq!(format!("{hash}"), summary["hash"].as_str().unwrap());
    let signer = TxEnvelope::decode_2718(&mut out.as_slice())
        .unwrap()
        .recover_signer()
        .unwrap();
    assert_eq!(signer, address!("e084d4c181BFf0528b9F465049212ec49C663663"));
}
