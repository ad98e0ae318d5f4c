//! Allocation-free decoding of UniswapV2Router02 swap calldata.
//!
//! The ABI head is read word by word straight from the calldata slice; the `address[] path`
//! stays in the calldata and is exposed through the borrowed [`PathView`]. `sol!` decoding would
//! allocate a `Vec` for the path, so it is used only by the tests, as the independent decoder.

use kestrel_types::{Address, SkipReason, U256};

use crate::route::abi::{self, WORD};

/// The longest path the engine evaluates (3 hops). Longer paths are `PathTooLong`.
pub const MAX_PATH: usize = 4;

/// `swapExactTokensForTokens(uint256,uint256,address[],address,uint256)`
pub const SWAP_EXACT_TOKENS_FOR_TOKENS: [u8; 4] = [0x38, 0xed, 0x17, 0x39];
/// `swapTokensForExactTokens(uint256,uint256,address[],address,uint256)`
pub const SWAP_TOKENS_FOR_EXACT_TOKENS: [u8; 4] = [0x88, 0x03, 0xdb, 0xee];
/// `swapExactETHForTokens(uint256,address[],address,uint256)`
pub const SWAP_EXACT_ETH_FOR_TOKENS: [u8; 4] = [0x7f, 0xf3, 0x6a, 0xb5];
/// `swapTokensForExactETH(uint256,uint256,address[],address,uint256)`
pub const SWAP_TOKENS_FOR_EXACT_ETH: [u8; 4] = [0x4a, 0x25, 0xd9, 0x4a];
/// `swapExactTokensForETH(uint256,uint256,address[],address,uint256)`
pub const SWAP_EXACT_TOKENS_FOR_ETH: [u8; 4] = [0x18, 0xcb, 0xaf, 0xe5];
/// `swapETHForExactTokens(uint256,address[],address,uint256)`
pub const SWAP_ETH_FOR_EXACT_TOKENS: [u8; 4] = [0xfb, 0x3b, 0xdb, 0x41];
/// `swapExactTokensForTokensSupportingFeeOnTransferTokens(uint256,uint256,address[],address,uint256)`
pub const SWAP_EXACT_TOKENS_FOR_TOKENS_FOT: [u8; 4] = [0x5c, 0x11, 0xd7, 0x95];
/// `swapExactETHForTokensSupportingFeeOnTransferTokens(uint256,address[],address,uint256)`
pub const SWAP_EXACT_ETH_FOR_TOKENS_FOT: [u8; 4] = [0xb6, 0xf9, 0xde, 0x95];
/// `swapExactTokensForETHSupportingFeeOnTransferTokens(uint256,uint256,address[],address,uint256)`
pub const SWAP_EXACT_TOKENS_FOR_ETH_FOT: [u8; 4] = [0x79, 0x1a, 0xc9, 0x47];

/// Which side of the swap the user fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapKind {
    /// The input amount is exact; the output has a floor (`amountOutMin`).
    ExactIn,
    /// The output amount is exact; the input has a ceiling (`amountInMax` or the tx value).
    ExactOut,
}

/// A decoded Router02 swap. Borrows its path from the calldata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapIntent<'a> {
    /// Exact-in or exact-out.
    pub kind: SwapKind,
    /// ExactIn: the exact amount in (for ETH-in variants: the tx value). ExactOut: amountInMax
    /// (ETH variants: tx value).
    pub amount_in: U256,
    /// ExactIn: amountOutMin. ExactOut: the exact amountOut.
    pub amount_out: U256,
    /// The token path, first token in, last token out.
    pub path: PathView<'a>,
    /// The input is the tx's ETH value, wrapped to WETH by the router.
    pub eth_in: bool,
    /// The output is unwrapped from WETH and paid in ETH.
    pub eth_out: bool,
    /// One of the `*SupportingFeeOnTransferTokens` variants.
    pub fee_on_transfer: bool,
    /// The `to` argument.
    pub recipient: Address,
    /// The `deadline` argument (unix seconds, though some wallets send milliseconds).
    pub deadline: U256,
}

