//! The V2 backrun lane end to end: pending swap on anvil → engine → bundle → local builder →
//! chain, and the cases that must produce no bundle.

use alloy::primitives::U256;
use alloy::providers::Provider;
use kestrel_types::SkipReason;

use crate::harness::{ETH, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_victim_gets_a_backrun_whose_profit_the_chain_pays_to_the_wei() {
    let mut h = Harness::start().await;
    let victim = h.large_victim(0).await;
    assert!(
        h.wait_for(|c| c.bundles >= 1).await,
        "no bundle for a 5 ETH swap on a 100 ETH pool"
    );
    let metrics = crate::harness::scrape(h.metrics_port);
    assert!(metrics.contains("kestrel_bundles_total 1"), "{metrics}");
    assert!(
        metrics.contains("kestrel_pending_seen_total 1"),
        "{metrics}"
    );
    let landed = h.land_one(victim).await;
    let row = &landed.row;
    assert!(
        row.ev.floor <= row.ev.candidate.profit_net,
        "the on-chain floor never exceeds the prediction"
    );
    let receipt = landed
        .chain
        .provider
        .get_transaction_receipt(row.ev.backrun_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(receipt.status());
    // Dry-run journals what was fired: the exact eth_sendBundle body.
    let body: serde_json::Value =
        serde_json::from_str(row.body.as_deref().expect("journaled body")).unwrap();
    assert_eq!(body["method"], "eth_sendBundle");
    let txs: Vec<Vec<u8>> = body["params"][0]["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| alloy::primitives::hex::decode(t.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(txs.len(), 2);
    assert_eq!(alloy::primitives::keccak256(&txs[0]), victim);
    assert_eq!(alloy::primitives::keccak256(&txs[1]), row.ev.backrun_hash);
    assert_eq!(
        body["params"][0]["blockNumber"],
        format!("{:#x}", row.ev.candidate.block + 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victim_that_would_revert_gets_no_bundle() {
    let mut h = Harness::start().await;
    let token = h.world.tokens[0];
    let value = U256::from(5 * ETH);
    let quote = h.quote(0, token, value).await;
    h.swap(0, token, value, quote + U256::from(1)).await;
    let skipped = h
        .wait_for(|c| c.skips[SkipReason::VictimWouldRevert.index()] >= 1)
        .await;
    assert!(
        skipped,
        "a swap asking one wei more than the pool gives must be skipped"
    );
    assert_eq!(h.engine.counters().snapshot().bundles, 0);

    // A clean stop ends the run in the journal, with the counters and the lanes' totals (a
    // run without its end row reads as one that crashed).
    let mut lanes = serde_json::Map::new();
    lanes.insert("xarb".into(), serde_json::json!({ "trades": 3 }));
    let (report, _chain) = h.finish_journaled(lanes).await;
    let run = kestrel_store::open_readonly(&report.journal_path)
        .unwrap()
        .run(&report.run_id)
        .unwrap()
        .expect("the run's row");
    assert!(run.started_unix_ms.is_some() && run.ended_unix_ms >= run.started_unix_ms);
    let summary: serde_json::Value =
        serde_json::from_str(run.summary_json.as_deref().expect("an end summary")).unwrap();
    let c = &report.counters;
    assert_eq!(summary["pending_seen"], c.pending_seen);
    assert!(c.pending_seen >= 1);
    assert_eq!(summary["bundles"], 0);
    // A node that answered every connect and subscription: both failure counts journaled, 0.
    assert_eq!(summary["connect_failures"], 0);
    assert_eq!(summary["subscription_refusals"], 0);
    assert_eq!(
        summary["skips"]["victim_would_revert"],
        c.skip(SkipReason::VictimWouldRevert)
    );
    let skips = summary["skips"].as_object().unwrap();
    assert_eq!(
        skips.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        c.skips_total(),
        "every counted skip by name, none invented: {skips:?}"
    );
    assert_eq!(summary["lanes"]["xarb"]["trades"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_back_through_the_same_pair_reverts_on_chain_and_gets_no_bundle() {
    let mut h = Harness::start().await;
    let (weth, token) = (h.world.weth, h.world.tokens[0]);
    let value = U256::from(5 * ETH);
    // The chain: WETH -> token -> WETH through one pair pays the pair itself on the first hop,
    // so the second finds no input; the one-hop path is fine.
    let back = h.call_swap_path(0, vec![weth, token, weth], value).await;
    assert!(
        back.as_ref()
            .is_err_and(|e| e.contains("INSUFFICIENT_INPUT_AMOUNT")),
        "{back:?}"
    );
    assert!(h.call_swap_path(0, vec![weth, token], value).await.is_ok());
    // The engine predicts that revert rather than backrunning a swap that will not happen.
    h.swap_path(0, vec![weth, token, weth], value, U256::ZERO)
        .await;
    assert!(
        h.wait_for(|c| c.skips[SkipReason::VictimWouldRevert.index()] >= 1)
            .await,
        "{:?}",
        h.engine.counters().snapshot()
    );
    assert_eq!(h.engine.counters().snapshot().bundles, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_victim_paying_its_own_pair_is_backrun_on_the_reserves_the_chain_keeps() {
    let mut h = Harness::start().await;
    let (weth, token) = (h.world.weth, h.world.tokens[0]);
    let pair = h
        .world
        .pairs
        .iter()
        .find(|p| p.token == token && p.factory_index == 0)
        .expect("the pair router 0 trades")
        .address;
    // `to` is the pair itself: the pair sends its output to itself, so its token reserve does
    // not fall; only the 5 ETH of WETH moves it. The backrun is priced on those reserves and
    // the chain pays its predicted profit to the wei.
    let victim = h
        .swap_path_to(0, vec![weth, token], U256::from(5 * ETH), U256::ZERO, pair)
        .await;
    let landed = h.land_one(victim).await;
    assert!(landed.row.ev.candidate.profit_net > U256::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprofitable_victim_gets_no_bundle() {
    let mut h = Harness::start().await;
    let token = h.world.tokens[0];
    let value = U256::from(ETH / 1000);
    let quote = h.quote(0, token, value).await;
    h.swap(0, token, value, quote).await;
    let skipped = h
        .wait_for(|c| {
            c.skips[SkipReason::BelowMinProfit.index()] + c.skips[SkipReason::Unprofitable.index()]
                >= 1
        })
        .await;
    assert!(skipped, "a 0.001 ETH swap cannot pay for gas");
    assert_eq!(h.engine.counters().snapshot().bundles, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_on_a_pool_the_engine_does_not_know_gets_no_bundle() {
    let mut h = Harness::start().await;
    let token = new_pool_after_start(&h).await;
    let value = U256::from(5 * ETH);
    let quote = h.quote(0, token, value).await;
    h.swap(0, token, value, quote * U256::from(99) / U256::from(100))
        .await;
    let skipped = h
        .wait_for(|c| c.skips[SkipReason::UnknownPool.index()] >= 1)
        .await;
    assert!(
        skipped,
        "a pair created after discovery is unknown to the snapshot"
    );
    assert_eq!(h.engine.counters().snapshot().bundles, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_node_connection_is_recovered() {
    let mut h = Harness::start_behind_proxy().await;
    h.proxy.as_ref().unwrap().cut();
    // The hot thread notices, reconnects through the proxy and resubscribes: the node
    // confirms a second subscription.
    assert!(
        h.wait_for(|c| c.pending_subscriptions >= 2).await,
        "{:?}",
        h.engine.counters().snapshot()
    );
    h.large_victim(0).await;
    assert!(
        h.wait_for(|c| c.bundles >= 1).await,
        "no bundle after the node connection was cut"
    );
    let (report, _, _) = h.finish().await;
    assert!(report.hot.reconnects >= 1, "the cut was not noticed");
    assert_eq!(
        report.counters.reconnects, report.hot.reconnects,
        "the metric counts every reconnect"
    );
}

/// Deploys a fresh token, creates and seeds its WETH pair on factory 0, after the engine started.
async fn new_pool_after_start(h: &Harness) -> alloy::primitives::Address {
    use alloy::rpc::types::TransactionRequest;
    use alloy::sol_types::SolValue;
    use kestrel_sandbox::deploy::{connect, deploy, send_and_mine};
    alloy::sol! {
        #[sol(rpc)]
        interface IFactory { function createPair(address a, address b) external returns (address); function getPair(address a, address b) external view returns (address); }
        #[sol(rpc)]
        interface IToken { function transfer(address to, uint256 v) external returns (bool); function deposit() external payable; }
        #[sol(rpc)]
        interface IPair { function mint(address to) external returns (uint256); }
    }
    let deployer = connect(
        &h.anvil.http_url(),
        &kestrel_sandbox::anvil::Anvil::dev_key(0),
    )
    .unwrap();
    let me =
        kestrel_sandbox::deploy::key_address(&kestrel_sandbox::anvil::Anvil::dev_key(0)).unwrap();
    let erc20 = kestrel_sandbox::artifacts::load("ERC20").unwrap();
    let token = deploy(&deployer, &erc20, &U256::from(1_000_000 * ETH).abi_encode())
        .await
        .unwrap();
    let factory = IFactory::new(h.world.factories[0], &deployer);
    let w = h.world.weth;
    let tx = |req: TransactionRequest| send_and_mine(&deployer, req);
    tx(factory.createPair(w, token).into_transaction_request())
        .await
        .unwrap();
    let pair = factory.getPair(w, token).call().await.unwrap();
    let weth = IToken::new(w, &deployer);
    tx(weth
        .deposit()
        .value(U256::from(100 * ETH))
        .into_transaction_request())
    .await
    .unwrap();
    tx(weth
        .transfer(pair, U256::from(100 * ETH))
        .into_transaction_request())
    .await
    .unwrap();
    tx(IToken::new(token, &deployer)
        .transfer(pair, U256::from(200_000 * ETH))
        .into_transaction_request())
    .await
    .unwrap();
    tx(IPair::new(pair, &deployer)
        .mint(me)
        .into_transaction_request())
    .await
    .unwrap();
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_out_eth_victims_on_either_router_land_with_exact_profit() {
    for r in [0usize, 1] {
        let mut h = Harness::start().await;
        let token = h.world.tokens[0];
        let want = h.quote(r, token, U256::from(10 * ETH)).await;
        let need = h.quote_in(r, token, want).await;
        // Overpay by 3 %: the router refunds the rest.
        let victim = h
            .swap_exact_out(r, token, want, need * U256::from(103) / U256::from(100))
            .await;
        h.land_one(victim).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_stream_over_ipc_fires_a_bundle_that_lands_exactly() {
    let mut h = Harness::start_over_ipc().await;
    let victim = h.large_victim(1).await;
    h.land_one(victim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_relays_get_signed_call_bundles_from_the_slow_lane() {
    let relay = kestrel_testkit::FakeRelay::start().unwrap();
    // A second simulation relay at a path the relay does not serve: it answers 404.
    let wrong_path = format!("{}not-here", relay.url());
    let mut h = Harness::start_with_simulation_relays(&[relay.url(), wrong_path]).await;
    let victim = h.large_victim(0).await;
    assert!(h.wait_for(|c| c.bundles >= 1).await);
    let got = bundles_of(&relay).await;
    assert_eq!(got.len(), 1, "the simulation relay got no bundle");
    assert_eq!(got[0].method, "eth_callBundle");
    assert_eq!(
        alloy::primitives::keccak256(&got[0].txs[0]),
        victim,
        "victim first"
    );
    let auth = kestrel_fire::FlashbotsAuth::from_hex(crate::harness::RELAY_KEY).unwrap();
    assert_eq!(
        got[0].signer,
        auth.address(),
        "signed by the relay identity key"
    );
    assert_eq!(relay.rejected(), 0);
    let (report, _, _chain) = h.finish().await;
    // Each relay's answer is journaled against the victim: the relay's simulation result with
    // the bundle hash it computed (keccak of the transactions' hashes), the 404, and the local
    // builder's answer to the hot thread's eth_sendBundle (read on its warm connection).
    let reader = kestrel_store::open_readonly(&report.journal_path).unwrap();
    let answers = reader.relay_answers(&report.run_id).unwrap();
    assert_eq!(answers.len(), 3, "{answers:?}");
    let by_relay = |name: &str| answers.iter().find(|a| a.relay == name).unwrap();
    let good = by_relay("sim");
    assert_eq!(
        (good.victim, good.method.as_str(), good.http_status, good.ok),
        (victim, "eth_callBundle", 200, true),
        "{good:?}"
    );
    assert_eq!(good.bundle_hash, Some(bundle_hash(&got[0].txs)));
    let bad = by_relay("sim1");
    assert_eq!(
        (bad.victim, bad.http_status, bad.ok, bad.bundle_hash),
        (victim, 404, false, None),
        "{bad:?}"
    );
    let hot = by_relay("sandbox-builder");
    assert_eq!(
        (hot.victim, hot.method.as_str(), hot.http_status, hot.ok),
        (victim, "eth_sendBundle", 200, true),
        "{hot:?}"
    );
    assert_eq!(hot.bundle_hash, good.bundle_hash);
    relay.stop();
}

/// A bundle's hash as Flashbots computes it: keccak256 of its transactions' hashes.
fn bundle_hash(txs: &[Vec<u8>]) -> alloy::primitives::B256 {
    let hashes: Vec<u8> = txs
        .iter()
        .flat_map(|t| alloy::primitives::keccak256(t).0)
        .collect();
    alloy::primitives::keccak256(&hashes)
}

/// What `relay` has received once it has something (or after 5 s).
async fn bundles_of(relay: &kestrel_testkit::FakeRelay) -> Vec<kestrel_testkit::ReceivedBundle> {
    for _ in 0..500 {
        let got = relay.bundles();
        if !got.is_empty() {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Vec::new()
}

/// A builder behind `https://` (as every public relay is) gets its bundle from the hot thread
/// over TLS 1.3, not from the slow lane, and its answer is journaled against the victim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_builder_gets_the_bundle_from_the_hot_thread_over_tls() {
    kestrel_testkit::tls::trust_test_ca();
    let relay = kestrel_testkit::FakeRelay::start_tls().unwrap();
    let mut h = Harness::start_with_local_relay(&relay.url()).await;
    let victim = h.large_victim(0).await;
    assert!(h.wait_for(|c| c.bundles >= 1).await);
    let got = bundles_of(&relay).await;
    assert_eq!(got.len(), 1, "the https builder got no bundle");
    assert_eq!(got[0].method, "eth_sendBundle");
    assert_eq!(alloy::primitives::keccak256(&got[0].txs[0]), victim);
    let auth = kestrel_fire::FlashbotsAuth::from_hex(crate::harness::RELAY_KEY).unwrap();
    assert_eq!(got[0].signer, auth.address());
    assert_eq!((relay.rejected(), relay.tls_failures()), (0, 0));
    let (report, _, _chain) = h.finish().await;
    let mut hot = report.hot_relays.clone();
    hot.sort();
    assert_eq!(
        hot,
        ["extra-builder", "sandbox-builder"],
        "both on the hot thread"
    );
    let reader = kestrel_store::open_readonly(&report.journal_path).unwrap();
    let answers = reader.relay_answers(&report.run_id).unwrap();
    let tls = answers
        .iter()
        .find(|a| a.relay == "extra-builder")
        .expect("the https builder's answer is journaled");
    assert_eq!(
        (tls.victim, tls.method.as_str(), tls.http_status, tls.ok),
        (victim, "eth_sendBundle", 200, true),
        "{tls:?}"
    );
    assert_eq!(tls.bundle_hash, Some(bundle_hash(&got[0].txs)));
    relay.stop();
}

/// The hot thread never connects: when an https builder's connection has ended and the
/// successor its reader thread is dialing is still in its handshake (a proxy holds that
/// connection silent), the bundle is not written there but handed to the slow lane, which posts
/// it to that builder itself; the answer is journaled as the builder's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_an_https_builder_missed_while_redialing_is_posted_by_the_slow_lane() {
    kestrel_testkit::tls::trust_test_ca();
    let relay = kestrel_testkit::FakeRelay::start_tls().unwrap();
    let upstream = format!("127.0.0.1:{}", relay.port()).parse().unwrap();
    let proxy = kestrel_testkit::tcp_proxy::TcpProxy::start(upstream).unwrap();
    let url = format!("https://{}/", proxy.addr());
    let mut h = Harness::start_with_local_relay(&url).await;
    assert_eq!(proxy.accepted(), 1, "the hot thread's connection");
    // The builder drops the connection, as an idle timeout would; the reader thread redials at
    // once, and that connection is held mid-handshake.
    proxy.hold_next();
    relay.close_connections();
    for _ in 0..500 {
        if proxy.held() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(proxy.held(), 1, "no redial reached the proxy");

    let victim = h.large_victim(0).await;
    assert!(h.wait_for(|c| c.bundles >= 1).await);
    let got = bundles_of(&relay).await;
    assert_eq!(got.len(), 1, "the builder never got the bundle it missed");
    assert_eq!(got[0].method, "eth_sendBundle");
    assert_eq!(alloy::primitives::keccak256(&got[0].txs[0]), victim);
    let (report, _, _chain) = h.finish().await;
    assert!(report.hot_relays.contains(&"extra-builder".to_owned()));
    let reader = kestrel_store::open_readonly(&report.journal_path).unwrap();
    let bundles = reader.bundles(&report.run_id).unwrap();
    assert_eq!(bundles.len(), 1);
    assert_eq!(
        bundles[0].ev.relays_written, 1,
        "the hot thread wrote to the plain builder only"
    );
    let answers = reader.relay_answers(&report.run_id).unwrap();
    let posted = answers
        .iter()
        .find(|a| a.relay == "extra-builder")
        .expect("the slow lane's post is journaled as the builder's answer");
    assert_eq!(
        (
            posted.victim,
            posted.method.as_str(),
            posted.http_status,
            posted.ok
        ),
        (victim, "eth_sendBundle", 200, true),
        "{posted:?}"
    );
    assert_eq!(posted.bundle_hash, Some(bundle_hash(&got[0].txs)));
    relay.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_its_target_block_left_out_is_journaled_as_not_landed() {
    let mut h = Harness::start().await;
    let victim = h.large_victim(0).await;
    assert!(h.wait_for(|c| c.bundles >= 1).await, "no bundle");
    assert!(h.builder_received(1).await, "the builder never got it");
    let target = h.provider.get_block_number().await.unwrap() + 1;
    // The target block is mined past the builder: the victim is in it, our backrun is not.
    kestrel_sandbox::anvil::mine(&h.provider).await.unwrap();
    let receipt = h.provider.get_transaction_receipt(victim).await.unwrap();
    assert_eq!(receipt.and_then(|r| r.block_number), Some(target));
    // The running engine sees the head reach the target and settles the bundle by itself.
    assert!(
        h.wait_for(|c| c.not_landed >= 1).await,
        "the engine never settled the bundle"
    );
    // The journal lives in the harness's folder, which `_chain` keeps.
    let (report, _, _chain) = h.finish().await;
    let c = &report.counters;
    assert_eq!((c.landed, c.not_landed, c.realized_mismatches), (0, 1, 0));
    let reader = kestrel_store::open_readonly(&report.journal_path).unwrap();
    let bundles = reader.bundles(&report.run_id).unwrap();
    let outcomes = reader.outcomes(&report.run_id).unwrap();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    let o = &outcomes[0];
    assert_eq!(o.backrun_hash, bundles[0].ev.backrun_hash);
    assert!(!o.landed);
    assert_eq!(o.block, target);
    assert_eq!(o.realized_profit_wei, None);
    assert_eq!(o.predicted_profit_wei, bundles[0].ev.candidate.profit_net);
    assert!(o.note.contains("not in a block"), "{}", o.note);
}
