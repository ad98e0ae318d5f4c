//! SwapRouter / SwapRouter02 decode: every swap function and every multicall form round-tripped
//! against alloy's `sol!` encoder, real mainnet SwapRouter calldata checked against `sol!`'s
//! decoder and against the pool swaps the transactions really made, and arbitrary bytes.
//!
//! The expected legs are built here from the routers' Solidity (`SwapRouter.sol`,
//! `V3SwapRouter.sol`, `V2SwapRouter.sol`, `libraries/Constants.sol`), never from the decoder.

use alloy_primitives::aliases::{U24, U160};
use alloy_sol_types::SolCall;
use kestrel_dex::route::{AmountSource, DecodedSwaps, MAX_LEGS, Recipient, Route, SwapLeg};
use kestrel_dex::router::SwapKind;
use kestrel_dex::router_v3::decode_swap_router;
use kestrel_types::{Address, B256, Bytes, SkipReason, U256, address, keccak256};
use proptest::prelude::*;

use crate::support::{any_address, any_u256};

/// The V3 `SwapRouter` ABI (v3-periphery `ISwapRouter`, `IPeripheryPayments*`, `ISelfPermit`).
mod v1 {
    alloy_sol_types::sol! {
        struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
        struct ExactInputParams { bytes path; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; }
        struct ExactOutputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountOut; uint256 amountInMaximum; uint160 sqrtPriceLimitX96; }
        struct ExactOutputParams { bytes path; address recipient; uint256 deadline; uint256 amountOut; uint256 amountInMaximum; }
        function exactInputSingle(ExactInputSingleParams params);
        function exactInput(ExactInputParams params);
        function exactOutputSingle(ExactOutputSingleParams params);
        function exactOutput(ExactOutputParams params);
        function multicall(bytes[] data);
        function unwrapWETH9(uint256 amountMinimum, address recipient);
        function unwrapWETH9WithFee(uint256 amountMinimum, address recipient, uint256 feeBips, address feeRecipient);
        function refundETH();
        function sweepToken(address token, uint256 amountMinimum, address recipient);
        function selfPermit(address token, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s);
    }
}

/// The `SwapRouter02` ABI (swap-router-contracts `IV3SwapRouter`, `IV2SwapRouter`,
/// `IMulticallExtended`, `IPeripheryPayments*Extended`, `IApproveAndCall`).
mod v02 {
    alloy_sol_types::sol! {
        struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
        struct ExactInputParams { bytes path; address recipient; uint256 amountIn; uint256 amountOutMinimum; }
        struct ExactOutputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 amountOut; uint256 amountInMaximum; uint160 sqrtPriceLimitX96; }
        struct ExactOutputParams { bytes path; address recipient; uint256 amountOut; uint256 amountInMaximum; }
        function exactInputSingle(ExactInputSingleParams params);
        function exactInput(ExactInputParams params);
        function exactOutputSingle(ExactOutputSingleParams params);
        function exactOutput(ExactOutputParams params);
        function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to);
        function swapTokensForExactTokens(uint256 amountOut, uint256 amountInMax, address[] path, address to);
        function multicall(uint256 deadline, bytes[] data);
        function multicall(bytes32 previousBlockhash, bytes[] data);
        function unwrapWETH9(uint256 amountMinimum);
        function unwrapWETH9WithFee(uint256 amountMinimum, uint256 feeBips, address feeRecipient);
        function wrapETH(uint256 value);
        function pull(address token, uint256 value);
        function callPositionManager(bytes data);
        function transfer(address to, uint256 amount);
    }
}

/// Known non-swap functions the test classifies by selector alone, from their signatures.
const PLAIN_HELPERS: [&str; 14] = [
    "refundETH()",
    "sweepToken(address,uint256,address)",
    "sweepToken(address,uint256)",
    "sweepTokenWithFee(address,uint256,address,uint256,address)",
    "sweepTokenWithFee(address,uint256,uint256,address)",
    "pull(address,uint256)",
    "selfPermit(address,uint256,uint256,uint8,bytes32,bytes32)",
    "selfPermitIfNecessary(address,uint256,uint256,uint8,bytes32,bytes32)",
    "selfPermitAllowed(address,uint256,uint256,uint8,bytes32,bytes32)",
    "selfPermitAllowedIfNecessary(address,uint256,uint256,uint8,bytes32,bytes32)",
    "approveMax(address)",
    "approveZeroThenMax(address)",
    "checkOracleSlippage(bytes,uint24,uint32)",
    "checkOracleSlippage(bytes[],uint128[],uint24,uint32)",
];

const LIQUIDITY_HELPERS: [&str; 3] = [
    "callPositionManager(bytes)",
    "mint((address,address,uint24,int24,int24,uint256,uint256,address))",
    "increaseLiquidity((address,address,uint256,uint256,uint256))",
];

fn selector_of(signature: &str) -> [u8; 4] {
    let mut s = [0u8; 4];
    s.copy_from_slice(&keccak256(signature)[..4]);
    s
}

/// One leg, in a form both the decoder's output and the test's expectations map onto.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leg {
    Swap {
        v3: bool,
        /// Tokens in trade order, first paid in, last paid out.
        tokens: Vec<Address>,
        /// V3 fees in trade order (empty for V2).
        fees: Vec<u32>,
        kind: SwapKind,
        amount: U256,
        limit: U256,
        source: AmountSource,
        recipient: Recipient,
        payer_is_user: bool,
        sqrt_price_limit_x96: U256,
        allow_revert: bool,
        /// Universal Router 2.1 `minHopPriceX36`, as encoded (empty elsewhere).
        min_hop_prices: Vec<U256>,
    },
    V4 {
        input: Vec<u8>,
        allow_revert: bool,
    },
}

/// A whole decoded transaction, comparable field by field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    pub legs: Vec<Leg>,
    pub value: U256,
    pub deadline: Option<U256>,
    pub previous_blockhash: Option<B256>,
    pub wrap_eth: Option<U256>,
    pub unwrap_weth_min: Option<U256>,
    pub helpers: u8,
    pub liquidity_ops: u8,
    pub unknown: u8,
    /// Universal Router allow-revert sub-plans of swaps only, as `(first, end)` leg ranges.
    pub spans: Vec<(usize, usize)>,
}

