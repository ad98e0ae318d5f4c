//! Universal Router decode: plans of every command kind, for each router version, round-tripped
//! against alloy's `sol!` encoder and decoder; sub-plans; the real Sepolia block; arbitrary and
//! mutated bytes.
//!
//! The command table and each input's layout below were read off `Commands.sol` and
//! `Dispatcher.sol` at tags v1.2.2, 2.0.0 and 2.1.1 of Uniswap/universal-router, independently
//! of the decoder's own table.

use alloy_primitives::aliases::U160;
use alloy_sol_types::SolCall;
use kestrel_dex::route::{AmountSource, MAX_LEGS, Recipient};
use kestrel_dex::router::SwapKind;
use kestrel_dex::router_v3::decode_swap_router;
use kestrel_dex::universal::{UrVersion, decode_universal};
use kestrel_types::{Address, Bytes, SkipReason, U256};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

use crate::router_v3::{Leg, Model, packed_path, recipient_strategy, unpacked_path};
use crate::support::{any_address, any_u256};

mod ur {
    alloy_sol_types::sol! {
        function execute(bytes commands, bytes[] inputs, uint256 deadline);
        function execute(bytes commands, bytes[] inputs);
        // Command inputs, written as parameter lists and encoded without a selector.
        function v3Swap(address recipient, uint256 amount, uint256 limit, bytes path, bool payerIsUser);
        function v3SwapHopPrices(address recipient, uint256 amount, uint256 limit, bytes path, bool payerIsUser, uint256[] minHopPriceX36);
        function v2Swap(address recipient, uint256 amount, uint256 limit, address[] path, bool payerIsUser);
        function v2SwapHopPrices(address recipient, uint256 amount, uint256 limit, address[] path, bool payerIsUser, uint256[] minHopPriceX36);
        function wrapOrUnwrap(address recipient, uint256 amount);
        function payment(address token, address recipient, uint256 amount);
        function permit2TransferFrom(address token, address recipient, uint160 amount);
        struct PermitDetails { address token; uint160 amount; uint48 expiration; uint48 nonce; }
        struct PermitSingle { PermitDetails details; address spender; uint256 sigDeadline; }
        function permit2Permit(PermitSingle permitSingle, bytes signature);
        function actionsAndParams(bytes actions, bytes[] params);
        function subPlan(bytes commands, bytes[] inputs);
    }
}

const CONTRACT_BALANCE: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);
const VERSIONS: [UrVersion; 3] = [UrVersion::V1, UrVersion::V2, UrVersion::V2_1];

/// What a command id does in each version, as the test reads `Dispatcher.sol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    V3Swap(SwapKind),
    V2Swap(SwapKind),
    Wrap,
    Unwrap,
    V4,
    SubPlan,
    Helper,
    Liquidity,
    Unknown,
}

fn mask(version: UrVersion) -> u8 {
    match version {
        UrVersion::V1 => 0x1f,
        UrVersion::V2 => 0x3f,
        UrVersion::V2_1 => 0x7f,
    }
}

fn kind(version: UrVersion, id: u8) -> Kind {
    let v1 = version == UrVersion::V1;
    let v2_1 = version == UrVersion::V2_1;
    match id {
        0x00 => Kind::V3Swap(SwapKind::ExactIn),
        0x01 => Kind::V3Swap(SwapKind::ExactOut),
        0x08 => Kind::V2Swap(SwapKind::ExactIn),
        0x09 => Kind::V2Swap(SwapKind::ExactOut),
        0x0b => Kind::Wrap,
        0x0c => Kind::Unwrap,
        // PERMIT2_TRANSFER_FROM, PERMIT2_PERMIT_BATCH, SWEEP, TRANSFER, PAY_PORTION,
        // PERMIT2_PERMIT, PERMIT2_TRANSFER_FROM_BATCH.
        0x02..=0x06 | 0x0a | 0x0d => Kind::Helper,
        // PAY_PORTION_FULL_PRECISION (2.1).
        0x07 if v2_1 => Kind::Helper,
        // BALANCE_CHECK_ERC20 (2.0).
        0x0e if !v1 => Kind::Helper,
        // UNWRAP_WETH_EXACT (main).
        0x0f if v2_1 => Kind::Unwrap,
        // Seaport .. SWEEP_ERC1155 (v1).
        0x10..=0x1d if v1 => Kind::Helper,
        0x10 => Kind::V4,
        // V3_POSITION_MANAGER_PERMIT, V4_INITIALIZE_POOL.
        0x11 | 0x13 => Kind::Helper,
        // V3_POSITION_MANAGER_CALL, V4_POSITION_MANAGER_CALL.
        0x12 | 0x14 => Kind::Liquidity,
        0x21 if !v1 => Kind::SubPlan,
        // ACROSS_V4_DEPOSIT_V3 (2.1).
        0x40 if v2_1 => Kind::Helper,
        _ => Kind::Unknown,
    }
}

/// One command of a generated plan.
#[derive(Clone, Debug)]
enum Cmd {
    V3 {
        exact_out: bool,
        to: Address,
        amount: U256,
        limit: U256,
        tokens: Vec<Address>,
        fees: Vec<u32>,
        payer_is_user: bool,
        hop_prices: Option<Vec<U256>>,
    },
    V2 {
        exact_out: bool,
        to: Address,
        amount: U256,
        limit: U256,
        path: Vec<Address>,
        payer_is_user: bool,
        hop_prices: Option<Vec<U256>>,
    },
    /// WRAP_ETH, UNWRAP_WETH or (2.1) UNWRAP_WETH_EXACT, with `(recipient, amount)`.
    WrapOrUnwrap {
        id: u8,
        to: Address,
        amount: U256,
    },
    /// SWEEP, TRANSFER, PAY_PORTION, PAY_PORTION_FULL_PRECISION, BALANCE_CHECK_ERC20.
    Payment {
        id: u8,
        token: Address,
        to: Address,
        amount: U256,
    },
    Permit2TransferFrom {
        token: Address,
        to: Address,
        amount: [u8; 20],
    },
    Permit2Permit {
        token: Address,
        spender: Address,
        signature: Vec<u8>,
    },
    V4 {
        actions: Vec<u8>,
        params: Vec<Vec<u8>>,
    },
    /// Any other command id, with raw input bytes.
    Raw {
        id: u8,
        input: Vec<u8>,
    },
    SubPlan(Vec<(u8, Cmd)>),
}

