//! `kestrel deploy-executor`: deploys the committed `KestrelExecutor` (contracts/out, built by
//! `scripts/build-contracts.sh`) for the config's signer on the config's chain, and optionally
//! funds it with WETH, the capital its backruns start and end in.
//!
//! Without `--broadcast` nothing is sent: the plan (the address the executor will get, the gas,
//! what it costs at the current base fee, and whether the signer can pay) is printed. With it,
//! each transaction is sent, its receipt awaited with progress shown, and the result checked on
//! chain: the code is there, `owner()` is the signer (who alone may call `backrun`), `weth()` is
//! the config's WETH, and the executor's WETH balance grew by the funding.

use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolValue};
use anyhow::{Context, anyhow, bail, ensure};
use kestrel_chain::Chain;
use kestrel_config::Config;
use kestrel_sandbox::deploy::bindings::{IKestrelExecutor, IWETH9};

/// What `deploy-executor` was asked to do.
#[derive(Clone, Debug)]
pub struct DeployOpts {
    /// WETH to wrap from the signer's ETH and move into the executor (0: none).
    pub fund_wei: U256,
    /// Send the transactions; without it only the plan is computed.
    pub broadcast: bool,
    /// Longest wait for each receipt.
    pub wait: Duration,
    /// How often the node is asked for a receipt.
    pub poll: Duration,
}