impl Model {
    /// Maps the decoder's output.
    pub fn of(got: &DecodedSwaps<'_>) -> Model {
        let legs: Vec<Leg> = got.legs().map(leg_of).collect();
        assert_eq!(legs.len(), got.len());
        Model {
            legs,
            value: got.value,
            deadline: got.deadline,
            previous_blockhash: got.previous_blockhash,
            wrap_eth: got.wrap_eth,
            unwrap_weth_min: got.unwrap_weth_min,
            helpers: got.helpers,
            liquidity_ops: got.liquidity_ops,
            unknown: got.unknown,
            spans: got
                .revert_spans()
                .iter()
                .map(|s| (s.first, s.end))
                .collect(),
        }
    }

    /// A flagged sub-plan holding only swaps ended: the legs from `first` on revert together.
    /// One that holds no leg, or only the flagged sub-plan just recorded, adds nothing.
    pub fn isolate(&mut self, first: usize) {
        let span = (first, self.legs.len());
        if first < span.1 && self.spans.last() != Some(&span) {
            self.spans.push(span);
        }
    }

    /// What a decoder must return for a transaction that does this.
    pub fn verdict(self) -> Result<Model, SkipReason> {
        if self.legs.len() > MAX_LEGS {
            Err(SkipReason::TooManyLegs)
        } else if !self.legs.is_empty() {
            Ok(self)
        } else if self.unknown > 0 {
            Err(SkipReason::UnknownCommand)
        } else {
            Err(SkipReason::NotSwap)
        }
    }

    pub fn note_deadline(&mut self, d: U256) {
        self.deadline = Some(self.deadline.map_or(d, |old| old.min(d)));
    }
}

fn leg_of(leg: &SwapLeg<'_>) -> Leg {
    let swap = match leg {
        SwapLeg::Swap(swap) => swap,
        SwapLeg::V4 {
            input,
            allow_revert,
        } => {
            return Leg::V4 {
                input: input.to_vec(),
                allow_revert: *allow_revert,
            };
        }
    };
    let (v3, tokens, fees) = match swap.route {
        Route::V2(path) => (false, path.iter().collect(), Vec::new()),
        Route::V3(route) => {
            let hops: Vec<_> = route.hops().collect();
            assert_eq!(hops.len(), route.hop_count());
            for pair in hops.windows(2) {
                assert_eq!(pair[0].token_out, pair[1].token_in, "hops chain up");
            }
            let mut tokens: Vec<Address> = hops.iter().map(|h| h.token_in).collect();
            tokens.extend(hops.last().map(|h| h.token_out));
            (true, tokens, hops.iter().map(|h| h.fee).collect())
        }
    };
    assert_eq!(swap.token_in(), tokens.first().copied());
    assert_eq!(swap.token_out(), tokens.last().copied());
    let min_hop_prices: Vec<U256> = swap.min_hop_prices.iter().collect();
    assert_eq!(min_hop_prices.len(), swap.min_hop_prices.len());
    assert_eq!(min_hop_prices.is_empty(), swap.min_hop_prices.is_empty());
    for (k, price) in min_hop_prices.iter().enumerate() {
        assert_eq!(swap.min_hop_prices.get(k), Some(*price));
    }
    assert_eq!(swap.min_hop_prices.get(min_hop_prices.len()), None);
    Leg::Swap {
        v3,
        tokens,
        fees,
        kind: swap.kind,
        amount: swap.amount,
        limit: swap.limit,
        source: swap.amount_source,
        recipient: swap.recipient,
        payer_is_user: swap.payer_is_user,
        sqrt_price_limit_x96: swap.sqrt_price_limit_x96,
        allow_revert: swap.allow_revert,
        min_hop_prices,
    }
}

/// Packs a V3 path given in trade order. Exact-output paths are encoded from the output token
/// back to the input token.
pub fn packed_path(tokens: &[Address], fees: &[u32], exact_out: bool) -> Vec<u8> {
    let (mut tokens, mut fees) = (tokens.to_vec(), fees.to_vec());
    if exact_out {
        tokens.reverse();
        fees.reverse();
    }
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        out.extend_from_slice(token.as_slice());
        if let Some(fee) = fees.get(i) {
            out.extend_from_slice(&fee.to_be_bytes()[1..]);
        }
    }
    out
}

/// The inverse of [`packed_path`]; `None` unless the length is `20 + 23k`, `k ≥ 1`.
pub fn unpacked_path(bytes: &[u8], exact_out: bool) -> Option<(Vec<Address>, Vec<u32>)> {
    if bytes.len() < 43 || !(bytes.len() - 20).is_multiple_of(23) {
        return None;
    }
    let hops = (bytes.len() - 20) / 23;
    let mut tokens: Vec<Address> = (0..=hops)
        .map(|i| Address::from_slice(&bytes[i * 23..i * 23 + 20]))
        .collect();
    let mut fees: Vec<u32> = (0..hops)
        .map(|i| {
            let f = &bytes[i * 23 + 20..i * 23 + 23];
            u32::from_be_bytes([0, f[0], f[1], f[2]])
        })
        .collect();
    if exact_out {
        tokens.reverse();
        fees.reverse();
    }
    Some((tokens, fees))
}

/// The ten swap functions, in the order `Func::ALL` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    ExactInputSingle,
    ExactOutputSingle,
    ExactInput,
    ExactOutput,
    ExactInputSingle02,
    ExactOutputSingle02,
    ExactInput02,
    ExactOutput02,
    SwapExactTokensForTokens02,
    SwapTokensForExactTokens02,
}

impl Func {
    const ALL: [Func; 10] = [
        Func::ExactInputSingle,
        Func::ExactOutputSingle,
        Func::ExactInput,
        Func::ExactOutput,
        Func::ExactInputSingle02,
        Func::ExactOutputSingle02,
        Func::ExactInput02,
        Func::ExactOutput02,
        Func::SwapExactTokensForTokens02,
        Func::SwapTokensForExactTokens02,
    ];

