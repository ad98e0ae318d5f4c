//! Bundle bodies parse as JSON-RPC with serde_json and their transactions hex round-trip.

use kestrel_fire::BundleWriter;
use proptest::prelude::*;
use serde_json::Value;

fn txs_of(v: &Value) -> Vec<Vec<u8>> {
    v["params"][0]["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| hex::decode(t.as_str().unwrap().strip_prefix("0x").unwrap()).unwrap())
        .collect()
}

#[test]
fn send_and_call_bodies_have_the_flashbots_shape() {
    let mut w = BundleWriter::with_capacity(4096);
    let victim = vec![0x02u8, 0xf8, 0x73, 0x01];
    let ours = vec![0x02u8, 0xf8, 0x99];
    let send: Value = serde_json::from_slice(w.send_bundle(&[&victim, &ours], 0x10)).unwrap();
    assert_eq!(send["jsonrpc"], "2.0");
    assert_eq!(send["id"], 1);
    assert_eq!(send["method"], "eth_sendBundle");
    assert_eq!(send["params"][0]["blockNumber"], "0x10");
    assert!(send["params"][0].get("stateBlockNumber").is_none());
    assert_eq!(txs_of(&send), vec![victim.clone(), ours.clone()]);

    let call: Value = serde_json::from_slice(w.call_bundle(&[&victim], 0)).unwrap();
    assert_eq!(call["id"], 2);
    assert_eq!(call["method"], "eth_callBundle");
    assert_eq!(call["params"][0]["blockNumber"], "0x0");
    assert_eq!(call["params"][0]["stateBlockNumber"], "latest");
    assert_eq!(txs_of(&call), vec![victim]);
}

#[test]
fn reserved_buffer_is_reused_not_reallocated() {
    let mut w = BundleWriter::with_capacity(2048);
    let tx = [0xabu8; 300];
    let first = w.send_bundle(&[&tx, &tx], 1).as_ptr();
    for block in 2..50 {
        assert_eq!(
            w.send_bundle(&[&tx, &tx[..block]], block as u64).as_ptr(),
            first
        );
    }
}

proptest! {
    #[test]
    fn any_bundle_round_trips(
        txs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..5),
        block in any::<u64>(),
    ) {
        let mut w = BundleWriter::with_capacity(16);
        let refs: Vec<&[u8]> = txs.iter().map(Vec::as_slice).collect();
        let v: Value = serde_json::from_slice(w.send_bundle(&refs, block)).unwrap();
        prop_assert_eq!(txs_of(&v), txs);
        let n = u64::from_str_radix(v["params"][0]["blockNumber"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        prop_assert_eq!(n, block);
    }
}
