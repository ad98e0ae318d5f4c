//! Allocation-free decoding of Uniswap Universal Router `execute` calldata.
//!
//! `execute(bytes commands, bytes[] inputs[, uint256 deadline])` runs one command per byte of
//! `commands`, each with the ABI-encoded input at the same index. A command byte is
//! `allow_revert (0x80) | command type`, where the type's width depends on the router version
//! ([`UrVersion::command_mask`]). V2 and V3 swaps become legs, `WRAP_ETH` / `UNWRAP_WETH` become
//! transaction facts, `V4_SWAP` becomes a raw [`SwapLeg::V4`] the engine counts as skipped,
//! `EXECUTE_SUB_PLAN` is walked (to [`MAX_SUB_PLAN_DEPTH`]), the other known commands are passed
//! over and counted, and unknown ones are counted. A sub-plan run with the allow-revert flag and
//! holding only swaps becomes a [`RevertSpan`](crate::route::RevertSpan): the router calls
//! itself for it and goes on if that call fails, which [`crate::victim`] replays.
//!
//! Checked against `Uniswap/universal-router` (`contracts/libraries/Commands.sol`,
//! `contracts/base/Dispatcher.sol`, `contracts/UniversalRouter.sol`,
//! `contracts/libraries/Constants.sol`, `modules/uniswap/v{2,3}/*SwapRouter.sol`,
//! `modules/Payments.sol`, `deploy-addresses/{mainnet,sepolia}.json`) at tags `v1.2.2`
//! (`fdc4ab80482252c25c6c31398694a1dd4776e458`), `2.0.0`
//! (`3663f6db6e2fe121753cd2d899699c2dc75dca86`), `2.1.1`
//! (`999d561c3ad58fb5cab91b602911f3c75591a9c7`), `2.2.0`
//! (`020e1b786ad9a6bad924874752167934734ad1e1`) and `main` at
//! `fb25ff09c71dcfc13665e6c65788db737f29e0d4`. What differs between them:
//!
//! - The command mask: `0x1f` in v1.x (v1.2 is `UniversalRouterV1_2_V2Support`, mainnet and
//!   Sepolia `0x3fC91A3a…7FAD`), `0x3f` in 2.0 (mainnet `0x66a9893c…a8af`, Sepolia
//!   `0x3a9d48ab…f98b`), `0x7f` from 2.1 (mainnet `0x4C82D1fB…2cCA`, Sepolia `0x7DfD4F31…1468`).
//! - Commands `0x10..=0x1d` are NFT market commands in v1.x and `V4_SWAP`, position-manager and
//!   V4 pool commands from 2.0. `0x0e` is `BALANCE_CHECK_ERC20` from 2.0; `0x07`
//!   `PAY_PORTION_FULL_PRECISION` and `0x40` `ACROSS_V4_DEPOSIT_V3` from 2.1; `0x0f`
//!   `UNWRAP_WETH_EXACT` only on `main` (an invalid command, so a revert, in 2.1.1 and 2.2.0).
//!   `0x21` `EXECUTE_SUB_PLAN` from 2.0.
//! - The swap inputs are `abi.encode(address recipient, uint256 amount, uint256 limit,
//!   bytes path | address[] path, bool payerIsUser)` in every version; 2.1 appends a sixth field,
//!   `uint256[] minHopPriceX36` (`BytesLib.toUint256Array(5)` in `Dispatcher.sol`, the same in
//!   2.1.1 and 2.2.0). For [`UrVersion::V2_1`] this decoder reads it into
//!   [`Swap::min_hop_prices`](crate::route::Swap::min_hop_prices), a view over the calldata
//!   (no copy): its offset, length and every word must lie inside the input, so a 2.1 swap input
//!   without the sixth field (which the 2.1 router reads past, and so reverts on or misreads) is
//!   `MalformedCalldata`. The array is kept as encoded, one floor per hop in trade order; its
//!   length against the path, and the floors themselves, are the router's checks at execution,
//!   which [`crate::victim`] replays. v1.x and 2.0 inputs have five fields; anything after them
//!   is ignored, as those routers do, and their legs carry no floors.
//! - v1.x reads inputs with `abi.decode` (strict); 2.x with `calldataload` (any non-zero `bool`
//!   is true, dirty address bits are not rejected). This decoder is strict for all versions:
//!   a dirty word is `MalformedCalldata`, a skip, never a wrong leg.

