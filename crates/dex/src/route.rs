//! Shared shapes for decoded swaps: the packed V3 path, swap legs, and the fixed-capacity set of
//! legs one transaction carries, plus the ABI word readers the router decoders share.
//!
//! Everything here borrows from the calldata and never allocates. A decoder
//! ([`crate::router_v3::decode_swap_router`], [`crate::universal::decode_universal`]) fills one
//! [`DecodedSwaps`] per pending transaction; the engine then applies its legs, in order, to pool
//! snapshots.
//!
//! **Invariant:** a [`V3PathView`] always holds `20 + 23·k` bytes with `1 ≤ k ≤`
//! [`MAX_V3_HOPS`]; a [`DecodedSwaps`] holds at most [`MAX_LEGS`] legs.

use kestrel_types::{Address, B256, SkipReason, U256};

use crate::router::{MAX_PATH, PathView, SwapKind};

/// The most V3 hops the engine evaluates: the same three hops as [`MAX_PATH`] allows V2 paths.
pub const MAX_V3_HOPS: usize = MAX_PATH - 1;

/// The most swap legs one transaction may carry before it is a
/// [`SkipReason::TooManyLegs`].
pub const MAX_LEGS: usize = 8;

/// The most [`RevertSpan`]s one transaction may carry: distinct nested leg ranges over
/// [`MAX_LEGS`] legs number at most `2 · MAX_LEGS - 1`.
pub const MAX_SPANS: usize = 2 * MAX_LEGS;

/// Universal Router amount sentinel: "the router's whole balance of the token" (`1 << 255`).
/// SwapRouter02 uses `0` for the same purpose.
pub const CONTRACT_BALANCE: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);

/// Recipient sentinel of SwapRouter02 and the Universal Router: the transaction's sender.
pub const MSG_SENDER: Address = Address::with_last_byte(1);

/// Recipient sentinel of SwapRouter02 and the Universal Router: the router itself.
pub const ADDRESS_THIS: Address = Address::with_last_byte(2);

const ADDR_BYTES: usize = 20;
const FEE_BYTES: usize = 3;
const HOP_BYTES: usize = ADDR_BYTES + FEE_BYTES;

/// One V3 pool on a path: the pool is `(token_in, token_out, fee)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V3Hop {
    /// The token paid into the pool.
    pub token_in: Address,
    /// The pool's fee in hundredths of a basis point (a `uint24`).
    pub fee: u32,
    /// The token paid out of the pool.
    pub token_out: Address,
}

impl V3Hop {
    /// The same pool traded the other way.
    pub const fn reversed(self) -> Self {
        Self {
            token_in: self.token_out,
            fee: self.fee,
            token_out: self.token_in,
        }
    }
}

/// A borrowed V3 packed path, `token(20) | fee(3) | token(20) | ...`, as the V3 routers encode
/// it.
///
/// The view reads hops in **encoding order**: hop `i` is `(token i, fee i, token i+1)`. For an
/// exact-input swap that is the trade order. Exact-output paths are encoded **reversed**
/// (`tokenOut` first, `tokenIn` last), so their trade order is the encoding read backwards with
/// each hop flipped; [`V3Route::hops`] does that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V3PathView<'a> {
    bytes: &'a [u8],
}

impl<'a> V3PathView<'a> {
    /// Validates a packed path.
    ///
    /// Errors: a length other than `20 + 23·k` with `k ≥ 1` is `MalformedCalldata`; more than
    /// [`MAX_V3_HOPS`] hops is `PathTooLong`.
    pub fn new(bytes: &'a [u8]) -> Result<Self, SkipReason> {
        let body = bytes
            .len()
            .checked_sub(ADDR_BYTES)
            .ok_or(SkipReason::MalformedCalldata)?;
        if body == 0 || body % HOP_BYTES != 0 {
            return Err(SkipReason::MalformedCalldata);
        }
        if body / HOP_BYTES > MAX_V3_HOPS {
            return Err(SkipReason::PathTooLong);
        }
        Ok(Self { bytes })
    }

    /// The packed bytes, as in the calldata.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of pools on the path (1 to [`MAX_V3_HOPS`]).
    pub fn hop_count(&self) -> usize {
        self.bytes.len().saturating_sub(ADDR_BYTES) / HOP_BYTES
    }

