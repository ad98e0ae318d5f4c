//! [`Confirmer`]: the EVM's word on a route backrun before it is fired. The victim, then our
//! `backrunRoute`, run in revm on the head's [`StateSnapshot`] for the next block, and the
//! executor's `BackrunRoute` log must report the gross profit the analytic math predicted, to
//! the wei. Anything else (a different profit, a revert, a victim that fails on its own) is a
//! disagreement the caller journals with both numbers and does not fire.
//!
//! The victim's sender is usually unknown to the snapshot (it was prefetched before the victim
//! existed); it is then presumed as the mempool vouches for it ([`PresumedSender`]). A slot the
//! run needs beyond that is a [`SimError::Miss`]: recorded for the slow lane to fetch, and the
//! backrun is not confirmed.

use std::sync::Arc;

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, U256, keccak256};
use kestrel_types::SimOutcome;

use crate::env::{ChainRules, NextBlock};
use crate::simulator::{PresumedSender, SimError, Simulator, TxOutcome, TxStatus};
use crate::snapshot::{Miss, StateSnapshot};
use crate::tx::{SimTx, TxDecodeError};

/// The event the executor emits once per successful `backrunRoute`.
pub const BACKRUN_ROUTE_EVENT: &str = "BackrunRoute(address,uint256,uint256,uint256,uint256)";

/// The event the executor emits once per successful `backrun` (the V2 lane's pre-signed entry
/// point, which sizes the cycle on chain with the closed form).
pub const BACKRUN_EVENT: &str = "Backrun(address,address,uint256,uint256,uint256)";

/// Which executor entry point the backrun calls, and so which log reports its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackrunEntry {
    /// `backrunRoute` (route backruns, signed on the hot thread): its `BackrunRoute` log, data
    /// `hops, amountIn, profitGross, payment`.
    Route,
    /// `backrun` (the V2 lane's pre-signed ladder, sized on chain by the closed form): its
    /// `Backrun` log, data `amountIn, profitGross, payment` (both pools indexed).
    Pair,
}

impl BackrunEntry {
    /// The log's data length and the word indices of `amountIn` and `profitGross` (`payment`
    /// is the word after it).
    const fn layout(self) -> (usize, usize, usize) {
        match self {
            BackrunEntry::Route => (128, 1, 2),
            BackrunEntry::Pair => (96, 0, 1),
        }
    }

    /// The first topic of this entry point's log (the event signature's hash).
    pub fn topic(self) -> B256 {
        keccak256(match self {
            BackrunEntry::Route => BACKRUN_ROUTE_EVENT,
            BackrunEntry::Pair => BACKRUN_EVENT,
        })
    }

    /// Reads this entry point's log data; `None` when it is not that event's length.
    pub fn read_data(self, data: &[u8]) -> Option<ExecutorLog> {
        let (len, amount_word, gross_word) = self.layout();
        if data.len() != len {
            return None;
        }
        let word = |i: usize| U256::from_be_slice(&data[32 * i..32 * (i + 1)]);
        Some(ExecutorLog {
            entry: self,
            amount_in: word(amount_word),
            profit_gross: word(gross_word),
            payment: word(gross_word + 1),
        })
    }
}

/// What one of the executor's logs reports, in WETH wei.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutorLog {
    /// Which entry point emitted it.
    pub entry: BackrunEntry,
    /// WETH the backrun spent.
    pub amount_in: U256,
    /// WETH gained before the builder's payment.
    pub profit_gross: U256,
    /// The builder's payment (sent to the coinbase in ETH).
    pub payment: U256,
}

impl ExecutorLog {
    /// The executor's log among `logs` (emitter, topics, data), where one is: the first log
    /// that `executor` emitted with either entry point's topic and that event's data length.
    pub fn find<'a>(
        executor: Address,
        logs: impl IntoIterator<Item = (Address, &'a [B256], &'a [u8])>,
    ) -> Option<ExecutorLog> {
        let entries = [BackrunEntry::Route, BackrunEntry::Pair].map(|e| (e.topic(), e));
        logs.into_iter()
            .filter(|(emitter, _, _)| *emitter == executor)
            .find_map(|(_, topics, data)| {
                let first = topics.first()?;
                let (_, entry) = entries.iter().find(|(t, _)| t == first)?;
                entry.read_data(data)
            })
    }

    /// What the executor kept: the gross profit less the builder's payment (the figure a
    /// candidate's `profit_net` predicts).
    pub fn kept(&self) -> U256 {
        self.profit_gross.saturating_sub(self.payment)
    }
}

/// What the analytic decision predicts the backrun does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteExpectation {
    /// Our executor contract (the log's emitter).
    pub executor: Address,
    /// WETH the route spends.
    pub amount_in: U256,
    /// Gross profit in WETH wei, before the builder payment.
    pub profit_gross: U256,
}

