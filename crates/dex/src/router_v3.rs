//! Allocation-free decoding of the Uniswap V3 `SwapRouter` and `SwapRouter02` calldata.
//!
//! One entry point, [`decode_swap_router`], serves both routers: their swap selectors differ
//! (the V3 `SwapRouter` structs carry a `deadline`, `SwapRouter02`'s do not), so the selector
//! says which router's rules apply. A `multicall` is walked call by call: swaps become legs,
//! the known helpers (payments, permits, sweeps, oracle checks) are passed over and counted,
//! and anything else is counted as unknown.
//!
//! Layouts were read from `Uniswap/v3-periphery` at `0682387198a24c7cd63566a2c58398533860a5d1`
//! (`ISwapRouter.sol`, `SwapRouter.sol`, `IPeripheryPayments*.sol`, `ISelfPermit.sol`) and
//! `Uniswap/swap-router-contracts` at `70bc2e40dfca294c1cea9bf67a4036732ee54303`
//! (`IV3SwapRouter.sol`, `IV2SwapRouter.sol`, `IMulticallExtended.sol`,
//! `IPeripheryPayments*Extended.sol`, `IApproveAndCall.sol`, `IOracleSlippage.sol`,
//! `libraries/Constants.sol`). Every selector is checked against the keccak of its signature
//! in the tests.
//!
//! Sentinels differ between the two routers:
//! - `SwapRouter`: a recipient of `address(0)` means the router (it keeps the output for a
//!   later `unwrapWETH9` or `sweepToken`). No amount sentinel.
//! - `SwapRouter02`: recipients `address(1)` / `address(2)` mean the sender / the router, and an
//!   exact-in `amountIn` of `0` means "the router's whole balance of the input token".

use kestrel_types::{Address, SkipReason, U256};

use crate::route::{
    ADDRESS_THIS, AmountSource, DecodedSwaps, HopPrices, MSG_SENDER, Recipient, Route, Swap,
    SwapLeg, V3Hop, V3PathView, V3Route, abi,
};
use crate::router::{SwapKind, path_at};

/// SwapRouter `exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))`
pub const EXACT_INPUT_SINGLE: [u8; 4] = [0x41, 0x4b, 0xf3, 0x89];
/// SwapRouter `exactInput((bytes,address,uint256,uint256,uint256))`
pub const EXACT_INPUT: [u8; 4] = [0xc0, 0x4b, 0x8d, 0x59];
/// SwapRouter `exactOutputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))`
pub const EXACT_OUTPUT_SINGLE: [u8; 4] = [0xdb, 0x3e, 0x21, 0x98];
/// SwapRouter `exactOutput((bytes,address,uint256,uint256,uint256))`
pub const EXACT_OUTPUT: [u8; 4] = [0xf2, 0x8c, 0x04, 0x98];
/// Both routers: `multicall(bytes[])`
pub const MULTICALL: [u8; 4] = [0xac, 0x96, 0x50, 0xd8];

/// SwapRouter02 `exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))`
pub const EXACT_INPUT_SINGLE_02: [u8; 4] = [0x04, 0xe4, 0x5a, 0xaf];
/// SwapRouter02 `exactInput((bytes,address,uint256,uint256))`
pub const EXACT_INPUT_02: [u8; 4] = [0xb8, 0x58, 0x18, 0x3f];
/// SwapRouter02 `exactOutputSingle((address,address,uint24,address,uint256,uint256,uint160))`
pub const EXACT_OUTPUT_SINGLE_02: [u8; 4] = [0x50, 0x23, 0xb4, 0xdf];
/// SwapRouter02 `exactOutput((bytes,address,uint256,uint256))`
pub const EXACT_OUTPUT_02: [u8; 4] = [0x09, 0xb8, 0x13, 0x46];
/// SwapRouter02 `swapExactTokensForTokens(uint256,uint256,address[],address)`
pub const SWAP_EXACT_TOKENS_FOR_TOKENS_02: [u8; 4] = [0x47, 0x2b, 0x43, 0xf3];
/// SwapRouter02 `swapTokensForExactTokens(uint256,uint256,address[],address)`
pub const SWAP_TOKENS_FOR_EXACT_TOKENS_02: [u8; 4] = [0x42, 0x71, 0x2a, 0x67];
/// SwapRouter02 `multicall(uint256,bytes[])`: the first argument is a deadline.
pub const MULTICALL_DEADLINE: [u8; 4] = [0x5a, 0xe4, 0x01, 0xdc];
/// SwapRouter02 `multicall(bytes32,bytes[])`: the first argument is the previous block's hash.
pub const MULTICALL_BLOCKHASH: [u8; 4] = [0x1f, 0x04, 0x64, 0xd1];