    /// The `i`-th token in encoding order (`0..=hop_count()`), or `None` past the end.
    pub fn token(&self, i: usize) -> Option<Address> {
        let start = i.checked_mul(HOP_BYTES)?;
        let end = start.checked_add(ADDR_BYTES)?;
        self.bytes.get(start..end).map(Address::from_slice)
    }

    /// The `i`-th hop in encoding order, or `None` past the end.
    pub fn hop(&self, i: usize) -> Option<V3Hop> {
        let start = i.checked_mul(HOP_BYTES)?;
        let fee_at = start.checked_add(ADDR_BYTES)?;
        let fee = self.bytes.get(fee_at..fee_at.checked_add(FEE_BYTES)?)?;
        let fee = fee.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        Some(V3Hop {
            token_in: self.token(i)?,
            fee,
            token_out: self.token(i.checked_add(1)?)?,
        })
    }

    /// The hops in encoding order.
    pub fn iter(&self) -> V3Hops<'a> {
        V3Hops::over(HopSource::Path(*self), false)
    }
}

/// The pools one V3 leg trades through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V3Route<'a> {
    /// One pool named by the call's struct (`exactInputSingle`, `exactOutputSingle`), already in
    /// trade order.
    Single(V3Hop),
    /// A packed path. `reversed` is true for exact-output swaps, whose path is encoded tokenOut
    /// first.
    Path {
        /// The path as encoded.
        path: V3PathView<'a>,
        /// The encoding is the trade order reversed.
        reversed: bool,
    },
}

impl<'a> V3Route<'a> {
    /// The hops in **trade order**: the first one takes the user's input token.
    pub fn hops(&self) -> V3Hops<'a> {
        match *self {
            V3Route::Single(hop) => V3Hops::over(HopSource::Single(hop), false),
            V3Route::Path { path, reversed } => V3Hops::over(HopSource::Path(path), reversed),
        }
    }

    /// Number of pools.
    pub fn hop_count(&self) -> usize {
        match self {
            V3Route::Single(_) => 1,
            V3Route::Path { path, .. } => path.hop_count(),
        }
    }

    /// The token the user pays in.
    pub fn token_in(&self) -> Option<Address> {
        self.hops().next().map(|h| h.token_in)
    }

    /// The token the user receives.
    pub fn token_out(&self) -> Option<Address> {
        self.hops().next_back().map(|h| h.token_out)
    }
}

#[derive(Clone, Copy, Debug)]
enum HopSource<'a> {
    Single(V3Hop),
    Path(V3PathView<'a>),
}

/// Iterator over V3 hops; see [`V3PathView::iter`] and [`V3Route::hops`].
#[derive(Clone, Debug)]
pub struct V3Hops<'a> {
    source: HopSource<'a>,
    reversed: bool,
    front: usize,
    back: usize,
}

impl<'a> V3Hops<'a> {
    fn over(source: HopSource<'a>, reversed: bool) -> Self {
        let back = match source {
            HopSource::Single(_) => 1,
            HopSource::Path(path) => path.hop_count(),
        };
        Self {
            source,
            reversed,
            front: 0,
            back,
        }
    }

    /// The `i`-th hop of the iteration order.
    fn at(&self, i: usize) -> Option<V3Hop> {
        match self.source {
            HopSource::Single(hop) => (i == 0).then_some(hop),
            HopSource::Path(path) if self.reversed => {
                let encoded = path.hop_count().checked_sub(i + 1)?;
                path.hop(encoded).map(V3Hop::reversed)
            }
            HopSource::Path(path) => path.hop(i),
        }
    }
}

impl Iterator for V3Hops<'_> {
    type Item = V3Hop;

    fn next(&mut self) -> Option<V3Hop> {
        if self.front >= self.back {
            return None;
        }
        let hop = self.at(self.front);
        self.front += 1;
        hop
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back.saturating_sub(self.front);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for V3Hops<'_> {
    fn next_back(&mut self) -> Option<V3Hop> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.at(self.back)
    }
}

impl ExactSizeIterator for V3Hops<'_> {}

/// `Constants.PRICE_PRECISION` of the Universal Router: per-hop prices are `1e36`-scaled.
pub const HOP_PRICE_PRECISION: U256 =
    U256::from_limbs([0xb34b_9f10_0000_0000, 0x00c0_97ce_7bc9_0715, 0, 0]);

