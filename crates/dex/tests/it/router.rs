//! Router02 decode: `sol!`-encoded calls of all nine functions, real mainnet calldata, and
//! arbitrary bytes.

use kestrel_dex::router::{MAX_PATH, SwapKind, decode_router02};
use kestrel_types::{Address, SkipReason, U256, address, keccak256};
use proptest::prelude::*;

use crate::support::{Args, any_address, any_u256, encode, sol_decode};

fn args(path_len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Args> {
    (
        any_u256(),
        any_u256(),
        proptest::collection::vec(any_address(), path_len),
        any_address(),
        any_u256(),
        any_u256(),
    )
        .prop_map(|(a, b, path, to, deadline, value)| Args {
            a,
            b,
            path,
            to,
            deadline,
            value,
        })
}

proptest! {
    #[test]
    fn decodes_every_function_as_sol_encodes_it(which in 0u8..9, x in args(2..=MAX_PATH)) {
        let (data, expected) = encode(which, &x);
        let intent = decode_router02(&data, x.value).expect("valid calldata decodes");
        expected.assert_matches(&intent);
        // Trailing bytes are ignored by Solidity's decoder, and by ours.
        let mut padded = data.clone();
        padded.extend_from_slice(&[0xab; 7]);
        expected.assert_matches(&decode_router02(&padded, x.value).expect("padded calldata decodes"));
    }

    #[test]
    fn long_paths_are_path_too_long(which in 0u8..9, x in args(MAX_PATH + 1..=8)) {
        let (data, _) = encode(which, &x);
        prop_assert_eq!(decode_router02(&data, x.value), Err(SkipReason::PathTooLong));
    }

    #[test]
    fn short_paths_are_malformed(which in 0u8..9, x in args(0..=1)) {
        let (data, _) = encode(which, &x);
        prop_assert_eq!(decode_router02(&data, x.value), Err(SkipReason::MalformedCalldata));
    }

    #[test]
    fn truncated_calldata_is_malformed(which in 0u8..9, x in args(2..=MAX_PATH), cut in 1usize..400) {
        let (data, _) = encode(which, &x);
        let keep = data.len().saturating_sub(cut).max(4);
        prop_assume!(keep < data.len());
        prop_assert_eq!(decode_router02(&data[..keep], x.value), Err(SkipReason::MalformedCalldata));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400), value in any_u256()) {
        let _ = decode_router02(&data, value);
    }

    /// Valid calldata with one byte changed: never a panic, and whenever both decoders accept
    /// it, they agree.
    #[test]
    fn mutated_calldata_never_panics_and_agrees(
        which in 0u8..9,
        x in args(2..=MAX_PATH),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let (mut data, _) = encode(which, &x);
        let i = at.index(data.len() - 4) + 4;
        data[i] = byte;
        if let (Ok(intent), Some(expected)) = (decode_router02(&data, x.value), sol_decode(&data, x.value)) {
            expected.assert_matches(&intent);
        }
    }
}

/// Reads a `0x`-prefixed hex quantity as U256.
fn quantity(s: &str) -> U256 {
    U256::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex quantity")
}

#[test]
fn real_block_12775690_router_calls_agree_with_sol() {
    let Some(path) = kestrel_stdx::testdata::data_file(
        "dex router02 block",
        "eth/mev-inspect/block_12775690.json",
    ) else {
        return;
    };
    let block: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let uniswap = address!("0x7a250d5630b4cf539739df2c5dacb4c659f2488d");
    let mut decoded = 0;
    let mut uniswap_selectors = Vec::new();
    for trace in block["traces"].as_array().unwrap() {
        let top_level = trace["trace_address"]
            .as_array()
            .is_some_and(|a| a.is_empty());
        let action = &trace["action"];
        let input = hex::decode(
            action["input"]
                .as_str()
                .unwrap_or("0x")
                .trim_start_matches("0x"),
        )
        .unwrap();
        let value = quantity(action["value"].as_str().unwrap_or("0x0"));
        let Some(expected) = sol_decode(&input, value) else {
            continue;
        };
        assert!(top_level, "router swaps in this block are top-level calls");
        let intent = decode_router02(&input, value).expect("real Router02 calldata decodes");
        expected.assert_matches(&intent);
        decoded += 1;
        let to: Address = action["to"].as_str().unwrap().parse().unwrap();
        if to == uniswap {
            uniswap_selectors.push(hex::encode(&input[..4]));
        }
    }
    // 13 top-level Router02-ABI swaps: 5 to Uniswap's router, 7 to 0x03f7…b329, 1 to Sushi's.
    assert_eq!(decoded, 13);
    uniswap_selectors.sort();
    assert_eq!(
        uniswap_selectors,
        ["18cbafe5", "38ed1739", "7ff36ab5", "8803dbee", "fb3bdb41"]
    );
}