/// A borrowed view over the ABI-encoded words of an `address[]`.
///
/// **Invariant:** `words.len()` is a multiple of 32, between 2 and [`MAX_PATH`] words, and each
/// word has its upper 12 bytes zero (checked by [`decode_router02`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathView<'a> {
    words: &'a [u8],
}

impl<'a> PathView<'a> {
    /// Number of tokens on the path.
    pub fn len(&self) -> usize {
        self.words.len() / WORD
    }

    /// True when the path has no tokens (never for a decoded intent).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The `i`-th token, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<Address> {
        let start = i.checked_mul(WORD)?;
        let word = self.words.get(start..start.checked_add(WORD)?)?;
        word.get(12..).map(Address::from_slice)
    }

    /// The first token (the one paid in).
    pub fn first(&self) -> Option<Address> {
        self.get(0)
    }

    /// The last token (the one paid out).
    pub fn last(&self) -> Option<Address> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// Whether the path turns straight back after hop `hop` (token `hop + 2` is token `hop`,
    /// A -> B -> A): through V2 pairs of one factory both hops are the same pair, which pays
    /// its output to itself, so the second hop finds nothing above its reserve and the pair
    /// reverts with INSUFFICIENT_INPUT_AMOUNT, whatever the router.
    pub fn turns_back_at(&self, hop: usize) -> bool {
        hop.checked_add(2)
            .and_then(|i| self.get(i))
            .is_some_and(|t| self.get(hop) == Some(t))
    }

    /// The tokens in order.
    pub fn iter(&self) -> impl Iterator<Item = Address> + 'a {
        self.words
            .chunks_exact(WORD)
            .map(|w| Address::from_slice(&w[12..]))
    }
}

/// How one Router02 function lays out its arguments.
#[derive(Clone, Copy)]
struct Layout {
    kind: SwapKind,
    /// ETH-in functions have one amount in the head; the input is the tx value.
    eth_in: bool,
    eth_out: bool,
    fee_on_transfer: bool,
}

const fn layout(kind: SwapKind, eth_in: bool, eth_out: bool, fee_on_transfer: bool) -> Layout {
    Layout {
        kind,
        eth_in,
        eth_out,
        fee_on_transfer,
    }
}

fn layout_of(selector: [u8; 4]) -> Option<Layout> {
    use SwapKind::{ExactIn, ExactOut};
    Some(match selector {
        SWAP_EXACT_TOKENS_FOR_TOKENS => layout(ExactIn, false, false, false),
        SWAP_TOKENS_FOR_EXACT_TOKENS => layout(ExactOut, false, false, false),
        SWAP_EXACT_ETH_FOR_TOKENS => layout(ExactIn, true, false, false),
        SWAP_TOKENS_FOR_EXACT_ETH => layout(ExactOut, false, true, false),
        SWAP_EXACT_TOKENS_FOR_ETH => layout(ExactIn, false, true, false),
        SWAP_ETH_FOR_EXACT_TOKENS => layout(ExactOut, true, false, false),
        SWAP_EXACT_TOKENS_FOR_TOKENS_FOT => layout(ExactIn, false, false, true),
        SWAP_EXACT_ETH_FOR_TOKENS_FOT => layout(ExactIn, true, false, true),
        SWAP_EXACT_TOKENS_FOR_ETH_FOT => layout(ExactIn, false, true, true),
        _ => return None,
    })
}

