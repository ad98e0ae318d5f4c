//! The sandbox's local block builder.
//!
//! Real relays and builders are not reachable in the sandbox and anvil has no bundle RPCs, so this
//! module plays both roles on loopback:
//!
//! - an HTTP server speaking the Flashbots `eth_sendBundle` JSON-RPC wire format, with the
//!   `X-Flashbots-Signature` header checked by an injected verifier;
//! - the sandbox's "mempool": user transactions go through [`LocalBuilder::submit_user_tx`], which
//!   forwards them to anvil at once (so anvil's pending-tx subscription shows them to the engine)
//!   and remembers their raw bytes and arrival order;
//! - a block builder: [`LocalBuilder::build_block`] mines block `head + 1` with the bundles that
//!   target it at the top, in arrival order, then the rest of the mempool in arrival order.
//!
//! Bundles are atomic and non-reverting: a bundle with a tx that anvil rejects, leaves unmined, or
//! mines with a failed status is excluded and the block is rebuilt from an `evm_snapshot`; a bundle
//! that reuses a `(sender, nonce)` already taken in the block is excluded as a nonce conflict.
//! Every bundle ends in a [`BundleOutcome`] so the sandbox report can compare predicted profit
//! with what the chain really did.
//!
//! **Invariant:** anvil must run with `--no-mining --order fifo`, so that a mined block keeps the
//! order in which this builder sends the transactions.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use alloy::consensus::transaction::SignerRecoverable;
use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::network::ReceiptResponse as _;
use alloy::providers::{Provider, RootProvider};
use alloy_primitives::{Address, B256, Bytes, U64, U256, keccak256};
use anyhow::Context as _;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Checks an `X-Flashbots-Signature` header against the exact request body; returns the signer
/// when the signature is valid.
pub type VerifyFn = Arc<dyn Fn(&str, &[u8]) -> Option<Address> + Send + Sync>;

/// The production check: `kestrel_fire`'s Flashbots signature verifier as a [`VerifyFn`].
pub fn flashbots_verifier() -> VerifyFn {
    Arc::new(|header, body| kestrel_fire::verify_flashbots_signature(header, body).ok())
}

/// Most bundles waiting for a future block; more are refused rather than grown without bound.
pub const MAX_QUEUED_BUNDLES: usize = 1024;
/// Most user transactions remembered in the mempool.
pub const MAX_MEMPOOL_TXS: usize = 8192;
/// Most transactions in one bundle.
pub const MAX_BUNDLE_TXS: usize = 16;

const SIGNATURE_HEADER: &str = "x-flashbots-signature";

/// How to reach anvil and how to authenticate bundle senders.
pub struct BuilderConfig {
    /// anvil's HTTP JSON-RPC endpoint, e.g. `http://127.0.0.1:8545`.
    pub anvil_http: String,
    /// Verifies `X-Flashbots-Signature`; `None` means the request is refused with 403.
    pub verify: VerifyFn,
}

impl fmt::Debug for BuilderConfig {
    // Written by hand: the verifier is a closure and has no Debug.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuilderConfig")
            .field("anvil_http", &self.anvil_http)
            .finish_non_exhaustive()
    }
}

/// What one call of [`LocalBuilder::build_block`] mined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockResult {
    /// The block number mined.
    pub number: u64,
    /// Bundles that targeted this block and landed in it.
    pub included_bundles: usize,
    /// Bundles that targeted this block and were left out (reverted, invalid, nonce conflict).
    pub excluded_bundles: usize,
    /// Transactions in the mined block.
    pub txs: usize,
}

/// The final fate of one bundle received over `eth_sendBundle`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleOutcome {
    /// The block the bundle asked for.
    pub target_block: u64,
    /// Who signed the `X-Flashbots-Signature` header.
    pub signer: Address,
    /// The bundle's transactions, in bundle order.
    pub tx_hashes: Vec<B256>,
    /// Whether every transaction of the bundle was mined, in order, at the top of the block.
    pub landed: bool,
    /// `"landed"`, `"reverted"`, `"nonce_conflict"`, `"late"` (target block already passed) or
    /// `"invalid"` (anvil refused a tx or did not mine it).
    pub reason: String,
    /// The block it landed in.
    pub block: Option<u64>,
    /// Gas used by each transaction, in bundle order; empty unless landed.
    pub gas_used: Vec<u64>,
}

