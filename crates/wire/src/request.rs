//! The subscription requests sent once per connection (slow path: these allocate).

/// The `eth_subscribe` request for pending transactions: full objects when `full_pending`
/// (what [`crate::parse_frame`] decodes), hashes only otherwise.
pub fn subscribe_request(id: u64, full_pending: bool) -> String {
    let full = if full_pending { ",true" } else { "" };
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_subscribe","params":["newPendingTransactions"{full}]}}"#
    )
}

/// The `eth_subscribe` request for new block headers.
pub fn subscribe_heads_request(id: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_subscribe","params":["newHeads"]}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn requests_are_the_json_rpc_calls() {
        let pending: Value = serde_json::from_str(&subscribe_request(7, true)).unwrap();
        assert_eq!(
            pending,
            json!({"jsonrpc":"2.0","id":7,"method":"eth_subscribe","params":["newPendingTransactions",true]})
        );
        let hashes: Value = serde_json::from_str(&subscribe_request(8, false)).unwrap();
        assert_eq!(hashes["params"], json!(["newPendingTransactions"]));
        let heads: Value = serde_json::from_str(&subscribe_heads_request(u64::MAX)).unwrap();
        assert_eq!(
            heads,
            json!({"jsonrpc":"2.0","id":u64::MAX,"method":"eth_subscribe","params":["newHeads"]})
        );
    }
}
