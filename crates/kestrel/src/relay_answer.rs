//! What a relay answered to a bundle request, read into one journal row.
//!
//! Relays answer JSON-RPC: `{"result": {...}}` or `{"error": {"code", "message"}}`. An
//! `eth_sendBundle` result carries the `bundleHash`. An `eth_callBundle` result is a simulation
//! (Flashbots format): the bundle's `bundleHash`, `coinbaseDiff`, `totalGasUsed` and
//! `stateBlockNumber`, and one entry per transaction in `results`, each with its `txHash` and
//! `gasUsed`, and an `error` (and the decoded `revert` reason) when it failed. The bundle is
//! taken as good only when every transaction succeeded: a victim that reverted or a backrun
//! that reverted is exactly what a dry-run rehearsal is there to show.
//!
//! Nothing here trusts the answer: a body that is not JSON, a number in the wrong form or a
//! missing field gives a row that says so, never a panic, and the row's text is bounded.

use kestrel_types::B256;
use serde_json::Value;

/// Longest `detail` kept, in characters.
pub const MAX_DETAIL_CHARS: usize = 1024;

/// One answer, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The relay accepted the request and, for a simulation, every transaction succeeded.
    pub ok: bool,
    /// The bundle hash the relay gave, if it gave a well-formed one.
    pub bundle_hash: Option<B256>,
    /// What it said, in one line.
    pub detail: String,
}

/// Reads an answer that came with HTTP status `status` (`0` when none came: `body` is then the
/// transport error).
pub fn read_answer(status: u16, body: &[u8]) -> Answer {
    if status == 0 {
        return failed(format!("no answer: {}", snippet(body)));
    }
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return failed(format!("HTTP {status}, not JSON: {}", snippet(body)));
    };
    if let Some(err) = json.get("error").filter(|e| !e.is_null()) {
        let code = err
            .get("code")
            .map_or_else(String::new, |c| format!(" {c}"));
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| err.to_string(), str::to_owned);
        return failed(format!("HTTP {status}, error{code}: {message}"));
    }
    if !(200..300).contains(&status) {
        return failed(format!("HTTP {status}: {}", snippet(body)));
    }
    let Some(result) = json.get("result") else {
        return failed(format!("HTTP {status}, no result: {}", snippet(body)));
    };
    let bundle_hash = result
        .get("bundleHash")
        .and_then(Value::as_str)
        .and_then(|h| h.parse::<B256>().ok());
    match result.get("results").and_then(Value::as_array) {
        Some(txs) => simulation(result, txs, bundle_hash),
        None => Answer {
            ok: true,
            bundle_hash,
            detail: bounded("accepted".to_owned()),
        },
    }
}

/// An `eth_callBundle` result: totals, then each failed transaction.
fn simulation(result: &Value, txs: &[Value], bundle_hash: Option<B256>) -> Answer {
    let field = |v: &Value, key: &str| -> String {
        match v.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => "?".to_owned(),
        }
    };
    let mut detail = format!(
        "simulated {} txs on state of block {}: gas {}, coinbase diff {} wei",
        txs.len(),
        field(result, "stateBlockNumber"),
        field(result, "totalGasUsed"),
        field(result, "coinbaseDiff"),
    );
    let mut failures = 0;
    for (i, tx) in txs.iter().enumerate() {
        let error = tx.get("error").and_then(Value::as_str);
        let revert = tx.get("revert").and_then(Value::as_str);
        if error.is_none() && revert.is_none() {
            continue;
        }
        failures += 1;
        detail.push_str(&format!(
            "; tx {i} {} failed after {} gas: {}",
            field(tx, "txHash"),
            field(tx, "gasUsed"),
            [error, revert]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ")
        ));
    }
    Answer {
        ok: failures == 0 && !txs.is_empty(),
        bundle_hash,
        detail: bounded(detail),
    }
}

fn failed(detail: String) -> Answer {
    Answer {
        ok: false,
        bundle_hash: None,
        detail: bounded(detail),
    }
}