/// A borrowed view over the words of the Universal Router 2.1+ `uint256[] minHopPriceX36`: one
/// price floor per hop, **in trade order** (entry 0 is the hop that takes the user's input, for
/// exact output too, whose path is encoded reversed), each `amountOut · 1e36 / amountIn` of that
/// hop. Empty (the default, and for every other router and version) disables the checks.
///
/// The view is only the array as encoded: whether its length matches the route's hop count is
/// the router's check at execution ([`crate::victim`] replays it), not a decoding error.
///
/// **Invariant:** `words.len()` is a multiple of 32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HopPrices<'a> {
    words: &'a [u8],
}

impl<'a> HopPrices<'a> {
    /// Wraps the array's element words. Errors with `MalformedCalldata` unless `words` is a
    /// whole number of 32-byte words.
    pub fn new(words: &'a [u8]) -> Result<Self, SkipReason> {
        if !words.len().is_multiple_of(abi::WORD) {
            return Err(SkipReason::MalformedCalldata);
        }
        Ok(Self { words })
    }

    /// Number of entries (the array's `length`).
    pub fn len(&self) -> usize {
        self.words.len() / abi::WORD
    }

    /// True when the array is empty: the router skips every per-hop check.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The floor of trade hop `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<U256> {
        let start = i.checked_mul(abi::WORD)?;
        let word = self.words.get(start..start.checked_add(abi::WORD)?)?;
        word.first_chunk::<{ abi::WORD }>()
            .map(|w| U256::from_be_bytes(*w))
    }

    /// The floors in trade order.
    pub fn iter(&self) -> impl Iterator<Item = U256> + 'a {
        self.words
            .chunks_exact(abi::WORD)
            .filter_map(|w| w.first_chunk::<{ abi::WORD }>())
            .map(|w| U256::from_be_bytes(*w))
    }
}

/// The pools a swap leg goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// Uniswap V2 pairs along an `address[]` path, first token in, last token out.
    V2(PathView<'a>),
    /// Uniswap V3 pools.
    V3(V3Route<'a>),
}

/// Where a leg's exact amount comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountSource {
    /// The amount is the number in the calldata.
    Given,
    /// A sentinel: the router swaps its whole balance of the input token, whatever earlier legs
    /// (or a wrap) left there. Universal Router: [`CONTRACT_BALANCE`]; SwapRouter02: `0`.
    ContractBalance,
    /// Universal Router V2 exact-in with `amountIn = 0`: an earlier command already paid the
    /// first pair, and the amount is that pair's surplus balance.
    AlreadyPaid,
}

/// Who receives a leg's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// A plain address.
    Account(Address),
    /// The transaction's sender ([`MSG_SENDER`] on SwapRouter02 and the Universal Router).
    Sender,
    /// The router keeps the output for a later call or command ([`ADDRESS_THIS`] on
    /// SwapRouter02 and the Universal Router, `address(0)` on the V3 SwapRouter).
    Router,
}

/// One V2 or V3 swap, as the router will execute it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Swap<'a> {
    /// The pools, with the tokens in trade order.
    pub route: Route<'a>,
    /// Which side is exact.
    pub kind: SwapKind,
    /// ExactIn: the exact input (`amountIn`). ExactOut: the exact output (`amountOut`).
    /// Meaningful only when `amount_source` is [`AmountSource::Given`].
    pub amount: U256,
    /// ExactIn: the output floor (`amountOutMinimum`). ExactOut: the input ceiling
    /// (`amountInMaximum`).
    pub limit: U256,
    /// Whether `amount` is a number or a sentinel.
    pub amount_source: AmountSource,
    /// Who receives the output.
    pub recipient: Recipient,
    /// The sender pays the input (Universal Router `payerIsUser`; for the swap routers, true
    /// unless the router spends its own balance).
    pub payer_is_user: bool,
    /// `sqrtPriceLimitX96` of the single-pool V3 calls; `0` means no limit (and for every other
    /// leg).
    pub sqrt_price_limit_x96: U256,
    /// The Universal Router allow-revert flag of the command (or of the sub-plan holding it).
    /// Only a sub-plan isolates a failing swap: a swap command that reverts inside the router
    /// reverts the whole transaction whatever its own flag.
    pub allow_revert: bool,
    /// Universal Router 2.1+ per-hop price floors (`minHopPriceX36`), in trade order; empty for
    /// every other router and version, and when the command disables them.
    pub min_hop_prices: HopPrices<'a>,
}

