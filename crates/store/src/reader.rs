//! The read side, for reports and tests: a read-only connection and typed rows.

use std::collections::BTreeMap;
use std::path::Path;

use kestrel_types::cex::{Candle, Fixed, Interval, Scale, Venue};
use kestrel_types::{
    B256, BundleEvent, CandidateEvent, DecodePath, DisagreementEvent, Mode, RouteKind, SimOutcome,
    Stamps, U256,
};
use rusqlite::{Connection, OpenFlags, Row};

use crate::codec::{parse_address, parse_amount, parse_hash, parse_int};
use crate::record::{mode_key, parse_mode};
use crate::{SCHEMA_VERSION, StoreError, schema};

/// A read-only view of a journal. Safe to use while a [`crate::Journal`] writes (WAL mode).
#[derive(Debug)]
pub struct Reader {
    conn: Connection,
}

/// A run's start and end, as far as they were journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRow {
    /// Run id.
    pub run_id: String,
    /// Mode, if the start was journaled.
    pub mode: Option<String>,
    /// Redacted config, if the start was journaled.
    pub config_toml: Option<String>,
    /// Start, Unix ms.
    pub started_unix_ms: Option<u64>,
    /// End, Unix ms, if the run ended cleanly.
    pub ended_unix_ms: Option<u64>,
    /// The end summary JSON.
    pub summary_json: Option<String>,
}

/// A journaled candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateRow {
    /// Run id.
    pub run_id: String,
    /// The candidate, exactly as appended.
    pub ev: CandidateEvent,
}

/// A journaled bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleRow {
    /// Run id.
    pub run_id: String,
    /// The bundle with its stamps, exactly as appended.
    pub ev: BundleEvent,
    /// The JSON-RPC body, when one was journaled (dry-run).
    pub body: Option<String>,
}

/// A journaled revm disagreement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisagreementRow {
    /// Run id.
    pub run_id: String,
    /// The disagreement, exactly as appended.
    pub ev: DisagreementEvent,
}

/// A journaled outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeRow {
    /// Run id.
    pub run_id: String,
    /// Our backrun transaction.
    pub backrun_hash: B256,
    /// Block targeted.
    pub block: u64,
    /// Whether it landed.
    pub landed: bool,
    /// Realized profit, when known.
    pub realized_profit_wei: Option<U256>,
    /// Predicted profit.
    pub predicted_profit_wei: U256,
    /// Note.
    pub note: String,
}

/// The first column of a row: an `xarb_closes.pnl_units`.
fn pnl_units(r: &rusqlite::Row<'_>) -> Result<i128, StoreError> {
    let text: String = r.get(0)?;
    text.parse::<i128>().map_err(|_| StoreError::Corrupt {
        table: "xarb_closes",
        column: "pnl_units",
        value: text.clone(),
    })
}

/// The first column of a row: an `xarb_closes.open_base_units`, `NULL` (a row written before
/// schema v13, which did not say) read as 0.
fn open_base_units(r: &rusqlite::Row<'_>) -> Result<i128, StoreError> {
    let Some(text) = r.get::<_, Option<String>>(0)? else {
        return Ok(0);
    };
    text.parse::<i128>().map_err(|_| StoreError::Corrupt {
        table: "xarb_closes",
        column: "open_base_units",
        value: text.clone(),
    })
}

/// A journaled relay answer (see [`crate::Record::RelayAnswer`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayAnswerRow {
    /// Run id.
    pub run_id: String,
    /// The victim whose bundle it was.
    pub victim: B256,
    /// The relay's config name.
    pub relay: String,
    /// `eth_callBundle` or `eth_sendBundle`.
    pub method: String,
    /// HTTP status; 0 when no answer came.
    pub http_status: u16,
    /// Accepted (and, for a simulation, every transaction succeeded).
    pub ok: bool,
    /// The bundle hash the relay gave.
    pub bundle_hash: Option<B256>,
    /// What the answer said.
    pub detail: String,
}

/// A journaled bar, with the scales its values were stored at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandleRow {
    /// The bar, exactly as appended.
    pub candle: Candle,
    /// Scale of its prices (the fraction digits they were stored with).
    pub price_scale: Scale,
    /// Scale of its volume.
    pub size_scale: Scale,
    /// The run that last wrote it.
    pub run_id: String,
}

/// Opens the journal at `path` read-only. Refuses a schema other than [`SCHEMA_VERSION`].
pub fn open_readonly(path: &Path) -> Result<Reader, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let found = schema::current_version(&conn)?;
    if found != SCHEMA_VERSION {
        return Err(StoreError::SchemaMismatch {
            found,
            expected: SCHEMA_VERSION,
        });
    }
    Ok(Reader { conn })
}

