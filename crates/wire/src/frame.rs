//! Borrowed decoding of one WebSocket text frame from the node into a typed view.
//!
//! serde_json deserializes the frame in a single pass into structs of borrowed `&str` slices
//! (hex never contains escapes, so nothing is copied) and `&RawValue`s for parts only some
//! callers need. Quantities are then parsed from hex by [`crate::hex`]. Nothing allocates for the
//! common frame (see [`parse_frame`] for the one exception inside serde_json).

use crate::WireError;
use crate::hex::{parse_fixed, parse_u64, parse_u128, parse_u256, strip_0x};
use alloy_primitives::{Address, B256, U256};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor, value::MapAccessDeserializer};
use serde_json::value::RawValue;
use std::fmt;
use std::marker::PhantomData;

/// One decoded node frame.
// A pending tx is by far the common case; boxing it would allocate per frame, and the frame
// lives on the stack of the hot loop for one iteration.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x..","result":{...}}}`
    /// where result is a full transaction object.
    PendingTx {
        /// The subscription id, as the node wrote it.
        subscription: &'a str,
        /// The pending transaction.
        tx: TxView<'a>,
    },
    /// Same envelope, result is a block header (newHeads).
    NewHead {
        /// The subscription id, as the node wrote it.
        subscription: &'a str,
        /// The new head.
        head: HeadView,
    },
    /// A reply to a request: `{"jsonrpc":"2.0","id":N,"result":...}` or with `"error"`.
    /// A `null` result reads as `None`.
    Reply {
        /// The request id we sent.
        id: u64,
        /// The raw `result`, unless absent or `null`.
        result: Option<&'a RawValue>,
        /// The raw `error` object, unless absent or `null`.
        error: Option<&'a RawValue>,
    },
}

/// A full transaction object borrowed from the frame; no allocation.
///
/// Fields are JSON-RPC names in snake case. `input_hex` has been checked for a `0x` prefix and
/// an even length only; its digits are checked when decoded.
#[derive(Debug, Clone, Copy)]
pub struct TxView<'a> {
    /// Transaction hash, as the node reports it (not recomputed here).
    pub hash: B256,
    /// EIP-2718 type (0 when the node omits `type`).
    pub tx_type: u8,
    /// `chainId`, when present (absent on pre-EIP-155 legacy txs from some nodes).
    pub chain_id: Option<u64>,
    /// Sender nonce.
    pub nonce: u64,
    /// Sender as the node recovered it.
    pub from: Option<Address>,
    /// Recipient; `None` for contract creation.
    pub to: Option<Address>,
    /// Wei sent.
    pub value: U256,
    /// Gas limit.
    pub gas: u64,
    /// `gasPrice` (legacy and 2930; nodes also report it for 1559).
    pub gas_price: Option<u128>,
    /// `maxFeePerGas` (1559 and later).
    pub max_fee_per_gas: Option<u128>,
    /// `maxPriorityFeePerGas` (1559 and later).
    pub max_priority_fee_per_gas: Option<u128>,
    /// Calldata hex without `0x`.
    pub input_hex: &'a str,
    /// The raw `accessList` JSON, parsed only when re-encoding a non-empty list.
    pub access_list: Option<&'a RawValue>,
    /// `yParity`, when present (0 or 1).
    pub y_parity: Option<u8>,
    /// Legacy `v` including the EIP-155 chain offset; for typed txs the node's `v` (0 or 1),
    /// or `yParity` when `v` is absent.
    pub v: u64,
    /// Signature `r`.
    pub r: U256,
    /// Signature `s`.
    pub s: U256,
}

/// The parts of a block header the engine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadView {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Block timestamp, seconds.
    pub timestamp: u64,
    /// Base fee, absent before London.
    pub base_fee_per_gas: Option<u128>,
}

/// A JSON string borrowed from the frame, or a marker that it had escapes (and so could not
/// be borrowed). Lets us report [`WireError::EscapedString`] with the field name.
#[derive(Clone, Copy)]
enum Text<'a> {
    Borrowed(&'a str),
    Escaped,
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Text::Escaped)
            }
        }
        deserializer.deserialize_str(TextVisitor(PhantomData))
    }
}

/// A required string field.
fn required<'a>(text: Option<Text<'a>>, field: &'static str) -> Result<&'a str, WireError> {
    optional(text, field)?.ok_or(WireError::MissingField(field))
}