/// Why a bundle did not land; the strings are the report's stable keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exclusion {
    Reverted,
    NonceConflict,
    Late,
    Invalid,
}

impl Exclusion {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Reverted => "reverted",
            Self::NonceConflict => "nonce_conflict",
            Self::Late => "late",
            Self::Invalid => "invalid",
        }
    }
}

/// A decoded raw transaction: enough to order it and to detect nonce conflicts.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RawTx {
    hash: B256,
    raw: Bytes,
    sender: Address,
    nonce: u64,
}

/// Why raw transaction bytes were refused.
#[derive(Debug, thiserror::Error)]
enum TxDecodeError {
    #[error("not an EIP-2718 transaction: {0}")]
    Decode(#[from] alloy::eips::eip2718::Eip2718Error),
    #[error("trailing bytes after the transaction")]
    Trailing,
    #[error("signer recovery failed")]
    Recover,
}

impl RawTx {
    fn decode(raw: Bytes) -> Result<Self, TxDecodeError> {
        let mut buf: &[u8] = &raw;
        let envelope = TxEnvelope::decode_2718(&mut buf)?;
        if !buf.is_empty() {
            return Err(TxDecodeError::Trailing);
        }
        let sender = envelope
            .recover_signer()
            .map_err(|_| TxDecodeError::Recover)?;
        Ok(Self {
            hash: *envelope.tx_hash(),
            nonce: envelope.nonce(),
            sender,
            raw,
        })
    }

    fn slot(&self) -> (Address, u64) {
        (self.sender, self.nonce)
    }
}

/// A user transaction and its arrival index (order of [`LocalBuilder::submit_user_tx`] calls).
#[derive(Clone, Debug)]
struct PoolTx {
    tx: RawTx,
    arrival: u64,
}

/// A verified bundle waiting for its block.
#[derive(Clone, Debug)]
struct QueuedBundle {
    target_block: u64,
    signer: Address,
    txs: Vec<RawTx>,
}

impl QueuedBundle {
    fn outcome(&self, exclusion: Exclusion) -> BundleOutcome {
        BundleOutcome {
            target_block: self.target_block,
            signer: self.signer,
            tx_hashes: self.txs.iter().map(|tx| tx.hash).collect(),
            landed: false,
            reason: exclusion.as_str().to_owned(),
            block: None,
            gas_used: Vec::new(),
        }
    }
}

/// Everything the server and the builder share; held only for short, non-awaiting sections.
#[derive(Debug, Default)]
struct Book {
    mempool: Vec<PoolTx>,
    bundles: Vec<QueuedBundle>,
    outcomes: Vec<BundleOutcome>,
    next_arrival: u64,
    /// Bundles with a valid signature and shape, accepted so far (queued or already late).
    accepted: u64,
}

struct Shared {
    anvil: RootProvider,
    verify: VerifyFn,
    book: Mutex<Book>,
    /// Serializes block building with user submissions, so a tx that arrives mid-build cannot slip
    /// into anvil's pool between the pool drop and the ordered re-send.
    build_lock: tokio::sync::Mutex<()>,
}

impl Shared {
    fn book(&self) -> MutexGuard<'_, Book> {
        // A panic while holding the lock cannot leave the book half-written in a way that matters
        // more than losing the sandbox run, so keep going with whatever is there.
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The local builder: an `eth_sendBundle` server plus the block-building loop over anvil.
pub struct LocalBuilder {
    url: String,
    shared: Arc<Shared>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

impl fmt::Debug for LocalBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalBuilder")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl LocalBuilder {
    /// Starts the HTTP server on `127.0.0.1:0`. `POST /` takes JSON-RPC `eth_sendBundle` with
    /// params `[{"txs":["0x..",..],"blockNumber":"0x.."}]`: a missing or invalid signature gets
    /// 403, a malformed request 400, both with a JSON-RPC error; a valid bundle gets
    /// `{"result":{"bundleHash":"0x.."}}` and waits for its block.
    pub async fn start(cfg: BuilderConfig) -> anyhow::Result<LocalBuilder> {
        let anvil_url = cfg
            .anvil_http
            .parse()
            .with_context(|| format!("anvil url {:?}", cfg.anvil_http))?;
        let shared = Arc::new(Shared {
            anvil: RootProvider::new_http(anvil_url),
            verify: cfg.verify,
            book: Mutex::new(Book::default()),
            build_lock: tokio::sync::Mutex::new(()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind local builder")?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new()
            .route("/", post(handle_rpc))
            .with_state(Arc::clone(&shared));
        let (shutdown, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stop_rx.await;
            });
            if let Err(err) = serve.await {
                tracing::warn!(%err, "local builder server stopped");
            }
        });
        Ok(LocalBuilder {
            url,
            shared,
            shutdown,
            server,
        })
    }