    fn is_v1(self) -> bool {
        matches!(
            self,
            Func::ExactInputSingle | Func::ExactOutputSingle | Func::ExactInput | Func::ExactOutput
        )
    }

    fn is_single(self) -> bool {
        matches!(
            self,
            Func::ExactInputSingle
                | Func::ExactOutputSingle
                | Func::ExactInputSingle02
                | Func::ExactOutputSingle02
        )
    }

    fn is_v2(self) -> bool {
        matches!(
            self,
            Func::SwapExactTokensForTokens02 | Func::SwapTokensForExactTokens02
        )
    }

    fn kind(self) -> SwapKind {
        match self {
            Func::ExactInputSingle
            | Func::ExactInput
            | Func::ExactInputSingle02
            | Func::ExactInput02
            | Func::SwapExactTokensForTokens02 => SwapKind::ExactIn,
            _ => SwapKind::ExactOut,
        }
    }
}

/// Arguments of one swap call, tokens and fees in trade order.
#[derive(Clone, Debug)]
pub struct SwapCall {
    pub func: Func,
    pub tokens: Vec<Address>,
    pub fees: Vec<u32>,
    pub to: Address,
    pub deadline: U256,
    /// The exact side (`amountIn` or `amountOut`).
    pub amount: U256,
    /// Its bound (`amountOutMinimum` or `amountInMaximum`).
    pub limit: U256,
    pub sqrt: [u8; 20],
}

impl SwapCall {
    fn sqrt_u160(&self) -> U160 {
        U160::from_be_bytes(self.sqrt)
    }

    fn path(&self) -> Bytes {
        Bytes::from(packed_path(
            &self.tokens,
            &self.fees,
            self.func.kind() == SwapKind::ExactOut,
        ))
    }

    fn fee(&self) -> U24 {
        U24::from(self.fees[0])
    }

    pub fn encode(&self) -> Vec<u8> {
        let (t0, t1, to, d, a, l) = (
            self.tokens[0],
            self.tokens[1],
            self.to,
            self.deadline,
            self.amount,
            self.limit,
        );
        match self.func {
            Func::ExactInputSingle => v1::exactInputSingleCall {
                params: v1::ExactInputSingleParams {
                    tokenIn: t0,
                    tokenOut: t1,
                    fee: self.fee(),
                    recipient: to,
                    deadline: d,
                    amountIn: a,
                    amountOutMinimum: l,
                    sqrtPriceLimitX96: self.sqrt_u160(),
                },
            }
            .abi_encode(),
            Func::ExactOutputSingle => v1::exactOutputSingleCall {
                params: v1::ExactOutputSingleParams {
                    tokenIn: t0,
                    tokenOut: t1,
                    fee: self.fee(),
                    recipient: to,
                    deadline: d,
                    amountOut: a,
                    amountInMaximum: l,
                    sqrtPriceLimitX96: self.sqrt_u160(),
                },
            }
            .abi_encode(),
            Func::ExactInput => v1::exactInputCall {
                params: v1::ExactInputParams {
                    path: self.path(),
                    recipient: to,
                    deadline: d,
                    amountIn: a,
                    amountOutMinimum: l,
                },
            }
            .abi_encode(),
            Func::ExactOutput => v1::exactOutputCall {
                params: v1::ExactOutputParams {
                    path: self.path(),
                    recipient: to,
                    deadline: d,
                    amountOut: a,
                    amountInMaximum: l,
                },
            }
            .abi_encode(),
            Func::ExactInputSingle02 => v02::exactInputSingleCall {
                params: v02::ExactInputSingleParams {
                    tokenIn: t0,
                    tokenOut: t1,
                    fee: self.fee(),
                    recipient: to,
                    amountIn: a,
                    amountOutMinimum: l,
                    sqrtPriceLimitX96: self.sqrt_u160(),
                },
            }
            .abi_encode(),
            Func::ExactOutputSingle02 => v02::exactOutputSingleCall {
                params: v02::ExactOutputSingleParams {
                    tokenIn: t0,
                    tokenOut: t1,
                    fee: self.fee(),
                    recipient: to,
                    amountOut: a,
                    amountInMaximum: l,
                    sqrtPriceLimitX96: self.sqrt_u160(),
                },
            }
            .abi_encode(),
            Func::ExactInput02 => v02::exactInputCall {
                params: v02::ExactInputParams {
                    path: self.path(),
                    recipient: to,
                    amountIn: a,
                    amountOutMinimum: l,
                },
            }
            .abi_encode(),
            Func::ExactOutput02 => v02::exactOutputCall {
                params: v02::ExactOutputParams {
                    path: self.path(),
                    recipient: to,
                    amountOut: a,
                    amountInMaximum: l,
                },
            }
            .abi_encode(),
            Func::SwapExactTokensForTokens02 => v02::swapExactTokensForTokensCall {
                amountIn: a,
                amountOutMin: l,
                path: self.tokens.clone(),
                to,
            }
            .abi_encode(),
            Func::SwapTokensForExactTokens02 => v02::swapTokensForExactTokensCall {
                amountOut: a,
                amountInMax: l,
                path: self.tokens.clone(),
                to,
            }
            .abi_encode(),
        }
    }

    /// The leg the router executes for this call, read off the Solidity.
    pub fn expected(&self) -> Leg {
        let v1 = self.func.is_v1();
        let kind = self.func.kind();
        let recipient = if v1 && self.to == Address::ZERO {
            // SwapRouter: `if (recipient == address(0)) recipient = address(this);`
            Recipient::Router
        } else if !v1 && self.to == Address::with_last_byte(1) {
            Recipient::Sender
        } else if !v1 && self.to == Address::with_last_byte(2) {
            Recipient::Router
        } else {
            Recipient::Account(self.to)
        };
        // SwapRouter02: `Constants.CONTRACT_BALANCE = 0` on the exact-in functions.
        let source = if !v1 && kind == SwapKind::ExactIn && self.amount.is_zero() {
            AmountSource::ContractBalance
        } else {
            AmountSource::Given
        };
        Leg::Swap {
            v3: !self.func.is_v2(),
            tokens: self.tokens.clone(),
            fees: if self.func.is_v2() {
                Vec::new()
            } else {
                self.fees.clone()
            },
            kind,
            amount: self.amount,
            limit: self.limit,
            source,
            recipient,
            payer_is_user: source == AmountSource::Given,
            sqrt_price_limit_x96: if self.func.is_single() {
                U256::from_be_slice(&self.sqrt)
            } else {
                U256::ZERO
            },
            allow_revert: false,
            min_hop_prices: Vec::new(),
        }
    }