/// Returns (payload, rest) of the RLP item at the start of `buf`.
fn rlp_item(buf: &[u8]) -> (&[u8], &[u8]) {
    let b = buf[0];
    let (offset, len) = match b {
        0x00..=0x7f => return (&buf[..1], &buf[1..]),
        0x80..=0xb7 => (1, usize::from(b - 0x80)),
        0xb8..=0xbf => be_len(buf, usize::from(b - 0xb7)),
        0xc0..=0xf7 => (1, usize::from(b - 0xc0)),
        0xf8..=0xff => be_len(buf, usize::from(b - 0xf7)),
    };
    (&buf[offset..offset + len], &buf[offset + len..])
}

fn be_len(buf: &[u8], len_of_len: usize) -> (usize, usize) {
    let len = buf[1..=len_of_len]
        .iter()
        .fold(0usize, |acc, &x| acc << 8 | usize::from(x));
    (1 + len_of_len, len)
}

#[test]
fn real_mempool_swap_eth_for_exact_tokens() {
    let Some(path) = kestrel_stdx::testdata::data_file(
        "dex router02 mempool",
        "eth/mempool/mempool-dumpster-example-tx-summary.json",
    ) else {
        return;
    };
    let tx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let raw = hex::decode(tx["rawTx"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    // Network form: an RLP string wrapping the EIP-2718 envelope `0x02 || rlp([...])`.
    let (envelope, _) = rlp_item(&raw);
    let tx_hash: kestrel_types::B256 = tx["hash"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        keccak256(envelope),
        tx_hash,
        "the envelope is the signed transaction"
    );
    assert_eq!(envelope[0], 0x02);
    let (mut fields, _) = rlp_item(&envelope[1..]);
    let mut items = Vec::new();
    while !fields.is_empty() {
        let (item, rest) = rlp_item(fields);
        items.push(item);
        fields = rest;
    }
    // [chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList, v, r, s]
    let value = U256::from_be_slice(items[6]);
    let calldata = items[7];
    assert_eq!(value.to_string(), tx["value"].as_str().unwrap());

    let intent = decode_router02(calldata, value).unwrap();
    assert_eq!(intent.kind, SwapKind::ExactOut);
    assert_eq!(
        intent.amount_out,
        "1457544464486100000000000".parse::<U256>().unwrap()
    );
    assert_eq!(
        intent.amount_in,
        U256::from(105_000_000_000_000_000u64),
        "0.105 ETH"
    );
    assert!(intent.eth_in && !intent.eth_out && !intent.fee_on_transfer);
    let path: Vec<Address> = intent.path.iter().collect();
    assert_eq!(
        path,
        [
            address!("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"),
            address!("0x53b132dbaec96f7117f1ed71444b78193930126b")
        ]
    );
    assert_eq!(
        intent.recipient,
        address!("0xe084d4c181bff0528b9f465049212ec49c663663")
    );
    assert_eq!(
        intent.deadline,
        U256::from(1_691_074_515_752u64),
        "a millisecond deadline, as sent"
    );
    sol_decode(calldata, value).unwrap().assert_matches(&intent);
}