const CANDIDATE_COLUMNS: &str = "run_id, tx_hash, block, pool_buy, pool_sell, amount_in, profit_gross, profit_net, gas_cost_wei";
/// The route columns, read after everything else in both candidate and bundle queries.
const ROUTE_COLUMNS: &str = "route_kind, decode_path, hops, pool_mid";

/// A venue's last journaled holdings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionRow {
    /// The run that wrote it.
    pub run_id: String,
    /// The lane's leg index.
    pub leg: u32,
    /// Venue.
    pub venue: String,
    /// Base held, size units.
    pub base_units: u128,
    /// Quote held, notional units.
    pub quote_units: u128,
    /// Paper only: the fee-discount funds left ([`XarbRecord::Position`]'s
    /// `fee_funds_units`); `None` where none were journaled.
    ///
    /// [`XarbRecord::Position`]: crate::XarbRecord::Position
    pub fee_funds_units: Option<u128>,
}

/// A journaled kill switch trip or reset of the cross-exchange lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KillSwitchRow {
    /// The run that tripped it, or the id the reset was written under.
    pub run_id: String,
    /// When, Unix ms.
    pub unix_ms: u64,
    /// The mode whose switch it is.
    pub mode: Mode,
    /// A trip or a reset.
    pub event: KillSwitchEvent,
}

/// What a [`KillSwitchRow`] records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KillSwitchEvent {
    /// The switch tripped.
    Tripped {
        /// The reason's key (`TripReason::key`).
        reason: String,
        /// The number the reason carries, when it carries one.
        amount: Option<u128>,
    },
    /// An operator re-armed it.
    Reset {
        /// Why trading may go on, in the operator's words.
        note: String,
    },
}

/// A pair entering or leaving the stat-arb lane's selection.
#[derive(Clone, Debug, PartialEq)]
pub struct StatArbPairRow {
    /// Run id.
    pub run_id: String,
    /// When, Unix ms.
    pub unix_ms: u64,
    /// `added` or `dropped`.
    pub event: String,
    /// First leg's symbol.
    pub a: String,
    /// Second leg's symbol.
    pub b: String,
    /// Hedge ratio (`added` only; `None` also when it was not finite).
    pub hedge_ratio: Option<f64>,
    /// Regression intercept (`added` only; `None` also when it was not finite).
    pub intercept: Option<f64>,
    /// Cointegration p-value (`added` only; `None` also when it was not finite).
    pub p_value: Option<f64>,
    /// Half-life, bars (`added` only; `None` also when it was not finite).
    pub half_life_bars: Option<f64>,
    /// Capital share (`added` only; `None` also when it was not finite).
    pub fraction: Option<f64>,
    /// Why it left (`dropped` only).
    pub reason: Option<String>,
}

/// One stat-arb trade: its entry and, once closed, its exit.
///
/// A row with `side` `""` is a close whose entry was never journaled: `a`, `b` are `""`,
/// `entry_unix_ms` 0, `entry_z` `None` and `notional_units` 0, the exit fields as closed.
#[derive(Clone, Debug, PartialEq)]
pub struct StatArbTradeRow {
    /// Run id.
    pub run_id: String,
    /// Lane-local trade id.
    pub trade_id: u64,
    /// First leg's symbol.
    pub a: String,
    /// Second leg's symbol.
    pub b: String,
    /// `long` or `short` (the spread); `""` for a close without entry.
    pub side: String,
    /// Entry time, Unix ms.
    pub entry_unix_ms: u64,
    /// z-score at entry (`None` when it was not finite).
    pub entry_z: Option<f64>,
    /// Quote committed at entry, notional units.
    pub notional_units: i128,
    /// Exit time, Unix ms; `None` while open.
    pub exit_unix_ms: Option<u64>,
    /// Why it closed.
    pub exit_reason: Option<String>,
    /// z-score at exit, when known and finite.
    pub exit_z: Option<f64>,
    /// PnL before fees, notional units.
    pub gross_units: Option<i128>,
    /// Fees, notional units.
    pub fees_units: Option<i128>,
    /// Realized PnL after fees, notional units.
    pub pnl_units: Option<i128>,
}