/// An optional string field (`null` and absent both read as `None`).
fn optional<'a>(text: Option<Text<'a>>, field: &'static str) -> Result<Option<&'a str>, WireError> {
    match text {
        None => Ok(None),
        Some(Text::Borrowed(s)) => Ok(Some(s)),
        Some(Text::Escaped) => Err(WireError::EscapedString(field)),
    }
}

/// Any JSON-RPC message from the node. Unknown fields (`jsonrpc`) are skipped.
#[derive(Deserialize)]
struct Message<'a> {
    id: Option<u64>,
    #[serde(borrow)]
    method: Option<Text<'a>>,
    #[serde(borrow)]
    params: Option<Params<'a>>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// `params` of an `eth_subscription` notification.
#[derive(Deserialize)]
struct Params<'a> {
    #[serde(borrow)]
    subscription: Option<Text<'a>>,
    #[serde(borrow)]
    result: Option<SubResult<'a>>,
}

/// A notification's result: an object (tx or header) or a bare string (hash-only pending tx).
// Boxing the large variant would allocate on every frame; this lives on the stack for one call.
#[allow(clippy::large_enum_variant)]
enum SubResult<'a> {
    Object(ResultObject<'a>),
    Text,
}

impl<'de: 'a, 'a> Deserialize<'de> for SubResult<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SubResultVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for SubResultVisitor<'a> {
            type Value = SubResult<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a transaction, a header or a hash")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(SubResult::Text)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                ResultObject::deserialize(MapAccessDeserializer::new(map)).map(SubResult::Object)
            }
        }
        deserializer.deserialize_any(SubResultVisitor(PhantomData))
    }
}

/// Every field of a transaction object and of a header that we read, all optional so one
/// pass serves both shapes. Hex strings stay borrowed; unknown fields are skipped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultObject<'a> {
    #[serde(borrow)]
    hash: Option<Text<'a>>,
    #[serde(borrow, rename = "type")]
    tx_type: Option<Text<'a>>,
    #[serde(borrow)]
    chain_id: Option<Text<'a>>,
    #[serde(borrow)]
    nonce: Option<Text<'a>>,
    #[serde(borrow)]
    from: Option<Text<'a>>,
    #[serde(borrow)]
    to: Option<Text<'a>>,
    #[serde(borrow)]
    value: Option<Text<'a>>,
    #[serde(borrow)]
    gas: Option<Text<'a>>,
    #[serde(borrow)]
    gas_price: Option<Text<'a>>,
    #[serde(borrow)]
    max_fee_per_gas: Option<Text<'a>>,
    #[serde(borrow)]
    max_priority_fee_per_gas: Option<Text<'a>>,
    #[serde(borrow)]
    input: Option<Text<'a>>,
    #[serde(borrow)]
    access_list: Option<&'a RawValue>,
    #[serde(borrow)]
    v: Option<Text<'a>>,
    #[serde(borrow)]
    r: Option<Text<'a>>,
    #[serde(borrow)]
    s: Option<Text<'a>>,
    #[serde(borrow)]
    y_parity: Option<Text<'a>>,
    #[serde(borrow)]
    number: Option<Text<'a>>,
    #[serde(borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    base_fee_per_gas: Option<Text<'a>>,
    parent_hash: Option<IgnoredAny>,
    miner: Option<IgnoredAny>,
}

/// Decode one node frame (a WebSocket text message) into a borrowed, typed view.
///
/// A subscription result is told apart by shape, not by subscription id: a transaction has
/// `input`, a header has `parentHash` or `miner`. Never panics. The common pending tx (empty
/// access list) does not allocate; serde_json itself allocates a few bytes of scratch when it
/// skips or captures a value nested two deep (a non-empty `accessList`, a header's
/// `withdrawals`).
pub fn parse_frame(frame: &[u8]) -> Result<Frame<'_>, WireError> {
    let message: Message<'_> = serde_json::from_slice(frame).map_err(|_| WireError::Json)?;
    match optional(message.method, "method")? {
        Some("eth_subscription") => {}
        Some(_) => return Err(WireError::NotSubscription),
        None => {
            let id = message.id.ok_or(WireError::NotSubscription)?;
            return Ok(Frame::Reply {
                id,
                result: message.result,
                error: message.error,
            });
        }
    }
    let params = message.params.ok_or(WireError::MissingField("params"))?;
    let subscription = required(params.subscription, "subscription")?;
    match params.result.ok_or(WireError::MissingField("result"))? {
        SubResult::Text => Err(WireError::HashOnly),
        SubResult::Object(object) if object.input.is_some() => Ok(Frame::PendingTx {
            subscription,
            tx: tx_view(&object)?,
        }),
        SubResult::Object(object) if object.parent_hash.is_some() || object.miner.is_some() => {
            Ok(Frame::NewHead {
                subscription,
                head: head_view(&object)?,
            })
        }
        SubResult::Object(_) => Err(WireError::UnknownShape),
    }
}

