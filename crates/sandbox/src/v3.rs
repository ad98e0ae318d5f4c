//! Uniswap V3 on anvil from the real npm bytecode: the factory (fee tiers 500, 3000 and 10000
//! are enabled at construction), SwapRouter, QuoterV2, the NonfungiblePositionManager (with no
//! token descriptor: `tokenURI` is the only thing that needs one) and the periphery's
//! multicall; pool creation, positions, swaps, QuoterV2 quotes, and reading a pool's whole
//! state back into a [`kestrel_dex::v3::V3Pool`].
//!
//! Like [`crate::deploy`], every transaction goes through [`send_and_mine`]: anvil runs with
//! `--no-mining`.

use alloy::eips::BlockId;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolValue};
use alloy_primitives::aliases::{I24, U24, U160};
use alloy_primitives::{Address, Bytes, U256};
use anyhow::{Context, anyhow, ensure};
pub use kestrel_chain::v3::decode_event;
use kestrel_chain::v3::{bitmap_word_range, initialized_ticks};
use kestrel_dex::v3::tick_bitmap::BitmapWord;
use kestrel_dex::v3::{QuoteV2, Slot0, TickInfo, V3Event, V3Pool, V3PoolKey};

use crate::artifacts;
use crate::deploy::{deploy, send_and_mine};
use bindings::{
    IMulticall, INonfungiblePositionManager, IQuoterV2, ISwapRouter, IUniswapV3Factory,
    IUniswapV3Pool,
};

/// Typed RPC bindings for the V3 contracts.
pub mod bindings {
    alloy::sol! {
        /// Uniswap V3 factory.
        #[sol(rpc, all_derives)]
        interface IUniswapV3Factory {
            function createPool(address tokenA, address tokenB, uint24 fee) external returns (address pool);
            function getPool(address tokenA, address tokenB, uint24 fee) external view returns (address pool);
            function feeAmountTickSpacing(uint24 fee) external view returns (int24);
        }

        /// Uniswap V3 pool: the state the swap reads, and the logs that change it.
        #[sol(rpc, all_derives)]
        interface IUniswapV3Pool {
            event Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick);
            event Mint(address sender, address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1);
            event Burn(address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1);
            function initialize(uint160 sqrtPriceX96) external;
            function token0() external view returns (address);
            function token1() external view returns (address);
            function fee() external view returns (uint24);
            function tickSpacing() external view returns (int24);
            function liquidity() external view returns (uint128);
            function slot0() external view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint8 feeProtocol, bool unlocked);
            function tickBitmap(int16 wordPosition) external view returns (uint256);
            function ticks(int24 tick) external view returns (uint128 liquidityGross, int128 liquidityNet, uint256 feeGrowthOutside0X128, uint256 feeGrowthOutside1X128, int56 tickCumulativeOutside, uint160 secondsPerLiquidityOutsideX128, uint32 secondsOutside, bool initialized);
        }

        /// QuoterV2 (v3-periphery 1.4.4).
        #[sol(rpc, all_derives)]
        interface IQuoterV2 {
            struct QuoteExactInputSingleParams { address tokenIn; address tokenOut; uint256 amountIn; uint24 fee; uint160 sqrtPriceLimitX96; }
            struct QuoteExactOutputSingleParams { address tokenIn; address tokenOut; uint256 amount; uint24 fee; uint160 sqrtPriceLimitX96; }
            function quoteExactInputSingle(QuoteExactInputSingleParams memory params) external returns (uint256 amountOut, uint160 sqrtPriceX96After, uint32 initializedTicksCrossed, uint256 gasEstimate);
            function quoteExactOutputSingle(QuoteExactOutputSingleParams memory params) external returns (uint256 amountIn, uint160 sqrtPriceX96After, uint32 initializedTicksCrossed, uint256 gasEstimate);
        }

        /// SwapRouter (v3-periphery 1.4.4), single-pool swaps.
        #[sol(rpc, all_derives)]
        interface ISwapRouter {
            struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
            struct ExactOutputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountOut; uint256 amountInMaximum; uint160 sqrtPriceLimitX96; }
            function exactInputSingle(ExactInputSingleParams calldata params) external payable returns (uint256 amountOut);
            function exactOutputSingle(ExactOutputSingleParams calldata params) external payable returns (uint256 amountIn);
        }

        /// NonfungiblePositionManager (v3-periphery 1.4.4), the liquidity parts.
        #[sol(rpc, all_derives)]
        interface INonfungiblePositionManager {
            struct MintParams { address token0; address token1; uint24 fee; int24 tickLower; int24 tickUpper; uint256 amount0Desired; uint256 amount1Desired; uint256 amount0Min; uint256 amount1Min; address recipient; uint256 deadline; }
            struct DecreaseLiquidityParams { uint256 tokenId; uint128 liquidity; uint256 amount0Min; uint256 amount1Min; uint256 deadline; }
            event IncreaseLiquidity(uint256 indexed tokenId, uint128 liquidity, uint256 amount0, uint256 amount1);
            function mint(MintParams calldata params) external payable returns (uint256 tokenId, uint128 liquidity, uint256 amount0, uint256 amount1);
            function decreaseLiquidity(DecreaseLiquidityParams calldata params) external payable returns (uint256 amount0, uint256 amount1);
        }

        /// The periphery's `UniswapInterfaceMulticall`: many calls in one `eth_call`, each with
        /// its own gas limit and success flag.
        #[sol(rpc, all_derives)]
        interface IMulticall {
            struct Call { address target; uint256 gasLimit; bytes callData; }
            struct CallResult { bool success; uint256 gasUsed; bytes returnData; }
            function multicall(Call[] memory calls) external returns (uint256 blockNumber, CallResult[] memory returnData);
        }
    }
}

