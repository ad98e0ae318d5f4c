//! Deploys a small Uniswap V2 world onto anvil from the real npm bytecode: WETH9, test tokens,
//! several factory + router pairs, one seeded WETH/token pool per token per factory, and our
//! backrun executor owned and funded for the searcher.
//!
//! anvil runs with `--no-mining`, so every transaction goes through [`send_and_mine`]: send,
//! mine one block, and fail on a missing or reverted receipt.

use std::fmt;

use alloy::network::TransactionBuilder;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolValue;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256, uint};
use anyhow::{Context, anyhow, ensure};

use crate::anvil::{mine, set_balance};
use crate::artifacts::{self, Artifact};
use bindings::{
    IERC20, IKestrelExecutor, IUniswapV2Factory, IUniswapV2Pair, IUniswapV2Router02, IWETH9,
};

/// Typed RPC bindings for the contracts the sandbox deploys and drives.
pub mod bindings {
    alloy::sol! {
        /// ERC-20 as deployed from v2-core's `build/ERC20.json`.
        #[sol(rpc, all_derives)]
        interface IERC20 {
            function totalSupply() external view returns (uint256);
            function balanceOf(address owner) external view returns (uint256);
            function transfer(address to, uint256 amount) external returns (bool);
            function approve(address spender, uint256 amount) external returns (bool);
        }

        /// WETH9 as deployed from v2-periphery's `build/WETH9.json`.
        #[sol(rpc, all_derives)]
        interface IWETH9 {
            function deposit() external payable;
            function withdraw(uint256 wad) external;
            function balanceOf(address owner) external view returns (uint256);
            function transfer(address to, uint256 amount) external returns (bool);
            function approve(address spender, uint256 amount) external returns (bool);
        }

        /// Uniswap V2 factory.
        #[sol(rpc, all_derives)]
        interface IUniswapV2Factory {
            function createPair(address tokenA, address tokenB) external returns (address pair);
            function getPair(address tokenA, address tokenB) external view returns (address pair);
            function allPairsLength() external view returns (uint256);
        }

        /// Uniswap V2 pair.
        #[sol(rpc, all_derives)]
        interface IUniswapV2Pair {
            event Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to);
            event Sync(uint112 reserve0, uint112 reserve1);
            function token0() external view returns (address);
            function token1() external view returns (address);
            function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
            function mint(address to) external returns (uint256 liquidity);
            function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
        }

        /// Uniswap V2 Router02 (the parts the sandbox uses).
        #[sol(rpc, all_derives)]
        interface IUniswapV2Router02 {
            function factory() external view returns (address);
            function WETH() external view returns (address);
            function getAmountsOut(uint256 amountIn, address[] calldata path) external view returns (uint256[] memory amounts);
            function swapExactETHForTokens(uint256 amountOutMin, address[] calldata path, address to, uint256 deadline) external payable returns (uint256[] memory amounts);
            function swapExactTokensForETH(uint256 amountIn, uint256 amountOutMin, address[] calldata path, address to, uint256 deadline) external returns (uint256[] memory amounts);
        }

        /// Our executor, `contracts/src/KestrelExecutor.sol`.
        #[sol(rpc, all_derives)]
        interface IKestrelExecutor {
            event Backrun(address indexed poolBuy, address indexed poolSell, uint256 amountIn, uint256 profitGross, uint256 payment);
            event BackrunRoute(address indexed firstPool, uint256 hops, uint256 amountIn, uint256 profitGross, uint256 payment);
            function owner() external view returns (address);
            function weth() external view returns (address);
            function backrun(address poolBuy, address poolSell, uint256 feeNumBuy, uint256 feeNumSell, uint256 minProfit, uint256 paymentBps) external;
            function backrunRoute(uint256[] calldata route, uint256 amountIn, uint256 minProfit, uint256 paymentBps) external;
            function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external;
            function withdraw(address token, address to, uint256 amount) external;
            function optimalAmountIn(uint256 x1, uint256 y1, uint256 y2, uint256 x2, uint256 feeNumBuy, uint256 feeNumSell) external pure returns (uint256);
            function isqrt(uint256 x) external pure returns (uint256);
        }
    }
}