    /// Applies this call to the expected model.
    pub fn apply(&self, model: &mut Model) {
        if self.func.is_v1() {
            model.note_deadline(self.deadline);
        }
        model.legs.push(self.expected());
    }
}

/// Tries every swap function's `sol!` decoder.
fn sol_swap(data: &[u8]) -> Option<SwapCall> {
    let call = |func, tokens: Vec<Address>, fees: Vec<u32>, to, deadline, amount, limit, sqrt| {
        Some(SwapCall {
            func,
            tokens,
            fees,
            to,
            deadline,
            amount,
            limit,
            sqrt,
        })
    };
    let sqrt_bytes = |x: U160| x.to_be_bytes::<20>();
    let z = U256::ZERO;
    let no_sqrt = [0u8; 20];
    if let Ok(c) = v1::exactInputSingleCall::abi_decode(data) {
        let p = c.params;
        let fee = p.fee.to::<u32>();
        let s = sqrt_bytes(p.sqrtPriceLimitX96);
        let (a, l) = (p.amountIn, p.amountOutMinimum);
        return call(
            Func::ExactInputSingle,
            vec![p.tokenIn, p.tokenOut],
            vec![fee],
            p.recipient,
            p.deadline,
            a,
            l,
            s,
        );
    }
    if let Ok(c) = v1::exactOutputSingleCall::abi_decode(data) {
        let p = c.params;
        let fee = p.fee.to::<u32>();
        let s = sqrt_bytes(p.sqrtPriceLimitX96);
        let (a, l) = (p.amountOut, p.amountInMaximum);
        return call(
            Func::ExactOutputSingle,
            vec![p.tokenIn, p.tokenOut],
            vec![fee],
            p.recipient,
            p.deadline,
            a,
            l,
            s,
        );
    }
    if let Ok(c) = v1::exactInputCall::abi_decode(data) {
        let p = c.params;
        let (tokens, fees) = unpacked_path(&p.path, false)?;
        return call(
            Func::ExactInput,
            tokens,
            fees,
            p.recipient,
            p.deadline,
            p.amountIn,
            p.amountOutMinimum,
            no_sqrt,
        );
    }
    if let Ok(c) = v1::exactOutputCall::abi_decode(data) {
        let p = c.params;
        let (tokens, fees) = unpacked_path(&p.path, true)?;
        return call(
            Func::ExactOutput,
            tokens,
            fees,
            p.recipient,
            p.deadline,
            p.amountOut,
            p.amountInMaximum,
            no_sqrt,
        );
    }
    if let Ok(c) = v02::exactInputSingleCall::abi_decode(data) {
        let p = c.params;
        let fee = p.fee.to::<u32>();
        let s = sqrt_bytes(p.sqrtPriceLimitX96);
        return call(
            Func::ExactInputSingle02,
            vec![p.tokenIn, p.tokenOut],
            vec![fee],
            p.recipient,
            z,
            p.amountIn,
            p.amountOutMinimum,
            s,
        );
    }
    if let Ok(c) = v02::exactOutputSingleCall::abi_decode(data) {
        let p = c.params;
        let fee = p.fee.to::<u32>();
        let s = sqrt_bytes(p.sqrtPriceLimitX96);
        return call(
            Func::ExactOutputSingle02,
            vec![p.tokenIn, p.tokenOut],
            vec![fee],
            p.recipient,
            z,
            p.amountOut,
            p.amountInMaximum,
            s,
        );
    }
    if let Ok(c) = v02::exactInputCall::abi_decode(data) {
        let p = c.params;
        let (tokens, fees) = unpacked_path(&p.path, false)?;
        return call(
            Func::ExactInput02,
            tokens,
            fees,
            p.recipient,
            z,
            p.amountIn,
            p.amountOutMinimum,
            no_sqrt,
        );
    }
    if let Ok(c) = v02::exactOutputCall::abi_decode(data) {
        let p = c.params;
        let (tokens, fees) = unpacked_path(&p.path, true)?;
        return call(
            Func::ExactOutput02,
            tokens,
            fees,
            p.recipient,
            z,
            p.amountOut,
            p.amountInMaximum,
            no_sqrt,
        );
    }
    if let Ok(c) = v02::swapExactTokensForTokensCall::abi_decode(data) {
        return call(
            Func::SwapExactTokensForTokens02,
            c.path,
            Vec::new(),
            c.to,
            z,
            c.amountIn,
            c.amountOutMin,
            no_sqrt,
        );
    }
    if let Ok(c) = v02::swapTokensForExactTokensCall::abi_decode(data) {
        return call(
            Func::SwapTokensForExactTokens02,
            c.path,
            Vec::new(),
            c.to,
            z,
            c.amountOut,
            c.amountInMax,
            no_sqrt,
        );
    }
    None
}

/// Decodes `data` with `sol!` alone and states what the routers do with it. `None` when `sol!`
/// rejects the data, or a packed path has an impossible length.
pub fn sol_model(data: &[u8], value: U256) -> Option<Model> {
    let mut model = Model {
        value,
        ..Model::default()
    };
    let inner = if let Ok(c) = v1::multicallCall::abi_decode(data) {
        c.data
    } else if let Ok(c) = v02::multicall_0Call::abi_decode(data) {
        model.note_deadline(c.deadline);
        c.data
    } else if let Ok(c) = v02::multicall_1Call::abi_decode(data) {
        model.previous_blockhash = Some(c.previousBlockhash);
        c.data
    } else {
        match sol_swap(data) {
            Some(swap) => swap.apply(&mut model),
            // A swap `sol!` cannot decode would revert.
            None if data.len() >= 4 && SWAPS.iter().any(|s| s[..] == data[..4]) => return None,
            // Anything else sent on its own is not a swap.
            None => {}
        }
        return Some(model);
    };
    for call in inner {
        sol_inner_call(&call, &mut model)?;
    }
    Some(model)
}

