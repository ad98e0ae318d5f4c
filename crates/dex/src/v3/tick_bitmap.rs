//! `TickBitmap.sol` over a sparse, sorted list of the non-zero bitmap words, plus the
//! `PoolTicksCounter.sol` count that QuoterV2 reports.
//!
//! Bit `b` of word `w` is set when the tick `(w * 256 + b) * tick_spacing` is initialized (has
//! liquidity referencing it). The pool walks the bitmap one word at a time: a swap step never
//! goes past the end of the current word, whether or not a tick is initialized there.

use alloy_primitives::U256;

/// One non-zero word of the bitmap: `(word position, bits)`.
pub type BitmapWord = (i16, U256);

/// `TickBitmap.position`: the word and bit of a compressed tick (`tick / spacing`).
#[inline]
pub fn position(compressed: i32) -> (i32, usize) {
    // Arithmetic shift and the low 8 bits, like int16(tick >> 8) and uint8(tick % 256).
    (compressed >> 8, (compressed & 0xff) as usize)
}

/// The word at `word_pos` in a sorted sparse bitmap (zero where absent).
#[inline]
pub fn word(words: &[BitmapWord], word_pos: i32) -> U256 {
    let Ok(key) = i16::try_from(word_pos) else {
        return U256::ZERO;
    };
    match words.binary_search_by_key(&key, |(pos, _)| *pos) {
        Ok(i) => words.get(i).map_or(U256::ZERO, |(_, bits)| *bits),
        Err(_) => U256::ZERO,
    }
}

/// `TickBitmap.nextInitializedTickWithinOneWord`: the next initialized tick at or below
/// (`lte`) or above `tick`, looking no further than the current word; when there is none, the
/// word's last tick in that direction, with `false`.
#[inline]
pub fn next_initialized_tick_within_one_word(
    words: &[BitmapWord],
    tick: i32,
    tick_spacing: i32,
    lte: bool,
) -> (i32, bool) {
    if tick_spacing <= 0 {
        // No pool has such a spacing; answer without dividing by it.
        return (tick, false);
    }
    // Rounds towards negative infinity, as the Solidity does for negative ticks.
    let compressed = tick.div_euclid(tick_spacing);
    // Wrapping arithmetic only matters for ticks far outside the pool's range, where the
    // Solidity's int24 would wrap too; it keeps this panic-free on any input.
    let (base, bit, masked) = if lte {
        let (word_pos, bit) = position(compressed);
        // All the bits at or to the right of `bit`.
        (
            compressed,
            bit,
            word(words, word_pos) & (U256::MAX >> (255 - bit)),
        )
    } else {
        // Start from the next tick's word: the current tick's own state does not matter.
        let next = compressed.wrapping_add(1);
        let (word_pos, bit) = position(next);
        // All the bits at or to the left of `bit`.
        (next, bit, word(words, word_pos) & (U256::MAX << bit))
    };
    let bit = bit as i32;
    let (offset, initialized) = match (lte, masked.is_zero()) {
        (true, true) => (-bit, false),
        (true, false) => ((255 - masked.leading_zeros() as i32) - bit, true),
        (false, true) => (255 - bit, false),
        (false, false) => (masked.trailing_zeros() as i32 - bit, true),
    };
    (
        base.wrapping_add(offset).wrapping_mul(tick_spacing),
        initialized,
    )
}

/// `PoolTicksCounter.countInitializedTicksCrossed`, as QuoterV2 reports it: the initialized
/// ticks between `tick_before` and `tick_after`, counting the end the swap moved onto but not
/// the one it started from.
///
/// This mirrors the periphery's counting, quirks included: it compresses ticks with Solidity's
/// truncating division (not the bitmap's floor), and its 32-bit count wraps like the original.
pub fn count_initialized_ticks_crossed(
    words: &[BitmapWord],
    tick_spacing: i32,
    tick_before: i32,
    tick_after: i32,
) -> u32 {
    if tick_spacing <= 0 {
        // No pool has such a spacing; answer without dividing by it.
        return 0;
    }
    let (word_before, bit_before) = position(tick_before / tick_spacing);
    let (word_after, bit_after) = position(tick_after / tick_spacing);
    let is_set = |word_pos: i32, bit: usize| word(words, word_pos).bit(bit);
    let after_initialized =
        is_set(word_after, bit_after) && tick_after % tick_spacing == 0 && tick_before > tick_after;
    let before_initialized = is_set(word_before, bit_before)
        && tick_before % tick_spacing == 0
        && tick_before < tick_after;
    let ((word_lower, bit_lower), (word_higher, bit_higher)) =
        if (word_before, bit_before) <= (word_after, bit_after) {
            ((word_before, bit_before), (word_after, bit_after))
        } else {
            ((word_after, bit_after), (word_before, bit_before))
        };
    let start = words.partition_point(|(pos, _)| i32::from(*pos) < word_lower);
    let mut count = 0u32;
    for (pos, bits) in words.get(start..).unwrap_or_default() {
        let pos = i32::from(*pos);
        if pos > word_higher {
            break;
        }
        let mut mask = U256::MAX;
        if pos == word_lower {
            mask <<= bit_lower;
        }
        if pos == word_higher {
            mask &= U256::MAX >> (255 - bit_higher);
        }
        count = count.wrapping_add((*bits & mask).count_ones() as u32);
    }
    if after_initialized {
        count = count.wrapping_sub(1);
    }
    if before_initialized {
        count = count.wrapping_sub(1);
    }
    count
}