use kestrel_types::{Address, SkipReason, U256};

use crate::route::{
    ADDRESS_THIS, AmountSource, CONTRACT_BALANCE, DecodedSwaps, HopPrices, MSG_SENDER, Recipient,
    Route, Swap, SwapLeg, V3PathView, V3Route, abi,
};
use crate::router::{SwapKind, path_at};

/// `execute(bytes,bytes[],uint256)`
pub const EXECUTE_WITH_DEADLINE: [u8; 4] = [0x35, 0x93, 0x56, 0x4c];
/// `execute(bytes,bytes[])`
pub const EXECUTE: [u8; 4] = [0x24, 0x85, 0x6b, 0xc3];

/// The allow-revert flag of a command byte.
pub const FLAG_ALLOW_REVERT: u8 = 0x80;

/// How deep `EXECUTE_SUB_PLAN` may nest before its commands are counted as unknown.
pub const MAX_SUB_PLAN_DEPTH: usize = 2;

/// Command type ids (`Commands.sol`).
pub mod command {
    /// `(address recipient, uint256 amountIn, uint256 amountOutMin, bytes path, bool payerIsUser)`,
    /// plus `uint256[] minHopPriceX36` from 2.1 (the same for the other three swaps).
    pub const V3_SWAP_EXACT_IN: u8 = 0x00;
    /// `(address recipient, uint256 amountOut, uint256 amountInMax, bytes path, bool payerIsUser)`
    pub const V3_SWAP_EXACT_OUT: u8 = 0x01;
    /// `(address token, address recipient, uint160 amount)`
    pub const PERMIT2_TRANSFER_FROM: u8 = 0x02;
    /// `(PermitBatch permitBatch, bytes signature)`
    pub const PERMIT2_PERMIT_BATCH: u8 = 0x03;
    /// `(address token, address recipient, uint256 amountMin)`
    pub const SWEEP: u8 = 0x04;
    /// `(address token, address recipient, uint256 value)`
    pub const TRANSFER: u8 = 0x05;
    /// `(address token, address recipient, uint256 bips)`
    pub const PAY_PORTION: u8 = 0x06;
    /// 2.1+: `(address token, address recipient, uint256 portion)`
    pub const PAY_PORTION_FULL_PRECISION: u8 = 0x07;
    /// `(address recipient, uint256 amountIn, uint256 amountOutMin, address[] path, bool payerIsUser)`
    pub const V2_SWAP_EXACT_IN: u8 = 0x08;
    /// `(address recipient, uint256 amountOut, uint256 amountInMax, address[] path, bool payerIsUser)`
    pub const V2_SWAP_EXACT_OUT: u8 = 0x09;
    /// `(PermitSingle permitSingle, bytes signature)`
    pub const PERMIT2_PERMIT: u8 = 0x0a;
    /// `(address recipient, uint256 amount)`; `amount` may be `CONTRACT_BALANCE`.
    pub const WRAP_ETH: u8 = 0x0b;
    /// `(address recipient, uint256 amountMin)`
    pub const UNWRAP_WETH: u8 = 0x0c;
    /// `(AllowanceTransferDetails[] batchDetails)`
    pub const PERMIT2_TRANSFER_FROM_BATCH: u8 = 0x0d;
    /// 2.0+: `(address owner, address token, uint256 minBalance)`
    pub const BALANCE_CHECK_ERC20: u8 = 0x0e;
    /// `main` only: `(address recipient, uint256 amount)`
    pub const UNWRAP_WETH_EXACT: u8 = 0x0f;
    /// 2.0+: `(bytes actions, bytes[] params)` for the V4 router.
    pub const V4_SWAP: u8 = 0x10;
    /// 2.0+: a `permit` call forwarded to the V3 position manager.
    pub const V3_POSITION_MANAGER_PERMIT: u8 = 0x11;
    /// 2.0+: a liquidity call forwarded to the V3 position manager.
    pub const V3_POSITION_MANAGER_CALL: u8 = 0x12;
    /// 2.0+: `(PoolKey poolKey, uint160 sqrtPriceX96)`
    pub const V4_INITIALIZE_POOL: u8 = 0x13;
    /// 2.0+: a liquidity call forwarded to the V4 position manager.
    pub const V4_POSITION_MANAGER_CALL: u8 = 0x14;
    /// 2.0+: `(bytes commands, bytes[] inputs)`, run as a nested `execute`.
    pub const EXECUTE_SUB_PLAN: u8 = 0x21;
    /// 2.1+: an Across bridge deposit.
    pub const ACROSS_V4_DEPOSIT_V3: u8 = 0x40;
    /// v1.x: first NFT-market command (`SEAPORT`).
    pub const V1_NFT_FIRST: u8 = 0x10;
    /// v1.x: last NFT command (`SWEEP_ERC1155`).
    pub const V1_NFT_LAST: u8 = 0x1d;
}