/// Test tokens per WETH in a pool priced at par (pool 0 of every pair).
pub const TOKENS_PER_WETH: u64 = 1_000;

/// ETH on top of the deployer's needs, for gas.
const GAS_RESERVE_WEI: U256 = uint!(1_000_000000000000000000_U256); // 1000 ETH

/// ETH the searcher gets on top of its balance, for gas.
const SEARCHER_GAS_WEI: U256 = uint!(100_000000000000000000_U256); // 100 ETH

/// Spare supply of each test token beyond what the pools take (1e9 tokens of 18 decimals).
const SPARE_TOKEN_SUPPLY: U256 = uint!(1_000_000_000_000000000000000000_U256);

/// What to deploy.
#[derive(Clone)]
pub struct WorldSpec {
    /// Number of test ERC-20 tokens (v2-core `ERC20`).
    pub tokens: usize,
    /// Number of factory + router pairs; at least 2, so every token has two pools to arbitrage.
    pub factories: usize,
    /// WETH in every pool.
    pub liquidity_weth: U256,
    /// The pool on factory `i` holds `1 + i * skew / 10_000` times pool 0's tokens per WETH.
    pub price_skew_bps: u32,
    /// WETH the executor starts with.
    pub executor_capital_weth: U256,
    /// The executor's owner; the executor is deployed from this account.
    pub searcher: Address,
    /// The searcher's private key (0x-hex).
    pub searcher_key: String,
}

impl fmt::Debug for WorldSpec {
    // Hand-written so the searcher's key never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorldSpec")
            .field("tokens", &self.tokens)
            .field("factories", &self.factories)
            .field("liquidity_weth", &self.liquidity_weth)
            .field("price_skew_bps", &self.price_skew_bps)
            .field("executor_capital_weth", &self.executor_capital_weth)
            .field("searcher", &self.searcher)
            .field("searcher_key", &"<redacted>")
            .finish()
    }
}

/// One WETH/token pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairInfo {
    /// The pair contract.
    pub address: Address,
    /// Index into [`World::factories`] (and [`World::routers`]).
    pub factory_index: usize,
    /// The non-WETH token.
    pub token: Address,
}

/// What [`deploy_world`] deployed.
#[derive(Debug, Clone)]
pub struct World {
    /// WETH9.
    pub weth: Address,
    /// Test tokens, in deployment order.
    pub tokens: Vec<Address>,
    /// Uniswap V2 factories.
    pub factories: Vec<Address>,
    /// Router02 for `factories[i]`, at the same index.
    pub routers: Vec<Address>,
    /// Every WETH/token pool, factory-major (all of factory 0's pools first, in token order).
    pub pairs: Vec<PairInfo>,
    /// The backrun executor, owned by the searcher.
    pub executor: Address,
    /// keccak256 of UniswapV2Pair's creation bytecode, which pair addresses derive from.
    pub init_code_hash: B256,
}

impl World {
    /// The pools of `token`, one per factory, in factory order.
    pub fn pairs_of(&self, token: Address) -> impl Iterator<Item = &PairInfo> {
        self.pairs.iter().filter(move |pair| pair.token == token)
    }
}

/// An HTTP provider that signs with `key` and fills gas, nonce (fetched per transaction, so
/// several providers for one account never disagree) and chain id.
pub fn connect(http_url: &str, key: &str) -> anyhow::Result<DynProvider> {
    let signer = parse_key(key)?;
    let url = http_url
        .parse()
        .with_context(|| format!("parsing RPC url {http_url}"))?;
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(signer)
        .connect_http(url)
        .erased())
}

/// The address that the private key `key` (0x-hex) signs for.
pub fn key_address(key: &str) -> anyhow::Result<Address> {
    Ok(parse_key(key)?.address())
}

// The error never quotes the key: it may be a real one.
fn parse_key(key: &str) -> anyhow::Result<PrivateKeySigner> {
    key.parse()
        .map_err(|_| anyhow!("not a valid 0x-hex secp256k1 private key"))
}