impl Cmd {
    fn is_helper(&self) -> bool {
        matches!(
            self,
            Cmd::Payment { .. } | Cmd::Permit2TransferFrom { .. } | Cmd::Permit2Permit { .. }
        )
    }

    fn id(&self) -> u8 {
        match self {
            Cmd::V3 { exact_out, .. } => u8::from(*exact_out),
            Cmd::V2 { exact_out, .. } => 0x08 | u8::from(*exact_out),
            Cmd::WrapOrUnwrap { id, .. } | Cmd::Payment { id, .. } | Cmd::Raw { id, .. } => *id,
            Cmd::Permit2TransferFrom { .. } => 0x02,
            Cmd::Permit2Permit { .. } => 0x0a,
            Cmd::V4 { .. } => 0x10,
            Cmd::SubPlan(_) => 0x21,
        }
    }

    fn input(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.clone() {
            Cmd::V3 {
                exact_out,
                to,
                amount,
                limit,
                tokens,
                fees,
                payer_is_user,
                hop_prices,
            } => {
                let path = Bytes::from(packed_path(&tokens, &fees, exact_out));
                match hop_prices {
                    None => ur::v3SwapCall {
                        recipient: to,
                        amount,
                        limit,
                        path,
                        payerIsUser: payer_is_user,
                    }
                    .abi_encode_raw(&mut out),
                    Some(prices) => ur::v3SwapHopPricesCall {
                        recipient: to,
                        amount,
                        limit,
                        path,
                        payerIsUser: payer_is_user,
                        minHopPriceX36: prices,
                    }
                    .abi_encode_raw(&mut out),
                }
            }
            Cmd::V2 {
                to,
                amount,
                limit,
                path,
                payer_is_user,
                hop_prices,
                ..
            } => match hop_prices {
                None => ur::v2SwapCall {
                    recipient: to,
                    amount,
                    limit,
                    path,
                    payerIsUser: payer_is_user,
                }
                .abi_encode_raw(&mut out),
                Some(prices) => ur::v2SwapHopPricesCall {
                    recipient: to,
                    amount,
                    limit,
                    path,
                    payerIsUser: payer_is_user,
                    minHopPriceX36: prices,
                }
                .abi_encode_raw(&mut out),
            },
            Cmd::WrapOrUnwrap { to, amount, .. } => ur::wrapOrUnwrapCall {
                recipient: to,
                amount,
            }
            .abi_encode_raw(&mut out),
            Cmd::Payment {
                token, to, amount, ..
            } => ur::paymentCall {
                token,
                recipient: to,
                amount,
            }
            .abi_encode_raw(&mut out),
            Cmd::Permit2TransferFrom { token, to, amount } => ur::permit2TransferFromCall {
                token,
                recipient: to,
                amount: U160::from_be_bytes(amount),
            }
            .abi_encode_raw(&mut out),
            Cmd::Permit2Permit {
                token,
                spender,
                signature,
            } => ur::permit2PermitCall {
                permitSingle: ur::PermitSingle {
                    details: ur::PermitDetails {
                        token,
                        amount: U160::from(7u8),
                        expiration: alloy_primitives::aliases::U48::from(1u8),
                        nonce: alloy_primitives::aliases::U48::from(2u8),
                    },
                    spender,
                    sigDeadline: U256::from(3),
                },
                signature: Bytes::from(signature),
            }
            .abi_encode_raw(&mut out),
            Cmd::V4 { actions, params } => ur::actionsAndParamsCall {
                actions: Bytes::from(actions),
                params: params.into_iter().map(Bytes::from).collect(),
            }
            .abi_encode_raw(&mut out),
            Cmd::Raw { input, .. } => out = input,
            Cmd::SubPlan(cmds) => {
                let (commands, inputs) = encode_plan(&cmds);
                ur::subPlanCall { commands, inputs }.abi_encode_raw(&mut out);
            }
        }
        out
    }

    /// What the router does with this command, read off `Dispatcher.sol`; true for a swap (the
    /// only commands an isolated sub-plan may hold).
    fn apply(&self, version: UrVersion, allow_revert: bool, model: &mut Model) -> bool {
        match self.clone() {
            Cmd::V3 {
                exact_out,
                to,
                amount,
                limit,
                tokens,
                fees,
                payer_is_user,
                hop_prices,
            } => {
                let kind = if exact_out {
                    SwapKind::ExactOut
                } else {
                    SwapKind::ExactIn
                };
                // `if (amountIn == ActionConstants.CONTRACT_BALANCE)` in v3SwapExactInput.
                let source = if !exact_out && amount == CONTRACT_BALANCE {
                    AmountSource::ContractBalance
                } else {
                    AmountSource::Given
                };
                let leg = swap_leg(
                    true,
                    tokens,
                    fees,
                    kind,
                    [amount, limit],
                    source,
                    to,
                    payer_is_user,
                    allow_revert,
                    floors(version, hop_prices),
                );
                model.legs.push(leg);
                true
            }
            Cmd::V2 {
                exact_out,
                to,
                amount,
                limit,
                path,
                payer_is_user,
                hop_prices,
            } => {
                let kind = if exact_out {
                    SwapKind::ExactOut
                } else {
                    SwapKind::ExactIn
                };
                // v2SwapExactInput skips the payment for ALREADY_PAID (0); Payments.pay spends
                // the whole balance for CONTRACT_BALANCE.
                let source = match (exact_out, amount) {
                    (false, a) if a == CONTRACT_BALANCE => AmountSource::ContractBalance,
                    (false, a) if a.is_zero() => AmountSource::AlreadyPaid,
                    _ => AmountSource::Given,
                };
                let leg = swap_leg(
                    false,
                    path,
                    Vec::new(),
                    kind,
                    [amount, limit],
                    source,
                    to,
                    payer_is_user,
                    allow_revert,
                    floors(version, hop_prices),
                );
                model.legs.push(leg);
                true
            }
            Cmd::WrapOrUnwrap { id, amount, .. } => {
                if id == 0x0b {
                    model.wrap_eth = Some(amount);
                } else {
                    model.unwrap_weth_min = Some(amount);
                }
                model.helpers += 1;
                false
            }
            Cmd::Payment { .. } | Cmd::Permit2TransferFrom { .. } | Cmd::Permit2Permit { .. } => {
                model.helpers += 1;
                false
            }
            Cmd::V4 { .. } => {
                model.legs.push(Leg::V4 {
                    input: self.input(),
                    allow_revert,
                });
                false
            }
            Cmd::Raw { .. } => unreachable!("raw commands are applied by id"),
            Cmd::SubPlan(_) => unreachable!("sub-plans are applied with their command byte"),
        }
    }
}

