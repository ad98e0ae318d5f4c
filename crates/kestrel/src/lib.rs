//! The `kestrel` binary's library half: wiring of the lanes into a running engine, the
//! sandbox orchestration and the hot-path benchmark. `main.rs` is only the CLI on top.
//!
//! Data flow of [`engine::Engine`]: the slow lane (tokio) reads the chain through
//! `kestrel-chain`, builds an immutable [`kestrel_hot::HotState`] per block (pool snapshot,
//! pre-signed ladder, thresholds) and publishes it through a snapshot cell; the pinned hot
//! thread (`kestrel-hot`) reads pending transactions from the node and fires bundles; its
//! events come back over a bounded ring to a drain thread that journals them.

#![forbid(unsafe_code)]

pub mod bench;
pub mod bench_xarb;
pub mod candles;
pub mod cli;
pub mod deploy;
pub mod engine;
pub mod lane_metrics;
pub mod pairs;
pub mod sandbox;
pub mod simprep;
pub mod statarb_lane;
pub mod statarb_run;
pub mod statarb_sim;
pub mod undecoded;
pub mod venue_setup;
pub mod xarb_admin;
pub mod xarb_run;

/// `units` with `digits` fraction digits as an exact decimal string (`-1.50` for -150 at 2).
pub fn quote_decimal(units: i128, digits: u8) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    if digits == 0 {
        return format!("{sign}{abs}");
    }
    let Some(one) = 10u128.checked_pow(u32::from(digits)) else {
        return format!("{sign}{abs}e-{digits}");
    };
    format!(
        "{sign}{}.{:0width$}",
        abs / one,
        abs % one,
        width = usize::from(digits)
    )
}

#[cfg(test)]
mod tests {
    use super::quote_decimal;

    #[test]
    fn notional_units_print_as_exact_quote_decimals() {
        assert_eq!(quote_decimal(-150, 2), "-1.50");
        assert_eq!(quote_decimal(7, 3), "0.007");
        assert_eq!(quote_decimal(123_456_789, 0), "123456789");
        assert_eq!(
            quote_decimal(i128::MIN, 18),
            "-170141183460469231731.687303715884105728"
        );
        assert_eq!(quote_decimal(5, 40), "5e-40");
    }
}