/// Sends `tx`, mines one block and returns the receipt; fails if the transaction is not in
/// that block or reverted.
pub async fn send_and_mine<P: Provider>(
    provider: &P,
    tx: TransactionRequest,
) -> anyhow::Result<TransactionReceipt> {
    let pending = provider
        .send_transaction(tx)
        .await
        .context("sending a transaction")?;
    let hash = *pending.tx_hash();
    mine(provider).await?;
    let receipt = provider
        .get_transaction_receipt(hash)
        .await
        .with_context(|| format!("fetching the receipt of {hash}"))?
        .ok_or_else(|| anyhow!("tx {hash} was not included in the block just mined"))?;
    if !receipt.status() {
        let why = revert_trace(provider, hash).await;
        anyhow::bail!(
            "tx {hash} reverted in block {:?} (gas used {}): {why}",
            receipt.block_number,
            receipt.gas_used
        );
    }
    Ok(receipt)
}

/// What anvil's call tracer says about a failed transaction: its error, revert reason and gas.
async fn revert_trace<P: Provider>(provider: &P, hash: B256) -> String {
    let opts = serde_json::json!({ "tracer": "callTracer" });
    let trace: Result<serde_json::Value, _> = provider
        .raw_request("debug_traceTransaction".into(), (hash, opts))
        .await;
    match trace {
        Ok(t) => format!(
            "error {}, reason {}, gas limit {}, gas used {}",
            t["error"], t["revertReason"], t["gas"], t["gasUsed"]
        ),
        Err(e) => format!("no trace: {e}"),
    }
}

/// Deploys `artifact` with ABI-encoded constructor `args` and returns its address.
pub async fn deploy<P: Provider>(
    provider: &P,
    artifact: &Artifact,
    args: &[u8],
) -> anyhow::Result<Address> {
    let mut code = artifact.bytecode.to_vec();
    code.extend_from_slice(args);
    let tx = TransactionRequest::default().with_deploy_code(Bytes::from(code));
    let receipt = send_and_mine(provider, tx).await?;
    receipt
        .contract_address
        .ok_or_else(|| anyhow!("deployment receipt has no contract address"))
}

/// Tokens pool `factory_index` of every pair holds (the skew makes T cheaper on later factories).
pub fn token_reserve(spec: &WorldSpec, factory_index: usize) -> U256 {
    let skew = U256::from(factory_index) * U256::from(spec.price_skew_bps);
    spec.liquidity_weth * U256::from(TOKENS_PER_WETH) * (U256::from(10_000u64) + skew)
        / U256::from(10_000u64)
}

/// Deploys the world described by `spec` on the anvil at `http_url`; see the module docs.
pub async fn deploy_world(
    http_url: &str,
    deployer_key: &str,
    spec: &WorldSpec,
) -> anyhow::Result<World> {
    ensure!(
        spec.factories >= 2,
        "a world needs at least 2 factories, got {}",
        spec.factories
    );
    ensure!(spec.tokens >= 1, "a world needs at least 1 token");
    ensure!(
        !spec.liquidity_weth.is_zero(),
        "liquidity_weth must be positive"
    );
    let deployer = connect(http_url, deployer_key)?;
    let searcher = connect(http_url, &spec.searcher_key)?;
    let deployer_address = key_address(deployer_key)?;
    let searcher_address = key_address(&spec.searcher_key)?;
    ensure!(
        searcher_address == spec.searcher,
        "searcher_key belongs to {searcher_address}, not the spec's searcher {}",
        spec.searcher
    );
    fund_accounts(&deployer, deployer_address, spec).await?;

    let weth = deploy(&deployer, &artifacts::load("WETH9")?, &[]).await?;
    let pools_weth = spec.liquidity_weth * U256::from(spec.tokens * spec.factories);
    let wrap = IWETH9::new(weth, &deployer)
        .deposit()
        .value(pools_weth + spec.executor_capital_weth)
        .into_transaction_request();
    send_and_mine(&deployer, wrap).await?;

    let tokens = deploy_tokens(&deployer, spec).await?;
    let (factories, routers) =
        deploy_exchanges(&deployer, deployer_address, weth, spec.factories).await?;
    let pair_artifact = artifacts::load("UniswapV2Pair")?;
    let init_code_hash = pair_artifact.init_code_hash();
    let mut pairs = Vec::with_capacity(spec.factories * spec.tokens);
    for (factory_index, factory) in factories.iter().enumerate() {
        for &token in &tokens {
            let address = create_pair(&deployer, *factory, weth, token, init_code_hash).await?;
            let amounts = (spec.liquidity_weth, token_reserve(spec, factory_index));
            add_liquidity(&deployer, deployer_address, address, (weth, token), amounts).await?;
            pairs.push(PairInfo {
                address,
                factory_index,
                token,
            });
        }
    }

    let executor = deploy(&searcher, &artifacts::executor()?, &weth.abi_encode()).await?;
    let fund = IWETH9::new(weth, &deployer)
        .transfer(executor, spec.executor_capital_weth)
        .into_transaction_request();
    send_and_mine(&deployer, fund).await?;
    let world = World {
        weth,
        tokens,
        factories,
        routers,
        pairs,
        executor,
        init_code_hash,
    };
    check_world(&deployer, &world, spec).await?;
    Ok(world)
}

