//! SwapRouter02 and the Universal Router, deployed from their npm artifacts, and the calldata a
//! user sends through them.
//!
//! The sandbox's simulated users trade through every router the engine decodes, so the decoders
//! meet calldata that the real contracts then execute. The Universal Router (2.0.0) is deployed
//! without Permit2 (npm ships no Permit2 bytecode): every flow here pays with ETH, which the
//! router wraps itself (`WRAP_ETH`) and pays from its own balance (`payerIsUser = false`), the
//! paths that need no Permit2. Token-in flows go through SwapRouter02, which pulls with a plain
//! ERC-20 allowance.

use alloy::providers::DynProvider;
use alloy::sol_types::{SolCall, SolValue};
use alloy_primitives::aliases::{U24, U160};
use alloy_primitives::{Address, B256, Bytes, U256};

use crate::artifacts;
use crate::deploy::deploy;

/// Typed bindings for the router entry points the users call.
pub mod bindings {
    alloy::sol! {
        /// SwapRouter02 (@uniswap/swap-router-contracts 1.3.1): V3 structs have no deadline;
        /// the deadline rides on `multicall`.
        #[sol(all_derives)]
        interface ISwapRouter02 {
            struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
            struct ExactInputParams { bytes path; address recipient; uint256 amountIn; uint256 amountOutMinimum; }
            struct ExactOutputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 amountOut; uint256 amountInMaximum; uint160 sqrtPriceLimitX96; }
            function exactInputSingle(ExactInputSingleParams calldata params) external payable returns (uint256 amountOut);
            function exactInput(ExactInputParams calldata params) external payable returns (uint256 amountOut);
            function exactOutputSingle(ExactOutputSingleParams calldata params) external payable returns (uint256 amountIn);
            function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] calldata path, address to) external payable returns (uint256 amountOut);
            function refundETH() external payable;
            function multicall(uint256 deadline, bytes[] calldata data) external payable returns (bytes[] memory results);
        }

        /// Universal Router 2.0.0.
        #[sol(all_derives)]
        interface IUniversalRouter {
            struct RouterParameters { address permit2; address weth9; address v2Factory; address v3Factory; bytes32 pairInitCodeHash; bytes32 poolInitCodeHash; address v4PoolManager; address v3NFTPositionManager; address v4PositionManager; }
            function execute(bytes calldata commands, bytes[] calldata inputs, uint256 deadline) external payable;
            function execute(bytes calldata commands, bytes[] calldata inputs) external payable;
        }

        /// Kestrel's `contracts/src/SandboxAggregator.sol`: a router no decoder reads.
        #[sol(all_derives)]
        interface ISandboxAggregator {
            function forward(address target, bytes calldata data) external payable returns (bytes memory ret);
            function swapEthForTokensV2(address pair, uint256 minOut, address to) external payable returns (uint256 out);
        }
    }
}

use bindings::{ISandboxAggregator, ISwapRouter02, IUniversalRouter};

/// Universal Router command ids used here (`Commands.sol`, 2.0.0).
pub mod command {
    /// `V3_SWAP_EXACT_IN`.
    pub const V3_SWAP_EXACT_IN: u8 = 0x00;
    /// `V2_SWAP_EXACT_IN`.
    pub const V2_SWAP_EXACT_IN: u8 = 0x08;
    /// `WRAP_ETH`.
    pub const WRAP_ETH: u8 = 0x0b;
    /// `UNWRAP_WETH`.
    pub const UNWRAP_WETH: u8 = 0x0c;
    /// `EXECUTE_SUB_PLAN` (2.0+).
    pub const EXECUTE_SUB_PLAN: u8 = 0x21;
    /// The allow-revert flag of a command byte.
    pub const FLAG_ALLOW_REVERT: u8 = 0x80;
}

/// The Universal Router's "whole balance" amount: `1 << 255`.
pub const CONTRACT_BALANCE: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);

/// The Universal Router's recipient meaning "the router itself".
pub const ADDRESS_THIS: Address = Address::with_last_byte(2);

/// What the routers are constructed with.
#[derive(Debug, Clone, Copy)]
pub struct RouterDeps {
    /// WETH9, shared by the V2 pairs and V3 pools.
    pub weth: Address,
    /// The Uniswap V2 factory.
    pub v2_factory: Address,
    /// The Uniswap V3 factory.
    pub v3_factory: Address,
    /// The V3 NonfungiblePositionManager.
    pub position_manager: Address,
    /// CREATE2 init-code hash of the V2 pair.
    pub pair_init_code_hash: B256,
    /// CREATE2 init-code hash of the V3 pool.
    pub pool_init_code_hash: B256,
}