/// What revm says about victim + backrun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteVerdict {
    /// The backrun succeeded with exactly the predicted amount in and gross profit.
    Agreed {
        /// Gas the victim used.
        victim_gas: u64,
        /// Gas the backrun used.
        gas_used: u64,
    },
    /// The backrun succeeded with another gross profit (or amount in).
    ProfitDiffers {
        /// The gross profit its log reported.
        simulated_gross: U256,
        /// Gas the backrun used.
        gas_used: u64,
    },
    /// The backrun reverted (the executor's `minProfit` check, a pool's own check).
    BackrunReverted {
        /// Gas the backrun used.
        gas_used: u64,
    },
    /// The backrun halted (out of gas, invalid opcode).
    BackrunHalted {
        /// Gas the backrun used (all of its limit).
        gas_used: u64,
    },
    /// The victim itself reverted or halted: the prediction assumed it succeeds.
    VictimReverted {
        /// Gas the victim used.
        victim_gas: u64,
    },
    /// The backrun succeeded but emitted no `BackrunRoute` (or `Backrun`) log from the executor.
    NoBackrunLog {
        /// Gas the backrun used.
        gas_used: u64,
    },
}

impl RouteVerdict {
    /// How the run ended, as the journal names it.
    pub const fn outcome(&self) -> SimOutcome {
        match self {
            RouteVerdict::Agreed { .. } => SimOutcome::Agreed,
            RouteVerdict::ProfitDiffers { .. } => SimOutcome::ProfitDiffers,
            RouteVerdict::BackrunReverted { .. } => SimOutcome::BackrunReverted,
            RouteVerdict::BackrunHalted { .. } => SimOutcome::BackrunHalted,
            RouteVerdict::VictimReverted { .. } => SimOutcome::VictimReverted,
            RouteVerdict::NoBackrunLog { .. } => SimOutcome::NoBackrunLog,
        }
    }

    /// Gas the backrun used (0 when the victim failed and the backrun's result is moot).
    pub const fn gas_used(&self) -> u64 {
        match *self {
            RouteVerdict::Agreed { gas_used, .. }
            | RouteVerdict::ProfitDiffers { gas_used, .. }
            | RouteVerdict::BackrunReverted { gas_used }
            | RouteVerdict::BackrunHalted { gas_used }
            | RouteVerdict::NoBackrunLog { gas_used } => gas_used,
            RouteVerdict::VictimReverted { .. } => 0,
        }
    }

    /// The gross profit the backrun's log reported, when it differs from the prediction (zero
    /// for every other verdict).
    pub const fn simulated_gross(&self) -> U256 {
        match *self {
            RouteVerdict::ProfitDiffers {
                simulated_gross, ..
            } => simulated_gross,
            _ => U256::ZERO,
        }
    }
}

/// Why a confirmation could not be run to a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    /// A transaction's bytes did not decode.
    #[error("transaction {index} does not decode: {error}")]
    Decode {
        /// 0: the victim, 1: the backrun.
        index: usize,
        /// The decoder's reason.
        error: TxDecodeError,
    },
    /// The simulation stopped: a snapshot miss, an invalid transaction, an EVM error.
    #[error(transparent)]
    Sim(#[from] SimError),
}

/// Confirms route backruns on one thread; the simulator's buffers are kept between calls.
#[derive(Debug)]
pub struct Confirmer {
    sim: Simulator,
    txs: Vec<SimTx>,
    route_topic: B256,
    pair_topic: B256,
}

impl Confirmer {
    /// A confirmer over `snapshot` with the chain's rules.
    pub fn new(snapshot: Arc<StateSnapshot>, rules: ChainRules) -> Confirmer {
        Confirmer {
            sim: Simulator::new(snapshot, rules),
            txs: Vec::with_capacity(2),
            route_topic: BackrunEntry::Route.topic(),
            pair_topic: BackrunEntry::Pair.topic(),
        }
    }

    /// Moves to another snapshot (a new head's); a no-op when it is the same one.
    pub fn set_snapshot(&mut self, snapshot: &Arc<StateSnapshot>) {
        if !Arc::ptr_eq(self.sim.snapshot(), snapshot) {
            self.sim.set_snapshot(Arc::clone(snapshot));
        }
    }

    /// The simulator (its miss log, the state after the last run).
    pub fn simulator(&mut self) -> &mut Simulator {
        &mut self.sim
    }