/// What a known non-swap call inside a multicall does, as far as the engine cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelperEffect {
    /// Moves no pool and changes no fact the engine tracks (permits, sweeps, refunds, pulls,
    /// approvals, oracle checks).
    None,
    /// Unwraps the router's WETH; the first argument is the minimum.
    UnwrapWeth,
    /// Wraps ETH into WETH; the first argument is the amount.
    WrapEth,
    /// Adds liquidity through the position manager.
    Liquidity,
}

/// The known non-swap functions of both routers: signature, selector, effect.
pub const HELPERS: [(&str, [u8; 4], HelperEffect); 24] = [
    (
        "unwrapWETH9(uint256,address)",
        [0x49, 0x40, 0x4b, 0x7c],
        HelperEffect::UnwrapWeth,
    ),
    (
        "unwrapWETH9(uint256)",
        [0x49, 0x61, 0x69, 0x97],
        HelperEffect::UnwrapWeth,
    ),
    (
        "unwrapWETH9WithFee(uint256,address,uint256,address)",
        [0x9b, 0x2c, 0x0a, 0x37],
        HelperEffect::UnwrapWeth,
    ),
    (
        "unwrapWETH9WithFee(uint256,uint256,address)",
        [0xd4, 0xef, 0x38, 0xde],
        HelperEffect::UnwrapWeth,
    ),
    (
        "wrapETH(uint256)",
        [0x1c, 0x58, 0xdb, 0x4f],
        HelperEffect::WrapEth,
    ),
    ("refundETH()", [0x12, 0x21, 0x0e, 0x8a], HelperEffect::None),
    (
        "sweepToken(address,uint256,address)",
        [0xdf, 0x2a, 0xb5, 0xbb],
        HelperEffect::None,
    ),
    (
        "sweepToken(address,uint256)",
        [0xe9, 0x0a, 0x18, 0x2f],
        HelperEffect::None,
    ),
    (
        "sweepTokenWithFee(address,uint256,address,uint256,address)",
        [0xe0, 0xe1, 0x89, 0xa0],
        HelperEffect::None,
    ),
    (
        "sweepTokenWithFee(address,uint256,uint256,address)",
        [0x30, 0x68, 0xc5, 0x54],
        HelperEffect::None,
    ),
    (
        "pull(address,uint256)",
        [0xf2, 0xd5, 0xd5, 0x6b],
        HelperEffect::None,
    ),
    (
        "selfPermit(address,uint256,uint256,uint8,bytes32,bytes32)",
        [0xf3, 0x99, 0x5c, 0x67],
        HelperEffect::None,
    ),
    (
        "selfPermitIfNecessary(address,uint256,uint256,uint8,bytes32,bytes32)",
        [0xc2, 0xe3, 0x14, 0x0a],
        HelperEffect::None,
    ),
    (
        "selfPermitAllowed(address,uint256,uint256,uint8,bytes32,bytes32)",
        [0x46, 0x59, 0xa4, 0x94],
        HelperEffect::None,
    ),
    (
        "selfPermitAllowedIfNecessary(address,uint256,uint256,uint8,bytes32,bytes32)",
        [0xa4, 0xa7, 0x8f, 0x0c],
        HelperEffect::None,
    ),
    (
        "approveMax(address)",
        [0x57, 0x1a, 0xc8, 0xb0],
        HelperEffect::None,
    ),
    (
        "approveMaxMinusOne(address)",
        [0xca, 0xb3, 0x72, 0xce],
        HelperEffect::None,
    ),
    (
        "approveZeroThenMax(address)",
        [0x63, 0x9d, 0x71, 0xa9],
        HelperEffect::None,
    ),
    (
        "approveZeroThenMaxMinusOne(address)",
        [0xab, 0x3f, 0xdd, 0x50],
        HelperEffect::None,
    ),
    (
        "checkOracleSlippage(bytes,uint24,uint32)",
        [0xf2, 0x58, 0x01, 0xa7],
        HelperEffect::None,
    ),
    (
        "checkOracleSlippage(bytes[],uint128[],uint24,uint32)",
        [0xef, 0xde, 0xed, 0x8e],
        HelperEffect::None,
    ),
    (
        "callPositionManager(bytes)",
        [0xb3, 0xa2, 0xaf, 0x13],
        HelperEffect::Liquidity,
    ),
    (
        "mint((address,address,uint24,int24,int24,uint256,uint256,address))",
        [0x11, 0xed, 0x56, 0xc9],
        HelperEffect::Liquidity,
    ),
    (
        "increaseLiquidity((address,address,uint256,uint256,uint256))",
        [0xf1, 0x00, 0xb2, 0x05],
        HelperEffect::Liquidity,
    ),
];