/// One stat-arb leg order's fill (or failure).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatArbFillRow {
    /// Run id.
    pub run_id: String,
    /// Trade id.
    pub trade_id: u64,
    /// When, Unix ms.
    pub unix_ms: u64,
    /// The leg's symbol.
    pub symbol: String,
    /// `buy` or `sell`.
    pub side: String,
    /// Base filled, size units.
    pub size_units: u64,
    /// Quote before fees, notional units.
    pub notional_units: u128,
    /// Fee charged in quote, notional units.
    pub fee_units: u128,
    /// Fee charged in base, size units.
    pub fee_base_units: u128,
    /// That base fee's value in quote, notional units.
    pub fee_base_value_units: u128,
    /// Fee charged in a third asset, valued in quote, notional units.
    pub fee_other_units: u128,
    /// The venue's error, when the order failed.
    pub error: Option<String>,
}

/// A stat-arb trade with no journaled exit, with what its fills hold: what a restarted lane
/// reloads.
#[derive(Clone, Debug, PartialEq)]
pub struct StatArbOpenTrade {
    /// Run id.
    pub run_id: String,
    /// Trade id.
    pub trade_id: u64,
    /// First leg's symbol.
    pub a: String,
    /// Second leg's symbol.
    pub b: String,
    /// `long` or `short` (the spread).
    pub side: String,
    /// Entry time, Unix ms.
    pub entry_unix_ms: u64,
    /// z-score at entry (`None` when it was not finite).
    pub entry_z: Option<f64>,
    /// Quote committed at entry, notional units.
    pub notional_units: i128,
    /// Net position in `a`, size units: buys add their size less any base fee, sells
    /// subtract their size.
    pub pos_a_units: i128,
    /// Net position in `b`, size units.
    pub pos_b_units: i128,
    /// Net quote from the fills before fees, notional units: sells add, buys subtract.
    pub cash_units: i128,
    /// Fees of the fills charged in quote, notional units.
    pub fees_units: u128,
    /// Fees of the fills charged in base, valued in quote, notional units.
    pub fee_base_value_units: u128,
    /// Fees of the fills charged in a third asset, valued in quote, notional units: costs
    /// of the trade that the quote held did not pay.
    pub fee_other_units: u128,
}

impl Reader {
    /// Skips of `run_id`, counted by reason key (`SkipReason::as_str`).
    pub fn count_skips_by_reason(&self, run_id: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT reason, COUNT(*) FROM skips WHERE run_id = ?1 GROUP BY reason")?;
        let rows = stmt.query_map([run_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Each leg's latest journaled holdings across the runs journaled in `mode` (what a
    /// restart in that mode reloads), by leg. Paper holdings are not the venues', so a run of
    /// the other mode, or one whose start was not journaled, is never taken for this one's.
    pub fn latest_xarb_positions(&self, mode: Mode) -> Result<Vec<PositionRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            // The newest row per leg of this mode found once, then joined back: a correlated
            // MAX with the join inside scanned each leg's rows of the other mode per row.
            "SELECT p.run_id, p.leg, p.venue, p.base_units, p.quote_units, p.fee_funds_units
             FROM (SELECT q.leg, MAX(q.id) AS id FROM xarb_positions q
                   JOIN runs r USING (run_id) WHERE r.mode = ?1 GROUP BY q.leg) m
             JOIN xarb_positions p ON p.id = m.id
             ORDER BY p.leg",
        )?;
        let rows = stmt.query_and_then([mode_key(mode)], |r| {
            let column = |i: usize| match i {
                3 => "base_units",
                4 => "quote_units",
                _ => "fee_funds_units",
            };
            let parse = |i: usize, text: String| -> Result<u128, StoreError> {
                text.parse().map_err(|_| StoreError::Corrupt {
                    table: "xarb_positions",
                    column: column(i),
                    value: text.clone(),
                })
            };
            let units = |i: usize| parse(i, r.get(i)?);
            let fee_funds = r
                .get::<_, Option<String>>(5)?
                .map(|t| parse(5, t))
                .transpose()?;
            Ok(PositionRow {
                run_id: r.get(0)?,
                leg: r.get(1)?,
                venue: r.get(2)?,
                base_units: units(3)?,
                quote_units: units(4)?,
                fee_funds_units: fee_funds,
            })
        })?;
        rows.collect()
    }

    /// The kill switch trips and resets of `mode`, in the order they were written.
    pub fn xarb_kill_switch_history(&self, mode: Mode) -> Result<Vec<KillSwitchRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{KILL_SWITCH_SELECT} WHERE mode = ?1 ORDER BY id"))?;
        let rows = stmt.query_and_then([mode_key(mode)], kill_switch_row)?;
        rows.collect()
    }