impl Swap<'_> {
    /// The token the user pays in.
    pub fn token_in(&self) -> Option<Address> {
        match self.route {
            Route::V2(path) => path.first(),
            Route::V3(route) => route.token_in(),
        }
    }

    /// The token the user receives.
    pub fn token_out(&self) -> Option<Address> {
        match self.route {
            Route::V2(path) => path.last(),
            Route::V3(route) => route.token_out(),
        }
    }
}

/// One leg of a decoded transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapLeg<'a> {
    /// A V2 or V3 swap the engine can replay on its snapshots.
    Swap(Swap<'a>),
    /// A Universal Router `V4_SWAP`, kept raw (`abi.encode(bytes actions, bytes[] params)`).
    /// The engine counts it as [`SkipReason::UnsupportedV4`] until V4 pools are supported.
    V4 {
        /// The command's input bytes.
        input: &'a [u8],
        /// The command's allow-revert flag.
        allow_revert: bool,
    },
}

/// Legs `first..end` of a transaction that run inside a Universal Router `EXECUTE_SUB_PLAN`
/// carrying the allow-revert flag and holding nothing but swaps (at any depth). The sub-plan is
/// a call the router makes to itself: if any of these legs reverts, every state change the
/// sub-plan made is undone and the transaction goes on with the command after it.
///
/// A flagged sub-plan that also holds other commands (a wrap, a payment, a balance check) is not
/// a span: whether it succeeds depends on what the engine does not model, so a failing leg in it
/// stays a revert of the whole victim (a skip), as does a swap command's own flag outside a
/// sub-plan (the swap reverts the router's whole call whatever its flag).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevertSpan {
    /// The first leg inside the sub-plan.
    pub first: usize,
    /// One past the last leg inside it.
    pub end: usize,
}

/// Every swap one transaction makes, in execution order, and the transaction-level facts that
/// decide whether it can succeed. Fixed capacity ([`MAX_LEGS`]), no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodedSwaps<'a> {
    legs: [Option<SwapLeg<'a>>; MAX_LEGS],
    len: usize,
    spans: [RevertSpan; MAX_SPANS],
    span_count: usize,
    /// The transaction's ETH value.
    pub value: U256,
    /// The earliest deadline the transaction checks (unix seconds), if any.
    pub deadline: Option<U256>,
    /// SwapRouter02 `multicall(bytes32 previousBlockhash, ...)`: the transaction reverts unless
    /// it lands in the block after this one.
    pub previous_blockhash: Option<B256>,
    /// The amount of ETH the router wraps into WETH (Universal Router `WRAP_ETH`, SwapRouter02
    /// `wrapETH`), if any; the last such call wins. May be [`CONTRACT_BALANCE`].
    pub wrap_eth: Option<U256>,
    /// The floor on the WETH the router unwraps to ETH (`unwrapWETH9*`, `UNWRAP_WETH`), if any;
    /// the last such call wins.
    pub unwrap_weth_min: Option<U256>,
    /// Known calls or commands that move no pool (payments, permits, sweeps, checks), passed
    /// over. Saturates at 255.
    pub helpers: u8,
    /// Known calls or commands that add or remove pool liquidity (position-manager calls),
    /// which the engine's pool deltas do not model. Saturates at 255.
    pub liquidity_ops: u8,
    /// Calls or commands the decoder does not know, counted and passed over. Saturates at 255.
    pub unknown: u8,
}

impl<'a> DecodedSwaps<'a> {
    /// An empty set for a transaction carrying `value` wei.
    pub const fn new(value: U256) -> Self {
        Self {
            legs: [None; MAX_LEGS],
            len: 0,
            spans: [RevertSpan { first: 0, end: 0 }; MAX_SPANS],
            span_count: 0,
            value,
            deadline: None,
            previous_blockhash: None,
            wrap_eth: None,
            unwrap_weth_min: None,
            helpers: 0,
            liquidity_ops: 0,
            unknown: 0,
        }
    }