/// Gas limit of a position manager mint or decrease. anvil's estimate for the first mint into
/// a pool comes out below what the mint then uses, so these transactions carry their own.
const POSITION_GAS: u64 = 2_000_000;

/// Gas limit of a router swap: a swap that crosses hundreds of ticks and bitmap words.
const SWAP_GAS: u64 = 20_000_000;

/// Gas each read inside a multicall may use (a cold `SLOAD` and the call around it).
const READ_GAS: u64 = 100_000;

/// Calls per multicall `eth_call`: well inside anvil's 30M call gas at [`READ_GAS`] each.
const MULTICALL_CHUNK: usize = 250;

/// The deployed V3 contracts.
#[derive(Debug, Clone, Copy)]
pub struct V3Contracts {
    /// WETH9 (v2-periphery's build), which the periphery contracts are constructed with.
    pub weth: Address,
    /// UniswapV3Factory.
    pub factory: Address,
    /// SwapRouter.
    pub router: Address,
    /// QuoterV2.
    pub quoter: Address,
    /// NonfungiblePositionManager.
    pub position_manager: Address,
    /// UniswapInterfaceMulticall, for batched reads.
    pub multicall: Address,
}

/// A liquidity position held by the position manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The position NFT.
    pub token_id: U256,
    /// Lower tick.
    pub tick_lower: i32,
    /// Upper tick.
    pub tick_upper: i32,
    /// Liquidity minted.
    pub liquidity: u128,
}

/// Deploys WETH9, the V3 factory and the periphery contracts from the npm artifacts.
pub async fn deploy_v3(provider: &DynProvider) -> anyhow::Result<V3Contracts> {
    let weth = deploy(provider, &artifacts::load("WETH9")?, &[]).await?;
    deploy_v3_with_weth(provider, weth).await
}

/// Deploys the V3 factory and the periphery contracts around an existing WETH9 (the one the
/// V2 world uses, so that routers spanning V2 and V3 see one WETH).
pub async fn deploy_v3_with_weth(
    provider: &DynProvider,
    weth: Address,
) -> anyhow::Result<V3Contracts> {
    let factory = deploy(provider, &artifacts::load("UniswapV3Factory")?, &[]).await?;
    let args = (factory, weth).abi_encode_params();
    let router = deploy(provider, &artifacts::load("SwapRouter")?, &args).await?;
    let quoter = deploy(provider, &artifacts::load("QuoterV2")?, &args).await?;
    // No token descriptor: only `tokenURI` calls it.
    let nft_args = (factory, weth, Address::ZERO).abi_encode_params();
    let nft = artifacts::load("NonfungiblePositionManager")?;
    let position_manager = deploy(provider, &nft, &nft_args).await?;
    let multicall = deploy(
        provider,
        &artifacts::load("UniswapInterfaceMulticall")?,
        &[],
    )
    .await?;
    Ok(V3Contracts {
        weth,
        factory,
        router,
        quoter,
        position_manager,
        multicall,
    })
}

