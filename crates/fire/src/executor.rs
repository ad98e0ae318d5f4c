//! Calldata for our executor contract's two entry points:
//!
//! - `backrun(address poolBuy, address poolSell, uint256 feeNumBuy, uint256 feeNumSell,
//!   uint256 minProfit, uint256 paymentBps)`: a V2/V2 cycle the contract sizes on chain.
//! - `backrunRoute(uint256[] route, uint256 amountIn, uint256 minProfit, uint256 paymentBps)`:
//!   a 2- or 3-hop cycle through V2 pairs and V3 pools, sized off chain; `amountIn` is exactly
//!   what the contract spends. Each hop is one word (see [`RouteHop::word`]).
//!
//! The contract reverts unless the round trip nets at least `minProfit` after paying
//! `paymentBps` of the gross profit to the block's coinbase; that floor is what the ladder varies
//! from one pre-signed transaction to the next.

use alloy_primitives::{Address, U256};

/// The Solidity signature the selector is derived from.
pub const BACKRUN_SIGNATURE: &str = "backrun(address,address,uint256,uint256,uint256,uint256)";

/// First four bytes of `keccak256(BACKRUN_SIGNATURE)`; a unit test recomputes it.
pub const BACKRUN_SELECTOR: [u8; 4] = [0x28, 0xaa, 0x84, 0xc9];

/// Length of the calldata: selector plus six 32-byte words.
pub const BACKRUN_CALLDATA_LEN: usize = 4 + 6 * 32;

/// ABI-encodes a call to `backrun`. Every argument is a static type, so the encoding is the
/// selector followed by six left-padded 32-byte words.
pub fn backrun_calldata(
    pool_buy: Address,
    pool_sell: Address,
    fee_buy: u32,
    fee_sell: u32,
    min_profit: U256,
    payment_bps: u32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(BACKRUN_CALLDATA_LEN);
    out.extend_from_slice(&BACKRUN_SELECTOR);
    out.extend_from_slice(&address_word(pool_buy));
    out.extend_from_slice(&address_word(pool_sell));
    out.extend_from_slice(&U256::from(fee_buy).to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(fee_sell).to_be_bytes::<32>());
    out.extend_from_slice(&min_profit.to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(payment_bps).to_be_bytes::<32>());
    debug_assert_eq!(
        out.len(),
        BACKRUN_CALLDATA_LEN,
        "Invariant: backrun calldata is 196 bytes"
    );
    out
}

/// The Solidity signature of the route entry point.
pub const BACKRUN_ROUTE_SIGNATURE: &str = "backrunRoute(uint256[],uint256,uint256,uint256)";

/// First four bytes of `keccak256(BACKRUN_ROUTE_SIGNATURE)`; a unit test recomputes it.
pub const BACKRUN_ROUTE_SELECTOR: [u8; 4] = [0x74, 0xc1, 0x19, 0x6e];

/// Fewest hops the executor takes: WETH out and back needs two pools.
pub const MIN_ROUTE_HOPS: usize = 2;

/// Most hops the executor takes.
pub const MAX_ROUTE_HOPS: usize = 3;

/// Calldata length of a route of `hops` hops: the selector, four head words (the route's
/// offset, `amountIn`, `minProfit`, `paymentBps`), the route's length word and one word per hop.
pub const fn backrun_route_calldata_len(hops: usize) -> usize {
    4 + 32 * (5 + hops)
}

/// The longest route calldata: a buffer this long fits every route.
pub const BACKRUN_ROUTE_CALLDATA_MAX_LEN: usize = backrun_route_calldata_len(MAX_ROUTE_HOPS);

/// Hop flag: the pool is Uniswap V3 (bit 176 of the hop word).
const HOP_V3: u8 = 1;
/// Hop flag: the hop's input is the pool's token0 (bit 177 of the hop word).
const HOP_ZERO_FOR_ONE: u8 = 2;

/// Largest V2 fee numerator (the denominator is 1000).
const V2_FEE_DEN: u16 = 1000;

/// Largest `paymentBps` the executor accepts.
const MAX_PAYMENT_BPS: u32 = 10_000;

/// What kind of pool a hop trades on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HopKind {
    /// A Uniswap V2 pair (or fork); `fee_num` over 1000 is what `getAmountOut` keeps (997).
    V2 {
        /// Fee numerator, `1..=1000`.
        fee_num: u16,
    },
    /// A Uniswap V3 pool; it applies its own fee.
    V3,
}