/// The floors a swap leg carries: 2.1 reads the sixth field (`inputs.toUint256Array(5)`),
/// which its inputs must have; v1.x and 2.0 read five fields and ignore the rest.
fn floors(version: UrVersion, hop_prices: Option<Vec<U256>>) -> Vec<U256> {
    match version {
        UrVersion::V2_1 => hop_prices.expect("a 2.1 swap input has six fields"),
        UrVersion::V1 | UrVersion::V2 => Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn swap_leg(
    v3: bool,
    tokens: Vec<Address>,
    fees: Vec<u32>,
    kind: SwapKind,
    [amount, limit]: [U256; 2],
    source: AmountSource,
    to: Address,
    payer_is_user: bool,
    allow_revert: bool,
    min_hop_prices: Vec<U256>,
) -> Leg {
    // `map(recipient)`: ActionConstants.MSG_SENDER = address(1), ADDRESS_THIS = address(2).
    let recipient = match to {
        a if a == Address::with_last_byte(1) => Recipient::Sender,
        a if a == Address::with_last_byte(2) => Recipient::Router,
        a => Recipient::Account(a),
    };
    Leg::Swap {
        v3,
        tokens,
        fees,
        kind,
        amount,
        limit,
        source,
        recipient,
        payer_is_user,
        sqrt_price_limit_x96: U256::ZERO,
        allow_revert,
        min_hop_prices,
    }
}

/// The router's `EXECUTE_SUB_PLAN`: a call to itself running `inner`, which the command's own
/// allow-revert flag lets fail without failing the transaction. `inner` says whether the
/// sub-plan held swaps only; only such a sub-plan is a span.
fn sub_plan(model: &mut Model, own_flag: bool, inner: impl FnOnce(&mut Model) -> bool) -> bool {
    let first = model.legs.len();
    let swaps_only = inner(model);
    if own_flag && swaps_only {
        model.isolate(first);
    }
    swaps_only
}

/// Applies one command byte with its command to the model. Raw commands go by the id table.
/// True for a swap or a sub-plan of swaps only.
fn apply_command(
    byte: u8,
    cmd: &Cmd,
    version: UrVersion,
    inherited: bool,
    model: &mut Model,
) -> bool {
    let allow_revert = inherited || byte & 0x80 != 0;
    match (cmd, kind(version, byte & mask(version))) {
        (Cmd::Raw { .. }, Kind::Helper) => {
            model.helpers += 1;
            false
        }
        (Cmd::Raw { .. }, Kind::Liquidity) => {
            model.liquidity_ops += 1;
            false
        }
        (Cmd::Raw { .. }, Kind::Unknown) => {
            model.unknown += 1;
            false
        }
        (Cmd::Raw { id, .. }, other) => unreachable!("raw id {id:#x} is {other:?}"),
        (Cmd::SubPlan(cmds), Kind::SubPlan) => sub_plan(model, byte & 0x80 != 0, |model| {
            cmds.iter().fold(true, |only, (b, c)| {
                apply_command(*b, c, version, allow_revert, model) && only
            })
        }),
        (cmd, k) => {
            let valid = if cmd.is_helper() {
                k == Kind::Helper
            } else {
                !matches!(k, Kind::Helper | Kind::Liquidity | Kind::Unknown)
            };
            assert!(valid, "{cmd:?} is not valid in {version:?}");
            cmd.apply(version, allow_revert, model)
        }
    }
}

fn encode_plan(cmds: &[(u8, Cmd)]) -> (Bytes, Vec<Bytes>) {
    let commands = Bytes::from(cmds.iter().map(|(b, _)| *b).collect::<Vec<u8>>());
    let inputs = cmds.iter().map(|(_, c)| Bytes::from(c.input())).collect();
    (commands, inputs)
}

fn encode_execute(cmds: &[(u8, Cmd)], deadline: Option<U256>) -> Vec<u8> {
    let (commands, inputs) = encode_plan(cmds);
    match deadline {
        Some(deadline) => ur::execute_0Call {
            commands,
            inputs,
            deadline,
        }
        .abi_encode(),
        None => ur::execute_1Call { commands, inputs }.abi_encode(),
    }
}

fn expected_execute(
    cmds: &[(u8, Cmd)],
    deadline: Option<U256>,
    value: U256,
    version: UrVersion,
) -> Model {
    let mut model = Model {
        value,
        deadline,
        ..Model::default()
    };
    for (byte, cmd) in cmds {
        apply_command(*byte, cmd, version, false, &mut model);
    }
    model
}

/// Decodes `data` with `sol!` alone and states what the router does with it; `None` where
/// `sol!` rejects an input the router would read, or the router would revert on the layout.
fn sol_model(data: &[u8], value: U256, version: UrVersion) -> Option<Model> {
    let mut model = Model {
        value,
        ..Model::default()
    };
    let (commands, inputs) = if let Ok(c) = ur::execute_0Call::abi_decode(data) {
        model.deadline = Some(c.deadline);
        (c.commands, c.inputs)
    } else if let Ok(c) = ur::execute_1Call::abi_decode(data) {
        (c.commands, c.inputs)
    } else {
        return None;
    };
    sol_plan(&commands, &inputs, version, 0, false, &mut model)?;
    Some(model)
}

fn sol_plan(
    commands: &[u8],
    inputs: &[Bytes],
    version: UrVersion,
    depth: usize,
    inherited: bool,
    model: &mut Model,
) -> Option<bool> {
    if commands.len() != inputs.len() {
        return None; // LengthMismatch
    }
    let mut swaps_only = true;
    for (&byte, input) in commands.iter().zip(inputs) {
        let allow_revert = inherited || byte & 0x80 != 0;
        let swap = match kind(version, byte & mask(version)) {
            // 2.1 reads six fields, earlier versions five.
            Kind::V3Swap(k) => {
                let (c, hop_prices) = if version == UrVersion::V2_1 {
                    let c = ur::v3SwapHopPricesCall::abi_decode_raw(input).ok()?;
                    let five = ur::v3SwapCall {
                        recipient: c.recipient,
                        amount: c.amount,
                        limit: c.limit,
                        path: c.path,
                        payerIsUser: c.payerIsUser,
                    };
                    (five, Some(c.minHopPriceX36))
                } else {
                    (ur::v3SwapCall::abi_decode_raw(input).ok()?, None)
                };
                let (tokens, fees) = unpacked_path(&c.path, k == SwapKind::ExactOut)?;
                Cmd::V3 {
                    exact_out: k == SwapKind::ExactOut,
                    to: c.recipient,
                    amount: c.amount,
                    limit: c.limit,
                    tokens,
                    fees,
                    payer_is_user: c.payerIsUser,
                    hop_prices,
                }
                .apply(version, allow_revert, model)
            }
            Kind::V2Swap(k) => {
                let (c, hop_prices) = if version == UrVersion::V2_1 {
                    let c = ur::v2SwapHopPricesCall::abi_decode_raw(input).ok()?;
                    let five = ur::v2SwapCall {
                        recipient: c.recipient,
                        amount: c.amount,
                        limit: c.limit,
                        path: c.path,
                        payerIsUser: c.payerIsUser,
                    };
                    (five, Some(c.minHopPriceX36))
                } else {
                    (ur::v2SwapCall::abi_decode_raw(input).ok()?, None)
                };
                Cmd::V2 {
                    exact_out: k == SwapKind::ExactOut,
                    to: c.recipient,
                    amount: c.amount,
                    limit: c.limit,
                    path: c.path,
                    payer_is_user: c.payerIsUser,
                    hop_prices,
                }
                .apply(version, allow_revert, model)
            }
            Kind::Wrap | Kind::Unwrap => {
                let c = ur::wrapOrUnwrapCall::abi_decode_raw(input).ok()?;
                let id = if kind(version, byte & mask(version)) == Kind::Wrap {
                    0x0b
                } else {
                    0x0c
                };
                Cmd::WrapOrUnwrap {
                    id,
                    to: c.recipient,
                    amount: c.amount,
                }
                .apply(version, allow_revert, model)
            }
            Kind::V4 => {
                model.legs.push(Leg::V4 {
                    input: input.to_vec(),
                    allow_revert,
                });
                false
            }
            Kind::SubPlan if depth < 2 => {
                let c = ur::subPlanCall::abi_decode_raw(input).ok()?;
                let mut inner = None;
                let swap = sub_plan(model, byte & 0x80 != 0, |model| {
                    inner = sol_plan(
                        &c.commands,
                        &c.inputs,
                        version,
                        depth + 1,
                        allow_revert,
                        model,
                    );
                    inner == Some(true)
                });
                inner?;
                swap
            }
            Kind::Helper => {
                model.helpers += 1;
                false
            }
            Kind::Liquidity => {
                model.liquidity_ops += 1;
                false
            }
            Kind::SubPlan | Kind::Unknown => {
                model.unknown += 1;
                false
            }
        };
        swaps_only &= swap;
    }
    Some(swaps_only)
}

fn decoded(data: &[u8], value: U256, version: UrVersion) -> Result<Model, SkipReason> {
    decode_universal(data, value, version).map(|d| Model::of(&d))
}

fn bytes_up_to(n: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..n)
}

/// The sixth field: always there for 2.1 (its inputs must have it), maybe for earlier versions
/// (which ignore it). Any length, whatever the path: matching it to the hops is the router's
/// check at execution, not the decoder's.
fn hop_prices(version: UrVersion) -> BoxedStrategy<Option<Vec<U256>>> {
    let prices = proptest::collection::vec(any_u256(), 0..4);
    if version == UrVersion::V2_1 {
        prices.prop_map(Some).boxed()
    } else {
        proptest::option::of(prices).boxed()
    }
}

fn ur_amount() -> impl Strategy<Value = U256> {
    prop_oneof![Just(U256::ZERO), Just(CONTRACT_BALANCE), any_u256()]
}

fn v3_cmd(version: UrVersion) -> impl Strategy<Value = Cmd> {
    (
        any::<bool>(),
        recipient_strategy(),
        ur_amount(),
        any_u256(),
        2usize..=4,
        proptest::collection::vec(any_address(), 4),
        proptest::collection::vec(0u32..1 << 24, 3),
        any::<bool>(),
        hop_prices(version),
    )
        .prop_map(
            |(exact_out, to, amount, limit, n, mut tokens, mut fees, payer_is_user, hop_prices)| {
                tokens.truncate(n);
                fees.truncate(n - 1);
                Cmd::V3 {
                    exact_out,
                    to,
                    amount,
                    limit,
                    tokens,
                    fees,
                    payer_is_user,
                    hop_prices,
                }
            },
        )
}

fn v2_cmd(version: UrVersion) -> impl Strategy<Value = Cmd> {
    (
        any::<bool>(),
        recipient_strategy(),
        ur_amount(),
        any_u256(),
        proptest::collection::vec(any_address(), 2..=4),
        any::<bool>(),
        hop_prices(version),
    )
        .prop_map(
            |(exact_out, to, amount, limit, path, payer_is_user, hop_prices)| Cmd::V2 {
                exact_out,
                to,
                amount,
                limit,
                path,
                payer_is_user,
                hop_prices,
            },
        )
}

/// Raw ids that are helpers, liquidity calls or unknown in `version` (never swaps, wraps or
/// sub-plans, which need real inputs).
fn raw_ids(version: UrVersion) -> Vec<u8> {
    (0u8..0x80)
        .filter(|&id| id & mask(version) == id)
        .filter(|&id| {
            matches!(
                kind(version, id),
                Kind::Helper | Kind::Liquidity | Kind::Unknown
            )
        })
        .collect()
}

/// Simple commands (no sub-plan) valid in `version`.
fn simple_cmd(version: UrVersion) -> BoxedStrategy<Cmd> {
    let a = any_address;
    let mut payment_ids = vec![0x04u8, 0x05, 0x06];
    let mut unwrap_ids = vec![0x0cu8];
    if version != UrVersion::V1 {
        payment_ids.push(0x0e);
    }
    if version == UrVersion::V2_1 {
        payment_ids.push(0x07);
        unwrap_ids.push(0x0f);
    }
    let mut arms: Vec<(u32, BoxedStrategy<Cmd>)> = vec![
        (4, v3_cmd(version).boxed()),
        (3, v2_cmd(version).boxed()),
        (
            1,
            (a(), any_u256())
                .prop_map(|(to, amount)| Cmd::WrapOrUnwrap {
                    id: 0x0b,
                    to,
                    amount,
                })
                .boxed(),
        ),
        (
            1,
            (proptest::sample::select(unwrap_ids), a(), any_u256())
                .prop_map(|(id, to, amount)| Cmd::WrapOrUnwrap { id, to, amount })
                .boxed(),
        ),
        (
            1,
            (proptest::sample::select(payment_ids), a(), a(), any_u256())
                .prop_map(|(id, token, to, amount)| Cmd::Payment {
                    id,
                    token,
                    to,
                    amount,
                })
                .boxed(),
        ),
        (
            1,
            (a(), a(), any::<[u8; 20]>())
                .prop_map(|(token, to, amount)| Cmd::Permit2TransferFrom { token, to, amount })
                .boxed(),
        ),
        (
            1,
            (a(), a(), bytes_up_to(70))
                .prop_map(|(token, spender, signature)| Cmd::Permit2Permit {
                    token,
                    spender,
                    signature,
                })
                .boxed(),
        ),
        (
            1,
            (proptest::sample::select(raw_ids(version)), bytes_up_to(100))
                .prop_map(|(id, input)| Cmd::Raw { id, input })
                .boxed(),
        ),
    ];
    if version != UrVersion::V1 {
        arms.push((
            1,
            (
                bytes_up_to(8),
                proptest::collection::vec(bytes_up_to(40), 0..3),
            )
                .prop_map(|(actions, params)| Cmd::V4 { actions, params })
                .boxed(),
        ));
    }
    Union::new_weighted(arms).boxed()
}

/// A command byte for `cmd`: its id, maybe the allow-revert flag, maybe bits the version's mask
/// ignores.
fn with_byte(version: UrVersion, cmd: BoxedStrategy<Cmd>) -> impl Strategy<Value = (u8, Cmd)> {
    let ignored = 0x7f & !mask(version);
    (cmd, any::<bool>(), any::<u8>()).prop_map(move |(cmd, revert, noise)| {
        let flag = if revert { 0x80 } else { 0 };
        (cmd.id() | flag | (noise & ignored), cmd)
    })
}

fn plan(version: UrVersion) -> BoxedStrategy<Vec<(u8, Cmd)>> {
    let simple =
        proptest::collection::vec(with_byte(version, simple_cmd(version)), 0..=MAX_LEGS + 1);
    if version == UrVersion::V1 {
        return simple.boxed();
    }
    let sub = proptest::collection::vec(with_byte(version, simple_cmd(version)), 0..4)
        .prop_map(Cmd::SubPlan)
        .boxed();
    let one = Union::new_weighted(vec![(8, simple_cmd(version)), (1, sub)]).boxed();
    proptest::collection::vec(with_byte(version, one), 0..=MAX_LEGS + 1).boxed()
}

fn versioned_plan() -> impl Strategy<Value = (UrVersion, Vec<(u8, Cmd)>)> {
    proptest::sample::select(VERSIONS.to_vec()).prop_flat_map(|v| (Just(v), plan(v)))
}

proptest! {
    #[test]
    fn plans_decode_command_by_command(
        (version, cmds) in versioned_plan(),
        deadline in proptest::option::of(any_u256()),
        value in any_u256(),
    ) {
        let data = encode_execute(&cmds, deadline);
        let expected = expected_execute(&cmds, deadline, value, version);
        prop_assert_eq!(sol_model(&data, value, version), Some(expected.clone()));
        prop_assert_eq!(decoded(&data, value, version), expected.verdict());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in bytes_up_to(600), value in any_u256()) {
        for version in VERSIONS {
            let _ = decode_universal(&data, value, version);
        }
    }

    #[test]
    fn execute_with_random_arguments_never_panics(deadline in any::<bool>(), body in bytes_up_to(600)) {
        let mut data = if deadline { ur::execute_0Call::SELECTOR } else { ur::execute_1Call::SELECTOR }.to_vec();
        data.extend_from_slice(&body);
        for version in VERSIONS {
            if let Ok(got) = decoded(&data, U256::ZERO, version) {
                prop_assert!(sol_model(&data, U256::ZERO, version).is_some(), "accepted what sol! rejects");
                prop_assert!(!got.legs.is_empty());
            }
        }
    }

    /// A valid plan with one byte changed: never a panic; whatever the decoder accepts, `sol!`
    /// accepts too, and they agree.
    #[test]
    fn mutated_calldata_never_panics_and_agrees(
        (version, cmds) in versioned_plan(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut data = encode_execute(&cmds, Some(U256::from(1_700_000_000u64)));
        let i = at.index(data.len());
        data[i] = byte;
        if let Ok(got) = decoded(&data, U256::ZERO, version) {
            let sol = sol_model(&data, U256::ZERO, version);
            prop_assert_eq!(sol.map(Model::verdict), Some(Ok(got)));
        }
    }
}

fn v3(exact_out: bool, amount: U256) -> Cmd {
    Cmd::V3 {
        exact_out,
        to: Address::with_last_byte(1),
        amount,
        limit: U256::from(10),
        tokens: vec![Address::with_last_byte(0xaa), Address::with_last_byte(0xbb)],
        fees: vec![3000],
        payer_is_user: true,
        hop_prices: None,
    }
}

#[test]
fn the_same_byte_means_different_commands_per_version() {
    // 0x10 is SEAPORT in v1 (a helper) and V4_SWAP from 2.0.
    let v4 = Cmd::V4 {
        actions: vec![6],
        params: vec![vec![1, 2, 3]],
    };
    let data = encode_execute(
        &[(0x10, v4.clone()), (0x00, v3(false, U256::from(5)))],
        None,
    );
    let v1 = decoded(&data, U256::ZERO, UrVersion::V1).unwrap();
    assert_eq!((v1.legs.len(), v1.helpers), (1, 1));
    let v2 = decoded(&data, U256::ZERO, UrVersion::V2).unwrap();
    assert_eq!((v2.legs.len(), v2.helpers), (2, 0));
    assert_eq!(
        v2.legs[0],
        Leg::V4 {
            input: v4.input(),
            allow_revert: false
        }
    );
    // 0x20 is V3_SWAP_EXACT_IN under v1's 5-bit mask and an invalid command from 2.0.
    let masked = encode_execute(&[(0x20, v3(false, U256::from(5)))], None);
    assert_eq!(
        decoded(&masked, U256::ZERO, UrVersion::V1).map(|m| m.legs.len()),
        Ok(1)
    );
    assert_eq!(
        decoded(&masked, U256::ZERO, UrVersion::V2),
        Err(SkipReason::UnknownCommand)
    );
}

#[test]
fn sentinels_and_flags_are_reported() {
    let cmds = [
        (
            0x0b,
            Cmd::WrapOrUnwrap {
                id: 0x0b,
                to: Address::with_last_byte(2),
                amount: CONTRACT_BALANCE,
            },
        ),
        (0x80, v3(false, CONTRACT_BALANCE)),
        (0x01, v3(true, U256::from(5))),
        (
            0x0c,
            Cmd::WrapOrUnwrap {
                id: 0x0c,
                to: Address::with_last_byte(1),
                amount: U256::from(4),
            },
        ),
    ];
    let got = decoded(
        &encode_execute(&cmds, Some(U256::from(99))),
        U256::from(1),
        UrVersion::V2,
    )
    .unwrap();
    assert_eq!(got.wrap_eth, Some(CONTRACT_BALANCE));
    assert_eq!(got.unwrap_weth_min, Some(U256::from(4)));
    assert_eq!(got.deadline, Some(U256::from(99)));
    assert_eq!(got.helpers, 2);
    let Leg::Swap {
        source,
        allow_revert,
        recipient,
        ..
    } = &got.legs[0]
    else {
        panic!("a swap")
    };
    assert_eq!(
        (*source, *allow_revert, *recipient),
        (AmountSource::ContractBalance, true, Recipient::Sender)
    );
    // The exact-output path is encoded output first; the leg reads it in trade order.
    let Leg::Swap {
        tokens,
        kind,
        source,
        allow_revert,
        ..
    } = &got.legs[1]
    else {
        panic!("a swap")
    };
    assert_eq!(
        tokens,
        &[Address::with_last_byte(0xaa), Address::with_last_byte(0xbb)]
    );
    assert_eq!(
        (*kind, *source, *allow_revert),
        (SwapKind::ExactOut, AmountSource::Given, false)
    );
}

#[test]
fn sub_plans_are_walked_to_a_bounded_depth_and_pass_their_flag_down() {
    let swap = v3(false, U256::from(5));
    let inner = Cmd::SubPlan(vec![(0x00, swap.clone())]);
    // A sub-plan allowed to revert: its swap may fail without reverting the transaction.
    let got = decoded(
        &encode_execute(&[(0xa1, inner.clone())], None),
        U256::ZERO,
        UrVersion::V2,
    )
    .unwrap();
    let Leg::Swap { allow_revert, .. } = &got.legs[0] else {
        panic!("a swap")
    };
    assert!(*allow_revert);
    // Depth 2 is walked; depth 3 is counted as unknown.
    let two = Cmd::SubPlan(vec![(0x21, inner)]);
    let got = decoded(
        &encode_execute(&[(0x21, two.clone())], None),
        U256::ZERO,
        UrVersion::V2,
    )
    .unwrap();
    assert_eq!(got.legs.len(), 1);
    let three = Cmd::SubPlan(vec![(0x21, two)]);
    assert_eq!(
        decoded(
            &encode_execute(&[(0x21, three)], None),
            U256::ZERO,
            UrVersion::V2
        ),
        Err(SkipReason::UnknownCommand)
    );
}

/// Which legs revert together: only a sub-plan carrying the flag itself and holding nothing but
/// swaps (at any depth) is a span; a swap's own flag outside one is not (the swap reverts the
/// router's whole call).
#[test]
fn flagged_sub_plans_of_swaps_only_are_revert_spans() {
    let swap = || (0x00, v3(false, U256::from(5)));
    let flagged_own = (0x80, v3(false, U256::from(5)));
    let v2 = (
        0x08,
        Cmd::V2 {
            exact_out: false,
            to: Address::with_last_byte(1),
            amount: U256::from(7),
            limit: U256::ZERO,
            path: vec![Address::with_last_byte(0xaa), Address::with_last_byte(0xbb)],
            payer_is_user: true,
            hop_prices: None,
        },
    );
    let wrap = (
        0x0b,
        Cmd::WrapOrUnwrap {
            id: 0x0b,
            to: Address::with_last_byte(2),
            amount: U256::from(1),
        },
    );
    let plan = [
        flagged_own,
        (0xa1, Cmd::SubPlan(vec![swap(), v2])),
        (0xa1, Cmd::SubPlan(vec![wrap, swap()])),
        (0x21, Cmd::SubPlan(vec![(0xa1, Cmd::SubPlan(vec![swap()]))])),
        (
            0xa1,
            Cmd::SubPlan(vec![(0xa1, Cmd::SubPlan(vec![swap()])), swap()]),
        ),
        (0xa1, Cmd::SubPlan(vec![(0xa1, Cmd::SubPlan(vec![swap()]))])),
        (0xa1, Cmd::SubPlan(vec![])),
    ];
    let data = encode_execute(&plan, None);
    let got = decoded(&data, U256::ZERO, UrVersion::V2).unwrap();
    assert_eq!(got.legs.len(), 8);
    assert_eq!(got.spans, [(1, 3), (4, 5), (5, 6), (5, 7), (7, 8)]);
    assert_eq!(
        Some(got),
        sol_model(&data, U256::ZERO, UrVersion::V2),
        "the sol! model agrees"
    );
}

#[test]
fn layout_errors_are_malformed_and_long_paths_too_long() {
    // commands and inputs of different lengths: `execute` reverts with LengthMismatch.
    let (commands, mut inputs) = encode_plan(&[(0x00, v3(false, U256::from(5)))]);
    inputs.push(Bytes::new());
    let data = ur::execute_1Call { commands, inputs }.abi_encode();
    assert_eq!(
        decoded(&data, U256::ZERO, UrVersion::V2),
        Err(SkipReason::MalformedCalldata)
    );
    // A payerIsUser word of 2 is not a bool.
    let mut input = v3(false, U256::from(5)).input();
    input[4 * 32 + 31] = 2;
    let data = encode_execute(&[(0x00, Cmd::Raw { id: 0, input })], None);
    assert_eq!(
        decoded(&data, U256::ZERO, UrVersion::V2),
        Err(SkipReason::MalformedCalldata)
    );
    // Four V3 hops, and five V2 tokens.
    let long_v3 = Cmd::V3 {
        exact_out: false,
        to: Address::ZERO,
        amount: U256::from(1),
        limit: U256::ZERO,
        tokens: (1..=5).map(Address::with_last_byte).collect(),
        fees: vec![500; 4],
        payer_is_user: true,
        hop_prices: None,
    };
    let long_v2 = Cmd::V2 {
        exact_out: true,
        to: Address::ZERO,
        amount: U256::from(1),
        limit: U256::ZERO,
        path: (1..=5).map(Address::with_last_byte).collect(),
        payer_is_user: true,
        hop_prices: None,
    };
    for cmd in [long_v3, long_v2] {
        let data = encode_execute(&[(cmd.id(), cmd)], None);
        assert_eq!(
            decoded(&data, U256::ZERO, UrVersion::V2_1),
            Err(SkipReason::PathTooLong)
        );
    }
}

/// Universal Router deployments on Sepolia, from Uniswap/universal-router
/// `deploy-addresses/sepolia.json` (v1.2, 2.0, 2.1.1).
const SEPOLIA_UNIVERSAL_ROUTERS: [&str; 3] = [
    "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD",
    "0x3a9d48ab9751398bbfa63ad67599bb04e4bdf98b",
    "0x7DfD4F31be6814D2906BDE155c3e1B146EAc1468",
];

#[test]
fn real_sepolia_block_holds_no_router_calls_and_nothing_decodes_as_one() {
    let Some(block_path) = kestrel_stdx::testdata::data_file(
        "dex sepolia block",
        "eth/sepolia-block/tenderly.sepolia.json",
    ) else {
        return;
    };
    let Some(addresses_path) =
        kestrel_stdx::testdata::data_file("dex sepolia block", "eth/uniswap-addresses.json")
    else {
        return;
    };
    let block: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(block_path).unwrap()).unwrap();
    let addresses: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(addresses_path).unwrap()).unwrap();
    let swap_router02: Address = addresses["chains"]["11155111"]["swapRouter02Address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut routers: Vec<Address> = SEPOLIA_UNIVERSAL_ROUTERS
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    routers.push(swap_router02);
    let block = block.get("result").unwrap_or(&block);
    let txs = block["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 94);
    let mut to_routers = 0;
    for tx in txs {
        let to: Option<Address> = tx["to"].as_str().map(|a| a.parse().unwrap());
        if to.is_some_and(|to| routers.contains(&to)) {
            to_routers += 1;
        }
        let input = hex::decode(tx["input"].as_str().unwrap().trim_start_matches("0x")).unwrap();
        let value =
            U256::from_str_radix(tx["value"].as_str().unwrap().trim_start_matches("0x"), 16)
                .unwrap();
        // Approvals, transfers, bridge and contract calls: none is a router swap.
        assert_eq!(
            decode_swap_router(&input, value).err(),
            Some(SkipReason::NotSwap)
        );
        for version in VERSIONS {
            assert_eq!(
                decode_universal(&input, value, version).err(),
                Some(SkipReason::NotSwap)
            );
        }
    }
    // Counted here: this block has no SwapRouter02 or Universal Router transaction.
    assert_eq!(to_routers, 0);
}

// --- 2.1 per-hop price floors (`minHopPriceX36`) ----------------------------------------------

/// A two-hop V3 swap (or a three-token V2 one) with the given sixth field.
fn with_floors(v3: bool, exact_out: bool, hop_prices: Option<Vec<U256>>) -> Cmd {
    let tokens: Vec<Address> = [0xaa, 0xbb, 0xcc]
        .into_iter()
        .map(Address::with_last_byte)
        .collect();
    if v3 {
        Cmd::V3 {
            exact_out,
            to: Address::with_last_byte(1),
            amount: U256::from(5),
            limit: U256::from(10),
            tokens,
            fees: vec![3000, 500],
            payer_is_user: true,
            hop_prices,
        }
    } else {
        Cmd::V2 {
            exact_out,
            to: Address::with_last_byte(2),
            amount: U256::from(5),
            limit: U256::from(10),
            path: tokens,
            payer_is_user: false,
            hop_prices,
        }
    }
}

fn floors_of(model: &Model) -> Vec<Vec<U256>> {
    model
        .legs
        .iter()
        .map(|leg| match leg {
            Leg::Swap { min_hop_prices, .. } => min_hop_prices.clone(),
            Leg::V4 { .. } => panic!("a swap"),
        })
        .collect()
}

fn decode_one(cmd: &Cmd, version: UrVersion) -> Result<Model, SkipReason> {
    decoded(
        &encode_execute(&[(cmd.id(), cmd.clone())], None),
        U256::ZERO,
        version,
    )
}

#[test]
fn hop_floors_are_read_in_2_1_and_ignored_before() {
    let e36 = U256::from(10u8).pow(U256::from(36u8));
    let (p0, p1) = (e36 * U256::from(3) / U256::from(2), U256::MAX);
    for (v3, exact_out) in [(true, false), (true, true), (false, false), (false, true)] {
        let case = format!("v3 {v3}, exact out {exact_out}");
        // Non-empty: the words as encoded, in trade order (the exact-output path is encoded
        // reversed, the floors are not).
        let cmd = with_floors(v3, exact_out, Some(vec![p0, p1]));
        let got = decode_one(&cmd, UrVersion::V2_1).unwrap();
        assert_eq!(floors_of(&got), [vec![p0, p1]], "{case}");
        assert_eq!(
            got,
            expected_execute(
                &[(cmd.id(), cmd.clone())],
                None,
                U256::ZERO,
                UrVersion::V2_1
            ),
            "{case}"
        );
        // v1.x and 2.0 read five fields: the same leg, no floors.
        for version in [UrVersion::V1, UrVersion::V2] {
            let older = decode_one(&cmd, version).unwrap();
            assert_eq!(
                floors_of(&older),
                [Vec::<U256>::new()],
                "{case} {version:?}"
            );
            let five = with_floors(v3, exact_out, None);
            assert_eq!(decode_one(&five, version), Ok(older), "{case} {version:?}");
        }
        // Empty: the checks are off.
        let empty = with_floors(v3, exact_out, Some(Vec::new()));
        assert_eq!(
            floors_of(&decode_one(&empty, UrVersion::V2_1).unwrap()),
            [Vec::<U256>::new()]
        );
        // A length other than the hop count is kept as encoded: the router reverts on it at
        // execution (`V2InvalidHopPriceLength`, `V3HopPriceAndPathLengthMismatch`), which the
        // victim replay predicts; it is not a layout error.
        for wrong in [vec![p0], vec![p0, p1, U256::ZERO]] {
            let cmd = with_floors(v3, exact_out, Some(wrong.clone()));
            assert_eq!(
                floors_of(&decode_one(&cmd, UrVersion::V2_1).unwrap()),
                [wrong],
                "{case}"
            );
        }
        // A 2.1 input without the sixth field is not what the 2.1 router reads.
        let five = with_floors(v3, exact_out, None);
        assert_eq!(
            decode_one(&five, UrVersion::V2_1),
            Err(SkipReason::MalformedCalldata),
            "{case}"
        );
    }
}

#[test]
fn malformed_hop_floor_arrays_are_malformed_calldata() {
    let floors = vec![U256::from(7), U256::from(9)];
    for v3 in [true, false] {
        let good = with_floors(v3, false, Some(floors.clone())).input();
        // Head word 5 is the array's offset; at it, the length, then the words, to the end.
        let at = usize::try_from(U256::from_be_slice(&good[5 * 32..6 * 32])).unwrap();
        assert_eq!(at + 32 + 64, good.len());
        let run = |input: &[u8], version: UrVersion| {
            let cmd = Cmd::Raw {
                id: if v3 { 0x00 } else { 0x08 },
                input: input.to_vec(),
            };
            decode_one(&cmd, version)
        };
        assert_eq!(
            floors_of(&run(&good, UrVersion::V2_1).unwrap()),
            std::slice::from_ref(&floors)
        );
        let word = |x: U256| x.to_be_bytes::<32>();
        let set = |slot: usize, x: U256| {
            let mut input = good.clone();
            input[slot..slot + 32].copy_from_slice(&word(x));
            input
        };
        let len = good.len();
        let bad: Vec<(&str, Vec<u8>)> = vec![
            ("offset at the end", set(5 * 32, U256::from(len))),
            ("offset past the end", set(5 * 32, U256::from(len + 64))),
            ("length word cut short", set(5 * 32, U256::from(len - 16))),
            (
                "offset above 32 bits",
                set(5 * 32, U256::from(at) | U256::ONE << 32),
            ),
            ("offset of 2^255", set(5 * 32, U256::ONE << 255)),
            ("one element too many", set(at, U256::from(3))),
            ("length of 2^32 - 1", set(at, U256::from(u32::MAX))),
            (
                "length above 32 bits",
                set(at, U256::from(2) | U256::ONE << 40),
            ),
            ("last word cut short", good[..len - 1].to_vec()),
            ("no words", good[..at + 32].to_vec()),
            ("no sixth head word", good[..5 * 32].to_vec()),
        ];
        for (what, input) in bad {
            assert_eq!(
                run(&input, UrVersion::V2_1),
                Err(SkipReason::MalformedCalldata),
                "v3 {v3}: {what}"
            );
            // 2.0 never reads the sixth field: the same bytes are its plain five-field swap,
            // unless the cut reached the path.
            if input.len() >= at {
                assert!(run(&input, UrVersion::V2).is_ok(), "v3 {v3}: {what}");
            }
        }
        // Fewer elements than encoded is well-formed: the array is what its length says.
        let shorter = set(at, U256::ONE);
        assert_eq!(
            floors_of(&run(&shorter, UrVersion::V2_1).unwrap()),
            [vec![floors[0]]]
        );
        // An offset anywhere the words fit is followed, as `toLengthOffset` does: pointed at
        // the amount word (5, so a length of 5), the array is the five words after it (the
        // last of them the offset itself).
        let aliased = set(5 * 32, U256::from(32));
        let expected: Vec<U256> = (2..7)
            .map(|w| U256::from_be_slice(&aliased[w * 32..(w + 1) * 32]))
            .collect();
        assert_eq!(
            floors_of(&run(&aliased, UrVersion::V2_1).unwrap()),
            [expected]
        );
        // `sol!`'s decoder reads the same array.
        let id = if v3 { 0x00 } else { 0x08 };
        let data = encode_execute(&[(id, Cmd::Raw { id, input: aliased })], None);
        assert_eq!(
            sol_model(&data, U256::ZERO, UrVersion::V2_1).map(Model::verdict),
            Some(decoded(&data, U256::ZERO, UrVersion::V2_1))
        );
    }
}
