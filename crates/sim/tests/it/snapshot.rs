//! The snapshot as revm's database: what counts as present, known absent or a miss; misses are
//! classified, counted and bounded, never a panic; plain ETH and ERC-20 transfers on a fully
//! prefetched snapshot give the balances worked out by hand.

use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes, U256, address, keccak256};
use alloy::sol_types::SolCall;
use kestrel_sandbox::artifacts;
use kestrel_sandbox::deploy::bindings::IERC20;
use kestrel_sim::devnet::LocalChain;
use kestrel_sim::devnet::v2::mapping_slot;
use kestrel_sim::revm::DatabaseRef;
use kestrel_sim::{
    ChainRules, Miss, MissKind, MissLog, SimError, SimTx, Simulator, SnapshotBuilder,
    StateSnapshot, TxStatus,
};

use crate::support::{BASE_FEE, COINBASE, Call, ETHER, GWEI, dev_signer, next_block, sign};

const RECIPIENT: Address = address!("00000000000000000000000000000000000b0b01");

fn eth_transfer(nonce: u64, value: u128) -> SimTx {
    let raw = sign(
        &dev_signer(2),
        Call {
            to: RECIPIENT,
            data: Bytes::new(),
            value: U256::from(value),
            nonce,
            gas_limit: 21_000,
            max_fee: 3 * GWEI,
            tip: GWEI,
        },
    );
    SimTx::from_raw(&raw).unwrap()
}

fn simulator(builder: SnapshotBuilder) -> Simulator {
    Simulator::new(Arc::new(builder.build()), ChainRules::SEPOLIA_PRAGUE)
}

#[test]
fn each_missing_account_is_a_classified_miss_until_all_are_known() {
    let sender = dev_signer(2).address();
    let tx = eth_transfer(5, ETHER);
    let block = next_block(100);
    // The order revm asks in: the sender (validation), the recipient (the call), the coinbase
    // (the fee). Each missing one stops the run with its own miss; known absent is no miss.
    let mut builder = SnapshotBuilder::new(99);
    let mut sim = simulator(builder.clone());
    let expected = [
        Miss::Account(sender),
        Miss::Account(RECIPIENT),
        Miss::Account(COINBASE),
    ];
    for (step, miss) in expected.iter().enumerate() {
        match sim.run(&block, std::slice::from_ref(&tx)) {
            Err(SimError::Miss {
                index: 0,
                miss: got,
            }) => assert_eq!(got, *miss, "step {step}"),
            other => panic!("step {step}: expected {miss}, got {other:?}"),
        }
        match miss {
            Miss::Account(a) if *a == sender => {
                builder.account(sender, U256::from(10 * ETHER), 5, Bytes::new());
            }
            Miss::Account(a) => {
                builder.absent(*a);
            }
            _ => unreachable!(),
        }
        sim.set_snapshot(Arc::new(builder.clone().build()));
    }
    let outcomes = sim.run(&block, std::slice::from_ref(&tx)).unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].status, TxStatus::Success);
    assert_eq!(sim.misses().count(MissKind::Account), 3);
    assert_eq!(sim.misses().total(), 3);
    assert_eq!(sim.misses().pending(), &expected);
}

#[test]
fn eth_transfer_moves_value_and_fees_to_the_wei() {
    let sender = dev_signer(2).address();
    let mut builder = SnapshotBuilder::new(99);
    builder
        .account(sender, U256::from(10 * ETHER), 5, Bytes::new())
        .absent(RECIPIENT)
        .absent(COINBASE);
    let mut sim = simulator(builder);
    let outcomes = sim
        .run(&next_block(100), &[eth_transfer(5, ETHER)])
        .unwrap();
    assert_eq!(outcomes[0].status, TxStatus::Success);
    assert_eq!(outcomes[0].gas_used, 21_000);
    assert!(outcomes[0].logs.is_empty());
    // Price paid: base fee + tip (the fee cap of 3 gwei does not bind); the tip goes to the
    // coinbase, the base fee is burnt.
    let price = u128::from(BASE_FEE) + GWEI;
    let sender_after = 10 * ETHER - ETHER - 21_000 * price;
    assert_eq!(sim.balance(sender).unwrap(), U256::from(sender_after));
    assert_eq!(sim.balance(RECIPIENT).unwrap(), U256::from(ETHER));
    assert_eq!(sim.balance(COINBASE).unwrap(), U256::from(21_000 * GWEI));
    // A wrong nonce is invalid, not a miss, and nothing is recorded.
    let err = sim
        .run(&next_block(100), &[eth_transfer(6, ETHER)])
        .unwrap_err();
    assert!(matches!(err, SimError::Invalid { index: 0, .. }), "{err:?}");
    assert_eq!(sim.misses().total(), 0);
    // And the overlay of the failed run is gone: balances are the snapshot's again.
    assert_eq!(sim.balance(RECIPIENT).unwrap(), U256::ZERO);
}

