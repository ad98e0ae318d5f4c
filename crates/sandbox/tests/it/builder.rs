//! The local builder against a real anvil: bundle ordering, atomic non-reverting bundles, nonce
//! conflicts, signature checks and late bundles.
//!
//! anvil is started here by a small local launcher; the lead will switch it to the shared
//! `Anvil::start()` once that lands.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::providers::{Provider, RootProvider};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, hex, keccak256};
use kestrel_sandbox::builder::{
    BuilderConfig, BundleOutcome, LocalBuilder, VerifyFn, flashbots_verifier,
};
use serde_json::{Value, json};

const ANVIL_BIN: &str = "/work/main/tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
const CHAIN_ID: u64 = 11_155_111;
/// anvil's first dev keys (the documented "test test ... junk" mnemonic); checked against
/// `eth_accounts` in every test before use.
const DEV_KEYS: [&str; 4] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];
/// Initcode that returns the runtime `60006000fd` (PUSH1 0 PUSH1 0 REVERT): every call reverts.
/// PUSH5 runtime, PUSH1 0, MSTORE (runtime lands in bytes 27..32), RETURN(27, 5).
const REVERTER_INITCODE: &str = "6460006000fd6000526005601bf3";
const TRANSFER_GAS: u64 = 21_000;

/// A running anvil, killed when dropped so a failing test does not leak it.
struct AnvilProc {
    child: Child,
    url: String,
}

impl Drop for AnvilProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_anvil() -> AnvilProc {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(ANVIL_BIN)
        .args([
            "--chain-id",
            "11155111",
            "--no-mining",
            "--hardfork",
            "prague",
        ])
        .args(["--order", "fifo", "--host", "127.0.0.1", "--silent"])
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn anvil");
    let anvil = AnvilProc {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let provider = provider(&anvil.url);
    for _ in 0..200 {
        if provider.get_block_number().await.is_ok() {
            return anvil;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("anvil did not answer on {}", anvil.url);
}

fn provider(url: &str) -> RootProvider {
    RootProvider::new_http(url.parse().expect("url"))
}

/// The dev signers, after checking each derived address against anvil's own `eth_accounts`.
async fn dev_signers(anvil: &RootProvider) -> Vec<PrivateKeySigner> {
    let accounts = anvil.get_accounts().await.expect("eth_accounts");
    DEV_KEYS
        .iter()
        .zip(&accounts)
        .map(|(key, account)| {
            let signer: PrivateKeySigner = key.parse().expect("key");
            assert_eq!(signer.address(), *account, "dev key does not match anvil");
            signer
        })
        .collect()
}

/// Flashbots' check, written here from the spec so the test does not trust the code under test:
/// header `address:signature`, signature = personal_sign of the hex string of keccak256(body).
fn flashbots_verify() -> VerifyFn {
    Arc::new(|header: &str, body: &[u8]| {
        let (address, signature) = header.split_once(':')?;
        let address: Address = address.parse().ok()?;
        let signature: Signature = signature.parse().ok()?;
        let message = format!("0x{}", hex::encode(keccak256(body)));
        let recovered = signature
            .recover_address_from_msg(message.as_bytes())
            .ok()?;
        (recovered == address).then_some(address)
    })
}

fn flashbots_header(signer: &PrivateKeySigner, body: &[u8]) -> String {
    let message = format!("0x{}", hex::encode(keccak256(body)));
    let signature = signer.sign_message_sync(message.as_bytes()).expect("sign");
    format!(
        "{}:0x{}",
        signer.address(),
        hex::encode(signature.as_bytes())
    )
}

fn sign_tx(signer: &PrivateKeySigner, nonce: u64, to: TxKind, input: &str, gas: u64) -> Bytes {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to,
        value: U256::from(1_000 + nonce),
        input: hex::decode(input).expect("hex input").into(),
        ..Default::default()
    };
    let signature = signer.sign_hash_sync(&tx.signature_hash()).expect("sign");
    TxEnvelope::from(tx.into_signed(signature))
        .encoded_2718()
        .into()
}

/// An ETH transfer; `salt` changes the recipient so two transfers with one nonce differ.
fn transfer(signer: &PrivateKeySigner, nonce: u64, salt: u8) -> Bytes {
    let to = TxKind::Call(Address::repeat_byte(0xa0 | salt));
    sign_tx(signer, nonce, to, "", TRANSFER_GAS)
}

fn hash_of(raw: &Bytes) -> B256 {
    keccak256(raw)
}

/// Posts `eth_sendBundle`; `auth` signs the header (None sends no header).
async fn send_bundle(
    url: &str,
    auth: Option<&PrivateKeySigner>,
    txs: &[&Bytes],
    block: u64,
) -> (u16, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "eth_sendBundle",
        "params": [{"txs": txs, "blockNumber": format!("0x{block:x}")}]})
    .to_string();
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json");
    if let Some(signer) = auth {
        request = request.header(
            "X-Flashbots-Signature",
            flashbots_header(signer, body.as_bytes()),
        );
    }
    post(request.body(body)).await
}