/// Deploys `count` test ERC-20s (v2-core's `ERC20`) with `supply` each, minted to the caller,
/// approved for the position manager and the SwapRouter; returns them sorted by address, so
/// index order is token0/token1 order.
pub async fn deploy_approved_tokens(
    provider: &DynProvider,
    contracts: &V3Contracts,
    count: usize,
    supply: U256,
) -> anyhow::Result<Vec<Address>> {
    let erc20 = artifacts::load("ERC20")?;
    let mut tokens = Vec::with_capacity(count);
    for _ in 0..count {
        let token = deploy(provider, &erc20, &supply.abi_encode()).await?;
        for spender in [contracts.position_manager, contracts.router] {
            let approve = crate::deploy::bindings::IERC20::new(token, provider)
                .approve(spender, U256::MAX)
                .into_transaction_request();
            send_and_mine(provider, approve).await?;
        }
        tokens.push(token);
    }
    tokens.sort();
    Ok(tokens)
}

/// Creates the `fee` pool of two tokens (in either order), initializes it at
/// `sqrt_price_x96`, and returns its key (tokens sorted, the tick spacing as the pool reports it).
pub async fn create_pool(
    provider: &DynProvider,
    contracts: &V3Contracts,
    (token_a, token_b): (Address, Address),
    fee_pips: u32,
    sqrt_price_x96: U256,
) -> anyhow::Result<V3PoolKey> {
    let factory = IUniswapV3Factory::new(contracts.factory, provider);
    let fee = U24::from(fee_pips);
    let create = factory.createPool(token_a, token_b, fee);
    send_and_mine(provider, create.into_transaction_request()).await?;
    let pool = factory.getPool(token_a, token_b, fee).call().await?;
    ensure!(
        pool != Address::ZERO,
        "factory did not create the {fee} pool"
    );
    let price = U160::from(sqrt_price_x96);
    let contract = IUniswapV3Pool::new(pool, provider);
    let init = contract.initialize(price).into_transaction_request();
    send_and_mine(provider, init).await?;
    let tick_spacing = contract.tickSpacing().call().await?.as_i32();
    let (token0, token1) = if token_a < token_b {
        (token_a, token_b)
    } else {
        (token_b, token_a)
    };
    Ok(V3PoolKey {
        address: pool,
        token0,
        token1,
        fee_pips,
        tick_spacing,
    })
}

/// Mints a position through the position manager with up to `amounts` of (token0, token1),
/// owned by `recipient`. The caller must have approved the manager for both tokens.
pub async fn mint_position(
    provider: &DynProvider,
    contracts: &V3Contracts,
    key: &V3PoolKey,
    (tick_lower, tick_upper): (i32, i32),
    (amount0, amount1): (U256, U256),
    recipient: Address,
) -> anyhow::Result<(Position, TransactionReceipt)> {
    let params = INonfungiblePositionManager::MintParams {
        token0: key.token0,
        token1: key.token1,
        fee: U24::from(key.fee_pips),
        tickLower: I24::try_from(tick_lower)?,
        tickUpper: I24::try_from(tick_upper)?,
        amount0Desired: amount0,
        amount1Desired: amount1,
        amount0Min: U256::ZERO,
        amount1Min: U256::ZERO,
        recipient,
        deadline: U256::MAX,
    };
    let manager = INonfungiblePositionManager::new(contracts.position_manager, provider);
    let call = manager.mint(params).gas(POSITION_GAS);
    let receipt = send_and_mine(provider, call.into_transaction_request()).await?;
    let minted = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| {
            let decoded = log.log_decode::<INonfungiblePositionManager::IncreaseLiquidity>();
            decoded.ok().map(|d| d.inner.data)
        })
        .ok_or_else(|| anyhow!("mint receipt has no IncreaseLiquidity log"))?;
    let position = Position {
        token_id: minted.tokenId,
        tick_lower,
        tick_upper,
        liquidity: minted.liquidity,
    };
    Ok((position, receipt))
}