/// The deployed routers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routers {
    /// SwapRouter02.
    pub swap_router02: Address,
    /// Universal Router 2.0.0.
    pub universal_router: Address,
    /// The stand-in aggregator (`contracts/src/SandboxAggregator.sol`), which no decoder
    /// reads: the engine learns what its calls do only by running them.
    pub aggregator: Address,
}

/// Deploys SwapRouter02 and the Universal Router over existing V2 and V3 deployments.
pub async fn deploy_routers(provider: &DynProvider, d: RouterDeps) -> anyhow::Result<Routers> {
    let args = (d.v2_factory, d.v3_factory, d.position_manager, d.weth).abi_encode_params();
    let swap_router02 = deploy(provider, &artifacts::load("SwapRouter02")?, &args).await?;
    // No Permit2 and no V4: the constructor only stores these, and the ETH-paid flows below
    // never call them.
    let params = IUniversalRouter::RouterParameters {
        permit2: Address::ZERO,
        weth9: d.weth,
        v2Factory: d.v2_factory,
        v3Factory: d.v3_factory,
        pairInitCodeHash: d.pair_init_code_hash,
        poolInitCodeHash: d.pool_init_code_hash,
        v4PoolManager: Address::ZERO,
        v3NFTPositionManager: d.position_manager,
        v4PositionManager: Address::ZERO,
    };
    let universal_router = deploy(
        provider,
        &artifacts::load("UniversalRouter")?,
        &(params,).abi_encode_params(),
    )
    .await?;
    let aggregator = deploy(
        provider,
        &artifacts::aggregator()?,
        &(d.weth,).abi_encode_params(),
    )
    .await?;
    Ok(Routers {
        swap_router02,
        universal_router,
        aggregator,
    })
}

/// `call` sent through the aggregator's `forward` instead of straight to its router: the
/// same swap, behind a contract no decoder reads.
pub fn via_aggregator(routers: &Routers, call: UserCall) -> UserCall {
    let input = ISandboxAggregator::forwardCall {
        target: call.to,
        data: call.input,
    }
    .abi_encode();
    UserCall {
        to: routers.aggregator,
        input: Bytes::from(input),
        value: call.value,
    }
}

/// The aggregator's own V2 swap: `amount_in` ETH for the other token of the WETH `pair`,
/// straight from the pair (no router), at least `min_out` to `recipient`.
pub fn aggregator_v2_eth(
    routers: &Routers,
    pair: Address,
    recipient: Address,
    (amount_in, min_out): (U256, U256),
) -> UserCall {
    let input = ISandboxAggregator::swapEthForTokensV2Call {
        pair,
        minOut: min_out,
        to: recipient,
    }
    .abi_encode();
    UserCall {
        to: routers.aggregator,
        input: Bytes::from(input),
        value: amount_in,
    }
}

/// A V3 packed path: `token (20) | fee (3) | token (20) | ...`, in trade order.
pub fn v3_path(tokens: &[Address], fees: &[u32]) -> Bytes {
    let mut out = Vec::with_capacity(20 + 23 * fees.len());
    for (i, token) in tokens.iter().enumerate() {
        out.extend_from_slice(token.as_slice());
        if let Some(fee) = fees.get(i) {
            out.extend_from_slice(&fee.to_be_bytes()[1..]);
        }
    }
    Bytes::from(out)
}

/// A user's swap, ready to send: calldata and the ETH value that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCall {
    /// The router called.
    pub to: Address,
    /// Calldata.
    pub input: Bytes,
    /// ETH sent.
    pub value: U256,
}

/// SwapRouter02 `multicall(deadline, [exactInputSingle])` paying `amount_in` ETH (wrapped by
/// the router) for `token_out` from the `fee` pool.
pub fn sr02_exact_input_single_eth(
    routers: &Routers,
    (weth, token_out, fee): (Address, Address, u32),
    recipient: Address,
    (amount_in, min_out): (U256, U256),
    deadline: U256,
) -> UserCall {
    let swap = ISwapRouter02::exactInputSingleCall {
        params: ISwapRouter02::ExactInputSingleParams {
            tokenIn: weth,
            tokenOut: token_out,
            fee: U24::from(fee),
            recipient,
            amountIn: amount_in,
            amountOutMinimum: min_out,
            sqrtPriceLimitX96: U160::ZERO,
        },
    }
    .abi_encode();
    let input = ISwapRouter02::multicallCall {
        deadline,
        data: vec![Bytes::from(swap)],
    }
    .abi_encode();
    UserCall {
        to: routers.swap_router02,
        input: Bytes::from(input),
        value: amount_in,
    }
}