/// Which Universal Router the transaction calls; the engine knows it from the `to` address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrVersion {
    /// v1.0 to v1.2 (`UniversalRouterV1`, `UniversalRouterV1_2_V2Support`).
    V1,
    /// 2.0 (`UniversalRouterV2`), the first with V4.
    V2,
    /// 2.1 and later (`UniversalRouterV2_1_1`).
    V2_1,
}

impl UrVersion {
    /// The bits of a command byte that select the command type.
    pub const fn command_mask(self) -> u8 {
        match self {
            UrVersion::V1 => 0x1f,
            UrVersion::V2 => 0x3f,
            UrVersion::V2_1 => 0x7f,
        }
    }
}

/// What a command type does, for this decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Command {
    V3Swap(SwapKind),
    V2Swap(SwapKind),
    WrapEth,
    UnwrapWeth,
    V4Swap,
    SubPlan,
    Helper,
    Liquidity,
    Unknown,
}

fn command_of(version: UrVersion, id: u8) -> Command {
    use command::*;
    let v2 = matches!(version, UrVersion::V2 | UrVersion::V2_1);
    let v2_1 = version == UrVersion::V2_1;
    match id {
        V3_SWAP_EXACT_IN => Command::V3Swap(SwapKind::ExactIn),
        V3_SWAP_EXACT_OUT => Command::V3Swap(SwapKind::ExactOut),
        V2_SWAP_EXACT_IN => Command::V2Swap(SwapKind::ExactIn),
        V2_SWAP_EXACT_OUT => Command::V2Swap(SwapKind::ExactOut),
        WRAP_ETH => Command::WrapEth,
        UNWRAP_WETH => Command::UnwrapWeth,
        UNWRAP_WETH_EXACT if v2_1 => Command::UnwrapWeth,
        PERMIT2_TRANSFER_FROM
        | PERMIT2_PERMIT_BATCH
        | SWEEP
        | TRANSFER
        | PAY_PORTION
        | PERMIT2_PERMIT
        | PERMIT2_TRANSFER_FROM_BATCH => Command::Helper,
        BALANCE_CHECK_ERC20 if v2 => Command::Helper,
        PAY_PORTION_FULL_PRECISION | ACROSS_V4_DEPOSIT_V3 if v2_1 => Command::Helper,
        V1_NFT_FIRST..=V1_NFT_LAST if !v2 => Command::Helper,
        V4_SWAP if v2 => Command::V4Swap,
        V3_POSITION_MANAGER_PERMIT | V4_INITIALIZE_POOL if v2 => Command::Helper,
        V3_POSITION_MANAGER_CALL | V4_POSITION_MANAGER_CALL if v2 => Command::Liquidity,
        EXECUTE_SUB_PLAN if v2 => Command::SubPlan,
        _ => Command::Unknown,
    }
}

/// Decodes a Universal Router `execute` call. `value` is the transaction's ETH value and
/// `version` the router's (from the address it is sent to).
///
/// Errors: another selector, or a plan with no swap, is `NotSwap` (`UnknownCommand` when the
/// plan held unknown commands); a `commands` / `inputs` length mismatch or a broken input is
/// `MalformedCalldata`; an over-long path is `PathTooLong`; more than
/// [`crate::route::MAX_LEGS`] legs is `TooManyLegs`.
pub fn decode_universal(
    calldata: &[u8],
    value: U256,
    version: UrVersion,
) -> Result<DecodedSwaps<'_>, SkipReason> {
    let (selector, args) = calldata
        .split_first_chunk::<4>()
        .ok_or(SkipReason::NotSwap)?;
    let mut out = DecodedSwaps::new(value);
    match *selector {
        EXECUTE_WITH_DEADLINE => out.note_deadline(abi::uint(args, 2)?),
        EXECUTE => {}
        _ => return Err(SkipReason::NotSwap),
    }
    let plan = Plan {
        version,
        depth: 0,
        allow_revert: false,
    };
    plan.run(abi::bytes(args, 0)?, abi::bytes_array(args, 1)?, &mut out)?;
    out.finish()
}