/// Decodes a UniswapV2Router02 swap call. `value` is the transaction's ETH value.
///
/// Errors: an unknown selector (or calldata shorter than one) is `NotSwap`; broken offsets or
/// lengths, short data, address words with dirty upper bytes, or a path of fewer than two tokens
/// are `MalformedCalldata`; a path longer than [`MAX_PATH`] is `PathTooLong`.
pub fn decode_router02(calldata: &[u8], value: U256) -> Result<SwapIntent<'_>, SkipReason> {
    let (selector, args) = calldata
        .split_first_chunk::<4>()
        .ok_or(SkipReason::NotSwap)?;
    let layout = layout_of(*selector).ok_or(SkipReason::NotSwap)?;
    // ETH-in functions drop the input amount from the head, shifting the rest by one word.
    let (amount_a, amount_b, rest) = if layout.eth_in {
        (value, abi::uint(args, 0)?, 1)
    } else {
        (abi::uint(args, 0)?, abi::uint(args, 1)?, 2)
    };
    let path = path_at(args, abi::offset(args, rest)?)?;
    let recipient = abi::address(args, rest + 1)?;
    let deadline = abi::uint(args, rest + 2)?;
    // The head's amount order differs: exact-in is (amountIn, amountOutMin), exact-out is
    // (amountOut, amountInMax); for ETH-in the tx value plays the input's role in both.
    let (amount_in, amount_out) = match (layout.kind, layout.eth_in) {
        (SwapKind::ExactOut, false) => (amount_b, amount_a),
        (SwapKind::ExactIn, _) | (SwapKind::ExactOut, true) => (amount_a, amount_b),
    };
    Ok(SwapIntent {
        kind: layout.kind,
        amount_in,
        amount_out,
        path,
        eth_in: layout.eth_in,
        eth_out: layout.eth_out,
        fee_on_transfer: layout.fee_on_transfer,
        recipient,
        deadline,
    })
}