    /// The latest trip of `mode`'s kill switch when no reset was written after it: a lane of
    /// that mode starts tripped. `None` when it never tripped or was reset since.
    pub fn xarb_unreset_trip(&self, mode: Mode) -> Result<Option<KillSwitchRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "{KILL_SWITCH_SELECT} WHERE mode = ?1 ORDER BY id DESC LIMIT 1"
        ))?;
        let mut rows = stmt.query_and_then([mode_key(mode)], kill_switch_row)?;
        Ok(rows
            .next()
            .transpose()?
            .filter(|row| matches!(row.event, KillSwitchEvent::Tripped { .. })))
    }

    /// Realized PnL of every cross-exchange trade closed by a run of `mode` after that mode's
    /// latest kill-switch reset (all of them when it was never reset), notional units, in the
    /// order they were written: what the drawdown limit of a restarted lane counts from.
    pub fn xarb_pnls_since_reset(&self, mode: Mode) -> Result<Vec<i128>, StoreError> {
        self.closes_since_reset(mode, "pnl_units", pnl_units)
    }

    /// One column (`pnl_units` or `open_base_units`) of every cross-exchange close of `mode`
    /// after that mode's latest kill-switch reset, read by `read`, in the order written.
    fn closes_since_reset(
        &self,
        mode: Mode,
        column: &'static str,
        read: fn(&rusqlite::Row<'_>) -> Result<i128, StoreError>,
    ) -> Result<Vec<i128>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT c.{column} FROM xarb_closes c JOIN runs r ON r.run_id = c.run_id
             WHERE r.mode = ?1 AND c.unix_ms > COALESCE(
                 (SELECT MAX(unix_ms) FROM xarb_kill_switch WHERE mode = ?1 AND event = 'reset'),
                 -1)
             ORDER BY c.id"
        ))?;
        let rows = stmt.query_and_then([mode_key(mode)], read)?;
        rows.collect()
    }

    /// The base every cross-exchange trade closed by a run of `mode` left open since that
    /// mode's latest kill-switch reset, summed, size units: the open imbalance a restarted lane
    /// carries (a reset is the operator saying the books are square again). Trades journaled
    /// before schema v13 count as leaving nothing open.
    pub fn xarb_open_base_since_reset(&self, mode: Mode) -> Result<i128, StoreError> {
        Ok(self
            .closes_since_reset(mode, "open_base_units", open_base_units)?
            .into_iter()
            .sum())
    }

    /// Realized PnL of every closed cross-exchange trade of `run_id`, notional units, in order.
    pub fn xarb_pnls(&self, run_id: &str) -> Result<Vec<i128>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT pnl_units FROM xarb_closes WHERE run_id = ?1 ORDER BY id")?;
        let rows = stmt.query_and_then([run_id], pnl_units)?;
        rows.collect()
    }

    /// Stat-arb pair selection events of `run_id`, in the order they were written.
    pub fn statarb_pair_events(&self, run_id: &str) -> Result<Vec<StatArbPairRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT run_id, unix_ms, event, a, b, hedge_ratio, intercept, p_value,
                 half_life_bars, fraction, reason
             FROM statarb_pairs WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_and_then([run_id], |r| {
            Ok(StatArbPairRow {
                run_id: r.get(0)?,
                unix_ms: r.get(1)?,
                event: one_of("statarb_pairs", "event", r.get(2)?, &["added", "dropped"])?,
                a: r.get(3)?,
                b: r.get(4)?,
                hedge_ratio: r.get(5)?,
                intercept: r.get(6)?,
                p_value: r.get(7)?,
                half_life_bars: r.get(8)?,
                fraction: r.get(9)?,
                reason: r.get(10)?,
            })
        })?;
        rows.collect()
    }

    /// Stat-arb trades of `run_id`, open and closed, by trade id.
    pub fn statarb_trades(&self, run_id: &str) -> Result<Vec<StatArbTradeRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT run_id, trade_id, a, b, side, entry_unix_ms, entry_z, notional_units,
                 exit_unix_ms, exit_reason, exit_z, gross_units, fees_units, pnl_units
             FROM statarb_trades WHERE run_id = ?1 ORDER BY trade_id",
        )?;
        let rows = stmt.query_and_then([run_id], |r| {
            let t = "statarb_trades";
            let signed = |i: usize, column: &'static str| -> Result<Option<i128>, StoreError> {
                r.get::<_, Option<String>>(i)?
                    .map(|s| parse_int(t, column, s))
                    .transpose()
            };
            Ok(StatArbTradeRow {
                run_id: r.get(0)?,
                trade_id: r.get(1)?,
                a: r.get(2)?,
                b: r.get(3)?,
                side: one_of(t, "side", r.get(4)?, &["long", "short", ""])?,
                entry_unix_ms: r.get(5)?,
                entry_z: r.get(6)?,
                notional_units: parse_int(t, "notional_units", r.get(7)?)?,
                exit_unix_ms: r.get(8)?,
                exit_reason: r.get(9)?,
                exit_z: r.get(10)?,
                gross_units: signed(11, "gross_units")?,
                fees_units: signed(12, "fees_units")?,
                pnl_units: signed(13, "pnl_units")?,
            })
        })?;
        rows.collect()
    }

    /// Stat-arb fills of `run_id` (failed orders included), in the order they were written.
    pub fn statarb_fills(&self, run_id: &str) -> Result<Vec<StatArbFillRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT run_id, trade_id, unix_ms, symbol, side, size_units, notional_units,
                 fee_units, fee_base_units, fee_base_value_units, fee_other_units, error
             FROM statarb_fills WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_and_then([run_id], |r| {
            let t = "statarb_fills";
            Ok(StatArbFillRow {
                run_id: r.get(0)?,
                trade_id: r.get(1)?,
                unix_ms: r.get(2)?,
                symbol: r.get(3)?,
                side: one_of(t, "side", r.get(4)?, &["buy", "sell"])?,
                size_units: parse_int(t, "size_units", r.get(5)?)?,
                notional_units: parse_int(t, "notional_units", r.get(6)?)?,
                fee_units: parse_int(t, "fee_units", r.get(7)?)?,
                fee_base_units: parse_int(t, "fee_base_units", r.get(8)?)?,
                fee_base_value_units: parse_int(t, "fee_base_value_units", r.get(9)?)?,
                fee_other_units: parse_int(t, "fee_other_units", r.get(10)?)?,
                error: r.get(11)?,
            })
        })?;
        rows.collect()
    }

    /// Every stat-arb trade with no journaled exit, across all runs, by (run id, trade id),
    /// with each leg's net position, the net quote and the fees summed from its fills (failed
    /// fills, those with an `error`, are left out). What a restarted lane reloads.
    ///
    /// A fill whose symbol is neither leg of its trade, or sums past `i128`/`u128`, is
    /// reported as [`StoreError::Corrupt`] rather than guessed at.
    pub fn statarb_open_trades(&self) -> Result<Vec<StatArbOpenTrade>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT run_id, trade_id, a, b, side, entry_unix_ms, entry_z, notional_units
             FROM statarb_trades WHERE exit_unix_ms IS NULL ORDER BY run_id, trade_id",
        )?;
        let rows = stmt.query_and_then([], |r| {
            let t = "statarb_trades";
            Ok(StatArbOpenTrade {
                run_id: r.get(0)?,
                trade_id: r.get(1)?,
                a: r.get(2)?,
                b: r.get(3)?,
                side: one_of(t, "side", r.get(4)?, &["long", "short"])?,
                entry_unix_ms: r.get(5)?,
                entry_z: r.get(6)?,
                notional_units: parse_int(t, "notional_units", r.get(7)?)?,
                pos_a_units: 0,
                pos_b_units: 0,
                cash_units: 0,
                fees_units: 0,
                fee_base_value_units: 0,
                fee_other_units: 0,
            })
        })?;
        let mut open: Vec<StatArbOpenTrade> = rows.collect::<Result<_, StoreError>>()?;
        let at: BTreeMap<(String, u64), usize> = open
            .iter()
            .enumerate()
            .map(|(i, o)| ((o.run_id.clone(), o.trade_id), i))
            .collect();

        let mut stmt = self.conn.prepare(
            "SELECT f.run_id, f.trade_id, f.symbol, f.side, f.size_units, f.notional_units,
                 f.fee_units, f.fee_base_units, f.fee_base_value_units, f.fee_other_units
             FROM statarb_fills f JOIN statarb_trades t
                 ON t.run_id = f.run_id AND t.trade_id = f.trade_id
             WHERE t.exit_unix_ms IS NULL AND f.error IS NULL ORDER BY f.id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let t = "statarb_fills";
            let key: (String, u64) = (r.get(0)?, r.get(1)?);
            let Some(trade) = at.get(&key).and_then(|&i| open.get_mut(i)) else {
                continue;
            };
            let symbol: String = r.get(2)?;
            let side = one_of(t, "side", r.get(3)?, &["buy", "sell"])?;
            let size = i128::from(parse_int::<u64>(t, "size_units", r.get(4)?)?);
            let notional_text: String = r.get(5)?;
            let notional = parse_int::<u128>(t, "notional_units", notional_text.clone())?;
            let fee = parse_int::<u128>(t, "fee_units", r.get(6)?)?;
            let fee_base_text: String = r.get(7)?;
            let fee_base = parse_int::<u128>(t, "fee_base_units", fee_base_text.clone())?;
            let fee_base_value = parse_int::<u128>(t, "fee_base_value_units", r.get(8)?)?;
            let fee_other = parse_int::<u128>(t, "fee_other_units", r.get(9)?)?;
            let corrupt = |column: &'static str, value: String| StoreError::Corrupt {
                table: t,
                column,
                value,
            };
            let notional = i128::try_from(notional)
                .map_err(|_| corrupt("notional_units", notional_text.clone()))?;
            let fee_base = i128::try_from(fee_base)
                .map_err(|_| corrupt("fee_base_units", fee_base_text.clone()))?;
            // A buy whose fee was taken in base leaves its size less that fee.
            let (size, cash) = if side == "buy" {
                (size - fee_base, -notional)
            } else {
                (-size, notional)
            };
            let pos = if symbol == trade.a {
                &mut trade.pos_a_units
            } else if symbol == trade.b {
                &mut trade.pos_b_units
            } else {
                return Err(corrupt("symbol", symbol));
            };
            *pos = pos
                .checked_add(size)
                .ok_or_else(|| corrupt("size_units", format!("{size} past i128")))?;
            trade.cash_units = trade
                .cash_units
                .checked_add(cash)
                .ok_or_else(|| corrupt("notional_units", format!("{notional_text} past i128")))?;
            trade.fees_units = trade
                .fees_units
                .checked_add(fee)
                .ok_or_else(|| corrupt("fee_units", format!("{fee} past u128")))?;
            trade.fee_base_value_units = trade
                .fee_base_value_units
                .checked_add(fee_base_value)
                .ok_or_else(|| {
                    corrupt(
                        "fee_base_value_units",
                        format!("{fee_base_value} past u128"),
                    )
                })?;
            trade.fee_other_units = trade
                .fee_other_units
                .checked_add(fee_other)
                .ok_or_else(|| corrupt("fee_other_units", format!("{fee_other} past u128")))?;
        }
        Ok(open)
    }

    /// Candidates of `run_id`, in the order they were written.
    pub fn candidates(&self, run_id: &str) -> Result<Vec<CandidateRow>, StoreError> {
        let sql = format!(
            "SELECT {CANDIDATE_COLUMNS}, {ROUTE_COLUMNS} FROM candidates WHERE run_id = ?1 ORDER BY id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_and_then([run_id], |r| {
            Ok(CandidateRow {
                run_id: r.get(0)?,
                ev: candidate_at(r, "candidates", 9)?,
            })
        })?;
        rows.collect()
    }

    /// Bundles of `run_id`, in the order they were written.
    pub fn bundles(&self, run_id: &str) -> Result<Vec<BundleRow>, StoreError> {
        let sql = format!(
            "SELECT {CANDIDATE_COLUMNS}, backrun_hash, floor, nonce, relays_written, recv_ns,
                 decode_end_ns, filter_end_ns, decide_end_ns, build_end_ns, write_end_ns, body,
                 {ROUTE_COLUMNS}
             FROM bundles WHERE run_id = ?1 ORDER BY id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_and_then([run_id], bundle_row)?;
        rows.collect()
    }

    /// Relay answers of `run_id`, in the order they were written.
    pub fn relay_answers(&self, run_id: &str) -> Result<Vec<RelayAnswerRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT run_id, victim, relay, method, http_status, ok, bundle_hash, detail
             FROM relay_answers WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_and_then([run_id], |r| {
            let t = "relay_answers";
            Ok(RelayAnswerRow {
                run_id: r.get(0)?,
                victim: parse_hash(t, "victim", r.get(1)?)?,
                relay: r.get(2)?,
                method: r.get(3)?,
                http_status: r.get(4)?,
                ok: r.get(5)?,
                bundle_hash: r
                    .get::<_, Option<String>>(6)?
                    .map(|s| parse_hash(t, "bundle_hash", s))
                    .transpose()?,
                detail: r.get(7)?,
            })
        })?;
        rows.collect()
    }

    /// Outcomes of `run_id`, in the order they were written.
    pub fn outcomes(&self, run_id: &str) -> Result<Vec<OutcomeRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT run_id, backrun_hash, block, landed, realized_profit_wei, predicted_profit_wei, note
             FROM outcomes WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_and_then([run_id], |r| {
            let t = "outcomes";
            Ok(OutcomeRow {
                run_id: r.get(0)?,
                backrun_hash: parse_hash(t, "backrun_hash", r.get(1)?)?,
                block: r.get(2)?,
                landed: r.get(3)?,
                realized_profit_wei: r
                    .get::<_, Option<String>>(4)?
                    .map(|s| parse_amount(t, "realized_profit_wei", s))
                    .transpose()?,
                predicted_profit_wei: parse_amount(t, "predicted_profit_wei", r.get(5)?)?,
                note: r.get(6)?,
            })
        })?;
        rows.collect()
    }

    /// revm disagreements of `run_id`, in the order they were written.
    pub fn disagreements(&self, run_id: &str) -> Result<Vec<DisagreementRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT run_id, tx_hash, block, route_kind, decode_path, predicted_gross_wei,
                 simulated_gross_wei, outcome, gas_used
             FROM sim_disagreements WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_and_then([run_id], disagreement_row)?;
        rows.collect()
    }

    /// `venue`'s `symbol` bars of `interval` opening within `[from_ms, to_ms]`, oldest first.
    pub fn candles(
        &self,
        venue: Venue,
        symbol: &str,
        interval: Interval,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Vec<CandleRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT open_ms, open, high, low, close, volume, run_id FROM candles
             WHERE venue = ?1 AND symbol = ?2 AND interval = ?3 AND open_ms BETWEEN ?4 AND ?5
             ORDER BY open_ms",
        )?;
        // SQLite integers are i64: a bound past it is the same as i64::MAX.
        let bound = |ms: u64| i64::try_from(ms).unwrap_or(i64::MAX);
        let params = rusqlite::params![
            venue.name(),
            symbol,
            interval.name(),
            bound(from_ms),
            bound(to_ms)
        ];
        let rows = stmt.query_and_then(params, candle_row)?;
        rows.collect()
    }

    /// The run's start and end row, if either was journaled.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT run_id, mode, config_toml, started_unix_ms, ended_unix_ms, summary_json
             FROM runs WHERE run_id = ?1",
        )?;
        let mut rows = stmt.query_map([run_id], |r| {
            Ok(RunRow {
                run_id: r.get(0)?,
                mode: r.get(1)?,
                config_toml: r.get(2)?,
                started_unix_ms: r.get(3)?,
                ended_unix_ms: r.get(4)?,
                summary_json: r.get(5)?,
            })
        })?;
        Ok(rows.next().transpose()?)
    }
}

