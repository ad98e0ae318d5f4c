//! Table tests: malformed, hostile or unexpected frames give the right error, never a panic,
//! and replies and headers parse into the right variants.

use crate::support::notification;
use kestrel_wire::{Frame, WireError, encode_signed_tx, parse_frame};
use serde_json::{Value, json};

/// A valid type-2 tx object (Sepolia block 7265502, tx index 1, calldata shortened, so its
/// hash no longer matches; these tests only exercise parsing).
fn base_tx() -> Value {
    json!({
        "hash": "0xcfc5495da689941c7c7f0e706382204ca81d25fe4f4251ca511760c098115a11",
        "from": "0x43ac9519dd59c10b1dc4075be016755d5b920605",
        "to": "0xe877139db8095dd59fcbbfd65a02ae08592ac8ea",
        "input": "0x0e99f793",
        "nonce": "0x25f70",
        "value": "0x0",
        "gas": "0x927c0",
        "gasPrice": "0x4458ce485",
        "maxPriorityFeePerGas": "0x37e11d600",
        "maxFeePerGas": "0x4458ce485",
        "accessList": [],
        "chainId": "0xaa36a7",
        "type": "0x2",
        "v": "0x1",
        "r": "0xe9ed229b97090f324fb0d0c4e981cbdc5aa565257061e105761b06c52d47feb5",
        "s": "0x559d70bb14f30274b252f3861e0b553435fbaf76ae114b2f7f487236f9f89c6b",
        "yParity": "0x1"
    })
}

/// `base_tx` with one field replaced (`Value::Null` entries are removed instead).
fn tx_with(name: &str, value: Value) -> Value {
    let mut tx = base_tx();
    let object = tx.as_object_mut().unwrap();
    if value.is_null() {
        object.remove(name);
    } else {
        object.insert(name.to_owned(), value);
    }
    tx
}

fn parse_err(frame: &str) -> WireError {
    match parse_frame(frame.as_bytes()) {
        Ok(frame) => panic!("expected an error for {frame:?}"),
        Err(error) => error,
    }
}

#[test]
fn base_frame_parses() {
    let frame = notification(&base_tx());
    let Ok(Frame::PendingTx { tx, .. }) = parse_frame(frame.as_bytes()) else {
        panic!()
    };
    assert_eq!((tx.tx_type, tx.nonce, tx.gas), (2, 0x25f70, 0x927c0));
    assert_eq!(
        (tx.max_fee_per_gas, tx.max_priority_fee_per_gas),
        (Some(0x4458ce485), Some(0x37e11d600))
    );
    assert_eq!((tx.input_hex, tx.y_parity, tx.v), ("0e99f793", Some(1), 1));
    assert_eq!(tx.access_list.map(|raw| raw.get()), Some("[]"));
}

#[test]
fn bad_tx_fields_name_the_field() {
    let huge = |digits: usize| json!(format!("0x1{}", "0".repeat(digits)));
    let cases: Vec<(&str, Value, WireError)> = vec![
        ("nonce", json!(5), WireError::Json),
        ("nonce", huge(16), WireError::BadNumber("nonce")),
        ("gas", json!("12"), WireError::BadNumber("gas")),
        ("gas", json!("0x"), WireError::BadNumber("gas")),
        (
            "maxFeePerGas",
            huge(32),
            WireError::BadNumber("maxFeePerGas"),
        ),
        ("value", huge(64), WireError::BadNumber("value")),
        ("r", json!("0xg1"), WireError::BadNumber("r")),
        ("input", json!("0x123"), WireError::BadHex("input")),
        ("input", json!("0e99"), WireError::BadHex("input")),
        ("hash", json!("0x1234"), WireError::BadHex("hash")),
        (
            "to",
            json!("0xe877139db8095dd59fcbbfd65a02ae08592ac8e"),
            WireError::BadHex("to"),
        ),
        ("hash", Value::Null, WireError::MissingField("hash")),
        ("s", Value::Null, WireError::MissingField("s")),
        ("value", Value::Null, WireError::MissingField("value")),
        ("yParity", json!("0x2"), WireError::BadNumber("yParity")),
        ("type", json!("0x100"), WireError::BadNumber("type")),
    ];
    for (name, value, expected) in cases {
        let frame = notification(&tx_with(name, value.clone()));
        assert_eq!(parse_err(&frame), expected, "{name} = {value}");
    }
    let mut no_v = tx_with("v", Value::Null);
    no_v.as_object_mut().unwrap().remove("yParity");
    assert_eq!(
        parse_err(&notification(&no_v)),
        WireError::MissingField("v")
    );
}

