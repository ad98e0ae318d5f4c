//! What the five fronts' candle endpoints share: their numeric parameters and a bar's values
//! as decimal text. Each front keeps its own routes, limits, bounds and answer shape.

use std::collections::HashMap;

use kestrel_types::cex::{Candle, Fixed, Scale};

use crate::engine::SymbolSpec;

/// A parameter that must be a plain decimal integer: `Ok(None)` when absent, `Err(())` when
/// it is not a number.
pub(crate) fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>, ()> {
    params
        .get(name)
        .map(|text| text.parse::<u64>().map_err(|_| ()))
        .transpose()
}

/// Open, high, low, close (price scale) and volume (size scale) of `candle`, each written by
/// `text` (the venue's own decimal style).
pub(crate) fn values(
    spec: &SymbolSpec,
    candle: &Candle,
    text: impl Fn(Fixed, Scale) -> String,
) -> [String; 5] {
    let price = |value| text(value, spec.price_scale);
    [
        price(candle.open),
        price(candle.high),
        price(candle.low),
        price(candle.close),
        text(candle.volume, spec.size_scale),
    ]
}

/// `value` without trailing fraction zeros or a bare point (`17055.5`, `17071`): how OKX,
/// Bybit and Coinbase write their bars.
pub(crate) fn shortest(value: Fixed, scale: Scale) -> String {
    let text = value.to_text(scale);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A validated limit as a count.
pub(crate) fn count(limit: u64) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}