/// Removes `liquidity` from a position (the pool logs a `Burn`); the tokens stay owed to the
/// position.
pub async fn decrease_liquidity(
    provider: &DynProvider,
    contracts: &V3Contracts,
    token_id: U256,
    liquidity: u128,
) -> anyhow::Result<TransactionReceipt> {
    let params = INonfungiblePositionManager::DecreaseLiquidityParams {
        tokenId: token_id,
        liquidity,
        amount0Min: U256::ZERO,
        amount1Min: U256::ZERO,
        deadline: U256::MAX,
    };
    let manager = INonfungiblePositionManager::new(contracts.position_manager, provider);
    let call = manager.decreaseLiquidity(params).gas(POSITION_GAS);
    send_and_mine(provider, call.into_transaction_request()).await
}

/// Swaps exactly `amount_in` through SwapRouter's `exactInputSingle`, no limits, to
/// `recipient`. The caller must have approved the router for the input token.
pub async fn swap_exact_input_single(
    provider: &DynProvider,
    contracts: &V3Contracts,
    key: &V3PoolKey,
    zero_for_one: bool,
    amount_in: U256,
    recipient: Address,
) -> anyhow::Result<TransactionReceipt> {
    let (token_in, token_out) = direction(key, zero_for_one);
    let params = ISwapRouter::ExactInputSingleParams {
        tokenIn: token_in,
        tokenOut: token_out,
        fee: U24::from(key.fee_pips),
        recipient,
        deadline: U256::MAX,
        amountIn: amount_in,
        amountOutMinimum: U256::ZERO,
        sqrtPriceLimitX96: U160::ZERO,
    };
    let router = ISwapRouter::new(contracts.router, provider);
    let call = router.exactInputSingle(params).gas(SWAP_GAS);
    send_and_mine(provider, call.into_transaction_request()).await
}

/// Buys exactly `amount_out` through SwapRouter's `exactOutputSingle`, no limits, to
/// `recipient`. The caller must have approved the router for the input token.
pub async fn swap_exact_output_single(
    provider: &DynProvider,
    contracts: &V3Contracts,
    key: &V3PoolKey,
    zero_for_one: bool,
    amount_out: U256,
    recipient: Address,
) -> anyhow::Result<TransactionReceipt> {
    let (token_in, token_out) = direction(key, zero_for_one);
    let params = ISwapRouter::ExactOutputSingleParams {
        tokenIn: token_in,
        tokenOut: token_out,
        fee: U24::from(key.fee_pips),
        recipient,
        deadline: U256::MAX,
        amountOut: amount_out,
        amountInMaximum: U256::MAX,
        sqrtPriceLimitX96: U160::ZERO,
    };
    let router = ISwapRouter::new(contracts.router, provider);
    let call = router.exactOutputSingle(params).gas(SWAP_GAS);
    send_and_mine(provider, call.into_transaction_request()).await
}

/// QuoterV2 `quoteExactInputSingle` through `eth_call` (`sqrt_price_limit_x96` 0 for none).
/// `Ok(None)` when the quoter reverts.
pub async fn quote_exact_input_single(
    provider: &DynProvider,
    contracts: &V3Contracts,
    key: &V3PoolKey,
    zero_for_one: bool,
    amount_in: U256,
    sqrt_price_limit_x96: U256,
) -> anyhow::Result<Option<QuoteV2>> {
    let (token_in, token_out) = direction(key, zero_for_one);
    let params = IQuoterV2::QuoteExactInputSingleParams {
        tokenIn: token_in,
        tokenOut: token_out,
        amountIn: amount_in,
        fee: U24::from(key.fee_pips),
        sqrtPriceLimitX96: U160::from(sqrt_price_limit_x96),
    };
    let quoter = IQuoterV2::new(contracts.quoter, provider);
    match quoter.quoteExactInputSingle(params).call().await {
        Ok(r) => Ok(Some(QuoteV2 {
            amount: r.amountOut,
            sqrt_price_x96_after: U256::from(r.sqrtPriceX96After),
            initialized_ticks_crossed: r.initializedTicksCrossed,
        })),
        Err(e) if is_revert(&e) => Ok(None),
        Err(e) => Err(e).context("QuoterV2.quoteExactInputSingle"),
    }
}