async fn post(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).expect("json-rpc body"))
}

async fn block_hashes(anvil: &RootProvider, number: u64) -> Vec<B256> {
    let block = anvil
        .get_block_by_number(number.into())
        .await
        .expect("get block")
        .expect("block exists");
    block.transactions.hashes().collect()
}

struct Rig {
    _anvil: AnvilProc,
    chain: RootProvider,
    builder: LocalBuilder,
    keys: Vec<PrivateKeySigner>,
    /// Signs bundle headers; holds no funds, like a real searcher's reputation key.
    auth: PrivateKeySigner,
}

async fn rig() -> Rig {
    rig_with(flashbots_verify()).await
}

async fn rig_with(verify: VerifyFn) -> Rig {
    let anvil = start_anvil().await;
    let chain = provider(&anvil.url);
    let keys = dev_signers(&chain).await;
    let builder = LocalBuilder::start(BuilderConfig {
        anvil_http: anvil.url.clone(),
        verify,
    })
    .await
    .expect("start builder");
    Rig {
        _anvil: anvil,
        chain,
        builder,
        keys,
        auth: PrivateKeySigner::random(),
    }
}

fn only_outcome(builder: &LocalBuilder) -> BundleOutcome {
    let mut results = builder.results();
    assert_eq!(results.len(), 1, "{results:?}");
    results.remove(0)
}

#[tokio::test]
async fn bundle_lands_at_top_and_victim_is_not_repeated() {
    let rig = rig().await;
    let a = transfer(&rig.keys[0], 0, 1);
    let b = transfer(&rig.keys[1], 0, 2);
    let s = transfer(&rig.keys[2], 0, 3);
    assert_eq!(
        rig.builder.submit_user_tx(a.clone()).await.unwrap(),
        hash_of(&a)
    );
    assert_eq!(
        rig.builder.submit_user_tx(b.clone()).await.unwrap(),
        hash_of(&b)
    );
    // Forwarded at once: anvil already holds both user txs as pending.
    let pending: Value = rig
        .chain
        .raw_request("txpool_status".into(), ())
        .await
        .unwrap();
    assert_eq!(pending["pending"], json!("0x2"));

    let (status, reply) = send_bundle(&rig.builder.url(), Some(&rig.auth), &[&b, &s], 1).await;
    assert_eq!(status, 200, "{reply}");
    let mut concatenated = hash_of(&b).to_vec();
    concatenated.extend_from_slice(hash_of(&s).as_slice());
    assert_eq!(
        reply["result"]["bundleHash"],
        json!(keccak256(concatenated))
    );
    assert_eq!(reply["id"], json!(7));

    let result = rig.builder.build_block().await.unwrap();
    assert_eq!(
        (
            result.number,
            result.included_bundles,
            result.excluded_bundles,
            result.txs
        ),
        (1, 1, 0, 3)
    );
    assert_eq!(
        block_hashes(&rig.chain, 1).await,
        vec![hash_of(&b), hash_of(&s), hash_of(&a)]
    );
    let outcome = only_outcome(&rig.builder);
    assert!(outcome.landed);
    assert_eq!(outcome.reason, "landed");
    assert_eq!(outcome.block, Some(1));
    assert_eq!(outcome.signer, rig.auth.address());
    assert_eq!(outcome.tx_hashes, vec![hash_of(&b), hash_of(&s)]);
    // A plain ETH transfer to an account without code costs exactly the intrinsic 21,000 gas.
    assert_eq!(outcome.gas_used, vec![TRANSFER_GAS, TRANSFER_GAS]);

    // Everything was mined, so the next block is empty and nothing is re-sent.
    let next = rig.builder.build_block().await.unwrap();
    assert_eq!((next.number, next.txs), (2, 0));
    rig.builder.stop().await;
}