    /// Runs the victim (`victim_raw`, signed, from `victim_sender` as the node reported it)
    /// and then our `backrunRoute` (`backrun_raw`, from `searcher`) in `block`, and compares
    /// the backrun's `BackrunRoute` log with `expect`: [`Confirmer::confirm_backrun`] with
    /// [`BackrunEntry::Route`].
    pub fn confirm_route(
        &mut self,
        block: &NextBlock,
        victim: (&[u8], Address),
        backrun: (&[u8], Address),
        expect: &RouteExpectation,
    ) -> Result<RouteVerdict, ConfirmError> {
        self.confirm_backrun(block, victim, backrun, expect, BackrunEntry::Route)
    }

    /// Runs the victim, then our backrun through executor entry point `entry`, and compares
    /// that entry point's log with `expect`. A pre-signed V2 `backrun` sizes its cycle on
    /// chain, so there `expect.amount_in` is the closed form's input on the state the victim
    /// left.
    pub fn confirm_backrun(
        &mut self,
        block: &NextBlock,
        victim: (&[u8], Address),
        backrun: (&[u8], Address),
        expect: &RouteExpectation,
        entry: BackrunEntry,
    ) -> Result<RouteVerdict, ConfirmError> {
        let topic = match entry {
            BackrunEntry::Route => self.route_topic,
            BackrunEntry::Pair => self.pair_topic,
        };
        let outcomes = self.run_victim_first(block, victim, Some(backrun))?;
        let (Some(victim_out), Some(backrun_out)) = (outcomes.first(), outcomes.get(1)) else {
            return Err(ConfirmError::Sim(SimError::Evm {
                index: 1,
                detail: "the run ended without an outcome per transaction".into(),
            }));
        };
        Ok(verdict((topic, entry), victim_out, backrun_out, expect))
    }

    /// Runs a pending transaction alone (`raw`, signed, from `sender` as the node reported
    /// it) in `block`, an unseen sender presumed as the mempool vouches for it; the outcome
    /// carries its logs, from which the slow lane reads which pools it moves. A failure after
    /// reading a presumed zero entry is a miss on that slot, as in [`Confirmer::confirm_route`].
    pub fn run_pending(
        &mut self,
        block: &NextBlock,
        pending: (&[u8], Address),
    ) -> Result<&TxOutcome, ConfirmError> {
        let outcomes = self.run_victim_first(block, pending, None)?;
        outcomes.first().ok_or_else(|| {
            ConfirmError::Sim(SimError::Evm {
                index: 0,
                detail: "the run ended without an outcome".into(),
            })
        })
    }

    /// Runs the pending `victim` (its sender presumed if the snapshot has never seen it), then
    /// `backrun` if any. A victim that failed after reading a presumed zero entry of its own (a
    /// token it spends) failed on what the snapshot does not know: a miss on that slot, not an
    /// outcome.
    fn run_victim_first(
        &mut self,
        block: &NextBlock,
        (victim_raw, victim_sender): (&[u8], Address),
        backrun: Option<(&[u8], Address)>,
    ) -> Result<&[TxOutcome], ConfirmError> {
        let victim =
            decode(victim_raw).map_err(|error| ConfirmError::Decode { index: 0, error })?;
        self.txs.clear();
        self.txs.push(SimTx::from_recovered(&victim, victim_sender));
        if let Some((raw, sender)) = backrun {
            let tx = decode(raw).map_err(|error| ConfirmError::Decode { index: 1, error })?;
            self.txs.push(SimTx::from_recovered(&tx, sender));
        }
        let presumed = presumed_sender(&victim, victim_sender);
        self.sim.run_presuming(block, &self.txs, Some(presumed))?;
        let victim_failed = self.sim.outcomes().first().is_some_and(|o| !o.is_success());
        if let (true, Some((address, slot))) = (victim_failed, self.sim.presumed_slot()) {
            let miss = Miss::Storage(address, slot);
            self.sim.misses_mut().record(miss);
            return Err(ConfirmError::Sim(SimError::Miss { index: 0, miss }));
        }
        Ok(self.sim.outcomes())
    }
}

/// Decodes signed EIP-2718 bytes (no signature recovery: the sender is known).
fn decode(raw: &[u8]) -> Result<TxEnvelope, TxDecodeError> {
    let mut buf = raw;
    let envelope =
        TxEnvelope::decode_2718(&mut buf).map_err(|e| TxDecodeError::Decode(e.to_string()))?;
    match buf.len() {
        0 => Ok(envelope),
        n => Err(TxDecodeError::Trailing(n)),
    }
}

/// What the mempool vouches for about a pending transaction's sender.
fn presumed_sender(tx: &TxEnvelope, sender: Address) -> PresumedSender {
    let gas = U256::from(tx.gas_limit()) * U256::from(tx.max_fee_per_gas());
    // An EIP-4844 sender also pays for its blobs at their fee cap.
    let blobs = U256::from(tx.blob_gas_used().unwrap_or(0))
        * U256::from(tx.max_fee_per_blob_gas().unwrap_or(0));
    PresumedSender {
        address: sender,
        nonce: tx.nonce(),
        balance: gas.saturating_add(blobs).saturating_add(tx.value()),
    }
}