/// QuoterV2 `quoteExactOutputSingle` through `eth_call` (`sqrt_price_limit_x96` 0 for none).
/// `Ok(None)` when the quoter reverts.
pub async fn quote_exact_output_single(
    provider: &DynProvider,
    contracts: &V3Contracts,
    key: &V3PoolKey,
    zero_for_one: bool,
    amount_out: U256,
    sqrt_price_limit_x96: U256,
) -> anyhow::Result<Option<QuoteV2>> {
    let (token_in, token_out) = direction(key, zero_for_one);
    let params = IQuoterV2::QuoteExactOutputSingleParams {
        tokenIn: token_in,
        tokenOut: token_out,
        amount: amount_out,
        fee: U24::from(key.fee_pips),
        sqrtPriceLimitX96: U160::from(sqrt_price_limit_x96),
    };
    let quoter = IQuoterV2::new(contracts.quoter, provider);
    match quoter.quoteExactOutputSingle(params).call().await {
        Ok(r) => Ok(Some(QuoteV2 {
            amount: r.amountIn,
            sqrt_price_x96_after: U256::from(r.sqrtPriceX96After),
            initialized_ticks_crossed: r.initializedTicksCrossed,
        })),
        Err(e) if is_revert(&e) => Ok(None),
        Err(e) => Err(e).context("QuoterV2.quoteExactOutputSingle"),
    }
}

/// `(token in, token out)` of a swap on the pool.
fn direction(key: &V3PoolKey, zero_for_one: bool) -> (Address, Address) {
    if zero_for_one {
        (key.token0, key.token1)
    } else {
        (key.token1, key.token0)
    }
}

/// Whether a contract call failed because the EVM reverted (not because the node is gone).
fn is_revert(e: &alloy::contract::Error) -> bool {
    match e {
        alloy::contract::Error::TransportError(t) => t
            .as_error_resp()
            .is_some_and(|resp| resp.message.contains("revert")),
        _ => false,
    }
}

/// The `Swap`, `Mint` and `Burn` logs of `pool` in a receipt, in log order, as snapshot
/// updates.
pub fn pool_events(receipt: &TransactionReceipt, pool: Address) -> Vec<V3Event> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == pool)
        .filter_map(|log| decode_event(&log.inner))
        .collect()
}

/// Reads a pool's whole state at the latest block: immutables, slot0, liquidity, every
/// non-zero tick bitmap word and every initialized tick, then builds the snapshot and checks
/// that the bitmap it derives is the chain's.
///
/// The engine's reader is `kestrel_chain::Chain::load_v3_pool` (plain `eth_call`s). This one
/// batches through the periphery's multicall contract instead, so tests can compare the two.
pub async fn read_pool(
    provider: &DynProvider,
    multicall: Address,
    pool: Address,
) -> anyhow::Result<V3Pool> {
    let at = BlockId::number(provider.get_block_number().await?);
    let contract = IUniswapV3Pool::new(pool, provider);
    let token0 = contract.token0().block(at).call().await?;
    let token1 = contract.token1().block(at).call().await?;
    let fee_pips: u32 = contract.fee().block(at).call().await?.to();
    let tick_spacing = contract.tickSpacing().block(at).call().await?.as_i32();
    let slot0 = contract.slot0().block(at).call().await?;
    let liquidity = contract.liquidity().block(at).call().await?;
    ensure!(
        tick_spacing > 0,
        "pool {pool} has tick spacing {tick_spacing}"
    );

    let words = read_bitmap(provider, multicall, pool, tick_spacing, at).await?;
    let ticks = read_ticks(provider, multicall, pool, tick_spacing, &words, at).await?;
    let key = V3PoolKey {
        address: pool,
        token0,
        token1,
        fee_pips,
        tick_spacing,
    };
    let slot0 = Slot0 {
        sqrt_price_x96: U256::from(slot0.sqrtPriceX96),
        tick: slot0.tick.as_i32(),
        fee_protocol: slot0.feeProtocol,
    };
    let snapshot = V3Pool::new(key, slot0, liquidity, ticks)
        .map_err(|e| anyhow!("pool {pool} state is inconsistent: {e}"))?;
    ensure!(
        snapshot.bitmap() == words.as_slice(),
        "pool {pool}: the bitmap derived from its ticks differs from the chain's"
    );
    Ok(snapshot)
}