/// Which router's rules a swap call follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Router {
    /// The V3 `SwapRouter`: deadline in every struct, `address(0)` recipient is the router.
    V3,
    /// `SwapRouter02`: no deadline in the structs, sentinels `address(1)`, `address(2)`, `0`.
    V02,
}

impl Router {
    /// Words between the recipient and the amounts: the V3 SwapRouter's structs carry a
    /// deadline there, SwapRouter02's do not.
    const fn deadline_words(self) -> usize {
        match self {
            Router::V3 => 1,
            Router::V02 => 0,
        }
    }

    fn recipient(self, to: Address) -> Recipient {
        match self {
            Router::V3 if to == Address::ZERO => Recipient::Router,
            Router::V02 if to == MSG_SENDER => Recipient::Sender,
            Router::V02 if to == ADDRESS_THIS => Recipient::Router,
            _ => Recipient::Account(to),
        }
    }

    fn amount_source(self, kind: SwapKind, amount: U256) -> AmountSource {
        match (self, kind) {
            (Router::V02, SwapKind::ExactIn) if amount.is_zero() => AmountSource::ContractBalance,
            _ => AmountSource::Given,
        }
    }
}

/// How deep multicalls may nest (the routers' `multicall` delegate-calls the router itself, so a
/// multicall inside a multicall runs). Deeper ones are counted as unknown.
pub const MAX_MULTICALL_DEPTH: usize = 2;

/// Decodes a call to the V3 `SwapRouter` or to `SwapRouter02`. `value` is the transaction's ETH
/// value.
///
/// Errors: an unknown selector, a lone helper call, or a multicall with no swap is `NotSwap`
/// (`UnknownCommand` if the multicall held unknown calls); broken offsets, lengths or words are
/// `MalformedCalldata`; a path past [`crate::route::MAX_V3_HOPS`] hops (or
/// [`crate::router::MAX_PATH`] tokens) is `PathTooLong`; more than [`crate::route::MAX_LEGS`]
/// swaps is `TooManyLegs`.
pub fn decode_swap_router(calldata: &[u8], value: U256) -> Result<DecodedSwaps<'_>, SkipReason> {
    let (selector, args) = calldata
        .split_first_chunk::<4>()
        .ok_or(SkipReason::NotSwap)?;
    let mut out = DecodedSwaps::new(value);
    // A lone helper (or anything else) at the top level is simply not a swap.
    if multicall(*selector, args, 0, &mut out)? || swap_call(*selector, args, &mut out)? {
        return out.finish();
    }
    Err(SkipReason::NotSwap)
}

/// Decodes one call found inside a multicall at nesting `depth`.
fn inner_call<'a>(
    selector: [u8; 4],
    args: &'a [u8],
    depth: usize,
    out: &mut DecodedSwaps<'a>,
) -> Result<(), SkipReason> {
    if multicall(selector, args, depth, out)? || swap_call(selector, args, out)? {
        return Ok(());
    }
    match HELPERS.iter().find(|(_, s, _)| *s == selector) {
        Some((_, _, effect)) => helper(*effect, args, out),
        None => {
            out.count_unknown();
            Ok(())
        }
    }
}

/// If `selector` is one of the three multicalls, walks it (its calls run at `depth + 1`) and
/// returns true. Past [`MAX_MULTICALL_DEPTH`] the multicall is counted as unknown instead.
fn multicall<'a>(
    selector: [u8; 4],
    args: &'a [u8],
    depth: usize,
    out: &mut DecodedSwaps<'a>,
) -> Result<bool, SkipReason> {
    let calls_at = match selector {
        MULTICALL => 0,
        MULTICALL_DEADLINE | MULTICALL_BLOCKHASH => 1,
        _ => return Ok(false),
    };
    if depth >= MAX_MULTICALL_DEPTH {
        out.count_unknown();
        return Ok(true);
    }
    match selector {
        MULTICALL_DEADLINE => out.note_deadline(abi::uint(args, 0)?),
        MULTICALL_BLOCKHASH => out.previous_blockhash = Some(abi::b256(args, 0)?),
        _ => {}
    }
    calls(args, calls_at, depth + 1, out)?;
    Ok(true)
}