/// What was planned and, with `--broadcast`, done.
#[derive(Clone, Debug)]
pub struct DeployReport {
    /// The node's chain id (checked against the config's).
    pub chain_id: u64,
    /// The signer, who deploys and owns the executor.
    pub owner: Address,
    /// The executor's address: predicted from the signer's nonce, and after a broadcast the one
    /// the receipt gives.
    pub executor: Address,
    /// Gas the node estimates for the deployment.
    pub deploy_gas: u64,
    /// The most every planned transaction together may cost, in wei (fee cap × gas limits),
    /// plus the funding.
    pub max_cost_wei: U256,
    /// The signer's ETH balance before anything was sent.
    pub balance_wei: U256,
    /// Whether anything was sent.
    pub sent: bool,
    /// Transactions sent, in order: (what, hash, gas used).
    pub txs: Vec<(&'static str, B256, u64)>,
    /// The executor's WETH balance at the end (after a broadcast).
    pub executor_weth: U256,
}

/// Gas limit of a WETH deposit and of a WETH transfer (measured ~45k and ~35k at most).
const WETH_TX_GAS: u64 = 80_000;

/// Plans, and with `opts.broadcast` performs, the deployment. `signer_hex` is the resolved
/// `signer.key`; `progress` receives one line per step (a receipt wait prints every 10 s).
pub async fn deploy_executor(
    cfg: &Config,
    signer_hex: &str,
    opts: &DeployOpts,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<DeployReport> {
    let signer: PrivateKeySigner = signer_hex
        .trim()
        .parse()
        .map_err(|_| anyhow!("signer.key: not a valid 0x-hex secp256k1 private key"))?;
    let owner = signer.address();
    let chain = Chain::connect_http(&cfg.chain.http_url)?;
    let chain_id = cfg.chain.chain_id.0;
    chain
        .expect_chain_id(chain_id)
        .await
        .with_context(|| format!("checking the node at {}", cfg.chain.http_url))?;
    let url = cfg
        .chain
        .http_url
        .parse()
        .map_err(|e| anyhow!("chain.http_url: {e}"))?;
    let provider: DynProvider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_reqwest(kestrel_chain::http_client()?, url)
        .erased();
    let weth = cfg.backrun.weth;
    let weth_code = provider
        .get_code_at(weth)
        .await
        .context("reading backrun.weth's code")?;
    ensure!(
        !weth_code.is_empty(),
        "backrun.weth ({weth}) has no code on chain {chain_id}: check the address"
    );
    let artifact = kestrel_sandbox::artifacts::executor()?;
    let mut code = artifact.bytecode.to_vec();
    code.extend_from_slice(&weth.abi_encode());
    let code = Bytes::from(code);

    let nonce = provider
        .get_transaction_count(owner)
        .pending()
        .await
        .context("reading the signer's nonce")?;
    let executor = owner.create(nonce);
    let balance_wei = provider
        .get_balance(owner)
        .await
        .context("reading the signer's balance")?;
    let head = chain.head().await.context("reading the head block")?;
    let tip = u128::try_from(cfg.backrun.priority_fee_wei)
        .map_err(|_| anyhow!("backrun.priority_fee_wei does not fit u128"))?;
    // Two base-fee doublings of headroom, as wallets do; only the block's price is paid.
    let max_fee = head.next_base_fee.saturating_mul(2).saturating_add(tip);
    let deploy_req = TransactionRequest::default()
        .with_from(owner)
        .with_deploy_code(code.clone());
    let deploy_gas = provider
        .estimate_gas(deploy_req.clone())
        .await
        .context("estimating the deployment's gas")?;
    let deploy_limit = deploy_gas.saturating_mul(6) / 5;
    let weth_txs = if opts.fund_wei.is_zero() { 0 } else { 2 };
    let max_cost_wei =
        U256::from(max_fee) * U256::from(deploy_limit + weth_txs * WETH_TX_GAS) + opts.fund_wei;
    let mut report = DeployReport {
        chain_id,
        owner,
        executor,
        deploy_gas,
        max_cost_wei,
        balance_wei,
        sent: false,
        txs: Vec::new(),
        executor_weth: U256::ZERO,
    };
    if balance_wei < max_cost_wei {
        bail!(
            "the signer {owner} holds {balance_wei} wei on chain {chain_id}; deploying (gas \
             {deploy_gas}) and funding {} wei may cost up to {max_cost_wei} wei: add ETH to it \
             first",
            opts.fund_wei
        );
    }
    if !opts.broadcast {
        return Ok(report);
    }

    let fees = |req: TransactionRequest, gas: u64| {
        req.with_from(owner)
            .with_chain_id(chain_id)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(tip)
    };
    progress(&format!(
        "deploying the executor from {owner} (nonce {nonce}) to {executor}"
    ));
    let req = fees(deploy_req, deploy_limit).with_nonce(nonce);
    let receipt = send_and_wait(&provider, req, "deploy", opts, progress).await?;
    report.sent = true;
    report
        .txs
        .push(("deploy", receipt.transaction_hash, receipt.gas_used));
    let deployed = receipt
        .contract_address
        .ok_or_else(|| anyhow!("the deployment's receipt names no contract address"))?;
    ensure!(
        deployed == executor,
        "the executor was deployed at {deployed}, not the predicted {executor} (another \
         transaction from {owner} took nonce {nonce}?)"
    );
    let exec = IKestrelExecutor::new(executor, &provider);
    let on_chain_owner = exec.owner().call().await.context("reading owner()")?;
    let on_chain_weth = exec.weth().call().await.context("reading weth()")?;
    ensure!(
        on_chain_owner == owner && on_chain_weth == weth,
        "the contract at {executor} reports owner {on_chain_owner} and weth {on_chain_weth}, \
         expected {owner} and {weth}"
    );
    progress(&format!("deployed: {executor}"));

    let token = IWETH9::new(weth, &provider);
    let before = token
        .balanceOf(executor)
        .call()
        .await
        .context("reading the executor's WETH")?;
    if !opts.fund_wei.is_zero() {
        let wrap = TransactionRequest::default()
            .with_to(weth)
            .with_value(opts.fund_wei)
            .with_input(IWETH9::depositCall {}.abi_encode());
        let r = send_and_wait(
            &provider,
            fees(wrap, WETH_TX_GAS).with_nonce(nonce + 1),
            "wrap ETH into WETH",
            opts,
            progress,
        )
        .await
        .with_context(|| format!("the executor is deployed at {executor}; funding it failed"))?;
        report.txs.push(("wrap", r.transaction_hash, r.gas_used));
        let send = TransactionRequest::default().with_to(weth).with_input(
            IWETH9::transferCall {
                to: executor,
                amount: opts.fund_wei,
            }
            .abi_encode(),
        );
        let r = send_and_wait(
            &provider,
            fees(send, WETH_TX_GAS).with_nonce(nonce + 2),
            "move WETH into the executor",
            opts,
            progress,
        )
        .await
        .with_context(|| {
            format!(
                "the executor is deployed at {executor} and {} wei is wrapped in the signer's \
                 WETH; moving it failed: send it with any wallet",
                opts.fund_wei
            )
        })?;
        report.txs.push(("fund", r.transaction_hash, r.gas_used));
    }
    report.executor_weth = token
        .balanceOf(executor)
        .call()
        .await
        .context("reading the executor's WETH")?;
    ensure!(
        report.executor_weth >= before + opts.fund_wei,
        "the executor holds {} WETH wei after funding {} wei",
        report.executor_weth,
        opts.fund_wei
    );
    Ok(report)
}

/// Sends `req` and waits for its receipt (up to `opts.wait`, polling every `opts.poll`, a line
/// every 10 s); fails on a revert or when no receipt comes in time, naming the hash either way.
async fn send_and_wait(
    provider: &DynProvider,
    req: TransactionRequest,
    what: &str,
    opts: &DeployOpts,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<TransactionReceipt> {
    let pending = provider
        .send_transaction(req)
        .await
        .with_context(|| format!("sending the {what} transaction"))?;
    let hash = *pending.tx_hash();
    progress(&format!("{what}: sent {hash}, waiting for its receipt"));
    let start = Instant::now();
    let mut said = Instant::now();
    loop {
        if let Some(r) = provider
            .get_transaction_receipt(hash)
            .await
            .with_context(|| format!("fetching the receipt of {hash}"))?
        {
            ensure!(
                r.status(),
                "{what} transaction {hash} reverted in block {:?} (gas used {})",
                r.block_number,
                r.gas_used
            );
            progress(&format!(
                "{what}: included in block {} (gas used {})",
                r.block_number.unwrap_or_default(),
                r.gas_used
            ));
            return Ok(r);
        }
        if start.elapsed() >= opts.wait {
            bail!(
                "{what} transaction {hash} has no receipt after {} s: it may still be pending; \
                 check it before running this again",
                opts.wait.as_secs()
            );
        }
        if said.elapsed() >= Duration::from_secs(10) {
            progress(&format!(
                "{what}: still waiting for {hash} ({} s)",
                start.elapsed().as_secs()
            ));
            said = Instant::now();
        }
        tokio::time::sleep(opts.poll).await;
    }
}

/// `kestrel deploy-executor --config FILE [--fund-wei WEI] [--broadcast] [--wait SECS]`.
pub fn cli(
    file: &std::path::Path,
    fund_wei: &str,
    broadcast: bool,
    wait_secs: u64,
) -> anyhow::Result<std::process::ExitCode> {
    let fund_wei = U256::from_str_radix(fund_wei.trim(), 10)
        .map_err(|_| anyhow!("--fund-wei: expected a whole number of wei, got {fund_wei:?}"))?;
    ensure!(wait_secs >= 1, "--wait must be at least 1 second");
    let cfg = match crate::cli::load(file)? {
        kestrel_config::AnyConfig::Full(cfg) => cfg,
        kestrel_config::AnyConfig::CexOnly(_) => bail!(
            "{} has no [chain] section: the executor is deployed on the config's chain",
            file.display()
        ),
    };
    let keys = crate::cli::resolve_keys(&cfg)?;
    let opts = DeployOpts {
        fund_wei,
        broadcast,
        wait: Duration::from_secs(wait_secs),
        poll: Duration::from_secs(1),
    };
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(deploy_executor(
            &cfg,
            &keys.searcher_hex,
            &opts,
            &mut |line| eprintln!("kestrel: {line}"),
        ))?;
    println!("chain id        {}", report.chain_id);
    println!("owner (signer)  {}", report.owner);
    println!("executor        {}", report.executor);
    println!("deploy gas      {}", report.deploy_gas);
    println!(
        "max cost (wei)  {} (signer holds {})",
        report.max_cost_wei, report.balance_wei
    );
    if !report.sent {
        println!(
            "\nNothing was sent. Run again with --broadcast to deploy{}.",
            if fund_wei.is_zero() {
                String::new()
            } else {
                format!(" and fund it with {fund_wei} wei of WETH")
            }
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    for (what, hash, gas) in &report.txs {
        println!("{what:<15} {hash} (gas used {gas})");
    }
    println!("executor WETH   {} wei", report.executor_weth);
    println!(
        "\nSet it in {}:\n\n[backrun]\nexecutor = \"{}\"",
        file.display(),
        report.executor
    );
    Ok(std::process::ExitCode::SUCCESS)
}