/// Every non-zero `tickBitmap` word of the pool, sorted by position.
async fn read_bitmap(
    provider: &DynProvider,
    multicall: Address,
    pool: Address,
    tick_spacing: i32,
    at: BlockId,
) -> anyhow::Result<Vec<BitmapWord>> {
    let positions: Vec<i16> = bitmap_word_range(tick_spacing)
        .ok_or_else(|| anyhow!("pool {pool} has tick spacing {tick_spacing}"))?
        .collect();
    let calls = positions.iter().map(|&word| {
        let data = IUniswapV3Pool::tickBitmapCall { wordPosition: word }.abi_encode();
        (pool, Bytes::from(data))
    });
    let results = multicall_all(provider, multicall, calls.collect(), at).await?;
    let mut words = Vec::new();
    for (&word, data) in positions.iter().zip(&results) {
        let bits = IUniswapV3Pool::tickBitmapCall::abi_decode_returns(data)?;
        if !bits.is_zero() {
            words.push((word, bits));
        }
    }
    Ok(words)
}

/// `ticks(t)` for every tick whose bitmap bit is set.
async fn read_ticks(
    provider: &DynProvider,
    multicall: Address,
    pool: Address,
    tick_spacing: i32,
    words: &[BitmapWord],
    at: BlockId,
) -> anyhow::Result<Vec<TickInfo>> {
    let ticks = initialized_ticks(words, tick_spacing);
    let mut calls = Vec::with_capacity(ticks.len());
    for &tick in &ticks {
        let data = IUniswapV3Pool::ticksCall {
            tick: I24::try_from(tick)?,
        }
        .abi_encode();
        calls.push((pool, Bytes::from(data)));
    }
    let results = multicall_all(provider, multicall, calls, at).await?;
    let mut infos = Vec::with_capacity(ticks.len());
    for (&tick, data) in ticks.iter().zip(&results) {
        let info = IUniswapV3Pool::ticksCall::abi_decode_returns(data)?;
        ensure!(
            info.initialized,
            "tick {tick} is in the bitmap but not initialized"
        );
        infos.push(TickInfo {
            tick,
            liquidity_gross: info.liquidityGross,
            liquidity_net: info.liquidityNet,
        });
    }
    Ok(infos)
}

/// Runs `(target, calldata)` calls through the multicall contract at block `at`, in chunks,
/// and returns each call's return data; fails if any call failed.
async fn multicall_all(
    provider: &DynProvider,
    multicall: Address,
    calls: Vec<(Address, Bytes)>,
    at: BlockId,
) -> anyhow::Result<Vec<Bytes>> {
    let contract = IMulticall::new(multicall, provider);
    let mut out = Vec::with_capacity(calls.len());
    for chunk in calls.chunks(MULTICALL_CHUNK) {
        let batch: Vec<IMulticall::Call> = chunk
            .iter()
            .map(|(target, data)| IMulticall::Call {
                target: *target,
                gasLimit: U256::from(READ_GAS),
                callData: data.clone(),
            })
            .collect();
        let reply = contract.multicall(batch).block(at).call().await?;
        for (i, result) in reply.returnData.into_iter().enumerate() {
            ensure!(result.success, "multicall read {i} failed");
            out.push(result.returnData);
        }
    }
    ensure!(
        out.len() == calls.len(),
        "multicall returned too few results"
    );
    Ok(out)
}
