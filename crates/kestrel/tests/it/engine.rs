//! The V2 backrun lane end to end: pending swap on anvil → engine → bundle → local builder →
//! chain, and the cases that must produce no bundle.

use alloy::primitives::U256;
use alloy::providers::Provider;
use kestrel_types::SkipReason;

use crate::harness::{ETH, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_victim_gets_a_backrun_whose_profit_the_chain_pays_to_the_wei() {
    let mut h = Harness::start().await;
    let token = h.world.tokens[0];
    let value = U256::from(5 * ETH);
    let quote = h.quote(0, token, value).await;
    let victim = h
        .swap(0, token, value, quote * U256::from(99) / U256::from(100))
        .await;
    assert!(
        h.wait_for(|c| c.bundles >= 1).await,
        "no bundle for a 5 ETH swap on a 100 ETH pool"
    );
    assert!(
        h.builder_received(1).await,
        "the builder never accepted the bundle"
    );
    let metrics = crate::harness::scrape(h.metrics_port);
    assert!(metrics.contains("kestrel_bundles_total 1"), "{metrics}");
    assert!(
        metrics.contains("kestrel_pending_seen_total 1"),
        "{metrics}"
    );
    let block = h.builder.build_block().await.unwrap();
    assert_eq!(
        block.included_bundles,
        1,
        "builder outcomes: {:?}",
        h.builder.results()
    );
    let (report, outcomes, chain) = h.finish().await;
    let landed: Vec<_> = outcomes.iter().filter(|o| o.landed).collect();
    assert_eq!(landed.len(), 1, "outcomes: {outcomes:?}");
    assert_eq!(
        landed[0].tx_hashes[0], victim,
        "the victim goes first: backrun, never front-run"
    );
    let rows = kestrel_store::open_readonly(&report.journal_path)
        .unwrap()
        .bundles(&report.run_id)
        .unwrap();
    let row = rows
        .iter()
        .find(|r| r.ev.backrun_hash == landed[0].tx_hashes[1])
        .expect("journaled bundle");
    assert_eq!(row.ev.candidate.tx_hash, victim);
    let at = landed[0].block.unwrap();
    let realized = chain.weth_of(chain.world.executor, at).await
        - chain.weth_of(chain.world.executor, at - 1).await;
    assert!(realized > U256::ZERO);
    assert_eq!(
        realized, row.ev.candidate.profit_net,
        "predicted and realized profit differ"
    );
    assert!(
        row.ev.floor <= row.ev.candidate.profit_net,
        "the on-chain floor never exceeds the prediction"
    );
    let receipt = chain
        .provider
        .get_transaction_receipt(landed[0].tx_hashes[1])
        .await
        .unwrap()
        .unwrap();
    assert!(receipt.status());
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
    // The hot thread notices, reconnects through the proxy and resubscribes.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let token = h.world.tokens[0];
    let value = U256::from(5 * ETH);
    let quote = h.quote(0, token, value).await;
    h.swap(0, token, value, quote * U256::from(99) / U256::from(100))
        .await;
    assert!(
        h.wait_for(|c| c.bundles >= 1).await,
        "no bundle after the node connection was cut"
    );
    let (report, _, _) = h.finish().await;
    assert!(report.hot.reconnects >= 1, "the cut was not noticed");
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
        assert!(
            h.wait_for(|c| c.bundles >= 1).await,
            "router {r}: no bundle"
        );
        assert!(h.builder_received(1).await);
        h.builder.build_block().await.unwrap();
        let (report, outcomes, chain) = h.finish().await;
        let landed: Vec<_> = outcomes.iter().filter(|o| o.landed).collect();
        assert_eq!(landed.len(), 1, "router {r}: {outcomes:?}");
        assert_eq!(landed[0].tx_hashes[0], victim);
        let rows = kestrel_store::open_readonly(&report.journal_path)
            .unwrap()
            .bundles(&report.run_id)
            .unwrap();
        let at = landed[0].block.unwrap();
        let realized = chain.weth_of(chain.world.executor, at).await
            - chain.weth_of(chain.world.executor, at - 1).await;
        assert_eq!(realized, rows[0].ev.candidate.profit_net, "router {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_stream_over_ipc_fires_a_bundle_that_lands_exactly() {
    let mut h = Harness::start_over_ipc().await;
    let token = h.world.tokens[0];
    let value = U256::from(5 * ETH);
    let quote = h.quote(1, token, value).await;
    let victim = h
        .swap(1, token, value, quote * U256::from(99) / U256::from(100))
        .await;
    assert!(h.wait_for(|c| c.bundles >= 1).await, "no bundle over IPC");
    assert!(h.builder_received(1).await);
    h.builder.build_block().await.unwrap();
    let (report, outcomes, chain) = h.finish().await;
    let landed: Vec<_> = outcomes.iter().filter(|o| o.landed).collect();
    assert_eq!(landed.len(), 1, "{outcomes:?}");
    assert_eq!(landed[0].tx_hashes[0], victim);
    let rows = kestrel_store::open_readonly(&report.journal_path)
        .unwrap()
        .bundles(&report.run_id)
        .unwrap();
    let at = landed[0].block.unwrap();
    let realized = chain.weth_of(chain.world.executor, at).await
        - chain.weth_of(chain.world.executor, at - 1).await;
    assert_eq!(realized, rows[0].ev.candidate.profit_net);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_relays_get_signed_call_bundles_from_the_slow_lane() {
    let relay = kestrel_testkit::FakeRelay::start().unwrap();
    let mut h = Harness::start_with_simulation_relay(&relay.url()).await;
    let token = h.world.tokens[0];
    let value = U256::from(5 * ETH);
    let quote = h.quote(0, token, value).await;
    let victim = h
        .swap(0, token, value, quote * U256::from(99) / U256::from(100))
        .await;
    assert!(h.wait_for(|c| c.bundles >= 1).await);
    let mut got = Vec::new();
    for _ in 0..500 {
        got = relay.bundles();
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
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
    h.finish().await;
    relay.stop();
}