/// The context commands run in.
#[derive(Clone, Copy, Debug)]
struct Plan {
    version: UrVersion,
    /// Sub-plan nesting: 0 for the top-level plan.
    depth: usize,
    /// The sub-plan holding these commands may revert without reverting the transaction.
    allow_revert: bool,
}

impl Plan {
    /// Decodes the plan's commands into `out`. `Ok(true)` when every command was a V2 or V3
    /// swap, or a sub-plan holding only those.
    fn run<'a>(
        self,
        commands: &'a [u8],
        inputs: abi::BytesArray<'a>,
        out: &mut DecodedSwaps<'a>,
    ) -> Result<bool, SkipReason> {
        // `execute` reverts with LengthMismatch otherwise.
        if commands.len() != inputs.len() {
            return Err(SkipReason::MalformedCalldata);
        }
        let mut swaps_only = true;
        for (i, &byte) in commands.iter().enumerate() {
            swaps_only &= self.command(byte, inputs.get(i)?, out)?;
        }
        Ok(swaps_only)
    }

    /// Decodes one command into `out`; `Ok(true)` for a swap or a sub-plan of swaps only.
    fn command<'a>(
        self,
        byte: u8,
        input: &'a [u8],
        out: &mut DecodedSwaps<'a>,
    ) -> Result<bool, SkipReason> {
        let own_flag = byte & FLAG_ALLOW_REVERT != 0;
        let allow_revert = self.allow_revert || own_flag;
        match command_of(self.version, byte & self.version.command_mask()) {
            Command::V3Swap(kind) => {
                let swap = v3_swap(input, kind, self.version, allow_revert)?;
                out.push(SwapLeg::Swap(swap))?;
                Ok(true)
            }
            Command::V2Swap(kind) => {
                let swap = v2_swap(input, kind, self.version, allow_revert)?;
                out.push(SwapLeg::Swap(swap))?;
                Ok(true)
            }
            Command::V4Swap => {
                out.push(SwapLeg::V4 {
                    input,
                    allow_revert,
                })?;
                Ok(false)
            }
            Command::WrapEth => {
                out.wrap_eth = Some(abi::uint(input, 1)?);
                out.count_helper();
                Ok(false)
            }
            Command::UnwrapWeth => {
                out.unwrap_weth_min = Some(abi::uint(input, 1)?);
                out.count_helper();
                Ok(false)
            }
            Command::SubPlan if self.depth < MAX_SUB_PLAN_DEPTH => {
                let inner = Plan {
                    version: self.version,
                    depth: self.depth + 1,
                    allow_revert,
                };
                let first = out.len();
                let swaps_only =
                    inner.run(abi::bytes(input, 0)?, abi::bytes_array(input, 1)?, out)?;
                // The router calls itself for the sub-plan and, with the flag, goes on when
                // that call fails: its legs revert together and alone.
                if own_flag && swaps_only {
                    out.isolate(first)?;
                }
                Ok(swaps_only)
            }
            Command::Helper => {
                out.count_helper();
                Ok(false)
            }
            Command::Liquidity => {
                out.count_liquidity_op();
                Ok(false)
            }
            Command::SubPlan | Command::Unknown => {
                out.count_unknown();
                Ok(false)
            }
        }
    }
}

fn recipient(to: Address) -> Recipient {
    match to {
        MSG_SENDER => Recipient::Sender,
        ADDRESS_THIS => Recipient::Router,
        _ => Recipient::Account(to),
    }
}

/// Head word of the 2.1+ `uint256[] minHopPriceX36` in the four swap commands' inputs.
const HOP_PRICES_ARG: usize = 5;

/// The per-hop price floors of a swap command: the sixth argument from 2.1 (its offset, length
/// and words must all lie inside the input), nothing before (v1.x and 2.0 have five arguments
/// and ignore anything after them).
fn hop_prices(input: &[u8], version: UrVersion) -> Result<HopPrices<'_>, SkipReason> {
    match version {
        UrVersion::V1 | UrVersion::V2 => Ok(HopPrices::default()),
        UrVersion::V2_1 => HopPrices::new(abi::uint_array(input, HOP_PRICES_ARG)?),
    }
}