    /// Appends a leg. Errors with `TooManyLegs` past [`MAX_LEGS`].
    pub fn push(&mut self, leg: SwapLeg<'a>) -> Result<(), SkipReason> {
        let slot = self.legs.get_mut(self.len).ok_or(SkipReason::TooManyLegs)?;
        *slot = Some(leg);
        self.len += 1;
        Ok(())
    }

    /// Number of legs.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no leg was decoded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `i`-th leg, in execution order.
    pub fn get(&self, i: usize) -> Option<&SwapLeg<'a>> {
        self.legs.get(i).and_then(Option::as_ref)
    }

    /// The legs in execution order.
    pub fn legs(&self) -> impl Iterator<Item = &SwapLeg<'a>> {
        self.legs.iter().map_while(Option::as_ref)
    }

    /// The V2 and V3 swaps in execution order (V4 legs left out).
    pub fn swaps(&self) -> impl Iterator<Item = &Swap<'a>> {
        self.legs().filter_map(|leg| match leg {
            SwapLeg::Swap(swap) => Some(swap),
            SwapLeg::V4 { .. } => None,
        })
    }

    /// The sub-plans whose legs may revert without reverting the transaction, each a distinct
    /// non-empty leg range; ranges nest or are disjoint, and an inner one comes before the one
    /// holding it.
    pub fn revert_spans(&self) -> &[RevertSpan] {
        self.spans.get(..self.span_count).unwrap_or(&[])
    }

    /// Marks legs `first..` (up to the last leg pushed) as one [`RevertSpan`]. An empty range,
    /// or the same range as the span just recorded (a flagged sub-plan holding only a flagged
    /// sub-plan), adds nothing.
    pub(crate) fn isolate(&mut self, first: usize) -> Result<(), SkipReason> {
        let span = RevertSpan {
            first,
            end: self.len,
        };
        if first >= span.end || self.revert_spans().last() == Some(&span) {
            return Ok(());
        }
        let slot = self
            .spans
            .get_mut(self.span_count)
            .ok_or(SkipReason::TooManyLegs)?;
        *slot = span;
        self.span_count += 1;
        Ok(())
    }

    /// Number of V4 legs.
    pub fn v4_legs(&self) -> usize {
        self.legs()
            .filter(|leg| matches!(leg, SwapLeg::V4 { .. }))
            .count()
    }

    /// Keeps the earliest of the deadlines seen.
    pub(crate) fn note_deadline(&mut self, deadline: U256) {
        self.deadline = Some(self.deadline.map_or(deadline, |d| d.min(deadline)));
    }

    pub(crate) fn count_helper(&mut self) {
        self.helpers = self.helpers.saturating_add(1);
    }

    pub(crate) fn count_liquidity_op(&mut self) {
        self.liquidity_ops = self.liquidity_ops.saturating_add(1);
    }

    pub(crate) fn count_unknown(&mut self) {
        self.unknown = self.unknown.saturating_add(1);
    }

    /// The decoder's verdict: no leg at all is `UnknownCommand` when something unknown was seen
    /// (it may have been a swap), otherwise `NotSwap`.
    pub(crate) fn finish(self) -> Result<Self, SkipReason> {
        match (self.is_empty(), self.unknown) {
            (false, _) => Ok(self),
            (true, 0) => Err(SkipReason::NotSwap),
            (true, _) => Err(SkipReason::UnknownCommand),
        }
    }
}

/// Bounds-checked ABI word readers over borrowed calldata. Every failure is
/// `MalformedCalldata`; nothing panics on any input.
pub(crate) mod abi {
    use kestrel_types::{Address, B256, SkipReason, U256};

    /// ABI word size in bytes.
    pub(crate) const WORD: usize = 32;

    const BAD: SkipReason = SkipReason::MalformedCalldata;

    fn word_at_byte(data: &[u8], at: usize) -> Result<&[u8; WORD], SkipReason> {
        let end = at.checked_add(WORD).ok_or(BAD)?;
        data.get(at..end)
            .and_then(|w| w.first_chunk::<WORD>())
            .ok_or(BAD)
    }