fn sol_inner_call(data: &[u8], model: &mut Model) -> Option<()> {
    if let Some(swap) = sol_swap(data) {
        swap.apply(model);
    } else if let Ok(c) = v1::unwrapWETH9Call::abi_decode(data) {
        model.unwrap_weth_min = Some(c.amountMinimum);
        model.helpers += 1;
    } else if let Ok(c) = v1::unwrapWETH9WithFeeCall::abi_decode(data) {
        model.unwrap_weth_min = Some(c.amountMinimum);
        model.helpers += 1;
    } else if let Ok(c) = v02::unwrapWETH9Call::abi_decode(data) {
        model.unwrap_weth_min = Some(c.amountMinimum);
        model.helpers += 1;
    } else if let Ok(c) = v02::unwrapWETH9WithFeeCall::abi_decode(data) {
        model.unwrap_weth_min = Some(c.amountMinimum);
        model.helpers += 1;
    } else if let Ok(c) = v02::wrapETHCall::abi_decode(data) {
        model.wrap_eth = Some(c.value);
        model.helpers += 1;
    } else if data.len() >= 4 && PLAIN_HELPERS.iter().any(|s| selector_of(s) == data[..4]) {
        model.helpers += 1;
    } else if data.len() >= 4
        && LIQUIDITY_HELPERS
            .iter()
            .any(|s| selector_of(s) == data[..4])
    {
        model.liquidity_ops += 1;
    } else if data.len() >= 4
        && SWAPS
            .iter()
            .chain(&ARGUMENT_HELPERS)
            .any(|s| s[..] == data[..4])
    {
        // A call whose arguments matter that `sol!` cannot decode: the multicall would revert.
        return None;
    } else {
        model.unknown += 1;
    }
    Some(())
}

/// Swap and multicall selectors.
const SWAPS: [[u8; 4]; 13] = [
    v1::exactInputSingleCall::SELECTOR,
    v1::exactOutputSingleCall::SELECTOR,
    v1::exactInputCall::SELECTOR,
    v1::exactOutputCall::SELECTOR,
    v02::exactInputSingleCall::SELECTOR,
    v02::exactOutputSingleCall::SELECTOR,
    v02::exactInputCall::SELECTOR,
    v02::exactOutputCall::SELECTOR,
    v02::swapExactTokensForTokensCall::SELECTOR,
    v02::swapTokensForExactTokensCall::SELECTOR,
    v1::multicallCall::SELECTOR,
    v02::multicall_0Call::SELECTOR,
    v02::multicall_1Call::SELECTOR,
];

/// Helpers whose first argument the routers' decoders read.
const ARGUMENT_HELPERS: [[u8; 4]; 5] = [
    v1::unwrapWETH9Call::SELECTOR,
    v1::unwrapWETH9WithFeeCall::SELECTOR,
    v02::unwrapWETH9Call::SELECTOR,
    v02::unwrapWETH9WithFeeCall::SELECTOR,
    v02::wrapETHCall::SELECTOR,
];

/// What a decoder returns for `data`, mapped for comparison.
fn decoded(data: &[u8], value: U256) -> Result<Model, SkipReason> {
    decode_swap_router(data, value).map(|d| Model::of(&d))
}

pub fn recipient_strategy() -> impl Strategy<Value = Address> {
    prop_oneof![
        Just(Address::ZERO),
        Just(Address::with_last_byte(1)),
        Just(Address::with_last_byte(2)),
        any_address(),
    ]
}

pub fn amount_strategy() -> impl Strategy<Value = U256> {
    prop_oneof![Just(U256::ZERO), any_u256()]
}

fn swap_call_strategy(max_tokens: usize) -> impl Strategy<Value = SwapCall> {
    (
        0..Func::ALL.len(),
        2..=max_tokens,
        proptest::collection::vec(any_address(), max_tokens),
        proptest::collection::vec(0u32..1 << 24, max_tokens - 1),
        recipient_strategy(),
        any_u256(),
        amount_strategy(),
        any_u256(),
        any::<[u8; 20]>(),
    )
        .prop_map(
            |(f, n, mut tokens, mut fees, to, deadline, amount, limit, sqrt)| {
                let func = Func::ALL[f];
                let n = if func.is_single() { 2 } else { n };
                tokens.truncate(n);
                fees.truncate(n - 1);
                SwapCall {
                    func,
                    tokens,
                    fees,
                    to,
                    deadline,
                    amount,
                    limit,
                    sqrt,
                }
            },
        )
}

/// One call inside a multicall.
#[derive(Clone, Debug)]
enum Item {
    Swap(SwapCall),
    UnwrapV1(U256, Address),
    UnwrapV02(U256),
    WrapEth(U256),
    RefundEth,
    Sweep(Address, U256, Address),
    SelfPermit(Address, U256, U256, u8, B256, B256),
    Pull(Address, U256),
    PositionManager(Vec<u8>),
    /// An ERC-20 `transfer`, which the routers do not have.
    Unknown(Address, U256),
    /// Fewer than four bytes: no selector at all.
    Short(Vec<u8>),
}