const KILL_SWITCH_SELECT: &str =
    "SELECT run_id, unix_ms, mode, event, reason, amount, note FROM xarb_kill_switch";

fn kill_switch_row(r: &Row<'_>) -> Result<KillSwitchRow, StoreError> {
    let t = "xarb_kill_switch";
    let corrupt = |column: &'static str, value: String| StoreError::Corrupt {
        table: t,
        column,
        value,
    };
    let mode: String = r.get(2)?;
    let mode = parse_mode(&mode).ok_or_else(|| corrupt("mode", mode))?;
    let event: String = r.get(3)?;
    let event = match event.as_str() {
        "tripped" => KillSwitchEvent::Tripped {
            reason: r
                .get::<_, Option<String>>(4)?
                .ok_or_else(|| corrupt("reason", "NULL".into()))?,
            amount: r
                .get::<_, Option<String>>(5)?
                .map(|s| parse_int(t, "amount", s))
                .transpose()?,
        },
        "reset" => KillSwitchEvent::Reset {
            note: r
                .get::<_, Option<String>>(6)?
                .ok_or_else(|| corrupt("note", "NULL".into()))?,
        },
        _ => return Err(corrupt("event", event)),
    };
    Ok(KillSwitchRow {
        run_id: r.get(0)?,
        unix_ms: r.get(1)?,
        mode,
        event,
    })
}