    /// The server's base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Sends a user transaction through the sandbox mempool: forwards it to anvil with
    /// `eth_sendRawTransaction` right away and remembers its raw bytes and arrival order.
    pub async fn submit_user_tx(&self, raw: Bytes) -> anyhow::Result<B256> {
        let tx = RawTx::decode(raw).context("user tx")?;
        let _build = self.shared.build_lock.lock().await;
        anyhow::ensure!(
            self.shared.book().mempool.len() < MAX_MEMPOOL_TXS,
            "sandbox mempool full ({MAX_MEMPOOL_TXS} txs)"
        );
        let pending = self
            .shared
            .anvil
            .send_raw_transaction(&tx.raw)
            .await
            .with_context(|| format!("anvil refused user tx {}", tx.hash))?;
        // Paired check: anvil must have hashed the same bytes we decoded.
        anyhow::ensure!(
            *pending.tx_hash() == tx.hash,
            "anvil reported hash {} for user tx {}",
            pending.tx_hash(),
            tx.hash
        );
        let hash = tx.hash;
        let mut book = self.shared.book();
        let arrival = book.next_arrival;
        book.next_arrival += 1;
        book.mempool.push(PoolTx { tx, arrival });
        Ok(hash)
    }

    /// Builds and mines block `head + 1`: the bundles that target it, in arrival order, at the
    /// top (each bundle's txs in order, a victim taken out of its mempool place), then every
    /// remaining mempool tx in arrival order. Bundles that revert, are refused, or conflict on a
    /// nonce are excluded; mempool txs that anvil refuses are dropped.
    pub async fn build_block(&self) -> anyhow::Result<BlockResult> {
        let _build = self.shared.build_lock.lock().await;
        let head = self.shared.anvil.get_block_number().await?;
        let number = head + 1;
        let (bundles, mempool) = self.take_for_block(number);
        let mined = mine_with_exclusions(&self.shared.anvil, number, &bundles, &mempool).await?;
        Ok(self.settle(number, &bundles, &mined))
    }

    /// How many well-formed, correctly signed bundles the builder has accepted so far.
    pub fn accepted_bundles(&self) -> u64 {
        self.shared.book().accepted
    }

    /// Every bundle outcome so far, in the order they were decided.
    pub fn results(&self) -> Vec<BundleOutcome> {
        self.shared.book().outcomes.clone()
    }

    /// Stops the HTTP server and waits for it to finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        if let Err(err) = self.server.await {
            tracing::warn!(%err, "local builder server task failed");
        }
    }

    /// Takes the bundles for `number` out of the queue (marking those for past blocks late) and
    /// copies the mempool, so the slow anvil calls run without the lock.
    fn take_for_block(&self, number: u64) -> (Vec<QueuedBundle>, Vec<PoolTx>) {
        let mut book = self.shared.book();
        let queued = std::mem::take(&mut book.bundles);
        let mut now = Vec::new();
        for bundle in queued {
            if bundle.target_block == number {
                now.push(bundle);
            } else if bundle.target_block < number {
                let outcome = bundle.outcome(Exclusion::Late);
                book.outcomes.push(outcome);
            } else {
                book.bundles.push(bundle);
            }
        }
        (now, book.mempool.clone())
    }