/// Walks the `bytes[]` of calls at head word `index`; they run at nesting `depth`.
fn calls<'a>(
    args: &'a [u8],
    index: usize,
    depth: usize,
    out: &mut DecodedSwaps<'a>,
) -> Result<(), SkipReason> {
    let calls = abi::bytes_array(args, index)?;
    for i in 0..calls.len() {
        match calls.get(i)?.split_first_chunk::<4>() {
            Some((selector, call_args)) => inner_call(*selector, call_args, depth, out)?,
            None => out.count_unknown(),
        }
    }
    Ok(())
}

fn helper(effect: HelperEffect, args: &[u8], out: &mut DecodedSwaps<'_>) -> Result<(), SkipReason> {
    match effect {
        HelperEffect::None => out.count_helper(),
        HelperEffect::UnwrapWeth => {
            out.unwrap_weth_min = Some(abi::uint(args, 0)?);
            out.count_helper();
        }
        HelperEffect::WrapEth => {
            out.wrap_eth = Some(abi::uint(args, 0)?);
            out.count_helper();
        }
        HelperEffect::Liquidity => out.count_liquidity_op(),
    }
    Ok(())
}

/// Decodes one swap call into `out`. Returns false (and leaves `out` alone) when `selector` is
/// not a swap.
fn swap_call<'a>(
    selector: [u8; 4],
    args: &'a [u8],
    out: &mut DecodedSwaps<'a>,
) -> Result<bool, SkipReason> {
    use SwapKind::{ExactIn, ExactOut};
    let swap = match selector {
        EXACT_INPUT_SINGLE => v3_single(args, ExactIn, Router::V3, out)?,
        EXACT_OUTPUT_SINGLE => v3_single(args, ExactOut, Router::V3, out)?,
        EXACT_INPUT => v3_path(args, ExactIn, Router::V3, out)?,
        EXACT_OUTPUT => v3_path(args, ExactOut, Router::V3, out)?,
        EXACT_INPUT_SINGLE_02 => v3_single(args, ExactIn, Router::V02, out)?,
        EXACT_OUTPUT_SINGLE_02 => v3_single(args, ExactOut, Router::V02, out)?,
        EXACT_INPUT_02 => v3_path(args, ExactIn, Router::V02, out)?,
        EXACT_OUTPUT_02 => v3_path(args, ExactOut, Router::V02, out)?,
        SWAP_EXACT_TOKENS_FOR_TOKENS_02 => v2(args, ExactIn)?,
        SWAP_TOKENS_FOR_EXACT_TOKENS_02 => v2(args, ExactOut)?,
        _ => return Ok(false),
    };
    out.push(SwapLeg::Swap(swap))?;
    Ok(true)
}

/// The swap both routers build from (amount, limit, recipient) once the route is known.
fn swap<'a>(
    route: Route<'a>,
    kind: SwapKind,
    router: Router,
    amounts: [U256; 2],
    to: Address,
) -> Swap<'a> {
    let [amount, limit] = amounts;
    let amount_source = router.amount_source(kind, amount);
    Swap {
        route,
        kind,
        amount,
        limit,
        amount_source,
        recipient: router.recipient(to),
        payer_is_user: amount_source == AmountSource::Given,
        sqrt_price_limit_x96: U256::ZERO,
        allow_revert: false,
        min_hop_prices: HopPrices::default(),
    }
}

/// `exact{Input,Output}Single`: a static struct laid out in the head as `tokenIn, tokenOut, fee,
/// recipient, [deadline,] amount, limit, sqrtPriceLimitX96`.
fn v3_single<'a>(
    args: &'a [u8],
    kind: SwapKind,
    router: Router,
    out: &mut DecodedSwaps<'a>,
) -> Result<Swap<'a>, SkipReason> {
    let hop = V3Hop {
        token_in: abi::address(args, 0)?,
        token_out: abi::address(args, 1)?,
        fee: abi::uint24(args, 2)?,
    };
    let to = abi::address(args, 3)?;
    let at = 4 + router.deadline_words();
    let amounts = [abi::uint(args, at)?, abi::uint(args, at + 1)?];
    let sqrt_price_limit_x96 = abi::uint160(args, at + 2)?;
    if router == Router::V3 {
        out.note_deadline(abi::uint(args, 4)?);
    }
    let route = Route::V3(V3Route::Single(hop));
    Ok(Swap {
        sqrt_price_limit_x96,
        ..swap(route, kind, router, amounts, to)
    })
}