/// An ERC-20 (v2-core's test token, real bytecode) deployed on the local chain by dev 2 with
/// `supply` minted to it; its state as a snapshot.
fn erc20_snapshot(supply: U256) -> (Address, SnapshotBuilder) {
    let mut chain = LocalChain::new(ChainRules::SEPOLIA_PRAGUE);
    let owner = dev_signer(2).address();
    chain.set_balance(owner, U256::from(10 * ETHER));
    let mut code = artifacts::load("ERC20").unwrap().bytecode.to_vec();
    code.extend_from_slice(&supply.to_be_bytes::<32>());
    let token = chain.deploy(owner, code.into()).unwrap();
    let mut builder = chain.snapshot(99).to_builder();
    builder.absent(COINBASE);
    (token, builder)
}

fn token_transfer(token: Address, amount: U256, nonce: u64) -> SimTx {
    let data = IERC20::transferCall {
        to: RECIPIENT,
        amount,
    }
    .abi_encode();
    let raw = sign(
        &dev_signer(2),
        Call {
            to: token,
            data: data.into(),
            value: U256::ZERO,
            nonce,
            gas_limit: 100_000,
            max_fee: 3 * GWEI,
            tip: GWEI,
        },
    );
    SimTx::from_raw(&raw).unwrap()
}

#[test]
fn erc20_transfer_misses_an_unfetched_slot_then_runs_on_the_full_snapshot() {
    let supply = U256::from(1_000_000u64) * U256::from(ETHER);
    let amount = U256::from(123_456_789u64);
    let owner = dev_signer(2).address();
    let (token, mut builder) = erc20_snapshot(supply);
    // The deploy wrote the owner's balance, not the recipient's: that slot was never fetched.
    let recipient_slot = mapping_slot(RECIPIENT, 1);
    let tx = token_transfer(token, amount, 1);
    let mut sim = simulator(builder.clone());
    let err = sim
        .run(&next_block(100), std::slice::from_ref(&tx))
        .unwrap_err();
    assert_eq!(
        err,
        SimError::Miss {
            index: 0,
            miss: Miss::Storage(token, recipient_slot)
        }
    );
    assert_eq!(sim.misses().count(MissKind::Storage), 1);

    builder.storage(token, recipient_slot, U256::ZERO);
    let mut sim = simulator(builder);
    let outcome = sim.run(&next_block(100), &[tx]).unwrap()[0].clone();
    assert_eq!(outcome.status, TxStatus::Success);
    assert_eq!(
        outcome.output,
        Bytes::from(U256::from(1u64).to_be_bytes::<32>())
    );
    // One Transfer(owner, recipient, amount) log from the token.
    assert_eq!(outcome.logs.len(), 1);
    let log = &outcome.logs[0];
    assert_eq!(log.address, token);
    let topic = keccak256("Transfer(address,address,uint256)");
    assert_eq!(
        log.data.topics(),
        &[topic, owner.into_word(), RECIPIENT.into_word()]
    );
    assert_eq!(log.data.data, Bytes::from(amount.to_be_bytes::<32>()));
    // Balances after: by slot and by a balanceOf call on the overlay, which must agree.
    assert_eq!(sim.storage(token, recipient_slot).unwrap(), amount);
    assert_eq!(sim.erc20_balance(token, RECIPIENT).unwrap(), amount);
    assert_eq!(sim.erc20_balance(token, owner).unwrap(), supply - amount);
    assert!(outcome.gas_used > 21_000 && outcome.gas_used < 100_000);
}

#[test]
fn blockhash_reads_the_snapshot_or_misses() {
    // Runtime code: sstore(0, blockhash(number - 1)).
    let code = Bytes::from_static(&[0x60, 0x01, 0x43, 0x03, 0x40, 0x60, 0x00, 0x55, 0x00]);
    let contract = address!("00000000000000000000000000000000000c0de1");
    let sender = dev_signer(2).address();
    let mut builder = SnapshotBuilder::new(99);
    builder
        .account(sender, U256::from(ETHER), 0, Bytes::new())
        .account(contract, U256::ZERO, 1, code)
        .storage(contract, U256::ZERO, U256::ZERO)
        .absent(COINBASE);
    let raw = sign(
        &dev_signer(2),
        Call {
            to: contract,
            data: Bytes::new(),
            value: U256::ZERO,
            nonce: 0,
            gas_limit: 100_000,
            max_fee: 3 * GWEI,
            tip: GWEI,
        },
    );
    let tx = SimTx::from_raw(&raw).unwrap();
    let mut sim = simulator(builder.clone());
    let err = sim
        .run(&next_block(100), std::slice::from_ref(&tx))
        .unwrap_err();
    assert_eq!(
        err,
        SimError::Miss {
            index: 0,
            miss: Miss::BlockHash(99)
        }
    );
    assert_eq!(sim.misses().count(MissKind::BlockHash), 1);
    let hash = B256::repeat_byte(0x99);
    builder.block_hash(99, hash);
    let mut sim = simulator(builder);
    assert!(sim.run(&next_block(100), &[tx]).unwrap()[0].is_success());
    assert_eq!(
        sim.storage(contract, U256::ZERO).unwrap(),
        U256::from_be_bytes(hash.0)
    );
}