    /// Records bundle outcomes and removes mined or refused txs from the mempool.
    fn settle(&self, number: u64, bundles: &[QueuedBundle], mined: &Mined) -> BlockResult {
        let mut book = self.shared.book();
        let mut included_bundles = 0;
        for (index, bundle) in bundles.iter().enumerate() {
            let outcome = match mined.exclusions.get(index).copied().flatten() {
                Some(exclusion) => bundle.outcome(exclusion),
                None => {
                    included_bundles += 1;
                    BundleOutcome {
                        landed: true,
                        reason: "landed".to_owned(),
                        block: Some(number),
                        gas_used: mined.bundle_gas.get(index).cloned().unwrap_or_default(),
                        ..bundle.outcome(Exclusion::Invalid)
                    }
                }
            };
            book.outcomes.push(outcome);
        }
        book.mempool.retain(|pool| {
            !mined.block_txs.contains(&pool.tx.hash) && !mined.refused.contains(&pool.tx.hash)
        });
        BlockResult {
            number,
            included_bundles,
            excluded_bundles: bundles.len() - included_bundles,
            txs: mined.block_txs.len(),
        }
    }
}

/// One transaction of a block plan; `bundle` is the index of the bundle it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PlannedTx {
    tx: RawTx,
    bundle: Option<usize>,
}

/// Orders block `head + 1`: bundles not yet excluded, in arrival order, each whole; a bundle that
/// reuses a `(sender, nonce)` already taken is marked a nonce conflict. Then the mempool in arrival
/// order, skipping txs already placed by a bundle or whose nonce slot a bundle took.
fn plan_block(
    bundles: &[QueuedBundle],
    exclusions: &mut [Option<Exclusion>],
    mempool: &[PoolTx],
) -> Vec<PlannedTx> {
    let mut taken: HashSet<(Address, u64)> = HashSet::new();
    let mut plan = Vec::new();
    for (index, bundle) in bundles.iter().enumerate() {
        let Some(slot) = exclusions.get_mut(index) else {
            continue;
        };
        if slot.is_some() {
            continue;
        }
        let mut own = HashSet::new();
        let conflict = bundle
            .txs
            .iter()
            .any(|tx| taken.contains(&tx.slot()) || !own.insert(tx.slot()));
        if conflict {
            *slot = Some(Exclusion::NonceConflict);
            continue;
        }
        taken.extend(own);
        plan.extend(bundle.txs.iter().map(|tx| PlannedTx {
            tx: tx.clone(),
            bundle: Some(index),
        }));
    }
    let mut by_arrival: Vec<&PoolTx> = mempool.iter().collect();
    by_arrival.sort_by_key(|pool| pool.arrival);
    for pool in by_arrival {
        if taken.insert(pool.tx.slot()) {
            plan.push(PlannedTx {
                tx: pool.tx.clone(),
                bundle: None,
            });
        }
    }
    plan
}

/// The block that was finally mined and what it did to each bundle.
#[derive(Debug, Default)]
struct Mined {
    /// Per bundle (same index as the input): why it was left out, `None` when it landed.
    exclusions: Vec<Option<Exclusion>>,
    /// Per bundle: gas used by each of its txs (empty for excluded bundles).
    bundle_gas: Vec<Vec<u64>>,
    /// Hashes of every tx in the mined block.
    block_txs: HashSet<B256>,
    /// Mempool txs anvil refused outright (e.g. nonce too low): dropped from the mempool.
    refused: HashSet<B256>,
}

/// The result of one attempt at mining a plan.
#[derive(Debug)]
enum Attempt {
    Mined(Mined),
    BundleFailed { bundle: usize, why: Exclusion },
}