/// The start of an untrusted body as one printable line.
fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn bounded(mut s: String) -> String {
    if let Some((cut, _)) = s.char_indices().nth(MAX_DETAIL_CHARS) {
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0x7abc07a2de269530f4f77cbde9c1979297d4577e673fe09b52fcb1c8bbfb8e54";

    #[test]
    fn a_send_bundle_answer_gives_its_hash() {
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"bundleHash":"{HASH}"}}}}"#);
        let a = read_answer(200, body.as_bytes());
        assert!(a.ok, "{a:?}");
        assert_eq!(a.bundle_hash, Some(HASH.parse().unwrap()));
        assert_eq!(a.detail, "accepted");
    }

    #[test]
    fn a_simulation_with_a_reverted_transaction_is_not_ok_and_names_it() {
        // The shape of a Flashbots eth_callBundle answer (numbers as strings, gasUsed a number).
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":7,"result":{{"bundleGasPrice":"1000","bundleHash":"{HASH}",
            "coinbaseDiff":"2500","ethSentToCoinbase":"0","gasFees":"2500",
            "results":[
              {{"coinbaseDiff":"1200","ethSentToCoinbase":"0","fromAddress":"0x01","gasFees":"1200",
                "gasPrice":"10","gasUsed":120000,"toAddress":"0x02","txHash":"0xaa","value":"0x"}},
              {{"coinbaseDiff":"1300","error":"execution reverted","revert":"profit",
                "ethSentToCoinbase":"0","fromAddress":"0x03","gasFees":"1300","gasPrice":"10",
                "gasUsed":24211,"toAddress":"0x04","txHash":"0xbb"}}],
            "stateBlockNumber":14017260,"totalGasUsed":144211}}}}"#
        );
        let a = read_answer(200, body.as_bytes());
        assert!(!a.ok);
        assert_eq!(a.bundle_hash, Some(HASH.parse().unwrap()));
        assert_eq!(
            a.detail,
            "simulated 2 txs on state of block 14017260: gas 144211, coinbase diff 2500 wei; \
             tx 1 0xbb failed after 24211 gas: execution reverted: profit"
        );
    }

    #[test]
    fn a_clean_simulation_is_ok() {
        let body = r#"{"result":{"bundleHash":"0x12","coinbaseDiff":"9","results":[{"txHash":"0xaa","gasUsed":21000},{"txHash":"0xbb","gasUsed":90000}],"stateBlockNumber":5,"totalGasUsed":111000}}"#;
        let a = read_answer(200, body.as_bytes());
        assert!(a.ok, "{a:?}");
        // A malformed hash is left out, not guessed.
        assert_eq!(a.bundle_hash, None);
        assert!(
            a.detail
                .starts_with("simulated 2 txs on state of block 5: gas 111000")
        );
    }

    #[test]
    fn errors_rejections_and_garbage_are_not_ok() {
        let rpc =
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"bundle is too old"}}"#;
        let a = read_answer(200, rpc);
        assert!(!a.ok);
        assert_eq!(a.detail, "HTTP 200, error -32000: bundle is too old");
        let a = read_answer(
            403,
            br#"{"error":{"code":-32600,"message":"invalid flashbots signature"}}"#,
        );
        assert_eq!(
            a.detail,
            "HTTP 403, error -32600: invalid flashbots signature"
        );
        let a = read_answer(404, b"Not Found\r\n");
        assert!(!a.ok);
        assert_eq!(a.detail, "HTTP 404, not JSON: Not Found  ");
        let a = read_answer(502, br#"{"oops":1}"#);
        assert_eq!(a.detail, r#"HTTP 502: {"oops":1}"#);
        let a = read_answer(0, b"connection refused");
        assert_eq!(a.detail, "no answer: connection refused");
        let a = read_answer(200, br#"{"result":{"results":[]}}"#);
        assert!(!a.ok, "a simulation of nothing is not a good bundle");
    }

    #[test]
    fn any_bytes_give_a_bounded_row() {
        let mut rng = kestrel_stdx::Rng::from_seed(3);
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "x".repeat(5000));
        assert!(read_answer(500, long.as_bytes()).detail.chars().count() <= MAX_DETAIL_CHARS + 1);
        for _ in 0..2000 {
            let len = usize::try_from(rng.gen_range(0..300)).unwrap();
            let bytes: Vec<u8> = (0..len)
                .map(|_| u8::try_from(rng.gen_range(0..256)).unwrap())
                .collect();
            let a = read_answer(200, &bytes);
            assert!(!a.ok);
            assert!(!a.detail.contains('\n'));
        }
    }
}