    /// The `index`-th head word.
    pub(crate) fn word(data: &[u8], index: usize) -> Result<&[u8; WORD], SkipReason> {
        word_at_byte(data, index.checked_mul(WORD).ok_or(BAD)?)
    }

    /// A word whose value must be below `2^bits` (ABI `uintN`, `address`, `bool`).
    fn narrow(data: &[u8], index: usize, bits: usize) -> Result<U256, SkipReason> {
        let value = U256::from_be_bytes(*word(data, index)?);
        if value.bit_len() > bits {
            return Err(BAD);
        }
        Ok(value)
    }

    pub(crate) fn uint(data: &[u8], index: usize) -> Result<U256, SkipReason> {
        word(data, index).map(|w| U256::from_be_bytes(*w))
    }

    pub(crate) fn uint160(data: &[u8], index: usize) -> Result<U256, SkipReason> {
        narrow(data, index, 160)
    }

    pub(crate) fn uint24(data: &[u8], index: usize) -> Result<u32, SkipReason> {
        u32::try_from(narrow(data, index, 24)?).map_err(|_| BAD)
    }

    pub(crate) fn b256(data: &[u8], index: usize) -> Result<B256, SkipReason> {
        word(data, index).map(|w| B256::from(*w))
    }

    /// An `address` word: the upper 12 bytes must be zero.
    pub(crate) fn address(data: &[u8], index: usize) -> Result<Address, SkipReason> {
        let w = word(data, index)?;
        let (upper, low) = w.split_at(WORD - 20);
        if upper.iter().any(|&b| b != 0) {
            return Err(BAD);
        }
        Ok(Address::from_slice(low))
    }

    /// A `bool` word: exactly 0 or 1, as `abi.decode` requires.
    pub(crate) fn boolean(data: &[u8], index: usize) -> Result<bool, SkipReason> {
        Ok(!narrow(data, index, 1)?.is_zero())
    }

    /// A word holding an offset or a length, at byte `at`: it must fit in 32 bits.
    pub(crate) fn small_at_byte(data: &[u8], at: usize) -> Result<usize, SkipReason> {
        let w = word_at_byte(data, at)?;
        let (upper, low) = w.split_at(WORD - 4);
        if upper.iter().any(|&b| b != 0) {
            return Err(BAD);
        }
        let mut be = [0u8; 4];
        be.copy_from_slice(low);
        usize::try_from(u32::from_be_bytes(be)).map_err(|_| BAD)
    }

    /// The head word `index` read as a byte offset into `data`.
    pub(crate) fn offset(data: &[u8], index: usize) -> Result<usize, SkipReason> {
        small_at_byte(data, index.checked_mul(WORD).ok_or(BAD)?)
    }

    /// The tail that head word `index` points at (a dynamic tuple's encoding).
    pub(crate) fn tail(data: &[u8], index: usize) -> Result<&[u8], SkipReason> {
        data.get(offset(data, index)?..).ok_or(BAD)
    }

    /// The dynamic `bytes` whose offset is head word `index`.
    pub(crate) fn bytes(data: &[u8], index: usize) -> Result<&[u8], SkipReason> {
        let at = offset(data, index)?;
        let len = small_at_byte(data, at)?;
        let start = at.checked_add(WORD).ok_or(BAD)?;
        let end = start.checked_add(len).ok_or(BAD)?;
        data.get(start..end).ok_or(BAD)
    }

    /// The element words of the `uint256[]` whose offset is head word `index`: `32 · length`
    /// bytes, all inside `data`.
    pub(crate) fn uint_array(data: &[u8], index: usize) -> Result<&[u8], SkipReason> {
        let at = offset(data, index)?;
        let len = small_at_byte(data, at)?;
        let start = at.checked_add(WORD).ok_or(BAD)?;
        let end = start
            .checked_add(len.checked_mul(WORD).ok_or(BAD)?)
            .ok_or(BAD)?;
        data.get(start..end).ok_or(BAD)
    }