/// Mines block `number`, excluding one failing bundle per attempt and rebuilding from a snapshot.
/// Each failed attempt excludes a bundle, so at most `bundles.len() + 1` attempts run.
async fn mine_with_exclusions(
    anvil: &RootProvider,
    number: u64,
    bundles: &[QueuedBundle],
    mempool: &[PoolTx],
) -> anyhow::Result<Mined> {
    let mut exclusions = vec![None; bundles.len()];
    for _ in 0..=bundles.len() {
        let plan = plan_block(bundles, &mut exclusions, mempool);
        // anvil keeps every snapshot in memory until a revert, so take one only when a bundle
        // could force a rebuild; a mempool-only block never needs one.
        let snapshot: Option<U256> = if plan.iter().any(|planned| planned.bundle.is_some()) {
            Some(anvil.raw_request("evm_snapshot".into(), ()).await?)
        } else {
            None
        };
        match mine_plan(anvil, number, &plan, bundles.len()).await? {
            Attempt::Mined(mut mined) => {
                mined.exclusions = exclusions;
                return Ok(mined);
            }
            Attempt::BundleFailed { bundle, why } => {
                let snapshot =
                    snapshot.context("Invariant: a bundle failed, so one was planned")?;
                let reverted: bool = anvil.raw_request("evm_revert".into(), (snapshot,)).await?;
                anyhow::ensure!(reverted, "anvil could not revert to snapshot {snapshot}");
                if let Some(slot) = exclusions.get_mut(bundle) {
                    *slot = Some(why);
                }
            }
        }
    }
    anyhow::bail!("block {number}: bundles kept failing after every exclusion")
}

/// Replaces anvil's pool with the plan, mines one block, and checks every bundle tx landed with
/// a success status.
async fn mine_plan(
    anvil: &RootProvider,
    number: u64,
    plan: &[PlannedTx],
    bundle_count: usize,
) -> anyhow::Result<Attempt> {
    let _: Value = anvil
        .raw_request("anvil_dropAllTransactions".into(), ())
        .await?;
    let mut refused = HashSet::new();
    for planned in plan {
        if anvil.send_raw_transaction(&planned.tx.raw).await.is_err() {
            match planned.bundle {
                Some(bundle) => {
                    let why = Exclusion::Invalid;
                    return Ok(Attempt::BundleFailed { bundle, why });
                }
                None => refused.insert(planned.tx.hash),
            };
        }
    }
    let _: Value = anvil.raw_request("evm_mine".into(), ()).await?;
    let block = anvil
        .get_block_by_number(number.into())
        .await?
        .with_context(|| format!("mined block {number} not found"))?;
    let block_txs: HashSet<B256> = block.transactions.hashes().collect();
    if let Some(bundle) = first_out_of_order(plan, &block.transactions.hashes().collect::<Vec<_>>())
    {
        // anvil reorders what cannot run as sent (a victim whose sender has an earlier nonce
        // still pending): the bundle did not execute as one ordered unit, so it is excluded.
        return Ok(Attempt::BundleFailed {
            bundle,
            why: Exclusion::Invalid,
        });
    }
    let mut bundle_gas = vec![Vec::new(); bundle_count];
    for planned in plan {
        let Some(bundle) = planned.bundle else {
            continue;
        };
        match bundle_tx_gas(anvil, &block_txs, planned.tx.hash).await? {
            Ok(gas) => bundle_gas
                .get_mut(bundle)
                .into_iter()
                .for_each(|g| g.push(gas)),
            Err(why) => return Ok(Attempt::BundleFailed { bundle, why }),
        }
    }
    Ok(Attempt::Mined(Mined {
        exclusions: Vec::new(),
        bundle_gas,
        block_txs,
        refused,
    }))
}

/// The first bundle whose transactions were not mined back to back in their bundle order.
/// Transactions missing from the block are left to the receipt check.
fn first_out_of_order(plan: &[PlannedTx], mined: &[B256]) -> Option<usize> {
    let position = |h: &B256| mined.iter().position(|m| m == h);
    let mut previous: Option<(usize, usize)> = None;
    for planned in plan {
        let Some(bundle) = planned.bundle else {
            continue;
        };
        let Some(pos) = position(&planned.tx.hash) else {
            continue;
        };
        if previous.is_some_and(|(b, p)| b == bundle && pos != p + 1) {
            return Some(bundle);
        }
        previous = Some((bundle, pos));
    }
    None
}