#[test]
fn direct_lookups_classify_misses() {
    let present = address!("0000000000000000000000000000000000000a01");
    let gone = address!("0000000000000000000000000000000000000a02");
    let slots_only = address!("0000000000000000000000000000000000000a03");
    let eoa = address!("0000000000000000000000000000000000000a04");
    let code = Bytes::from_static(&[0x00]);
    let mut builder = SnapshotBuilder::new(7);
    builder
        .account(present, U256::from(5u64), 1, code.clone())
        .storage(present, U256::from(1u64), U256::from(9u64))
        .absent(gone)
        .storage(slots_only, U256::ZERO, U256::from(1u64))
        .account(eoa, U256::from(1u64), 3, Bytes::new());
    let snap: StateSnapshot = builder.build();
    assert_eq!(snap.block(), 7);
    assert_eq!(snap.account_count(), 3);
    // Present: info with its code; absent: None; slots without the account: still a miss.
    let info = snap.basic_ref(present).unwrap().unwrap();
    assert_eq!(info.code_hash, keccak256(&code));
    assert_eq!(snap.basic_ref(gone).unwrap(), None);
    assert_eq!(snap.basic_ref(slots_only), Err(Miss::Account(slots_only)));
    let stranger = Address::repeat_byte(0x77);
    assert_eq!(snap.basic_ref(stranger), Err(Miss::Account(stranger)));
    // Storage: prefetched slot, unfetched slot of a contract, and the always-zero storage of an
    // absent account and of an EOA.
    assert_eq!(
        snap.storage_ref(present, U256::from(1u64)),
        Ok(U256::from(9u64))
    );
    assert_eq!(
        snap.storage_ref(present, U256::from(2u64)),
        Err(Miss::Storage(present, U256::from(2u64)))
    );
    assert_eq!(snap.storage_ref(gone, U256::from(2u64)), Ok(U256::ZERO));
    assert_eq!(snap.storage_ref(eoa, U256::from(2u64)), Ok(U256::ZERO));
    assert_eq!(
        snap.storage_ref(slots_only, U256::ZERO),
        Err(Miss::Account(slots_only))
    );
    // Code by hash: known code, empty code, unknown hash.
    assert!(snap.code_by_hash_ref(keccak256(&code)).is_ok());
    assert!(
        snap.code_by_hash_ref(alloy::primitives::KECCAK256_EMPTY)
            .unwrap()
            .is_empty()
    );
    let unknown = B256::repeat_byte(0x55);
    assert_eq!(snap.code_by_hash_ref(unknown), Err(Miss::Code(unknown)));
    assert_eq!(snap.block_hash_ref(6), Err(Miss::BlockHash(6)));
    assert_eq!(Miss::Code(unknown).kind(), MissKind::Code);
}

#[test]
fn the_miss_log_is_bounded_and_counts_everything() {
    let mut log = MissLog::with_capacity(3);
    let a = Address::repeat_byte(1);
    for i in 0..10u64 {
        log.record(Miss::Storage(a, U256::from(i)));
        // Repeats are counted but kept once.
        log.record(Miss::Storage(a, U256::from(0u64)));
    }
    log.record(Miss::Account(a));
    assert_eq!(log.count(MissKind::Storage), 20);
    assert_eq!(log.count(MissKind::Account), 1);
    assert_eq!(log.total(), 21);
    assert_eq!(log.pending().len(), 3);
    // Distinct misses beyond capacity: storage 3..=9 (7) and the account.
    assert_eq!(log.dropped(), 8);
    let drained: Vec<Miss> = log.drain().collect();
    assert_eq!(
        drained,
        (0..3u64)
            .map(|i| Miss::Storage(a, U256::from(i)))
            .collect::<Vec<_>>()
    );
    assert!(log.pending().is_empty());
    log.record(Miss::BlockHash(1));
    assert_eq!(log.pending(), &[Miss::BlockHash(1)]);
    assert_eq!(log.total(), 22);
}

#[test]
fn garbage_bytes_are_a_decode_error_not_a_panic() {
    let mut rng = kestrel_stdx::Rng::from_seed(7);
    for len in 0..200usize {
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        // Whatever the bytes, an error or (by extreme luck) a transaction: never a panic.
        let _ = SimTx::from_raw(&bytes);
    }
    let good = sign(
        &dev_signer(2),
        Call {
            to: RECIPIENT,
            data: Bytes::new(),
            value: U256::ZERO,
            nonce: 0,
            gas_limit: 21_000,
            max_fee: GWEI,
            tip: 0,
        },
    );
    let tx = SimTx::from_raw(&good).unwrap();
    assert_eq!(tx.sender(), dev_signer(2).address());
    assert_eq!(tx.hash(), keccak256(&good));
    let mut trailing = good.to_vec();
    trailing.push(0);
    assert!(SimTx::from_raw(&trailing).is_err());
    assert!(SimTx::from_raw(&good[..good.len() - 1]).is_err());
}