/// One hop of a route: swap the running amount on `pool`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteHop {
    /// The pair or pool.
    pub pool: Address,
    /// V2 (with its fee) or V3.
    pub kind: HopKind,
    /// Whether the hop's input is the pool's token0 (V3's `zeroForOne`).
    pub zero_for_one: bool,
}

impl RouteHop {
    /// The hop as the executor reads it: `pool | feeNum << 160 | flags << 176`, with
    /// `flags = V3 (1) | zeroForOne (2)` and `feeNum` zero for V3.
    pub fn word(&self) -> [u8; 32] {
        let mut word = address_word(self.pool);
        let (fee_num, mut flags) = match self.kind {
            HopKind::V2 { fee_num } => (fee_num, 0),
            HopKind::V3 => (0, HOP_V3),
        };
        if self.zero_for_one {
            flags |= HOP_ZERO_FOR_ONE;
        }
        // Bytes 10..12 hold bits 160..175, byte 9 bits 176..183 (big-endian words).
        if let Some(fee) = word.get_mut(10..12) {
            fee.copy_from_slice(&fee_num.to_be_bytes());
        }
        if let Some(f) = word.get_mut(9) {
            *f = flags;
        }
        word
    }
}

/// Why a route cannot be encoded: each is a call the executor would revert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Fewer than [`MIN_ROUTE_HOPS`] or more than [`MAX_ROUTE_HOPS`] hops.
    #[error("a route has 2 or 3 hops, not {0}")]
    HopCount(usize),
    /// A V2 fee numerator outside `1..=1000`.
    #[error("V2 fee numerator {0} is outside 1..=1000")]
    V2Fee(u16),
    /// `amountIn` is zero or does not fit V3's `int256` amount.
    #[error("amountIn must be in 1..2^255")]
    Amount,
    /// `paymentBps` above 10000.
    #[error("paymentBps {0} is above 10000")]
    PaymentBps(u32),
    /// The output buffer is shorter than [`backrun_route_calldata_len`].
    #[error("calldata buffer of {have} bytes, {need} needed")]
    BufferTooSmall {
        /// Bytes the route needs.
        need: usize,
        /// Bytes the buffer has.
        have: usize,
    },
}

/// ABI-encodes a call to `backrunRoute` into the front of `out` and returns its length; the rest
/// of `out` is left as it was. No allocation: the hot path passes a buffer of
/// [`BACKRUN_ROUTE_CALLDATA_MAX_LEN`] bytes it reuses.
///
/// Checks what the executor would otherwise revert on (hop count, V2 fees, `amountIn` range,
/// `paymentBps`), so a route that encodes is one the contract accepts as well formed.
pub fn encode_backrun_route(
    out: &mut [u8],
    route: &[RouteHop],
    amount_in: U256,
    min_profit: U256,
    payment_bps: u32,
) -> Result<usize, RouteError> {
    check_route(route, amount_in, payment_bps)?;
    let need = backrun_route_calldata_len(route.len());
    let have = out.len();
    let buf = out
        .get_mut(..need)
        .ok_or(RouteError::BufferTooSmall { need, have })?;
    let (selector, words) = buf.split_at_mut(4);
    selector.copy_from_slice(&BACKRUN_ROUTE_SELECTOR);
    let mut words = words.chunks_exact_mut(32);
    // The dynamic array sits right after the four head words: its offset is 4 * 32.
    let head = [
        U256::from(4 * 32),
        amount_in,
        min_profit,
        U256::from(payment_bps),
        U256::from(route.len()),
    ];
    // `head` leads the zip: it ends first, so no hop slot is pulled and dropped.
    for (value, slot) in head.into_iter().zip(words.by_ref()) {
        slot.copy_from_slice(&value.to_be_bytes::<32>());
    }
    for (slot, hop) in words.zip(route) {
        slot.copy_from_slice(&hop.word());
    }
    Ok(need)
}

fn check_route(route: &[RouteHop], amount_in: U256, payment_bps: u32) -> Result<(), RouteError> {
    if !(MIN_ROUTE_HOPS..=MAX_ROUTE_HOPS).contains(&route.len()) {
        return Err(RouteError::HopCount(route.len()));
    }
    for hop in route {
        if let HopKind::V2 { fee_num } = hop.kind
            && (fee_num == 0 || fee_num > V2_FEE_DEN)
        {
            return Err(RouteError::V2Fee(fee_num));
        }
    }
    if amount_in.is_zero() || amount_in.bit(255) {
        return Err(RouteError::Amount);
    }
    if payment_bps > MAX_PAYMENT_BPS {
        return Err(RouteError::PaymentBps(payment_bps));
    }
    Ok(())
}

