//! `kestrel deploy-executor` against anvil with the real WETH9: the plan sends nothing; a
//! broadcast deploys the committed executor for the signer, funds it, and the engine then starts
//! with it; a node on another chain and a signer without ETH are refused before anything is sent.

use std::time::Duration;

use alloy::primitives::{U256, hex};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use kestrel::deploy::{DeployOpts, deploy_executor};
use kestrel::engine::{Engine, EngineKeys};
use kestrel_sandbox::anvil::{Anvil, mine, set_balance};
use kestrel_sandbox::builder::{BuilderConfig, LocalBuilder, flashbots_verifier};
use kestrel_sandbox::deploy::{WorldSpec, deploy_world};
use kestrel_types::Mode;

use crate::harness::{ETH, RELAY_KEY, SEARCHER_KEY};

/// The sandbox's engine config with its `executor = ...` line taken out, as a user's config is
/// before the executor exists.
fn config_without_executor(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("executor = "))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn opts(fund_wei: U256, broadcast: bool) -> DeployOpts {
    DeployOpts {
        fund_wei,
        broadcast,
        wait: Duration::from_secs(60),
        poll: Duration::from_millis(50),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_executor_plans_then_deploys_funds_and_the_engine_starts_with_it() {
    kestrel_sandbox::tools::ensure_installed().expect("tools");
    let anvil = Anvil::start().expect("anvil");
    let world_owner: PrivateKeySigner = SEARCHER_KEY.parse().unwrap();
    let spec = WorldSpec {
        tokens: 1,
        factories: 2,
        liquidity_weth: U256::from(100 * ETH),
        price_skew_bps: 30,
        executor_capital_weth: U256::from(ETH),
        searcher: world_owner.address(),
        searcher_key: SEARCHER_KEY.to_string(),
    };
    let world = deploy_world(&anvil.http_url(), &Anvil::dev_key(0), &spec)
        .await
        .expect("deploy the world");
    let builder = LocalBuilder::start(BuilderConfig {
        anvil_http: anvil.http_url(),
        verify: flashbots_verifier(),
    })
    .await
    .expect("builder");
    let dir = tempfile::tempdir().unwrap();
    let text = kestrel::sandbox::engine_config(
        &anvil.ws_url(),
        &anvil.http_url(),
        &world,
        &builder.url(),
        &dir.path().join("journal.sqlite"),
    );
    let text = config_without_executor(&text);
    let cfg = kestrel_config::parse_str(&text).expect("a dry-run config needs no executor");
    assert_eq!(cfg.backrun.executor, None);
    let provider = kestrel_chain::Chain::connect_http(&anvil.http_url())
        .unwrap()
        .provider()
        .clone();

    // A signer of its own, with 10 ETH.
    let signer = PrivateKeySigner::random();
    let key = format!("0x{}", hex::encode(signer.to_bytes()));
    set_balance(&provider, signer.address(), U256::from(10 * ETH))
        .await
        .unwrap();
    let fund = U256::from(2 * ETH);

    // The plan: nothing sent.
    let plan = deploy_executor(&cfg, &key, &opts(fund, false), &mut |_| {})
        .await
        .expect("plan");
    assert!(!plan.sent);
    assert!(plan.txs.is_empty());
    assert_eq!(plan.owner, signer.address());
    assert_eq!(plan.executor, signer.address().create(0));
    assert!(plan.deploy_gas > 100_000, "gas {}", plan.deploy_gas);
    assert!(plan.max_cost_wei > fund);
    assert_eq!(
        provider
            .get_transaction_count(signer.address())
            .await
            .unwrap(),
        0
    );
    assert!(
        provider
            .get_code_at(plan.executor)
            .await
            .unwrap()
            .is_empty()
    );

    // anvil runs with --no-mining: a miner stands in for the chain.
    let miner = {
        let p = provider.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = mine(&p).await;
            }
        })
    };
    let mut lines = Vec::new();
    let done = deploy_executor(&cfg, &key, &opts(fund, true), &mut |l| {
        lines.push(l.to_owned());
    })
    .await;
    let done = done.expect("deploy and fund");
    assert!(done.sent);
    assert_eq!(done.executor, plan.executor, "deployed where the plan said");
    let kinds: Vec<&str> = done.txs.iter().map(|t| t.0).collect();
    assert_eq!(kinds, ["deploy", "wrap", "fund"]);
    assert_eq!(done.executor_weth, fund);
    assert!(
        !provider
            .get_code_at(done.executor)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(lines.iter().any(|l| l.contains("deployed")), "{lines:?}");
    // The chain agrees: the executor holds exactly the funding in WETH.
    let weth_of = kestrel_chain::Chain::connect_http(&anvil.http_url())
        .unwrap()
        .erc20_balance(
            world.weth,
            done.executor,
            provider.get_block_number().await.unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(weth_of, fund);

    // With the printed address set, the engine starts (pools, ladder signed for this executor).
    let with_executor = text.replace(
        "[backrun]\n",
        &format!("[backrun]\nexecutor = \"{}\"\n", done.executor),
    );
    let cfg2 = kestrel_config::parse_str(&with_executor).expect("config with the executor");
    let engine = Engine::start(
        cfg2,
        Mode::DryRun,
        EngineKeys {
            searcher_hex: key.clone(),
            relay_auth_hex: RELAY_KEY.into(),
        },
        "deploy-it".into(),
    )
    .await
    .expect("the engine starts with the deployed executor");
    engine.stop().await.expect("stop");

    // A node on another chain than the config's is refused before anything is read or sent.
    let wrong =
        kestrel_config::parse_str(&text.replace("chain_id = 11155111", "chain_id = 1")).unwrap();
    let err = deploy_executor(&wrong, &key, &opts(fund, true), &mut |_| {})
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("chain id 11155111") && msg.contains("chain_id = 1"),
        "{msg}"
    );

    // A signer that cannot pay is told so, and nothing is sent.
    let poor = PrivateKeySigner::random();
    let poor_key = format!("0x{}", hex::encode(poor.to_bytes()));
    let err = deploy_executor(&cfg, &poor_key, &opts(U256::ZERO, true), &mut |_| {})
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("add ETH"), "{err:#}");
    assert_eq!(
        provider
            .get_transaction_count(poor.address())
            .await
            .unwrap(),
        0
    );
    miner.abort();
}
