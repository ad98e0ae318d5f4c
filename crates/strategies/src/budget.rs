//! A venue's request budget: a token bucket in exact integer arithmetic, refilled by the
//! caller's monotonic clock, and bounded by what the venue itself says is left.
//!
//! Venues limit REST requests (Coinbase: 10,000 an hour; Kraken: a counter that decays;
//! Binance: request weight per minute per IP, each route weighing 1 to 250), and a breach costs
//! more than the request: Binance bans the IP for escalating periods after repeated 429s. The
//! budget counts in the venue's own unit (Binance: request weight; the others: requests), and
//! each request spends its cost there. The lane opens a trade only when both venues have an
//! order's cost left, and lets what must go regardless (an unwind, a query that settles an
//! order already sent) run the bucket into debt, which later trades wait out. A rate-limit
//! answer empties the bucket and adds a pause on top (the venue's `Retry-After` where it
//! sends one).
//!
//! The bucket alone cannot know what other clients of the same IP or key spend; where the
//! venue reports its own count (Binance's `X-MBX-USED-WEIGHT-1M`), [`RequestBudget::bound_by_venue`]
//! caps what is available until that count's window ends.
//!
//! Two things stop what must go as well as new trades, because the venue would only refuse
//! it: a rate-limit answer's pause, and a count the venue says is spent (its weight used up
//! until the window ends; Bybit's orders left at zero until its stated reset,
//! [`RequestBudget::refuse_orders_until`]). [`RequestBudget::refused_until`] and
//! [`RequestBudget::orders_refused_until`] say until when, so that an unwind or a query waits
//! for the venue instead of spending one of its tries on a certain refusal. A hold
//! ([`RequestBudget::hold_until`]) stops new trades only.
//!
//! Units: one unit is [`NANOS`] "token nanos"; `per_second` units refill `per_second` token
//! nanos per elapsed nanosecond, exactly.

/// Token nanos in one unit (a request, or one of Binance's request weight).
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
    /// Units the venue's own count leaves until `venue_until_ns` (negative once overspent).
    venue_left: i64,
    /// When the venue's count window ends (0: no count known).
    venue_until_ns: u64,
    /// New trades wait until then (the venue has fewer orders left than a trade may need).
    held_until_ns: u64,
    /// The venue refuses every request until then (a rate-limit answer's pause).
    refused_until_ns: u64,
    /// The venue refuses new orders until then (its count of orders left is spent).
    orders_refused_until_ns: u64,
    /// Requests sent, and trades held back for want of budget.
    requests: u64,
    held_back: u64,
}

impl RequestBudget {
    /// A full bucket of `burst` units refilled at `per_second` (both at least 1), as of
    /// `now_ns`.
    pub fn new(per_second: u32, burst: u32, now_ns: u64) -> RequestBudget {
        let (per_second, burst) = (per_second.max(1), burst.max(1));
        RequestBudget {
            per_second,
            burst,
            tokens: i128::from(burst) * NANOS,
            at_ns: now_ns,
            venue_left: 0,
            venue_until_ns: 0,
            held_until_ns: 0,
            refused_until_ns: 0,
            orders_refused_until_ns: 0,
            requests: 0,
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

    /// Whole units available now (0 while in debt, while the venue's count says none are
    /// left, or while held or refused).
    pub fn available(&mut self, now_ns: u64) -> u32 {
        self.refill(now_ns);
        let mut whole = (self.tokens / NANOS).max(0);
        if now_ns < self.venue_until_ns {
            whole = whole.min(i128::from(self.venue_left.max(0)));
        }
        let stopped = self
            .held_until_ns
            .max(self.refused_until_ns)
            .max(self.orders_refused_until_ns);
        if now_ns < stopped {
            whole = 0;
        }
        u32::try_from(whole).unwrap_or(u32::MAX)
    }

    /// Whether `n` units may be spent now; counts a refusal as a trade held back.
    pub fn allows(&mut self, n: u32, now_ns: u64) -> bool {
        let ok = self.available(now_ns) >= n;
        if !ok {
            self.held_back += 1;
        }
        ok
    }

    /// Spend one request costing `units`, into debt if need be (an unwind or a settling query
    /// goes regardless).
    pub fn spend(&mut self, units: u32, now_ns: u64) {
        self.refill(now_ns);
        self.tokens -= i128::from(units) * NANOS;
        self.venue_left = self.venue_left.saturating_sub(i64::from(units));
        self.requests += 1;
    }

    /// The venue reports `used` of its `limit` units spent in a window that ends at
    /// `window_end_ns`, and `in_flight` units were sent after the request it answered: until
    /// then at most `limit - used - in_flight` more are available, whatever the bucket holds
    /// (other clients of the same IP or key spend from the venue's count too).
    pub fn bound_by_venue(&mut self, used: u32, limit: u32, in_flight: u32, window_end_ns: u64) {
        self.venue_left = i64::from(limit) - i64::from(used) - i64::from(in_flight);
        self.venue_until_ns = window_end_ns;
    }

    /// The venue said "too many requests": no new trade until the bucket has refilled from
    /// empty plus `pause_ms`, and nothing at all for `pause_ms` ([`RequestBudget::refused_until`]).
    pub fn penalize(&mut self, now_ns: u64, pause_ms: u64) {
        self.refill(now_ns);
        let pause = i128::from(pause_ms) * 1_000_000 * i128::from(self.per_second);
        self.tokens = self.tokens.min(0) - pause;
        let until = now_ns.saturating_add(pause_ms.saturating_mul(1_000_000));
        self.refused_until_ns = self.refused_until_ns.max(until);
    }

    /// No new trade until `until_ns` (what must go still goes); a time already past lifts an
    /// earlier hold.
    pub fn hold_until(&mut self, until_ns: u64) {
        self.held_until_ns = until_ns;
    }

    /// The venue says it accepts no new order until `until_ns` (its count of orders left is
    /// spent until its stated reset).
    pub fn refuse_orders_until(&mut self, until_ns: u64) {
        self.orders_refused_until_ns = self.orders_refused_until_ns.max(until_ns);
    }

    /// Until when the venue refuses a request costing `cost` units, as far as it has said: a
    /// rate-limit pause, or its count too far spent for `cost` until the count's window ends
    /// (the venue refuses a request that would pass its limit: Binance counts a query's
    /// weight of 4 against what is left). `None` once it accepts again.
    pub fn refused_until(&self, now_ns: u64, cost: u32) -> Option<u64> {
        let spent_until = if self.venue_left < i64::from(cost.max(1)) {
            self.venue_until_ns
        } else {
            0
        };
        let until = self.refused_until_ns.max(spent_until);
        (now_ns < until).then_some(until)
    }

    /// Until when the venue refuses a new order costing `cost` units (an unwind included): as
    /// [`RequestBudget::refused_until`], or its count of orders left spent.
    pub fn orders_refused_until(&self, now_ns: u64, cost: u32) -> Option<u64> {
        let until = self
            .refused_until(now_ns, cost)
            .unwrap_or(0)
            .max(self.orders_refused_until_ns);
        (now_ns < until).then_some(until)
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Trades held back for want of budget so far.
    pub fn held_back(&self) -> u64 {
        self.held_back
    }
}
