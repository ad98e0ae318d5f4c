//! A venue's request budget: a token bucket in exact integer arithmetic, refilled by the
//! caller's monotonic clock.
//!
//! Venues limit REST requests per key (Coinbase: 10,000 an hour; Kraken: a counter that decays;
//! Binance: weights per minute and orders per 10 s), and a breach costs more than the request:
//! Binance bans the IP for escalating periods after repeated 429s. The lane therefore opens a
//! trade only when both venues have a whole request left, spends one per order, and lets what
//! must go regardless (an unwind, a query that settles an order already sent) run the bucket
//! into debt, which later trades wait out. A rate-limit answer from the venue empties the
//! bucket and adds a pause on top.
//!
//! Units: one request is [`NANOS`] "token nanos"; `per_second` requests refill
//! `per_second` token nanos per elapsed nanosecond, exactly.

/// Token nanos in one request.
pub const NANOS: i128 = 1_000_000_000;

/// One venue's budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestBudget {
    per_second: u32,
    burst: u32,
    /// Token nanos available; negative while in debt.
    tokens: i128,
    /// When `tokens` was last brought up to date.
    at_ns: u64,
    /// Requests sent, and trades held back for want of budget.
    spent: u64,
    held_back: u64,
}

impl RequestBudget {
    /// A full bucket of `burst` requests refilled at `per_second` (both at least 1), as of
    /// `now_ns`.
    pub fn new(per_second: u32, burst: u32, now_ns: u64) -> RequestBudget {
        let (per_second, burst) = (per_second.max(1), burst.max(1));
        RequestBudget {
            per_second,
            burst,
            tokens: i128::from(burst) * NANOS,
            at_ns: now_ns,
            spent: 0,
            held_back: 0,
        }
    }

    fn refill(&mut self, now_ns: u64) {
        let elapsed = now_ns.saturating_sub(self.at_ns);
        self.at_ns = self.at_ns.max(now_ns);
        let cap = i128::from(self.burst) * NANOS;
        let added = i128::from(elapsed) * i128::from(self.per_second);
        self.tokens = self.tokens.saturating_add(added).min(cap);
    }

    /// Whole requests available now (0 while in debt).
    pub fn available(&mut self, now_ns: u64) -> u32 {
        self.refill(now_ns);
        u32::try_from((self.tokens / NANOS).max(0)).unwrap_or(u32::MAX)
    }

    /// Whether `n` requests may be sent now; counts a refusal as a trade held back.
    pub fn allows(&mut self, n: u32, now_ns: u64) -> bool {
        let ok = self.available(now_ns) >= n;
        if !ok {
            self.held_back += 1;
        }
        ok
    }

    /// Spend one request, into debt if need be (an unwind or a settling query goes regardless).
    pub fn spend(&mut self, now_ns: u64) {
        self.refill(now_ns);
        self.tokens -= NANOS;
        self.spent += 1;
    }

    /// The venue said "too many requests": nothing more until the bucket has refilled from
    /// empty plus `pause_ms`.
    pub fn penalize(&mut self, now_ns: u64, pause_ms: u64) {
        self.refill(now_ns);
        let pause = i128::from(pause_ms) * 1_000_000 * i128::from(self.per_second);
        self.tokens = self.tokens.min(0) - pause;
    }

    /// Requests spent so far.
    pub fn spent(&self) -> u64 {
        self.spent
    }

    /// Trades held back for want of budget so far.
    pub fn held_back(&self) -> u64 {
        self.held_back
    }
}
