//! A Uniswap V2 world deployed on a [`LocalChain`] from real creation bytecode, the in-memory
//! twin of the sandbox's anvil deployer: WETH9, test tokens, several factory + Router02 pairs,
//! one seeded WETH/token pool per token per factory (pool `i` holds `1 + i·skew` times pool 0's
//! tokens per WETH), and our backrun executor, owned by the searcher and funded with WETH.
//!
//! The bytecode comes in as [`V2Bytecode`] (the sandbox loads it from npm and the committed
//! executor artifact), so this crate stays free of file and network access.

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolValue, sol};

use super::{DevnetError, LocalChain};

sol! {
    function deposit() external payable;
    function transfer(address to, uint256 amount) external returns (bool);
    function createPair(address tokenA, address tokenB) external returns (address pair);
    function mint(address to) external returns (uint256 liquidity);
}

/// Test tokens per WETH in a pool priced at par (pool 0 of every token), as in the sandbox.
pub const TOKENS_PER_WETH: u64 = 1_000;

/// Creation bytecode of every contract of the world (constructor arguments not included).
#[derive(Debug, Clone)]
pub struct V2Bytecode {
    /// v2-periphery's WETH9.
    pub weth9: Bytes,
    /// v2-core's test `ERC20` (constructor: total supply, minted to the deployer).
    pub erc20: Bytes,
    /// `UniswapV2Factory` (constructor: fee setter).
    pub factory: Bytes,
    /// `UniswapV2Router02` (constructor: factory, WETH).
    pub router02: Bytes,
    /// `KestrelExecutor` (constructor: WETH).
    pub executor: Bytes,
}

/// What to deploy.
#[derive(Debug, Clone, Copy)]
pub struct V2WorldSpec {
    /// Number of test tokens.
    pub tokens: usize,
    /// Number of factory + router pairs (at least 2 for a cycle).
    pub factories: usize,
    /// WETH in every pool.
    pub liquidity_weth: U256,
    /// Price skew between consecutive factories, in basis points.
    pub price_skew_bps: u32,
    /// WETH the executor starts with.
    pub executor_capital_weth: U256,
    /// Deploys everything but the executor and provides the liquidity.
    pub deployer: Address,
    /// Deploys (and so owns) the executor.
    pub searcher: Address,
}

/// One WETH/token pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V2Pair {
    /// The pair contract.
    pub address: Address,
    /// Index of its factory (and router).
    pub factory_index: usize,
    /// The non-WETH token.
    pub token: Address,
}

/// The deployed world.
#[derive(Debug, Clone)]
pub struct V2World {
    /// WETH9.
    pub weth: Address,
    /// Test tokens in deployment order.
    pub tokens: Vec<Address>,
    /// Factories.
    pub factories: Vec<Address>,
    /// Router02 of `factories[i]`.
    pub routers: Vec<Address>,
    /// Every pool, factory-major.
    pub pairs: Vec<V2Pair>,
    /// The backrun executor.
    pub executor: Address,
}

impl V2World {
    /// The pool of `token` on factory `factory_index`.
    pub fn pair(&self, factory_index: usize, token: Address) -> Option<Address> {
        self.pairs
            .iter()
            .find(|p| p.factory_index == factory_index && p.token == token)
            .map(|p| p.address)
    }
}

/// Tokens pool `factory_index` holds: `liquidity · 1000 · (1 + i · skew / 10 000)`.
pub fn token_reserve(spec: &V2WorldSpec, factory_index: usize) -> U256 {
    let skew = U256::from(factory_index) * U256::from(spec.price_skew_bps);
    spec.liquidity_weth * U256::from(TOKENS_PER_WETH) * (U256::from(10_000u64) + skew)
        / U256::from(10_000u64)
}

fn with_args(code: &Bytes, args: &[u8]) -> Bytes {
    let mut out = code.to_vec();
    out.extend_from_slice(args);
    Bytes::from(out)
}

/// Deploys the world on `chain`, funding the deployer and searcher with the ETH they need.
pub fn deploy_v2_world(
    chain: &mut LocalChain,
    code: &V2Bytecode,
    spec: &V2WorldSpec,
) -> Result<V2World, DevnetError> {
    let me = spec.deployer;
    let pools = U256::from(spec.tokens * spec.factories);
    let wrap = spec.liquidity_weth * pools + spec.executor_capital_weth;
    let ether = U256::from(10u64).pow(U256::from(18u64));
    chain.set_balance(me, wrap + U256::from(1_000u64) * ether);
    chain.set_balance(spec.searcher, U256::from(100u64) * ether);

    let weth = chain.deploy(me, code.weth9.clone())?;
    chain.call(me, weth, depositCall {}.abi_encode().into(), wrap)?;
    let supply = (0..spec.factories).fold(U256::ZERO, |sum, i| sum + token_reserve(spec, i));
    let mut tokens = Vec::with_capacity(spec.tokens);
    for _ in 0..spec.tokens {
        tokens.push(chain.deploy(me, with_args(&code.erc20, &supply.abi_encode()))?);
    }
    let mut factories = Vec::with_capacity(spec.factories);
    let mut routers = Vec::with_capacity(spec.factories);
    let mut pairs = Vec::with_capacity(spec.factories * spec.tokens);
    for factory_index in 0..spec.factories {
        let factory = chain.deploy(me, with_args(&code.factory, &me.abi_encode()))?;
        let router_args = (factory, weth).abi_encode_params();
        routers.push(chain.deploy(me, with_args(&code.router02, &router_args))?);
        factories.push(factory);
        for &token in &tokens {
            let create = createPairCall {
                tokenA: weth,
                tokenB: token,
            };
            let out = chain.call(me, factory, create.abi_encode().into(), U256::ZERO)?;
            let pair = createPairCall::abi_decode_returns(&out.output)
                .map_err(|e| DevnetError::Rejected(format!("createPair returned {e}")))?;
            let seed = [
                (token, token_reserve(spec, factory_index)),
                (weth, spec.liquidity_weth),
            ];
            for (asset, amount) in seed {
                let call = transferCall { to: pair, amount };
                chain.call(me, asset, call.abi_encode().into(), U256::ZERO)?;
            }
            chain.call(
                me,
                pair,
                mintCall { to: me }.abi_encode().into(),
                U256::ZERO,
            )?;
            pairs.push(V2Pair {
                address: pair,
                factory_index,
                token,
            });
        }
    }
    let executor = chain.deploy(spec.searcher, with_args(&code.executor, &weth.abi_encode()))?;
    let fund = transferCall {
        to: executor,
        amount: spec.executor_capital_weth,
    };
    chain.call(me, weth, fund.abi_encode().into(), U256::ZERO)?;
    Ok(V2World {
        weth,
        tokens,
        factories,
        routers,
        pairs,
        executor,
    })
}

/// The storage slot of `balanceOf[owner]` for a Solidity `mapping(address => uint256)` declared
/// at slot `mapping_slot` (WETH9: 3; v2-core's ERC20: 1).
pub fn mapping_slot(owner: Address, mapping_slot: u64) -> U256 {
    crate::snapshot::mapping_slot(crate::snapshot::address_key(owner), mapping_slot)
}