/// SwapRouter02 `exactInput` over a multi-hop V3 `path` that starts in WETH, paid in ETH.
pub fn sr02_exact_input_eth(
    routers: &Routers,
    path: Bytes,
    recipient: Address,
    (amount_in, min_out): (U256, U256),
) -> UserCall {
    let input = ISwapRouter02::exactInputCall {
        params: ISwapRouter02::ExactInputParams {
            path,
            recipient,
            amountIn: amount_in,
            amountOutMinimum: min_out,
        },
    }
    .abi_encode();
    UserCall {
        to: routers.swap_router02,
        input: Bytes::from(input),
        value: amount_in,
    }
}

/// SwapRouter02 `multicall(deadline, [exactOutputSingle, refundETH])`: exactly `amount_out` of
/// `token_out` for at most `max_in` ETH, the rest refunded.
pub fn sr02_exact_output_single_eth(
    routers: &Routers,
    (weth, token_out, fee): (Address, Address, u32),
    recipient: Address,
    (amount_out, max_in): (U256, U256),
    deadline: U256,
) -> UserCall {
    let swap = ISwapRouter02::exactOutputSingleCall {
        params: ISwapRouter02::ExactOutputSingleParams {
            tokenIn: weth,
            tokenOut: token_out,
            fee: U24::from(fee),
            recipient,
            amountOut: amount_out,
            amountInMaximum: max_in,
            sqrtPriceLimitX96: U160::ZERO,
        },
    }
    .abi_encode();
    let refund = ISwapRouter02::refundETHCall {}.abi_encode();
    let input = ISwapRouter02::multicallCall {
        deadline,
        data: vec![Bytes::from(swap), Bytes::from(refund)],
    }
    .abi_encode();
    UserCall {
        to: routers.swap_router02,
        input: Bytes::from(input),
        value: max_in,
    }
}

/// SwapRouter02's V2 `swapExactTokensForTokens` along `path` (first token WETH, paid in ETH).
pub fn sr02_v2_exact_in_eth(
    routers: &Routers,
    path: Vec<Address>,
    recipient: Address,
    (amount_in, min_out): (U256, U256),
) -> UserCall {
    let input = ISwapRouter02::swapExactTokensForTokensCall {
        amountIn: amount_in,
        amountOutMin: min_out,
        path,
        to: recipient,
    }
    .abi_encode();
    UserCall {
        to: routers.swap_router02,
        input: Bytes::from(input),
        value: amount_in,
    }
}

/// Universal Router `WRAP_ETH` then `V3_SWAP_EXACT_IN` of the router's whole WETH balance
/// along `path`, with or without a deadline.
pub fn ur_wrap_v3_exact_in(
    routers: &Routers,
    path: Bytes,
    recipient: Address,
    amounts: (U256, U256),
    deadline: Option<U256>,
) -> UserCall {
    ur_wrap_then_swap(
        routers,
        command::V3_SWAP_EXACT_IN,
        path,
        recipient,
        amounts,
        deadline,
    )
}

/// Universal Router `WRAP_ETH` then `V2_SWAP_EXACT_IN` of the router's whole WETH balance
/// along the V2 `path`.
pub fn ur_wrap_v2_exact_in(
    routers: &Routers,
    path: Vec<Address>,
    recipient: Address,
    amounts: (U256, U256),
    deadline: Option<U256>,
) -> UserCall {
    ur_wrap_then_swap(
        routers,
        command::V2_SWAP_EXACT_IN,
        path,
        recipient,
        amounts,
        deadline,
    )
}

/// `WRAP_ETH` of `amount_in` to the router, then an exact-in swap command spending the
/// router's whole balance (`payerIsUser = false`): V2 and V3 swap inputs share the layout
/// `(recipient, amountIn, amountOutMin, path, payerIsUser)` and differ in the path's type.
fn ur_wrap_then_swap<P: SolValue>(
    routers: &Routers,
    swap_command: u8,
    path: P,
    recipient: Address,
    (amount_in, min_out): (U256, U256),
    deadline: Option<U256>,
) -> UserCall {
    let wrap = (ADDRESS_THIS, amount_in).abi_encode_params();
    let swap = (recipient, CONTRACT_BALANCE, min_out, path, false).abi_encode_params();
    ur_execute(
        routers,
        &[command::WRAP_ETH, swap_command],
        vec![Bytes::from(wrap), Bytes::from(swap)],
        amount_in,
        deadline,
    )
}

