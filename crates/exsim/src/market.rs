//! Correlated price paths across venues and the book shapes around them, deterministic from a
//! seed.
//!
//! Every venue follows one common mid (a random walk in whole ticks) plus its own noise, drawn
//! afresh each step, plus an optional [`Dislocation`] a test or the sandbox orders: the gap an
//! arbitrage strategy is meant to find. Around each venue's mid the generator lays out a
//! ladder of levels, one tick apart, with sizes that jitter around a base size.
//!
//! Floats appear only inside the random walk (a normal draw scaled by the volatility) and are
//! rounded to whole ticks at once; every price that leaves this module is an exact multiple of
//! the tick. The normal draw sums uniforms (Irwin–Hall) rather than calling `ln`/`cos`, so a
//! seed gives the same path on every platform.
//!
//! **Invariant:** every bid is strictly below every ask of the same venue, and every mid is at
//! least one tick.

use kestrel_stdx::rng::{Rng, splitmix64};
use kestrel_types::cex::{BookSide, Fixed, Venue};

use crate::engine::Exchange;

/// Basis points in one.
const BPS: i128 = 10_000;

/// How the generator moves prices and shapes books.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketParams {
    /// The common mid at the start (rounded to the nearest tick, at least one).
    pub start_mid: Fixed,
    /// Price increment; every price is a multiple of it.
    pub tick: Fixed,
    /// Standard deviation of one step of the common mid, in basis points of the mid.
    pub vol_bps_per_step: u32,
    /// Each venue's own offset from the common mid, drawn uniformly each step within
    /// ± this many basis points (rounded to ticks).
    pub venue_noise_bps: u32,
    /// Distance from a venue's mid to its best bid and best ask, in ticks (at least one, so
    /// the book is never crossed or locked).
    pub half_spread_ticks: u32,
    /// Levels per side.
    pub levels: usize,
    /// The typical size of a level.
    pub level_size: Fixed,
    /// How far a level's size strays from `level_size`, in percent either way.
    pub level_size_jitter: u32,
}

/// A venue's mid pushed away from the others for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dislocation {
    /// The venue moved.
    pub venue: Venue,
    /// The offset, in basis points of the venue's undisturbed mid (negative: cheaper there).
    pub offset_bps: i32,
    /// How many [`MarketGen::step`] calls it lasts: it applies from now until the
    /// `steps`-th next step (zero ends a running one at once).
    pub steps: u32,
}

/// A running dislocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Active {
    offset_bps: i32,
    steps_left: u32,
}

/// Price paths for a set of venues and the books around them. See the module docs.
#[derive(Clone, Debug)]
pub struct MarketGen {
    seed: u64,
    rng: Rng,
    params: MarketParams,
    venues: Vec<Venue>,
    /// The common mid, in ticks (at least one).
    mid_ticks: u64,
    /// Each venue's noise this step, in ticks, indexed by [`Venue::index`].
    noise_ticks: [i64; Venue::ALL.len()],
    dislocations: [Option<Active>; Venue::ALL.len()],
    /// Level sizes are multiples of this, in size units.
    lot: u64,
    steps: u64,
}

impl MarketGen {
    /// A generator for `venues` (others get the common mid without noise), fully determined
    /// by `seed`. Level sizes are multiples of the largest power of ten dividing
    /// `level_size` unless [`MarketGen::with_lot`] says otherwise.
    pub fn new(seed: u64, venues: &[Venue], params: MarketParams) -> MarketGen {
        let tick = params.tick.0.max(1);
        let mid_ticks = params.start_mid.0.saturating_add(tick / 2) / tick;
        let mut generator = MarketGen {
            seed,
            rng: Rng::from_seed(seed),
            params: MarketParams {
                tick: Fixed(tick),
                ..params
            },
            venues: venues.to_vec(),
            mid_ticks: mid_ticks.max(1),
            noise_ticks: [0; Venue::ALL.len()],
            dislocations: [None; Venue::ALL.len()],
            lot: power_of_ten_dividing(params.level_size.0),
            steps: 0,
        };
        generator.draw_noise();
        generator
    }