/// Deploys the always-reverting contract through the builder and returns its address.
async fn deploy_reverter(rig: &Rig) -> Address {
    let deployer = &rig.keys[3];
    let raw = sign_tx(deployer, 0, TxKind::Create, REVERTER_INITCODE, 200_000);
    rig.builder.submit_user_tx(raw).await.unwrap();
    let result = rig.builder.build_block().await.unwrap();
    assert_eq!(result.txs, 1);
    let address = deployer.address().create(0);
    let code = rig.chain.get_code_at(address).await.unwrap();
    assert_eq!(code, Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xfd]));
    address
}

#[tokio::test]
async fn reverting_bundle_is_excluded_and_victim_still_mined() {
    let rig = rig().await;
    let reverter = deploy_reverter(&rig).await;
    let searcher = &rig.keys[2];
    let b = transfer(&rig.keys[1], 0, 2);
    let s = sign_tx(searcher, 0, TxKind::Call(reverter), "", 100_000);
    rig.builder.submit_user_tx(b.clone()).await.unwrap();
    let (status, reply) = send_bundle(&rig.builder.url(), Some(&rig.auth), &[&b, &s], 2).await;
    assert_eq!(status, 200, "{reply}");

    let result = rig.builder.build_block().await.unwrap();
    assert_eq!(
        (
            result.number,
            result.included_bundles,
            result.excluded_bundles,
            result.txs
        ),
        (2, 0, 1, 1)
    );
    assert_eq!(block_hashes(&rig.chain, 2).await, vec![hash_of(&b)]);
    let receipt = rig
        .chain
        .get_transaction_receipt(hash_of(&b))
        .await
        .unwrap()
        .unwrap();
    assert!(receipt.status());
    // The reverting tx left no trace: no receipt, and the searcher's nonce is unspent.
    assert!(
        rig.chain
            .get_transaction_receipt(hash_of(&s))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        rig.chain
            .get_transaction_count(searcher.address())
            .await
            .unwrap(),
        0
    );
    let outcome = only_outcome(&rig.builder);
    assert_eq!(
        (outcome.landed, outcome.reason.as_str(), outcome.block),
        (false, "reverted", None)
    );
    assert!(outcome.gas_used.is_empty());
    rig.builder.stop().await;
}

#[tokio::test]
async fn second_bundle_reusing_searcher_nonce_is_a_conflict() {
    let rig = rig().await;
    let searcher = &rig.keys[2];
    let b1 = transfer(&rig.keys[0], 0, 1);
    let b2 = transfer(&rig.keys[1], 0, 2);
    let s1 = transfer(searcher, 0, 3);
    let s2 = transfer(searcher, 0, 4);
    rig.builder.submit_user_tx(b1.clone()).await.unwrap();
    rig.builder.submit_user_tx(b2.clone()).await.unwrap();
    for bundle in [[&b1, &s1], [&b2, &s2]] {
        let (status, reply) = send_bundle(&rig.builder.url(), Some(&rig.auth), &bundle, 1).await;
        assert_eq!(status, 200, "{reply}");
    }

    let result = rig.builder.build_block().await.unwrap();
    assert_eq!(
        (result.included_bundles, result.excluded_bundles, result.txs),
        (1, 1, 3)
    );
    assert_eq!(
        block_hashes(&rig.chain, 1).await,
        vec![hash_of(&b1), hash_of(&s1), hash_of(&b2)]
    );
    let results = rig.builder.results();
    let reasons: Vec<(&str, bool)> = results
        .iter()
        .map(|o| (o.reason.as_str(), o.landed))
        .collect();
    assert_eq!(reasons, [("landed", true), ("nonce_conflict", false)]);
    assert_eq!(results[1].tx_hashes, vec![hash_of(&b2), hash_of(&s2)]);
    rig.builder.stop().await;
}