/// An address as an ABI word: twelve zero bytes, then the twenty address bytes.
fn address_word(a: Address) -> [u8; 32] {
    let mut word = [0u8; 32];
    if let Some(tail) = word.get_mut(12..) {
        tail.copy_from_slice(a.as_slice());
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;
    use alloy_sol_types::{SolCall, sol};
    use proptest::prelude::*;

    sol! {
        function backrun(address poolBuy, address poolSell, uint256 feeNumBuy, uint256 feeNumSell,
            uint256 minProfit, uint256 paymentBps);
        function backrunRoute(uint256[] route, uint256 amountIn, uint256 minProfit,
            uint256 paymentBps);
    }

    #[test]
    fn selector_is_keccak_of_the_signature() {
        let hash = keccak256(BACKRUN_SIGNATURE.as_bytes());
        assert_eq!(BACKRUN_SELECTOR, hash[..4]);
        // alloy's `sol!` derives the selector from the declaration, independently of our string.
        assert_eq!(BACKRUN_SELECTOR, backrunCall::SELECTOR);
    }

    proptest! {
        #[test]
        fn round_trips_through_alloy_abi_decoder(
            buy in any::<[u8; 20]>(), sell in any::<[u8; 20]>(),
            fee_buy in any::<u32>(), fee_sell in any::<u32>(),
            min_profit in any::<[u8; 32]>(), payment_bps in any::<u32>(),
        ) {
            let (buy, sell) = (Address::from(buy), Address::from(sell));
            let min_profit = U256::from_be_bytes(min_profit);
            let data = backrun_calldata(buy, sell, fee_buy, fee_sell, min_profit, payment_bps);
            prop_assert_eq!(data.len(), BACKRUN_CALLDATA_LEN);
            let call = backrunCall::abi_decode(&data).unwrap();
            prop_assert_eq!(call.poolBuy, buy);
            prop_assert_eq!(call.poolSell, sell);
            prop_assert_eq!(call.feeNumBuy, U256::from(fee_buy));
            prop_assert_eq!(call.feeNumSell, U256::from(fee_sell));
            prop_assert_eq!(call.minProfit, min_profit);
            prop_assert_eq!(call.paymentBps, U256::from(payment_bps));
            // And alloy's encoder produces the very same bytes.
            prop_assert_eq!(call.abi_encode(), data);
        }
    }

    #[test]
    fn route_selector_is_keccak_of_the_signature() {
        let hash = keccak256(BACKRUN_ROUTE_SIGNATURE.as_bytes());
        assert_eq!(BACKRUN_ROUTE_SELECTOR, hash[..4]);
        assert_eq!(BACKRUN_ROUTE_SELECTOR, backrunRouteCall::SELECTOR);
        assert_eq!(BACKRUN_ROUTE_CALLDATA_MAX_LEN, 4 + 8 * 32);
    }

    /// The hop word built with integer arithmetic, independently of [`RouteHop::word`]'s bytes.
    fn reference_word(hop: &RouteHop) -> U256 {
        let (fee, v3) = match hop.kind {
            HopKind::V2 { fee_num } => (u64::from(fee_num), 0u64),
            HopKind::V3 => (0, 1),
        };
        let flags = v3 + 2 * u64::from(hop.zero_for_one);
        U256::from_be_slice(hop.pool.as_slice())
            + (U256::from(fee) << 160)
            + (U256::from(flags) << 176)
    }

    fn hop_strategy() -> impl Strategy<Value = RouteHop> {
        let kind = prop_oneof![
            (1u16..=1000).prop_map(|fee_num| HopKind::V2 { fee_num }),
            Just(HopKind::V3),
        ];
        (any::<[u8; 20]>(), kind, any::<bool>()).prop_map(|(pool, kind, zero_for_one)| RouteHop {
            pool: Address::from(pool),
            kind,
            zero_for_one,
        })
    }

    proptest! {
        #[test]
        fn route_calldata_is_alloys_encoding(
            route in prop::collection::vec(hop_strategy(), 2..=3),
            amount in any::<[u8; 32]>(), min_profit in any::<[u8; 32]>(),
            payment_bps in 0u32..=10_000, junk in any::<u8>(),
        ) {
            // amountIn below 2^255, and never zero.
            let amount_in = (U256::from_be_bytes(amount) >> 1usize).max(U256::ONE);
            let min_profit = U256::from_be_bytes(min_profit);
            // A buffer longer than needed, full of junk that must survive past the calldata.
            let mut buf = [junk; BACKRUN_ROUTE_CALLDATA_MAX_LEN + 7];
            let len = encode_backrun_route(&mut buf, &route, amount_in, min_profit, payment_bps)
                .unwrap();
            prop_assert_eq!(len, backrun_route_calldata_len(route.len()));
            prop_assert!(buf[len..].iter().all(|&b| b == junk));
            let data = &buf[..len];
            let call = backrunRouteCall::abi_decode(data).unwrap();
            let words: Vec<U256> = route.iter().map(reference_word).collect();
            prop_assert_eq!(&call.route, &words);
            prop_assert_eq!(call.amountIn, amount_in);
            prop_assert_eq!(call.minProfit, min_profit);
            prop_assert_eq!(call.paymentBps, U256::from(payment_bps));
            // And alloy's encoder produces the very same bytes.
            prop_assert_eq!(call.abi_encode(), data);
        }
    }

    #[test]
    fn route_encoder_rejects_what_the_executor_reverts_on() {
        let v2 = RouteHop {
            pool: Address::repeat_byte(0x11),
            kind: HopKind::V2 { fee_num: 997 },
            zero_for_one: true,
        };
        let v3 = RouteHop {
            pool: Address::repeat_byte(0x22),
            kind: HopKind::V3,
            zero_for_one: false,
        };
        let mut buf = [0u8; BACKRUN_ROUTE_CALLDATA_MAX_LEN];
        let one = U256::ONE;
        let mut encode = |route: &[RouteHop], amount: U256, bps: u32| {
            encode_backrun_route(&mut buf, route, amount, U256::ZERO, bps)
        };
        assert_eq!(encode(&[v2], one, 0), Err(RouteError::HopCount(1)));
        assert_eq!(
            encode(&[v2, v3, v2, v3], one, 0),
            Err(RouteError::HopCount(4))
        );
        assert_eq!(encode(&[], one, 0), Err(RouteError::HopCount(0)));
        for fee_num in [0u16, 1001, u16::MAX] {
            let bad = RouteHop {
                kind: HopKind::V2 { fee_num },
                ..v2
            };
            assert_eq!(encode(&[v3, bad], one, 0), Err(RouteError::V2Fee(fee_num)));
        }
        assert_eq!(encode(&[v2, v3], U256::ZERO, 0), Err(RouteError::Amount));
        let too_big = U256::ONE << 255;
        assert_eq!(encode(&[v2, v3], too_big, 0), Err(RouteError::Amount));
        assert_eq!(encode(&[v2, v3], too_big - one, 10_000), Ok(4 + 7 * 32));
        assert_eq!(
            encode(&[v2, v3], one, 10_001),
            Err(RouteError::PaymentBps(10_001))
        );
        let mut short = [0u8; 4 + 7 * 32 - 1];
        assert_eq!(
            encode_backrun_route(&mut short, &[v2, v3], one, U256::ZERO, 0),
            Err(RouteError::BufferTooSmall {
                need: 4 + 7 * 32,
                have: 4 + 7 * 32 - 1
            })
        );
    }

    #[test]
    fn hop_words_put_fee_and_flags_where_the_contract_reads_them() {
        let pool = Address::repeat_byte(0xab);
        let v2 = RouteHop {
            pool,
            kind: HopKind::V2 { fee_num: 997 },
            zero_for_one: false,
        };
        let mut want = [0u8; 32];
        want[12..].copy_from_slice(pool.as_slice());
        // 997 = 0x03e5 in bits 160..175, no flags.
        want[10] = 0x03;
        want[11] = 0xe5;
        assert_eq!(v2.word(), want);
        let v3 = RouteHop {
            pool,
            kind: HopKind::V3,
            zero_for_one: true,
        };
        let mut want = [0u8; 32];
        want[12..].copy_from_slice(pool.as_slice());
        want[9] = 0b11;
        assert_eq!(v3.word(), want);
    }
}