/// Gas used by a bundle tx, or why it does not count as landed.
async fn bundle_tx_gas(
    anvil: &RootProvider,
    block_txs: &HashSet<B256>,
    hash: B256,
) -> anyhow::Result<Result<u64, Exclusion>> {
    if !block_txs.contains(&hash) {
        return Ok(Err(Exclusion::Invalid));
    }
    let receipt = anvil
        .get_transaction_receipt(hash)
        .await?
        .with_context(|| format!("no receipt for mined tx {hash}"))?;
    if receipt.status() {
        Ok(Ok(receipt.gas_used()))
    } else {
        Ok(Err(Exclusion::Reverted))
    }
}

/// A refused `eth_sendBundle` request; maps to an HTTP status and a JSON-RPC error code.
#[derive(Debug, thiserror::Error)]
enum Reject {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("parse error: {0}")]
    Parse(String),
    #[error("method not found: {0}")]
    Method(String),
    #[error("invalid params: {0}")]
    Params(String),
    #[error("bundle queue full ({MAX_QUEUED_BUNDLES} bundles)")]
    Full,
    #[error("anvil unavailable: {0}")]
    Upstream(String),
}

impl Reject {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::FORBIDDEN,
            Self::Parse(_) | Self::Method(_) | Self::Params(_) => StatusCode::BAD_REQUEST,
            Self::Full => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn code(&self) -> i64 {
        match self {
            Self::Parse(_) => -32700,
            Self::Unauthorized(_) => -32600,
            Self::Method(_) => -32601,
            Self::Params(_) => -32602,
            Self::Full | Self::Upstream(_) => -32603,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RpcRequest {
    method: String,
    #[serde(default)]
    params: Vec<SendBundleParams>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendBundleParams {
    txs: Vec<Bytes>,
    block_number: U64,
}

async fn handle_rpc(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    // The id is echoed even on errors when the body is JSON at all; otherwise null, per JSON-RPC.
    let id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .unwrap_or(Value::Null);
    match accept_bundle(&shared, &headers, &body).await {
        Ok(bundle_hash) => (
            StatusCode::OK,
            Json(json!({"jsonrpc": "2.0", "id": id, "result": {"bundleHash": bundle_hash}})),
        ),
        Err(reject) => {
            tracing::debug!(%reject, "eth_sendBundle refused");
            let error = json!({"code": reject.code(), "message": reject.to_string()});
            (
                reject.status(),
                Json(json!({"jsonrpc": "2.0", "id": id, "error": error})),
            )
        }
    }
}

/// Authenticates, parses and queues one `eth_sendBundle`; returns the Flashbots bundle hash
/// (keccak256 of the concatenated tx hashes).
async fn accept_bundle(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<B256, Reject> {
    let header = headers
        .get(SIGNATURE_HEADER)
        .ok_or(Reject::Unauthorized("missing X-Flashbots-Signature header"))?
        .to_str()
        .map_err(|_| Reject::Unauthorized("X-Flashbots-Signature is not ASCII"))?;
    let signer = (shared.verify)(header, body)
        .ok_or(Reject::Unauthorized("invalid X-Flashbots-Signature"))?;
    let bundle = parse_bundle(body, signer)?;
    let mut hashes = Vec::with_capacity(bundle.txs.len() * 32);
    bundle
        .txs
        .iter()
        .for_each(|tx| hashes.extend_from_slice(tx.hash.as_slice()));
    let bundle_hash = keccak256(&hashes);
    let head = shared
        .anvil
        .get_block_number()
        .await
        .map_err(|err| Reject::Upstream(err.to_string()))?;
    let mut book = shared.book();
    book.accepted += 1;
    if bundle.target_block <= head {
        // Real relays accept such a bundle and simply never include it; record why.
        let outcome = bundle.outcome(Exclusion::Late);
        book.outcomes.push(outcome);
    } else if book.bundles.len() >= MAX_QUEUED_BUNDLES {
        return Err(Reject::Full);
    } else {
        book.bundles.push(bundle);
    }
    Ok(bundle_hash)
}

fn parse_bundle(body: &[u8], signer: Address) -> Result<QueuedBundle, Reject> {
    let request: RpcRequest =
        serde_json::from_slice(body).map_err(|err| Reject::Parse(err.to_string()))?;
    if request.method != "eth_sendBundle" {
        return Err(Reject::Method(request.method));
    }
    let mut params = request.params.into_iter();
    let (Some(params), None) = (params.next(), params.next()) else {
        return Err(Reject::Params("expected exactly one bundle object".into()));
    };
    if params.txs.is_empty() || params.txs.len() > MAX_BUNDLE_TXS {
        let n = params.txs.len();
        return Err(Reject::Params(format!(
            "a bundle holds 1..={MAX_BUNDLE_TXS} txs, got {n}"
        )));
    }
    let txs = params
        .txs
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            RawTx::decode(raw).map_err(|err| Reject::Params(format!("txs[{i}]: {err}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(QueuedBundle {
        target_block: params.block_number.to::<u64>(),
        signer,
        txs,
    })
}

#[cfg(test)]
mod order_tests {
    use super::*;

    fn planned(byte: u8, bundle: Option<usize>) -> PlannedTx {
        let tx = RawTx {
            hash: B256::repeat_byte(byte),
            raw: Bytes::new(),
            sender: Address::ZERO,
            nonce: 0,
        };
        PlannedTx { tx, bundle }
    }

    #[test]
    fn a_bundle_mined_out_of_its_order_is_found() {
        let plan = [planned(1, Some(0)), planned(2, Some(0)), planned(3, None)];
        let h = |b: u8| B256::repeat_byte(b);
        assert_eq!(first_out_of_order(&plan, &[h(1), h(2), h(3)]), None);
        // anvil held the victim (1) back behind its sender's earlier tx (3): backrun ran first.
        assert_eq!(first_out_of_order(&plan, &[h(2), h(3), h(1)]), Some(0));
        // Back to back but swapped is out of order too.
        assert_eq!(first_out_of_order(&plan, &[h(2), h(1), h(3)]), Some(0));
        // A gap between the two bundle txs breaks the bundle.
        assert_eq!(first_out_of_order(&plan, &[h(1), h(3), h(2)]), Some(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::{SignableTransaction, TxEip1559};
    use alloy::eips::eip2718::Encodable2718;
    use alloy::signers::SignerSync;
    use alloy::signers::local::PrivateKeySigner;
    use alloy_primitives::TxKind;

    /// Signs a plain ETH transfer; the sender is the signer's address, derived from the key.
    fn signed(signer: &PrivateKeySigner, nonce: u64, value: u64) -> RawTx {
        let tx = TxEip1559 {
            chain_id: 11_155_111,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(Address::repeat_byte(0x11)),
            value: U256::from(value),
            ..Default::default()
        };
        let sig = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
        let envelope = TxEnvelope::from(tx.into_signed(sig));
        RawTx::decode(envelope.encoded_2718().into()).unwrap()
    }

    fn bundle(txs: Vec<RawTx>) -> QueuedBundle {
        QueuedBundle {
            target_block: 1,
            signer: Address::ZERO,
            txs,
        }
    }

    fn pool(txs: &[&RawTx]) -> Vec<PoolTx> {
        (0u64..)
            .zip(txs)
            .map(|(arrival, tx)| PoolTx {
                tx: (*tx).clone(),
                arrival,
            })
            .collect()
    }

    fn hashes(plan: &[PlannedTx]) -> Vec<B256> {
        plan.iter().map(|p| p.tx.hash).collect()
    }

    #[test]
    fn decode_recovers_sender_nonce_and_hash() {
        let signer = PrivateKeySigner::random();
        let tx = signed(&signer, 7, 1);
        assert_eq!(tx.sender, signer.address());
        assert_eq!(tx.nonce, 7);
        // The EIP-2718 hash of a typed tx is keccak256 of its encoding.
        assert_eq!(tx.hash, keccak256(&tx.raw));
    }

    #[test]
    fn decode_rejects_garbage_and_trailing_bytes() {
        assert!(RawTx::decode(Bytes::from_static(&[0x02, 0xc0])).is_err());
        assert!(RawTx::decode(Bytes::new()).is_err());
        let good = signed(&PrivateKeySigner::random(), 0, 1);
        let mut longer = good.raw.to_vec();
        longer.push(0);
        assert!(matches!(
            RawTx::decode(longer.into()),
            Err(TxDecodeError::Trailing)
        ));
    }

    #[test]
    fn plan_puts_bundles_first_and_victim_once() {
        let (user_a, user_b, searcher) = (
            PrivateKeySigner::random(),
            PrivateKeySigner::random(),
            PrivateKeySigner::random(),
        );
        let a = signed(&user_a, 0, 1);
        let b = signed(&user_b, 0, 2);
        let s = signed(&searcher, 0, 3);
        let bundles = [bundle(vec![b.clone(), s.clone()])];
        let mut exclusions = [None];
        let plan = plan_block(&bundles, &mut exclusions, &pool(&[&a, &b]));
        assert_eq!(hashes(&plan), vec![b.hash, s.hash, a.hash]);
        assert_eq!(exclusions, [None]);
        assert_eq!(
            plan.iter().map(|p| p.bundle).collect::<Vec<_>>(),
            [Some(0), Some(0), None]
        );
    }

    #[test]
    fn plan_marks_reused_nonce_as_conflict() {
        let (user, searcher) = (PrivateKeySigner::random(), PrivateKeySigner::random());
        let b = signed(&user, 0, 1);
        let s1 = signed(&searcher, 0, 1);
        let s2 = signed(&searcher, 0, 2); // same nonce, different tx
        let bundles = [bundle(vec![b.clone(), s1.clone()]), bundle(vec![s2])];
        let mut exclusions = [None, None];
        let plan = plan_block(&bundles, &mut exclusions, &pool(&[&b]));
        assert_eq!(exclusions, [None, Some(Exclusion::NonceConflict)]);
        assert_eq!(hashes(&plan), vec![b.hash, s1.hash]);
    }

    #[test]
    fn plan_skips_excluded_bundles_and_mempool_slot_taken_by_bundle() {
        let (user, searcher) = (PrivateKeySigner::random(), PrivateKeySigner::random());
        let b = signed(&user, 0, 1);
        let replacement = signed(&user, 0, 9); // the bundle replaces the user's nonce-0 tx
        let s = signed(&searcher, 0, 1);
        let bundles = [bundle(vec![s.clone()]), bundle(vec![replacement.clone()])];
        let mut exclusions = [Some(Exclusion::Reverted), None];
        let plan = plan_block(&bundles, &mut exclusions, &pool(&[&b]));
        assert_eq!(hashes(&plan), vec![replacement.hash]);
        assert_eq!(exclusions, [Some(Exclusion::Reverted), None]);
    }

    #[test]
    fn plan_bundle_with_duplicate_slot_inside_is_conflict() {
        let searcher = PrivateKeySigner::random();
        let bundles = [bundle(vec![
            signed(&searcher, 3, 1),
            signed(&searcher, 3, 2),
        ])];
        let mut exclusions = [None];
        let plan = plan_block(&bundles, &mut exclusions, &[]);
        assert!(plan.is_empty());
        assert_eq!(exclusions, [Some(Exclusion::NonceConflict)]);
    }

    #[test]
    fn parse_bundle_accepts_the_flashbots_shape() {
        let tx = signed(&PrivateKeySigner::random(), 0, 1);
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_sendBundle",
            "params": [{"txs": [tx.raw], "blockNumber": "0x1a"}]});
        let parsed = parse_bundle(body.to_string().as_bytes(), Address::ZERO).unwrap();
        assert_eq!(parsed.target_block, 26);
        assert_eq!(parsed.txs, vec![tx]);
    }

    #[test]
    fn parse_bundle_rejects_malformed_requests() {
        let cases = [
            (b"not json".as_slice().to_vec(), -32700),
            (json!({"method": "eth_call", "params": []}).to_string().into_bytes(), -32601),
            (json!({"method": "eth_sendBundle", "params": []}).to_string().into_bytes(), -32602),
            (
                json!({"method": "eth_sendBundle", "params": [{"txs": [], "blockNumber": "0x1"}]})
                    .to_string()
                    .into_bytes(),
                -32602,
            ),
            (
                json!({"method": "eth_sendBundle", "params": [{"txs": ["0x02c0"], "blockNumber": "0x1"}]})
                    .to_string()
                    .into_bytes(),
                -32602,
            ),
        ];
        for (body, code) in cases {
            let err = parse_bundle(&body, Address::ZERO).unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
    }
}