/// `exact{Input,Output}`: a dynamic struct `(bytes path, recipient, [deadline,] amount, limit)`
/// behind one offset.
fn v3_path<'a>(
    args: &'a [u8],
    kind: SwapKind,
    router: Router,
    out: &mut DecodedSwaps<'a>,
) -> Result<Swap<'a>, SkipReason> {
    let params = abi::tail(args, 0)?;
    let path = V3PathView::new(abi::bytes(params, 0)?)?;
    let to = abi::address(params, 1)?;
    let at = 2 + router.deadline_words();
    let amounts = [abi::uint(params, at)?, abi::uint(params, at + 1)?];
    if router == Router::V3 {
        out.note_deadline(abi::uint(params, 2)?);
    }
    let route = Route::V3(V3Route::Path {
        path,
        reversed: kind == SwapKind::ExactOut,
    });
    Ok(swap(route, kind, router, amounts, to))
}

/// SwapRouter02's V2 functions: `(amount, limit, address[] path, to)`. For both kinds the first
/// word is the exact side and the second its bound.
fn v2(args: &[u8], kind: SwapKind) -> Result<Swap<'_>, SkipReason> {
    let amounts = [abi::uint(args, 0)?, abi::uint(args, 1)?];
    let path = path_at(args, abi::offset(args, 2)?)?;
    let to = abi::address(args, 3)?;
    Ok(swap(Route::V2(path), kind, Router::V02, amounts, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_types::keccak256;

    #[test]
    fn selectors_are_keccak_of_signatures() {
        let table = [
            (
                "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))",
                EXACT_INPUT_SINGLE,
            ),
            (
                "exactInput((bytes,address,uint256,uint256,uint256))",
                EXACT_INPUT,
            ),
            (
                "exactOutputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))",
                EXACT_OUTPUT_SINGLE,
            ),
            (
                "exactOutput((bytes,address,uint256,uint256,uint256))",
                EXACT_OUTPUT,
            ),
            ("multicall(bytes[])", MULTICALL),
            (
                "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
                EXACT_INPUT_SINGLE_02,
            ),
            (
                "exactInput((bytes,address,uint256,uint256))",
                EXACT_INPUT_02,
            ),
            (
                "exactOutputSingle((address,address,uint24,address,uint256,uint256,uint160))",
                EXACT_OUTPUT_SINGLE_02,
            ),
            (
                "exactOutput((bytes,address,uint256,uint256))",
                EXACT_OUTPUT_02,
            ),
            (
                "swapExactTokensForTokens(uint256,uint256,address[],address)",
                SWAP_EXACT_TOKENS_FOR_TOKENS_02,
            ),
            (
                "swapTokensForExactTokens(uint256,uint256,address[],address)",
                SWAP_TOKENS_FOR_EXACT_TOKENS_02,
            ),
            ("multicall(uint256,bytes[])", MULTICALL_DEADLINE),
            ("multicall(bytes32,bytes[])", MULTICALL_BLOCKHASH),
        ];
        for (signature, selector) in table {
            assert_eq!(keccak256(signature)[..4], selector, "{signature}");
        }
        for (signature, selector, _) in HELPERS {
            assert_eq!(keccak256(signature)[..4], selector, "{signature}");
        }
        let mut all: Vec<[u8; 4]> = table.iter().map(|(_, s)| *s).collect();
        all.extend(HELPERS.iter().map(|(_, s, _)| *s));
        let total = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), total, "selectors are distinct");
    }

    #[test]
    fn short_or_unknown_calldata_is_not_a_swap() {
        assert_eq!(
            decode_swap_router(&[], U256::ZERO),
            Err(SkipReason::NotSwap)
        );
        assert_eq!(
            decode_swap_router(&EXACT_INPUT[..3], U256::ZERO),
            Err(SkipReason::NotSwap)
        );
        // refundETH() alone is a helper, not a swap.
        assert_eq!(
            decode_swap_router(&[0x12, 0x21, 0x0e, 0x8a], U256::ZERO),
            Err(SkipReason::NotSwap)
        );
        // A known swap selector with no arguments.
        assert_eq!(
            decode_swap_router(&EXACT_INPUT_SINGLE, U256::ZERO),
            Err(SkipReason::MalformedCalldata)
        );
    }
}