/// Reads the verdict off the two outcomes.
fn verdict(
    (topic, entry): (B256, BackrunEntry),
    victim: &TxOutcome,
    backrun: &TxOutcome,
    expect: &RouteExpectation,
) -> RouteVerdict {
    if !victim.is_success() {
        return RouteVerdict::VictimReverted {
            victim_gas: victim.gas_used,
        };
    }
    let gas_used = backrun.gas_used;
    match backrun.status {
        TxStatus::Success => {}
        TxStatus::Revert => return RouteVerdict::BackrunReverted { gas_used },
        TxStatus::Halt(_) => return RouteVerdict::BackrunHalted { gas_used },
    }
    let log = backrun.logs.iter().find_map(|l| {
        (l.address == expect.executor && l.data.topics().first() == Some(&topic))
            .then(|| entry.read_data(&l.data.data))
            .flatten()
    });
    let Some(ExecutorLog {
        amount_in,
        profit_gross: gross,
        ..
    }) = log
    else {
        return RouteVerdict::NoBackrunLog { gas_used };
    };
    if amount_in == expect.amount_in && gross == expect.profit_gross {
        RouteVerdict::Agreed {
            victim_gas: victim.gas_used,
            gas_used,
        }
    } else {
        RouteVerdict::ProfitDiffers {
            simulated_gross: gross,
            gas_used,
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy_consensus::{Signed, TxEip4844, TxEip4844Variant};
    use alloy_primitives::Signature;

    use super::*;

    fn words(ws: &[u64]) -> Vec<u8> {
        ws.iter()
            .flat_map(|w| U256::from(*w).to_be_bytes::<32>())
            .collect()
    }

    #[test]
    fn the_executor_log_is_read_from_either_entry_point_and_only_from_the_executor() {
        let executor = Address::repeat_byte(0xee);
        let pool = B256::left_padding_from(Address::repeat_byte(1).as_slice());
        let pair_topics = [
            keccak256("Backrun(address,address,uint256,uint256,uint256)"),
            pool,
            pool,
        ];
        let route_topics = [
            keccak256("BackrunRoute(address,uint256,uint256,uint256,uint256)"),
            pool,
        ];
        let pair_data = words(&[500, 90, 9]);
        let route_data = words(&[3, 700, 120, 12]);
        let pair = ExecutorLog::find(executor, [(executor, &pair_topics[..], &pair_data[..])]);
        assert_eq!(
            pair,
            Some(ExecutorLog {
                entry: BackrunEntry::Pair,
                amount_in: U256::from(500),
                profit_gross: U256::from(90),
                payment: U256::from(9),
            })
        );
        assert_eq!(pair.map(|l| l.kept()), Some(U256::from(81)));
        let route = ExecutorLog::find(
            executor,
            [
                // Another contract's log with the same shape comes first: passed over.
                (Address::repeat_byte(2), &route_topics[..], &route_data[..]),
                // The pair event's topic with the route event's length: not that event.
                (executor, &pair_topics[..], &route_data[..]),
                (executor, &route_topics[..], &route_data[..]),
            ],
        )
        .unwrap();
        assert_eq!(route.entry, BackrunEntry::Route);
        assert_eq!(
            (route.amount_in, route.kept()),
            (U256::from(700), U256::from(108))
        );
        let no_topics: [B256; 0] = [];
        assert_eq!(
            ExecutorLog::find(executor, [(executor, &no_topics[..], &pair_data[..])]),
            None
        );
    }

    #[test]
    fn a_presumed_blob_sender_holds_its_gas_its_blob_gas_and_its_value() {
        let tx = TxEip4844 {
            chain_id: 1,
            nonce: 5,
            gas_limit: 100_000,
            max_fee_per_gas: 30,
            max_priority_fee_per_gas: 2,
            to: Address::repeat_byte(2),
            value: U256::from(1_000u64),
            blob_versioned_hashes: vec![B256::repeat_byte(1), B256::repeat_byte(3)],
            max_fee_per_blob_gas: 7,
            ..TxEip4844::default()
        };
        let signed = Signed::new_unchecked(
            TxEip4844Variant::TxEip4844(tx),
            Signature::test_signature(),
            B256::ZERO,
        );
        let envelope = TxEnvelope::Eip4844(signed);
        let sender = Address::repeat_byte(9);
        let p = presumed_sender(&envelope, sender);
        assert_eq!((p.address, p.nonce), (sender, 5));
        // 100k gas at 30, two blobs of 131072 blob gas at 7, and the value.
        assert_eq!(
            p.balance,
            U256::from(100_000u64 * 30 + 2 * 131_072 * 7 + 1_000)
        );
    }
}