/// Runs with the production verifier from kestrel-fire, so it also checks that fire accepts a
/// header signed the way the Flashbots spec (and alloy's `sign_message`) signs it.
#[tokio::test]
async fn bad_or_missing_signature_is_403_and_nothing_queued() {
    let rig = rig_with(flashbots_verifier()).await;
    let s = transfer(&rig.keys[2], 0, 3);
    let url = rig.builder.url();
    let (status, reply) = send_bundle(&url, None, &[&s], 1).await;
    assert_eq!(status, 403);
    assert_eq!(reply["error"]["code"], json!(-32600));

    // A header signed over a different body must not authenticate this one.
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_sendBundle",
        "params": [{"txs": [&s], "blockNumber": "0x1"}]})
    .to_string();
    let header = flashbots_header(&rig.auth, b"some other body");
    let request = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("X-Flashbots-Signature", header);
    let (status, reply) = post(request.body(body)).await;
    assert_eq!(status, 403);
    assert!(reply["error"]["message"].is_string());
    assert!(reply.get("result").is_none());

    // Correctly signed but malformed: 400 with a JSON-RPC error.
    let body = r#"{"jsonrpc":"2.0","id":2,"method":"eth_sendBundle","params":[{"txs":["0xzz"]}]}"#;
    let request = reqwest::Client::new().post(&url).header(
        "X-Flashbots-Signature",
        flashbots_header(&rig.auth, body.as_bytes()),
    );
    let (status, reply) = post(request.body(body)).await;
    assert_eq!(status, 400);
    assert_eq!(reply["id"], json!(2));

    let result = rig.builder.build_block().await.unwrap();
    assert_eq!(
        (result.included_bundles, result.excluded_bundles, result.txs),
        (0, 0, 0)
    );
    assert!(rig.builder.results().is_empty());

    // The same bundle, correctly signed, is accepted and lands.
    let (status, reply) = send_bundle(&url, Some(&rig.auth), &[&s], 2).await;
    assert_eq!(status, 200, "{reply}");
    let result = rig.builder.build_block().await.unwrap();
    assert_eq!(
        (result.number, result.included_bundles, result.txs),
        (2, 1, 1)
    );
    assert_eq!(only_outcome(&rig.builder).signer, rig.auth.address());
    rig.builder.stop().await;
}

#[tokio::test]
async fn bundle_for_past_block_is_late_and_future_bundle_waits() {
    let rig = rig().await;
    assert_eq!(rig.builder.build_block().await.unwrap().number, 1);
    let late = transfer(&rig.keys[2], 0, 3);
    let (status, reply) = send_bundle(&rig.builder.url(), Some(&rig.auth), &[&late], 1).await;
    assert_eq!(status, 200, "{reply}");
    let outcome = only_outcome(&rig.builder);
    assert_eq!(
        (
            outcome.reason.as_str(),
            outcome.landed,
            outcome.target_block
        ),
        ("late", false, 1)
    );

    // A bundle for head+2 is not built into head+1; it lands in its own block.
    let future = transfer(&rig.keys[1], 0, 2);
    let (status, _) = send_bundle(&rig.builder.url(), Some(&rig.auth), &[&future], 3).await;
    assert_eq!(status, 200);
    let block2 = rig.builder.build_block().await.unwrap();
    assert_eq!(
        (block2.number, block2.included_bundles, block2.txs),
        (2, 0, 0)
    );
    let block3 = rig.builder.build_block().await.unwrap();
    assert_eq!(
        (block3.number, block3.included_bundles, block3.txs),
        (3, 1, 1)
    );
    assert_eq!(block_hashes(&rig.chain, 3).await, vec![hash_of(&future)]);
    // The late bundle's tx was never sent to the chain.
    assert!(
        rig.chain
            .get_transaction_receipt(hash_of(&late))
            .await
            .unwrap()
            .is_none()
    );
    rig.builder.stop().await;
}
