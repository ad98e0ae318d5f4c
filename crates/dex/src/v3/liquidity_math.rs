//! `LiquidityMath.addDelta`.

/// `LiquidityMath.addDelta`: `x + y` for a signed `y`; `None` where the Solidity reverts
/// (`'LS'` on underflow, `'LA'` on overflow).
#[inline]
pub fn add_delta(x: u128, y: i128) -> Option<u128> {
    if y < 0 {
        x.checked_sub(y.unsigned_abs())
    } else {
        x.checked_add(y.unsigned_abs())
    }
}