#[test]
fn escaped_strings_are_refused_by_name() {
    let frame =
        notification(&base_tx()).replace(r#""nonce":"0x25f70""#, r#""nonce":"0x25f7\u0030""#);
    assert_eq!(parse_err(&frame), WireError::EscapedString("nonce"));
    let frame = notification(&base_tx()).replace("0x9ce59a13", r"0x9ce5\u0039a13");
    assert_eq!(parse_err(&frame), WireError::EscapedString("subscription"));
}

#[test]
fn every_truncation_of_a_valid_frame_is_an_error() {
    let frame = notification(&base_tx());
    for end in 0..frame.len() {
        assert!(
            parse_frame(&frame.as_bytes()[..end]).is_err(),
            "prefix of {end} bytes"
        );
    }
}

#[test]
fn messages_that_are_not_notifications() {
    let cases: [(&str, WireError); 10] = [
        ("", WireError::Json),
        ("null", WireError::Json),
        ("[]", WireError::Json),
        ("\u{ff}", WireError::Json),
        (r#"{"jsonrpc":"2.0"}"#, WireError::NotSubscription),
        (
            r#"{"jsonrpc":"2.0","method":"eth_foo","params":{}}"#,
            WireError::NotSubscription,
        ),
        (r#"{"id":-1,"result":"0x1"}"#, WireError::Json),
        (
            r#"{"method":"eth_subscription"}"#,
            WireError::MissingField("params"),
        ),
        (
            r#"{"method":"eth_subscription","params":{"result":{}}}"#,
            WireError::MissingField("subscription"),
        ),
        (
            r#"{"method":"eth_subscription","params":{"subscription":"0x1","result":{}}}"#,
            WireError::UnknownShape,
        ),
    ];
    for (frame, expected) in cases {
        assert_eq!(parse_err(frame), expected, "{frame}");
    }
    let hash_only = notification(&json!(
        "0xcfc5495da689941c7c7f0e706382204ca81d25fe4f4251ca511760c098115a11"
    ));
    assert_eq!(parse_err(&hash_only), WireError::HashOnly);
    let header = json!({"parentHash": "0x00", "hash": "0x00", "timestamp": "0x1"});
    assert_eq!(
        parse_err(&notification(&header)),
        WireError::MissingField("number")
    );
}

#[test]
fn replies_carry_id_result_and_error() {
    let frame = r#"{"jsonrpc":"2.0","id":7,"result":"0x9ce59a13059e417087c02d3236a0b1cc"}"#;
    let Ok(Frame::Reply { id, result, error }) = parse_frame(frame.as_bytes()) else {
        panic!()
    };
    assert_eq!(
        (id, result.map(|r| r.get()), error.is_none()),
        (7, Some(r#""0x9ce59a13059e417087c02d3236a0b1cc""#), true)
    );
    let frame =
        r#"{"jsonrpc":"2.0","id":8,"error":{"code":-32601,"message":"no \"such\" method"}}"#;
    let Ok(Frame::Reply { id, result, error }) = parse_frame(frame.as_bytes()) else {
        panic!()
    };
    assert_eq!((id, result.is_none()), (8, true));
    let error: Value = serde_json::from_str(error.unwrap().get()).unwrap();
    assert_eq!(error["code"], -32601);
}

#[test]
fn encode_errors_leave_the_buffer_untouched() {
    let cases: Vec<(&str, Value, WireError)> = vec![
        ("input", json!("0xzz11"), WireError::BadHex("input")),
        ("input", json!("0x1z"), WireError::BadHex("input")),
        (
            "maxFeePerGas",
            Value::Null,
            WireError::MissingField("maxFeePerGas"),
        ),
        ("chainId", Value::Null, WireError::MissingField("chainId")),
        ("type", json!("0x4"), WireError::Unsupported),
        ("type", json!("0x7e"), WireError::Unsupported),
        (
            "accessList",
            json!([{"address": "0x12", "storageKeys": []}]),
            WireError::BadHex("accessList"),
        ),
        ("accessList", json!([{"storageKeys": []}]), WireError::Json),
        // accessList is kept raw at parse time and only read when re-encoding.
        ("accessList", json!("[]"), WireError::Json),
    ];
    for (name, value, expected) in cases {
        let frame = notification(&tx_with(name, value.clone()));
        let Ok(Frame::PendingTx { tx, .. }) = parse_frame(frame.as_bytes()) else {
            panic!("{name}")
        };
        let mut out = vec![1, 2, 3];
        assert_eq!(
            encode_signed_tx(&tx, &mut out),
            Err(expected),
            "{name} = {value}"
        );
        assert_eq!(out, [1, 2, 3]);
    }
    let mut legacy = tx_with("type", json!("0x0"));
    legacy.as_object_mut().unwrap().remove("gasPrice");
    let frame = notification(&legacy);
    let Ok(Frame::PendingTx { tx, .. }) = parse_frame(frame.as_bytes()) else {
        panic!()
    };
    assert_eq!(
        encode_signed_tx(&tx, &mut Vec::new()),
        Err(WireError::MissingField("gasPrice"))
    );
}