/// Tops up the deployer (pools, executor capital, gas) and the searcher (gas) with
/// `anvil_setBalance`, keeping what they already had.
async fn fund_accounts(
    deployer: &DynProvider,
    deployer_address: Address,
    spec: &WorldSpec,
) -> anyhow::Result<()> {
    let pools_weth = spec.liquidity_weth * U256::from(spec.tokens * spec.factories);
    let need = pools_weth + spec.executor_capital_weth + GAS_RESERVE_WEI;
    let have = deployer.get_balance(deployer_address).await?;
    set_balance(deployer, deployer_address, have + need).await?;
    let searcher_has = deployer.get_balance(spec.searcher).await?;
    set_balance(deployer, spec.searcher, searcher_has + SEARCHER_GAS_WEI).await
}

/// Deploys `spec.tokens` v2-core ERC20s, each minting enough for every pool plus a spare
/// supply to the deployer.
async fn deploy_tokens(deployer: &DynProvider, spec: &WorldSpec) -> anyhow::Result<Vec<Address>> {
    let erc20 = artifacts::load("ERC20")?;
    let pooled = (0..spec.factories).fold(U256::ZERO, |sum, i| sum + token_reserve(spec, i));
    let supply = pooled + SPARE_TOKEN_SUPPLY;
    let mut tokens = Vec::with_capacity(spec.tokens);
    for _ in 0..spec.tokens {
        tokens.push(deploy(deployer, &erc20, &supply.abi_encode()).await?);
    }
    Ok(tokens)
}

/// Deploys `count` factories (fee setter: the deployer) and a Router02 for each.
async fn deploy_exchanges(
    deployer: &DynProvider,
    fee_setter: Address,
    weth: Address,
    count: usize,
) -> anyhow::Result<(Vec<Address>, Vec<Address>)> {
    let factory_artifact = artifacts::load("UniswapV2Factory")?;
    let router_artifact = artifacts::load("UniswapV2Router02")?;
    let mut factories = Vec::with_capacity(count);
    let mut routers = Vec::with_capacity(count);
    for _ in 0..count {
        let factory = deploy(deployer, &factory_artifact, &fee_setter.abi_encode()).await?;
        let router = deploy(
            deployer,
            &router_artifact,
            &(factory, weth).abi_encode_params(),
        )
        .await?;
        factories.push(factory);
        routers.push(router);
    }
    Ok((factories, routers))
}