/// Reads the candidate columns, which sit at indexes 1..=8 of both candidate and bundle queries,
/// and the route columns from index `route`.
fn candidate_at(r: &Row<'_>, t: &'static str, route: usize) -> Result<CandidateEvent, StoreError> {
    Ok(CandidateEvent {
        tx_hash: parse_hash(t, "tx_hash", r.get(1)?)?,
        block: r.get(2)?,
        pool_buy: parse_address(t, "pool_buy", r.get(3)?)?,
        pool_sell: parse_address(t, "pool_sell", r.get(4)?)?,
        amount_in: parse_amount(t, "amount_in", r.get(5)?)?,
        profit_gross: parse_amount(t, "profit_gross", r.get(6)?)?,
        profit_net: parse_amount(t, "profit_net", r.get(7)?)?,
        gas_cost_wei: parse_amount(t, "gas_cost_wei", r.get(8)?)?,
        route_kind: parse_key(t, "route_kind", r.get(route)?, RouteKind::parse)?,
        decode_path: parse_key(t, "decode_path", r.get(route + 1)?, DecodePath::parse)?,
        hops: r.get(route + 2)?,
        pool_mid: parse_address(t, "pool_mid", r.get(route + 3)?)?,
    })
}

/// Parses a column written by an enum's `as_str`, with that enum's `parse`.
fn parse_key<T>(
    table: &'static str,
    column: &'static str,
    s: String,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(&s).ok_or(StoreError::Corrupt {
        table,
        column,
        value: s,
    })
}