    /// Make level sizes multiples of `lot` (the exchange symbol's lot), at least one lot.
    pub fn with_lot(mut self, lot: Fixed) -> MarketGen {
        self.lot = lot.0.max(1);
        self
    }

    /// The parameters, with the tick as used (at least one unit).
    pub fn params(&self) -> &MarketParams {
        &self.params
    }

    /// Steps taken since creation.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The common mid, before venue noise and dislocations.
    pub fn common_mid(&self) -> Fixed {
        Fixed(self.mid_ticks * self.params.tick.0)
    }

    /// Advance one step: move the common mid by a normal draw of `vol_bps_per_step` (in whole
    /// ticks, never below one tick), redraw each venue's noise, and age dislocations.
    pub fn step(&mut self) {
        let sigma_ticks = self.mid_ticks as f64 * f64::from(self.params.vol_bps_per_step) / 1e4;
        let moved_ticks = (standard_normal(&mut self.rng) * sigma_ticks).round() as i64;
        let mid = i128::from(self.mid_ticks) + i128::from(moved_ticks);
        self.mid_ticks = u64::try_from(mid.max(1)).unwrap_or(u64::MAX);
        self.draw_noise();
        for slot in &mut self.dislocations {
            if let Some(active) = slot {
                active.steps_left -= 1;
                if active.steps_left == 0 {
                    *slot = None;
                }
            }
        }
        self.steps += 1;
    }

    /// Offset one venue's mid by `d.offset_bps` from now for `d.steps` steps, replacing any
    /// running dislocation there. Draws nothing: the rest of the path is unchanged.
    pub fn dislocate(&mut self, d: Dislocation) {
        self.dislocations[d.venue.index()] = (d.steps > 0).then_some(Active {
            offset_bps: d.offset_bps,
            steps_left: d.steps,
        });
    }

    /// A venue's mid now: common mid + its noise + its dislocation, at least one tick.
    pub fn mid(&self, venue: Venue) -> Fixed {
        Fixed(self.venue_mid_ticks(venue) * self.params.tick.0)
    }

    /// Replace `out` with the target levels of one side of a venue's book, best first:
    /// `levels` prices one tick apart starting `half_spread_ticks` from the mid (fewer bids
    /// when the mid is too low to fit them above zero). A level's size depends only on the
    /// seed, venue, side and price, so a level keeps its size while the mid moves.
    pub fn levels(&self, venue: Venue, side: BookSide, out: &mut Vec<(Fixed, Fixed)>) {
        out.clear();
        let mid = self.venue_mid_ticks(venue);
        let half_spread = u64::from(self.params.half_spread_ticks.max(1));
        for i in 0..self.params.levels as u64 {
            let price_ticks = match side {
                BookSide::Bid => mid.checked_sub(half_spread + i).filter(|&p| p > 0),
                BookSide::Ask => mid.checked_add(half_spread + i),
            };
            let Some(price) = price_ticks.and_then(|p| p.checked_mul(self.params.tick.0)) else {
                break;
            };
            out.push((Fixed(price), self.level_size(venue, side, price)));
        }
    }