/// `factory.createPair(weth, token)`; checks the pair sits at the CREATE2 address that
/// `init_code_hash` predicts, which is what routers compute with `pairFor`.
async fn create_pair(
    deployer: &DynProvider,
    factory: Address,
    weth: Address,
    token: Address,
    init_code_hash: B256,
) -> anyhow::Result<Address> {
    let contract = IUniswapV2Factory::new(factory, deployer);
    send_and_mine(
        deployer,
        contract.createPair(weth, token).into_transaction_request(),
    )
    .await?;
    let pair = contract.getPair(weth, token).call().await?;
    let (token0, token1) = if weth < token {
        (weth, token)
    } else {
        (token, weth)
    };
    let salt = keccak256([token0.as_slice(), token1.as_slice()].concat());
    let predicted = factory.create2(salt, init_code_hash);
    ensure!(
        pair == predicted,
        "pair {pair} of factory {factory} is not at the CREATE2 address {predicted}"
    );
    Ok(pair)
}

/// Seeds `pair` exactly: transfers `(weth_amount, token_amount)` in, then `mint`s the LP
/// tokens to the deployer.
async fn add_liquidity(
    deployer: &DynProvider,
    deployer_address: Address,
    pair: Address,
    (weth, token): (Address, Address),
    (weth_amount, token_amount): (U256, U256),
) -> anyhow::Result<()> {
    let max_reserve = U256::from(u128::MAX >> 16); // uint112
    ensure!(
        token_amount <= max_reserve && weth_amount <= max_reserve,
        "pool reserves exceed uint112"
    );
    let to_pair = IERC20::new(token, deployer)
        .transfer(pair, token_amount)
        .into_transaction_request();
    send_and_mine(deployer, to_pair).await?;
    let weth_to_pair = IWETH9::new(weth, deployer)
        .transfer(pair, weth_amount)
        .into_transaction_request();
    send_and_mine(deployer, weth_to_pair).await?;
    let mint = IUniswapV2Pair::new(pair, deployer)
        .mint(deployer_address)
        .into_transaction_request();
    send_and_mine(deployer, mint).await?;
    Ok(())
}

/// Post-conditions: every router quotes through its factory's pools (so its hard-coded
/// init-code hash matches ours) and the executor belongs to the searcher.
async fn check_world(
    deployer: &DynProvider,
    world: &World,
    spec: &WorldSpec,
) -> anyhow::Result<()> {
    let probe = spec.liquidity_weth / U256::from(1_000u64);
    for (index, router) in world.routers.iter().enumerate() {
        let router = IUniswapV2Router02::new(*router, deployer);
        for &token in &world.tokens {
            let amounts = router
                .getAmountsOut(probe, vec![world.weth, token])
                .call()
                .await
                .with_context(|| {
                    format!("router {index} cannot quote WETH/{token}: init-code hash mismatch?")
                })?;
            ensure!(
                amounts.get(1).is_some_and(|out| !out.is_zero()),
                "router {index} quotes 0 for {token}"
            );
        }
    }
    let owner = IKestrelExecutor::new(world.executor, deployer)
        .owner()
        .call()
        .await?;
    ensure!(
        owner == spec.searcher,
        "executor owner is {owner}, not the searcher {}",
        spec.searcher
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_the_amounts_their_comments_say() {
        let ether = U256::from(10u64).pow(U256::from(18u64));
        assert_eq!(GAS_RESERVE_WEI, U256::from(1_000u64) * ether);
        assert_eq!(SEARCHER_GAS_WEI, U256::from(100u64) * ether);
        assert_eq!(SPARE_TOKEN_SUPPLY, U256::from(1_000_000_000u64) * ether);
    }

    #[test]
    fn token_reserve_applies_the_skew_per_factory() {
        let spec = WorldSpec {
            tokens: 1,
            factories: 3,
            liquidity_weth: U256::from(10u64),
            price_skew_bps: 250,
            executor_capital_weth: U256::ZERO,
            searcher: Address::ZERO,
            searcher_key: String::new(),
        };
        // 10 WETH * 1000 tokens/WETH, then * 1.000, 1.025, 1.050.
        assert_eq!(token_reserve(&spec, 0), U256::from(10_000u64));
        assert_eq!(token_reserve(&spec, 1), U256::from(10_250u64));
        assert_eq!(token_reserve(&spec, 2), U256::from(10_500u64));
        assert!(!format!("{spec:?}").contains("searcher_key: \"\""));
    }
}