/// A TEXT column that must hold one of `words`.
fn one_of(
    table: &'static str,
    column: &'static str,
    s: String,
    words: &[&str],
) -> Result<String, StoreError> {
    if words.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(StoreError::Corrupt {
            table,
            column,
            value: s,
        })
    }
}

fn disagreement_row(r: &Row<'_>) -> Result<DisagreementRow, StoreError> {
    let t = "sim_disagreements";
    let ev = DisagreementEvent {
        tx_hash: parse_hash(t, "tx_hash", r.get(1)?)?,
        block: r.get(2)?,
        route_kind: parse_key(t, "route_kind", r.get(3)?, RouteKind::parse)?,
        decode_path: parse_key(t, "decode_path", r.get(4)?, DecodePath::parse)?,
        predicted_gross: parse_amount(t, "predicted_gross_wei", r.get(5)?)?,
        simulated_gross: parse_amount(t, "simulated_gross_wei", r.get(6)?)?,
        outcome: parse_key(t, "outcome", r.get(7)?, SimOutcome::parse)?,
        gas_used: r.get(8)?,
    };
    Ok(DisagreementRow {
        run_id: r.get(0)?,
        ev,
    })
}

fn bundle_row(r: &Row<'_>) -> Result<BundleRow, StoreError> {
    let t = "bundles";
    let stamps = Stamps {
        recv_ns: r.get(13)?,
        stage_end_ns: [r.get(14)?, r.get(15)?, r.get(16)?, r.get(17)?, r.get(18)?],
    };
    let ev = BundleEvent {
        candidate: candidate_at(r, t, 20)?,
        backrun_hash: parse_hash(t, "backrun_hash", r.get(9)?)?,
        floor: parse_amount(t, "floor", r.get(10)?)?,
        nonce: r.get(11)?,
        relays_written: r.get(12)?,
        stamps,
    };
    Ok(BundleRow {
        run_id: r.get(0)?,
        ev,
        body: r.get(19)?,
    })
}

