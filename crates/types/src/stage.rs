//! Pipeline stages and the monotonic timestamps taken between them.

/// A stage of the hot pipeline, in order. Latency of stage `s` is `stamps[s] - stamps[s-1]`
/// (for `Decode`, measured from the frame's receive stamp).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Stage {
    /// Socket read returned the frame → typed pending transaction.
    Decode,
    /// Router filter and calldata decode.
    Filter,
    /// Victim applied to the snapshot, cycle found and sized, ladder entry picked.
    Decide,
    /// Bundle body assembled and its relay auth header signed.
    Build,
    /// Request written to every relay connection.
    Write,
}

/// Number of stages.
pub const STAGE_COUNT: usize = 5;

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; STAGE_COUNT] = [
        Stage::Decode,
        Stage::Filter,
        Stage::Decide,
        Stage::Build,
        Stage::Write,
    ];

    /// Stable key for reports and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Filter => "filter",
            Stage::Decide => "decide",
            Stage::Build => "build",
            Stage::Write => "write",
        }
    }
}

/// Monotonic nanosecond stamps: when the frame was read, then the end of each stage reached.
/// A stage not reached stays 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamps {
    /// When the socket read returned the frame.
    pub recv_ns: u64,
    /// End of each stage, indexed by `Stage as usize`.
    pub stage_end_ns: [u64; STAGE_COUNT],
}

impl Stamps {
    /// Duration of `stage` in ns, if it was reached.
    pub fn stage_ns(&self, stage: Stage) -> Option<u64> {
        let i = stage as usize;
        let end = self.stage_end_ns[i];
        if end == 0 {
            return None;
        }
        let start = if i == 0 {
            self.recv_ns
        } else {
            self.stage_end_ns[i - 1]
        };
        Some(end.saturating_sub(start))
    }

    /// From frame read to the decision (end of `Decide`), if reached.
    pub fn decision_ns(&self) -> Option<u64> {
        let end = self.stage_end_ns[Stage::Decide as usize];
        (end != 0).then(|| end.saturating_sub(self.recv_ns))
    }

    /// From frame read to the last relay write returning, if reached.
    pub fn end_to_end_ns(&self) -> Option<u64> {
        let end = self.stage_end_ns[Stage::Write as usize];
        (end != 0).then(|| end.saturating_sub(self.recv_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_durations_chain_from_the_receive_stamp() {
        let s = Stamps {
            recv_ns: 100,
            stage_end_ns: [150, 160, 400, 0, 0],
        };
        assert_eq!(s.stage_ns(Stage::Decode), Some(50));
        assert_eq!(s.stage_ns(Stage::Filter), Some(10));
        assert_eq!(s.stage_ns(Stage::Decide), Some(240));
        assert_eq!(s.stage_ns(Stage::Build), None);
        assert_eq!(s.decision_ns(), Some(300));
        assert_eq!(s.end_to_end_ns(), None);
    }
}