/// The `address[]` whose length word sits at byte `offset` of the arguments.
pub(crate) fn path_at(args: &[u8], offset: usize) -> Result<PathView<'_>, SkipReason> {
    let len = abi::small_at_byte(args, offset)?;
    let start = offset + WORD;
    // `len` < 2^32, so this cannot overflow on 64-bit targets; checked anyway for 32-bit ones.
    let end = len
        .checked_mul(WORD)
        .and_then(|bytes| start.checked_add(bytes))
        .ok_or(SkipReason::MalformedCalldata)?;
    let words = args.get(start..end).ok_or(SkipReason::MalformedCalldata)?;
    if len < 2 {
        return Err(SkipReason::MalformedCalldata);
    }
    if len > MAX_PATH {
        return Err(SkipReason::PathTooLong);
    }
    for w in words.chunks_exact(WORD) {
        if w.iter().take(12).any(|&b| b != 0) {
            return Err(SkipReason::MalformedCalldata);
        }
    }
    Ok(PathView { words })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_types::keccak256;

    #[test]
    fn selectors_are_keccak_of_signatures() {
        let table: [(&str, [u8; 4]); 9] = [
            (
                "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                SWAP_EXACT_TOKENS_FOR_TOKENS,
            ),
            (
                "swapTokensForExactTokens(uint256,uint256,address[],address,uint256)",
                SWAP_TOKENS_FOR_EXACT_TOKENS,
            ),
            (
                "swapExactETHForTokens(uint256,address[],address,uint256)",
                SWAP_EXACT_ETH_FOR_TOKENS,
            ),
            (
                "swapTokensForExactETH(uint256,uint256,address[],address,uint256)",
                SWAP_TOKENS_FOR_EXACT_ETH,
            ),
            (
                "swapExactTokensForETH(uint256,uint256,address[],address,uint256)",
                SWAP_EXACT_TOKENS_FOR_ETH,
            ),
            (
                "swapETHForExactTokens(uint256,address[],address,uint256)",
                SWAP_ETH_FOR_EXACT_TOKENS,
            ),
            (
                "swapExactTokensForTokensSupportingFeeOnTransferTokens(uint256,uint256,address[],address,uint256)",
                SWAP_EXACT_TOKENS_FOR_TOKENS_FOT,
            ),
            (
                "swapExactETHForTokensSupportingFeeOnTransferTokens(uint256,address[],address,uint256)",
                SWAP_EXACT_ETH_FOR_TOKENS_FOT,
            ),
            (
                "swapExactTokensForETHSupportingFeeOnTransferTokens(uint256,uint256,address[],address,uint256)",
                SWAP_EXACT_TOKENS_FOR_ETH_FOT,
            ),
        ];
        for (signature, selector) in table {
            assert_eq!(
                keccak256(signature.as_bytes())[..4],
                selector,
                "{signature}"
            );
            assert!(layout_of(selector).is_some(), "{signature} has a layout");
        }
    }

    /// Hand-built head: swapExactTokensForTokens with a 2-token path.
    fn hand_built(path_len_word: [u8; 32], path_offset: u8) -> Vec<u8> {
        let mut data = SWAP_EXACT_TOKENS_FOR_TOKENS.to_vec();
        let mut w = [0u8; 32];
        w[31] = 7;
        data.extend_from_slice(&w); // amountIn = 7
        w[31] = 5;
        data.extend_from_slice(&w); // amountOutMin = 5
        w[31] = path_offset;
        data.extend_from_slice(&w);
        w[31] = 0xaa;
        data.extend_from_slice(&w); // to = 0x..aa
        w[31] = 9;
        data.extend_from_slice(&w); // deadline = 9
        data.extend_from_slice(&path_len_word);
        for last in [1u8, 2] {
            w[31] = last;
            data.extend_from_slice(&w);
        }
        data
    }

    fn len_word(len: u8) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[31] = len;
        w
    }

    #[test]
    fn decodes_a_hand_built_head() {
        let data = hand_built(len_word(2), 0xa0);
        let intent = decode_router02(&data, U256::ZERO).unwrap();
        assert_eq!(intent.kind, SwapKind::ExactIn);
        assert_eq!(intent.amount_in, U256::from(7));
        assert_eq!(intent.amount_out, U256::from(5));
        assert_eq!(intent.deadline, U256::from(9));
        assert_eq!(intent.recipient, Address::with_last_byte(0xaa));
        assert_eq!(intent.path.len(), 2);
        assert_eq!(intent.path.first(), Some(Address::with_last_byte(1)));
        assert_eq!(intent.path.last(), Some(Address::with_last_byte(2)));
        assert_eq!(intent.path.get(2), None);
        assert_eq!(intent.path.iter().count(), 2);
    }

    #[test]
    fn rejects_broken_layouts() {
        // Offset past the end of the data.
        assert_eq!(
            decode_router02(&hand_built(len_word(2), 0xe0), U256::ZERO),
            Err(SkipReason::MalformedCalldata)
        );
        // Length word claims more words than present.
        assert_eq!(
            decode_router02(&hand_built(len_word(3), 0xa0), U256::ZERO),
            Err(SkipReason::MalformedCalldata)
        );
        // A huge length word.
        assert_eq!(
            decode_router02(&hand_built([0xff; 32], 0xa0), U256::ZERO),
            Err(SkipReason::MalformedCalldata)
        );
        // One-token path.
        let mut one = hand_built(len_word(1), 0xa0);
        one.truncate(one.len() - 32);
        assert_eq!(
            decode_router02(&one, U256::ZERO),
            Err(SkipReason::MalformedCalldata)
        );
        // Dirty upper bytes in a path word.
        let mut dirty = hand_built(len_word(2), 0xa0);
        let last_word = dirty.len() - 32;
        dirty[last_word] = 1;
        assert_eq!(
            decode_router02(&dirty, U256::ZERO),
            Err(SkipReason::MalformedCalldata)
        );
        // Dirty upper bytes in the recipient.
        let mut dirty_to = hand_built(len_word(2), 0xa0);
        dirty_to[4 + 3 * 32] = 1;
        assert_eq!(
            decode_router02(&dirty_to, U256::ZERO),
            Err(SkipReason::MalformedCalldata)
        );
        // Truncated head.
        assert_eq!(
            decode_router02(&hand_built(len_word(2), 0xa0)[..100], U256::ZERO),
            Err(SkipReason::MalformedCalldata)
        );
    }

    #[test]
    fn unknown_or_short_selector_is_not_a_swap() {
        assert_eq!(decode_router02(&[], U256::ZERO), Err(SkipReason::NotSwap));
        assert_eq!(
            decode_router02(&[0x38, 0xed, 0x17], U256::ZERO),
            Err(SkipReason::NotSwap)
        );
        assert_eq!(
            decode_router02(&[0xa9, 0x05, 0x9c, 0xbb, 0, 0], U256::ZERO),
            Err(SkipReason::NotSwap)
        );
    }
}