impl Item {
    fn encode(&self) -> Vec<u8> {
        match self.clone() {
            Item::Swap(s) => s.encode(),
            Item::UnwrapV1(min, recipient) => v1::unwrapWETH9Call {
                amountMinimum: min,
                recipient,
            }
            .abi_encode(),
            Item::UnwrapV02(min) => v02::unwrapWETH9Call { amountMinimum: min }.abi_encode(),
            Item::WrapEth(value) => v02::wrapETHCall { value }.abi_encode(),
            Item::RefundEth => v1::refundETHCall {}.abi_encode(),
            Item::Sweep(token, min, recipient) => v1::sweepTokenCall {
                token,
                amountMinimum: min,
                recipient,
            }
            .abi_encode(),
            Item::SelfPermit(token, value, deadline, v, r, s) => v1::selfPermitCall {
                token,
                value,
                deadline,
                v,
                r,
                s,
            }
            .abi_encode(),
            Item::Pull(token, value) => v02::pullCall { token, value }.abi_encode(),
            Item::PositionManager(data) => v02::callPositionManagerCall {
                data: Bytes::from(data),
            }
            .abi_encode(),
            Item::Unknown(to, amount) => v02::transferCall { to, amount }.abi_encode(),
            Item::Short(bytes) => bytes,
        }
    }

    /// What the router does with this call, for the expected model.
    fn apply(&self, model: &mut Model) {
        match self {
            Item::Swap(s) => s.apply(model),
            Item::UnwrapV1(min, _) | Item::UnwrapV02(min) => {
                model.unwrap_weth_min = Some(*min);
                model.helpers += 1;
            }
            Item::WrapEth(v) => {
                model.wrap_eth = Some(*v);
                model.helpers += 1;
            }
            Item::RefundEth | Item::Sweep(..) | Item::SelfPermit(..) | Item::Pull(..) => {
                model.helpers += 1;
            }
            Item::PositionManager(_) => model.liquidity_ops += 1,
            Item::Unknown(..) | Item::Short(_) => model.unknown += 1,
        }
    }
}

fn item_strategy() -> impl Strategy<Value = Item> {
    let a = any_address;
    prop_oneof![
        6 => swap_call_strategy(4).prop_map(Item::Swap),
        1 => (any_u256(), a()).prop_map(|(m, r)| Item::UnwrapV1(m, r)),
        1 => any_u256().prop_map(Item::UnwrapV02),
        1 => any_u256().prop_map(Item::WrapEth),
        1 => Just(Item::RefundEth),
        1 => (a(), any_u256(), a()).prop_map(|(t, m, r)| Item::Sweep(t, m, r)),
        1 => (a(), any_u256(), any_u256(), any::<u8>(), any::<[u8; 32]>(), any::<[u8; 32]>())
            .prop_map(|(t, v, d, pv, r, s)| Item::SelfPermit(t, v, d, pv, B256::from(r), B256::from(s))),
        1 => (a(), any_u256()).prop_map(|(t, v)| Item::Pull(t, v)),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Item::PositionManager),
        1 => (a(), any_u256()).prop_map(|(t, v)| Item::Unknown(t, v)),
        1 => proptest::collection::vec(any::<u8>(), 0..4).prop_map(Item::Short),
    ]
}

/// The three multicall forms.
#[derive(Clone, Debug)]
enum Wrapper {
    Plain,
    Deadline(U256),
    Blockhash(B256),
}

fn wrapper_strategy() -> impl Strategy<Value = Wrapper> {
    prop_oneof![
        Just(Wrapper::Plain),
        any_u256().prop_map(Wrapper::Deadline),
        any::<[u8; 32]>().prop_map(|h| Wrapper::Blockhash(B256::from(h))),
    ]
}

fn encode_multicall(wrapper: &Wrapper, items: &[Item]) -> Vec<u8> {
    let data: Vec<Bytes> = items.iter().map(|i| Bytes::from(i.encode())).collect();
    match wrapper {
        Wrapper::Plain => v1::multicallCall { data }.abi_encode(),
        Wrapper::Deadline(deadline) => v02::multicall_0Call {
            deadline: *deadline,
            data,
        }
        .abi_encode(),
        Wrapper::Blockhash(hash) => v02::multicall_1Call {
            previousBlockhash: *hash,
            data,
        }
        .abi_encode(),
    }
}

fn expected_multicall(wrapper: &Wrapper, items: &[Item], value: U256) -> Model {
    let mut model = Model {
        value,
        ..Model::default()
    };
    match wrapper {
        Wrapper::Plain => {}
        Wrapper::Deadline(d) => model.note_deadline(*d),
        Wrapper::Blockhash(h) => model.previous_blockhash = Some(*h),
    }
    for item in items {
        item.apply(&mut model);
    }
    model
}

proptest! {
    #[test]
    fn every_swap_function_decodes_as_sol_encodes_it(call in swap_call_strategy(4), value in any_u256()) {
        let data = call.encode();
        let mut expected = Model { value, ..Model::default() };
        call.apply(&mut expected);
        prop_assert_eq!(decoded(&data, value), Ok(expected.clone()));
        prop_assert_eq!(sol_model(&data, value), Some(expected.clone()));
        // Trailing bytes are ignored by Solidity's decoder, and by ours.
        let mut padded = data.clone();
        padded.extend_from_slice(&[0xab; 5]);
        prop_assert_eq!(decoded(&padded, value), Ok(expected));
    }

    #[test]
    fn multicalls_decode_call_by_call(
        wrapper in wrapper_strategy(),
        items in proptest::collection::vec(item_strategy(), 0..=MAX_LEGS + 2),
        value in any_u256(),
    ) {
        let data = encode_multicall(&wrapper, &items);
        let expected = expected_multicall(&wrapper, &items, value);
        prop_assert_eq!(sol_model(&data, value), Some(expected.clone()));
        prop_assert_eq!(decoded(&data, value), expected.verdict());
    }

    #[test]
    fn long_paths_are_path_too_long(call in swap_call_strategy(6)) {
        prop_assume!(call.tokens.len() > 4);
        prop_assert_eq!(decoded(&call.encode(), U256::ZERO), Err(SkipReason::PathTooLong));
    }

    #[test]
    /// Solidity only needs a `bytes` value's own length to be present, not its padding: a cut
    /// into the padding still decodes, to the same swap. Any deeper cut is malformed.
    fn truncated_calls_are_malformed(call in swap_call_strategy(4), cut in 1usize..200) {
        let data = call.encode();
        let keep = data.len().saturating_sub(cut).max(4);
        prop_assume!(keep < data.len());
        let padding = if call.func.is_single() || call.func.is_v2() {
            0
        } else {
            (32 - call.path().len() % 32) % 32
        };
        let expected = if data.len() - keep <= padding {
            decoded(&data, U256::ZERO)
        } else {
            Err(SkipReason::MalformedCalldata)
        };
        prop_assert_eq!(decoded(&data[..keep], U256::ZERO), expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600), value in any_u256()) {
        let _ = decode_swap_router(&data, value);
    }

    #[test]
    fn known_selectors_with_random_arguments_never_panic(
        which in 0usize..13,
        body in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut data = SWAPS[which].to_vec();
        data.extend_from_slice(&body);
        if let Ok(got) = decoded(&data, U256::ZERO) {
            prop_assert!(sol_model(&data, U256::ZERO).is_some(), "accepted what sol! rejects");
            prop_assert!(!got.legs.is_empty());
        }
    }

    /// Valid calldata with one byte changed: never a panic; whatever the decoder accepts, `sol!`
    /// accepts too, and they agree.
    #[test]
    fn mutated_calldata_never_panics_and_agrees(
        wrapper in wrapper_strategy(),
        items in proptest::collection::vec(item_strategy(), 1..4),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut data = encode_multicall(&wrapper, &items);
        let i = at.index(data.len());
        data[i] = byte;
        if let Ok(got) = decoded(&data, U256::ZERO) {
            let sol = sol_model(&data, U256::ZERO);
            prop_assert_eq!(sol.map(Model::verdict), Some(Ok(got)));
        }
    }
}