/// A best-effort buy with a fallback, through two Universal Router sub-plans that may each
/// fail: `WRAP_ETH` of `amount_in`, then `EXECUTE_SUB_PLAN` (allow-revert) of a
/// `V3_SWAP_EXACT_IN` of the router's whole WETH along `v3_path` with the floor `v3_min`, then
/// `EXECUTE_SUB_PLAN` (allow-revert) of a `V2_SWAP_EXACT_IN` of whatever WETH is left along
/// `v2_path` with the floor `v2_min`, then `UNWRAP_WETH` of any rest back to the recipient.
///
/// When the V3 swap succeeds the router holds no WETH, so the V2 sub-plan's swap of nothing
/// reverts and is undone; when the V3 swap misses its floor, its sub-plan is undone and the V2
/// swap spends the ETH; when both miss, the user gets the ETH back.
pub fn ur_wrap_v3_else_v2(
    routers: &Routers,
    (v3_path, v2_path): (Bytes, Vec<Address>),
    recipient: Address,
    (amount_in, v3_min, v2_min): (U256, U256, U256),
    deadline: Option<U256>,
) -> UserCall {
    let sub_plan = |command: u8, input: Vec<u8>| {
        let commands = Bytes::copy_from_slice(&[command]);
        Bytes::from((commands, vec![Bytes::from(input)]).abi_encode_params())
    };
    let v3 = (recipient, CONTRACT_BALANCE, v3_min, v3_path, false).abi_encode_params();
    let v2 = (recipient, CONTRACT_BALANCE, v2_min, v2_path, false).abi_encode_params();
    let flagged = command::EXECUTE_SUB_PLAN | command::FLAG_ALLOW_REVERT;
    ur_execute(
        routers,
        &[command::WRAP_ETH, flagged, flagged, command::UNWRAP_WETH],
        vec![
            Bytes::from((ADDRESS_THIS, amount_in).abi_encode_params()),
            sub_plan(command::V3_SWAP_EXACT_IN, v3),
            sub_plan(command::V2_SWAP_EXACT_IN, v2),
            Bytes::from((recipient, U256::ZERO).abi_encode_params()),
        ],
        amount_in,
        deadline,
    )
}

fn ur_execute(
    routers: &Routers,
    commands: &[u8],
    inputs: Vec<Bytes>,
    value: U256,
    deadline: Option<U256>,
) -> UserCall {
    let commands = Bytes::copy_from_slice(commands);
    let input = match deadline {
        Some(deadline) => IUniversalRouter::execute_0Call {
            commands,
            inputs,
            deadline,
        }
        .abi_encode(),
        None => IUniversalRouter::execute_1Call { commands, inputs }.abi_encode(),
    };
    UserCall {
        to: routers.universal_router,
        input: Bytes::from(input),
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_path_packs_tokens_and_fees() {
        let a = Address::repeat_byte(0xaa);
        let b = Address::repeat_byte(0xbb);
        let c = Address::repeat_byte(0xcc);
        let p = v3_path(&[a, b, c], &[500, 3000]);
        assert_eq!(p.len(), 20 + 23 * 2);
        assert_eq!(&p[..20], a.as_slice());
        assert_eq!(&p[20..23], &[0x00, 0x01, 0xf4]);
        assert_eq!(&p[23..43], b.as_slice());
        assert_eq!(&p[43..46], &[0x00, 0x0b, 0xb8]);
        assert_eq!(&p[46..], c.as_slice());
    }

    #[test]
    fn execute_overloads_have_the_real_selectors() {
        // keccak256("execute(bytes,bytes[],uint256)") and ("execute(bytes,bytes[])").
        assert_eq!(
            IUniversalRouter::execute_0Call::SELECTOR,
            alloy_primitives::keccak256("execute(bytes,bytes[],uint256)")[..4]
        );
        assert_eq!(
            IUniversalRouter::execute_1Call::SELECTOR,
            alloy_primitives::keccak256("execute(bytes,bytes[])")[..4]
        );
    }
}