/// The head shared by the four swap commands, with the path left to the caller.
fn swap_head<'a>(
    input: &'a [u8],
    route: Route<'a>,
    kind: SwapKind,
    version: UrVersion,
    allow_revert: bool,
) -> Result<Swap<'a>, SkipReason> {
    let amount = abi::uint(input, 1)?;
    let amount_source = match (kind, &route) {
        (SwapKind::ExactIn, _) if amount == CONTRACT_BALANCE => AmountSource::ContractBalance,
        (SwapKind::ExactIn, Route::V2(_)) if amount.is_zero() => AmountSource::AlreadyPaid,
        _ => AmountSource::Given,
    };
    Ok(Swap {
        route,
        kind,
        amount,
        limit: abi::uint(input, 2)?,
        amount_source,
        recipient: recipient(abi::address(input, 0)?),
        payer_is_user: abi::boolean(input, 4)?,
        sqrt_price_limit_x96: U256::ZERO,
        allow_revert,
        min_hop_prices: hop_prices(input, version)?,
    })
}

fn v3_swap(
    input: &[u8],
    kind: SwapKind,
    version: UrVersion,
    allow_revert: bool,
) -> Result<Swap<'_>, SkipReason> {
    let path = V3PathView::new(abi::bytes(input, 3)?)?;
    let route = Route::V3(V3Route::Path {
        path,
        reversed: kind == SwapKind::ExactOut,
    });
    swap_head(input, route, kind, version, allow_revert)
}

fn v2_swap(
    input: &[u8],
    kind: SwapKind,
    version: UrVersion,
    allow_revert: bool,
) -> Result<Swap<'_>, SkipReason> {
    let path = path_at(input, abi::offset(input, 3)?)?;
    swap_head(input, Route::V2(path), kind, version, allow_revert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_types::keccak256;

    #[test]
    fn selectors_are_keccak_of_signatures() {
        assert_eq!(
            keccak256("execute(bytes,bytes[],uint256)")[..4],
            EXECUTE_WITH_DEADLINE
        );
        assert_eq!(keccak256("execute(bytes,bytes[])")[..4], EXECUTE);
    }

    #[test]
    fn command_table_follows_each_version() {
        use UrVersion::{V1, V2, V2_1};
        // (id, v1, v2.0, v2.1+), read off Commands.sol and Dispatcher.sol at each tag.
        let swap_in = Command::V3Swap(SwapKind::ExactIn);
        let table = [
            (0x00, swap_in, swap_in, swap_in),
            (0x07, Command::Unknown, Command::Unknown, Command::Helper),
            (0x0e, Command::Unknown, Command::Helper, Command::Helper),
            (
                0x0f,
                Command::Unknown,
                Command::Unknown,
                Command::UnwrapWeth,
            ),
            (0x10, Command::Helper, Command::V4Swap, Command::V4Swap),
            (
                0x12,
                Command::Helper,
                Command::Liquidity,
                Command::Liquidity,
            ),
            (0x1d, Command::Helper, Command::Unknown, Command::Unknown),
            (0x1e, Command::Unknown, Command::Unknown, Command::Unknown),
            (0x21, Command::Unknown, Command::SubPlan, Command::SubPlan),
            (0x40, Command::Unknown, Command::Unknown, Command::Helper),
        ];
        for (id, v1, v2, v2_1) in table {
            assert_eq!(command_of(V1, id), v1, "v1 {id:#04x}");
            assert_eq!(command_of(V2, id), v2, "v2.0 {id:#04x}");
            assert_eq!(command_of(V2_1, id), v2_1, "v2.1 {id:#04x}");
        }
        assert_eq!(V1.command_mask(), 0x1f);
        assert_eq!(V2.command_mask(), 0x3f);
        assert_eq!(V2_1.command_mask(), 0x7f);
    }

    #[test]
    fn other_selectors_are_not_swaps() {
        for version in [UrVersion::V1, UrVersion::V2, UrVersion::V2_1] {
            assert_eq!(
                decode_universal(&[], U256::ZERO, version),
                Err(SkipReason::NotSwap)
            );
            assert_eq!(
                decode_universal(&[0xa9, 0x05, 0x9c, 0xbb, 0, 0], U256::ZERO, version),
                Err(SkipReason::NotSwap)
            );
            assert_eq!(
                decode_universal(&EXECUTE, U256::ZERO, version),
                Err(SkipReason::MalformedCalldata)
            );
        }
    }
}