#[test]
fn more_than_max_legs_is_too_many_legs() {
    let swap = SwapCall {
        func: Func::ExactInput02,
        tokens: vec![Address::with_last_byte(7), Address::with_last_byte(8)],
        fees: vec![3000],
        to: Address::with_last_byte(9),
        deadline: U256::ZERO,
        amount: U256::from(5),
        limit: U256::from(1),
        sqrt: [0; 20],
    };
    let items = vec![Item::Swap(swap); MAX_LEGS];
    let fits = encode_multicall(&Wrapper::Plain, &items);
    assert_eq!(
        decoded(&fits, U256::ZERO).map(|m| m.legs.len()),
        Ok(MAX_LEGS)
    );
    let mut over = items;
    over.push(over[0].clone());
    assert_eq!(
        decoded(&encode_multicall(&Wrapper::Plain, &over), U256::ZERO),
        Err(SkipReason::TooManyLegs)
    );
}

#[test]
fn multicalls_without_swaps_are_skipped_by_what_they_hold() {
    let helpers = [Item::RefundEth, Item::UnwrapV02(U256::from(3))];
    assert_eq!(
        decoded(&encode_multicall(&Wrapper::Plain, &helpers), U256::ZERO),
        Err(SkipReason::NotSwap)
    );
    let unknown = [Item::RefundEth, Item::Unknown(Address::ZERO, U256::ZERO)];
    assert_eq!(
        decoded(&encode_multicall(&Wrapper::Plain, &unknown), U256::ZERO),
        Err(SkipReason::UnknownCommand)
    );
    assert_eq!(
        decoded(&encode_multicall(&Wrapper::Plain, &[]), U256::ZERO),
        Err(SkipReason::NotSwap)
    );
}

#[test]
fn nested_multicalls_are_walked_to_a_bounded_depth() {
    let swap = SwapCall {
        func: Func::ExactInputSingle,
        tokens: vec![Address::with_last_byte(7), Address::with_last_byte(8)],
        fees: vec![500],
        to: Address::ZERO,
        deadline: U256::from(100),
        amount: U256::from(5),
        limit: U256::from(1),
        sqrt: [0; 20],
    };
    let inner = encode_multicall(
        &Wrapper::Deadline(U256::from(50)),
        &[Item::Swap(swap.clone())],
    );
    // multicall(deadline 90) { multicall(deadline 50) { swap(deadline 100) } }
    let outer = v02::multicall_0Call {
        deadline: U256::from(90),
        data: vec![Bytes::from(inner.clone())],
    }
    .abi_encode();
    let got = decoded(&outer, U256::ZERO).unwrap();
    assert_eq!(got.legs, [swap.expected()]);
    assert_eq!(got.deadline, Some(U256::from(50)), "the earliest deadline");
    // One more level is past MAX_MULTICALL_DEPTH: counted, not walked.
    let deeper = v1::multicallCall {
        data: vec![Bytes::from(outer)],
    }
    .abi_encode();
    assert_eq!(
        decoded(&deeper, U256::ZERO),
        Err(SkipReason::UnknownCommand)
    );
}

#[test]
fn broken_v3_paths_are_malformed() {
    for len in [0usize, 20, 42, 44, 65] {
        let data = v1::exactInputCall {
            params: v1::ExactInputParams {
                path: Bytes::from(vec![1u8; len]),
                recipient: Address::with_last_byte(3),
                deadline: U256::ZERO,
                amountIn: U256::from(1),
                amountOutMinimum: U256::ZERO,
            },
        }
        .abi_encode();
        assert_eq!(
            decoded(&data, U256::ZERO),
            Err(SkipReason::MalformedCalldata),
            "path of {len} bytes"
        );
    }
}

#[test]
fn dirty_words_are_malformed() {
    let call = SwapCall {
        func: Func::ExactInputSingle02,
        tokens: vec![Address::with_last_byte(7), Address::with_last_byte(8)],
        fees: vec![500],
        to: Address::with_last_byte(9),
        deadline: U256::ZERO,
        amount: U256::from(5),
        limit: U256::from(1),
        sqrt: [0; 20],
    };
    let clean = call.encode();
    assert!(decoded(&clean, U256::ZERO).is_ok());
    // Word 2 is the fee (uint24), word 6 the sqrt price limit (uint160), word 0 an address.
    for (word, byte) in [(2usize, 28usize), (6, 11), (0, 0)] {
        let mut dirty = clean.clone();
        dirty[4 + word * 32 + byte] = 1;
        assert_eq!(
            decoded(&dirty, U256::ZERO),
            Err(SkipReason::MalformedCalldata),
            "word {word}"
        );
    }
}