fn candle_row(r: &Row<'_>) -> Result<CandleRow, StoreError> {
    let column = |i: usize| -> Result<(Fixed, Scale), StoreError> {
        const COLUMNS: [&str; 5] = ["open", "high", "low", "close", "volume"];
        decimal(COLUMNS[i - 1], r.get(i)?)
    };
    let (open, price_scale) = column(1)?;
    let price = |i: usize| -> Result<Fixed, StoreError> {
        let (value, scale) = column(i)?;
        if scale == price_scale {
            Ok(value)
        } else {
            Err(StoreError::Corrupt {
                table: "candles",
                column: "high, low or close",
                value: format!(
                    "{} digits where open has {}",
                    scale.digits(),
                    price_scale.digits()
                ),
            })
        }
    };
    let (high, low, close) = (price(2)?, price(3)?, price(4)?);
    let (volume, size_scale) = column(5)?;
    Ok(CandleRow {
        candle: Candle {
            open_ms: r.get(0)?,
            open,
            high,
            low,
            close,
            volume,
        },
        price_scale,
        size_scale,
        run_id: r.get(6)?,
    })
}

/// A value written by `Fixed::to_text`: its scale is the fraction digits it carries.
fn decimal(column: &'static str, text: String) -> Result<(Fixed, Scale), StoreError> {
    let digits = text
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len());
    let plain = text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !text.ends_with('.');
    let parsed = u8::try_from(digits)
        .ok()
        .and_then(Scale::new)
        .filter(|_| plain)
        .and_then(|scale| {
            Fixed::parse(text.as_bytes(), scale)
                .ok()
                .map(|v| (v, scale))
        });
    parsed.ok_or(StoreError::Corrupt {
        table: "candles",
        column,
        value: text,
    })
}