/// A required quantity that fits in `u64`.
fn req_u64(text: Option<Text<'_>>, field: &'static str) -> Result<u64, WireError> {
    parse_u64(required(text, field)?, field)
}

/// An optional quantity that fits in `u64`.
fn opt_u64(text: Option<Text<'_>>, field: &'static str) -> Result<Option<u64>, WireError> {
    optional(text, field)?
        .map(|s| parse_u64(s, field))
        .transpose()
}

/// An optional quantity that fits in `u128`.
fn opt_u128(text: Option<Text<'_>>, field: &'static str) -> Result<Option<u128>, WireError> {
    optional(text, field)?
        .map(|s| parse_u128(s, field))
        .transpose()
}

/// An optional 20-byte address.
fn opt_address(text: Option<Text<'_>>, field: &'static str) -> Result<Option<Address>, WireError> {
    optional(text, field)?
        .map(|s| parse_fixed::<20>(s, field).map(Address::from))
        .transpose()
}

/// A required 32-byte hash.
fn req_b256(text: Option<Text<'_>>, field: &'static str) -> Result<B256, WireError> {
    parse_fixed::<32>(required(text, field)?, field).map(B256::from)
}

/// A small integer field (`type`, `yParity`) with an upper bound.
fn opt_small(
    text: Option<Text<'_>>,
    field: &'static str,
    max: u8,
) -> Result<Option<u8>, WireError> {
    match opt_u64(text, field)? {
        None => Ok(None),
        Some(n) => u8::try_from(n)
            .ok()
            .filter(|&n| n <= max)
            .map(Some)
            .ok_or(WireError::BadNumber(field)),
    }
}

/// The transaction view of a result object that has `input`.
fn tx_view<'a>(o: &ResultObject<'a>) -> Result<TxView<'a>, WireError> {
    let input_hex = strip_0x(required(o.input, "input")?, "input")?;
    if !input_hex.len().is_multiple_of(2) {
        return Err(WireError::BadHex("input"));
    }
    let y_parity = opt_small(o.y_parity, "yParity", 1)?;
    let v = match (opt_u64(o.v, "v")?, y_parity) {
        (Some(v), _) => v,
        (None, Some(parity)) => u64::from(parity),
        (None, None) => return Err(WireError::MissingField("v")),
    };
    Ok(TxView {
        hash: req_b256(o.hash, "hash")?,
        tx_type: opt_small(o.tx_type, "type", u8::MAX)?.unwrap_or(0),
        chain_id: opt_u64(o.chain_id, "chainId")?,
        nonce: req_u64(o.nonce, "nonce")?,
        from: opt_address(o.from, "from")?,
        to: opt_address(o.to, "to")?,
        value: parse_u256(required(o.value, "value")?, "value")?,
        gas: req_u64(o.gas, "gas")?,
        gas_price: opt_u128(o.gas_price, "gasPrice")?,
        max_fee_per_gas: opt_u128(o.max_fee_per_gas, "maxFeePerGas")?,
        max_priority_fee_per_gas: opt_u128(o.max_priority_fee_per_gas, "maxPriorityFeePerGas")?,
        input_hex,
        access_list: o.access_list,
        y_parity,
        v,
        r: parse_u256(required(o.r, "r")?, "r")?,
        s: parse_u256(required(o.s, "s")?, "s")?,
    })
}

/// The header view of a result object that has `parentHash` or `miner`.
fn head_view(o: &ResultObject<'_>) -> Result<HeadView, WireError> {
    Ok(HeadView {
        number: req_u64(o.number, "number")?,
        hash: req_b256(o.hash, "hash")?,
        timestamp: req_u64(o.timestamp, "timestamp")?,
        base_fee_per_gas: opt_u128(o.base_fee_per_gas, "baseFeePerGas")?,
    })
}
