//! Helpers shared by the integration tests.

use serde_json::{Value, json};

/// Wrap a result object in an `eth_subscription` notification, as the node sends it.
pub fn notification(result: &Value) -> String {
    json!({
        "jsonrpc": "2.0",
        "method": "eth_subscription",
        "params": { "subscription": "0x9ce59a13059e417087c02d3236a0b1cc", "result": result }
    })
    .to_string()
}

/// A `0x` quantity, the JSON-RPC way (no leading zeros).
pub fn quantity(n: impl std::fmt::LowerHex) -> String {
    format!("{n:#x}")
}
