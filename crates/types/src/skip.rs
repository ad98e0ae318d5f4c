//! Why a pending transaction did not become a bundle.

/// Why a pending transaction did not produce a bundle. Small and `Copy`: hot-lane errors are
/// counted, journaled and reported by reason, never logged one by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum SkipReason {
    /// The frame was not valid JSON-RPC, or a field was malformed.
    MalformedFrame,
    /// A contract creation, or a call to an address that is not a watched router.
    NotRouter,
    /// A watched router, but a function that is not a swap.
    NotSwap,
    /// Calldata whose ABI layout is broken (bad offsets, short words).
    MalformedCalldata,
    /// Calldata longer than the preallocated decode buffer.
    CalldataTooLarge,
    /// The path has more hops than the engine evaluates.
    PathTooLong,
    /// A hop's pair is not in the pool snapshot.
    UnknownPool,
    /// A token on the path is fee-on-transfer: exact math cannot predict it.
    FeeOnTransfer,
    /// The victim's own slippage bound (or ETH value) would make it revert.
    VictimWouldRevert,
    /// The victim's deadline is already past.
    VictimExpired,
    /// No backrun cycle through a touched pool starts and ends in the capital token.
    NoCycle,
    /// A cycle exists but the optimum is not profitable.
    Unprofitable,
    /// Profit net of gas and builder payment is below the configured minimum.
    BelowMinProfit,
    /// No pre-signed transaction is ready for this block and cycle.
    NoLadder,
    /// The state snapshot is not ready yet (start-up) or is for an old block.
    NoState,
    /// The node announced this transaction before (re-broadcasts, re-orgs of the pool).
    Duplicate,
    /// A router call or Universal Router command the decoders do not know, where it may move a
    /// pool the engine would trade against.
    UnknownCommand,
    /// A Uniswap V4 swap (Universal Router `V4_SWAP`): counted until V4 pools are supported.
    UnsupportedV4,
    /// More swap legs in one transaction than the fixed-capacity decode holds.
    TooManyLegs,
    /// revm confirmation needed state the prefetched snapshot lacks; the missing item is fetched
    /// for next time and the backrun is not fired.
    SimMiss,
    /// revm's result for victim + backrun differs from the analytic prediction (journaled with
    /// both numbers); the backrun is not fired.
    SimDisagree,
    /// Confirmation is on but no revm snapshot for this block is ready yet.
    SimUnavailable,
    /// revm says the victim is not valid in the next block (nonce gap, balance short of its gas
    /// and value, fee cap under the base fee).
    VictimInvalid,
    /// A call to a contract no decoder reads (an aggregator, a custom router): handed to the
    /// slow lane, which simulates it in revm to find the pools it moves.
    HandedToSim,
}

impl SkipReason {
    /// Every reason, in report order.
    pub const ALL: [SkipReason; 24] = [
        SkipReason::MalformedFrame,
        SkipReason::NotRouter,
        SkipReason::NotSwap,
        SkipReason::MalformedCalldata,
        SkipReason::CalldataTooLarge,
        SkipReason::PathTooLong,
        SkipReason::UnknownPool,
        SkipReason::FeeOnTransfer,
        SkipReason::VictimWouldRevert,
        SkipReason::VictimExpired,
        SkipReason::NoCycle,
        SkipReason::Unprofitable,
        SkipReason::BelowMinProfit,
        SkipReason::NoLadder,
        SkipReason::NoState,
        SkipReason::Duplicate,
        SkipReason::UnknownCommand,
        SkipReason::UnsupportedV4,
        SkipReason::TooManyLegs,
        SkipReason::SimMiss,
        SkipReason::SimDisagree,
        SkipReason::SimUnavailable,
        SkipReason::VictimInvalid,
        SkipReason::HandedToSim,
    ];

    /// Stable snake-case key used in reports, the journal and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            SkipReason::MalformedFrame => "malformed_frame",
            SkipReason::NotRouter => "not_router",
            SkipReason::NotSwap => "not_swap",
            SkipReason::MalformedCalldata => "malformed_calldata",
            SkipReason::CalldataTooLarge => "calldata_too_large",
            SkipReason::PathTooLong => "path_too_long",
            SkipReason::UnknownPool => "unknown_pool",
            SkipReason::FeeOnTransfer => "fee_on_transfer",
            SkipReason::VictimWouldRevert => "victim_would_revert",
            SkipReason::VictimExpired => "victim_expired",
            SkipReason::NoCycle => "no_cycle",
            SkipReason::Unprofitable => "unprofitable",
            SkipReason::BelowMinProfit => "below_min_profit",
            SkipReason::NoLadder => "no_ladder",
            SkipReason::NoState => "no_state",
            SkipReason::Duplicate => "duplicate",
            SkipReason::UnknownCommand => "unknown_command",
            SkipReason::UnsupportedV4 => "unsupported_v4",
            SkipReason::TooManyLegs => "too_many_legs",
            SkipReason::SimMiss => "sim_miss",
            SkipReason::SimDisagree => "sim_disagree",
            SkipReason::SimUnavailable => "sim_unavailable",
            SkipReason::VictimInvalid => "victim_invalid",
            SkipReason::HandedToSim => "handed_to_sim",
        }
    }

    /// Dense index into per-reason counter arrays.
    pub const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_dense_and_keys_are_unique() {
        for (i, r) in SkipReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "ALL must be in discriminant order");
        }
        let mut keys: Vec<_> = SkipReason::ALL.iter().map(|r| r.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), SkipReason::ALL.len());
    }

    #[test]
    fn confirmation_reasons_come_last_with_their_journal_keys() {
        // Appended, so the earlier reasons keep their counter indexes.
        let tail = SkipReason::ALL.get(19..23).unwrap();
        let keys: Vec<_> = tail.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sim_miss",
                "sim_disagree",
                "sim_unavailable",
                "victim_invalid"
            ]
        );
        assert_eq!(SkipReason::TooManyLegs.index(), 18);
        assert_eq!(SkipReason::ALL.last(), Some(&SkipReason::HandedToSim));
    }
}