    /// Move `symbol`'s book on `ex` to this venue's target shape with the fewest
    /// [`Exchange::set_level`] calls: remove the levels no longer wanted, then set the target
    /// levels (unchanged ones record nothing), so `take_deltas` yields the minimal diff. The
    /// book is never crossed in between. A no-op for a symbol `ex` does not list.
    pub fn apply(&self, venue: Venue, ex: &mut Exchange, symbol: &str) {
        let Some(book) = ex.book(symbol) else {
            return;
        };
        let mut bids = Vec::with_capacity(self.params.levels);
        let mut asks = Vec::with_capacity(self.params.levels);
        self.levels(venue, BookSide::Bid, &mut bids);
        self.levels(venue, BookSide::Ask, &mut asks);
        let wanted = |target: &[(Fixed, Fixed)], price: Fixed| target.iter().any(|l| l.0 == price);
        let mut stale = Vec::new();
        for (side, target) in [(BookSide::Bid, &bids), (BookSide::Ask, &asks)] {
            let levels = book.side(side).iter();
            stale.extend(
                levels
                    .filter(|l| !wanted(target, l.price))
                    .map(|l| (side, l.price)),
            );
        }
        for (side, price) in stale {
            ex.set_level(symbol, side, price, Fixed::ZERO);
        }
        for (side, target) in [(BookSide::Bid, &bids), (BookSide::Ask, &asks)] {
            for &(price, size) in target {
                ex.set_level(symbol, side, price, size);
            }
        }
    }

    /// A venue's mid in ticks (see [`MarketGen::mid`]).
    fn venue_mid_ticks(&self, venue: Venue) -> u64 {
        let undisturbed = i128::from(self.mid_ticks) + i128::from(self.noise_ticks[venue.index()]);
        let offset = match self.dislocations[venue.index()] {
            Some(active) => div_round(undisturbed * i128::from(active.offset_bps), BPS),
            None => 0,
        };
        u64::try_from((undisturbed + offset).max(1)).unwrap_or(u64::MAX)
    }

    /// Draw each listed venue's noise for this step, in listing order.
    fn draw_noise(&mut self) {
        let bound = div_round(
            i128::from(self.mid_ticks) * i128::from(self.params.venue_noise_bps),
            BPS,
        );
        let bound = u64::try_from(bound).unwrap_or(0);
        for venue in &self.venues {
            let draw = self
                .rng
                .gen_range(0..bound.saturating_mul(2).saturating_add(1));
            self.noise_ticks[venue.index()] =
                i64::try_from(draw).unwrap_or(0) - i64::try_from(bound).unwrap_or(0);
        }
    }

    /// The size of the level at `price`: `level_size` ± up to `level_size_jitter` percent,
    /// rounded to the lot, at least one lot.
    fn level_size(&self, venue: Venue, side: BookSide, price: u64) -> Fixed {
        let base = self.params.level_size.0;
        let spread = u128::from(base) * u128::from(self.params.level_size_jitter) / 100;
        let spread = u64::try_from(spread).unwrap_or(base);
        let mut key = self.seed ^ ((venue.index() as u64) << 1) ^ side_bit(side);
        key = splitmix64(&mut key) ^ price;
        let mut rng = Rng::from_seed(splitmix64(&mut key));
        let draw = rng.gen_range(0..spread.saturating_mul(2).saturating_add(1));
        let size = base.saturating_add(draw).saturating_sub(spread);
        let lots = (size.saturating_add(self.lot / 2) / self.lot).max(1);
        Fixed(lots.saturating_mul(self.lot))
    }
}

fn side_bit(side: BookSide) -> u64 {
    match side {
        BookSide::Bid => 0,
        BookSide::Ask => 1,
    }
}

/// A standard normal draw: the sum of twelve uniforms less six (Irwin–Hall), which has mean 0
/// and variance 1 and uses only additions, so it is the same on every platform.
fn standard_normal(rng: &mut Rng) -> f64 {
    (0..12).map(|_| rng.next_f64()).sum::<f64>() - 6.0
}

/// `n / d` rounded to the nearest integer, halves away from zero (`d > 0`).
fn div_round(n: i128, d: i128) -> i128 {
    if n >= 0 {
        (n + d / 2) / d
    } else {
        -((-n + d / 2) / d)
    }
}

/// The largest power of ten dividing `units` (one for zero).
fn power_of_ten_dividing(units: u64) -> u64 {
    let mut power = 1u64;
    while let Some(next) = power.checked_mul(10)
        && units != 0
        && units.is_multiple_of(next)
    {
        power = next;
    }
    power
}