const SWAP_ROUTER: Address = address!("0xe592427a0aece92de3edee1f18e0157c05861564");
/// `UniswapV3Pool.swap(address,bool,int256,uint160,bytes)`
const POOL_SWAP: &str = "0x128acb08";
/// `uniswapV3SwapCallback(int256,int256,bytes)`, which pools call on the router.
const SWAP_CALLBACK: &str = "0xfa461e33";

/// One trace of a recorded block.
struct Trace {
    tx: String,
    top_level: bool,
    to: Option<Address>,
    input: Vec<u8>,
    value: U256,
}

fn traces(what: &str, file: &str) -> Option<Vec<Trace>> {
    let path = kestrel_stdx::testdata::data_file(what, file)?;
    let block: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let traces = block["traces"].as_array().unwrap();
    Some(
        traces
            .iter()
            .map(|t| {
                let action = &t["action"];
                let input = action["input"].as_str().unwrap_or("0x");
                Trace {
                    // Reward traces have no transaction.
                    tx: t["transaction_hash"].as_str().unwrap_or("").to_owned(),
                    top_level: t["trace_address"].as_array().is_some_and(Vec::is_empty),
                    to: action["to"].as_str().map(|a| a.parse().unwrap()),
                    input: hex::decode(input.trim_start_matches("0x")).unwrap(),
                    value: U256::from_str_radix(
                        action["value"]
                            .as_str()
                            .unwrap_or("0x0")
                            .trim_start_matches("0x"),
                        16,
                    )
                    .unwrap(),
                }
            })
            .collect(),
    )
}

/// Decodes every call to the V3 SwapRouter in a recorded block and checks it against `sol!`.
/// For transactions sent straight to the router, the decoded hops must equal the number of
/// `UniswapV3Pool.swap` calls the transaction really made. Returns the top-level selectors seen.
fn check_block(what: &str, file: &str) -> Option<Vec<String>> {
    let traces = traces(what, file)?;
    let mut top_selectors = Vec::new();
    for t in traces.iter().filter(|t| t.to == Some(SWAP_ROUTER)) {
        let selector = format!("0x{}", hex::encode(&t.input[..4]));
        if selector == SWAP_CALLBACK {
            assert_eq!(decoded(&t.input, t.value), Err(SkipReason::NotSwap));
            continue;
        }
        let sol = sol_model(&t.input, t.value).expect("sol! decodes every router call here");
        let got = decoded(&t.input, t.value);
        assert_eq!(got, sol.verdict(), "tx {} selector {selector}", t.tx);
        if !t.top_level {
            continue;
        }
        top_selectors.push(selector);
        let got = got.unwrap();
        let hops: usize = got
            .legs
            .iter()
            .map(|leg| match leg {
                Leg::Swap { tokens, .. } => tokens.len() - 1,
                Leg::V4 { .. } => 0,
            })
            .sum();
        let pool_swaps = traces
            .iter()
            .filter(|p| p.tx == t.tx && p.input.starts_with(&hex::decode(&POOL_SWAP[2..]).unwrap()))
            .count();
        assert_eq!(hops, pool_swaps, "tx {}: decoded hops vs pool swaps", t.tx);
    }
    top_selectors.sort();
    Some(top_selectors)
}

#[test]
fn real_block_12775690_swap_router_calls() {
    let Some(top) = check_block(
        "dex swap router block 12775690",
        "eth/mev-inspect/block_12775690.json",
    ) else {
        return;
    };
    // SOURCES.md: the block's top-level V3 SwapRouter transaction is one exactInputSingle.
    assert_eq!(top, ["0x414bf389"]);
}

#[test]
fn real_block_12914944_swap_router_calls() {
    let Some(top) = check_block(
        "dex swap router block 12914944",
        "eth/mev-inspect/block_12914944.json",
    ) else {
        return;
    };
    let count = |s: &str| top.iter().filter(|t| *t == s).count();
    // SOURCES.md: 6 top-level exactInput and 4 multicall; counted here, 2 exactInputSingle and
    // 1 exactOutputSingle.
    assert_eq!(count("0xc04b8d59"), 6);
    assert_eq!(count("0xac9650d8"), 4);
    assert_eq!(count("0x414bf389"), 2);
    assert_eq!(count("0xdb3e2198"), 1);
    assert_eq!(top.len(), 13);
}

#[test]
fn real_multicalls_hold_permits_swaps_and_an_unwrap() {
    let Some(traces) = traces(
        "dex swap router multicalls",
        "eth/mev-inspect/block_12914944.json",
    ) else {
        return;
    };
    let multicalls: Vec<Model> = traces
        .iter()
        .filter(|t| {
            t.top_level
                && t.to == Some(SWAP_ROUTER)
                && t.input.starts_with(&[0xac, 0x96, 0x50, 0xd8])
        })
        .map(|t| decoded(&t.input, t.value).unwrap())
        .collect();
    assert_eq!(multicalls.len(), 4);
    // Counted here from the traces: three are selfPermit + exactInputSingle (the delegate calls
    // under them), one (0x0a0cdc10…, reverted) is exactInput + unwrapWETH9(uint256,address).
    let permit_and_swap = multicalls
        .iter()
        .filter(|m| m.helpers == 1 && m.legs.len() == 1 && m.unwrap_weth_min.is_none())
        .count();
    assert_eq!(permit_and_swap, 3);
    let unwraps: Vec<&Model> = multicalls
        .iter()
        .filter(|m| m.unwrap_weth_min.is_some())
        .collect();
    assert_eq!(unwraps.len(), 1);
    let Leg::Swap {
        recipient, tokens, ..
    } = &unwraps[0].legs[0]
    else {
        panic!("a swap");
    };
    // The swap pays the router (address(0) on SwapRouter), which then unwraps to ETH.
    assert_eq!(*recipient, Recipient::Router);
    assert_eq!(
        tokens.last(),
        Some(&address!("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2")),
        "ends in WETH"
    );
    for m in &multicalls {
        assert_eq!(m.unknown, 0);
        assert!(
            m.deadline.is_some(),
            "every SwapRouter swap carries a deadline"
        );
    }
}