    /// A borrowed `bytes[]`: element offsets are relative to the word after the length.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct BytesArray<'a> {
        elements: &'a [u8],
        len: usize,
    }

    impl<'a> BytesArray<'a> {
        /// Number of elements.
        pub(crate) fn len(&self) -> usize {
            self.len
        }

        /// The `i`-th element.
        pub(crate) fn get(&self, i: usize) -> Result<&'a [u8], SkipReason> {
            if i >= self.len {
                return Err(BAD);
            }
            bytes(self.elements, i)
        }
    }

    /// The `bytes[]` whose offset is head word `index`. All element offsets must be present.
    pub(crate) fn bytes_array(data: &[u8], index: usize) -> Result<BytesArray<'_>, SkipReason> {
        let at = offset(data, index)?;
        let len = small_at_byte(data, at)?;
        let elements = data.get(at.checked_add(WORD).ok_or(BAD)?..).ok_or(BAD)?;
        if len.checked_mul(WORD).ok_or(BAD)? > elements.len() {
            return Err(BAD);
        }
        Ok(BytesArray { elements, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tokens` packed with `fees` between them, written out by hand.
    fn packed(tokens: &[u8], fees: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &t) in tokens.iter().enumerate() {
            out.extend_from_slice(Address::with_last_byte(t).as_slice());
            if let Some(fee) = fees.get(i) {
                out.extend_from_slice(&fee.to_be_bytes()[1..]);
            }
        }
        out
    }

    #[test]
    fn path_hops_in_encoding_and_trade_order() {
        let bytes = packed(&[1, 2, 3], &[500, 0xabcdef]);
        let path = V3PathView::new(&bytes).unwrap();
        assert_eq!(path.hop_count(), 2);
        assert_eq!(path.token(0), Some(Address::with_last_byte(1)));
        assert_eq!(path.token(2), Some(Address::with_last_byte(3)));
        assert_eq!(path.token(3), None);
        let hops: Vec<_> = path.iter().collect();
        assert_eq!(
            hops,
            [
                V3Hop {
                    token_in: Address::with_last_byte(1),
                    fee: 500,
                    token_out: Address::with_last_byte(2)
                },
                V3Hop {
                    token_in: Address::with_last_byte(2),
                    fee: 0xabcdef,
                    token_out: Address::with_last_byte(3)
                },
            ]
        );
        // Exact output: encoded 1 <- 2 <- 3, so the user pays token 3 and receives token 1.
        let route = V3Route::Path {
            path,
            reversed: true,
        };
        let trade: Vec<_> = route.hops().collect();
        assert_eq!(trade, [hops[1].reversed(), hops[0].reversed()]);
        assert_eq!(route.token_in(), Some(Address::with_last_byte(3)));
        assert_eq!(route.token_out(), Some(Address::with_last_byte(1)));
        assert_eq!(route.hops().len(), 2);
        assert_eq!(route.hops().rev().count(), 2);
    }

    #[test]
    fn path_lengths_are_checked() {
        for (len, expected) in [
            (0, Err(SkipReason::MalformedCalldata)),
            (20, Err(SkipReason::MalformedCalldata)),
            (42, Err(SkipReason::MalformedCalldata)),
            (44, Err(SkipReason::MalformedCalldata)),
            (43, Ok(1)),
            (66, Ok(2)),
            (89, Ok(3)),
            (112, Err(SkipReason::PathTooLong)),
            (113, Err(SkipReason::MalformedCalldata)),
        ] {
            let bytes = vec![7u8; len];
            assert_eq!(
                V3PathView::new(&bytes).map(|p| p.hop_count()),
                expected,
                "length {len}"
            );
        }
    }

    #[test]
    fn legs_are_bounded_and_deadline_keeps_the_earliest() {
        let mut set = DecodedSwaps::new(U256::ZERO);
        assert_eq!(set.finish(), Err(SkipReason::NotSwap));
        set.count_unknown();
        assert_eq!(set.finish(), Err(SkipReason::UnknownCommand));
        let leg = SwapLeg::V4 {
            input: &[],
            allow_revert: false,
        };
        for _ in 0..MAX_LEGS {
            set.push(leg).unwrap();
        }
        assert_eq!(set.push(leg), Err(SkipReason::TooManyLegs));
        assert_eq!(set.len(), MAX_LEGS);
        assert_eq!(set.legs().count(), MAX_LEGS);
        assert_eq!(set.v4_legs(), MAX_LEGS);
        assert_eq!(set.swaps().count(), 0);
        set.note_deadline(U256::from(9));
        set.note_deadline(U256::from(5));
        set.note_deadline(U256::from(7));
        assert_eq!(set.deadline, Some(U256::from(5)));
    }

    #[test]
    fn sentinels_have_their_documented_values() {
        assert_eq!(CONTRACT_BALANCE, U256::from(1) << 255);
        assert_eq!(HOP_PRICE_PRECISION, U256::from(10u8).pow(U256::from(36u8)));
        assert_eq!(
            MSG_SENDER,
            "0x0000000000000000000000000000000000000001"
                .parse::<Address>()
                .unwrap()
        );
        assert_eq!(
            ADDRESS_THIS,
            "0x0000000000000000000000000000000000000002"
                .parse::<Address>()
                .unwrap()
        );
    }

    #[test]
    fn hop_prices_view_whole_words_only() {
        let mut words = [0u8; 64];
        words[31] = 7;
        words[32] = 0x80;
        let prices = HopPrices::new(&words).unwrap();
        assert_eq!(prices.len(), 2);
        assert_eq!(prices.get(0), Some(U256::from(7)));
        assert_eq!(prices.get(1), Some(U256::ONE << 255));
        assert_eq!(prices.get(2), None);
        assert_eq!(prices.get(usize::MAX), None);
        assert_eq!(
            prices.iter().collect::<Vec<_>>(),
            [U256::from(7), U256::ONE << 255]
        );
        assert!(HopPrices::default().is_empty());
        assert_eq!(
            HopPrices::new(&words[..40]),
            Err(SkipReason::MalformedCalldata)
        );
        // A uint256[] of two words at offset 0x20; then its length and end out of range.
        let mut data = [0u8; 128];
        data[31] = 0x20;
        data[63] = 2;
        assert_eq!(abi::uint_array(&data, 0).map(<[u8]>::len), Ok(64));
        data[63] = 3;
        assert_eq!(
            abi::uint_array(&data, 0),
            Err(SkipReason::MalformedCalldata)
        );
        data[60] = 0xff;
        assert_eq!(
            abi::uint_array(&data, 0),
            Err(SkipReason::MalformedCalldata)
        );
        data[31] = 0x70;
        assert_eq!(
            abi::uint_array(&data, 0),
            Err(SkipReason::MalformedCalldata)
        );
    }

    #[test]
    fn abi_readers_reject_dirty_and_out_of_range_words() {
        let mut data = [0u8; 64];
        data[31] = 2;
        assert_eq!(abi::boolean(&data, 0), Err(SkipReason::MalformedCalldata));
        data[31] = 1;
        assert_eq!(abi::boolean(&data, 0), Ok(true));
        assert_eq!(abi::boolean(&data, 2), Err(SkipReason::MalformedCalldata));
        data[32 + 28] = 1; // 2^24 in word 1
        assert_eq!(abi::uint24(&data, 1), Err(SkipReason::MalformedCalldata));
        // 2^160 sets the lowest of the upper 12 bytes: too wide for both address and uint160.
        data[32 + 11] = 1;
        assert_eq!(abi::address(&data, 1), Err(SkipReason::MalformedCalldata));
        assert_eq!(abi::uint160(&data, 1), Err(SkipReason::MalformedCalldata));
        data[32 + 11] = 0;
        data[32 + 12] = 1;
        assert!(abi::address(&data, 1).is_ok());
        assert_eq!(
            abi::uint160(&data, 1),
            Ok(U256::from(1) << 152 | U256::from(1) << 24)
        );
        assert_eq!(
            abi::word(&data, usize::MAX),
            Err(SkipReason::MalformedCalldata)
        );
        // An offset pointing past the end, and a bytes length running past it.
        let mut dynamic = [0u8; 96];
        dynamic[31] = 0x60;
        assert_eq!(abi::bytes(&dynamic, 0), Err(SkipReason::MalformedCalldata));
        dynamic[31] = 0x20;
        dynamic[63] = 33;
        assert_eq!(abi::bytes(&dynamic, 0), Err(SkipReason::MalformedCalldata));
        dynamic[63] = 32;
        assert_eq!(abi::bytes(&dynamic, 0).map(<[u8]>::len), Ok(32));
        // A bytes[] claiming more elements than there are offset words.
        dynamic[63] = 3;
        assert!(abi::bytes_array(&dynamic, 0).is_err());
    }
}
